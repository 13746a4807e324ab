# shellcheck shell=bash
# Shared helpers for deploy/local/stack: paths, logging, pid bookkeeping,
# port checks, readiness waits and the Debian package installer.
# Sourced by the dispatcher; every component file under lib/ builds on it.

# All state lives under one git-ignored folder (data dirs, logs, pids,
# configs, downloads), so nothing of ours is scattered over the system.
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}
STATE_DIR=${STACK_STATE_DIR:-$REPO_ROOT/.local}
CACHE_DIR=$STATE_DIR/cache # downloads and builds; survives `clean`
LOG_DIR=$STATE_DIR/logs
RUN_DIR=$STATE_DIR/run # pidfiles of processes we spawned ourselves

# Everything binds loopback only.
# shellcheck disable=SC2034 # used by the component files
HOST=127.0.0.1

log() { printf '[stack] %s\n' "$*" >&2; }

# fail_component prints which component failed, where its log is and the
# tail of that log, then exits non-zero: CI output must say what broke.
fail_component() {
	local comp=$1 logfile=$2
	shift 2
	printf '[stack] ERROR: %s: %s\n' "$comp" "$*" >&2
	if [[ -n $logfile ]]; then
		printf '[stack] log: %s\n' "$logfile" >&2
		if [[ -f $logfile ]]; then
			printf '[stack] ---- last 30 lines of %s ----\n' "$logfile" >&2
			tail -n 30 "$logfile" >&2 || true
			printf '[stack] ----\n' >&2
		fi
	fi
	exit 1
}

# now_ms and seconds_since report how long starting took (e.g. "12.345").
now_ms() { date +%s%3N; }
seconds_since() {
	local ms=$(($(now_ms) - $1))
	printf '%d.%03d' $((ms / 1000)) $((ms % 1000))
}

# port_listening succeeds when something listens on TCP port $1, on any
# address (a listener, not necessarily ours).
port_listening() {
	[[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
}

# port_owner prints the `ss` line of whoever listens on the port, for errors.
port_owner() {
	ss -Hltnp "sport = :$1" 2>/dev/null | head -n 3
}

# read_pid prints the pid stored in a pidfile (first line), or nothing.
read_pid() {
	[[ -s $1 ]] || return 0
	head -n 1 "$1" | tr -dc '0-9'
}

# pid_matches succeeds when pid $1 is alive and its command line contains
# $2. The marker (usually a path under STATE_DIR) guards against acting on
# a recycled pid that now belongs to some unrelated process.
pid_matches() {
	local pid=$1 marker=$2
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
	[[ -z $marker ]] && return 0
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"
}

# pidfile_alive: the process recorded in pidfile $1 is running and is ours.
pidfile_alive() {
	pid_matches "$(read_pid "$1")" "${2:-}"
}

# spawn starts a long-running process detached from the calling shell (own
# session via setsid, stdin closed, output appended to its log), recording
# its real pid: the inner shell writes $$ and then execs the command, so the
# pid in the file is the server process itself, whatever the caller's job
# control does.
spawn() {
	local pidfile=$1 logfile=$2 workdir=$3
	shift 3
	mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
	rm -f "$pidfile"
	(
		cd "$workdir" || exit 1
		# shellcheck disable=SC2016 # $$ and $@ belong to the inner shell
		exec setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pidfile" "$@" \
			</dev/null >>"$logfile" 2>&1
	) &
	# Wait briefly for the pidfile so callers can rely on it.
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -s $pidfile ]] && return 0
		sleep 0.1
	done
	return 1
}

# stop_pidfile stops the process in a pidfile: TERM, wait up to $4 seconds,
# then KILL. Only acts when the pid still belongs to us (marker check).
stop_pidfile() {
	local name=$1 pidfile=$2 marker=$3 timeout=${4:-20}
	local pid
	pid=$(read_pid "$pidfile")
	if ! pid_matches "$pid" "$marker"; then
		rm -f "$pidfile"
		return 0
	fi
	log "stopping $name (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	local deadline=$((SECONDS + timeout))
	while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
		sleep 0.2
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name did not stop within ${timeout}s, sending KILL"
		kill -KILL "$pid" 2>/dev/null || true
		sleep 0.2
	fi
	rm -f "$pidfile"
}

# wait_until polls a health function until it succeeds. It gives up after
# $2 seconds, or at once when the process in pidfile $3 (if given) died:
# waiting a full minute for a JVM that crashed in its first second helps
# nobody.
#   wait_until <component> <timeout-s> <pidfile|-> <marker> <logfile> <cmd...>
wait_until() {
	local comp=$1 timeout=$2 pidfile=$3 marker=$4 logfile=$5
	shift 5
	local deadline=$((SECONDS + timeout))
	while ! "$@" >/dev/null 2>&1; do
		# A daemonizing server (redis) writes its pidfile a moment after
		# the launcher returns: only a recorded pid that is gone counts.
		if [[ $pidfile != - && -s $pidfile ]] && ! pidfile_alive "$pidfile" "$marker"; then
			fail_component "$comp" "$logfile" "process exited during startup"
		fi
		if ((SECONDS >= deadline)); then
			fail_component "$comp" "$logfile" "not ready after ${timeout}s"
		fi
		sleep 0.5
	done
}

