#!/usr/bin/env bash
# monitoring/check.sh: validate the monitoring configuration and the Docker
# deployment files without running Prometheus, Grafana or Docker. Exits
# non-zero when any check fails, after running all of them, and ends with a
# list of what failed.
#
#   monitoring/check.sh                 every check
#   monitoring/check.sh SECTION...      only these sections:
#     prometheus  promtool check config (native and compose variants), check
#                 rules, test rules; alert conventions (severity, summary,
#                 description, runbook section, a firing and a silent test
#                 per alert); the compose config is the native one with
#                 service DNS names
#     dashboards  every Grafana dashboard parses as JSON, has a unique uid,
#                 schemaVersion >= 39, datasource uid "prometheus", a sane
#                 grid; every query (Grafana variables filled in) parses as
#                 PromQL (promtool); the provisioning files parse
#     metrics     monitoring/metrics.txt equals list-metrics.sh's output, and
#                 the extractor passes its self-test
#     compose     deploy/compose/compose.yaml is a valid Compose file (docker
#                 compose config, or the Compose Specification's reference
#                 loader compose-go when the compose plugin is missing), and
#                 every environment variable it (or a service Dockerfile) sets
#                 for sso, loyalty-points and welcome-notifier is one the
#                 service reads (env tags in services/<name>/internal/config)
#     docker      each services/<name>/Dockerfile's build stage run natively:
#                 context selected by its .dockerignore, its COPY layout and
#                 its exact RUN commands (go mod download, CGO go build);
#                 the runtime stage copies what was built, the binary links
#                 only glibc (distroless/base has nothing else)
#
# Installs what it needs when missing (Debian packages through
# deploy/local/lib/common.sh ensure_packages: prometheus for promtool,
# python3-yaml; compose-go through the Go module proxy).
set -uo pipefail

MON_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$MON_DIR/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../deploy/local/lib/common.sh
source "$REPO_ROOT/deploy/local/lib/common.sh"

COMPOSE_FILE=$REPO_ROOT/deploy/compose/compose.yaml
# The Compose Specification's reference implementation, used to validate
# compose.yaml when the docker compose plugin is not installed.
COMPOSE_GO=github.com/compose-spec/compose-go/v2/cmd@v2.16.2
DOCKER_SERVICES=(sso loyalty-points welcome-notifier)

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

FAILED=()
PASSED=0

# check runs one named check, prints its output and remembers the verdict.
check() {
	local name=$1
	shift
	printf '\n--- %s\n' "$name"
	if "$@"; then
		printf 'ok   %s\n' "$name"
		PASSED=$((PASSED + 1))
	else
		printf 'FAIL %s\n' "$name"
		FAILED+=("$name")
	fi
}

PY=
# need_tools installs promtool and python3 + PyYAML when missing.
need_tools() {
	mkdir -p "$LOG_DIR"
	command -v promtool >/dev/null 2>&1 || ensure_packages prometheus
	local py
	for py in python3 /usr/bin/python3; do
		if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import yaml' 2>/dev/null; then
			PY=$py
			return 0
		fi
	done
	ensure_packages python3 python3-yaml
	PY=/usr/bin/python3
}

checks_py() { "$PY" "$MON_DIR/lib/checks.py" "$@"; }

yaml_parses() {
	local f
	for f in "$@"; do
		"$PY" -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' "$f" || {
			echo "  $f: not valid YAML"
			return 1
		}
		echo "  ${f#"$REPO_ROOT"/}: valid YAML"
	done
}

# ---- prometheus ---------------------------------------------------------------
section_prometheus() {
	local p=$MON_DIR/prometheus
	check "promtool check config prometheus.yml" promtool check config "$p/prometheus.yml"
	check "promtool check config prometheus.compose.yml" promtool check config "$p/prometheus.compose.yml"
	check "promtool check rules alerts.yml" promtool check rules "$p/rules/alerts.yml"
	check "promtool test rules alerts_test.yml" promtool test rules "$p/rules/alerts_test.yml"
	check "alert conventions and test coverage" checks_py rules-meta "$p/rules/alerts.yml" "$p/rules/alerts_test.yml" "$MON_DIR/RUNBOOK.md"
	check "prometheus.compose.yml matches prometheus.yml" checks_py prom-drift "$p/prometheus.yml" "$p/prometheus.compose.yml"
}

