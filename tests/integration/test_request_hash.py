"""Idempotency records keep a keyed digest of their request, never a plain SHA-256 (DESIGN §6):
a child's registration body is the child's personal data, and a plain digest of it falls to a
dictionary of likely bodies."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from fastapi.testclient import TestClient

from adapters.statements import write_csv
from adapters.statements.model import LineKeys
from api.app import create_app
from domain.idempotency import IdempotencyRecord
from domain.ids import idempotency_id
from ledger.bootstrap import CompositionRoot, build
from ledger.settings import Settings
from tests.api.test_bank import ACCOUNT, statement, upload
from tests.conftest import make_tokens
from tests.helpers import API, auth, communes, districts
from tests.stored_values import stored_values

CHILD = {"full_name": "Lò Thị Mai", "birth_year": 2015, "sex": "female", "ethnicity": "Tày",
         "guardian_name": "Lò Văn Páo"}


def _installation(url: str, data_dir: Path, key_hex: str) -> CompositionRoot:
    return build(Settings(data_dir=data_dir, database_url=url, run_projections=False,
                          service_key_hex=key_hex, wait_timeout_s=10))


def _register(svc: CompositionRoot, commune: str) -> tuple[str, list[str]]:
    """Registers the same child with the same Idempotency-Key; the stored digest, and the plain
    SHA-256 digests an attacker would try against it."""
    token = make_tokens(svc)["district"]
    body = {"commune": commune, **CHILD}
    raw = json.dumps(body, ensure_ascii=False).encode()
    with TestClient(create_app(services=svc)) as client:
        response = client.post(API + "/children", content=raw, headers={
            **auth(token), "Idempotency-Key": "child-1", "Content-Type": "application/json"})
        assert response.status_code == 201, response.text
    record = svc.ledger.find_or_none(idempotency_id("district", "child-1"), IdempotencyRecord)
    assert record is not None
    canonical = json.dumps(["POST", API + "/children", body], sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False).encode()
    plain = [hashlib.sha256(x).hexdigest() for x in (raw, canonical,
                                                        json.dumps(body, sort_keys=True).encode())]
    return record.request_hash, plain


def test_two_installations_store_different_digests_and_no_plain_sha256(
        database_url: str, tmp_path: Path) -> None:
    digests = []
    for n, key in enumerate(("11" * 32, "22" * 32)):
        url = database_url if n == 0 else f"sqlite:///{tmp_path / 'other.db'}"
        svc = _installation(url, tmp_path / f"data{n}", key)
        try:
            commune = communes(svc, districts(svc)[0])[0]  # in the `district` token's district
            digest, plain = _register(svc, commune)
            digests.append(digest)
            assert digest not in plain and len(digest) == 64
            stored = [v for _, v in stored_values(svc)]
            for p in plain:
                assert not any(p.encode() in v for v in stored), "a plain SHA-256 of the body is stored"
        finally:
            svc.close()
    assert digests[0] != digests[1]


def test_a_statement_leaves_no_plain_digest_of_its_file_or_its_lines(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str]) -> None:
    """A statement file and a line without a bank transaction id are bank customers' data: the
    file's digest and the line's key are stored keyed, and a re-import still finds the same ones."""
    fin = tokens["finance"]
    client.post(API + "/bank-accounts", json=ACCOUNT, headers=auth(fin)).raise_for_status()
    parsed = statement([("2021-03-01", 1_000_000, None, "NGUYỄN VĂN AN", "ung ho tre em"),
                        ("2021-03-02", 250_000, "FT21060002", "TRAN THI BICH", "ung ho")])
    data = write_csv(parsed)
    first = upload(client, fin, data)
    line = parsed.lines[0]
    plain_key = LineKeys().key(line.booked_on, line.amount_vnd, None, line.counterparty,
                               line.description, 1)
    plain = [hashlib.sha256(data).hexdigest(), plain_key, plain_key.removeprefix("h:")]
    stored = [v for _, v in stored_values(services)]
    for p in plain:
        assert not any(p.encode() in v for v in stored), f"a plain digest is stored: {p}"
    assert any(b"txn:FT21060002" in v for v in stored)  # the bank's own id is kept as it is
    again = upload(client, fin, data)
    assert (again["statement_id"], again["new_lines"]) == (first["statement_id"], 0)
