# shellcheck shell=bash
# Apicurio Registry 3 as the Schema Registry, on :8081 (management :9001).
# Clients use its Confluent-compatible API at /apis/ccompat/v7. Storage is
# the local PostgreSQL primary (database "apicurio"), so registered schemas
# and their ids survive restarts just like the Kafka topics that reference
# them.

APICURIO_VERSION=3.3.3
APICURIO_PORT=8081
APICURIO_MGMT_PORT=9001
APICURIO_HEAP=${APICURIO_HEAP:-384m}

APICURIO_CACHE=$CACHE_DIR/apicurio-$APICURIO_VERSION
APICURIO_APP=$APICURIO_CACHE/app
APICURIO_DIR=$STATE_DIR/apicurio
APICURIO_PID=$RUN_DIR/apicurio.pid
APICURIO_LOG=$LOG_DIR/apicurio.log
APICURIO_FETCH_LOG=$LOG_DIR/apicurio-fetch.log
APICURIO_URL=http://$HOST:$APICURIO_PORT
SCHEMA_REGISTRY_URL=$APICURIO_URL/apis/ccompat/v7

apicurio_packages() { echo curl; }

apicurio_fetched() { [[ -f $APICURIO_APP/.complete ]]; }

# apicurio_fetch downloads the packaged Quarkus app (Maven artifact with
# classifier "all", type tar.gz) and unpacks it. Since 3.3 the archive has
# no top-level folder: quarkus-run.jar sits at its root.
apicurio_fetch() {
	apicurio_fetched && return 0
	mkdir -p "$APICURIO_CACHE"
	local tgz=$APICURIO_CACHE/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz
	if [[ ! -s $tgz ]]; then
		mvn_batch "org.apache.maven.plugins:maven-dependency-plugin:$MAVEN_DEP_PLUGIN:copy" \
			-Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
			-DoutputDirectory="$APICURIO_CACHE" || return 1
	fi
	rm -rf "$APICURIO_APP.tmp"
	mkdir -p "$APICURIO_APP.tmp"
	tar -xzf "$tgz" -C "$APICURIO_APP.tmp" || return 1
	[[ -f $APICURIO_APP.tmp/quarkus-run.jar ]] || {
		echo "quarkus-run.jar not found at the root of $tgz" >&2
		return 1
	}
	touch "$APICURIO_APP.tmp/.complete"
	rm -rf "$APICURIO_APP"
	mv "$APICURIO_APP.tmp" "$APICURIO_APP"
	rm -f "$tgz" # 160 MB; ~/.m2 keeps a copy anyway
}

apicurio_healthy() {
	curl -fsS -m 3 "$SCHEMA_REGISTRY_URL/subjects" 2>/dev/null | grep -q '^\['
}

# Settings, and why:
# - loopback binding, management (health/metrics) moved off 9000;
# - SQL storage on the local primary;
# - ccompat legacy id mode: confluent-kafka-go puts the id returned by
#   POST /subjects/{s}/versions into every message and resolves it with
#   GET /schemas/ids/{id}. With legacy mode both are Apicurio's global id,
#   which identifies one (subject, version) like Confluent's id does;
# - canonical hash: registering an already registered schema that differs
#   only in formatting returns the existing version instead of a new one;
# - deletion enabled so tests can remove the subjects they created
#   (DELETE /subjects/{s} and versions are refused otherwise).
apicurio_start() {
	if pidfile_alive "$APICURIO_PID" "$APICURIO_APP"; then return 0; fi
	apicurio_fetched || fail_component apicurio "$APICURIO_FETCH_LOG" "apicurio app is not in $APICURIO_APP"
	require_port_free apicurio "$APICURIO_PORT"
	require_port_free apicurio "$APICURIO_MGMT_PORT"
	# Apicurio 3.3 is compiled for Java 21 (class file 65); Java 17 fails
	# with UnsupportedClassVersionError.
	local java
	java=$(find_java 21) || fail_component apicurio "" \
		"needs Java 21 or newer (set JAVA_HOME or install a JDK under /usr/lib/jvm); only $(java -version 2>&1 | head -n 1) found"
	mkdir -p "$APICURIO_DIR"
	log "starting apicurio registry on $HOST:$APICURIO_PORT (management $HOST:$APICURIO_MGMT_PORT)"
	spawn "$APICURIO_PID" "$APICURIO_LOG" "$APICURIO_DIR" \
		"$java" -Xms128m -Xmx"$APICURIO_HEAP" -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
		-Djava.io.tmpdir="$APICURIO_DIR" \
		-Dquarkus.http.host="$HOST" -Dquarkus.http.port="$APICURIO_PORT" \
		-Dquarkus.management.host="$HOST" -Dquarkus.management.port="$APICURIO_MGMT_PORT" \
		-Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=postgresql \
		-Dapicurio.datasource.url="jdbc:postgresql://$PG_JDBC_HOSTS/apicurio?targetServerType=primary" \
		-Dapicurio.datasource.username="$PG_USER" -Dapicurio.datasource.password="$PG_PASSWORD" \
		-Dapicurio.ccompat.legacy-id-mode.enabled=true \
		-Dapicurio.ccompat.use-canonical-hash=true \
		-Dapicurio.ccompat.max-subjects=10000 \
		-Dapicurio.rest.deletion.group.enabled=true \
		-Dapicurio.rest.deletion.artifact.enabled=true \
		-Dapicurio.rest.deletion.artifact-version.enabled=true \
		-jar "$APICURIO_APP/quarkus-run.jar" ||
		fail_component apicurio "$APICURIO_LOG" "could not spawn the registry"
}

apicurio_wait() {
	wait_until apicurio "${APICURIO_READY_TIMEOUT:-150}" "$APICURIO_PID" "$APICURIO_APP" "$APICURIO_LOG" apicurio_healthy
}

apicurio_stop() { stop_pidfile apicurio "$APICURIO_PID" "$APICURIO_APP" 30; }

apicurio_status() {
	if apicurio_healthy; then
		status_line apicurio "$SCHEMA_REGISTRY_URL" healthy
	else
		status_line apicurio "$SCHEMA_REGISTRY_URL" down
		return 1
	fi
}

apicurio_where() { echo "apicurio $SCHEMA_REGISTRY_URL (management $HOST:$APICURIO_MGMT_PORT)"; }

# Schemas live in the "apicurio" database, which `clean` removes with the
# rest of PostgreSQL's data.
apicurio_clean() { rm -rf "$APICURIO_DIR" "$APICURIO_LOG" "$APICURIO_FETCH_LOG" "$APICURIO_PID"; }
