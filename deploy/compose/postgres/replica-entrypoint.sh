#!/usr/bin/env bash
# Entrypoint of postgres-replica: on first start (empty volume) it clones the
# primary with pg_basebackup, which also writes standby.signal and
# primary_conninfo (-R) and creates a physical replication slot (-C -S) so
# the primary keeps the WAL this replica still needs. It then hands over to
# the image's own entrypoint, which finds an initialised data directory and
# starts postgres as a hot standby that streams from the primary.
#
# The clone goes to a temporary directory first, so an interrupted clone is
# never mistaken for a valid replica on the next start.
set -euo pipefail

: "${PRIMARY_HOST:?}" "${REPLICATION_USER:?}" "${REPLICATION_PASSWORD:?}" "${PGDATA:?}"
PRIMARY_PORT=${PRIMARY_PORT:-5432}
SLOT=${REPLICATION_SLOT:-replica}

if [[ ! -s $PGDATA/PG_VERSION ]]; then
	conninfo="host=$PRIMARY_HOST port=$PRIMARY_PORT user=$REPLICATION_USER password=$REPLICATION_PASSWORD"
	until pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT"; do
		echo "replica: waiting for the primary at $PRIMARY_HOST:$PRIMARY_PORT"
		sleep 1
	done
	# A slot left behind by an earlier replica volume would make -C fail;
	# drop it unless a live replica is using it.
	psql -X -q -v ON_ERROR_STOP=1 "$conninfo dbname=postgres" -v slot="$SLOT" <<'SQL'
SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
 WHERE slot_name = :'slot' AND NOT active;
SQL
	tmp=$PGDATA.clone
	rm -rf "$tmp"
	install -d -o postgres -g postgres -m 700 "$tmp" "$(dirname "$PGDATA")"
	echo "replica: cloning $PRIMARY_HOST:$PRIMARY_PORT into $PGDATA (slot $SLOT)"
	gosu postgres pg_basebackup -d "$conninfo" -D "$tmp" -R -X stream -C -S "$SLOT" --checkpoint=fast
	rm -rf "$PGDATA"
	mv "$tmp" "$PGDATA"
fi

exec docker-entrypoint.sh "$@"
