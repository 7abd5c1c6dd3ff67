package seal

import (
	"crypto/hmac"
	"crypto/sha256"
	"testing"
)

// The recorder's MAC is crypto/hmac's HMAC-SHA256, byte for byte, for
// messages around SHA-256's block size and when out is the key itself.
func TestMacerIsHMACSHA256(t *testing.T) {
	var m macer
	var key [32]byte
	for i := range key {
		key[i] = byte(3*i + 1)
	}
	for _, n := range []int{0, 1, 55, 56, 63, 64, 65, 200, 1000} {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(i * 7)
		}
		h := hmac.New(sha256.New, key[:])
		h.Write(msg)
		want := h.Sum(nil)
		var got [32]byte
		m.sum(&key, msg, &got)
		if string(got[:]) != string(want) {
			t.Errorf("%d bytes: %x, want %x", n, got, want)
		}
		k := key
		m.sum(&k, msg, &k)
		if string(k[:]) != string(want) {
			t.Errorf("%d bytes into the key: %x, want %x", n, k, want)
		}
	}
	var next [32]byte
	derive(&key, labelNext, &next)
	m.sum(&key, []byte(labelNext), &key)
	if key != next {
		t.Errorf("the next key %x, derive's %x", key, next)
	}
}
