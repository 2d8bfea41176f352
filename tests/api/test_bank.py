"""Bank reconciliation through the HTTP API, on SQLite and PostgreSQL: import, sure matches,
suggestions, confirmations, receipts made from lines, undo, re-import, refusal, the report."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

import ledger.application
from adapters.statements import Statement, StatementLine, write_camt053, write_csv, write_xlsx
from adapters.vietqr import parse_payload
from domain.matching import payment_code
from ledger.bootstrap import CompositionRoot
from tests.helpers import API, auth, donor, get, post

ACCOUNT = {"code": "VCB-QUY", "bank": "Vietcombank", "account_number": "0011004123456",
           "fund": "campaign"}
OPENING = 10_000_000


def statement(lines: list[tuple[str, int, str | None, str, str]], opening: int = OPENING,
              fmt: str = "csv") -> Statement:
    """(day, amount, bank txn id, counterparty, description) → a statement that adds up."""
    out, balance = [], opening
    for day, amount, txn, counterparty, description in lines:
        balance += amount
        out.append(StatementLine(booked_on=date.fromisoformat(day), amount_vnd=amount, bank_txn_id=txn,
                                 balance_vnd=balance, counterparty=counterparty,
                                 counterparty_account=None, description=description))
    days = [date.fromisoformat(x[0]) for x in lines]
    return Statement(format=fmt, account_number=ACCOUNT["account_number"], period_from=min(days),  # type: ignore[arg-type]
                     period_to=max(days), opening_balance_vnd=opening, closing_balance_vnd=balance,
                     lines=tuple(out))


def upload(client: TestClient, token: str, data: bytes, name: str = "sao-ke.csv",
           expect: int = 201, **headers: str) -> dict[str, Any]:
    response = client.post(f"{API}/bank-accounts/{ACCOUNT['code']}/statements",
                           files={"file": (name, data)}, headers={**auth(token), **headers})
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body


def receipt(client: TestClient, token: str, donor_id: str, amount: int, day: str,
            **extra: Any) -> dict[str, Any]:
    return post(client, "/receipts", token, {"donor_id": donor_id, "fund": "campaign", "received_on": day,
                                             "channel": "bank", "amount_vnd": amount, **extra})


def report(client: TestClient, token: str, **params: Any) -> dict[str, Any]:
    return get(client, "/reconciliation", token, account=ACCOUNT["code"], **{"from": "2021-03-01",
               "to": "2021-03-31", **params})


def test_a_statement_is_imported_matched_and_reconciled(client: TestClient, services: CompositionRoot,
                                                         tokens: dict[str, str]) -> None:
    fin, auditor = tokens["finance"], tokens["auditor"]
    registered = post(client, "/bank-accounts", fin, ACCOUNT)
    [account] = get(client, "/bank-accounts", auditor, after=registered["position"])["items"]
    assert (account["bank"], account["bank_bin"]) == ("Vietcombank", "970436")
    an, bich, nam = (donor(client, fin, n) for n in ("Nguyễn Văn An", "Trần Thị Bích", "Lê Hoàng Nam"))
    hoa_binh = post(client, "/donors", fin, {"name": "Công ty TNHH Hòa Bình", "kind": "business"})["id"]
    r1 = receipt(client, fin, an, 1_000_000, "2021-03-01", bank_txn_id="FT21060001")
    r2 = receipt(client, fin, bich, 2_500_000, "2021-03-02")
    pledged = post(client, "/pledges", fin, {"donor_id": hoa_binh, "amount_vnd": 5_000_000})
    code = pledged["payment_code"]
    assert code == payment_code(UUID(pledged["id"])) and len(code) <= 25
    r4 = receipt(client, fin, nam, 700_000, "2021-03-05")
    r7 = receipt(client, fin, an, 400_000, "2021-03-07")

    march = statement([
        ("2021-03-01", 1_000_000, "FT21060001", "NGUYEN VAN AN", "ung ho tre em"),
        ("2021-03-02", 2_500_000, "FT21060002", "TRAN THI BICH",
         f"UNG HO {r2['reference'].replace('-', '')}"),
        ("2021-03-03", 3_000_000, "FT21060003", "CONG TY TNHH HOA BINH", f"CTY HOA BINH {code} UNG HO"),
        ("2021-03-06", 700_000, "FT21060004", "LE HOANG NAM", "chuyen tien"),
        ("2021-03-08", 300_000, "FT21060005", "PHẠM THU HÀ", "Ủng hộ các cháu vùng cao"),
        ("2021-03-09", -11_000, None, "", "Phí dịch vụ SMS"),
    ])
    head = services.ledger.recorder.max_notification_id()
    imported = upload(client, fin, write_csv(march))
    assert {k: imported[k] for k in ("lines", "new_lines", "matched", "suggested", "unmatched")} == {
        "lines": 6, "new_lines": 6, "matched": 3, "suggested": 1, "unmatched": 2}
    assert imported["position"] > head

    # Matched surely: by transaction id, by reference, by payment code (a new receipt for the pledge).
    lines = get(client, f"/bank-accounts/{ACCOUNT['code']}/lines", fin, after=imported["position"],
                **{"from": "2021-03-01", "to": "2021-03-31"})["items"]
    how = {line["bank_txn_id"]: (line["matched_how"], line["target_id"]) for line in lines}
    assert how["FT21060001"] == ("bank_txn_id", r1["id"])
    assert how["FT21060002"] == ("reference", r2["id"])
    assert how["FT21060003"][0] == "payment_code"
    made = get(client, f"/donors/{hoa_binh}", fin, after=imported["position"])
    assert made["received_vnd"] == 3_000_000
    assert made["outstanding_pledges"][0]["outstanding_vnd"] == 2_000_000
    assert made["outstanding_pledges"][0]["payment_code"] == code

    # The report: the difference is exactly the unmatched lines less the unmatched entries.
    before = report(client, auditor)
    assert before["opening_balance_vnd"] == OPENING
    assert before["bank_balance_vnd"] == OPENING + 7_489_000
    assert before["difference_vnd"] == (700_000 + 300_000 - 11_000) - (700_000 + 400_000)
    assert before["ledger_balance_vnd"] == before["bank_balance_vnd"] - before["difference_vnd"]
    assert before["matched"] == 3 and before["reconciled"] is False
    assert sorted(e["entry_id"] for e in before["unmatched_ledger_entries"]) == sorted([r4["id"], r7["id"]])
    [suggestion] = before["suggestions"]
    nam_line = next(line for line in lines if line["bank_txn_id"] == "FT21060004")
    assert (suggestion["bank_line_id"], suggestion["target_id"]) == (nam_line["line_id"], r4["id"])

    # A person confirms the suggestion, and turns the unknown credit into a receipt.
    post(client, "/matches", fin, {"bank_line_id": nam_line["line_id"], "target_id": r4["id"]})
    ha_line = next(line for line in lines if line["bank_txn_id"] == "FT21060005")
    created = post(client, "/matches", fin, {"bank_line_id": ha_line["line_id"], "create_receipt": {}})
    ha = get(client, f"/donors/{created['donor_id']}", fin, after=created["position"])
    assert (ha["name"], ha["received_vnd"]) == ("PHẠM THU HÀ", 300_000)
    after = report(client, fin, after=created["position"])
    assert after["difference_vnd"] == -11_000 - 400_000 and after["matched"] == 5

    # A matched receipt cannot be matched again, nor a line twice, nor with another amount.
    fee = next(line for line in lines if line["amount_vnd"] < 0)
    assert post(client, "/matches", fin, {"bank_line_id": ha_line["line_id"], "target_id": r7["id"]},
                422)["code"] == "validation_error"
    assert post(client, "/matches", fin, {"bank_line_id": fee["line_id"], "target_id": r7["id"]},
                422)["code"] == "validation_error"

    # Undo puts both back; the receipt made from the line stays, now unmatched.
    post(client, f"/matches/{created['id']}/undo", fin, {"reason": "nhầm người gửi"})
    undone = report(client, fin, after=services.ledger.recorder.max_notification_id())
    assert undone["difference_vnd"] == after["difference_vnd"]
    assert {e["entry_id"] for e in undone["unmatched_ledger_entries"]} == {r7["id"], created["target_id"]}
    # An undone match is no one's current match any more.
    undo_twice = post(client, f"/matches/{created['id']}/undo", fin, {"reason": "again"}, 404)
    assert undo_twice["code"] == "not_found"

    # Match the receipt again; reverse the one the bank never saw. Only the fee is left: it has
    # no ledger entry, so it stays a reconciling item.
    post(client, "/matches", fin, {"bank_line_id": ha_line["line_id"], "target_id": created["target_id"]})
    post(client, "/reversals", fin, {"target_id": r7["id"], "reason": "không có trong sao kê"})
    final = report(client, fin, after=services.ledger.recorder.max_notification_id())
    assert final["difference_vnd"] == -11_000
    assert [line["amount_vnd"] for line in final["unmatched_bank_lines"]] == [-11_000]
    assert final["unmatched_ledger_entries"] == []

    # Downloads.
    as_csv = client.get(f"{API}/reconciliation", params={"account": ACCOUNT["code"], "format": "csv",
                        "from": "2021-03-01", "to": "2021-03-31"}, headers=auth(auditor))
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert ["difference_vnd", "-11000"] in rows and any("Phí dịch vụ SMS" in r for r in rows)
    as_xlsx = client.get(f"{API}/reconciliation", params={"account": ACCOUNT["code"], "format": "xlsx",
                         "from": "2021-03-01", "to": "2021-03-31"}, headers=auth(auditor))
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None
    assert ("difference_vnd", -11000) in [(r[0], r[1]) for r in sheet.iter_rows(values_only=True)]


def test_re_import_overlap_and_refusal_add_nothing_twice(client: TestClient, services: CompositionRoot,
                                                         tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    post(client, "/bank-accounts", fin, ACCOUNT)
    first = statement([("2021-03-01", 500_000, "FT1", "A", "x"), ("2021-03-02", 600_000, None, "B", ""),
                       ("2021-03-02", 600_000, None, "B", "")])
    data = write_csv(first)
    one = upload(client, fin, data)
    assert (one["lines"], one["new_lines"]) == (3, 3)  # two identical lines are two lines
    again = upload(client, fin, data)
    assert (again["statement_id"], again["new_lines"]) == (one["statement_id"], 0)
    # An overlapping statement in another format: the shared lines are the same lines.
    second = statement([("2021-03-02", 600_000, None, "B", ""), ("2021-03-02", 600_000, None, "B", ""),
                        ("2021-03-04", -100_000, "FT9", "C", "chi")], opening=OPENING + 500_000,
                       fmt="xlsx")
    two = upload(client, fin, write_xlsx(second), "sao-ke.xlsx")
    assert (two["lines"], two["new_lines"]) == (3, 1)
    three = upload(client, fin, write_camt053(replace(second, format="camt053")), "camt.xml")
    assert three["new_lines"] == 0
    lines = get(client, f"/bank-accounts/{ACCOUNT['code']}/lines", fin, after=three["position"],
                **{"from": "2021-01-01", "to": "2021-12-31"})["items"]
    assert [line["amount_vnd"] for line in lines] == [500_000, 600_000, 600_000, -100_000]
    assert report(client, fin)["bank_balance_vnd"] == OPENING + 1_600_000

    # A statement that does not add up is refused whole, with the reason, and nothing is recorded.
    head = services.ledger.recorder.max_notification_id()
    bad = write_csv(statement([("2021-03-05", 1_000, "FT77", "D", "")])).replace(b"1000", b"2000", 1)
    refused = upload(client, fin, bad, expect=422)
    assert refused["code"].startswith("statement_")
    assert services.ledger.recorder.max_notification_id() == head
    # Idempotency-Key: the same key and file answer the same; another file under it is refused.
    keyed = statement([("2021-03-06", 1_000, "FT78", "E", "")], opening=OPENING + 1_600_000)
    a = upload(client, fin, write_csv(keyed), **{"Idempotency-Key": "k1"})
    assert upload(client, fin, write_csv(keyed), **{"Idempotency-Key": "k1"}) == a
    reused = upload(client, fin, data, expect=422, **{"Idempotency-Key": "k1"})
    assert reused["code"] == "idempotency_key_reused"


def test_vietqr_of_a_pledge_and_who_may_do_what(client: TestClient, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    post(client, "/bank-accounts", fin, ACCOUNT)
    d = donor(client, fin)
    pledge = post(client, "/pledges", fin, {"donor_id": d, "amount_vnd": 1_250_000})["id"]
    # Another fund's account: a pledge (which names no fund) is paid to the campaign's account.
    other = post(client, "/bank-accounts", fin, {**ACCOUNT, "code": "AGR-NGHEO", "bank": "970405",
                                                 "account_number": "8300201004321",
                                                 "fund": "fund-for-the-poor"})
    qr = get(client, f"/pledges/{pledge}/vietqr", fin, after=other["position"])
    assert qr["account"] == ACCOUNT["code"]
    fields = parse_payload(qr["payload"])
    assert qr["payment_code"] in qr["payload"] and qr["amount_vnd"] == 1_250_000
    # The payload parses back (its CRC checked) to the account, the amount due and the code.
    assert fields["38"]["01"] == {"00": "970436", "01": ACCOUNT["account_number"]}
    assert (fields["54"], fields["62"]["08"]) == ("1250000", qr["payment_code"])
    image = client.get(f"{API}/pledges/{pledge}/vietqr", params={"format": "png"}, headers=auth(fin))
    assert image.headers["content-type"] == "image/png" and image.content.startswith(b"\x89PNG")
    # Partly paid: the QR asks for the rest; paid in full: no QR at all (never the whole again).
    receipt(client, fin, d, 1_000_000, "2021-03-01", pledge_id=pledge)
    assert get(client, f"/pledges/{pledge}/vietqr", fin)["amount_vnd"] == 250_000
    receipt(client, fin, d, 250_000, "2021-03-02", pledge_id=pledge)
    assert get(client, f"/pledges/{pledge}/vietqr", fin, 409)["code"] == "conflict"

    assert post(client, "/bank-accounts", fin, ACCOUNT, 409)["code"] == "already_recorded"
    assert post(client, "/bank-accounts", tokens["auditor"], {**ACCOUNT, "code": "X"}, 403)
    assert post(client, "/bank-accounts", tokens["district"], {**ACCOUNT, "code": "X"}, 403)
    get(client, "/reconciliation", tokens["district"], 403, account=ACCOUNT["code"])
    get(client, "/reconciliation", tokens["auditor"], account=ACCOUNT["code"])
    get(client, "/reconciliation", fin, 404, account="NOPE")
    assert client.get(f"{API}/reconciliation", params={"account": ACCOUNT["code"]}).status_code == 401


def test_an_import_whose_payments_together_pass_the_total_limit_is_refused(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk of an import is one command: its receipts count towards the limit together. Each
    checked against the log alone, as they were, two payments of pledges passed it."""
    monkeypatch.setattr(ledger.application, "MAX_TOTAL_VND", 5_000_000)
    fin = tokens["finance"]
    post(client, "/bank-accounts", fin, ACCOUNT)
    codes = [post(client, "/pledges", fin, {"donor_id": donor(client, fin, name),
                                            "amount_vnd": 2_000_000})["payment_code"]
             for name in ("Công ty Hòa Bình", "Hợp tác xã Mai Pha")]
    paid = statement([("2021-03-03", 3_000_000, f"FT2106000{n}", "CONG TY", f"UNG HO {code}")
                      for n, code in enumerate(codes)])
    head = services.ledger.recorder.max_notification_id()
    refused = upload(client, fin, write_csv(paid), expect=422)
    assert refused["code"] == "total_limit_reached"
    assert services.ledger.recorder.max_notification_id() == head  # nothing recorded
    imported = upload(client, fin, write_csv(replace(paid, lines=paid.lines[:1],
                                                     closing_balance_vnd=OPENING + 3_000_000)))
    assert imported["matched"] == 1  # one of them alone is within the limit
