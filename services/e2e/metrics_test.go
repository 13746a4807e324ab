package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/ssokit/platform/libs/testenv"
)

// query is one PromQL expression of the monitoring configuration and where
// it is.
type query struct {
	where string
	expr  string
}

// monitoringQueries reads every alert rule expression of
// monitoring/prometheus/rules (their promtool tests aside) and every query
// of monitoring/grafana/dashboards: panel targets, nested panels included,
// and query variables.
func monitoringQueries(t *testing.T) []query {
	t.Helper()
	dir := filepath.Join(repoRoot(), "monitoring")
	var out []query

	rules, err := filepath.Glob(filepath.Join(dir, "prometheus", "rules", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range rules {
		if strings.HasSuffix(path, "_test.yml") {
			continue
		}
		var doc struct {
			Groups []struct {
				Name  string `yaml:"name"`
				Rules []struct {
					Alert  string `yaml:"alert"`
					Record string `yaml:"record"`
					Expr   string `yaml:"expr"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		readFile(t, path, func(b []byte) error { return yaml.Unmarshal(b, &doc) })
		for _, g := range doc.Groups {
			for _, r := range g.Rules {
				out = append(out, query{fmt.Sprintf("%s: %s", rel(path), r.Alert+r.Record), r.Expr})
			}
		}
	}

	dashboards, err := filepath.Glob(filepath.Join(dir, "grafana", "dashboards", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"` // a row's panels
	}
	var walk func(path string, raw []json.RawMessage)
	walk = func(path string, raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("%s: panel: %v", rel(path), err)
			}
			for _, tg := range p.Targets {
				if tg.Expr != "" {
					out = append(out, query{fmt.Sprintf("%s: panel %q %s", rel(path), p.Title, tg.RefID), tg.Expr})
				}
			}
			walk(path, p.Panels)
		}
	}
	for _, path := range dashboards {
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
		readFile(t, path, func(b []byte) error { return json.Unmarshal(b, &doc) })
		walk(path, doc.Panels)
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
					t.Fatalf("%s: variable %s: %v", rel(path), v.Name, err)
				}
				q = obj.Query
			}
			if q != "" {
				out = append(out, query{fmt.Sprintf("%s: variable %s", rel(path), v.Name), q})
			}
		}
	}
	if len(rules) == 0 || len(dashboards) == 0 {
		t.Fatalf("found %d rule files and %d dashboards under %s, want both", len(rules), len(dashboards), dir)
	}
	return out
}

func readFile(t *testing.T, path string, decode func([]byte) error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := decode(b); err != nil {
		t.Fatalf("%s: %v", rel(path), err)
	}
}

func rel(path string) string {
	if r, err := filepath.Rel(repoRoot(), path); err == nil {
		return r
	}
	return path
}

// scrape reads a service's /metrics in the Prometheus text format.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: %s", addr, resp.Status)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: %v", addr, err)
	}
	return families
}

// exports reports whether families has the series name: a family of that
// name, or the _bucket, _sum or _count series of a histogram (_sum and
// _count of a summary too).
func exports(families map[string]*dto.MetricFamily, name string) bool {
	if _, ok := families[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		if f, ok := families[base]; ok && (f.GetType() == dto.MetricType_HISTOGRAM ||
			suffix != "_bucket" && f.GetType() == dto.MetricType_SUMMARY) {
			return true
		}
	}
	return false
}

// unexported lists the metrics queries read that no service exports, and
// those a query reads from a job (job="...") whose service does not export
// them. byJob holds each job's scrape.
func unexported(t *testing.T, queries []query, byJob map[string]map[string]*dto.MetricFamily) []string {
	t.Helper()
	var missing []string
	for _, q := range queries {
		sels, err := metricSelectors(q.expr)
		if err != nil {
			t.Fatalf("%s: %v", q.where, err)
		}
		for _, sel := range sels {
			if families, known := byJob[sel.job]; sel.job != "" && known {
				if !exports(families, sel.name) {
					missing = append(missing, fmt.Sprintf("%s (job %s): %s", sel.name, sel.job, q.where))
				}
				continue
			}
			var found bool
			for _, families := range byJob {
				found = found || exports(families, sel.name)
			}
			if !found {
				missing = append(missing, fmt.Sprintf("%s: %s", sel.name, q.where))
			}
		}
	}
	sort.Strings(missing)
	return slices.Compact(missing)
}

