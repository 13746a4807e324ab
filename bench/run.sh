#!/usr/bin/env bash
# bench/run.sh: benchmark the running stack and write a report under
# bench/results/<UTC timestamp>/ (report.json, report.md, latency.png) and
# bench/results/LATEST.md; the previous run becomes a line of
# bench/results/HISTORY.md and moves to .local/bench/results. Flags go to the
# bench command; see `bench/run.sh -h` and bench/README.md.
#
# The stack must be up (go tool task up). The whole run takes about five
# minutes with the defaults; its drain part stops and restarts Kafka
# (-drain-mode=inject leaves Kafka alone).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

for arg in "$@"; do
	case $arg in -h | -help | --help) skip_checks=1 ;; esac
done

if [[ -z ${skip_checks:-} ]]; then
	if ! deploy/local/stack status >/dev/null 2>&1 || ! deploy/local/services status sso >/dev/null 2>&1; then
		echo "bench: the stack is not up:" >&2
		deploy/local/stack status >&2 || true
		deploy/local/services status >&2 || true
		echo "bench: start it with 'go tool task up', then run the benchmark again" >&2
		exit 1
	fi
	if ! deploy/local/services status loyalty-points welcome-notifier >/dev/null 2>&1; then
		echo "bench: warning: the consumers are not both healthy; the pipeline part will report why it could not measure" >&2
	fi
fi

mkdir -p .local/bin
(cd bench && GOWORK=off go build -o "$ROOT/.local/bin/bench" ./cmd/bench)
exec "$ROOT/.local/bin/bench" -root "$ROOT" "$@"
