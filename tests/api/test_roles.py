"""Who may call what (DESIGN §7): every endpoint × every caller → the expected status.

One set-up per backend (module scope): a fresh SQLite file and a fresh PostgreSQL database, each
holding a donor, a receipt, an allocation (so distributions can succeed) and a registered child,
made with the finance token. Each case then makes one request as one caller. Refused commands
must leave the log untouched; refusals are RFC 9457 problems with a stable code."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.statements import Statement, StatementLine, write_csv
from adapters.tokens import create_token
from api.app import create_app
from ledger.bootstrap import CompositionRoot
from tests.conftest import fresh_pg_url, make_services, make_tokens
from tests.helpers import API, auth, communes, donor, post, receipt
from tests.helpers import districts as token_districts

PROBLEM_JSON = "application/problem+json"
BANK = {"code": "VCB-ROLES", "bank": "Vietcombank", "account_number": "0011004999999", "fund": "campaign"}
_counter = itertools.count(1)
UNKNOWN_TOKEN = "mb_this-token-was-never-issued"
SEASON = "2021"
ALLOCATED_VND = 50_000_000


@dataclass(frozen=True)
class World:
    client: TestClient
    services: CompositionRoot
    tokens: dict[str, str]
    commune: str  # a commune of the `district` token's district
    other_commune: str  # a commune of the `district_other` token's district
    donor_id: str
    reference: str  # of the set-up receipt
    child_id: str  # registered in `commune`
    pledge_id: str
    position: int  # of the last set-up event

    def ids(self) -> dict[str, str]:
        return {"donor_id": self.donor_id, "reference": self.reference, "child_id": self.child_id,
                "pledge_id": self.pledge_id, "bank": BANK["code"], "commune": self.commune}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             ) -> Iterator[tuple[str, Path]]:
    """A fresh store for this module: (database URL, data directory)."""
    data_dir = tmp_path_factory.mktemp(f"roles-{request.param}")
    if request.param == "sqlite":
        yield f"sqlite:///{data_dir / 'ledger.db'}", data_dir
        return
    with fresh_pg_url() as url:
        yield url, data_dir


@pytest.fixture(scope="module")
def world(database: tuple[str, Path]) -> Iterator[World]:
    url, data_dir = database
    services = make_services(url, data_dir / "data")
    try:
        services.start_projections()
        with TestClient(create_app(services=services)) as client:
            tokens = make_tokens(services)
            fin = tokens["finance"]
            districts = token_districts(services)
            commune = communes(services, districts[0])[0]
            other_commune = communes(services, districts[1])[0]
            donor_id = donor(client, fin)
            paid = receipt(client, fin, donor_id, 10 * ALLOCATED_VND)
            post(client, "/allocations", fin, {
                "fund": "campaign", "season": SEASON, "commune": commune, "category": "other",
                "amount_vnd": ALLOCATED_VND, "decision_ref": "QĐ 7/QĐ-UBND"})
            child = post(client, "/children", fin, {"commune": commune, "full_name": "Vi Thị Lan",
                                                    "birth_year": 2013})
            pledge = post(client, "/pledges", fin, {"donor_id": donor_id, "amount_vnd": 900_000})
            post(client, "/bank-accounts", fin, BANK)
            world = World(client=client, services=services, tokens=tokens, commune=commune,
                          other_commune=other_commune, donor_id=donor_id,
                          reference=paid["reference"], child_id=child["id"], pledge_id=pledge["id"],
                          position=0)
            last = _fresh_line(world)
            yield replace(world, position=services.ledger.recorder.max_notification_id() or last)
    finally:
        services.close()


# ---- the matrix -----------------------------------------------------------------------------

Body = Callable[[World], dict[str, Any]]
Check = Callable[[World, Any], bool]
CALLERS = ("anonymous", "unknown", "admin", "finance", "district", "district_other", "auditor")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # may name {donor_id}, {reference}, {child_id}
    expect: dict[str, int]  # caller → status
    body: Body | None = None
    check: Check | None = None  # what a 200 must show
    files: Callable[[World], dict[str, Any]] | None = None  # a multipart upload instead of JSON
    prepare: Callable[[World], dict[str, str]] | None = None  # more path parameters, made first

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _fresh_receipt_id(w: World) -> str:
    """A reversal can succeed once per target, so each reversal gets its own receipt."""
    return str(receipt(w.client, w.tokens["finance"], w.donor_id, 1_000)["id"])


def _statement(w: World, n: int | None = None) -> bytes:
    """A one-line statement never seen before: its own transaction id FT-ROLES-n."""
    n = next(_counter) if n is None else n
    line = StatementLine(dt.date(2021, 5, 1 + n % 28), 1_000 + n, f"FT-ROLES-{n}", 1_000 + n,
                         "NGUYEN VAN AN", None, "ung ho")
    return write_csv(Statement("csv", BANK["account_number"], None, None, 0, 1_000 + n, (line,)))


def _fresh_line(w: World, n: int | None = None) -> int:
    """Import a new unmatched credit line as finance; its position."""
    response = w.client.post(f"{API}/bank-accounts/{BANK['code']}/statements",
                             files={"file": ("s.csv", _statement(w, n))}, headers=auth(w.tokens["finance"]))
    assert response.status_code == 201, response.text
    return int(response.json()["position"])


def _open_line_id(w: World) -> str:
    n = next(_counter)
    position = _fresh_line(w, n)
    lines = w.client.get(f"{API}/bank-accounts/{BANK['code']}/lines",
                         params={"from": "2021-01-01", "to": "2021-12-31", "after": position},
                         headers=auth(w.tokens["finance"])).json()["items"]
    return str(next(line["line_id"] for line in lines if line["bank_txn_id"] == f"FT-ROLES-{n}"))


def _fresh_match_id(w: World) -> str:
    made = post(w.client, "/matches", w.tokens["finance"],
                {"bank_line_id": _open_line_id(w), "create_receipt": {}})
    return str(made["id"])


def _fresh_duplicate(w: World) -> dict[str, str]:
    """A second record of the set-up's child, to merge into it (a merge succeeds once)."""
    made = post(w.client, "/children", w.tokens["finance"], {"commune": w.commune,
                                                             "full_name": "Vi Thị Lan", "birth_year": 2013})
    return {"duplicate_id": made["id"]}


