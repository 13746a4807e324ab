# shellcheck shell=bash
# PostgreSQL 15 as a Patroni cluster of two nodes (:5432 and :5433), with
# etcd (lib/etcd.sh) holding the leader lock. Either node can be the primary;
# Patroni promotes the synchronous replica when the primary dies and rejoins
# the old primary as a replica (pg_rewind). Clients find the primary and a
# replica with multi-host DSNs (target_session_attrs), see cmd_env.
#
# One Patroni process per node, run as user postgres; Patroni runs that
# node's postgres and stops it when it stops. State: .local/postgres/node<N>
# (data) and node<N>.yml (Patroni's configuration, rewritten on every start).
#
# Ports are overridable so a second copy of the stack can run beside the
# first: STACK_PG_PORT0/STACK_PG_PORT1 (PostgreSQL, default 5432/5433),
# STACK_PATRONI_PORT0/STACK_PATRONI_PORT1 (Patroni REST, 8008/8009).

PG_VERSION_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_VERSION_MAJOR/bin
PG_PORTS=("${STACK_PG_PORT0:-5432}" "${STACK_PG_PORT1:-5433}")
PATRONI_PORTS=("${STACK_PATRONI_PORT0:-8008}" "${STACK_PATRONI_PORT1:-8009}")
# Node 0's port: where the cluster is first bootstrapped. Which node leads
# later is Patroni's choice; ask pg_leader_port.
# shellcheck disable=SC2034 # kept for scripts written against the old layout
PG_PORT_PRIMARY=${PG_PORTS[0]}
# JDBC's host list (Apicurio): pgjdbc's targetServerType=primary picks the leader.
# shellcheck disable=SC2034 # used by lib/apicurio.sh
PG_JDBC_HOSTS=$HOST:${PG_PORTS[0]},$HOST:${PG_PORTS[1]}
PG_USER=postgres
PG_PASSWORD=postgres
PG_DATABASES=(sso loyalty notifier apicurio) # created on the leader, replicated
PATRONI_SCOPE=ssokit

PG_DIR=$STATE_DIR/postgres

postgres_packages() { echo postgresql postgresql-client patroni; }

as_pg() { runuser -u postgres -- "$@"; }

pg_node_data() { echo "$PG_DIR/node$1"; }
pg_node_conf() { echo "$PG_DIR/node$1.yml"; }
pg_node_pid() { echo "$RUN_DIR/patroni-$1.pid"; }
pg_node_log() { echo "$LOG_DIR/postgres-$1.log"; }

# pg_hosts prints the libpq host and port lists of every node
# ("127.0.0.1,127.0.0.1" "5432,5433").
pg_hosts() {
	local hosts='' ports='' p
	for p in "${PG_PORTS[@]}"; do
		hosts+=${hosts:+,}$HOST
		ports+=${ports:+,}$p
	done
	echo "$hosts" "$ports"
}

# pg_sql runs one statement over TCP with the dev password (no unix sockets:
# the nodes listen on 127.0.0.1 only). Without a port it goes to whichever
# node accepts writes.
pg_sql() {
	local port=$1 sql=$2 target
	if [[ -n $port ]]; then
		target="host=$HOST port=$port"
	else
		local hosts ports
		read -r hosts ports < <(pg_hosts)
		target="host=$hosts port=$ports target_session_attrs=read-write"
	fi
	PGPASSWORD=$PG_PASSWORD "$PG_BIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 \
		-d "$target user=$PG_USER dbname=postgres connect_timeout=3" -c "$sql"
}

pg_ready() { "$PG_BIN/pg_isready" -q -h "$HOST" -p "$1" -t 2; }

# patroni_get prints a Patroni REST resource of node $1 (e.g. /cluster).
patroni_get() {
	curl -fsS --max-time 2 "http://$HOST:${PATRONI_PORTS[$1]}$2"
}

# pg_cluster_json prints GET /cluster from the first node that answers.
pg_cluster_json() {
	local i
	for i in "${!PG_PORTS[@]}"; do
		patroni_get "$i" /cluster 2>/dev/null && return 0
	done
	return 1
}

