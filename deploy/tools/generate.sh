#!/usr/bin/env bash
# generate.sh regenerates libs/gen from proto/: Go messages, gRPC stubs,
# grpc-gateway handlers and one OpenAPI v2 document per API.
#
# The Buf Schema Registry is out of reach, so the third-party imports are
# fetched from package registries into the git-ignored proto/third_party:
#   google/api/{annotations,http,field_behavior}.proto from the npm package
#     google-proto-files (pinned version and checksum below), and
#   protoc-gen-openapiv2/options/*.proto from the grpc-gateway Go module at
#     the version deploy/tools/go.mod pins.
# Both are fetched once per pinned version and skipped while present. Then
# `buf lint` runs, the previous output is removed, `buf generate` runs and
# deploy/tools/openapi-contract completes the OpenAPI documents; every tool
# comes from deploy/tools/go.mod.
#
# Usage: deploy/tools/generate.sh        (from any directory)
#        deploy/tools/generate.sh deps   only fetch the third-party imports
#                                        (what `buf lint` needs on a clean clone)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
# The tools resolve through the workspace, even when the caller has set
# GOWORK=off to check a single module.
export GOWORK="$root/go.work"

google_proto_files_version="6.0.1"
# sha512 of google-proto-files-6.0.1.tgz as published (its dist.integrity).
google_proto_files_sha512="7dbbd4595361deb286955156c2550d17b4a4d536a1d1af3dab4dab2d35ec5a36ca28719eb944406bcb65f6bbeee53c969f2d58892228e5e0ea176eb44da8babd"
google_api_files=(annotations.proto http.proto field_behavior.proto)

third_party="$root/proto/third_party"
cache="$root/.local/cache/google-proto-files"

log() { printf 'generate: %s\n' "$*" >&2; }

# fresh DIR VERSION reports whether DIR was filled from VERSION; the stamp
# makes a version bump refetch instead of keeping stale files.
fresh() { [[ -f "$1/.version" && "$(<"$1/.version")" == "$2" ]]; }

fetch_google_api() {
	local dest="$third_party/google/api"
	if fresh "$dest" "google-proto-files@$google_proto_files_version"; then
		return
	fi
	command -v npm >/dev/null || {
		log "npm is needed to fetch google-proto-files"
		exit 1
	}

	local tarball="$cache/google-proto-files-$google_proto_files_version.tgz"
	if [[ ! -f "$tarball" ]]; then
		log "fetching google-proto-files@$google_proto_files_version (npm)"
		mkdir -p "$cache"
		(cd "$cache" && npm pack --silent "google-proto-files@$google_proto_files_version" >/dev/null)
	fi
	local sum
	sum="$(sha512sum "$tarball" | cut -d' ' -f1)"
	if [[ "$sum" != "$google_proto_files_sha512" ]]; then
		rm -f "$tarball"
		log "checksum mismatch for $tarball (removed): want $google_proto_files_sha512, got $sum"
		exit 1
	fi

	local tmp f members=()
	tmp="$(mktemp -d)"
	for f in "${google_api_files[@]}"; do
		members+=("package/google/api/$f")
	done
	tar -xzf "$tarball" -C "$tmp" "${members[@]}"
	rm -rf "$dest"
	mkdir -p "$dest"
	for f in "${google_api_files[@]}"; do
		install -m 0644 "$tmp/package/google/api/$f" "$dest/$f"
	done
	rm -rf "$tmp"
	echo "google-proto-files@$google_proto_files_version" >"$dest/.version"
	log "copied google/api/{annotations,http,field_behavior}.proto (google-proto-files@$google_proto_files_version)"
}

fetch_openapiv2_options() {
	local dest="$third_party/protoc-gen-openapiv2/options"
	# The version deploy/tools/go.mod pins, so the .proto files match the
	# plugin that reads them.
	local module=github.com/grpc-ecosystem/grpc-gateway/v2 version dir
	version="$(cd "$root/deploy/tools" && GOWORK=off go list -m -f '{{.Version}}' "$module")"
	if fresh "$dest" "$module@$version"; then
		return
	fi
	dir="$(cd "$root/deploy/tools" && GOWORK=off go mod download -json "$module@$version" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
	if [[ -z "$dir" || ! -d "$dir/protoc-gen-openapiv2/options" ]]; then
		log "cannot find $module@$version in the module cache"
		exit 1
	fi
	rm -rf "$dest"
	mkdir -p "$dest"
	install -m 0644 "$dir"/protoc-gen-openapiv2/options/*.proto "$dest/"
	echo "$module@$version" >"$dest/.version"
	log "copied protoc-gen-openapiv2/options/*.proto ($module@$version)"
}

fetch_google_api
fetch_openapiv2_options
[[ ${1:-} == deps ]] && exit 0

log "buf lint"
go tool buf lint

# Start from an empty output, so the code of a deleted or renamed .proto file
# disappears too. Only generated files go: libs/gen/openapi/openapi.go (the
# package that embeds the documents) is ours.
gen="$root/libs/gen"
if [[ -d "$gen" ]]; then
	find "$gen" -type f \( -name '*.pb.go' -o -name '*.pb.gw.go' -o -name '*.swagger.json' \) -delete
	find "$gen" -mindepth 1 -type d -empty -delete
fi

log "buf generate"
go tool buf generate
# The gateway's part of the REST contract: closed object schemas and its
# error body (see deploy/tools/openapi-contract).
(cd "$root/deploy/tools" && GOWORK=off go run ./openapi-contract "$gen"/openapi/*.swagger.json)
log "done: libs/gen"