def _fresh_proposal(w: World) -> dict[str, str]:
    """A proposal (an allocation above the four-eyes amount) by a third officer, so that admin
    and finance may each approve it (a proposal is decided once)."""
    proposer = w.tokens.get("proposer") or create_token(w.services.db, name="proposer", role="finance")
    w.tokens["proposer"] = proposer
    made = post(w.client, "/allocations", proposer, {
        "fund": "campaign", "season": SEASON, "commune": w.commune, "category": "tet-gifts",
        "amount_vnd": 2 * ALLOCATED_VND + 1, "decision_ref": "QĐ 9"}, expect=202)
    return {"proposal_id": made["id"]}


def _fresh_need(w: World) -> dict[str, str]:
    """A surveyed need of the set-up's commune, to correct (surveyed again each time)."""
    made = post(w.client, "/needs", w.tokens["finance"], {
        "season": SEASON, "commune": w.commune, "category": "tet-gifts", "children_count": 10,
        "estimated_vnd": 2_000_000})
    return {"need_id": made["id"]}


def _fresh_season(w: World) -> dict[str, Any]:
    """A season of one day of its own (seasons never overlap)."""
    n = next(_counter)
    day = (dt.date(2024, 1, 1) + dt.timedelta(days=n)).isoformat()
    return {"code": f"2024-r{n}", "name": f"Đợt {n}", "starts_on": day, "ends_on": day}


def _season_to_close(w: World) -> dict[str, str]:
    season = _fresh_season(w)
    post(w.client, "/seasons", w.tokens["admin"], season)
    return {"code": season["code"]}


def _child_to_move(w: World) -> dict[str, str]:
    """A child of the set-up's commune, to move to another commune of its district (a move
    changes where the child is: each case moves its own)."""
    made = post(w.client, "/children", w.tokens["finance"], {"commune": w.commune,
                                                             "full_name": "Hà Văn Khánh", "birth_year": 2016})
    return {"moving_id": made["id"]}


def _statuses(default: int, anonymous: int = 401, **by_role: int) -> dict[str, int]:
    staff = {r: default for r in ("admin", "finance", "district", "district_other", "auditor")}
    return {"anonymous": anonymous, "unknown": 401, **staff, **by_role}


FINANCE_WRITES = _statuses(403, admin=201, finance=201)
DISTRICT_WRITES = _statuses(403, admin=201, finance=201, district=201)
READERS = _statuses(200)
BANK_READERS = _statuses(403, admin=200, finance=200, auditor=200)
PUBLIC = {caller: 200 for caller in CALLERS if caller != "unknown"}


