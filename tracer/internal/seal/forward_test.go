package seal

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/sessionhook"
)

// Forward security: an attacker who takes the recorder when it has sealed
// up to seal 2 holds the key of seal 3 on. Re-sealing an edited start
// with it fails at every seal before 3: the keys of those were erased.
func TestSealsForgedWithALaterKeyFail(t *testing.T) {
	keyPath := filepath.Join(t.TempDir(), "k")
	vk, err := CreateKeyFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := TakeRunKey(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC) }
	s := NewSealer(&rk, Options{Every: 3, Now: now})
	lines := []string{`{"event":"session","format":1,"time":"2026-11-29T03:00:00Z","session":"aa","part":1}`, `{"time":"x","event":"setns","pid":1}`,
		`{"time":"x","event":"setns","pid":2}`, `{"time":"x","event":"setns","pid":3}`, `{"time":"x","event":"setns","pid":4}`,
		`{"time":"x","event":"setns","pid":5}`, `{"time":"x","event":"setns","pid":6}`}
	var honest []byte
	for _, l := range lines {
		honest = append(honest, l+"\n"...)
		if s.Add([]byte(l + "\n")) {
			honest = s.AppendSeal(honest, nil)
		}
	}
	if s.seq != 2 {
		t.Fatalf("%d seals, want 2", s.seq)
	}
	stolen := s.key // the key of seal 2, as the attacker finds it

	forger := &Sealer{key: stolen, keyed: true, id: s.id, epoch: s.epoch, content: s.content, every: 3, now: now}
	forger.content.Reset()
	forger.locs = nil
	var forged []byte
	for _, l := range lines {
		l = strings.Replace(l, `"pid":2`, `"pid":9`, 1) // the edit
		forged = append(forged, l+"\n"...)
		if forger.Add([]byte(l + "\n")) {
			forged = forger.AppendSeal(forged, nil)
		}
	}
	for name, data := range map[string][]byte{"honest": honest, "forged": forged} {
		v := NewVerifier(&vk, nil)
		for i, l := range bytes.SplitAfter(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
			v.Line(sessionhook.Position{File: name, Line: i + 1}, bytes.TrimSuffix(l, []byte("\n")), true)
		}
		v.EndFile(false)
		var got []string
		for _, p := range v.Finish().Problems {
			if !p.Unsealed {
				got = append(got, p.String())
			}
		}
		want := map[string]string{"honest": "",
			"forged": "forged: line 4 (byte 0): part 1: seal 0 does not authenticate: forged, or changed after sealing\n" +
				"forged: line 8 (byte 0): part 1: seal 1 does not authenticate: forged, or changed after sealing"}[name]
		if strings.Join(got, "\n") != want {
			t.Errorf("%s:\n%s\nwant\n%s", name, strings.Join(got, "\n"), want)
		}
	}
}
