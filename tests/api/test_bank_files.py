"""camt.053 files as banks send them, through the HTTP API on SQLite and PostgreSQL: several
statements go to their registered accounts, unregistered ones are reported, re-import records
nothing, batches give a line per transfer, and a foreign or currency-less file is refused whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.api.test_bank import ACCOUNT, upload
from tests.helpers import get, post

FIXTURES = Path(__file__).parent.parent / "fixtures" / "statements"
SECOND = {"code": "VCB-HB", "bank": "Vietcombank", "account_number": "0011004999888",
          "fund": "campaign"}


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def by_number(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["account_number"]: s for s in answer["statements"]}


def test_each_statement_goes_to_its_account_and_unregistered_ones_are_reported(
        client: TestClient, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    post(client, "/bank-accounts", fin, ACCOUNT)
    post(client, "/bank-accounts", fin, SECOND)
    answer = upload(client, fin, read("camt053-several-accounts.xml"), "sao-ke.xml")
    statements = by_number(answer)
    assert [statements[n]["status"] for n in ("0011004123456", "0011004999888", "0011004777666")] == [
        "imported", "imported", "account_not_registered"]
    assert (statements["0011004123456"]["account"], statements["0011004999888"]["account"]) == (
        "VCB-QUY", "VCB-HB")
    assert statements["0011004777666"]["account"] is None
    assert statements["0011004777666"]["statement_id"] is None
    assert (statements["0011004123456"]["lines"], statements["0011004123456"]["new_lines"]) == (2, 2)
    assert statements["0011004123456"]["currency"] == "VND"
    assert statements["0011004123456"]["from"] == "2021-03-01"
    # The file's totals count the statements imported, not the one left out.
    assert (answer["lines"], answer["new_lines"]) == (3, 3)
    assert answer["statement_id"] == statements["0011004123456"]["statement_id"]
    after = answer["position"]
    assert len(get(client, "/bank-accounts/VCB-HB/lines", fin, after=after)["items"]) == 1
    assert len(get(client, "/bank-accounts/VCB-QUY/lines", fin, after=after)["items"]) == 2

    # The same file again records nothing new, whichever account it is uploaded to.
    again = upload(client, fin, read("camt053-several-accounts.xml"), "sao-ke.xml")
    assert again["new_lines"] == 0
    assert [s["new_lines"] for s in again["statements"]] == [0, 0, 0]
    elsewhere = client.post("/api/v1/bank-accounts/VCB-HB/statements",
                            files={"file": ("sao-ke.xml", read("camt053-several-accounts.xml"))},
                            headers={"Authorization": f"Bearer {fin}"})
    assert elsewhere.status_code == 201, elsewhere.text
    assert elsewhere.json()["new_lines"] == 0
    assert len(get(client, "/bank-accounts/VCB-QUY/lines", fin)["items"]) == 2


def test_a_file_with_no_statement_of_a_registered_account_is_refused(
        client: TestClient, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    post(client, "/bank-accounts", fin, {**ACCOUNT, "account_number": "1234567890"})
    problem = upload(client, fin, read("camt053-several-accounts.xml"), "sao-ke.xml", 422)
    assert problem["code"] == "validation_error"
    assert get(client, "/bank-accounts/VCB-QUY/lines", fin)["items"] == []


def test_several_days_of_one_account_import_and_reconcile(client: TestClient,
                                                          tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    post(client, "/bank-accounts", fin, ACCOUNT)
    answer = upload(client, fin, read("camt053-several-days.xml"), "sao-ke.xml")
    assert [(s["from"], s["status"], s["new_lines"]) for s in answer["statements"]] == [
        ("2021-03-01", "imported", 1), ("2021-03-02", "imported", 1)]
    assert answer["statements"][0]["statement_id"] != answer["statements"][1]["statement_id"]
    report = get(client, "/reconciliation", fin, account=ACCOUNT["code"], after=answer["position"],
                 **{"from": "2021-03-01", "to": "2021-03-02"})
    assert (report["opening_balance_vnd"], report["bank_balance_vnd"]) == (10_000_000, 10_400_000)
    assert report["gaps"] == []
    assert len(report["unmatched_bank_lines"]) == 2 and not report["reconciled"]
    assert upload(client, fin, read("camt053-several-days.xml"), "sao-ke.xml")["new_lines"] == 0


def test_a_file_of_several_statements_under_one_idempotency_key(client: TestClient,
                                                                tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    post(client, "/bank-accounts", fin, ACCOUNT)
    first = upload(client, fin, read("camt053-several-days.xml"), "a.xml", **{"Idempotency-Key": "k-1"})
    replay = upload(client, fin, read("camt053-several-days.xml"), "a.xml", **{"Idempotency-Key": "k-1"})
    # The replay answers as the first request did, statement by statement, and records nothing.
    assert [s["statement_id"] for s in replay["statements"]] == [
        s["statement_id"] for s in first["statements"]]
    assert replay["new_lines"] == first["new_lines"] == 2
    assert len(get(client, "/bank-accounts/VCB-QUY/lines", fin, after=replay["position"])["items"]) == 2


def test_a_batch_gives_a_line_per_transfer_and_each_becomes_a_receipt(
        client: TestClient, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    post(client, "/bank-accounts", fin, ACCOUNT)
    answer = upload(client, fin, read("camt053-batch.xml"), "sao-ke.xml")
    assert (answer["lines"], answer["new_lines"], answer["unmatched"] + answer["suggested"]) == (3, 3, 3)
    lines = get(client, "/bank-accounts/VCB-QUY/lines", fin, after=answer["position"])["items"]
    assert sorted(line["amount_vnd"] for line in lines) == [100_000, 150_000, 250_000]
    last = 0
    for line in lines:
        last = post(client, "/matches", fin, {"bank_line_id": line["line_id"], "create_receipt": {}})[
            "position"]
    report = get(client, "/reconciliation", fin, account=ACCOUNT["code"], after=last,
                 **{"from": "2021-03-01", "to": "2021-03-01"})
    assert (report["bank_balance_vnd"], report["ledger_balance_vnd"], report["matched"]) == (
        10_500_000, 10_500_000, 3)
    assert report["reconciled"]


USD = {"code": "VCB-USD", "bank": "Vietcombank", "account_number": "0011370555444", "fund": "campaign",
       "currency": "USD"}


def lines_of(client: TestClient, token: str, code: str, after: int = 0) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = get(client, f"/bank-accounts/{code}/lines", token, after=after)["items"]
    return items


def test_a_usd_account_at_the_banks_rate_imports_and_reconciles(client: TestClient,
                                                                tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    post(client, "/bank-accounts", fin, ACCOUNT)
    post(client, "/bank-accounts", fin, USD)
    # Uploaded to the VND account, the statement goes to the USD account (found by its IBAN's number).
    answer = upload(client, fin, read("camt053-usd-rate.xml"), "usd.xml")
    (only,) = answer["statements"]
    assert (only["account"], only["currency"], only["status"], only["new_lines"]) == (
        "VCB-USD", "USD", "imported", 2)
    lines = lines_of(client, fin, "VCB-USD", answer["position"])
    assert [(x["currency"], x["amount"], x["rate"], x["amount_vnd"]) for x in lines] == [
        ("USD", 25_050, "23050.5", 5_774_150), ("USD", 10_000, "23050.5", 2_305_050)]
    receipts = [post(client, "/matches", fin, {"bank_line_id": x["line_id"], "create_receipt": {}})
                for x in lines]
    # Every total stays in đồng: the receipts are the lines' đồng values at the bank's rate.
    summary = get(client, "/public/summary", after=receipts[-1]["position"])
    assert summary["received_vnd"] == 5_774_150 + 2_305_050
    report = get(client, "/reconciliation", fin, account="VCB-USD", after=receipts[-1]["position"],
                 **{"from": "2021-03-01", "to": "2021-03-01"})
    assert (report["currency"], report["opening_balance"], report["bank_balance"],
            report["ledger_balance"], report["difference"]) == ("USD", 100_000, 135_050, 135_050, 0)
    assert (report["matched"], report["matched_vnd"], report["reconciled"]) == (2, 8_079_200, True)
    assert "bank_balance_vnd" not in report
    csv_report = client.get("/api/v1/reconciliation", params={
        "account": "VCB-USD", "from": "2021-03-01", "to": "2021-03-01", "format": "csv"},
        headers={"Authorization": f"Bearer {fin}"})
    assert csv_report.status_code == 200 and "0 USD" in csv_report.text
    assert upload(client, fin, read("camt053-usd-rate.xml"), "usd.xml")["new_lines"] == 0


def test_a_usd_line_without_a_rate_waits_for_the_officers_rate(client: TestClient,
                                                               tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    post(client, "/bank-accounts", fin, USD)
    answer = upload_to(client, fin, "VCB-USD", read("camt053-usd-no-rate.xml"))
    assert (answer["new_lines"], answer["matched"]) == (1, 0)
    (line,) = lines_of(client, fin, "VCB-USD", answer["position"])
    assert (line["amount"], line["amount_vnd"], line["rate"]) == (5_000, 0, None)
    problem = post(client, "/matches", fin, {"bank_line_id": line["line_id"], "create_receipt": {}}, 422)
    assert problem["code"] == "validation_error" and "rate" in problem["detail"]
    assert post(client, "/matches", fin, {"bank_line_id": line["line_id"], "create_receipt": {
        "rate": "23100"}}, 422)["code"] == "validation_error"  # a rate needs its source
    made = post(client, "/matches", fin, {"bank_line_id": line["line_id"], "create_receipt": {
        "rate": "23100", "rate_source": "Vietcombank, tỷ giá mua chuyển khoản 02/03/2021"}})
    assert get(client, "/public/summary", after=made["position"])["received_vnd"] == 1_155_000
    (rated,) = lines_of(client, fin, "VCB-USD", made["position"])
    assert (rated["amount_vnd"], rated["rate"], rated["match_id"] is not None) == (1_155_000, "23100", True)
    assert rated["rate_source"].startswith("Vietcombank")


def test_a_rate_for_a_line_the_bank_rated_is_refused(client: TestClient, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    post(client, "/bank-accounts", fin, USD)
    answer = upload_to(client, fin, "VCB-USD", read("camt053-usd-rate.xml"))
    line = lines_of(client, fin, "VCB-USD", answer["position"])[0]
    assert post(client, "/matches", fin, {"bank_line_id": line["line_id"], "create_receipt": {
        "rate": "1", "rate_source": "x"}}, 422)["code"] == "validation_error"
    assert lines_of(client, fin, "VCB-USD")[0]["match_id"] is None


def upload_to(client: TestClient, token: str, code: str, data: bytes, expect: int = 201) -> dict[str, Any]:
    response = client.post(f"/api/v1/bank-accounts/{code}/statements", files={"file": ("s.xml", data)},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body


def test_wrong_currency_and_currency_less_files_are_refused_whole(client: TestClient,
                                                                 tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    post(client, "/bank-accounts", fin, ACCOUNT)
    # The USD statement's account, registered as a VND one.
    post(client, "/bank-accounts", fin, {**USD, "code": "VCB-X", "currency": "VND"})
    no_ccy = upload(client, fin, read("camt053-no-ccy.xml"), "x.xml", 422)
    assert no_ccy["code"] == "statement_currency_missing"
    assert upload(client, fin, read("camt053-usd-rate.xml"), "x.xml", 422)["code"] == "statement_currency"
    assert lines_of(client, fin, "VCB-X") == [] and lines_of(client, fin, "VCB-QUY") == []
    for bad in ("usd", "US", "VNDX"):
        assert post(client, "/bank-accounts", fin, {**USD, "code": "B", "currency": bad}, 422)
    assert get(client, "/bank-accounts", fin)["items"][0]["currency"] == "VND"
