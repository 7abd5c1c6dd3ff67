package export

import (
	"bytes"
	"slices"
)

// valueMemo keeps what the last records encoded to. Records of one
// process repeat most of their JSON (its identity, capabilities,
// arguments, ancestors): comparing JSON with the last costs a fraction of
// transcoding it, so what is the same is copied from the last encoding.
//
// Two levels: the previous record's top-level fields, where a run of
// fields that are byte for byte the same (key, value and the ',' or '}'
// after it, so a value that merely starts alike does not match) is one
// copy; and for a field that differs, the last two encodings of each
// top-level array or object (a thread that moves back and forth between
// two namespaces repeats both).
type valueMemo struct {
	entries    []memoEntry
	last, next recordFields
}

type memoEntry struct {
	key   []byte
	slots [2]memoSlot
	older int // the slot replaced next
}

type memoSlot struct {
	raw []byte // the value's JSON
	enc []byte // its AnyValue fields
}

// maxMemo bounds the fields remembered: nstrace's records have fewer.
const maxMemo = 32

// recordFields is one record's top-level object: its JSON, the encoding
// of its key-value list's contents, and where each field is in both.
type recordFields struct {
	json    []byte
	enc     []byte
	fields  []fieldSpan
	sources int // fields that are attrSource
}

// fieldSpan is one top-level field. In the JSON: start (the key's opening
// quote), the key, the value, and end (past the ',' or '}' after the
// value, and after a ',' the space before the next key); in the encoding of a record's fields, its KeyValue (end and
// the encoding are only kept for the memo).
type fieldSpan struct {
	start, keyEnd, val, valEnd, end int32
	encStart, encEnd                int32
	source                          bool // attrSource(key)
}

func (m *valueMemo) entry(key []byte) *memoEntry {
	for i := range m.entries {
		if string(m.entries[i].key) == string(key) {
			return &m.entries[i]
		}
	}
	if len(m.entries) >= maxMemo {
		return nil
	}
	m.entries = append(m.entries, memoEntry{key: append([]byte(nil), key...)})
	return &m.entries[len(m.entries)-1]
}

// memoValue appends the top-level field key's array or object value at
// w.i: a remembered encoding when its JSON is one of the last two. JSON
// arrays and objects end themselves, so a value that starts with the
// remembered bytes is that value.
func (w *jsonWire) memoValue(out, key []byte) ([]byte, bool) {
	e := w.memo.entry(key)
	if e == nil {
		return w.value(out, 1)
	}
	for i := range e.slots {
		if s := &e.slots[i]; len(s.raw) > 0 && bytes.HasPrefix(w.b[w.i:], s.raw) {
			w.i += len(s.raw)
			return append(out, s.enc...), true
		}
	}
	start, from := w.i, len(out)
	out, ok := w.value(out, 1)
	if ok {
		s := &e.slots[e.older]
		e.older ^= 1
		s.raw = append(s.raw[:0], w.b[start:w.i]...)
		s.enc = append(s.enc[:0], out[from:]...)
	}
	return out, ok
}

// recordObject writes the record's top-level object, whose '{' was read,
// as a key-value list. The fields are noted in w.top.
func (w *jsonWire) recordObject(out []byte) ([]byte, bool) {
	m := w.memo
	last := &m.last
	// The fields are noted where the memo keeps them for the next record.
	w.top = m.next.fields[:0]
	out, mark := openWide(out, fAVKvlist)
	base := len(out)
	w.space()
	if w.i < len(w.b) && w.b[w.i] == '}' {
		w.i++
		return w.endRecordObject(out, base, mark), true
	}
	k := 0 // the last record's field expected next
	for {
		// Copy the run of fields the same as the last record's from k:
		// contiguous in the JSON and the encoding of both records.
		if run := k; k < len(last.fields) {
			from := w.i
			gap := false // the last record had space before field k
			for k < len(last.fields) {
				f := &last.fields[k]
				if gap = k > run && f.start != last.fields[k-1].end; gap {
					break
				}
				if !bytes.HasPrefix(w.b[w.i:], last.json[f.start:f.end]) {
					break
				}
				w.i += int(f.end - f.start)
				k++
			}
			if k > run {
				first := &last.fields[run]
				d, e := int32(from)-first.start, int32(len(out)-base)-first.encStart
				n := len(w.top)
				w.top = slices.Grow(w.top, k-run)[:n+k-run]
				for i, f := range last.fields[run:k] {
					f.start, f.keyEnd, f.val, f.valEnd, f.end = f.start+d, f.keyEnd+d, f.val+d, f.valEnd+d, f.end+d
					f.encStart, f.encEnd = f.encStart+e, f.encEnd+e
					w.top[n+i] = f
					if f.source {
						w.sources++
					}
				}
				out = append(out, last.enc[first.encStart:last.fields[k-1].encEnd]...)
				if w.b[w.i-1] == '}' {
					return w.endRecordObject(out, base, mark), true
				}
				w.space() // where this record is spaced unlike the last
				if gap {
					continue
				}
			}
		}
		var closed, ok bool
		if out, closed, ok = w.topField(out, base); !ok {
			return out, false
		}
		f := &w.top[len(w.top)-1]
		key := w.b[f.start+1 : f.keyEnd]
		if f.source = attrSource(key); f.source {
			w.sources++
			w.freshSource = true
		}
		// The next field expected is the one after this key's last time.
		for j := k; j < len(last.fields); j++ {
			if lf := &last.fields[j]; string(last.json[lf.start+1:lf.keyEnd]) == string(key) {
				k = j + 1
				break
			}
		}
		if closed {
			return w.endRecordObject(out, base, mark), true
		}
	}
}

// topField transcodes one top-level field at w.i, the ',' or '}' after it
// and, after a ',', the space before the next key; it notes the field in
// w.top.
func (w *jsonWire) topField(out []byte, base int) (_ []byte, closed, ok bool) {
	start, encStart := w.i, len(out)-base
	var kv, km, vm int
	out, kv = openField(out, fValues)
	out, km = openField(out, fKVKey)
	if out, ok = w.str(out); !ok {
		return out, false, false
	}
	out = closeField(out, km)
	keyEnd := w.i - 1
	w.space()
	if w.i >= len(w.b) || w.b[w.i] != ':' {
		return out, false, false
	}
	w.i++
	w.space()
	val := w.i
	out, vm = openField(out, fKVValue)
	if w.i < len(w.b) && (w.b[w.i] == '[' || w.b[w.i] == '{') {
		out, ok = w.memoValue(out, w.b[start+1:keyEnd])
	} else {
		out, ok = w.value(out, 1)
	}
	if !ok {
		return out, false, false
	}
	valEnd := w.i
	out = closeField(closeField(out, vm), kv)
	if !w.next('}') {
		return out, false, false
	}
	if closed = w.b[w.i-1] == '}'; !closed {
		w.space()
	}
	w.top = append(w.top, fieldSpan{start: int32(start), keyEnd: int32(keyEnd), val: int32(val), valEnd: int32(valEnd),
		end: int32(w.i), encStart: int32(encStart), encEnd: int32(len(out) - base)})
	return out, closed, true
}

// endRecordObject keeps the record just written as the last one and
// closes its key-value list.
func (w *jsonWire) endRecordObject(out []byte, base, mark int) []byte {
	m := w.memo
	w.sameAttrs = !w.freshSource && w.sources == m.last.sources
	m.next.fields, m.next.sources = w.top, w.sources
	m.next.json = append(m.next.json[:0], w.b...)
	m.next.enc = append(m.next.enc[:0], out[base:]...)
	m.last, m.next = m.next, m.last
	return closeWide(out, mark)
}
