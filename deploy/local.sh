#!/usr/bin/env bash
# A whole province on one Debian machine, from nothing: a PostgreSQL primary and a streaming
# replica (two new clusters of Debian's postgresql-common, made with pg_createcluster and
# pg_basebackup -R), `minhbach serve --workers N` reading public pages from the replica, one
# `minhbach project` worker (it also signs the tree heads), and the witnesses when this
# version has `minhbach witness`. Walk-through: docs/deploy.md.
#
#   deploy/local.sh [start] [--demo]   make what is missing, start what is stopped (idempotent)
#   deploy/local.sh status             what runs, and where
#   deploy/local.sh stop               stop the processes and the two clusters (data kept)
#   deploy/local.sh backup             a base backup of the primary (deploy/backup.sh)
#   deploy/local.sh drill              restore the newest base backup + archived WAL into a scratch
#                                      cluster, `minhbach audit verify` it, compare its tree head
#   deploy/local.sh destroy            stop, drop the clusters, delete the state directory
#
# Run as root (pg_createcluster, runuser). Every choice comes from the environment:
#   MINHBACH_LOCAL_NAME          prefix of the clusters' names (minhbach: minhbach_primary, minhbach_replica)
#   MINHBACH_LOCAL_PRIMARY_PORT  5433      MINHBACH_LOCAL_REPLICA_PORT  5434
#   MINHBACH_LOCAL_API_PORT      8080      MINHBACH_LOCAL_API_WORKERS   2
#   MINHBACH_LOCAL_WITNESSES     2 (how many; 0 for none)   MINHBACH_LOCAL_WITNESS_QUORUM 1
#   MINHBACH_LOCAL_STATE         <repo>/var/local-deploy (env file, keys, token, pids, logs)
#   MINHBACH_LOCAL_DEMO          1 to load the demo data (same as --demo)
#   MINHBACH_BIN                 <repo>/.venv/bin/minhbach
#   MINHBACH_LOCAL_PG_VERSION    the newest installed under /usr/lib/postgresql
#   MINHBACH_LOCAL_DRILL_PORT    5435 (the restore drill's scratch cluster, dropped after it)
# The main cluster (5432) is never touched: only the two clusters named above are made,
# configured, started, stopped and dropped.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NAME=${MINHBACH_LOCAL_NAME:-minhbach}
PRIMARY_PORT=${MINHBACH_LOCAL_PRIMARY_PORT:-5433}
REPLICA_PORT=${MINHBACH_LOCAL_REPLICA_PORT:-5434}
API_PORT=${MINHBACH_LOCAL_API_PORT:-8080}
API_WORKERS=${MINHBACH_LOCAL_API_WORKERS:-2}
WITNESSES=${MINHBACH_LOCAL_WITNESSES:-2}
WITNESS_QUORUM=${MINHBACH_LOCAL_WITNESS_QUORUM:-1}
STATE=${MINHBACH_LOCAL_STATE:-$REPO/var/local-deploy}
DEMO=${MINHBACH_LOCAL_DEMO:-0}
MINHBACH=${MINHBACH_BIN:-$REPO/.venv/bin/minhbach}
PYTHON=$(dirname "$MINHBACH")/python
PG_VERSION=${MINHBACH_LOCAL_PG_VERSION:-$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)}
PRIMARY=${NAME}_primary
REPLICA=${NAME}_replica
DB=minhbach
APP_ROLE=minhbach
REPL_ROLE=replicator
# WAL archive of the primary: postgres writes it, so it lives where postgres may write.
ARCHIVE=/var/lib/postgresql/$PG_VERSION/${NAME}_wal_archive
BACKUPS=/var/lib/postgresql/$PG_VERSION/${NAME}_backups
DRILL=${NAME}_drill
DRILL_PORT=${MINHBACH_LOCAL_DRILL_PORT:-5435}
READY_TIMEOUT_S=${MINHBACH_LOCAL_READY_TIMEOUT_S:-90}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'local.sh: %s\n' "$*" >&2; exit 1; }

