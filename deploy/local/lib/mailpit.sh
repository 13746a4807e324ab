# shellcheck shell=bash
# Mailpit: an SMTP server on :1025 that keeps every message, with a web UI
# and REST API on :8025 that tests use to check that a mail arrived. Built
# from its Go module with `go install` (no prebuilt binary is downloaded).

MAILPIT_VERSION=v1.33.1
MAILPIT_SMTP_PORT=1025
MAILPIT_HTTP_PORT=8025

MAILPIT_BIN_DIR=$CACHE_DIR/mailpit-$MAILPIT_VERSION
MAILPIT_BIN=$MAILPIT_BIN_DIR/mailpit
MAILPIT_DIR=$STATE_DIR/mailpit
MAILPIT_PID=$RUN_DIR/mailpit.pid
MAILPIT_LOG=$LOG_DIR/mailpit.log
MAILPIT_FETCH_LOG=$LOG_DIR/mailpit-fetch.log
MAILPIT_API_URL=http://$HOST:$MAILPIT_HTTP_PORT

mailpit_packages() { echo curl; }

# go_bin finds the Go toolchain; CI's PATH may lack /usr/local/go/bin.
go_bin() {
	command -v go 2>/dev/null || { [[ -x /usr/local/go/bin/go ]] && echo /usr/local/go/bin/go; }
}

mailpit_fetched() { [[ -x $MAILPIT_BIN ]]; }

# mailpit_fetch builds the binary into the cache (about two minutes cold on
# two cores, seconds once the module and build caches are warm). GOWORK=off
# and an empty GOFLAGS keep the repository's workspace out of the build.
mailpit_fetch() {
	mailpit_fetched && return 0
	local go
	go=$(go_bin) || {
		echo "go toolchain not found (needed to build mailpit)" >&2
		return 1
	}
	mkdir -p "$MAILPIT_BIN_DIR"
	(cd / && GOWORK=off GOFLAGS='' GOBIN="$MAILPIT_BIN_DIR" "$go" install "github.com/axllent/mailpit@$MAILPIT_VERSION")
}

mailpit_healthy() {
	curl -fsS -m 3 "$MAILPIT_API_URL/api/v1/info" 2>/dev/null | grep -q '"Version"'
}

# mailpit_start keeps its database under the state dir (bounded: Mailpit
# prunes to its default 500 newest messages). SMTP auth is optional: any
# credentials, or none, are accepted, over plain text on loopback, so a
# service configured with or without SMTP auth works unchanged. The release
# check is off: it calls out to the internet, which is not reachable here.
mailpit_start() {
	if pidfile_alive "$MAILPIT_PID" "$MAILPIT_BIN"; then return 0; fi
	mailpit_fetched || fail_component mailpit "$MAILPIT_FETCH_LOG" "mailpit binary is not at $MAILPIT_BIN"
	require_port_free mailpit "$MAILPIT_SMTP_PORT"
	require_port_free mailpit "$MAILPIT_HTTP_PORT"
	mkdir -p "$MAILPIT_DIR"
	log "starting mailpit: smtp $HOST:$MAILPIT_SMTP_PORT, ui/api $MAILPIT_API_URL"
	spawn "$MAILPIT_PID" "$MAILPIT_LOG" "$MAILPIT_DIR" \
		"$MAILPIT_BIN" --smtp "$HOST:$MAILPIT_SMTP_PORT" --listen "$HOST:$MAILPIT_HTTP_PORT" \
		--database "$MAILPIT_DIR/mailpit.db" \
		--smtp-auth-accept-any --smtp-auth-allow-insecure --disable-version-check ||
		fail_component mailpit "$MAILPIT_LOG" "could not spawn mailpit"
}

mailpit_wait() {
	wait_until mailpit 30 "$MAILPIT_PID" "$MAILPIT_BIN" "$MAILPIT_LOG" mailpit_healthy
}

mailpit_stop() { stop_pidfile mailpit "$MAILPIT_PID" "$MAILPIT_BIN" 15; }

mailpit_status() {
	if mailpit_healthy; then
		status_line mailpit "$HOST:$MAILPIT_SMTP_PORT $MAILPIT_API_URL" healthy
	else
		status_line mailpit "$HOST:$MAILPIT_SMTP_PORT $MAILPIT_API_URL" down
		return 1
	fi
}

mailpit_where() { echo "mailpit smtp $HOST:$MAILPIT_SMTP_PORT, ui/api $MAILPIT_API_URL"; }
mailpit_clean() { rm -rf "$MAILPIT_DIR" "$MAILPIT_LOG" "$MAILPIT_FETCH_LOG" "$MAILPIT_PID"; }