// value returns the value of the series of family name whose labels
// include want (a histogram's sample count), or -1 when there is none.
func value(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := families[name]
	if !ok {
		return -1
	}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// TestDashboardsAndAlertsQueryOnlyExportedMetrics drives one registration
// through the system and then scrapes the three services: every metric
// that an alert rule or a Grafana dashboard queries must be exported by
// some service (by the very service, when the query names its job), so a
// dashboard panel can never sit on "no data" for want of a metric, nor an
// alert stay silent forever. It also checks that the registration shows
// in the numbers it moved.
func TestDashboardsAndAlertsQueryOnlyExportedMetrics(t *testing.T) {
	queries := monitoringQueries(t)
	s := theSystem(t)

	addr := s.email(t)
	cleanupMails(t, addr)
	userID, access := s.register(t, addr, nil)
	if !testenv.Eventually(30*time.Second, 200*time.Millisecond, func() bool {
		return s.eventStatus(t, access) == successful && mailCount(t, addr) == 1 && s.balance(t, userID, access) == s.bonus
	}) {
		t.Fatalf("registration not delivered: status %q, %d mails, balance %d\nloyalty-points:\n%s",
			s.eventStatus(t, access), mailCount(t, addr), s.balance(t, userID, access), s.logs("loyalty-points"))
	}

	jobs := map[string]string{"sso": s.ssoHTTP, "loyalty-points": s.loyHTTP, "welcome-notifier": s.notHTTP}
	var byJob map[string]map[string]*dto.MetricFamily
	var missing []string
	// The consumer lag is first measured some seconds after the groups
	// got their partitions, and the outbox backlog is cached for seconds.
	ok := testenv.Eventually(45*time.Second, time.Second, func() bool {
		byJob = map[string]map[string]*dto.MetricFamily{}
		for job, a := range jobs {
			byJob[job] = scrape(t, a)
		}
		missing = unexported(t, queries, byJob)
		return len(missing) == 0 && value(byJob["sso"], "sso_outbox_pending_events", nil) == 0
	})
	if len(missing) > 0 {
		t.Fatalf("queried by the monitoring configuration but exported by no service:\n  %s", strings.Join(missing, "\n  "))
	}
	if !ok {
		t.Errorf("sso_outbox_pending_events = %v after the event was delivered, want 0",
			value(byJob["sso"], "sso_outbox_pending_events", nil))
	}

	// The registration moved the numbers on its way through.
	loyaltyGroup, notifierGroup := "e2e-loyalty-"+s.suffix, "e2e-notifier-"+s.suffix
	atLeast := []struct {
		job, name string
		labels    map[string]string
		min       float64
	}{
		{"sso", "grpc_server_handled_total", map[string]string{"grpc_service": "sso.v1.AuthService", "grpc_method": "Register", "grpc_code": "OK"}, 1},
		{"sso", "grpc_server_handling_seconds", map[string]string{"grpc_service": "sso.v1.AuthService", "grpc_method": "Register"}, 1},
		{"sso", "http_server_requests_total", map[string]string{"route": "/v1/auth/register", "method": "POST", "code": "200"}, 1},
		{"sso", "http_server_requests_total", map[string]string{"route": "/v1/users/me", "method": "GET", "code": "200"}, 1},
		{"sso", "sso_tokens_issued_total", map[string]string{"kind": "access"}, 1},
		{"sso", "sso_password_hash_duration_seconds", map[string]string{"op": "hash"}, 1},
		{"sso", "sso_outbox_deliveries_total", map[string]string{"outcome": "success"}, 1},
		{"loyalty-points", "loyalty_points_credited_total", map[string]string{"kind": "welcome_bonus"}, float64(s.bonus)},
		{"loyalty-points", "kafka_consumer_processed_total", map[string]string{"group": loyaltyGroup, "topic": s.topic}, 1},
		{"loyalty-points", "kafka_consumer_processing_seconds", map[string]string{"group": loyaltyGroup, "topic": s.topic}, 1},
		{"loyalty-points", "grpc_server_handled_total", map[string]string{"grpc_service": "loyalty.v1.LoyaltyService", "grpc_method": "GetAccount"}, 1},
		{"loyalty-points", "http_server_requests_total", map[string]string{"route": "/v1/loyalty/accounts/{user_id}", "method": "GET"}, 1},
		{"welcome-notifier", "welcome_notifier_mails_total", map[string]string{"outcome": "sent"}, 1},
		{"welcome-notifier", "kafka_consumer_processed_total", map[string]string{"group": notifierGroup, "topic": s.topic}, 1},
		{"welcome-notifier", "kafka_consumer_lag", map[string]string{"group": notifierGroup, "topic": s.topic}, 0},
		{"welcome-notifier", "http_server_requests_total", map[string]string{"route": "/readyz", "method": "GET", "code": "200"}, 1},
	}
	for _, w := range atLeast {
		if v := value(byJob[w.job], w.name, w.labels); v < w.min {
			t.Errorf("%s: %s%v = %v, want at least %v", w.job, w.name, w.labels, v, w.min)
		}
	}
	// Raw paths never become labels.
	for job, families := range byJob {
		for _, m := range families["http_server_requests_total"].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" && strings.Contains(l.GetValue(), userID) {
					t.Errorf("%s: route label %q holds a user id", job, l.GetValue())
				}
			}
		}
	}

	// The check itself catches a metric nobody exports.
	bogus := []query{{"made up", `sum(rate(ssokit_no_such_metric_total[5m])) / sum(go_goroutines{job="sso"})`}}
	if got := unexported(t, bogus, byJob); len(got) != 1 || !strings.HasPrefix(got[0], "ssokit_no_such_metric_total") {
		t.Errorf("unexported(made-up query) = %v, want only the made-up metric", got)
	}
	wrongJob := []query{{"wrong job", `sso_outbox_pending_events{job="loyalty-points"}`}}
	if got := unexported(t, wrongJob, byJob); len(got) != 1 {
		t.Errorf("unexported(a job that does not export the metric) = %v, want it reported", got)
	}
}
