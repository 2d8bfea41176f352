"""Which read-model statements PostgreSQL may keep one plan for (projections/db.py, Cursor.execute):
an IN list of many ids is planned for its values every time, since a generic plan made while the
table was small stays a sequential scan that gets slower with every row."""

from __future__ import annotations

import uuid

from projections.db import MAX_PREPARED_PARAMS, Cursor, Database

PREPARED = "SELECT count(*) AS n FROM pg_prepared_statements WHERE position('mb_plans' in statement) > 0"


def _run_often(cur: Cursor, ids: list[str]) -> int:
    cur.execute("CREATE TEMPORARY TABLE IF NOT EXISTS mb_plans (line_id TEXT PRIMARY KEY)")
    sql = f"SELECT line_id FROM mb_plans WHERE line_id IN ({', '.join('?' * len(ids))})"
    for _ in range(8):  # psycopg prepares a statement from its fifth run
        cur.execute(sql, ids).fetchall()
    row = cur.execute(PREPARED).fetchone()
    assert row is not None
    return int(row["n"])


def test_an_in_list_of_many_ids_is_never_prepared(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        with db.write() as cur:  # one connection for the whole test: prepared statements are its own
            many = [str(uuid.uuid4()) for _ in range(MAX_PREPARED_PARAMS + 1)]
            assert _run_often(cur, many) == 0
            # A statement of a few parameters is still prepared (so the count above could fail).
            assert _run_often(cur, many[:2]) == 1
    finally:
        db.close()