preflight() {
  [[ $(id -u) -eq 0 ]] || die "run as root (pg_createcluster and runuser need it)"
  command -v pg_createcluster >/dev/null || die "pg_createcluster missing: apt-get install postgresql-common postgresql-$PG_VERSION"
  command -v runuser >/dev/null || die "runuser missing (util-linux)"
  [[ -n $PG_VERSION && -x /usr/lib/postgresql/$PG_VERSION/bin/pg_basebackup ]] || die "no PostgreSQL server under /usr/lib/postgresql"
  [[ -x $MINHBACH ]] || die "$MINHBACH missing: make venv (or set MINHBACH_BIN)"
  [[ $PRIMARY_PORT != 5432 && $REPLICA_PORT != 5432 ]] || die "5432 is the main cluster's: pick other ports"
}

as_postgres() { (cd / && runuser -u postgres -- "$@"); }
cluster_exists() { pg_lsclusters -h "$PG_VERSION" "$1" >/dev/null 2>&1; }
drop_cluster() {  # pg_dropcluster leaves the files it did not make (our conf.d file): those too
  if cluster_exists "$1"; then say "dropping cluster $PG_VERSION/$1"; pg_dropcluster --stop "$PG_VERSION" "$1"; fi
  rm -rf "/etc/postgresql/$PG_VERSION/$1"
}
cluster_online() { pg_lsclusters -h "$PG_VERSION" "$1" 2>/dev/null | awk '{print $4}' | grep -q '^online'; }
psql_primary() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PRIMARY_PORT" "$@"; }

