# shellcheck shell=bash
# PostgreSQL 15: a primary on :5432 and a streaming replica on :5433, both
# plain clusters under .local/postgres run by the Debian binaries as user
# postgres. Services write to the primary and read from the replica.

PG_VERSION_MAJOR=15
PG_BIN=/usr/lib/postgresql/$PG_VERSION_MAJOR/bin
PG_PORT_PRIMARY=5432
PG_PORT_REPLICA=5433
PG_USER=postgres
PG_PASSWORD=postgres
PG_DATABASES=(sso loyalty notifier apicurio) # created on the primary, replicated
PG_SLOT=stack_replica               # physical slot: the primary keeps WAL the replica still needs

PG_DIR=$STATE_DIR/postgres
PG_PRIMARY_DATA=$PG_DIR/primary
PG_REPLICA_DATA=$PG_DIR/replica
PG_PRIMARY_LOG=$LOG_DIR/postgres-primary.log
PG_REPLICA_LOG=$LOG_DIR/postgres-replica.log

postgres_packages() { echo postgresql postgresql-client; }

as_pg() { runuser -u postgres -- "$@"; }

# pg_sql runs one statement over TCP with the dev password (no unix sockets:
# the clusters listen on 127.0.0.1 only, see pg_write_conf).
pg_sql() {
	local port=$1 sql=$2
	PGPASSWORD=$PG_PASSWORD PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 \
		-h "$HOST" -p "$port" -U "$PG_USER" -d postgres -c "$sql"
}

pg_running() { # data dir; pg_ctl checks postmaster.pid and that the pid lives
	[[ -f $1/postmaster.pid ]] && as_pg "$PG_BIN/pg_ctl" -D "$1" status >/dev/null 2>&1
}

pg_ready() { "$PG_BIN/pg_isready" -q -h "$HOST" -p "$1" -t 2; }

# pg_write_conf (re)writes the settings we own into stack.conf, included at
# the end of postgresql.conf, and pg_hba.conf; rewritten on every `up` so a
# change here reaches existing clusters. pg_basebackup copies both files to
# the replica, which then gets its own port.
pg_write_conf() {
	local data=$1 port=$2
	grep -q "^include_if_exists = 'stack.conf'" "$data/postgresql.conf" ||
		printf "\n# deploy/local/stack settings\ninclude_if_exists = 'stack.conf'\n" >>"$data/postgresql.conf"
	cat >"$data/stack.conf" <<EOF
# Written by deploy/local/stack on every up; edit the script, not this file.
listen_addresses = '$HOST'
port = $port
unix_socket_directories = ''   # TCP only: no socket path under the repo to outgrow 107 bytes
max_connections = 200
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
hot_standby_feedback = on
log_line_prefix = '%m [%p] %q%u@%d '
EOF
	cat >"$data/pg_hba.conf" <<EOF
# Written by deploy/local/stack. Loopback only, password auth for everyone.
local all         all                peer
host  all         all  $HOST/32  scram-sha-256
host  replication all  $HOST/32  scram-sha-256
EOF
	chown postgres:postgres "$data/stack.conf" "$data/pg_hba.conf"
}

# pg_start starts a cluster with pg_ctl (which daemonizes postgres and waits
# until it accepts connections). setsid --wait detaches it from the caller's
# session yet still waits for pg_ctl's verdict.
pg_start() {
	local comp=$1 data=$2 port=$3 logfile=$4
	pg_running "$data" && return 0
	require_port_free "$comp" "$port"
	touch "$logfile"
	chown postgres:postgres "$logfile"
	log "starting $comp on $HOST:$port"
	# pg_ctl's own messages go to the same log as the server's.
	# shellcheck disable=SC2094
	if ! setsid --wait runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$data" -l "$logfile" \
		-w -t 90 -s start >>"$logfile" 2>&1; then
		fail_component "$comp" "$logfile" "pg_ctl start failed"
	fi
}

pg_stop() {
	local comp=$1 data=$2
	pg_running "$data" || return 0
	log "stopping $comp"
	as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w -t 60 -s stop ||
		as_pg "$PG_BIN/pg_ctl" -D "$data" -m immediate -w -t 30 -s stop
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
		if [[ $port == "$PG_PORT_PRIMARY" || $port == "$PG_PORT_REPLICA" ]]; then
			log "stopping Debian's default cluster $ver/$name: it holds port $port, which this stack needs"
			pg_ctlcluster "$ver" "$name" stop || true
		fi
	done < <(pg_lsclusters -h 2>/dev/null)
}

pg_init_primary() {
	[[ -s $PG_PRIMARY_DATA/PG_VERSION ]] && return 1
	log "initializing primary cluster in $PG_PRIMARY_DATA"
	rm -rf "$PG_PRIMARY_DATA" "$PG_REPLICA_DATA" # a replica of an older primary is useless
	install -d -o postgres -g postgres -m 700 "$PG_PRIMARY_DATA"
	local pwfile=$PG_DIR/.pwfile
	printf '%s\n' "$PG_PASSWORD" >"$pwfile"
	chown postgres:postgres "$pwfile"
	chmod 600 "$pwfile"
	if ! as_pg "$PG_BIN/initdb" -D "$PG_PRIMARY_DATA" -U "$PG_USER" --pwfile="$pwfile" \
		--auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
		>>"$PG_PRIMARY_LOG" 2>&1; then
		rm -f "$pwfile"
		fail_component postgres-primary "$PG_PRIMARY_LOG" "initdb failed"
	fi
	rm -f "$pwfile"
	return 0
}

