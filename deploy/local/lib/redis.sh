# shellcheck shell=bash
# Redis on :6379 (token state) and a Redis Sentinel on :26379 watching it
# under the master name "mymaster", so clients can use the Sentinel-aware
# code path (go-redis NewFailoverClient) locally too. Both are Debian's
# binaries with every setting on the command line or in a generated file.

REDIS_PORT=6379
SENTINEL_PORT=26379
SENTINEL_MASTER=mymaster

REDIS_DIR=$STATE_DIR/redis
REDIS_PID=$RUN_DIR/redis.pid
REDIS_LOG=$LOG_DIR/redis.log
SENTINEL_DIR=$STATE_DIR/sentinel
SENTINEL_PID=$RUN_DIR/sentinel.pid
SENTINEL_LOG=$LOG_DIR/sentinel.log

redis_packages() { echo redis-server redis-tools; }
sentinel_packages() { echo redis-sentinel redis-tools; }

redis_ping() { [[ $(redis-cli -h "$HOST" -p "$1" ping 2>/dev/null) == PONG ]]; }

# debian_redis_quiesce stops Debian's system redis when it holds our port:
# it only runs because installing redis-server started it. Identified by the
# package's own pidfile, never by name.
debian_redis_quiesce() {
	local pidfile=$1 port=$2 pid
	pid=$(read_pid "$pidfile")
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && ss -Hltnp "sport = :$port" | grep -q "pid=$pid,"; then
		log "stopping Debian's system instance on port $port (pid $pid, started by the package install)"
		kill -TERM "$pid"
		local i
		for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	disable_debian_services
}

redis_healthy() { redis_ping "$REDIS_PORT"; }

# redis_start: in-memory only (no RDB snapshots, no AOF): token state is
# disposable locally and disk writes only slow tests down. --daemonize makes
# redis detach itself and write the pidfile we stop it by.
redis_start() {
	if pidfile_alive "$REDIS_PID" redis-server; then return 0; fi
	debian_redis_quiesce /run/redis/redis-server.pid "$REDIS_PORT"
	require_port_free redis "$REDIS_PORT"
	mkdir -p "$REDIS_DIR"
	log "starting redis on $HOST:$REDIS_PORT"
	redis-server --daemonize yes --bind "$HOST" --port "$REDIS_PORT" \
		--save "" --appendonly no --dir "$REDIS_DIR" \
		--pidfile "$REDIS_PID" --logfile "$REDIS_LOG" ||
		fail_component redis "$REDIS_LOG" "redis-server failed to start"
}

redis_wait() {
	wait_until redis 20 "$REDIS_PID" redis-server "$REDIS_LOG" redis_healthy
}

redis_stop() { stop_pidfile redis "$REDIS_PID" redis-server 20; }

redis_status() {
	if redis_healthy; then
		status_line redis "$HOST:$REDIS_PORT" healthy
	else
		status_line redis "$HOST:$REDIS_PORT" down
		return 1
	fi
}

redis_where() { echo "redis $HOST:$REDIS_PORT"; }
redis_clean() { rm -rf "$REDIS_DIR" "$REDIS_LOG" "$REDIS_PID"; }

# ---- sentinel --------------------------------------------------------------

sentinel_healthy() {
	[[ $(redis-cli -h "$HOST" -p "$SENTINEL_PORT" sentinel get-master-addr-by-name "$SENTINEL_MASTER" 2>/dev/null | head -n 1) == "$HOST" ]]
}

# sentinel_start writes a fresh config each start: Sentinel rewrites its
# config file at runtime, and starting from a known state keeps `up`
# deterministic. Quorum 1: there is only one sentinel locally.
sentinel_start() {
	if pidfile_alive "$SENTINEL_PID" redis-sentinel; then return 0; fi
	debian_redis_quiesce /run/sentinel/redis-sentinel.pid "$SENTINEL_PORT"
	require_port_free sentinel "$SENTINEL_PORT"
	mkdir -p "$SENTINEL_DIR"
	cat >"$SENTINEL_DIR/sentinel.conf" <<EOF
# Written by deploy/local/stack at every start; Sentinel rewrites it at runtime.
bind $HOST
port $SENTINEL_PORT
daemonize yes
pidfile $SENTINEL_PID
logfile $SENTINEL_LOG
dir $SENTINEL_DIR
sentinel monitor $SENTINEL_MASTER $HOST $REDIS_PORT 1
sentinel down-after-milliseconds $SENTINEL_MASTER 5000
sentinel failover-timeout $SENTINEL_MASTER 10000
EOF
	log "starting sentinel on $HOST:$SENTINEL_PORT (master $SENTINEL_MASTER)"
	redis-sentinel "$SENTINEL_DIR/sentinel.conf" ||
		fail_component sentinel "$SENTINEL_LOG" "redis-sentinel failed to start"
}

sentinel_wait() {
	wait_until sentinel 20 "$SENTINEL_PID" redis-sentinel "$SENTINEL_LOG" sentinel_healthy
}

sentinel_stop() { stop_pidfile sentinel "$SENTINEL_PID" redis-sentinel 20; }

sentinel_status() {
	if sentinel_healthy; then
		status_line sentinel "$HOST:$SENTINEL_PORT" "healthy (master $SENTINEL_MASTER)"
	else
		status_line sentinel "$HOST:$SENTINEL_PORT" down
		return 1
	fi
}

sentinel_where() { echo "sentinel $HOST:$SENTINEL_PORT (master name $SENTINEL_MASTER)"; }
sentinel_clean() { rm -rf "$SENTINEL_DIR" "$SENTINEL_LOG" "$SENTINEL_PID"; }
