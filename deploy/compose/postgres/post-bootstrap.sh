#!/usr/bin/env bash
# Patroni's post_bootstrap hook: runs once, on the node that initialised
# the cluster, with the superuser's connection URL as $1. It creates the
# services' databases, the same as deploy/local (PG_DATABASES in
# deploy/local/lib/postgres.sh); replicas get them by streaming.
set -euo pipefail

for db in sso loyalty notifier apicurio; do
	echo "creating database $db"
	psql -v ON_ERROR_STOP=1 -X -q "$1" -c "CREATE DATABASE \"$db\""
done
