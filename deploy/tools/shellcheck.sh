#!/usr/bin/env bash
# deploy/tools/shellcheck.sh runs shellcheck over every shell script git
# tracks: files named *.sh and files whose first line runs sh or bash
# (deploy/local/stack, .ci/run, ...). Any finding fails it. shellcheck comes
# from Debian, installed once through deploy/local/lib/common.sh like the
# stack's other packages. (The first comment line must not start with the
# word shellcheck: shellcheck would read it as a directive.)
#
# Usage: deploy/tools/shellcheck.sh   (from any directory)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
# shellcheck source=../local/lib/common.sh
source "$root/deploy/local/lib/common.sh"

if ! command -v shellcheck >/dev/null 2>&1; then
	ensure_state_dirs
	ensure_packages shellcheck
fi

scripts=()
while IFS= read -r -d '' f; do
	[[ -f $f ]] || continue
	if [[ $f == *.sh ]] || head -n 1 "$f" | grep -Eq '^#!.*[/ ](ba)?sh( |$)'; then
		scripts+=("$f")
	fi
done < <(git ls-files -z)
if ((${#scripts[@]} == 0)); then
	echo "shellcheck: no shell scripts found" >&2
	exit 1
fi

# -x follows `source` lines, so a sourced library is checked with the
# variables its caller defines; source-path=SCRIPTDIR resolves them from
# each script's own folder.
shellcheck -x --source-path=SCRIPTDIR "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts, no findings" >&2
