package e2e_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ssokit/platform/libs/testenv"
	"github.com/ssokit/platform/services/e2e/internal/promql"
)

// monitoringQueries reads every query of the alert rules and Grafana
// dashboards under monitoring/.
func monitoringQueries(t *testing.T) []promql.Query {
	t.Helper()
	queries, err := promql.Queries(filepath.Join(repoRoot(), "monitoring"), repoRoot())
	if err != nil {
		t.Fatal(err)
	}
	return queries
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

// counter returns the sum of every series of the counter name in families
// (zero when none has been written yet).
func counter(families map[string]*dto.MetricFamily, name string) float64 {
	var sum float64
	for _, m := range families[name].GetMetric() {
		sum += m.GetCounter().GetValue()
	}
	return sum
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
func unexported(t *testing.T, queries []promql.Query, byJob map[string]map[string]*dto.MetricFamily) []string {
	t.Helper()
	var missing []string
	for _, q := range queries {
		sels, err := promql.Selectors(q.Expr)
		if err != nil {
			t.Fatalf("%s: %v", q.Where, err)
		}
		for _, sel := range sels {
			if families, known := byJob[sel.Job]; sel.Job != "" && known {
				if !exports(families, sel.Name) {
					missing = append(missing, fmt.Sprintf("%s (job %s): %s", sel.Name, sel.Job, q.Where))
				}
				continue
			}
			var found bool
			for _, families := range byJob {
				found = found || exports(families, sel.Name)
			}
			if !found {
				missing = append(missing, fmt.Sprintf("%s: %s", sel.Name, q.Where))
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
		return s.eventStatus(t, access) == successful && welcomeMailCount(t, addr) == 1 && s.balance(t, userID, access) == s.bonus
	}) {
		t.Fatalf("registration not delivered: status %q, %d mails, balance %d\nloyalty-points:\n%s",
			s.eventStatus(t, access), welcomeMailCount(t, addr), s.balance(t, userID, access), s.logs("loyalty-points"))
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
	bogus := []promql.Query{{Where: "made up", Expr: `sum(rate(ssokit_no_such_metric_total[5m])) / sum(go_goroutines{job="sso"})`}}
	if got := unexported(t, bogus, byJob); len(got) != 1 || !strings.HasPrefix(got[0], "ssokit_no_such_metric_total") {
		t.Errorf("unexported(made-up query) = %v, want only the made-up metric", got)
	}
	wrongJob := []promql.Query{{Where: "wrong job", Expr: `sso_outbox_pending_events{job="loyalty-points"}`}}
	if got := unexported(t, wrongJob, byJob); len(got) != 1 {
		t.Errorf("unexported(a job that does not export the metric) = %v, want it reported", got)
	}
}