secret() {  # a password made once, kept in the state directory (0600)
  local file=$STATE/secrets/$1
  if [[ ! -s $file ]]; then
    (umask 077; "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(24))' >"$file")
  fi
  cat "$file"
}

wait_for() {  # wait_for DESCRIPTION COMMAND...: PostgreSQL and HTTP offer nothing but polling
  local what=$1 deadline=$((SECONDS + READY_TIMEOUT_S)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out waiting for $what"
    sleep 0.2
  done
}

start_cluster() {
  cluster_online "$1" || pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$1" start
}

make_primary() {
  local conf=/etc/postgresql/$PG_VERSION/$PRIMARY
  if ! cluster_exists "$PRIMARY"; then
    say "creating cluster $PG_VERSION/$PRIMARY on port $PRIMARY_PORT"
    pg_createcluster "$PG_VERSION" "$PRIMARY" -p "$PRIMARY_PORT" -- \
      --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  fi
  install -d -o postgres -g postgres -m 0700 "$ARCHIVE"
  # Debian's postgresql.conf reads conf.d/: our settings stay apart from the generated file.
  cat >"$conf/conf.d/minhbach.conf" <<EOF
# written by deploy/local.sh
listen_addresses = '127.0.0.1'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
archive_mode = on
archive_command = 'test ! -f $ARCHIVE/%f && cp %p $ARCHIVE/%f'
archive_timeout = 300
EOF
  # The one cluster that accepts replication connections: only from the replicator role.
  cat >"$conf/pg_hba.conf" <<EOF
# written by deploy/local.sh
local   all          postgres                   peer
host    $DB     $APP_ROLE   127.0.0.1/32   scram-sha-256
host    replication  $REPL_ROLE  127.0.0.1/32   scram-sha-256
EOF
  chown postgres:postgres "$conf/conf.d/minhbach.conf" "$conf/pg_hba.conf"
  start_cluster "$PRIMARY"
  pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PRIMARY" reload
  wait_for "the primary" as_postgres psql -X -p "$PRIMARY_PORT" -c 'SELECT 1'
  local app_pw repl_pw
  app_pw=$(secret db.password)
  repl_pw=$(secret replication.password)
  psql_primary -v app_pw="$app_pw" -v repl_pw="$repl_pw" <<EOF
SELECT format('CREATE ROLE %I LOGIN', '$APP_ROLE') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP_ROLE') \gexec
SELECT format('CREATE ROLE %I LOGIN REPLICATION', '$REPL_ROLE') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$REPL_ROLE') \gexec
ALTER ROLE $APP_ROLE PASSWORD :'app_pw';
ALTER ROLE $REPL_ROLE PASSWORD :'repl_pw';
SELECT format('CREATE DATABASE %I OWNER %I', '$DB', '$APP_ROLE') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB') \gexec
EOF
}

make_replica() {
  local conf=/etc/postgresql/$PG_VERSION/$REPLICA data=/var/lib/postgresql/$PG_VERSION/$REPLICA
  if cluster_exists "$REPLICA" && [[ ! -f $data/standby.signal ]]; then
    say "cluster $REPLICA exists but is no replica (an interrupted run): making it again"
    drop_cluster "$REPLICA"
  fi
  if ! cluster_exists "$REPLICA"; then
    say "creating cluster $PG_VERSION/$REPLICA on port $REPLICA_PORT from a base backup of the primary"
    pg_createcluster "$PG_VERSION" "$REPLICA" -p "$REPLICA_PORT" -- \
      --auth-local=peer --auth-host=scram-sha-256 >/dev/null
    # Keep Debian's configuration in /etc; replace the fresh data directory with the primary's
    # copy. -R writes standby.signal and primary_conninfo, -C -S a slot that keeps the WAL the
    # replica has not received yet.
    find "$data" -mindepth 1 -delete
    # A slot left by an interrupted run would refuse -C.
    psql_primary -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                     WHERE slot_name = '$REPLICA'" >/dev/null
    as_postgres env PGPASSWORD="$(secret replication.password)" \
      "/usr/lib/postgresql/$PG_VERSION/bin/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" \
      -U "$REPL_ROLE" -D "$data" -R -X stream -C -S "$REPLICA" --checkpoint=fast
  fi
  cat >"$conf/conf.d/minhbach.conf" <<EOF
# written by deploy/local.sh
listen_addresses = '127.0.0.1'
hot_standby = on
EOF
  # Reads only: no replication line here.
  cat >"$conf/pg_hba.conf" <<EOF
# written by deploy/local.sh
local   all          postgres                   peer
host    $DB     $APP_ROLE   127.0.0.1/32   scram-sha-256
EOF
  chown postgres:postgres "$conf/conf.d/minhbach.conf" "$conf/pg_hba.conf"
  start_cluster "$REPLICA"
  pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$REPLICA" reload
  wait_for "the replica to stream" replica_streams
}

replica_streams() {
  [[ $(as_postgres psql -X -At -p "$REPLICA_PORT" -c \
       "SELECT pg_is_in_recovery() AND EXISTS (SELECT FROM pg_stat_wal_receiver WHERE status = 'streaming')") == t ]]
}

has_witness() { "$MINHBACH" witness --help >/dev/null 2>&1; }

witness_public_key() {  # the Ed25519 public key of a 32-byte raw private key file, in hex
  "$PYTHON" - "$1" <<'EOF'
import sys
from pathlib import Path
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
key = Ed25519PrivateKey.from_private_bytes(Path(sys.argv[1]).read_bytes())
print(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex())
EOF
}

write_env() {
  local app_pw witnesses="" i key
  app_pw=$(secret db.password)
  if has_witness && ((WITNESSES > 0)); then
    for ((i = 1; i <= WITNESSES; i++)); do
      install -d -m 0700 "$STATE/witness$i"
      key=$STATE/witness$i/witness.key
      # Each witness's own key (a partner organisation keeps it); made here so the ledger can
      # list the witnesses' public keys before any of them starts.
      [[ -s $key ]] || (umask 077; head -c 32 /dev/urandom >"$key")
      witnesses+="${witnesses:+;}local.witness/w$i=$(witness_public_key "$key")"
    done
  fi
  (umask 077; cat >"$STATE/minhbach.env" <<EOF
# written by deploy/local.sh; read by every minhbach process it starts
MINHBACH_DATABASE_URL=postgresql://$APP_ROLE:$app_pw@127.0.0.1:$PRIMARY_PORT/$DB
MINHBACH_READ_DATABASE_URL=postgresql://$APP_ROLE:$app_pw@127.0.0.1:$REPLICA_PORT/$DB
MINHBACH_DATA_DIR=$STATE/data
MINHBACH_RUN_PROJECTIONS=false
EOF
  if [[ -n $witnesses ]]; then
    printf 'MINHBACH_WITNESSES=%s\nMINHBACH_WITNESS_QUORUM=%s\n' "$witnesses" \
      "$((WITNESS_QUORUM > WITNESSES ? WITNESSES : WITNESS_QUORUM))" >>"$STATE/minhbach.env"
  fi)
}

deployment_env() {  # fills ENV_ARGS: env(1) arguments with the deployment's settings only
  ENV_ARGS=()
  local var line
  for var in $(compgen -e | grep '^MINHBACH_' || true); do ENV_ARGS+=(-u "$var"); done
  while IFS= read -r line; do
    [[ -z $line || $line == \#* ]] || ENV_ARGS+=("$line")
  done <"${STATE_ENV:-$STATE/minhbach.env}"
}

mb() {  # a minhbach command with the deployment's settings and no other MINHBACH_* of ours
  deployment_env
  (cd "$STATE" && env "${ENV_ARGS[@]}" "$MINHBACH" "$@")
}

running() { [[ -s $STATE/run/$1.pid ]] && kill -0 "$(cat "$STATE/run/$1.pid")" 2>/dev/null; }

start_bg() {  # start_bg NAME ARGS...: a minhbach process in its own session, pid and log kept
  local name=$1; shift
  if running "$name"; then say "$name runs (pid $(cat "$STATE/run/$name.pid"))"; return; fi
  say "starting $name: minhbach $*"
  deployment_env
  # setsid: the process leads its own group, so stop reaches uvicorn's worker children too
  # (a background job of a script is no group leader, so setsid execs in place: $! is its pid).
  (cd "$STATE" && exec setsid env "${ENV_ARGS[@]}" "$MINHBACH" "$@" \
     >>"$STATE/log/$name.log" 2>&1 </dev/null) &
  echo $! >"$STATE/run/$name.pid"
}

api_ready() { curl -fsS "http://127.0.0.1:$API_PORT/readyz" >/dev/null; }

start() {
  preflight
  install -d -m 0700 "$STATE" "$STATE/secrets" "$STATE/data"
  install -d "$STATE/run" "$STATE/log"
  make_primary
  make_replica
  write_env
  say "migrating"
  mb migrate
  if [[ ! -s $STATE/secrets/admin.token ]]; then
    # Made once: a second `token create` for the same name would revoke the first.
    (umask 077; mb token create --name local-admin --role admin | tail -1 >"$STATE/secrets/admin.token")
  fi
  if [[ $DEMO == 1 ]]; then say "loading the demo data"; mb demo; fi
  start_bg projector project
  start_bg api serve --host 127.0.0.1 --port "$API_PORT" --workers "$API_WORKERS"
  wait_for "the API (see $STATE/log/api.log)" api_ready
  if has_witness && ((WITNESSES > 0)); then
    local log_key i
    log_key=$(curl -fsS "http://127.0.0.1:$API_PORT/api/v1/audit/public-key" |
              "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["public_key"])')
    for ((i = 1; i <= WITNESSES; i++)); do
      start_bg "witness$i" witness --ledger "http://127.0.0.1:$API_PORT" --name "local.witness/w$i" \
        --log-key "$log_key" --key "$STATE/witness$i/witness.key" \
        --state "$STATE/witness$i/witness.json" --interval 2
    done
  else
    say "no witnesses: this minhbach has no 'witness' command (or MINHBACH_LOCAL_WITNESSES=0)"
  fi
  status
  cat <<EOF

public site   http://127.0.0.1:$API_PORT/          (read from the replica: see X-Read-From)
API docs      http://127.0.0.1:$API_PORT/docs
readiness     http://127.0.0.1:$API_PORT/readyz
admin token   $STATE/secrets/admin.token
settings      $STATE/minhbach.env   (logs: $STATE/log/, keys: $STATE/data/)
stop          $0 stop        remove everything: $0 destroy
EOF
}

status() {
  pg_lsclusters "$PG_VERSION" 2>/dev/null | awk -v a="$PRIMARY" -v b="$REPLICA" 'NR == 1 || $2 == a || $2 == b' >&2 || true
  local pidfile name
  for pidfile in "$STATE"/run/*.pid; do
    [[ -e $pidfile ]] || continue
    name=$(basename "$pidfile" .pid)
    if running "$name"; then echo "$name: running, pid $(cat "$pidfile")" >&2
    else echo "$name: stopped" >&2; fi
  done
}

stop_processes() {
  local pidfile pid deadline
  for pidfile in "$STATE"/run/*.pid; do
    [[ -e $pidfile ]] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      say "stopping $(basename "$pidfile" .pid) (pid $pid)"
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 30))
      while kill -0 -- "-$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}

stop() {
  [[ -d $STATE/run ]] && stop_processes
  local c
  for c in "$REPLICA" "$PRIMARY"; do
    if cluster_online "$c"; then pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$c" stop; fi
  done
}

destroy() {
  stop
  local c
  for c in "$REPLICA" "$PRIMARY"; do
    drop_cluster "$c"
  done
  drop_cluster "$DRILL"
  rm -rf "$ARCHIVE" "$BACKUPS" "$STATE"
}

backup() {
  preflight
  install -d -o postgres -g postgres -m 0700 "$BACKUPS"
  as_postgres env BACKUP_DIR="$BACKUPS" WAL_ARCHIVE="$ARCHIVE" KEEP="${MINHBACH_LOCAL_KEEP:-3}" \
    PG_BIN="/usr/lib/postgresql/$PG_VERSION/bin" PGHOST=127.0.0.1 PGPORT="$PRIMARY_PORT" \
    PGUSER="$REPL_ROLE" PGPASSWORD="$(secret replication.password)" "$REPO/deploy/backup.sh"
}

drill_recovered() {
  [[ $(as_postgres psql -X -At -p "$DRILL_PORT" -c "SELECT NOT pg_is_in_recovery()") == t ]]
}

wal_archived() {  # wal_archived FILE: the archiver has copied FILE (or a later one)
  [[ $(psql_primary -At -c "SELECT coalesce(last_archived_wal, '') >= '$1' FROM pg_stat_archiver") == t ]]
}

drill() {
  preflight
  local latest data=/var/lib/postgresql/$PG_VERSION/$DRILL conf=/etc/postgresql/$PG_VERSION/$DRILL
  latest=$(ls -1 "$BACKUPS"/base-*.tar.gz 2>/dev/null | sort | tail -1)
  [[ -n $latest ]] || die "no base backup in $BACKUPS: run $0 backup first"
  # Close the current WAL segment, so the archive holds every commit made until now.
  local segment
  segment=$(psql_primary -At -c "SELECT pg_walfile_name(pg_switch_wal())")
  wait_for "WAL $segment to be archived" wal_archived "$segment"
  drop_cluster "$DRILL"
  say "restoring $latest and the archived WAL into cluster $PG_VERSION/$DRILL on port $DRILL_PORT"
  pg_createcluster "$PG_VERSION" "$DRILL" -p "$DRILL_PORT" -- \
    --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  find "$data" -mindepth 1 -delete
  as_postgres tar -C "$data" -xzf "$latest"
  cat >"$conf/conf.d/minhbach.conf" <<EOF
# written by deploy/local.sh drill: recover from the archive to its end, then promote
listen_addresses = '127.0.0.1'
restore_command = 'cp $ARCHIVE/%f %p'
recovery_target_action = 'promote'
archive_mode = off
EOF
  cp "/etc/postgresql/$PG_VERSION/$REPLICA/pg_hba.conf" "$conf/pg_hba.conf"
  chown postgres:postgres "$conf/conf.d/minhbach.conf" "$conf/pg_hba.conf"
  as_postgres touch "$data/recovery.signal"
  pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$DRILL" start
  wait_for "the drill cluster to finish recovery" drill_recovered
  local head on_primary rc=0
  head=$(as_postgres psql -X -At -p "$DRILL_PORT" -d "$DB" -c \
         "SELECT tree_size || ' ' || root_hash FROM tree_heads ORDER BY tree_size DESC LIMIT 1")
  [[ -n $head ]] || die "the restored database has no signed tree head"
  on_primary=$(psql_primary -d "$DB" -At -c \
         "SELECT tree_size || ' ' || root_hash FROM tree_heads WHERE tree_size = ${head%% *}")
  echo "restored tree head: size ${head%% *}, root ${head#* }"
  if [[ $on_primary != "$head" ]]; then echo "MISMATCH: the primary has '$on_primary'"; rc=1
  else echo "the primary signed the same head"; fi
  say "minhbach audit verify against the restored database"
  sed -e "s|^\(MINHBACH_DATABASE_URL=.*\):$PRIMARY_PORT/|\1:$DRILL_PORT/|" \
      -e '/^MINHBACH_READ_DATABASE_URL=/d' "$STATE/minhbach.env" >"$STATE/drill.env"
  chmod 600 "$STATE/drill.env"
  STATE_ENV=$STATE/drill.env mb audit verify || rc=1
  rm -f "$STATE/drill.env"
  if [[ ${MINHBACH_LOCAL_KEEP_DRILL:-0} != 1 ]]; then drop_cluster "$DRILL"; fi
  return "$rc"
}

case ${1:-start} in
  start) [[ ${2:-} == --demo ]] && DEMO=1; start ;;
  status) status ;;
  stop) stop ;;
  backup) backup ;;
  drill) drill ;;
  destroy) destroy ;;
  *) die "usage: $0 [start [--demo]|status|backup|drill|stop|destroy]" ;;
esac
