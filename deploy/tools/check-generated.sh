#!/usr/bin/env bash
# check-generated.sh fails when the committed libs/gen is not what proto/
# generates: it regenerates (deploy/tools/generate.sh) and then lists every
# file under libs/gen that changed, disappeared or appeared (untracked)
# compared with the git index. CI runs it on a clean clone, where the index
# is the commit; locally it passes once libs/gen is staged or committed.
#
# Usage: deploy/tools/check-generated.sh   (from any directory)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

"$root/deploy/tools/generate.sh"

changed="$(git diff --name-status -- libs/gen)"
untracked="$(git ls-files --others --exclude-standard -- libs/gen | sed 's/^/??\t/')"
if [[ -n "$changed$untracked" ]]; then
	{
		echo "check-generated: libs/gen differs from what proto/ generates:"
		[[ -z "$changed" ]] || echo "$changed"
		[[ -z "$untracked" ]] || echo "$untracked"
		git --no-pager diff --stat -- libs/gen
		echo "check-generated: run 'go tool task generate' and commit libs/gen."
	} >&2
	exit 1
fi
echo "check-generated: libs/gen is up to date" >&2
