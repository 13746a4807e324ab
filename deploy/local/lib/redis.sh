# shellcheck shell=bash
# Redis for token state as the highly available pair production runs: two
# nodes (a master and a replica) and three Sentinels watching them under the
# master name "mymaster" with quorum 2, so the death of the master is
# followed by a failover to the replica within a few seconds. Debian's
# binaries, every setting in a generated file under .local.
#
# Which node is master is Sentinel's decision, not this script's: the
# initial layout (first node master, second its replica) is written once,
# and from then on Sentinel rewrites the nodes' and its own config files at
# every failover. A node that `up` starts again joins whatever master the
# Sentinels name, so a former master comes back as a replica.
#
# Ports can be moved (a second instance next to the usual one):
#   STACK_REDIS_PORT          first node (initial master), default 6379
#   STACK_REDIS_REPLICA_PORT  second node (initial replica), default 6380
#   STACK_SENTINEL_PORTS      the three Sentinels, default "26379 26380 26381"

REDIS_PORT=${STACK_REDIS_PORT:-6379}
REDIS_REPLICA_PORT=${STACK_REDIS_REPLICA_PORT:-6380}
read -r -a SENTINEL_PORTS <<<"${STACK_SENTINEL_PORTS:-26379 26380 26381}"
SENTINEL_PORT=${SENTINEL_PORTS[0]}
SENTINEL_MASTER=mymaster
SENTINEL_QUORUM=2
REDIS_NODE_PORTS=("$REDIS_PORT" "$REDIS_REPLICA_PORT")

# A master silent for 2 s is subjectively down; with quorum 2 the failover
# starts at once and takes about a second more. failover-timeout bounds a
# stuck failover before another Sentinel retries it.
SENTINEL_DOWN_AFTER_MS=2000
SENTINEL_FAILOVER_TIMEOUT_MS=10000

REDIS_DIR=$STATE_DIR/redis
SENTINEL_DIR=$STATE_DIR/sentinel

redis_packages() { echo redis-server redis-tools; }
sentinel_packages() { echo redis-sentinel redis-tools; }

redis_node_dir() { echo "$REDIS_DIR/$1"; }
redis_node_pid() { echo "$RUN_DIR/redis-$1.pid"; }
redis_node_log() { echo "$LOG_DIR/redis-$1.log"; }
sentinel_node_dir() { echo "$SENTINEL_DIR/$1"; }
sentinel_node_pid() { echo "$RUN_DIR/sentinel-$1.pid"; }
sentinel_node_log() { echo "$LOG_DIR/sentinel-$1.log"; }

rcli() { redis-cli -h "$HOST" -p "$1" "${@:2}" 2>/dev/null; }
redis_ping() { [[ $(rcli "$1" ping) == PONG ]]; }

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

# legacy_quiesce stops the single Redis or Sentinel of the layout before
# this one (pidfile redis.pid / sentinel.pid), which holds the first port.
legacy_quiesce() {
	local name=$1
	if pidfile_alive "$RUN_DIR/$name.pid" "$name"; then
		log "replacing the single-node $name of the previous layout"
		stop_pidfile "$name" "$RUN_DIR/$name.pid" "$name" 20
	fi
}

# sentinel_master prints "host port" of the master as the first Sentinel
# that answers sees it, or nothing.
sentinel_master() {
	local p out
	for p in "${SENTINEL_PORTS[@]}"; do
		out=$(rcli "$p" sentinel get-master-addr-by-name "$SENTINEL_MASTER" | tr '\n' ' ')
		if [[ $out == "$HOST "* ]]; then
			echo "${out% }"
			return 0
		fi
	done
	return 1
}

# redis_role prints master, slave or nothing for the node on port $1.
redis_role() { rcli "$1" role | head -n 1; }

redis_healthy() {
	local p
	for p in "${REDIS_NODE_PORTS[@]}"; do redis_ping "$p" || return 1; done
}

