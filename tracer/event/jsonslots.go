package event

// jsonSlots remembers the JSON an encoder wrote last for a few values,
// each under the key it was formatted from. A slot is found by comparing
// keys with the value at hand, never by trusting a pointer to it; a miss
// replaces the slots round robin. The slots' buffers are reused, so a
// stream of values allocates only while a buffer grows.
type jsonSlots[K any] struct {
	slots [jsonSlotCount]jsonSlot[K]
	next  int // the slot a miss replaces
}

// jsonSlotCount is how many values are remembered: enough for a few busy
// threads, each going back and forth between two namespaces.
const jsonSlotCount = 8

type jsonSlot[K any] struct {
	key  K
	used bool
	json []byte
}

// slotKey is a key type K whose pointer compares itself with a value V.
type slotKey[K, V any] interface {
	*K
	matches(v *V) bool
}

// appendRemembered appends the JSON c remembers under a key matching v;
// else it appends what format writes and remembers that under key(v).
func appendRemembered[K, V any, PK slotKey[K, V]](c *jsonSlots[K], b []byte, v *V, key func(*V) K, format func([]byte, *V) []byte) []byte {
	for i := range c.slots {
		if s := &c.slots[i]; s.used && PK(&s.key).matches(v) {
			return append(b, s.json...)
		}
	}
	start := len(b)
	b = format(b, v)
	s := &c.slots[c.next]
	c.next = (c.next + 1) % jsonSlotCount
	s.key, s.used, s.json = key(v), true, append(s.json[:0], b[start:]...)
	return b
}
