#!/usr/bin/env bash
# Runs once, when the postgres-primary volume is first initialised (the
# official image executes /docker-entrypoint-initdb.d/* against a temporary
# server that listens on the unix socket only). It creates the services'
# databases and the replication role, and lets that role stream WAL over the
# compose network; the replica clones itself with it (replica-entrypoint.sh).
# Same databases as deploy/local (PG_DATABASES in deploy/local/lib/postgres.sh).
set -euo pipefail

: "${REPLICATION_USER:?}" "${REPLICATION_PASSWORD:?}"

psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres --no-password)

for db in sso loyalty notifier apicurio; do
	echo "creating database $db"
	"${psql[@]}" -c "CREATE DATABASE \"$db\""
done

# psql's :'var' quoting keeps the password a literal.
"${psql[@]}" -v user="$REPLICATION_USER" -v pass="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE :"user" WITH LOGIN REPLICATION PASSWORD :'pass';
SQL

# The image's pg_hba.conf lets every user reach every database with a
# password ("host all all all scram-sha-256") but "all" does not cover
# replication connections: allow them for the replication role only. The
# server started after this script reads the file.
echo "host replication $REPLICATION_USER all scram-sha-256" >>"$PGDATA/pg_hba.conf"
