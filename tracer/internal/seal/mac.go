package seal

import (
	"crypto/sha256"
	"hash"
)

// macer computes HMAC-SHA256 (RFC 2104) with 32-byte keys, as
// crypto/hmac does, but reusing one SHA-256 state and its buffers: the
// recorder makes a MAC and derives the next key at every seal, and
// crypto/hmac allocates a pair of states each time.
type macer struct {
	h     hash.Hash
	pad   [sha256.BlockSize]byte
	inner [sha256.Size]byte
}

// sum sets out to HMAC-SHA256(key, msg); out may be key.
func (m *macer) sum(key *[32]byte, msg []byte, out *[32]byte) {
	if m.h == nil {
		m.h = sha256.New()
	}
	m.keyPad(key, 0x36)
	m.h.Reset()
	m.h.Write(m.pad[:])
	m.h.Write(msg)
	m.h.Sum(m.inner[:0])
	m.keyPad(key, 0x5c)
	m.h.Reset()
	m.h.Write(m.pad[:])
	m.h.Write(m.inner[:])
	m.h.Sum(out[:0])
	clear(m.pad[:]) // it held the key
}

func (m *macer) keyPad(key *[32]byte, pad byte) {
	for i := range m.pad {
		m.pad[i] = pad
	}
	for i, k := range key {
		m.pad[i] ^= k
	}
}
