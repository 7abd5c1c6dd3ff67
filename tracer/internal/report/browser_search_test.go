package report

import (
	"fmt"
	"html"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nstrace/nstrace/tracer/event"
)

var (
	notableRe  = regexp.MustCompile(`<details class="notable-group"([^>]*)>`)
	laneOpenRe = regexp.MustCompile(`<g class="(lane|group-head)"([^>]*)>`)
	lifeRe     = regexp.MustCompile(`<line class="(life[^"]*)"`)
)

// drawnLanes lists the namespace lanes the page drew, each with the
// classes of its lifeline segments: "net 4026532250 \"web-frontend\": life life unknown".
func drawnLanes(dom string) []string {
	var out []string
	locs := laneOpenRe.FindAllStringSubmatchIndex(dom, -1)
	for i, loc := range locs {
		if dom[loc[2]:loc[3]] != "lane" {
			continue
		}
		a := attrs(dom[loc[4]:loc[5]])
		if a["data-kind"] != "ns" {
			continue
		}
		end := len(dom)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		var life []string
		for _, m := range lifeRe.FindAllStringSubmatch(dom[loc[1]:end], -1) {
			life = append(life, strings.ReplaceAll(m[1], " ", "-"))
		}
		out = append(out, fmt.Sprintf("%s %s %s: %s", a["data-type"], a["data-inode"], a["data-label"], strings.Join(life, " ")))
	}
	sort.Strings(out)
	return out
}

func TestANamespaceWithoutADestroyIsDrawnUnknownAfterItsLastMark(t *testing.T) {
	r := buildReport(t, fixture)
	page := savePage(t, "fixture-life.html", r)
	dom, log := browse(t, page, "", "--dump-dom")
	checkRendered(t, dom, log)
	got := strings.Join(drawnLanes(dom), "\n")
	// The host's namespaces never end; the others are known alive from
	// their creation to their last mark: one with only a create has no
	// solid line at all. The fixture has no destroy events.
	want := strings.Join([]string{
		"ipc 4026531839 host: life-pre",
		"ipc 4026532320 by unshare[1526]: life-unknown",
		"ipc 4026532411 ctr nstrace-demo: life life-unknown",
		"mnt 4026531832 host: life-pre",
		"mnt 4026532319 by ip[1525]: life-unknown",
		"mnt 4026532319 ctr nstrace-demo: life life-unknown",
		"net 4026531833 host: life-pre",
		"net 4026532250 \"web-frontend\": life life-unknown",
		"net 4026532321 by unshare[1526]: life-unknown",
		"net 4026532413 ctr nstrace-demo: life life-unknown",
		"pid 4026531836 host: life-pre",
		"pid 4026532412 ctr nstrace-demo: life life-unknown",
		"uts 4026531838 host: life-pre",
		"uts 4026532319 by unshare[1526]: life-unknown",
		"uts 4026532320 ctr nstrace-demo: life life-unknown",
	}, "\n")
	if got != want {
		t.Errorf("lanes and lifelines:\n%s\nwant:\n%s", got, want)
	}
}

func TestTheSearchBoxKeepsTheLanesItNames(t *testing.T) {
	r := buildReport(t, fixture)
	page := savePage(t, "fixture-search.html", r)
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"by a name", "web-frontend", []string{`net 4026532250 "web-frontend"`}},
		{"by a pid", "1526", []string{"ipc 4026532320 by unshare[1526]", "net 4026532321 by unshare[1526]", "uts 4026532319 by unshare[1526]"}},
		{"by an inode, every namespace that had it", "4026532319", []string{"mnt 4026532319 by ip[1525]", "mnt 4026532319 ctr nstrace-demo", "uts 4026532319 by unshare[1526]"}},
		{"by a container", "NSTRACE-demo", []string{"ipc 4026532411 ctr nstrace-demo", "mnt 4026532319 ctr nstrace-demo",
			"net 4026532413 ctr nstrace-demo", "pid 4026532412 ctr nstrace-demo", "uts 4026532320 ctr nstrace-demo"}},
		// "ip" names the processes of ip(8), and is part of "ipc" too.
		{"by a comm, in part", "ip", []string{"ipc 4026531839 host", "ipc 4026532320 by unshare[1526]", "ipc 4026532411 ctr nstrace-demo",
			"mnt 4026532319 by ip[1525]", "net 4026531833 host", `net 4026532250 "web-frontend"`}},
		{"for nothing", "no-such-thing", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dom, log := browse(t, page, "file://"+page+"#search="+tc.query, "--dump-dom")
			checkRendered(t, dom, log)
			var got []string
			for _, l := range drawnLanes(dom) {
				got = append(got, l[:strings.Index(l, ":")])
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("search %q drew:\n%s\nwant:\n%s", tc.query, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// checkNotableGroups checks the list under the timeline: one group per
// alert rule, most raised first, then the failed attempts and the losses,
// each counting all of its items and listing at most a page of them.
func checkNotableGroups(t *testing.T, dom string, r *Report) {
	t.Helper()
	var want []string
	for _, c := range r.ByRule {
		want = append(want, fmt.Sprintf("alert:%s %d", c.Name, c.N))
	}
	// Failures and losses are listed as far as they are kept one by one;
	// past that they are counted in bands and the summary.
	failed, lost := 0, 0
	for _, e := range r.events {
		switch {
		case e.kind == event.Lost:
			lost++
		case e.errno != 0:
			failed++
		}
	}
	if failed > 0 {
		want = append(want, fmt.Sprintf("failed %d", failed))
	}
	if lost > 0 {
		want = append(want, fmt.Sprintf("lost %d", lost))
	}
	var got []string
	for _, m := range notableRe.FindAllStringSubmatch(dom, -1) {
		a := attrs(m[1])
		got = append(got, a["data-group"]+" "+a["data-n"])
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("notable groups:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := strings.Count(dom, `<li>`); n > 100*len(want) {
		t.Errorf("%d items listed, want at most a page of 100 per group", n)
	}
}

var groupHeadRe = regexp.MustCompile(`<g class="group-head" data-group="([^"]*)"`)

func TestLanesGroupByContainerOrCreator(t *testing.T) {
	r := buildReport(t, fixture)
	page := savePage(t, "fixture-groups.html", r)
	for _, tc := range []struct {
		mode string
		want []string
	}{
		{"container", []string{"attention 2", "container:host 5", "container:ctr nstrace-demo 5", "container:no container 5"}},
		{"creator", []string{"attention 2", "creator:host 5", "creator:by runc:[1:CHILD][1537] 5", "creator:by unshare[1526] 3",
			"creator:by ip[1524] 1", "creator:by ip[1525] 1"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			dom, log := browse(t, page, "file://"+page+"#group="+tc.mode, "--dump-dom")
			checkRendered(t, dom, log)
			var got []string
			heads := groupHeadRe.FindAllStringSubmatchIndex(dom, -1)
			for i, h := range heads {
				end := len(dom)
				if i+1 < len(heads) {
					end = heads[i+1][0]
				}
				got = append(got, fmt.Sprintf("%s %d", html.UnescapeString(dom[h[2]:h[3]]), strings.Count(dom[h[1]:end], `<g class="lane"`)))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("grouped by %s:\n%s\nwant:\n%s", tc.mode, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
