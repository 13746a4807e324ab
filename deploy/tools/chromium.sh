#!/usr/bin/env bash
# chromium.sh installs Debian's chromium package, the headless browser the
# end-to-end test of the hosted login pages (services/e2e) drives through
# chromedp. It is idempotent: a chromium that already runs is left alone,
# so a second run costs one version check and touches no package list.
#
# Usage: deploy/tools/chromium.sh
# Prints the browser's path on standard output; the tests look for it in
# SSO_E2E_CHROMIUM (default /usr/bin/chromium).
set -euo pipefail

log() { printf 'chromium: %s\n' "$*" >&2; }

bin="${SSO_E2E_CHROMIUM:-/usr/bin/chromium}"

if "$bin" --headless --no-sandbox --version >/dev/null 2>&1; then
	printf '%s\n' "$bin"
	exit 0
fi

if ((EUID != 0)); then
	log "$bin does not run; installing the chromium package needs root (Debian: apt-get install chromium)"
	exit 1
fi
log "installing the Debian package chromium"
DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null
"$bin" --headless --no-sandbox --version >/dev/null
printf '%s\n' "$bin"
