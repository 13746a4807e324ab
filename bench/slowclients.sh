#!/usr/bin/env bash
# Resident memory of sso under slow clients, this tree against an older
# commit: builds both, runs each on spare ports against the local stack (a
# database and a Redis prefix of its own, dropped afterwards) and runs
# cmd/slowclients against it, one fresh process per scenario.
#
#   bench/slowclients.sh [OLD_COMMIT]   # default: HEAD~1
#
# Output: .local/bench/slowclients/<timestamp>/<binary>-<scenario>.txt,
# and the summary lines on stdout.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
old=${1:-HEAD~1}
http_addr=${SLOWCLIENTS_HTTP_ADDR:-127.0.0.1:18096}
grpc_addr=${SLOWCLIENTS_GRPC_ADDR:-127.0.0.1:18097}
db=sso_slowclients_$$
prefix="sso-slowclients-$$:"
out="$root/.local/bench/slowclients/$(date -u +%Y%m%dT%H%M%SZ)"
work=$(mktemp -d)
# Both PostgreSQL nodes (Patroni): the one accepting writes, or a standby.
pgq='sslmode=disable&host=127.0.0.1,127.0.0.1&port=5432,5433&connect_timeout=2'
pg() { psql -q "postgres://postgres:postgres@/postgres?$pgq&target_session_attrs=read-write" -c "$1" >/dev/null; }

pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	pg "DROP DATABASE IF EXISTS $db" || true
	redis-cli --scan --pattern "$prefix*" | xargs -r -n 100 redis-cli del >/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$out" "$work/old"
git -C "$root" archive "$old" | tar -x -C "$work/old"
(cd "$work/old/services/sso" && GOWORK=off go build -o "$work/sso-old" ./cmd/sso)
(cd "$root/services/sso" && GOWORK=off go build -o "$work/sso-new" ./cmd/sso)
(cd "$root/bench" && GOWORK=off go build -o "$work/slowclients" ./cmd/slowclients)
pg "CREATE DATABASE $db"
# sso seals one-time tokens with a key ring it refuses to start without.
(umask 077 && printf 'bench %s\n' "$(head -c32 /dev/urandom | base64 -w0)" >"$work/sealing-keys")

start() {
	SSO_HTTP_ADDR=$http_addr SSO_GRPC_ADDR=$grpc_addr SSO_LOG_LEVEL=warn \
		SSO_DB_PRIMARY_DSN="postgres://postgres:postgres@/$db?$pgq&target_session_attrs=read-write" \
		SSO_DB_REPLICA_DSN="postgres://postgres:postgres@/$db?$pgq&target_session_attrs=prefer-standby" \
		SSO_REDIS_KEY_PREFIX=$prefix SSO_JWT_KEYS_DIR="$work/keys" SSO_USER_EVENTS_TOPIC="sso-slowclients-$$" \
		SSO_ACCOUNT_EVENTS_TOPIC="sso-slowclients-account-$$" SSO_SEALING_KEYS_FILE="$work/sealing-keys" \
		SSO_AUDIT_EVENTS_TOPIC="sso-slowclients-audit-$$" SSO_AUDIT_GROUP_ID="sso-slowclients-audit-$$" \
		"$work/$1" >"$out/$1.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		curl -sf -o /dev/null "http://$http_addr/readyz" && break
		sleep 0.1
	done
	# Warm up: the first requests grow the runtime's pools; idle is after.
	for _ in $(seq 20); do
		curl -s -o /dev/null -H 'Content-Type: application/json' -d '{"token":"x"}' "http://$http_addr/v1/auth/validate"
	done
	sleep 2
}

stop() { kill "$pid"; wait "$pid" || true; pid=""; }

scenario() { # binary name slowclients-flags...
	local bin=$1 name=$2
	shift 2
	start "$bin"
	"$work/slowclients" -addr "$http_addr" -pid "$pid" "$@" >"$out/$bin-$name.txt"
	stop
	echo "== $bin $name ($*)"
	tail -3 "$out/$bin-$name.txt"
}

for bin in sso-old sso-new; do
	scenario "$bin" trickle-2mib -n 200 -body $((2 << 20)) -duration 40s
	scenario "$bin" trickle-64kib -n 200 -body $(((64 << 10) - 1)) -duration 40s
	scenario "$bin" withhold -n 200 -withhold -duration 30s
done
scenario sso-new withhold-over-cap -n 600 -withhold -duration 30s
echo "results in $out"
