package export

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// readCursor reads the cursor file: the first record the collector has
// not acknowledged, as "segment offset". It is replaced by rename, so it
// is always whole; none yet is the spool's start.
func readCursor(dir string) (position, error) {
	b, err := os.ReadFile(filepath.Join(dir, cursorName))
	if errors.Is(err, os.ErrNotExist) {
		return position{}, nil
	}
	if err != nil {
		return position{}, fmt.Errorf("read spool cursor: %w", err)
	}
	var p position
	if _, err := fmt.Sscanf(string(b), "%d %d", &p.seg, &p.off); err != nil {
		return position{}, fmt.Errorf("spool cursor %q: %w", b, ErrSpoolCorrupt)
	}
	return p, nil
}

func (s *spool) writeCursor(p position) error {
	tmp := filepath.Join(s.dir, cursorName+".tmp")
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%d %d\n", p.seg, p.off), 0o600); err != nil {
		return fmt.Errorf("write spool cursor: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, cursorName)); err != nil {
		return fmt.Errorf("write spool cursor: %w", err)
	}
	return nil
}

// cursorEvery bounds how often ack writes the cursor (a file written and
// renamed each time). A crash resends what was acknowledged since the last
// write: duplicates, with the same record ids, never a loss.
const cursorEvery = 250 * time.Millisecond

// ack moves the cursor to p; the segments wholly sent are deleted once
// the cursor past them is written.
func (s *spool) ack(p position) error {
	s.mu.Lock()
	if !s.acked.before(p) {
		s.mu.Unlock()
		return nil
	}
	s.acked = p
	s.unsaved = true
	// The active segment, sent whole and grown past a quarter segment,
	// makes way for a new one, so sent records leave the disk.
	if last := s.segs[len(s.segs)-1]; p.seg == last.num && p.off >= last.size && last.size >= s.segSize/4 {
		if err := s.startSegment(last.num+1, last.session); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	for len(s.segs) > 1 && (s.segs[0].num < p.seg || (s.segs[0].num == p.seg && p.off >= s.segs[0].size)) {
		s.gone = append(s.gone, s.segs[0].name(s.dir))
		s.total -= s.segs[0].size
		s.segs = s.segs[1:]
	}
	s.mu.Unlock()
	if time.Since(s.savedAt) < cursorEvery {
		return nil
	}
	return s.saveCursor()
}

// saveCursor writes the cursor as acknowledged, then deletes the segments
// wholly before it.
func (s *spool) saveCursor() error {
	s.mu.Lock()
	p, gone, unsaved := s.acked, s.gone, s.unsaved
	s.gone, s.unsaved = nil, false
	s.mu.Unlock()
	if !unsaved {
		return nil
	}
	s.savedAt = time.Now()
	if err := s.writeCursor(p); err != nil {
		return err
	}
	for _, name := range gone {
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove sent segment: %w", err)
		}
	}
	return nil
}