pg_create_databases() {
	local db
	for db in "${PG_DATABASES[@]}"; do
		if [[ -z $(pg_sql "$PG_PORT_PRIMARY" "SELECT 1 FROM pg_database WHERE datname = '$db'") ]]; then
			log "creating database $db"
			pg_sql "$PG_PORT_PRIMARY" "CREATE DATABASE $db" ||
				fail_component postgres-primary "$PG_PRIMARY_LOG" "CREATE DATABASE $db failed"
		fi
	done
}

# pg_init_replica clones the running primary with pg_basebackup: -R writes
# standby.signal and primary_conninfo (with the password, since it is in the
# connection string), -X stream ships the WAL needed to start consistent,
# -C -S creates the replication slot, --checkpoint=fast avoids waiting for a
# spread checkpoint (minutes on an idle primary). It clones into a temp dir first so an
# interrupted clone never looks like a valid replica.
pg_init_replica() {
	[[ -s $PG_REPLICA_DATA/PG_VERSION ]] && return 0
	log "cloning replica from primary into $PG_REPLICA_DATA"
	local tmp=$PG_REPLICA_DATA.tmp
	rm -rf "$tmp"
	install -d -o postgres -g postgres -m 700 "$tmp"
	pg_sql "$PG_PORT_PRIMARY" "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$PG_SLOT' AND NOT active" >/dev/null
	if ! as_pg "$PG_BIN/pg_basebackup" \
		-d "host=$HOST port=$PG_PORT_PRIMARY user=$PG_USER password=$PG_PASSWORD" \
		-D "$tmp" -R -X stream -C -S "$PG_SLOT" --checkpoint=fast >>"$PG_REPLICA_LOG" 2>&1; then
		fail_component postgres-replica "$PG_REPLICA_LOG" "pg_basebackup failed"
	fi
	mv "$tmp" "$PG_REPLICA_DATA"
}

pg_streaming() {
	[[ $(pg_sql "$PG_PORT_PRIMARY" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND application_name <> 'pg_basebackup'" 2>/dev/null) -ge 1 ]]
}

pg_replica_healthy() {
	pg_ready "$PG_PORT_REPLICA" &&
		[[ $(pg_sql "$PG_PORT_REPLICA" "SELECT pg_is_in_recovery()" 2>/dev/null) == t ]] &&
		pg_streaming
}

postgres_healthy() { pg_ready "$PG_PORT_PRIMARY" && pg_replica_healthy; }

# postgres_start brings up primary then replica; it blocks until both are
# ready because everything else (Apicurio's storage, the services) needs them.
postgres_start() {
	[[ -x $PG_BIN/pg_ctl ]] || fail_component postgres "" "$PG_BIN/pg_ctl not found (package postgresql-$PG_VERSION_MAJOR)"
	if postgres_healthy; then return 0; fi
	ensure_traversable postgres "$STATE_DIR"
	install -d -o postgres -g postgres -m 700 "$PG_DIR"
	touch "$PG_PRIMARY_LOG" "$PG_REPLICA_LOG"
	chown postgres:postgres "$PG_PRIMARY_LOG" "$PG_REPLICA_LOG"
	if ! pg_running "$PG_PRIMARY_DATA" || ! pg_running "$PG_REPLICA_DATA"; then
		debian_cluster_quiesce
	fi

	pg_init_primary || true
	pg_write_conf "$PG_PRIMARY_DATA" "$PG_PORT_PRIMARY"
	pg_start postgres-primary "$PG_PRIMARY_DATA" "$PG_PORT_PRIMARY" "$PG_PRIMARY_LOG"
	wait_until postgres-primary 60 - "" "$PG_PRIMARY_LOG" pg_ready "$PG_PORT_PRIMARY"
	# Databases are created on the primary independently of the clone; on an
	# existing replica they simply arrive through streaming.
	pg_create_databases

	pg_init_replica
	pg_write_conf "$PG_REPLICA_DATA" "$PG_PORT_REPLICA"
	pg_start postgres-replica "$PG_REPLICA_DATA" "$PG_PORT_REPLICA" "$PG_REPLICA_LOG"
}

postgres_wait() {
	wait_until postgres-replica 60 - "" "$PG_REPLICA_LOG" pg_replica_healthy
}

postgres_stop() {
	# Replica first: stopping the primary first makes the replica log
	# reconnect errors until it goes down too.
	pg_stop postgres-replica "$PG_REPLICA_DATA"
	pg_stop postgres-primary "$PG_PRIMARY_DATA"
}

postgres_status() {
	local rc=0
	if pg_ready "$PG_PORT_PRIMARY" && [[ $(pg_sql "$PG_PORT_PRIMARY" "SELECT pg_is_in_recovery()" 2>/dev/null) == f ]]; then
		status_line postgres-primary "$HOST:$PG_PORT_PRIMARY" healthy
	else
		status_line postgres-primary "$HOST:$PG_PORT_PRIMARY" down
		rc=1
	fi
	if pg_replica_healthy; then
		status_line postgres-replica "$HOST:$PG_PORT_REPLICA" "healthy (in recovery, streaming)"
	elif pg_ready "$PG_PORT_REPLICA"; then
		status_line postgres-replica "$HOST:$PG_PORT_REPLICA" "down (accepting connections but not streaming)"
		rc=1
	else
		status_line postgres-replica "$HOST:$PG_PORT_REPLICA" down
		rc=1
	fi
	return $rc
}

postgres_where() {
	echo "postgres primary $HOST:$PG_PORT_PRIMARY, replica $HOST:$PG_PORT_REPLICA (user $PG_USER, databases ${PG_DATABASES[*]})"
}

postgres_clean() { rm -rf "$PG_DIR" "$PG_PRIMARY_LOG" "$PG_REPLICA_LOG"; }
