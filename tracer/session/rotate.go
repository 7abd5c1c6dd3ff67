package session

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nstrace/nstrace/tracer/internal/render"
)

// maxSkips bounds the part names rotation passes over in a row.
const maxSkips = 1000

// startSeries begins a rotated recording at the part after the highest
// already there, so that a restarted recorder goes on where the last one
// stopped; the parts there count towards RotateKeep.
func (w *Writer) startSeries() (*part, error) {
	existing, highest, err := scanParts(w.path)
	if err != nil {
		return nil, err
	}
	w.series = existing
	p, err := w.nextPart(highest+1, 1)
	if err != nil {
		return nil, err
	}
	w.prune()
	return p, nil
}

// nextPart creates part num, or the first after it whose name is free: a
// symbolic link or a file planted at a part name is passed over with a
// warning, never written through.
func (w *Writer) nextPart(num, seq int) (*part, error) {
	for tries := 0; ; tries++ {
		name := PartName(w.path, num)
		p, err := w.createPart(name, num, seq)
		if err == nil {
			return p, nil
		}
		if tries >= maxSkips || !errors.Is(err, ErrSymlink) && !errors.Is(err, ErrExists) {
			return nil, err
		}
		w.skipped++
		w.warn("rotate: skipped " + render.Sanitize(err.Error()))
		num++
	}
}

// rotate starts the next file, then closes the current one with a trailer
// naming it, and deletes files beyond RotateKeep. When no next file can be
// made, recording stops there (the current file keeps its trailer).
func (w *Writer) rotate() error {
	if err := w.writeBuffer(); err != nil {
		return err
	}
	next, err := w.nextPart(w.cur.num+1, w.cur.seq+1)
	if err != nil {
		w.err = fmt.Errorf("rotate: %w", err)
		return w.err
	}
	old := w.cur
	w.cur = next
	if err := w.endPart(old, filepath.Base(next.file.Name())); err != nil {
		w.err = err
		return err
	}
	w.prune()
	return nil
}

// prune deletes the oldest parts beyond RotateKeep. A file that cannot be
// deleted is left and forgotten: recording matters more.
func (w *Writer) prune() {
	if w.opts.RotateKeep <= 0 {
		return
	}
	for len(w.series) > w.opts.RotateKeep {
		name := w.series[0]
		os.Remove(name)
		w.series = w.series[1:]
		if len(w.files) > 0 && w.files[0] == name {
			w.files = w.files[1:]
		}
	}
}

// PartName is the name of the n-th file of a rotated recording at path: the
// number goes before the extension (and before .gz or .zst), zero-padded so
// that names sort in order: trace.jsonl.zst → trace.000002.jsonl.zst.
func PartName(path string, n int) string {
	dir, stem, suffix := partPieces(path)
	return fmt.Sprintf("%s%s.%06d%s", dir, stem, n, suffix)
}

// partPieces splits path into what comes before a part's number and after.
func partPieces(path string) (dir, stem, suffix string) {
	dir, base := filepath.Split(path)
	var zext string
	if compressionOf(base) != plain {
		zext = filepath.Ext(base)
		base = base[:len(base)-len(zext)]
	}
	ext := filepath.Ext(base)
	stem = base[:len(base)-len(ext)]
	if stem == "" {
		stem, ext = base, ""
	}
	return dir, stem, ext + zext
}

// scanParts finds the parts of the series at path already there: the
// regular files in number order, and the highest number any name takes
// (a symbolic link's included, so that it is never reached).
func scanParts(path string) (files []string, highest int, err error) {
	dir, stem, suffix := partPieces(path)
	entries, err := os.ReadDir(filepath.Clean(dir + "."))
	if err != nil {
		return nil, 0, fmt.Errorf("rotate: %w", err)
	}
	type found struct {
		num  int
		name string
	}
	var parts []found
	for _, e := range entries {
		digits, okPrefix := strings.CutPrefix(e.Name(), stem+".")
		digits, okSuffix := strings.CutSuffix(digits, suffix)
		if !okPrefix || !okSuffix || len(digits) < 6 || strings.Trim(digits, "0123456789") != "" {
			continue
		}
		num, err := strconv.Atoi(digits)
		if err != nil || num > 1<<30 {
			continue
		}
		highest = max(highest, num)
		if e.Type().IsRegular() {
			parts = append(parts, found{num, dir + e.Name()})
		}
	}
	slices.SortFunc(parts, func(a, b found) int { return a.num - b.num })
	for _, p := range parts {
		files = append(files, p.name)
	}
	return files, highest, nil
}