# redis_node_master decides whom a node that is about to start follows:
# the master the running Sentinels name; when none runs, the master they
# last recorded in their config files; else the other node if it runs as
# master. Prints "host port", which may be the node itself, or nothing
# (the node keeps the role its config file says).
redis_node_master() {
	local port=$1 m p f
	if m=$(sentinel_master); then
		echo "$m"
		return 0
	fi
	for f in "$SENTINEL_DIR"/*/sentinel.conf; do
		[[ -s $f ]] || continue
		m=$(awk -v n="$SENTINEL_MASTER" '$1 == "sentinel" && $2 == "monitor" && $3 == n { print $4, $5; exit }' "$f")
		if [[ -n $m ]]; then
			echo "$m"
			return 0
		fi
	done
	for p in "${REDIS_NODE_PORTS[@]}"; do
		if [[ $p != "$port" ]] && [[ $(redis_role "$p") == master ]]; then
			echo "$HOST $p"
			return 0
		fi
	done
}

# redis_set_role records in the node's config whom it follows (none: it is
# the master), as Sentinel's CONFIG REWRITE would: the file, not the
# command line, so a later start without Sentinel keeps the role.
redis_set_role() {
	local conf=$1 master=$2
	sed -i '/^replicaof /d; /^slaveof /d' "$conf"
	if [[ -n $master ]]; then echo "replicaof $master" >>"$conf"; fi
}

# redis_node_start: in-memory only (no RDB snapshots, no AOF): durability
# across a failover comes from the replica (sso waits for its ack on
# security-relevant writes), and disk writes only slow tests down. The
# config is written once; Sentinel owns it afterwards (CONFIG REWRITE at
# each reconfiguration), so it must stay a writable file.
redis_node_start() {
	local port=$1 initial_master=$2
	local dir pid logf conf master
	dir=$(redis_node_dir "$port")
	pid=$(redis_node_pid "$port")
	logf=$(redis_node_log "$port")
	conf=$dir/redis.conf
	if pidfile_alive "$pid" "$HOST:$port"; then return 0; fi
	if [[ $port == 6379 ]]; then
		debian_redis_quiesce /run/redis/redis-server.pid "$port"
	fi
	if [[ $port == "$REDIS_PORT" ]]; then legacy_quiesce redis; fi
	require_port_free redis "$port"
	mkdir -p "$dir"
	if [[ ! -s $conf ]]; then
		cat >"$conf" <<EOF
# Written by deploy/local/stack on first start; Sentinel rewrites it at
# every failover (role, replicaof).
bind $HOST
port $port
daemonize yes
pidfile $pid
logfile $logf
dir $dir
save ""
appendonly no
# One replica: nothing to batch, so a rejoining node syncs at once.
repl-diskless-sync-delay 0
EOF
		redis_set_role "$conf" "$initial_master"
	fi
	master=$(redis_node_master "$port")
	if [[ $master == "$HOST $port" ]]; then
		redis_set_role "$conf" ""
		log "starting redis on $HOST:$port (master)"
	elif [[ -n $master ]]; then
		redis_set_role "$conf" "$master"
		log "starting redis on $HOST:$port (replica of ${master/ /:})"
	else
		log "starting redis on $HOST:$port"
	fi
	redis-server "$conf" ||
		fail_component redis "$logf" "redis-server failed to start"
}

redis_start() {
	redis_node_start "$REDIS_PORT" ""
	redis_node_start "$REDIS_REPLICA_PORT" "$HOST $REDIS_PORT"
}

redis_wait() {
	local p
	for p in "${REDIS_NODE_PORTS[@]}"; do
		wait_until redis 20 "$(redis_node_pid "$p")" "$HOST:$p" "$(redis_node_log "$p")" redis_ping "$p"
	done
}

redis_stop() {
	local p
	for p in "${REDIS_NODE_PORTS[@]}"; do
		stop_pidfile "redis $HOST:$p" "$(redis_node_pid "$p")" "$HOST:$p" 20
	done
	legacy_quiesce redis
}

redis_status() {
	local p role rc=0
	for p in "${REDIS_NODE_PORTS[@]}"; do
		if redis_ping "$p"; then
			role=$(redis_role "$p")
			[[ $role == slave ]] && role=replica
			status_line redis "$HOST:$p" "healthy ($role)"
		else
			status_line redis "$HOST:$p" down
			rc=1
		fi
	done
	return $rc
}

redis_where() { echo "redis $HOST:$REDIS_PORT and $HOST:$REDIS_REPLICA_PORT (master and replica, as Sentinel decides)"; }

redis_clean() {
	local p
	rm -rf "$REDIS_DIR" "$RUN_DIR/redis.pid" "$LOG_DIR/redis.log"
	for p in "${REDIS_NODE_PORTS[@]}"; do rm -f "$(redis_node_pid "$p")" "$(redis_node_log "$p")"; done
}

# ---- sentinel --------------------------------------------------------------

sentinel_node_healthy() {
	[[ $(rcli "$1" sentinel get-master-addr-by-name "$SENTINEL_MASTER" | head -n 1) == "$HOST" ]]
}

sentinel_healthy() {
	local p
	for p in "${SENTINEL_PORTS[@]}"; do sentinel_node_healthy "$p" || return 1; done
}

# sentinel_node_start writes a Sentinel's config only on its first start:
# Sentinel records there what it learnt (the current master, the replicas,
# the other Sentinels, the epoch), and a restarted Sentinel must resume from
# that rather than point at the initial master again. A new Sentinel starts
# from the master its peers name, when they name one.
sentinel_node_start() {
	local port=$1
	local dir pid logf conf master
	dir=$(sentinel_node_dir "$port")
	pid=$(sentinel_node_pid "$port")
	logf=$(sentinel_node_log "$port")
	conf=$dir/sentinel.conf
	if pidfile_alive "$pid" "$HOST:$port"; then return 0; fi
	if [[ $port == 26379 ]]; then
		debian_redis_quiesce /run/sentinel/redis-sentinel.pid "$port"
	fi
	if [[ $port == "$SENTINEL_PORT" ]]; then legacy_quiesce sentinel; fi
	require_port_free sentinel "$port"
	mkdir -p "$dir"
	if [[ ! -s $conf ]]; then
		master=$(sentinel_master) || master="$HOST $REDIS_PORT"
		cat >"$conf" <<EOF
# Written by deploy/local/stack on first start; Sentinel rewrites it at runtime.
bind $HOST
port $port
daemonize yes
pidfile $pid
logfile $logf
dir $dir
sentinel monitor $SENTINEL_MASTER $master $SENTINEL_QUORUM
sentinel down-after-milliseconds $SENTINEL_MASTER $SENTINEL_DOWN_AFTER_MS
sentinel failover-timeout $SENTINEL_MASTER $SENTINEL_FAILOVER_TIMEOUT_MS
sentinel parallel-syncs $SENTINEL_MASTER 1
EOF
	fi
	log "starting sentinel on $HOST:$port (master $SENTINEL_MASTER, quorum $SENTINEL_QUORUM)"
	redis-sentinel "$conf" ||
		fail_component sentinel "$logf" "redis-sentinel failed to start"
}

sentinel_start() {
	local p
	for p in "${SENTINEL_PORTS[@]}"; do sentinel_node_start "$p"; done
}

sentinel_wait() {
	local p
	for p in "${SENTINEL_PORTS[@]}"; do
		wait_until sentinel 20 "$(sentinel_node_pid "$p")" "$HOST:$p" "$(sentinel_node_log "$p")" sentinel_node_healthy "$p"
	done
}

sentinel_stop() {
	local p
	for p in "${SENTINEL_PORTS[@]}"; do
		stop_pidfile "sentinel $HOST:$p" "$(sentinel_node_pid "$p")" "$HOST:$p" 20
	done
	legacy_quiesce sentinel
}

sentinel_status() {
	local p m rc=0
	for p in "${SENTINEL_PORTS[@]}"; do
		if sentinel_node_healthy "$p"; then
			m=$(rcli "$p" sentinel get-master-addr-by-name "$SENTINEL_MASTER" | paste -sd:)
			status_line sentinel "$HOST:$p" "healthy (master $SENTINEL_MASTER is $m)"
		else
			status_line sentinel "$HOST:$p" down
			rc=1
		fi
	done
	return $rc
}

sentinel_where() {
	local IFS=,
	echo "sentinel ${SENTINEL_PORTS[*]/#/$HOST:} (master name $SENTINEL_MASTER, quorum $SENTINEL_QUORUM)"
}

sentinel_addrs() {
	local IFS=,
	echo "${SENTINEL_PORTS[*]/#/$HOST:}"
}

sentinel_clean() {
	local p
	rm -rf "$SENTINEL_DIR" "$RUN_DIR/sentinel.pid" "$LOG_DIR/sentinel.log"
	for p in "${SENTINEL_PORTS[@]}"; do rm -f "$(sentinel_node_pid "$p")" "$(sentinel_node_log "$p")"; done
}
