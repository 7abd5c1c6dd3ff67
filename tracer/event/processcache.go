package event

// processCache holds the process fields, as JSON, of the processes an
// encoder wrote last. A Process is shared by the events of one process
// image and never changed, so its pointer, with the credentials the event
// carries beside it, names the text; holding the pointer keeps its memory
// from being reused for another Process.
type processCache struct {
	slots [processSlots]processSlot
	next  int // the slot a miss replaces: round robin
}

// processSlots is how many processes are remembered: enough for a few
// busy processes taking turns.
const processSlots = 8

type processSlot struct {
	proc  *Process
	caps  uint64
	auid  uint32
	creds bool
	used  bool
	json  []byte
}

// append appends e's process fields, formatting them only when they are not
// remembered. The slots' buffers are reused, so a stream of processes
// allocates only while a buffer grows.
func (c *processCache) append(b []byte, e *Event, nums *Numbers) []byte {
	for i := range c.slots {
		s := &c.slots[i]
		if s.used && s.proc == e.Process && s.caps == e.Caps && s.auid == e.Auid && s.creds == e.HasCreds {
			return append(b, s.json...)
		}
	}
	start := len(b)
	b = e.encodeProcessJSON(b, nums)
	s := &c.slots[c.next]
	c.next = (c.next + 1) % processSlots
	*s = processSlot{proc: e.Process, caps: e.Caps, auid: e.Auid, creds: e.HasCreds, used: true,
		json: append(s.json[:0], b[start:]...)}
	return b
}
