// Command list-metrics prints every metric family that an alert rule or a
// Grafana dashboard under monitoring/ queries, one per line, sorted: the
// contents of monitoring/metrics.txt (monitoring/list-metrics.sh runs it).
//
//	list-metrics -monitoring DIR        print the list
//	list-metrics -monitoring DIR -w     rewrite DIR/metrics.txt
//
// A histogram's _bucket, _sum and _count series are listed under their base
// name; series Prometheus makes itself (up, scrape_*, ALERTS*) are left out.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ssokit/platform/services/e2e/internal/promql"
)

func main() {
	dir := flag.String("monitoring", "monitoring", "the monitoring/ folder to read")
	write := flag.Bool("w", false, "rewrite metrics.txt in that folder instead of printing")
	flag.Parse()
	if err := run(*dir, *write); err != nil {
		fmt.Fprintln(os.Stderr, "list-metrics:", err)
		os.Exit(1)
	}
}

func run(dir string, write bool) error {
	queries, err := promql.Queries(dir, filepath.Dir(filepath.Clean(dir)))
	if err != nil {
		return err
	}
	names, err := promql.Names(queries)
	if err != nil {
		return err
	}
	out := strings.Join(names, "\n") + "\n"
	if write {
		return os.WriteFile(filepath.Join(dir, "metrics.txt"), []byte(out), 0o644)
	}
	_, err = os.Stdout.WriteString(out)
	return err
}
