"""The verifiable log: proofs over HTTP, signed heads, and `audit verify` catching tampering."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.signing import verify_head
from domain import merkle, tiles
from domain.leaf import leaf as leaf_of
from domain.leaf import sealed_digest
from domain.meta import Context
from ledger.audit import replay_balances, verify
from ledger.bootstrap import CompositionRoot
from tests.helpers import communes, donor, get, post, receipt

CTX = Context(actor="test", role="finance", request_id="audit")


def small_ledger(client: TestClient, services: CompositionRoot, fin: str, n: int = 6) -> list[dict[str, Any]]:
    d = donor(client, fin, name="Trần Thị Hồng")
    made = [receipt(client, fin, d, 100_000 * (i + 1)) for i in range(n)]
    post(client, "/allocations", fin, {"fund": "campaign", "season": "2021",
                                       "commune": communes(services)[0], "category": "other",
                                       "amount_vnd": 150_000, "decision_ref": "QĐ 9"})
    services.runner.catch_up()
    return made


def test_proofs_over_http_verify_against_signed_heads(client: TestClient, services: CompositionRoot,
                                                       tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    made = small_ledger(client, services, fin)
    first = services.tree_heads.publish()
    assert first is not None
    more = small_ledger(client, services, fin, n=3)
    second = services.tree_heads.publish()
    assert second is not None and second["tree_size"] > first["tree_size"]

    key = get(client, "/audit/public-key")
    assert key["algorithm"] == "Ed25519"
    assert get(client, "/audit/tree-head") == second
    assert get(client, "/public/summary")["tree_head"] == second
    heads = get(client, "/audit/tree-heads")["items"]
    assert heads == [first, second]
    assert all(verify_head(key["public_key"], h) for h in heads)
    forged = dict(second, root_hash=first["root_hash"])
    assert not verify_head(key["public_key"], forged)

    for r in (made[0], more[-1]):
        public = get(client, f"/public/donations/{r['reference']}")
        proof = public["inclusion_proof"]
        assert proof["tree_size"] == second["tree_size"]
        # The answer carries the leaf bytes, never the stored event; the facts are the leaf's.
        data = base64.b64decode(public["leaf"])
        assert merkle.leaf_hash(data).hex() == proof["leaf_hash"]
        assert public["proof"] == proof
        leaf = json.loads(data)
        assert sorted(leaf) == ["position", "public", "sealed", "topic"]
        assert leaf["public"] == public["facts"]
        assert leaf["public"]["reference"] == r["reference"] == public["reference"]
        assert leaf["public"]["amount_vnd"] == public["amount_vnd"]
        assert leaf["public"]["donor"] == public["donor"] == "Trần Thị Hồng"
        assert "state" not in public
        assert merkle.verify_inclusion(bytes.fromhex(proof["leaf_hash"]), proof["leaf_index"],
                                       proof["tree_size"], [bytes.fromhex(h) for h in proof["audit_path"]],
                                       bytes.fromhex(second["root_hash"]))

    old = get(client, "/audit/proofs/inclusion", position=made[0]["position"],
              tree_size=first["tree_size"])
    assert merkle.verify_inclusion(bytes.fromhex(old["leaf_hash"]), old["leaf_index"],
                                   old["tree_size"], [bytes.fromhex(h) for h in old["audit_path"]],
                                   bytes.fromhex(first["root_hash"]))
    consistency = get(client, "/audit/proofs/consistency", first=first["tree_size"],
                      second=second["tree_size"])
    assert merkle.verify_consistency(first["tree_size"], second["tree_size"],
                                     bytes.fromhex(first["root_hash"]),
                                     bytes.fromhex(second["root_hash"]),
                                     [bytes.fromhex(h) for h in consistency["proof"]])

    events = get(client, "/audit/events", tokens["auditor"], after=0, limit=3)
    assert [e["leaf_index"] for e in events["items"]] == [0, 1, 2]
    for e in events["items"]:
        data = base64.b64decode(e["leaf"])
        assert merkle.leaf_hash(data).hex() == e["leaf_hash"]
        rebuilt = leaf_of(e["position"], e["originator_id"], e["originator_version"],
                         e["topic"], base64.b64decode(e["state"])).data
        assert rebuilt == data
        assert json.loads(data)["sealed"] == sealed_digest(
            e["originator_id"], e["originator_version"], base64.b64decode(e["state"]))
    get(client, "/audit/events", fin, expect=403)


def test_verify_passes_on_an_honest_log_and_replays_as_of(client: TestClient, services: CompositionRoot,
                                                          tokens: dict[str, str]) -> None:
    small_ledger(client, services, tokens["finance"])
    services.tree_heads.publish()
    report = verify(services)
    assert report.ok, report.problems
    assert report.events == services.ledger.recorder.max_notification_id()
    past = replay_balances(services, "2020-01-01")
    assert past == {"funds": [], "programmes": []}
    now = replay_balances(services, "2100-01-01")
    assert now["funds"] == services.queries.fund_balances()
    over_http = get(client, "/audit/balances", tokens["auditor"], as_of="2100-01-01")
    assert over_http["funds"] == now["funds"] and over_http["programmes"] == now["programmes"]


def test_replay_by_business_date_counts_a_late_receipt_when_it_was_received(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    d = donor(client, fin, name="Hoàng Văn Lâm")
    # Recorded today for gifts received in 2021: by business date they count in 2021.
    receipt(client, fin, d, 300_000, received_on="2021-01-15")
    receipt(client, fin, d, 200_000, received_on="2021-02-10")
    post(client, "/allocations", fin, {"fund": "campaign", "season": "2021",
                                       "commune": communes(services)[0], "category": "other",
                                       "amount_vnd": 100_000, "decision_ref": "QĐ 10"})
    services.runner.catch_up()

    def total(balances: dict[str, Any]) -> int:
        return sum(int(f["available_vnd"]) for f in balances["funds"])

    assert replay_balances(services, "2021-01-31", "recorded")["funds"] == []
    assert total(replay_balances(services, "2021-01-14", "business")) == 0
    assert total(replay_balances(services, "2021-01-31", "business")) == 300_000
    in_february = replay_balances(services, "2021-02-28", "business")
    # The allocation has no date of its own: it happened when it was recorded, today.
    assert total(in_february) == 500_000 and in_february["programmes"] == []
    assert replay_balances(services, "2100-01-01", "business") == replay_balances(
        services, "2100-01-01", "recorded")
    over_http = get(client, "/audit/balances", tokens["auditor"], as_of="2021-01-31", by="business")
    assert over_http["by"] == "business" and total(over_http) == 300_000
    get(client, "/audit/balances", tokens["auditor"], as_of="2021-01-31", by="someday", expect=422)


def _events_table(services: CompositionRoot) -> tuple[str, str]:
    if services.db.dialect == "sqlite":
        return "stored_events", "rowid"
    return "ledger_events", "notification_id"


def _tamper(services: CompositionRoot, how: str, position: int) -> None:
    table, pos = _events_table(services)
    with services.db.write() as cur:
        row = cur.execute(f"SELECT * FROM {table} WHERE {pos} = ?", (position,)).fetchone()
        assert row is not None
        state = bytes(row["state"])
        if how == "byte":
            i = state.index(b'"amount_vnd":') + len(b'"amount_vnd":')
            changed = state[:i] + (b"9" if state[i:i + 1] != b"9" else b"8") + state[i + 1:]
            cur.execute(f"UPDATE {table} SET state = ? WHERE {pos} = ?", (changed, position))
        elif how == "delete":
            cur.execute(f"DELETE FROM {table} WHERE {pos} = ?", (position,))
        elif how == "reorder":
            other = cur.execute(f"SELECT * FROM {table} WHERE {pos} = ?", (position + 1,)).fetchone()
            assert other is not None
            for target, source in ((position, other), (position + 1, row)):
                cur.execute(f"UPDATE {table} SET topic = ?, state = ? WHERE {pos} = ?",
                            (source["topic"], bytes(source["state"]), target))
        elif how == "forge":
            cur.execute(f"INSERT INTO {table} (originator_id, originator_version, topic, state)"
                        " VALUES (?, ?, ?, ?)",
                        (row["originator_id"], 99, row["topic"], state))


@pytest.mark.parametrize("how", ["byte", "delete", "reorder", "forge"])
def test_verify_catches_tampering_and_names_the_position(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str], how: str) -> None:
    made = small_ledger(client, services, tokens["finance"])
    services.tree_heads.publish()
    services.stop_background()
    target = made[2]["position"]
    _tamper(services, how, target)
    report = verify(services)
    assert not report.ok
    text = "\n".join(report.problems)
    if how == "forge":
        forged = services.ledger.recorder.max_notification_id()
        assert f"position {forged}" in text
    else:
        assert f"position {target}" in text, text


Made = list[dict[str, Any]]


def _leaf_index(services: CompositionRoot, position: int) -> int:
    row = services.db.query_one("SELECT leaf_index FROM merkle_leaves WHERE position = ?", (position,))
    assert row is not None
    return int(row["leaf_index"])


def _grown_ledger(client: TestClient, services: CompositionRoot, fin: str) -> tuple[Made, bytes, int, int]:
    """A log with tree heads at three sizes and a reversal of a receipt made well before it:
    its first receipts, its first head, the reversal's position and the last receipt's."""
    made = small_ledger(client, services, fin)
    kept = json.dumps(services.tree_heads.publish()).encode()
    reversal = post(client, "/reversals", fin, {"target_id": made[-1]["id"], "reason": "ghi nhầm"})
    receipt(client, fin, donor(client, fin, name="Lý Thị Mai"), 250_000)
    services.runner.catch_up()
    services.tree_heads.publish()
    last = receipt(client, fin, donor(client, fin, name="Đinh Văn Sơn"), 350_000)
    services.runner.catch_up()
    services.tree_heads.publish()
    services.stop_background()
    return made, kept, int(reversal["position"]), int(last["position"])


def test_verify_in_worker_processes_hashes_ranges_and_combines_them(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    made, _, reversal, _ = _grown_ledger(client, services, tokens["finance"])
    # Ranges of 4 leaves: the reversal's leaf repeats the facts of a receipt in another range.
    assert _leaf_index(services, made[-1]["position"]) // 4 < _leaf_index(services, reversal) // 4
    in_ranges: dict[str, Any] = {"workers": 2, "parallel_from": 0, "chunk_level": 2}
    alone = verify(services)
    assert alone.ok, alone.problems
    assert alone.tree_heads == 3
    report = verify(services, **in_ranges)
    assert report.ok, report.problems
    assert (report.events, report.tree_heads) == (alone.events, alone.tree_heads)
    # Tampering is found, and named, the same way.
    target = made[3]["position"]
    _tamper(services, "byte", target)
    report = verify(services, **in_ranges)
    assert f"position {target}: stored event differs" in "\n".join(report.problems), report.problems
    # The same problems; the tables' come in the order of the replay groups.
    assert sorted(report.problems) == sorted(verify(services).problems)


def test_verify_from_a_trusted_head_checks_only_what_came_after_it(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    made, kept, _, late = _grown_ledger(client, services, tokens["finance"])
    report = verify(services, trusted_head=kept)
    assert report.ok, report.problems
    assert (report.events, report.tree_heads) == (verify(services).events, 3)
    # An event after the kept head altered, or deleted: found. One before it: not looked at
    # (the kept head vouches for it), but the full check finds it.
    _tamper(services, "byte", late)
    assert any(f"position {late}" in p for p in verify(services, trusted_head=kept).problems)
    _tamper(services, "delete", late)
    assert any("larger than the log" in p for p in verify(services, trusted_head=kept).problems)
    early = made[1]["position"]
    _tamper(services, "byte", early)
    assert not any(f"position {early}" in p for p in verify(services, trusted_head=kept).problems)
    assert any(f"position {early}" in p for p in verify(services, trusted_head=kept, full=True).problems)


def test_verify_from_a_trusted_head_refuses_a_store_that_rewrote_it(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    _, kept, _, _ = _grown_ledger(client, services, tokens["finance"])
    size = json.loads(kept)["tree_size"]
    last = services.db.query_one("SELECT position FROM merkle_leaves WHERE leaf_index = ?", (size - 1,))
    assert last is not None
    _tamper(services, "byte", int(last["position"]))
    assert any("the trusted head's last leaf" in p for p in verify(services, trusted_head=kept).problems)
    # The kept tree (under 256 leaves) is made from the stored leaf hashes alone.
    assert merkle.root_keys(size)[0][0] < tiles.HEIGHT
    with services.db.write() as cur:
        cur.execute("UPDATE merkle_leaves SET leaf_hash = ? WHERE leaf_index = 0", ("00" * 32,))
    assert any("not a prefix" in p for p in verify(services, trusted_head=kept).problems)


def test_verify_catches_a_stored_tile_level_node_or_leaf_hash_altered(services: CompositionRoot) -> None:
    # Past one tile, so that merkle_nodes holds (8, 0), which the roots of the heads are made from.
    for i in range(tiles.WIDTH + 4):
        services.ledger.register_donor(CTX, f"tile-{i}", name=f"Công ty {i}", kind="business")
    services.runner.catch_up()
    head = services.tree_heads.publish()
    assert head is not None and head["tree_size"] > tiles.WIDTH
    assert verify(services).ok
    kept = json.dumps(head).encode()
    assert verify(services, trusted_head=kept).ok
    # The kept root is made from (8, 0) and, right of it, from leaf hashes (a leaf under (8, 0)
    # is checked by the full verify only, as every leaf is).
    size = head["tree_size"]
    assert merkle.root_keys(size)[0] == (8, 0) and size % tiles.WIDTH >= 2
    for table, column, key in (("merkle_nodes", "hash", "level = 8 AND idx = 0"),
                               ("merkle_leaves", "leaf_hash", f"leaf_index = {size - 2}")):
        with services.db.write() as cur:
            good = cur.execute(f"SELECT {column} AS h FROM {table} WHERE {key}").fetchone()
            assert good is not None
            cur.execute(f"UPDATE {table} SET {column} = ? WHERE {key}", ("00" * 32,))
        problems = verify(services).problems
        assert any(p.startswith(f"table {table}: live row not in the replay") for p in problems), problems
        trusted = verify(services, trusted_head=kept).problems
        assert any("not a prefix" in p for p in trusted), trusted
        with services.db.write() as cur:
            cur.execute(f"UPDATE {table} SET {column} = ? WHERE {key}", (good["h"],))
    assert verify(services).ok
