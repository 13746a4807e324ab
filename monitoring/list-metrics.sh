#!/usr/bin/env bash
# monitoring/list-metrics.sh: print every metric name that an alert rule or a
# Grafana dashboard queries, one per line, sorted. monitoring/metrics.txt is
# this output (committed), and monitoring/check.sh fails when it is stale.
#
#   monitoring/list-metrics.sh              print the list
#   monitoring/list-metrics.sh -w           rewrite monitoring/metrics.txt
#   monitoring/list-metrics.sh --self-test  run the extractor's tests on tricky PromQL
#
# The extractor is Go (services/e2e/internal/promql): the end-to-end test
# that checks every queried metric is exported by a service reads the
# queries with the same code, so the list and the check cannot disagree.
# Names are the ones a /metrics page shows as a family: a histogram's
# _bucket, _sum and _count series are listed under their base name. Series
# Prometheus makes itself (up, scrape_*, ALERTS*) are left out, and a
# selector by {__name__=~"..."} is refused, since it cannot be listed.
set -euo pipefail

MON_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_DIR=$MON_DIR/../services/e2e

case ${1:-} in
"") args=() ;;
-w) args=(-w) ;;
--self-test)
	cd "$E2E_DIR"
	GOWORK=off go test -count=1 ./internal/promql
	exit
	;;
*)
	echo "usage: $0 [-w | --self-test]" >&2
	exit 2
	;;
esac

cd "$E2E_DIR"
GOWORK=off go run ./cmd/list-metrics -monitoring "$MON_DIR" "${args[@]}"
