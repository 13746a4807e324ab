package promql_test

import (
	"slices"
	"testing"

	"github.com/ssokit/platform/services/e2e/internal/promql"
)

func TestSelectors(t *testing.T) {
	tests := []struct {
		expr string
		want []promql.Selector
	}{
		{`sum by (job, le) (rate(grpc_server_handling_seconds_bucket{job="sso", le="0.1"}[5m]))`,
			[]promql.Selector{{"grpc_server_handling_seconds_bucket", "sso"}}},
		{`up == 0`, nil},
		{`up{job=~"sso|loyalty-points"} == 0`, nil},
		{`sum(go_goroutines)`, []promql.Selector{{Name: "go_goroutines"}}},
		{`process_resident_memory_bytes{job="$job", instance=~"$instance"}`, []promql.Selector{{Name: "process_resident_memory_bytes"}}},
		{`a_total{x="y"} / on (job) group_left (instance) b_total and c offset 5m`,
			[]promql.Selector{{Name: "a_total"}, {Name: "b_total"}, {Name: "c"}}},
		{`histogram_quantile(0.99, sum without (instance) (rate(h_seconds_bucket[$__rate_interval])))`,
			[]promql.Selector{{Name: "h_seconds_bucket"}}},
		{`rate(x_total{code=~"5..|sum(y)"}[5m]) > bool 1e3`, []promql.Selector{{Name: "x_total"}}},
		{`rate(x_total[1h:5m]) * 1e-3 + 0x1F - .5`, []promql.Selector{{Name: "x_total"}}},
		{`label_values(up{job="$job"}, instance)`, nil},
		{`label_values(kafka_consumer_lag, group)`, []promql.Selector{{Name: "kafka_consumer_lag"}}},
		{`label_values(job)`, nil},
		{`{__name__="by_name_total", job="loyalty-points"}`, []promql.Selector{{"by_name_total", "loyalty-points"}}},
		{`max_over_time(g[1h:5m]) unless g2 offset 1h`, []promql.Selector{{Name: "g"}, {Name: "g2"}}},
		{`count(q_count) * 60 + sum(r_sum)`, []promql.Selector{{Name: "q_count"}, {Name: "r_sum"}}},
		{"topk(3, sum by (m) (rate(t_total[5m])))  # a comment naming fake_metric\n", []promql.Selector{{Name: "t_total"}}},
		{`ALERTS{alertname="x"} or scrape_duration_seconds`, nil},
		{`sum by (job) (k_total unless k_total offset 10m) > 0`, []promql.Selector{{Name: "k_total"}, {Name: "k_total"}}},
		{"max by (job) (\n  delta(sso_outbox_pending_events{job='sso'}[10m])\n) > 0",
			[]promql.Selector{{"sso_outbox_pending_events", "sso"}}},
		{`label_replace(m_total, "dst", "$1", "src", "(.*)")`, []promql.Selector{{Name: "m_total"}}},
		{`rate(w_total{job="welcome-notifier"}[[[interval]]])`, []promql.Selector{{"w_total", "welcome-notifier"}}},
	}
	for _, tt := range tests {
		got, err := promql.Selectors(tt.expr)
		if err != nil {
			t.Errorf("promql.Selectors(%q): %v", tt.expr, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("promql.Selectors(%q) = %v, want %v", tt.expr, got, tt.want)
		}
	}
	for _, bad := range []string{`{__name__=~"go_.*"}`, `x{job="sso"`, `x{job="sso}`, `{job="sso"}`} {
		if got, err := promql.Selectors(bad); err == nil {
			t.Errorf("promql.Selectors(%q) = %v, want an error", bad, got)
		}
	}
}

func TestNamesListsFamiliesOnce(t *testing.T) {
	got, err := promql.Names([]promql.Query{
		{Where: "a", Expr: `histogram_quantile(0.99, sum by (le) (rate(h_seconds_bucket[5m])))`},
		{Where: "b", Expr: `count(q_count) * 60 + sum(r_sum) / sum(h_seconds_count{job="sso"})`},
		{Where: "c", Expr: `up == 0 or absent(go_goroutines)`},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"go_goroutines", "h_seconds", "q", "r"}; !slices.Equal(got, want) {
		t.Errorf("Names = %v, want %v", got, want)
	}
	if _, err := promql.Names([]promql.Query{{Where: "rule X", Expr: `{__name__=~"go_.*"}`}}); err == nil {
		t.Error("Names accepted a selector it cannot list")
	}
}
