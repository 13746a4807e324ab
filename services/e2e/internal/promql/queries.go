package promql

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Query is one PromQL expression of the monitoring configuration and where
// it is (file, then rule, panel or variable).
type Query struct {
	Where string
	Expr  string
}

// Queries reads every query under dir (the repository's monitoring/): each
// alert rule expression of prometheus/rules (their promtool tests aside) and
// each query of grafana/dashboards, panel targets (nested panels included)
// and query variables. Paths in Where are relative to base.
func Queries(dir, base string) ([]Query, error) {
	rel := func(path string) string {
		if r, err := filepath.Rel(base, path); err == nil {
			return r
		}
		return path
	}
	var out []Query

	rules, err := filepath.Glob(filepath.Join(dir, "prometheus", "rules", "*.yml"))
	if err != nil {
		return nil, err
	}
	for _, path := range rules {
		if strings.HasSuffix(path, "_test.yml") {
			continue
		}
		var doc struct {
			Groups []struct {
				Rules []struct {
					Alert  string `yaml:"alert"`
					Record string `yaml:"record"`
					Expr   string `yaml:"expr"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		if err := decodeFile(path, rel, func(b []byte) error { return yaml.Unmarshal(b, &doc) }); err != nil {
			return nil, err
		}
		for _, g := range doc.Groups {
			for _, r := range g.Rules {
				out = append(out, Query{fmt.Sprintf("%s: %s", rel(path), r.Alert+r.Record), r.Expr})
			}
		}
	}

	dashboards, err := filepath.Glob(filepath.Join(dir, "grafana", "dashboards", "*.json"))
	if err != nil {
		return nil, err
	}
	for _, path := range dashboards {
		qs, err := dashboardQueries(path, rel(path))
		if err != nil {
			return nil, err
		}
		out = append(out, qs...)
	}
	if len(rules) == 0 || len(dashboards) == 0 {
		return nil, fmt.Errorf("found %d rule files and %d dashboards under %s, want both", len(rules), len(dashboards), dir)
	}
	return out, nil
}

func dashboardQueries(path, name string) ([]Query, error) {
	var out []Query
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"` // a row's panels
	}
	var walk func(raw []json.RawMessage) error
	walk = func(raw []json.RawMessage) error {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				return fmt.Errorf("%s: panel: %w", name, err)
			}
			for _, tg := range p.Targets {
				if tg.Expr != "" {
					out = append(out, Query{fmt.Sprintf("%s: panel %q %s", name, p.Title, tg.RefID), tg.Expr})
				}
			}
			if err := walk(p.Panels); err != nil {
				return err
			}
		}
		return nil
	}
	var doc struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := decodeFile(path, func(string) string { return name }, func(b []byte) error { return json.Unmarshal(b, &doc) }); err != nil {
		return nil, err
	}
	if err := walk(doc.Panels); err != nil {
		return nil, err
	}
	for _, v := range doc.Templating.List {
		if v.Type != "query" || len(v.Query) == 0 {
			continue
		}
		var q string // a string, or an object with the string in "query"
		if json.Unmarshal(v.Query, &q) != nil {
			var obj struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &obj); err != nil {
				return nil, fmt.Errorf("%s: variable %s: %w", name, v.Name, err)
			}
			q = obj.Query
		}
		if q != "" {
			out = append(out, Query{fmt.Sprintf("%s: variable %s", name, v.Name), q})
		}
	}
	return out, nil
}

func decodeFile(path string, rel func(string) string, decode func([]byte) error) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := decode(b); err != nil {
		return fmt.Errorf("%s: %w", rel(path), err)
	}
	return nil
}
