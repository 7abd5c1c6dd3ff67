package report

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nstrace/nstrace/tracer/internal/render"
)

var (
	//go:embed assets/report.html
	pageHTML string
	//go:embed assets/report.css
	pageCSS string
	//go:embed assets/data.js assets/layout.js assets/interaction.js assets/search.js assets/start.js
	scripts embed.FS
	pageJS  = joinScripts(scripts, "data.js", "layout.js", "interaction.js", "search.js", "start.js")

	pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
		"utc":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
		"clock": func(t time.Time) string { return t.UTC().Format("15:04:05.000000") },
		"span":  func(a, b time.Time) string { return humanDuration(b.Sub(a)) },
		"num":   func(n int) string { return group(uint64(n)) },
		"num64": func(n uint64) string { return group(n) },
		"int":   func(n uint64) int { return int(n) },
		"sev":   severityClass,
		"join":  strings.Join,
	}).Parse(pageHTML))
)

// page is what the template is given: the report, with what its caller
// set sanitized.
type page struct {
	*Report
	PageTitle string
	Version   string
	Files     []string
	Filter    string
	Warnings  []string
	SealText  string
	SealClass string // the summary's style for the verdict
	CSP       string
	CSS       template.CSS
	JS        template.JS
	Data      template.JS
}

// WriteHTML writes r as one self-contained HTML page: no fetch leaves it,
// and its Content-Security-Policy lets only its own script and style run,
// so even markup that slipped in could neither run nor load anything.
// version names the nstrace that made it.
func WriteHTML(w io.Writer, r *Report, version string) error {
	p := page{Report: r, PageTitle: render.Sanitize(r.Title), Version: render.Sanitize(version),
		Files: sanitizeAll(r.Files), Filter: render.Sanitize(r.Filter), Warnings: sanitizeAll(r.Warnings),
		SealText: render.Sanitize(r.Seal.Text), SealClass: sealClasses[r.Seal.State],
		CSS: template.CSS(pageCSS), JS: template.JS(pageJS), Data: template.JS(dataMarker)}
	if p.PageTitle == "" {
		p.PageTitle = r.defaultTitle()
	}
	p.CSP = "default-src 'none'; script-src " + hashSource(pageJS) + "; style-src " + hashSource(pageCSS) +
		"; img-src data:; base-uri 'none'; form-action 'none'"
	var html bytes.Buffer
	if err := pageTemplate.Execute(&html, &p); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	// The data, tens of megabytes for a large session, is written in the
	// marker's place as it is encoded rather than held whole.
	before, after, ok := bytes.Cut(html.Bytes(), []byte(dataMarker))
	if !ok {
		return errors.New("write report: the page has no place for its data") // the embedded template: cannot happen
	}
	if _, err := w.Write(before); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := r.writeData(w); err != nil {
		return err
	}
	if _, err := w.Write(after); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

var sealClasses = [...]string{SealsVerified: "good", SealsUnsealed: "warn", SealsBroken: "bad", SealsAbsent: "warn"}

// dataMarker stands for the data in the executed template: nothing from a
// session can write it, for every string in the page is escaped and this
// one holds characters escaping never leaves raw.
const dataMarker = "\x00<nstrace-data>\x00"

// joinScripts makes the page's one script from its parts, in order, inside
// one function: they share its scope, and nothing leaks into the page's.
func joinScripts(fsys embed.FS, names ...string) string {
	var b strings.Builder
	b.WriteString("(function () {\n'use strict';\n")
	for _, n := range names {
		js, err := fsys.ReadFile("assets/" + n)
		if err != nil {
			panic(err) // embedded above: cannot happen
		}
		b.Write(js)
	}
	b.WriteString("})();\n")
	return b.String()
}

func sanitizeAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = render.Sanitize(s)
	}
	return out
}

// hashSource is the CSP source that allows exactly this inline content.
func hashSource(content string) string {
	sum := sha256.Sum256([]byte(content))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func (r *Report) defaultTitle() string {
	switch len(r.Sessions) {
	case 0:
		return "nstrace report"
	case 1:
		s := &r.Sessions[0]
		return "nstrace report: " + s.Host + ", " + s.Started.UTC().Format("2006-01-02 15:04 UTC")
	}
	return "nstrace report: " + strconv.Itoa(len(r.Sessions)) + " sessions from " +
		r.Sessions[0].Started.UTC().Format("2006-01-02 15:04 UTC")
}

// severityClass maps an alert's severity to one of the page's styles, as
// the page's script does: the text never becomes a class name.
func severityClass(s string) string {
	switch strings.ToLower(s) {
	case "critical", "high":
		return "critical"
	case "notice", "info", "low":
		return "notice"
	}
	return "warning"
}

// humanDuration is a span as a person reads it: 850 µs, 1.25 s, 3 min 12 s.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return strconv.FormatInt(d.Nanoseconds(), 10) + " ns"
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/1e3, 'f', 0, 64) + " µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + " ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s"
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
}

// group writes n with thin spaces between thousands: 100 000.
func group(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteRune(c)
	}
	return b.String()
}