# ---- dashboards ----------------------------------------------------------------
dashboards_json() {
	local f rc=0
	for f in "$MON_DIR"/grafana/dashboards/*.json; do
		if "$PY" -m json.tool "$f" >/dev/null; then
			echo "  ${f#"$MON_DIR"/}: valid JSON"
		else
			echo "  ${f#"$MON_DIR"/}: not valid JSON"
			rc=1
		fi
	done
	return $rc
}

section_dashboards() {
	check "dashboards parse as JSON" dashboards_json
	check "dashboard structure" checks_py dashboards "$MON_DIR/grafana/dashboards" "$WORK/dashboard-queries.yml"
	if [[ -s $WORK/dashboard-queries.yml ]]; then
		check "dashboard queries parse as PromQL (promtool)" promtool check rules "$WORK/dashboard-queries.yml"
	fi
	check "grafana provisioning parses" yaml_parses \
		"$MON_DIR/grafana/provisioning/datasources/prometheus.yml" \
		"$MON_DIR/grafana/provisioning/dashboards/dashboards.yml"
}

# ---- metrics -------------------------------------------------------------------
metrics_current() {
	local want=$WORK/metrics.txt
	"$MON_DIR/list-metrics.sh" >"$want" || return 1
	if ! diff -u "$MON_DIR/metrics.txt" "$want"; then
		echo "  monitoring/metrics.txt is stale: run monitoring/list-metrics.sh -w"
		return 1
	fi
	echo "  $(wc -l <"$want") metric names, metrics.txt up to date"
}

section_metrics() {
	check "list-metrics.sh self-test" "$MON_DIR/list-metrics.sh" --self-test
	check "metrics.txt up to date" metrics_current
}

# ---- compose -------------------------------------------------------------------
# compose_model writes the normalized Compose model as JSON to $1, validating
# the file on the way.
compose_model() {
	local out=$1
	if docker compose version >/dev/null 2>&1; then
		echo "  validating with $(docker compose version)"
		docker compose -f "$COMPOSE_FILE" config -q &&
			docker compose -f "$COMPOSE_FILE" config --format json >"$out"
	else
		echo "  docker compose plugin not available: validating with compose-go ($COMPOSE_GO)"
		# Run from the file's folder: like docker compose, compose-go resolves
		# relative paths (build contexts, bind mounts) against it.
		(cd "$(dirname "$COMPOSE_FILE")" && GOWORK=off GOFLAGS=-mod=mod go run "$COMPOSE_GO" --format json "$COMPOSE_FILE") >"$out"
	fi
}

section_compose() {
	local model=$WORK/compose.json
	check "compose.yaml is a valid Compose file" compose_model "$model"
	if [[ -s $model ]]; then
		check "compose environment is read by the services" checks_py compose "$model" "$REPO_ROOT"
	fi
}

# ---- docker --------------------------------------------------------------------
docker_probe() {
	local f=$REPO_ROOT/deploy/compose/healthcheck/main.go
	local unformatted
	unformatted=$(gofmt -l "$f") || return 1
	[[ -z $unformatted ]] || {
		echo "  gofmt needed: $unformatted"
		return 1
	}
	(cd "$(dirname "$f")" && GOWORK=off go vet main.go) || return 1
	echo "  ${f#"$REPO_ROOT"/}: gofmt clean, go vet ok"
}

section_docker() {
	check "container probe (healthcheck/main.go)" docker_probe
	local s
	for s in "${DOCKER_SERVICES[@]}"; do
		check "services/$s/Dockerfile build stage, run natively" \
			checks_py dockerfile "$REPO_ROOT/services/$s/Dockerfile" "$REPO_ROOT" "$WORK/docker-$s"
		rm -rf "$WORK/docker-$s"
	done
}

# ---- main ----------------------------------------------------------------------
main() {
	local sections=("$@") s
	((${#sections[@]})) || sections=(prometheus dashboards metrics compose docker)
	for s in "${sections[@]}"; do
		case $s in
		prometheus | dashboards | metrics | compose | docker) ;;
		*)
			echo "usage: $0 [prometheus|dashboards|metrics|compose|docker]..." >&2
			exit 2
			;;
		esac
	done
	need_tools
	for s in "${sections[@]}"; do
		printf '\n=== %s\n' "$s"
		"section_$s"
	done
	printf '\n=== summary\n'
	if ((${#FAILED[@]})); then
		printf 'FAILED: %s\n' "${FAILED[@]}"
		printf 'monitoring: %d passed, %d failed\n' "$PASSED" "${#FAILED[@]}"
		exit 1
	fi
	printf 'monitoring: %d passed, 0 failed\n' "$PASSED"
}

main "$@"