# require_port_free fails with the listener's details when a port we need is
# taken by something that is not ours; we never kill foreign processes.
require_port_free() {
	local comp=$1 port=$2
	if port_listening "$port"; then
		printf '[stack] ERROR: %s: 127.0.0.1:%s is already in use by a process this stack did not start:\n' "$comp" "$port" >&2
		port_owner "$port" >&2
		exit 1
	fi
}

# ---- Debian packages --------------------------------------------------------

APT_UPDATED=${APT_UPDATED:-0}

pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# ensure_packages installs the missing Debian packages. Debian's postgresql
# and redis-server packages start their own system instances on 5432/6379
# right after installation, which would collide with ours; a policy-rc.d
# that exits 101 ("action forbidden") stops invoke-rc.d from starting
# anything during our install. An existing policy-rc.d is left untouched.
ensure_packages() {
	local missing=() p
	for p in "$@"; do
		pkg_installed "$p" || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	if ((EUID != 0)); then
		log "ERROR: missing packages ${missing[*]} and not root; install them first"
		exit 1
	fi
	log "installing Debian packages: ${missing[*]}"
	local policy=/usr/sbin/policy-rc.d created_policy=0
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\n# temporary, written by deploy/local/stack\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		created_policy=1
	fi
	local rc=0
	{
		if [[ $APT_UPDATED != 1 ]]; then
			DEBIAN_FRONTEND=noninteractive apt-get update -q && APT_UPDATED=1
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
	} >>"$LOG_DIR/apt.log" 2>&1 || rc=$?
	((created_policy)) && rm -f "$policy"
	((rc == 0)) || fail_component apt "$LOG_DIR/apt.log" "apt-get install ${missing[*]} failed"
	disable_debian_services
}

# disable_debian_services makes sure the system-wide instances that the
# Debian packages set up never start on their own and collide with ours:
# the default PostgreSQL cluster is switched to manual start, the redis
# init scripts are disabled. Harmless to repeat.
disable_debian_services() {
	local conf
	for conf in /etc/postgresql/*/*/start.conf; do
		[[ -f $conf ]] || continue
		if grep -qx 'auto' "$conf"; then
			sed -i 's/^auto$/manual/' "$conf"
			log "set $conf to manual (Debian cluster never auto-starts)"
		fi
	done
	local svc
	for svc in redis-server redis-sentinel; do
		[[ -e /etc/init.d/$svc ]] || continue
		if [[ -d /run/systemd/system ]]; then
			systemctl disable "$svc" >/dev/null 2>&1 || true
		else
			update-rc.d "$svc" disable >/dev/null 2>&1 || true
		fi
	done
}

# ensure_state_dirs creates the state layout.
ensure_state_dirs() {
	mkdir -p "$STATE_DIR" "$CACHE_DIR" "$LOG_DIR" "$RUN_DIR"
}

# ensure_traversable lets a service user (postgres) reach its data dir under
# the repo: parents lacking the "others may traverse" bit get o+x
# (traversal only, no listing). A fresh clone under a private folder needs it.
ensure_traversable() {
	local user=$1 dir=$2
	runuser -u "$user" -- test -x "$dir" 2>/dev/null && return 0
	local d=$dir
	while [[ $d != / ]]; do
		if [[ $(stat -c %A "$d") != *x ]] && [[ $(stat -c %A "$d") != *t ]]; then
			log "chmod o+x $d (so user $user can reach its data dir)"
			chmod o+x "$d"
		fi
		d=$(dirname "$d")
	done
	runuser -u "$user" -- test -x "$dir" ||
		fail_component postgres "" "user $user cannot traverse $dir"
}

# java_major prints the feature version (17, 21, 25) of a java binary.
java_major() {
	local v
	v=$("$1" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
	[[ -n $v ]] && echo "${v%%.*}"
}

# java_ok: a Java 17+ runtime is on PATH (Kafka 4 requires 17).
java_ok() {
	local v
	command -v java >/dev/null || return 1
	v=$(java_major java) || return 1
	((v >= 17))
}

# find_java prints the path of a java binary of at least version $1: the
# one on PATH if new enough, else the oldest sufficient JDK in /usr/lib/jvm
# (Debian 12 packages only Java 17; these machines also carry a Temurin 25
# there). Fails when there is none.
find_java() {
	local need=$1 best='' best_v=999 j v
	if command -v java >/dev/null && v=$(java_major java) && ((v >= need)); then
		command -v java
		return 0
	fi
	for j in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} /usr/lib/jvm/*/bin/java; do
		[[ -x $j ]] || continue
		v=$(java_major "$j") || continue
		if ((v >= need && v < best_v)); then
			best=$j
			best_v=$v
		fi
	done
	[[ -n $best ]] && echo "$best"
}

ensure_java_maven() {
	local pkgs=()
	java_ok || pkgs+=(openjdk-17-jre-headless)
	command -v mvn >/dev/null || pkgs+=(maven)
	((${#pkgs[@]} == 0)) || ensure_packages "${pkgs[@]}"
}

# mvn_batch runs Maven non-interactively without progress noise.
mvn_batch() {
	mvn -B -q -ntp "$@"
}

# status_line prints one aligned row of `stack status`.
status_line() {
	printf '%-17s %-40s %s\n' "$1" "$2" "$3"
}