def _items(w: World, data: Any) -> bool:
    return isinstance(data["items"], list) and len(data["items"]) > 0


ENDPOINTS = [
    Endpoint("POST", "/donors", FINANCE_WRITES,
             lambda w: {"name": "Công ty TNHH Hoa Sen", "kind": "business"}),
    Endpoint("POST", "/pledges", FINANCE_WRITES,
             lambda w: {"donor_id": w.donor_id, "amount_vnd": 2_000_000, "due_on": "2021-06-30"}),
    Endpoint("POST", "/receipts", FINANCE_WRITES,
             lambda w: {"donor_id": w.donor_id, "fund": "campaign", "received_on": "2021-03-02",
                        "channel": "cash", "amount_vnd": 300_000}),
    Endpoint("POST", "/allocations", FINANCE_WRITES,
             lambda w: {"fund": "campaign", "season": SEASON, "commune": w.commune,
                        "category": "other", "amount_vnd": 1_000, "decision_ref": "QĐ 8"}),
    Endpoint("POST", "/reversals", FINANCE_WRITES,
             lambda w: {"target_id": _fresh_receipt_id(w), "reason": "ghi nhầm"}),
    Endpoint("POST", "/distributions", DISTRICT_WRITES,
             lambda w: {"season": SEASON, "commune": w.commune, "category": "other",
                        "distributed_on": "2021-12-01", "beneficiaries_count": 3,
                        "lines": [{"description": "Sách vở cho 3 em", "value_vnd": 90_000}]}),
    Endpoint("POST", "/children", DISTRICT_WRITES,
             lambda w: {"commune": w.commune, "full_name": "Nông Văn Tú", "birth_year": 2015}),
    Endpoint("POST", "/needs", DISTRICT_WRITES,
             lambda w: {"season": SEASON, "commune": w.commune, "category": "warm-clothing",
                        "children_count": 40, "estimated_vnd": 12_000_000}),
    Endpoint("GET", "/balances/funds", READERS, check=lambda w, d: any(
        row["fund"] == "campaign" and row["received_vnd"] >= 10 * ALLOCATED_VND
        for row in d["items"])),
    Endpoint("GET", "/balances/programmes", READERS, check=lambda w, d: any(
        row["commune"] == w.commune and row["allocated_vnd"] >= ALLOCATED_VND
        for row in d["items"])),
    Endpoint("GET", "/donors/{donor_id}", READERS,
             check=lambda w, d: d["donor_id"] == w.donor_id and d["received_vnd"] > 0),
    Endpoint("GET", "/children/{child_id}/history", _statuses(200, district_other=404),
             check=lambda w, d: d["child_id"] == w.child_id
             and d["personal"]["full_name"] == "Vi Thị Lan"),
    Endpoint("GET", "/children?commune={commune}&q=VI THI LAN", _statuses(200, district_other=403),
             check=lambda w, d: w.child_id in {c["id"] for c in d["items"]}),
    Endpoint("GET", "/children/duplicates", READERS,
             check=lambda w, d: isinstance(d["items"], list)),
    Endpoint("POST", "/children/{duplicate_id}/merge",
             _statuses(403, admin=201, finance=201, district=201, district_other=404),
             lambda w: {"into": w.child_id, "reason": "một em đăng ký hai lần"},
             prepare=_fresh_duplicate),
    Endpoint("POST", "/donors/{donor_id}/corrections", FINANCE_WRITES,
             lambda w: {"public_name": f"Nhà hảo tâm {next(_counter)}", "reason": "viết sai tên"}),
    Endpoint("POST", "/children/{child_id}/corrections",
             _statuses(403, admin=201, finance=201, district=201, district_other=404),
             lambda w: {"circumstances": f"Mồ côi cha ({next(_counter)})", "reason": "bổ sung"}),
    Endpoint("POST", "/needs/{need_id}/corrections",
             _statuses(403, admin=201, finance=201, district=201, district_other=404),
             lambda w: {"children_count": next(_counter), "estimated_vnd": 1_000_000,
                        "reason": "đếm lại"},
             prepare=_fresh_need),
    Endpoint("GET", "/proposals", BANK_READERS, check=lambda w, d: isinstance(d["items"], list)),
    Endpoint("POST", "/proposals/{proposal_id}/approve", FINANCE_WRITES, lambda w: {},
             prepare=_fresh_proposal),
    Endpoint("POST", "/proposals/{proposal_id}/reject", FINANCE_WRITES,
             lambda w: {"reason": "không đúng quyết định"}, prepare=_fresh_proposal),
    Endpoint("POST", "/seasons", _statuses(403, admin=201), _fresh_season),
    Endpoint("POST", "/seasons/{code}/close", _statuses(403, admin=201),
             lambda w: {"reason": "kết thúc đợt"}, prepare=_season_to_close),
    Endpoint("GET", "/seasons", PUBLIC, check=lambda w, d: SEASON in {x["code"] for x in d["items"]}),
    # The district officer of the other district may not move a child into a commune not theirs.
    Endpoint("POST", "/children/{moving_id}/transfer", DISTRICT_WRITES,
             lambda w: {"reason": "chuyển nhà", "commune": next(
                 c for c in communes(w.services, w.services.areas.district_of(w.commune))
                 if c != w.commune)}, prepare=_child_to_move),
    Endpoint("GET", "/areas", PUBLIC, check=lambda w, d: w.commune in {a["code"] for a in d["items"]}),
    Endpoint("GET", "/funds", PUBLIC, check=lambda w, d: "campaign" in {f["code"] for f in d["items"]}),
    Endpoint("GET", "/categories", PUBLIC, check=_items),
    Endpoint("GET", "/public/summary", PUBLIC,
             check=lambda w, d: d["received_vnd"] >= 10 * ALLOCATED_VND),
    Endpoint("GET", "/public/donations", PUBLIC,
             check=lambda w, d: w.reference in {x["reference"] for x in d["items"]}),
    Endpoint("GET", "/public/donations/{reference}", PUBLIC,
             check=lambda w, d: d["reference"] == w.reference
             and d["allocations"][0]["amount_vnd"] == ALLOCATED_VND),
    Endpoint("GET", "/public/needs", PUBLIC, check=lambda w, d: isinstance(d["items"], list)),
    Endpoint("POST", "/bank-accounts", FINANCE_WRITES,
             lambda w: {**BANK, "code": f"ACB-{next(_counter)}", "bank": "ACB"}),
    Endpoint("POST", "/bank-accounts/{bank}/statements", FINANCE_WRITES,
             files=lambda w: {"file": ("sao-ke.csv", _statement(w))}),
    Endpoint("POST", "/matches", FINANCE_WRITES,
             lambda w: {"bank_line_id": _open_line_id(w), "create_receipt": {"note": "từ sao kê"}}),
    Endpoint("POST", "/matches/{match_id}/undo", FINANCE_WRITES, lambda w: {"reason": "nhầm"},
             prepare=lambda w: {"match_id": _fresh_match_id(w)}),
    Endpoint("GET", "/bank-accounts", BANK_READERS,
             check=lambda w, d: BANK["code"] in {a["code"] for a in d["items"]}),
    Endpoint("GET", "/bank-accounts/{bank}/lines?from=2021-01-01&to=2021-12-31", BANK_READERS,
             check=_items),
    Endpoint("GET", "/reconciliation?account={bank}", BANK_READERS,
             check=lambda w, d: d["account"] == BANK["code"] and d["bank_balance_vnd"] > 0),
    Endpoint("GET", "/pledges/{pledge_id}/vietqr?account={bank}", BANK_READERS,
             check=lambda w, d: d["pledge_id"] == w.pledge_id and d["payload"].startswith("000201")),
]

