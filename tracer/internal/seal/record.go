package seal

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// sealRecord is a seal as verify reads it.
type sealRecord struct {
	Time  time.Time
	Seq   uint64
	Lines int
	// Interval is the recorder's epoch: it sealed at least this often
	// while it ran. 0: not said.
	Interval time.Duration
	KeyID    string // "" for a chain-only seal, which has no MAC
	Epoch    uint64
	Prev     [32]byte
	Hash     [32]byte
	Locs     []uint32
	End      bool
	Mac      [32]byte
	Signed   []byte // the bytes the MAC covers
}

type sealWire struct {
	Time  string  `json:"time"`
	Seq   *uint64 `json:"seq"`
	Lines int     `json:"lines"`
	IvlMs int64   `json:"interval_ms"`
	KeyID string  `json:"key_id"`
	Epoch uint64  `json:"epoch"`
	Prev  string  `json:"prev"`
	Hash  string  `json:"hash"`
	Loc   string  `json:"loc"`
	End   bool    `json:"end"`
	Mac   string  `json:"mac"`
}

var macField = []byte(`,"mac":"`)

// parseSeal reads a seal line; the MAC covers the line up to its "mac"
// field. A chain-only seal has neither MAC nor key ID.
func parseSeal(line []byte) (*sealRecord, error) {
	var w sealWire
	if err := json.Unmarshal(line, &w); err != nil {
		return nil, fmt.Errorf("seal record unreadable: %w", err)
	}
	i := bytes.LastIndex(line, macField)
	if w.Seq == nil || (i < 0) != (w.KeyID == "") || w.IvlMs < 0 {
		return nil, errors.New("seal record without its seq, or with a key ID but no mac")
	}
	s := &sealRecord{Seq: *w.Seq, Lines: w.Lines, Interval: time.Duration(w.IvlMs) * time.Millisecond,
		KeyID: w.KeyID, Epoch: w.Epoch, End: w.End}
	if i >= 0 {
		s.Signed = line[:i]
	} else {
		w.Mac = strings.Repeat("0", 64)
	}
	var err error
	if s.Time, err = time.Parse(time.RFC3339Nano, w.Time); err != nil {
		return nil, errors.New("seal record: bad time")
	}
	for _, f := range []struct {
		dst *[32]byte
		src string
	}{{&s.Prev, w.Prev}, {&s.Hash, w.Hash}, {&s.Mac, w.Mac}} {
		if len(f.src) != 64 {
			return nil, errors.New("seal record: a hash is not 64 hex digits")
		}
		if _, err := hex.Decode(f.dst[:], []byte(f.src)); err != nil {
			return nil, errors.New("seal record: a hash is not 64 hex digits")
		}
	}
	locs, err := base64.StdEncoding.DecodeString(w.Loc)
	if err != nil || len(locs) != 4*w.Lines || w.Lines < 0 || w.Lines > maxEvery+2 {
		return nil, errors.New("seal record: its line checksums do not match its line count")
	}
	s.Locs = make([]uint32, w.Lines)
	for j := range s.Locs {
		s.Locs[j] = uint32(locs[4*j])<<24 | uint32(locs[4*j+1])<<16 | uint32(locs[4*j+2])<<8 | uint32(locs[4*j+3])
	}
	return s, nil
}
