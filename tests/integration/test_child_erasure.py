"""Erasing a child (DESIGN §6): its key is deleted, so its sealed personal fields can never be read
again, while the log, every amount and every proof stay as they were.

The personal data was never stored in clear (it is sealed), so what erasure must show is that it
can no longer be recovered: no form of the wrapped key is left in the SQLite file or its WAL and
journal, nor in a `pg_dump`. Each search is shown to work: before the erasure it finds the key,
and it finds the donor's public name, which is in clear in the events, in the same bytes."""

from __future__ import annotations

import base64
import glob
import json
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from domain.children import Child
from domain.text import fold
from ledger.audit import verify
from ledger.bootstrap import CompositionRoot
from tests.conftest import IN_CI
from tests.helpers import API, communes, get, post, receipt
from tests.integration.test_demo_ledger import dump

FULL_NAME = "Lường Thị Xoanqv"
GUARDIAN = "Lường Văn Đuqzt"
CIRCUMSTANCES = "Mồ côi mẹ, nhà dột nát ở bản Kpxwy"
PERSONAL = {"full_name": FULL_NAME, "birth_year": 2014, "sex": "female", "ethnicity": "Nùng",
            "guardian_name": GUARDIAN, "circumstances": CIRCUMSTANCES}
SECRETS = (FULL_NAME, GUARDIAN, CIRCUMSTANCES, "Xoanqv", "Đuqzt", "Kpxwy")
PUBLIC_NAME = "Nhà hảo tâm Qwzpvb"  # in clear in the events: the searches' positive control
REASON = {"reason": "người giám hộ yêu cầu xoá (Luật 91/2025/QH15, điều 16)"}
ERASED = "[đã xoá]"
SQLITE_FILES = ("", "-wal", "-journal")


def text_forms(text: str) -> set[bytes]:
    """The ways a string could sit in the stored bytes: NFC, NFD or folded; raw or JSON-escaped;
    and each in hex, as PostgreSQL dumps a bytea column (the events' state)."""
    forms: set[bytes] = set()
    for variant in {unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text), fold(text)}:
        for raw in (variant.encode("utf-8"), json.dumps(variant).encode("ascii")):
            forms |= {raw, raw.hex().encode("ascii")}
    return forms


def key_forms(wrapped: str) -> set[bytes]:
    """The wrapped key as stored (base64 text), its raw bytes, and each in hex."""
    raw = base64.b64decode(wrapped)
    text = wrapped.encode("ascii")
    return {text, text.hex().encode("ascii"), raw, raw.hex().encode("ascii")}


def pg_dump_binary() -> str:
    # Debian keeps each server version's binaries apart, not always on the PATH: take the newest
    # (a dump needs a pg_dump at least as new as the server).
    found = shutil.which("pg_dump") or max(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), default=None,
                                           key=lambda p: int(Path(p).parents[1].name.split(".")[0]))
    if found is None:
        if IN_CI:
            pytest.fail("pg_dump is required under CI to check a dump for erased data")
        pytest.skip("pg_dump not found")
    return found


def stored_bytes(services: CompositionRoot, database_url: str) -> bytes:
    """Everything the database holds: the SQLite file with its WAL and journal, byte for byte
    (free pages and free space in pages included), or a full `pg_dump`."""
    if services.db.dialect == "sqlite":
        path = services.db.url.sqlite_path
        files = [Path(f"{path}{suffix}") for suffix in SQLITE_FILES]
        return b"".join(f.read_bytes() for f in files if f.exists())
    done = subprocess.run([pg_dump_binary(), "--no-password", f"--dbname={database_url}"],
                          capture_output=True, check=True, timeout=120)
    return done.stdout


def found_in(data: bytes, forms: set[bytes]) -> list[bytes]:
    return sorted(form for form in forms if form in data)


def plaintext_in(data: bytes) -> list[bytes]:
    return found_in(data, set().union(*(text_forms(s) for s in SECRETS)))


def supported_child(client: TestClient, services: CompositionRoot, fin: str) -> tuple[str, dict[str, Any]]:
    """A child with distinctive personal data who received support paid by a receipt."""
    commune = communes(services)[0]
    donor_id = post(client, "/donors", fin, {"name": "Công ty TNHH Sông Kỳ Cùng", "kind": "business",
                                             "public_name": PUBLIC_NAME})["id"]
    paid = receipt(client, fin, donor_id, 5_000_000)
    post(client, "/allocations", fin, {"fund": "campaign", "season": "2021", "commune": commune,
                                       "category": "warm-clothing", "amount_vnd": 2_000_000,
                                       "decision_ref": "QĐ 21/QĐ-UBND"})
    child = post(client, "/children", fin, {"commune": commune, **PERSONAL})
    given = post(client, "/distributions", fin, {
        "season": "2021", "commune": commune, "category": "warm-clothing",
        "distributed_on": "2021-12-01",
        "lines": [{"child_id": child["id"], "description": "Áo ấm và chăn", "value_vnd": 1_200_000}]})
    return str(child["id"]), {"position": int(given["position"]), "receipt": paid["reference"],
                              "donor": donor_id}


