"""The reconciliation on SQLite and PostgreSQL: balances taken in booking-date order whatever the
order of a statement's lines, and the gaps between an account's statements."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from adapters.statements import Statement, StatementLine, write_csv
from tests.helpers import API, auth, donor, get, post

ACCOUNT = {"code": "VCB-QUY", "bank": "Vietcombank", "account_number": "0011004123456",
           "fund": "campaign"}

Line = tuple[str, int, str | None]  # day, amount, bank txn id


def statement(lines: list[Line], opening: int, first: str, last: str) -> bytes:
    """A CSV statement of the period `first`–`last`, its lines in the order given."""
    out, balance = [], opening
    for day, amount, txn in lines:
        balance += amount
        out.append(StatementLine(booked_on=date.fromisoformat(day), amount_vnd=amount, bank_txn_id=txn,
                                 balance_vnd=balance, counterparty="NGUYEN VAN AN", counterparty_account=None,
                                 description="ung ho" if amount > 0 else "phi"))
    return write_csv(Statement("csv", ACCOUNT["account_number"], date.fromisoformat(first),
                               date.fromisoformat(last), opening, balance, tuple(out)))


def upload(client: TestClient, token: str, data: bytes) -> dict[str, Any]:
    response = client.post(f"{API}/bank-accounts/{ACCOUNT['code']}/statements",
                           files={"file": ("sao-ke.csv", data)}, headers=auth(token))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def report(client: TestClient, token: str, start: str, end: str, after: int) -> dict[str, Any]:
    period: dict[str, Any] = {"from": start, "to": end}
    return get(client, "/reconciliation", token, account=ACCOUNT["code"], after=after, **period)


def test_lines_out_of_date_order_give_the_balances_of_the_dates(client: TestClient,
                                                                tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    post(client, "/bank-accounts", fin, ACCOUNT)
    # The file's order is not the dates' order; its running balances follow the file.
    imported = upload(client, fin, statement([
        ("2021-03-05", 1_000_000, "FT5"), ("2021-03-02", 500_000, "FT2"),
        ("2021-03-09", -200_000, None), ("2021-03-03", 300_000, "FT3")],
        opening=10_000_000, first="2021-03-01", last="2021-03-10"))
    at = int(imported["position"])
    # By hand: 10,000,000 at the start; +500,000 on the 2nd, +300,000 on the 3rd, +1,000,000 on
    # the 5th, -200,000 on the 9th.
    for (start, end), (opening, bank) in {
        ("2021-03-01", "2021-03-31"): (10_000_000, 11_600_000),
        ("2021-03-04", "2021-03-31"): (10_800_000, 11_600_000),
        ("2021-03-01", "2021-03-04"): (10_000_000, 10_800_000),
        ("2021-03-06", "2021-03-08"): (11_800_000, 11_800_000),
        ("2021-03-03", "2021-03-05"): (10_500_000, 11_800_000),
    }.items():
        answer = report(client, fin, start, end, at)
        assert (answer["opening_balance_vnd"], answer["bank_balance_vnd"]) == (opening, bank), (start, end)
        # Nothing in the ledger: the difference is exactly the period's lines.
        assert answer["difference_vnd"] == bank - opening
        assert answer["gaps"] == []
    march: dict[str, Any] = {"from": "2021-03-01", "to": "2021-03-31"}
    lines = get(client, f"/bank-accounts/{ACCOUNT['code']}/lines", fin, after=at, **march)["items"]
    assert [line["booked_on"] for line in lines] == ["2021-03-02", "2021-03-03", "2021-03-05", "2021-03-09"]


def test_statements_that_do_not_follow_on_are_gaps(client: TestClient, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    post(client, "/bank-accounts", fin, ACCOUNT)
    an = donor(client, fin)
    for txn, amount, day in (("FT-A1", 1_000_000, "2021-03-02"), ("FT-B1", 2_000_000, "2021-03-12"),
                             ("FT-C1", 500_000, "2021-03-22"), ("FT-D1", 100_000, "2021-04-06")):
        post(client, "/receipts", fin, {"donor_id": an, "fund": "campaign", "received_on": day,
                                        "channel": "bank", "amount_vnd": amount, "bank_txn_id": txn})
    a = upload(client, fin, statement([("2021-03-02", 1_000_000, "FT-A1")], 10_000_000,
                                      "2021-03-01", "2021-03-10"))
    # B opens where A closes, the day after A ends: it follows on.
    b = upload(client, fin, statement([("2021-03-12", 2_000_000, "FT-B1")], 11_000_000,
                                      "2021-03-11", "2021-03-20"))
    followed = report(client, fin, "2021-03-01", "2021-03-20", int(b["position"]))
    assert followed["gaps"] == [] and followed["reconciled"] is True and followed["matched"] == 2
    assert (followed["opening_balance_vnd"], followed["bank_balance_vnd"]) == (10_000_000, 13_000_000)

    # C opens 50,000 above B's closing balance: money moved that no statement shows.
    c = upload(client, fin, statement([("2021-03-22", 500_000, "FT-C1")], 13_050_000,
                                      "2021-03-21", "2021-03-31"))
    march = report(client, fin, "2021-03-01", "2021-03-31", int(c["position"]))
    assert march["gaps"] == [{
        "after_statement": b["statement_id"], "before_statement": c["statement_id"],
        "from": "2021-03-20", "to": "2021-03-21", "uncovered_days": 0,
        "expected_opening_vnd": 13_000_000, "opening_vnd": 13_050_000}]
    assert march["reconciled"] is False and march["matched"] == 3
    # The bank's balance is the bank's (C's closing); the gap is the whole difference.
    assert (march["opening_balance_vnd"], march["bank_balance_vnd"]) == (10_000_000, 13_550_000)
    assert march["difference_vnd"] == 50_000
    assert report(client, fin, "2021-03-21", "2021-03-31", int(c["position"]))["gaps"] == march["gaps"]
    # A period that ends before C begins is untouched by the gap.
    assert report(client, fin, "2021-03-01", "2021-03-20", int(c["position"])) == followed

    # D opens at C's closing balance, but nothing covers 1–4 April.
    d = upload(client, fin, statement([("2021-04-06", 100_000, "FT-D1")], 13_550_000,
                                      "2021-04-05", "2021-04-10"))
    april = report(client, fin, "2021-04-01", "2021-04-30", int(d["position"]))
    assert april["gaps"] == [{
        "after_statement": c["statement_id"], "before_statement": d["statement_id"],
        "from": "2021-03-31", "to": "2021-04-05", "uncovered_days": 4,
        "expected_opening_vnd": 13_550_000, "opening_vnd": 13_550_000}]
    assert april["difference_vnd"] == 0 and april["reconciled"] is False
    later = report(client, fin, "2021-04-06", "2021-04-30", int(d["position"]))
    assert later["gaps"] == [] and later["reconciled"] is True
    whole = report(client, fin, "2021-01-01", "2021-12-31", int(d["position"]))
    assert [g["before_statement"] for g in whole["gaps"]] == [c["statement_id"], d["statement_id"]]
    assert a["statement_id"] not in {g["before_statement"] for g in whole["gaps"]}
