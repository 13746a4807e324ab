#!/usr/bin/env bash
# python-venv.sh installs Python packages into the project's one virtual
# environment, .local/venv, from the Python package index through pip. The
# tools that need Python (schemathesis for api-fuzz.sh, the event reader in
# services/e2e/pyclient) share it, each adding its own pinned packages.
#
# It is idempotent: a set of arguments installed once leaves a stamp in the
# venv (named by a hash of the arguments and of any requirements files they
# name), and a later run with the same arguments does nothing. The venv is
# never wiped for another tool's packages; only a venv whose interpreter no
# longer runs (python3 replaced underneath it) is made anew.
#
# Usage: deploy/tools/python-venv.sh PIP_INSTALL_ARGUMENTS...
#   e.g. deploy/tools/python-venv.sh "schemathesis==4.32.5"
#        deploy/tools/python-venv.sh -r services/e2e/pyclient/requirements.txt
# Prints nothing on success but what it installs; the interpreter is
# .local/venv/bin/python.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
venv="$root/.local/venv"

log() { printf 'python-venv: %s\n' "$*" >&2; }

if (($# == 0)); then
	log "usage: $0 PIP_INSTALL_ARGUMENTS..."
	exit 2
fi

# stamp_of names the arguments' stamp: a hash of the arguments and of the
# content of each requirements file they name, so editing a pin reinstalls.
stamp_of() {
	local prev="" arg
	{
		for arg in "$@"; do
			printf '%s\n' "$arg"
			if [[ $prev == -r || $prev == --requirement ]]; then
				cat "$arg"
			fi
			prev=$arg
		done
	} | sha256sum | cut -c1-16
}

stamp="$venv/.installed/$(stamp_of "$@")"
if [[ -f $stamp ]] && "$venv/bin/python" -c '' 2>/dev/null; then
	exit 0
fi

if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
	if ((EUID != 0)); then
		log "python3 with the venv module is needed (Debian: python3-venv)"
		exit 1
	fi
	log "installing Debian packages python3 python3-venv"
	DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 python3-venv >/dev/null
fi
if ! "$venv/bin/python" -c '' 2>/dev/null; then
	log "creating $venv"
	rm -rf "$venv"
	python3 -m venv "$venv"
fi
log "installing $* into $venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
mkdir -p "$venv/.installed"
printf '%s\n' "$*" >"$stamp"
