#!/usr/bin/env bash
# swagger-ui.sh vendors the Swagger UI assets that libs/swaggerui embeds:
# it fetches the npm package swagger-ui-dist at the pinned version below into
# the git-ignored .local/cache, checks the tarball against the pinned
# integrity (the package's dist.integrity, a base64 sha512), and copies only
# the files the UI needs into libs/swaggerui/dist, which is committed, so
# building a service needs neither npm nor the network.
#
# To move to another version: set swagger_ui_version, put the output of
#   npm view swagger-ui-dist@<version> dist.integrity
# into swagger_ui_integrity, run this script, run the libs/swaggerui tests and
# look at /swagger/ of a running service.
#
# Usage: deploy/tools/swagger-ui.sh         (from any directory)
#        deploy/tools/swagger-ui.sh check   fail if libs/swaggerui/dist differs
#                                           from the pinned package
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

swagger_ui_version="5.35.0"
# dist.integrity of swagger-ui-dist-5.35.0.tgz as published.
swagger_ui_integrity="sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ=="
# What libs/swaggerui serves: the UI bundle, its stylesheet, the standalone
# preset (the top bar that switches between several documents), the icon,
# and the license and notice the Apache-2.0 license asks to ship along.
files=(swagger-ui-bundle.js swagger-ui-standalone-preset.js swagger-ui.css favicon-32x32.png LICENSE NOTICE)

dest="$root/libs/swaggerui/dist"
cache="$root/.local/cache/swagger-ui-dist"
tarball="$cache/swagger-ui-dist-$swagger_ui_version.tgz"

log() { printf 'swagger-ui: %s\n' "$*" >&2; }

integrity() {
	printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 | tr -d '\n')"
}

fetch() {
	if [[ ! -f "$tarball" ]]; then
		command -v npm >/dev/null || {
			log "npm is needed to fetch swagger-ui-dist"
			exit 1
		}
		log "fetching swagger-ui-dist@$swagger_ui_version (npm)"
		mkdir -p "$cache"
		(cd "$cache" && npm pack --silent "swagger-ui-dist@$swagger_ui_version" >/dev/null)
	fi
	local got
	got="$(integrity "$tarball")"
	if [[ "$got" != "$swagger_ui_integrity" ]]; then
		rm -f "$tarball"
		log "integrity mismatch for $tarball (removed): want $swagger_ui_integrity, got $got"
		exit 1
	fi
}

# unpack DIR extracts the vendored files of the verified tarball into DIR.
unpack() {
	local f members=()
	for f in "${files[@]}"; do
		members+=("package/$f")
	done
	tar -xzf "$tarball" -C "$1" "${members[@]}"
}

command -v openssl >/dev/null || {
	log "openssl is needed to check the tarball"
	exit 1
}
fetch
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
unpack "$tmp"

if [[ ${1:-} == check ]]; then
	status=0
	for f in "${files[@]}"; do
		if ! cmp -s "$tmp/package/$f" "$dest/$f"; then
			log "libs/swaggerui/dist/$f differs from swagger-ui-dist@$swagger_ui_version"
			status=1
		fi
	done
	if [[ "$(cat "$dest/VERSION" 2>/dev/null)" != "$swagger_ui_version" ]]; then
		log "libs/swaggerui/dist/VERSION is not $swagger_ui_version"
		status=1
	fi
	((status == 0)) && log "libs/swaggerui/dist matches swagger-ui-dist@$swagger_ui_version"
	exit "$status"
fi

rm -rf "$dest"
mkdir -p "$dest"
for f in "${files[@]}"; do
	install -m 0644 "$tmp/package/$f" "$dest/$f"
done
echo "$swagger_ui_version" >"$dest/VERSION"
log "copied ${files[*]} (swagger-ui-dist@$swagger_ui_version) into libs/swaggerui/dist"