def test_erasing_a_child_shreds_its_key_and_keeps_its_support_amounts_and_proofs(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str],
        database_url: str) -> None:
    fin, admin = tokens["finance"], tokens["admin"]
    child_id, made = supported_child(client, services, fin)
    before = get(client, f"/children/{child_id}/history", fin, after=made["position"])
    assert (before["personal"], before["erased"]) == (PERSONAL, False)
    [support] = before["support"]
    assert support["value_vnd"] == 1_200_000
    assert [(p["reference"], p["amount_vnd"]) for p in support["paid_by"]] == [(made["receipt"], 1_200_000)]

    # Before: the searches work (they find the key and the public name) and find no plaintext.
    row = services.db.query_one("SELECT wrapped_key FROM child_keys WHERE child_id = ?", (child_id,))
    assert row is not None
    wrapped = key_forms(row["wrapped_key"])
    data = stored_bytes(services, database_url)
    assert row["wrapped_key"].encode("ascii") in data
    assert found_in(data, text_forms(PUBLIC_NAME))
    assert plaintext_in(data) == []

    erased = post(client, f"/children/{child_id}/erase", admin, REASON)
    assert erased["id"] == child_id and erased["position"] > made["position"]

    # After: no form of the key anywhere, so the sealed fields can never be opened again.
    data = stored_bytes(services, database_url)
    assert found_in(data, wrapped) == []
    assert plaintext_in(data) == []
    assert found_in(data, text_forms(PUBLIC_NAME))
    assert services.db.query_one("SELECT * FROM child_keys WHERE child_id = ?", (child_id,)) is None
    child = services.ledger.require(UUID(child_id), Child, "child")
    assert child.erased and set(child.sealed) == set(PERSONAL)
    assert services.ledger.child_personal_data(child) is None

    after = get(client, f"/children/{child_id}/history", tokens["auditor"], after=erased["position"])
    assert (after["personal"], after["erased"]) == (dict.fromkeys(PERSONAL, ERASED), True)
    assert (after["code"], after["commune"], after["support"]) == (
        before["code"], before["commune"], before["support"])
    [programme] = get(client, "/balances/programmes", fin, season="2021")["items"]
    assert (programme["distributed_vnd"], programme["children_reached"]) == (1_200_000, 1)

    # The log still verifies, proofs still stand, and the read models rebuild the same.
    services.tree_heads.publish()
    proof = get(client, f"/public/donations/{made['receipt']}")["proof"]
    assert proof["leaf_index"] >= 0 and proof["leaf_hash"]
    assert services.runner.wait_for(erased["position"], timeout_s=30)
    report = verify(services)
    assert report.ok, report.problems
    assert report.events == services.ledger.recorder.max_notification_id()
    tables = dump(services)
    services.runner.rebuild()
    assert dump(services) == tables

    data = stored_bytes(services, database_url)
    assert found_in(data, wrapped) == [] and plaintext_in(data) == []


def test_only_an_admin_erases_a_known_child_once(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    fin, admin = tokens["finance"], tokens["admin"]
    child_id, made = supported_child(client, services, fin)
    head = services.ledger.recorder.max_notification_id()
    for role in ("finance", "district", "auditor"):
        refused = post(client, f"/children/{child_id}/erase", tokens[role], REASON, expect=403)
        assert refused["code"] == "forbidden", role
    anonymous = client.post(f"{API}/children/{child_id}/erase", json=REASON)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert post(client, f"/children/{child_id}/erase", admin, {"reason": " "}, expect=422)[
        "code"] == "validation_error"
    assert services.ledger.recorder.max_notification_id() == head, "a refusal records nothing"
    assert services.db.query_one("SELECT 1 AS kept FROM child_keys WHERE child_id = ?", (child_id,))

    missing = post(client, "/children/00000000-0000-4000-8000-000000000000/erase", admin, REASON,
                   expect=404)
    assert missing["code"] == "not_found"
    not_a_child = post(client, f"/children/{made['donor']}/erase", admin, REASON, expect=404)
    assert not_a_child["code"] == "not_found"

    first = post(client, f"/children/{child_id}/erase", admin, REASON, **{"Idempotency-Key": "xoa-1"})
    replayed = post(client, f"/children/{child_id}/erase", admin, REASON, **{"Idempotency-Key": "xoa-1"})
    assert replayed == first
    again = post(client, f"/children/{child_id}/erase", admin, REASON, expect=409)
    assert again["code"] == "already_recorded"
    assert services.ledger.recorder.max_notification_id() == first["position"]
