package dashboards_test

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/statusd/statusd/dashboards"
)

// The committed JSON is what the code generates: run `go generate
// ./dashboards` after changing a dashboard.
func TestCommittedJSON(t *testing.T) {
	for _, d := range dashboards.All() {
		want, err := dashboards.JSON(d.Builder)
		if err != nil {
			t.Fatalf("%s: %v", d.File, err)
		}
		got, err := os.ReadFile(d.File)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the generator writes: run go generate ./dashboards", d.File)
		}
	}
}

type panel struct {
	Type       string `json:"type"`
	Title      string `json:"title"`
	ID         int    `json:"id"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Targets []struct {
		Expr       string `json:"expr"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	} `json:"targets"`
}

type board struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Type  string `json:"type"`
			Name  string `json:"name"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

func load(t *testing.T, file string) board {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var d board
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// The conventions a Grafana user expects of a dashboard that ships with
// an exporter.
func TestConventions(t *testing.T) {
	wantVars := map[string][]string{
		"statusd-overview.json": {"datasource", "job", "instance", "service"},
		"statusd-check.json":    {"datasource", "job", "instance", "resource", "check"},
	}
	uids := map[string]bool{}
	for _, f := range dashboards.All() {
		d := load(t, f.File)
		if !strings.HasPrefix(d.UID, "statusd-") || uids[d.UID] {
			t.Errorf("%s: uid %q", f.File, d.UID)
		}
		uids[d.UID] = true
		var names []string
		for _, v := range d.Templating.List {
			names = append(names, v.Name)
		}
		if strings.Join(names, ",") != strings.Join(wantVars[f.File], ",") {
			t.Errorf("%s: variables %v, want %v", f.File, names, wantVars[f.File])
		}
		ids := map[int]bool{}
		for _, p := range d.Panels {
			if ids[p.ID] || p.ID == 0 {
				t.Errorf("%s: panel %q has id %d", f.File, p.Title, p.ID)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("%s: panel %q does not use the datasource variable", f.File, p.Title)
			}
			if p.Type != "state-timeline" && p.FieldConfig.Defaults.Unit == "" {
				t.Errorf("%s: panel %q sets no unit", f.File, p.Title)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", f.File, p.Title)
			}
			for _, q := range p.Targets {
				if q.Datasource.UID != "${datasource}" {
					t.Errorf("%s: a query of %q does not use the datasource variable", f.File, p.Title)
				}
				if strings.Contains(q.Expr, "rate(") && regexp.MustCompile(`rate\([^)]*\[[0-9]+[smh]\]`).MatchString(q.Expr) {
					t.Errorf("%s: %q uses a fixed rate window instead of $__rate_interval: %s", f.File, p.Title, q.Expr)
				}
				if !strings.Contains(q.Expr, `job=~"$job"`) || !strings.Contains(q.Expr, `instance=~"$instance"`) {
					t.Errorf("%s: %q does not filter by $job and $instance: %s", f.File, p.Title, q.Expr)
				}
			}
		}
	}
}
