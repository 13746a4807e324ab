#!/usr/bin/env bash
# api-fuzz.sh checks that the running REST APIs keep to their OpenAPI
# documents (libs/gen/openapi): schemathesis generates requests from each
# document, valid ones and ones that break it, sends them to the running
# service and fails the run on any answer the document does not allow: a
# status code it does not list, a body that does not match its schema
# (every object is closed, additionalProperties false, so an undeclared
# property fails too), a 5xx, a malformed request that is accepted, or a
# method the path does not declare answered without 405 and Allow.
#
# Authenticated operations get the bearer token of a user this script
# registers on first use and logs in. Each API gets a time budget (API_FUZZ_SECONDS, default
# 60 s; logout a third of it), so the whole run stays under about three
# minutes.
#
# schemathesis (pinned below) is installed once into the project's virtual
# environment, .local/venv, by python-venv.sh; later runs reuse it.
#
# Usage: deploy/tools/api-fuzz.sh            (the stack and services up:
#                                             go tool task up)
# Env:   SSO_HTTP_ADDR      (default 127.0.0.1:8000)
#        LOYALTY_HTTP_ADDR  (default 127.0.0.1:8001)
#        API_FUZZ_SECONDS   time budget per API
#        API_FUZZ_SEED      fixed seed, to replay a run
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

schemathesis_version="4.32.5"
venv="$root/.local/venv"
reports="$root/.local/api-fuzz"
sso="http://${SSO_HTTP_ADDR:-127.0.0.1:8000}"
loyalty="http://${LOYALTY_HTTP_ADDR:-127.0.0.1:8001}"
budget="${API_FUZZ_SECONDS:-60}"

log() { printf 'api-fuzz: %s\n' "$*" >&2; }

install_schemathesis() {
	"$root/deploy/tools/python-venv.sh" "schemathesis==$schemathesis_version"
}

# session [EMAIL] prints "<access token> <user id>" of a fresh session of
# the fuzzing user (or of EMAIL's). It logs in to one stable account
# (registered on first use), so reruns do not pile up accounts; when the
# client address is throttled for logins (the fuzzing of login leaves many
# failures behind), it registers a fresh account instead, which starts a
# session too.
session() {
	local email="${1:-api-fuzz@example.test}" password="api-fuzz correct horse staple" creds body
	creds="{\"email\":\"$email\",\"password\":\"$password\"}"
	curl -sS -o /dev/null -X POST "$sso/v1/auth/register" -H 'Content-Type: application/json' -d "$creds" || {
		log "cannot reach sso at $sso (is the stack up? go tool task up)"
		exit 1
	}
	if ! body="$(curl -fsS -X POST "$sso/v1/auth/login" -H 'Content-Type: application/json' -d "$creds" 2>/dev/null)"; then
		email="api-fuzz-$(date +%s)-$RANDOM@example.test"
		body="$(curl -sS -X POST "$sso/v1/auth/register" -H 'Content-Type: application/json' \
			-d "{\"email\":\"$email\",\"password\":\"$password\"}")"
	fi
	"$venv/bin/python" -c '
import json, sys
b = json.load(sys.stdin)
if "access_token" not in b:
    sys.exit("api-fuzz: no session for the fuzzing user (login and registration refused; an earlier run may have left this address throttled): %s" % b)
print(b["access_token"], b["user_id"])' <<<"$body"
}

# write_config makes half of the generated user_id path parameters the
# registered user's own id, so the calls it may make (its account, its
# admin flag) succeed and their answers are checked too; the other half
# stay random (403 or 400).
write_config() {
	mkdir -p "$reports"
	cat >"$reports/schemathesis.toml" <<-EOF
		[dictionaries.me]
		values = ["$user_id"]

		[parameters]
		"path.user_id" = { dictionary = "me", probability = 0.5 }
	EOF
}

# fuzz NAME DOCUMENT BASE_URL SECONDS [schemathesis options] runs
# schemathesis on one API, or the operations the options select.
fuzz() {
	local name=$1 doc=$2 url=$3 seconds=$4 seed=()
	shift 4
	[[ -n ${API_FUZZ_SEED:-} ]] && seed=(--seed "$API_FUZZ_SEED")
	log "$name: $doc against $url for at most ${seconds}s"
	# From the reports folder: schemathesis keeps its replay data in the
	# working directory.
	(cd "$reports" && "$venv/bin/schemathesis" --config-file "$reports/schemathesis.toml" run "$root/$doc" \
		--url "$url" \
		--header "Authorization: Bearer $token" \
		--checks all \
		--exclude-checks positive_data_acceptance,use_after_free,ensure_resource_availability,object_level_authorization \
		--phases examples,coverage,fuzzing \
		--max-time "$seconds" \
		--max-examples 60 \
		--request-timeout 10 \
		--workers 1 \
		--suppress-health-check all \
		--generation-with-security-parameters false \
		--generation-database none \
		--report junit --report-dir "$reports/$name" \
		--no-color \
		"${seed[@]}" "$@")
}

install_schemathesis
rc=0
# Logout revokes the access token it is sent with, and revoke-all every
# session of its user, which would turn every later authenticated call into
# a 401: they run last, on a session of another user, opened with the first
# before fuzzing throttles this address.
first="$(session)"
second="$(session api-fuzz-logout@example.test)"
read -r token user_id <<<"$first"
read -r logout_token _ <<<"$second"
write_config
fuzz sso libs/gen/openapi/sso.swagger.json "$sso" "$budget" \
	--exclude-path /v1/auth/logout --exclude-path /v1/users/me/sessions/revoke-all || rc=1
fuzz loyalty libs/gen/openapi/loyalty.swagger.json "$loyalty" "$budget" || rc=1
token=$logout_token
fuzz sso-logout libs/gen/openapi/sso.swagger.json "$sso" $((budget / 3 + 1)) \
	--include-path /v1/auth/logout --include-path /v1/users/me/sessions/revoke-all || rc=1
if ((rc != 0)); then
	log "FAILED: responses that contradict the OpenAPI documents (reports: $reports)"
	exit 1
fi
log "ok: no response contradicts the OpenAPI documents"