CASES = [pytest.param(e, caller, id=f"{e}-{caller}") for e in ENDPOINTS for caller in CALLERS
         if caller in e.expect]


def _headers(w: World, caller: str) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    return auth(UNKNOWN_TOKEN if caller == "unknown" else w.tokens[caller])


def _log_head(w: World) -> int:
    return w.services.ledger.recorder.max_notification_id() or 0


@pytest.mark.parametrize(("endpoint", "caller"), CASES)
def test_role_matrix(world: World, endpoint: Endpoint, caller: str) -> None:
    expected = endpoint.expect[caller]
    extra = endpoint.prepare(world) if endpoint.prepare else {}
    url = API + endpoint.path.format(**world.ids(), **extra)
    headers = _headers(world, caller)
    if endpoint.method == "POST":
        if endpoint.files is not None:
            files = endpoint.files(world)
            before = _log_head(world)
            response = world.client.post(url, files=files, headers=headers)
        else:
            assert endpoint.body is not None
            body = endpoint.body(world)
            before = _log_head(world)
            response = world.client.post(url, json=body, headers=headers)
    else:
        # Read our set-up's writes: every query may wait for a position (ignored by static ones).
        path, _, query = url.partition("?")
        params = dict(pair.split("=") for pair in query.split("&") if pair)
        response = world.client.get(path, params={**params, "after": world.position}, headers=headers)

    assert response.status_code == expected, response.text
    data = response.json()
    if expected == 201:
        assert uuid.UUID(data.get("id") or data["statement_id"]) and data["position"] > before
        assert _log_head(world) >= data["position"]
    elif expected == 200:
        assert endpoint.check is not None
        assert endpoint.check(world, data), data
    else:
        assert response.headers["content-type"] == PROBLEM_JSON
        assert data["status"] == expected
        assert data["code"] == {401: "unauthorized", 403: "forbidden", 404: "not_found"}[expected]
        if expected == 401:
            assert response.headers["www-authenticate"] == "Bearer"
        if endpoint.method == "POST":
            assert _log_head(world) == before, "a refused command must record nothing"


