#!/usr/bin/env bash
# A base backup of the primary, checked against its manifest, packed, and the older ones pruned
# with the archived WAL that only they needed (docs/deploy.md, "Backups").
#   BACKUP_DIR   where base backups go          (/var/backups/minhbach)
#   WAL_ARCHIVE  the primary's archive_command target, pruned too; empty: leave it alone
#   KEEP         base backups to keep           (7)
# Connection: the usual libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD or ~/.pgpass); the
# role needs REPLICATION. Run as postgres (the systemd timer does).
set -euo pipefail
BACKUP_DIR=${BACKUP_DIR:-/var/backups/minhbach}
WAL_ARCHIVE=${WAL_ARCHIVE:-}
KEEP=${KEEP:-7}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
((KEEP >= 1)) || { echo "KEEP must be at least 1" >&2; exit 2; }

stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=$BACKUP_DIR/.base-$stamp
mkdir -p "$BACKUP_DIR"
trap 'rm -rf "$work"' EXIT
"$PG_BIN/pg_basebackup" -D "$work" -Fp -X stream --checkpoint=fast --manifest-checksums=SHA256 \
  --label "minhbach $stamp"
"$PG_BIN/pg_verifybackup" "$work"
# The first WAL file this backup needs: archived WAL before it serves no kept backup.
start_wal=$(sed -n 's/^START WAL LOCATION: .* (file \([0-9A-F]\{24\}\))$/\1/p' "$work/backup_label")
tar -C "$work" -czf "$BACKUP_DIR/base-$stamp.tar.gz.partial" .
echo "$start_wal" >"$BACKUP_DIR/base-$stamp.start-wal"
mv "$BACKUP_DIR/base-$stamp.tar.gz.partial" "$BACKUP_DIR/base-$stamp.tar.gz"
echo "base backup $BACKUP_DIR/base-$stamp.tar.gz (starts at WAL $start_wal)"

mapfile -t all < <(ls -1 "$BACKUP_DIR" | grep -E '^base-[0-9TZ]+\.tar\.gz$' | sort)
if ((${#all[@]} > KEEP)); then
  for old in "${all[@]:0:${#all[@]}-KEEP}"; do
    rm -f "$BACKUP_DIR/$old" "$BACKUP_DIR/${old%.tar.gz}.start-wal"
    echo "pruned $old"
  done
fi
if [[ -n $WAL_ARCHIVE ]]; then
  oldest=$(ls -1 "$BACKUP_DIR" | grep -E '^base-[0-9TZ]+\.start-wal$' | sort | head -1)
  "$PG_BIN/pg_archivecleanup" "$WAL_ARCHIVE" "$(cat "$BACKUP_DIR/$oldest")"
fi
