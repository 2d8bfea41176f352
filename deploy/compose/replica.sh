#!/usr/bin/env bash
# The replica's entrypoint (postgres:15 image, started as root): on an empty data directory,
# copy the primary with pg_basebackup -R (standby.signal and primary_conninfo written), through
# a replication slot that keeps the WAL the replica has not received; then the image's entrypoint,
# which finds the data directory made and starts a hot standby.
set -euo pipefail
if [[ ! -s $PGDATA/PG_VERSION ]]; then
  install -d -o postgres -g postgres -m 0700 "$PGDATA"
  until pg_isready -q -h primary -p 5432; do sleep 1; done
  export PGPASSWORD=$REPLICATION_PASSWORD
  base=(pg_basebackup -h primary -p 5432 -U replicator -D "$PGDATA" -R -X stream --checkpoint=fast)
  # -C makes the slot; a replica made again (its volume wiped) finds the slot already there.
  gosu postgres "${base[@]}" -C -S "$REPLICA_SLOT" || {
    find "$PGDATA" -mindepth 1 -delete
    gosu postgres "${base[@]}" -S "$REPLICA_SLOT"
  }
fi
exec docker-entrypoint.sh postgres -c hot_standby=on