# pg_members prints one line per member: name role state host:port lag.
# GET /cluster comes from etcd; while etcd is unreachable (the leader then
# stays primary in failsafe mode) each node's own GET /patroni answers.
pg_members() {
	local json
	if json=$(pg_cluster_json 2>/dev/null); then
		python3 -c '
import json, sys
for m in json.load(sys.stdin).get("members", []):
    print(m["name"], m["role"], m["state"], "%s:%s" % (m["host"], m["port"]), m.get("lag", 0))' <<<"$json"
		return
	fi
	local i
	for i in "${!PG_PORTS[@]}"; do
		json=$(patroni_get "$i" /patroni 2>/dev/null) || continue
		python3 -c '
import json, sys
p = json.load(sys.stdin)
role = {"master": "leader", "primary": "leader"}.get(p.get("role"), p.get("role"))
print(sys.argv[1], role, p.get("state"), sys.argv[2], "?")' "node$i" "$HOST:${PG_PORTS[$i]}" <<<"$json"
	done
}

# pg_leader_port prints the port of the node that leads, if one does.
pg_leader_port() {
	local name role state addr lag
	while read -r name role state addr lag; do
		if [[ $role == leader && $state == running ]]; then
			echo "${addr##*:}"
			return 0
		fi
	done < <(pg_members 2>/dev/null)
	return 1
}

