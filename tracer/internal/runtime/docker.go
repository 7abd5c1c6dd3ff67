package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The Docker Engine API is spoken with net/http over the unix socket: four
// GET requests (version, list, inspect, events) without an API version in
// the path, which docker and podman answer at their own current version,
// so neither a newer nor an older daemon is refused. The Docker client
// module (github.com/moby/moby/client) would bring fifteen direct
// dependencies, OpenTelemetry and image-reference parsing among them, for
// those four requests and three JSON fields.

// dockerSource is a docker or podman daemon's Engine API.
type dockerSource struct {
	w    *Watcher
	path string
	name string // "docker" or "podman"
	http *http.Client
}

// dialDocker asks the socket for /version: docker and podman both answer,
// podman naming a "Podman Engine" component.
func dialDocker(ctx context.Context, w *Watcher, path string) (*dockerSource, error) {
	d := &dockerSource{w: w, path: path, name: "docker", http: &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var nd net.Dialer
				return nd.DialContext(ctx, "unix", path)
			},
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     time.Minute,
		},
	}}
	var v struct {
		Components []struct{ Name string }
	}
	if err := d.get(ctx, "/version", &v); err != nil {
		d.close()
		return nil, fmt.Errorf("docker api: %w", err)
	}
	for _, c := range v.Components {
		if strings.Contains(c.Name, "Podman") {
			d.name = "podman"
		}
	}
	return d, nil
}

func (d *dockerSource) runtime() string { return d.name }

func (d *dockerSource) close() { d.http.CloseIdleConnections() }

// errNotFound is a 404 from the API.
var errNotFound = errors.New("not found")

// get decodes the JSON answer to GET path, bounded by the watcher's timeout.
func (d *dockerSource) get(ctx context.Context, path string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, d.w.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker"+path, nil)
	if err != nil {
		return err
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return errNotFound
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: %s", path, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(v)
}

// follow lists all containers, then reads the event stream from just
// before the list, so nothing created in between is missed.
func (d *dockerSource) follow(ctx context.Context) error {
	since := time.Now().Add(-time.Second).Unix()
	var list []struct {
		ID    string `json:"Id"`
		Names []string
		Image string
	}
	if err := d.get(ctx, "/containers/json?all=1", &list); err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	live := make(map[string]bool, len(list))
	for _, c := range list {
		name := ""
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		d.w.put(d.path, Identity{ID: c.ID, Name: name, Image: c.Image, Runtime: d.name})
		live[c.ID] = true
	}
	d.w.goneExcept(d.path, live)
	return d.events(ctx, since)
}

// dockerEvent is one message of /events.
type dockerEvent struct {
	Type   string
	Action string
	Actor  struct {
		ID         string
		Attributes map[string]string
	}
}

// events follows /events until the stream ends or ctx does. A create
// event carries the name and image, so a container that exits at once is
// named without asking for it.
func (d *dockerSource) events(ctx context.Context, since int64) error {
	filters := url.QueryEscape(`{"type":["container"]}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		"http://docker/events?since="+strconv.FormatInt(since, 10)+"&filters="+filters, nil)
	if err != nil {
		return err
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("events: %s", resp.Status)
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var ev dockerEvent
		if err := dec.Decode(&ev); err != nil {
			return fmt.Errorf("events: %w", err)
		}
		if ev.Type != "" && ev.Type != "container" || ev.Actor.ID == "" {
			continue
		}
		switch ev.Action {
		case "destroy", "remove":
			d.w.gone(ev.Actor.ID)
		case "create", "start", "rename":
			if name := ev.Actor.Attributes["name"]; name != "" {
				d.w.put(d.path, Identity{ID: ev.Actor.ID, Name: name, Image: ev.Actor.Attributes["image"], Runtime: d.name})
			}
		}
	}
}

// query inspects one container.
func (d *dockerSource) query(ctx context.Context, id string) (Identity, bool, error) {
	var c struct {
		ID     string `json:"Id"`
		Name   string
		Config struct{ Image string }
	}
	err := d.get(ctx, "/containers/"+url.PathEscape(id)+"/json", &c)
	if errors.Is(err, errNotFound) {
		return Identity{}, false, nil
	}
	if err != nil {
		return Identity{}, false, err
	}
	if c.ID != id {
		// A prefix of another container's id: not this one.
		return Identity{}, false, nil
	}
	return Identity{ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"), Image: c.Config.Image, Runtime: d.name}, true, nil
}
