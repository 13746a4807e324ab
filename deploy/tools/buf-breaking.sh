#!/usr/bin/env bash
# buf-breaking.sh fails when proto/ breaks the wire or source compatibility
# of the main branch's protos (buf.yaml `breaking`: FILE rules, third-party
# files ignored).
#
# buf's own git input (`--against .git#branch=main`) cannot serve here: it
# builds the other tree as committed, and proto/third_party is git-ignored
# (fetched by generate.sh), so its imports would not resolve. Instead the
# main branch's proto/ and buf.yaml are exported with `git archive` into a
# scratch folder, given the same third-party files, and used as the
# `--against` directory.
#
# What "main" is, first match wins:
#   $BUF_BREAKING_AGAINST  any git revision, when set
#   main                   the local branch (a clone of this repository has it
#                          when main is what it checked out)
#   origin/main            a clone of another branch has only the remote one
#   HEAD~1                 a single-branch clone without main: at least the
#                          newest commit is checked, and the log says so
# When main is HEAD itself (CI on main), main's previous commit is the base
# instead: comparing a tree with itself would check nothing.
# With none of these (the first commit of a history) there is nothing to
# compare with, and the check says so and passes.
#
# Usage: deploy/tools/buf-breaking.sh   (from any directory)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
export GOWORK="$root/go.work"

log() { printf 'buf-breaking: %s\n' "$*" >&2; }

base=""
if [[ -n ${BUF_BREAKING_AGAINST:-} ]]; then
	base=$BUF_BREAKING_AGAINST
	git rev-parse --verify -q "$base^{commit}" >/dev/null || {
		log "BUF_BREAKING_AGAINST=$base is not a commit"
		exit 1
	}
else
	for candidate in refs/heads/main refs/remotes/origin/main HEAD~1; do
		if git rev-parse --verify -q "$candidate^{commit}" >/dev/null; then
			base=$candidate
			break
		fi
	done
fi
if [[ -n $base && -z ${BUF_BREAKING_AGAINST:-} && $(git rev-parse "$base^{commit}") == $(git rev-parse HEAD) ]]; then
	base=""
	git rev-parse --verify -q "HEAD~1^{commit}" >/dev/null && base=HEAD~1
fi
if [[ -z $base ]]; then
	log "no main branch and no parent commit: nothing to compare proto/ with"
	exit 0
fi
if [[ $base == HEAD~1 ]]; then
	log "this clone has no main apart from HEAD: comparing with the previous commit only"
fi
if [[ -z $(git ls-tree "$base" -- proto) ]]; then
	log "$base has no proto/: nothing to compare with"
	exit 0
fi

# The third-party imports both trees compile against.
"$root/deploy/tools/generate.sh" deps

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
git archive "$base" -- proto buf.yaml | tar -x -C "$tmp"
rm -rf "$tmp/proto/third_party"
cp -R "$root/proto/third_party" "$tmp/proto/third_party"

log "comparing proto/ with $base ($(git rev-parse --short "$base"))"
go tool buf breaking --against "$tmp"
log "no breaking change against $base"