# postgres_healthy: a running leader and a synchronous replica streaming
# from it, checked on the leader itself (pg_stat_replication) rather than
# only through Patroni's view.
postgres_healthy() {
	local leader
	leader=$(pg_leader_port) || return 1
	[[ $(pg_sql "$leader" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND sync_state = 'sync'" 2>/dev/null) -ge 1 ]]
}

# debian_cluster_quiesce stops Debian's own default cluster when it holds one
# of our ports. That cluster only runs because installing the package started
# it (a policy-rc.d was not in place at the time); it is switched to manual
# start so it never comes back.
debian_cluster_quiesce() {
	disable_debian_services
	command -v pg_lsclusters >/dev/null || return 0
	local ver name port status
	while read -r ver name port status _; do
		[[ $status == online* ]] || continue
		if contains "$port" "${PG_PORTS[@]}"; then
			log "stopping Debian's default cluster $ver/$name: it holds port $port, which this stack needs"
			pg_ctlcluster "$ver" "$name" stop || true
		fi
	done < <(pg_lsclusters -h 2>/dev/null)
}

# pg_migrate_old_layout converts the layout of earlier versions of this
# script (a fixed primary in postgres/primary and a pg_basebackup replica in
# postgres/replica, run by pg_ctl) into node 0 of the Patroni cluster, so a
# developer's data survives the switch: Patroni adopts an existing data dir
# when the cluster is not yet known to etcd. The old replica is dropped
# (Patroni clones node 1 afresh), as are the settings file and replication
# slot the old script managed.
pg_migrate_old_layout() {
	local old=$PG_DIR/primary
	[[ -s $old/PG_VERSION ]] || return 0
	[[ -e $(pg_node_data 0) ]] && return 0
	log "migrating the fixed primary/replica layout in $PG_DIR to Patroni node 0 (data kept)"
	local d
	for d in "$PG_DIR/replica" "$old"; do
		if [[ -f $d/postmaster.pid ]] && as_pg "$PG_BIN/pg_ctl" -D "$d" status >/dev/null 2>&1; then
			log "stopping the old cluster in $d"
			as_pg "$PG_BIN/pg_ctl" -D "$d" -m fast -w -t 60 -s stop ||
				as_pg "$PG_BIN/pg_ctl" -D "$d" -m immediate -w -t 30 -s stop
		fi
	done
	sed -i "/^# deploy\/local\/stack settings$/d; /^include_if_exists = 'stack.conf'$/d" "$old/postgresql.conf"
	rm -f "$old/stack.conf" "$old/standby.signal"
	rm -rf "$PG_DIR/replica" "$PG_DIR/replica.tmp"
	mv "$old" "$(pg_node_data 0)"
	touch "$PG_DIR/.drop-old-slot"
}

# pg_forget_lost_cluster removes the cluster's keys from etcd when no node
# has a data dir (state deleted by hand): Patroni would otherwise wait
# forever for a leader to bootstrap a cluster etcd says exists.
pg_forget_lost_cluster() {
	local i
	for i in "${!PG_PORTS[@]}"; do
		[[ -s $(pg_node_data "$i")/PG_VERSION ]] && return 0
	done
	ETCDCTL_API=3 etcdctl --endpoints="$ETCD_URL" del --prefix "/service/$PATRONI_SCOPE/" >/dev/null ||
		fail_component postgres "$ETCD_LOG" "cannot reach etcd to reset the cluster's keys"
}

# pg_write_patroni_conf writes node $1's Patroni configuration. The
# bootstrap.dcs part only applies when the cluster is first created in etcd;
# later changes go through `patronictl edit-config` (or `clean`).
#
# Timing: a primary whose postgres crashes is failed over at once
# (primary_start_timeout 0: safe because replication is synchronous), which
# takes about two loop_waits; a whole dead node (Patroni gone too) is noticed
# when its leader key expires after ttl. ttl >= loop_wait + 2*retry_timeout,
# as Patroni requires.
pg_write_patroni_conf() {
	local i=$1 port=${PG_PORTS[$1]} rest=${PATRONI_PORTS[$1]}
	local conf
	conf=$(pg_node_conf "$i")
	cat >"$conf" <<EOF
# Written by deploy/local/stack on every start of this node; edit the script.
scope: $PATRONI_SCOPE
namespace: /service/
name: node$i
log:
  level: INFO
  format: '%(asctime)s %(levelname)s: node$i: %(message)s'
restapi:
  listen: $HOST:$rest
  connect_address: $HOST:$rest
etcd3:
  hosts: $HOST:$ETCD_CLIENT_PORT
  protocol: http
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 2
    retry_timeout: 4
    primary_start_timeout: 0
    # Locally etcd is one node: without failsafe mode its death would make
    # the primary step down after ttl although both nodes are fine. With
    # it, a leader that still reaches every member over their REST APIs
    # stays primary while etcd is away.
    failsafe_mode: true
    maximum_lag_on_failover: 1048576
    # A commit is acknowledged only once the replica has it, so a promoted
    # replica never misses an acknowledged commit. Not strict: with the
    # replica down, Patroni drops it from synchronous_standby_names and
    # writes continue on the primary alone.
    synchronous_mode: true
    synchronous_mode_strict: false
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        max_connections: 200
        max_wal_senders: 10
        max_replication_slots: 10
        wal_level: replica
        wal_log_hints: 'on'
        hot_standby: 'on'
        hot_standby_feedback: 'on'
        wal_keep_size: 256MB
  initdb:
  - encoding: UTF8
  - locale: C.UTF-8
  - auth-local: peer
  - auth-host: scram-sha-256
postgresql:
  listen: $HOST:$port
  connect_address: $HOST:$port
  data_dir: $(pg_node_data "$i")
  bin_dir: $PG_BIN
  pgpass: $PG_DIR/node$i.pgpass
  authentication:
    superuser:
      username: $PG_USER
      password: $PG_PASSWORD
    replication:
      username: $PG_USER
      password: $PG_PASSWORD
    rewind:
      username: $PG_USER
      password: $PG_PASSWORD
  parameters:
    unix_socket_directories: ''
    log_line_prefix: '%m [%p] %q%u@%d '
  pg_hba:
  - local all all peer
  - host all all $HOST/32 scram-sha-256
  - host replication all $HOST/32 scram-sha-256
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
EOF
	chown postgres:postgres "$conf"
	chmod 600 "$conf"
}

pg_node_running() { pidfile_alive "$(pg_node_pid "$1")" "$(pg_node_conf "$1")"; }

# pg_node_start runs node $1's Patroni as user postgres. setpriv execs
# (unlike runuser, which forks), so the recorded pid is Patroni itself.
pg_node_start() {
	local i=$1 logfile
	pg_node_running "$i" && return 0
	logfile=$(pg_node_log "$i")
	require_port_free "postgres-$i" "${PG_PORTS[$i]}"
	require_port_free "patroni-$i" "${PATRONI_PORTS[$i]}"
	pg_write_patroni_conf "$i"
	touch "$logfile"
	chown postgres:postgres "$logfile"
	log "starting patroni node$i (postgres $HOST:${PG_PORTS[$i]}, REST :${PATRONI_PORTS[$i]})"
	spawn "$(pg_node_pid "$i")" "$logfile" "$PG_DIR" \
		setpriv --reuid=postgres --regid=postgres --init-groups --reset-env \
		/usr/bin/patroni "$(pg_node_conf "$i")" ||
		fail_component "postgres-$i" "$logfile" "patroni did not start"
}

# postgres_start starts every node's Patroni; node 0 first, so on a fresh
# machine it wins the bootstrap race and node 1 clones from it.
postgres_start() {
	[[ -x $PG_BIN/pg_ctl ]] || fail_component postgres "" "$PG_BIN/pg_ctl not found (package postgresql-$PG_VERSION_MAJOR)"
	command -v patroni >/dev/null || fail_component postgres "" "patroni not found (package patroni)"
	ensure_traversable postgres "$STATE_DIR"
	install -d -o postgres -g postgres -m 700 "$PG_DIR"
	local i need_quiesce=0
	for i in "${!PG_PORTS[@]}"; do pg_node_running "$i" || need_quiesce=1; done
	((need_quiesce)) && debian_cluster_quiesce
	pg_migrate_old_layout
	pg_forget_lost_cluster
	for i in "${!PG_PORTS[@]}"; do
		pg_node_start "$i"
		if ((i == 0)); then
			wait_until postgres-0 90 "$(pg_node_pid 0)" "$(pg_node_conf 0)" "$(pg_node_log 0)" pg_leader_port
		fi
	done
}

# postgres_wait waits for a leader with a streaming synchronous replica: only
# then is an acknowledged commit on two nodes. A first clone of node 1
# includes a pg_basebackup, hence the long timeout.
postgres_wait() {
	wait_until postgres 120 - "" "$(pg_node_log 1)" postgres_healthy
	if [[ -e $PG_DIR/.drop-old-slot ]]; then
		pg_sql "" "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'stack_replica' AND NOT active" >/dev/null &&
			rm -f "$PG_DIR/.drop-old-slot"
	fi
}

pg_create_databases() {
	local db
	for db in "${PG_DATABASES[@]}"; do
		if [[ -z $(pg_sql "" "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
			log "creating database $db"
			pg_sql "" "CREATE DATABASE $db" ||
				fail_component postgres "$(pg_node_log 0)" "CREATE DATABASE $db failed"
		fi
	done
}

# postgres_stop stops the replicas' Patroni first: stopping the leader first
# would make Patroni promote a replica only to stop it a moment later.
# Patroni stops its postgres (fast shutdown) before it exits.
postgres_stop() {
	local leader i order=()
	leader=$(pg_leader_port 2>/dev/null) || leader=''
	for i in "${!PG_PORTS[@]}"; do
		[[ ${PG_PORTS[$i]} == "$leader" ]] || order+=("$i")
	done
	for i in "${!PG_PORTS[@]}"; do
		[[ ${PG_PORTS[$i]} == "$leader" ]] && order+=("$i")
	done
	for i in "${order[@]}"; do
		stop_pidfile "patroni node$i" "$(pg_node_pid "$i")" "$(pg_node_conf "$i")" 90
	done
}

# postgres_status prints one line per node with its Patroni role, and fails
# unless a leader has a streaming synchronous replica.
postgres_status() {
	local rc=0 i name role state addr lag
	local -A seen=()
	while read -r name role state addr lag; do
		seen[$name]=1
		local what="$role, $state"
		[[ $role == leader ]] || what+=", lag $lag bytes"
		status_line "postgres-${name#node}" "$addr" "$what"
	done < <(pg_members 2>/dev/null)
	for i in "${!PG_PORTS[@]}"; do
		[[ -n ${seen[node$i]:-} ]] || status_line "postgres-$i" "$HOST:${PG_PORTS[$i]}" down
	done
	if postgres_healthy; then
		status_line postgres "leader :$(pg_leader_port)" "healthy (synchronous replica streaming)"
	else
		status_line postgres "$HOST:${PG_PORTS[*]}" "down (no leader with a streaming synchronous replica)"
		rc=1
	fi
	return $rc
}

postgres_where() {
	local leader
	leader=$(pg_leader_port 2>/dev/null) || leader='?'
	echo "postgres nodes $HOST:${PG_PORTS[*]} under Patroni (REST :${PATRONI_PORTS[*]}), leader :$leader (user $PG_USER, databases ${PG_DATABASES[*]})"
}

postgres_clean() {
	local i
	rm -rf "$PG_DIR"
	for i in "${!PG_PORTS[@]}"; do rm -f "$(pg_node_log "$i")" "$(pg_node_pid "$i")"; done
	rm -f "$LOG_DIR/postgres-primary.log" "$LOG_DIR/postgres-replica.log"
}
