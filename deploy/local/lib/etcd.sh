# shellcheck shell=bash
# etcd: the store Patroni keeps the PostgreSQL cluster's leader lock and
# membership in (v3 API). One node locally; production runs three (or five)
# on separate machines so the store survives the loss of one (README, "High
# availability"). Debian's etcd-server, run by us, never by its init script.
#
# Ports are overridable so a second copy of the stack can run beside the
# first: STACK_ETCD_CLIENT_PORT (default 2379), STACK_ETCD_PEER_PORT (2380).

ETCD_CLIENT_PORT=${STACK_ETCD_CLIENT_PORT:-2379}
ETCD_PEER_PORT=${STACK_ETCD_PEER_PORT:-2380}
ETCD_NAME=stack
ETCD_URL=http://$HOST:$ETCD_CLIENT_PORT

ETCD_DIR=$STATE_DIR/etcd
ETCD_PID=$RUN_DIR/etcd.pid
ETCD_LOG=$LOG_DIR/etcd.log

etcd_packages() { echo etcd-server etcd-client; }

etcd_healthy() {
	[[ $(curl -fsS --max-time 2 "$ETCD_URL/health" 2>/dev/null) == *'"health":"true"'* ]]
}

# debian_etcd_quiesce keeps the system-wide etcd (and Patroni) services that
# the Debian packages install from ever starting on their own and taking
# our ports; one the package install started anyway is stopped through its
# own init script, never by name.
debian_etcd_quiesce() {
	local svc
	for svc in etcd patroni; do
		[[ -e /etc/init.d/$svc ]] || continue
		if [[ -d /run/systemd/system ]]; then
			systemctl disable --now "$svc" >/dev/null 2>&1 || true
		else
			update-rc.d "$svc" disable >/dev/null 2>&1 || true
			if [[ $svc == etcd ]] && port_listening "$ETCD_CLIENT_PORT" && /etc/init.d/etcd status >/dev/null 2>&1; then
				log "stopping Debian's system etcd (started by the package install): it holds port $ETCD_CLIENT_PORT"
				/etc/init.d/etcd stop >/dev/null 2>&1 || true
			fi
		fi
	done
}

etcd_start() {
	if pidfile_alive "$ETCD_PID" "$ETCD_DIR"; then return 0; fi
	command -v etcd >/dev/null || fail_component etcd "" "etcd not found (package etcd-server)"
	debian_etcd_quiesce
	require_port_free etcd "$ETCD_CLIENT_PORT"
	require_port_free etcd "$ETCD_PEER_PORT"
	mkdir -p "$ETCD_DIR"
	chmod 700 "$ETCD_DIR"
	log "starting etcd on $HOST:$ETCD_CLIENT_PORT (peer :$ETCD_PEER_PORT)"
	# --initial-cluster-state new is ignored once the data dir holds a
	# member, so the same command line restarts an existing node.
	spawn "$ETCD_PID" "$ETCD_LOG" "$ETCD_DIR" etcd \
		--name "$ETCD_NAME" --data-dir "$ETCD_DIR/data" \
		--listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
		--listen-peer-urls "http://$HOST:$ETCD_PEER_PORT" \
		--initial-advertise-peer-urls "http://$HOST:$ETCD_PEER_PORT" \
		--initial-cluster "$ETCD_NAME=http://$HOST:$ETCD_PEER_PORT" \
		--initial-cluster-state new --initial-cluster-token ssokit-stack \
		--heartbeat-interval 100 --election-timeout 1000 ||
		fail_component etcd "$ETCD_LOG" "etcd did not start"
}

etcd_wait() {
	wait_until etcd 30 "$ETCD_PID" "$ETCD_DIR" "$ETCD_LOG" etcd_healthy
}

etcd_stop() { stop_pidfile etcd "$ETCD_PID" "$ETCD_DIR" 20; }

etcd_status() {
	if etcd_healthy; then
		status_line etcd "$HOST:$ETCD_CLIENT_PORT" healthy
	else
		status_line etcd "$HOST:$ETCD_CLIENT_PORT" down
		return 1
	fi
}

etcd_where() { echo "etcd $ETCD_URL (v3 API, Patroni's store)"; }
etcd_clean() { rm -rf "$ETCD_DIR" "$ETCD_LOG" "$ETCD_PID"; }