def test_every_endpoint_and_caller_is_covered() -> None:
    """The matrix names every caller for every protected endpoint, and no endpoint twice."""
    assert len({str(e) for e in ENDPOINTS}) == len(ENDPOINTS)
    for endpoint in ENDPOINTS:
        missing = set(CALLERS) - set(endpoint.expect)
        assert missing <= {"unknown"}, (str(endpoint), missing)
        assert (endpoint.expect == PUBLIC) == ("unknown" in missing)


@pytest.mark.parametrize("path", ["/children", "/needs"])
def test_a_district_officer_writes_in_their_own_district(world: World, path: str) -> None:
    """Scoping follows the token's district, not the role: each officer succeeds at home."""
    other = world.tokens["district_other"]
    bodies = {
        "/children": {"commune": world.other_commune, "full_name": "Hà Văn Sơn",
                      "birth_year": 2016},
        "/needs": {"season": SEASON, "commune": world.other_commune, "category": "tet-gifts",
                   "children_count": 7, "estimated_vnd": 3_500_000},
    }
    created = post(world.client, path, other, bodies[path])
    assert created["position"] > world.position
    refused = post(world.client, path, world.tokens["district"], bodies[path], 403)
    assert refused["code"] == "forbidden"
    assert _log_head(world) == created["position"]


def test_a_child_history_is_visible_to_its_own_district_only(world: World) -> None:
    other = world.tokens["district_other"]
    child = post(world.client, "/children", other, {"commune": world.other_commune,
                                                    "full_name": "Hoàng Thị Nga",
                                                    "birth_year": 2014})
    url = f"{API}/children/{child['id']}/history"
    params = {"after": child["position"]}
    mine = world.client.get(url, params=params, headers=auth(other))
    assert mine.status_code == 200, mine.text
    assert mine.json()["personal"]["full_name"] == "Hoàng Thị Nga"
    # Another district's officer is told what an unknown id would tell them, and no more.
    theirs = world.client.get(url, params=params, headers=auth(world.tokens["district"]))
    unknown = "00000000-0000-4000-8000-000000000000"
    nobody = world.client.get(f"{API}/children/{unknown}/history", params=params,
                              headers=auth(world.tokens["district"]))
    assert (theirs.status_code, nobody.status_code) == (404, 404), theirs.text
    assert theirs.json()["code"] == nobody.json()["code"] == "not_found"
    assert theirs.json()["detail"].replace(child["id"], unknown) == nobody.json()["detail"]
    assert "Hoàng" not in theirs.text


PROTECTED_READS = [e for e in ENDPOINTS if e.method == "GET" and e.expect["anonymous"] == 401]


@pytest.mark.parametrize("endpoint", PROTECTED_READS, ids=str)
def test_callers_are_authenticated_before_anyone_waits_for_them(
        world: World, endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    """`?after=` far ahead of the log must not make the server hold a request for a stranger:
    no token, or a bad one, is 401 at once, never a wait followed by 503 not_yet_projected."""
    monkeypatch.setattr(world.services.settings, "wait_timeout_s", 0.2)  # keep a failure short
    url = API + endpoint.path.format(**world.ids())
    for caller in ("anonymous", "unknown"):
        response = world.client.get(url, params={"after": 10**12},
                                    headers=_headers(world, caller))
        assert (response.status_code, response.json()["code"]) == (401, "unauthorized"), (
            caller, response.text)
