#!/usr/bin/env bash
# Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d):
# the application's role and database, the replication role, and the one pg_hba line that lets
# the replica stream from here.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v app_pw="$MINHBACH_DB_PASSWORD" -v repl_pw="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE minhbach LOGIN PASSWORD :'app_pw';
CREATE ROLE replicator LOGIN REPLICATION PASSWORD :'repl_pw';
CREATE DATABASE minhbach OWNER minhbach;
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
