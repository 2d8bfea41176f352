"""Figure (d): inclusion proofs over HTTP for a tree of 1,000,000 leaves: p99 latency, 8 clients.

The tree is figure (c)'s: every leaf hash and every perfect node of 1,000,000 synthetic events
(quick: 100,000), computed in memory with `merkle.nodes_after_append` (`merkle.MemoryTree`).
A fresh PostgreSQL database gets the project's schema (`ledger.bootstrap.build`, which also makes
the event tables, then `migrations.apply`), and the two Merkle tables are filled directly with
COPY, as the Merkle projection would have left them: `merkle_leaves` (leaf_index, position =
leaf_index + 1, hex leaf hash) and, of the perfect nodes, those of the tile levels 8, 16, … in
`merkle_nodes` (level, idx, hex hash), in append order (the projection keeps no other: a proof
computes the nodes it needs below a tile level from the level under them). Then
`VACUUM ANALYZE`, as autovacuum would have done to tables that size, so the planner has
statistics. The event table stays empty: the proof endpoint reads only the Merkle tables.

The server is the real one, `minhbach serve` in a subprocess (as in figure (a)), with
MINHBACH_RUN_PROJECTIONS=false so nothing tries to project the empty log. 8 client threads, each
with its own keep-alive `httpx.Client`, send `GET /api/v1/audit/proofs/inclusion?position=P&
tree_size=N` for uniformly random P, 4,000 requests in all (quick: 1,000), as fast as the
answers come back, and record each latency. Every answer must be 200, and every proof is checked
afterwards with `merkle.verify_inclusion` against the root computed in memory.

Baseline: `GET /healthz` (one small SELECT, the cheapest endpoint that touches the database),
measured the same way, from the same clients, once before and once after the proofs; the lower
p99 counts. Target: p99 ≤ 50 ms (see BENCHMARKS.md). For comparison only, the log also shows the
latency of a quarter of the proofs again from a single client, i.e. without queueing.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

import migrations
from bench.clients import describe, get_many, p99
from bench.cpu import CpuMeter
from bench.figures import Figure
from bench.http_receipts import running_server
from domain import merkle
from ledger.bootstrap import build
from ledger.settings import Settings
from projections.merkle import STRIDE

API = "/api/v1"
TARGET_P99_MS = 50.0
WARM_UP_PER_CLIENT = 25
COPY_CHUNK = 50_000

Say = Callable[[str], None]


def measure(db_url: str, work_dir: Path, tree: merkle.MemoryTree, *, requests: int, clients: int,
            say: Say) -> Figure:
    size = tree.size
    data_dir = work_dir / "proofs-data"
    services = build(Settings(database_url=db_url, data_dir=data_dir, run_projections=False))
    try:
        migrations.apply(services.db.url.yoyo_uri())
    finally:
        services.close()
    t0 = time.perf_counter()
    stored = load_tree(db_url, tree)
    say(f"(d) {size:,} leaves and {stored:,} perfect nodes of the tile levels written with COPY"
        f" and VACUUM ANALYZE in {time.perf_counter() - t0:.1f}s; {table_sizes(db_url)}")
    root = tree.root()
    rng = random.Random(6962)
    positions = [rng.randrange(1, size + 1) for _ in range(requests)]
    proof_paths = [f"{API}/audit/proofs/inclusion?position={p}&tree_size={size}" for p in positions]
    with running_server(db_url, work_dir, say, label="(d)", data_name="proofs-data",
                        log_name="server-proofs.log",
                        extra_env={"MINHBACH_RUN_PROJECTIONS": "false"}) as server:
        base = server.base_url
        warm = [f"{API}/audit/proofs/inclusion?position={rng.randrange(1, size + 1)}&tree_size={size}"
                for _ in range(WARM_UP_PER_CLIENT * clients)]
        get_many(base, warm + ["/healthz"] * (WARM_UP_PER_CLIENT * clients), clients=clients)
        say(f"(d) measuring: {requests:,} GET /healthz, {requests:,} GET {API}/audit/proofs/inclusion"
            f" (tree_size={size:,}, random positions), {requests:,} GET /healthz; {clients} clients")
        health1 = get_many(base, ["/healthz"] * requests, clients=clients,
                           meter=CpuMeter(pids={"server": server.pid})).timed
        say(f"(d) /healthz: {describe(health1)}")
        answers = get_many(base, proof_paths, clients=clients,
                           meter=CpuMeter(pids={"server": server.pid}))
        proofs = answers.timed
        say(f"(d) proofs: {describe(proofs)}")
        say(f"(d) proofs: {proofs.cpu} (this process = the {clients} clients)")
        health2 = get_many(base, ["/healthz"] * requests, clients=clients,
                           meter=CpuMeter(pids={"server": server.pid})).timed
        say(f"(d) /healthz again: {describe(health2)}")
        alone = get_many(base, proof_paths[:max(requests // 4, 100)], clients=1).timed
        say(f"(d) proofs from 1 client (no queueing, for comparison): {describe(alone)}")
    checked = check_proofs(positions, answers.bodies, tree, root)
    say(f"(d) all {checked:,} proofs verify (merkle.verify_inclusion) against the root computed in"
        f" memory, {root.hex()[:16]}…")
    baseline = min(p99(health1), p99(health2))
    return Figure(name="inclusion_proof_p99_ms_1m", value=p99(proofs), unit="ms", baseline=baseline,
                  baseline_unit=f"ms (p99 of GET /healthz, same {clients} clients)",
                  target=TARGET_P99_MS, lower_is_better=True)


# ---- loading the tree -------------------------------------------------------------------------

def load_tree(db_url: str, tree: merkle.MemoryTree) -> int:
    """Write the tree as the Merkle projection stores it; returns how many nodes that is."""
    leaves = tree.leaves
    nodes = [(key, h) for key, h in tree.nodes.items() if key[0] and key[0] % STRIDE == 0]
    with psycopg.connect(db_url) as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY merkle_leaves (leaf_index, position, leaf_hash) FROM STDIN") as copy:
                for start in range(0, len(leaves), COPY_CHUNK):
                    copy.write("".join(f"{i}\t{i + 1}\t{h.hex()}\n" for i, h in
                                       enumerate(leaves[start:start + COPY_CHUNK], start)))
            with cur.copy("COPY merkle_nodes (level, idx, hash) FROM STDIN") as copy:
                for start in range(0, len(nodes), COPY_CHUNK):
                    copy.write("".join(f"{level}\t{idx}\t{h.hex()}\n" for (level, idx), h in
                                       nodes[start:start + COPY_CHUNK]))
        conn.commit()
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE merkle_leaves, merkle_nodes")
    return len(nodes)


def table_sizes(db_url: str) -> str:
    with psycopg.connect(db_url, autocommit=True) as conn:
        rows = conn.execute("SELECT relname, pg_total_relation_size(oid) FROM pg_class"
                            " WHERE relname IN ('merkle_leaves', 'merkle_nodes') ORDER BY relname").fetchall()
    return ", ".join(f"{name} {size / 2**20:,.0f} MiB with its indexes" for name, size in rows)


# ---- the clients ------------------------------------------------------------------------------

def check_proofs(positions: list[int], bodies: list[bytes], tree: merkle.MemoryTree, root: bytes) -> int:
    size = tree.size
    for position, body in zip(positions, bodies, strict=True):
        proof = json.loads(body)
        index = position - 1
        ok = (proof["leaf_index"] == index and proof["tree_size"] == size
              and proof["leaf_hash"] == tree.leaves[index].hex()
              and merkle.verify_inclusion(tree.leaves[index], index, size,
                                          [bytes.fromhex(h) for h in proof["audit_path"]], root))
        if not ok:
            raise RuntimeError(f"the proof for position {position} does not verify: {body[:300]!r}")
    return len(bodies)
