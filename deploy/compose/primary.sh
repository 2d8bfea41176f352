#!/usr/bin/env bash
# The primary's entrypoint (postgres:15 image, started as root): make the WAL archive's
# directory writable by postgres, then the image's own entrypoint with the archiving settings.
set -euo pipefail
install -d -o postgres -g postgres -m 0700 /wal-archive
exec docker-entrypoint.sh postgres \
  -c wal_level=replica \
  -c max_wal_senders=10 \
  -c max_replication_slots=10 \
  -c archive_mode=on \
  -c 'archive_command=test ! -f /wal-archive/%f && cp %p /wal-archive/%f' \
  -c archive_timeout=300
