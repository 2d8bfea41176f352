"""Text that outsiders write (donor names, bank counterparties and transfer texts) comes out of every
CSV and XLSX the service serves as text, never as a formula: the public `/donations.csv` and the
staff's reconciliation report, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import date

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from adapters.spreadsheet import FORMULA_STARTS
from adapters.statements import Statement, StatementLine, write_csv
from ledger.bootstrap import CompositionRoot
from tests.helpers import API, auth, donor, post, receipt

# What survives the boundary's text rules; tab and carriage return are refused or folded there,
# and tests/unit/test_spreadsheet_safety.py checks them at the writers.
PAYLOADS = ('=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)")
ACCOUNT = {"code": "VCB-QUY", "bank": "Vietcombank", "account_number": "0011004123456",
           "fund": "campaign"}


def _numeric(text: str) -> bool:
    return text.lstrip("-").isdigit()


def test_the_public_donations_csv_holds_no_formula(client: TestClient, services: CompositionRoot,
                                                   tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    last = 0
    for i, payload in enumerate(PAYLOADS):
        d = donor(client, fin, payload)
        last = int(receipt(client, fin, d, 1_000_000 + i)["position"])
    services.runner.ensure(last)
    download = client.get("/donations.csv")
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"), newline="")))
    assert sorted(r["donor"] for r in rows) == sorted("'" + p for p in PAYLOADS)
    assert all(_numeric(r["amount_vnd"]) for r in rows)
    assert not [v for r in rows for v in r.values() if v.startswith(FORMULA_STARTS)]


def test_the_reconciliation_files_hold_no_formula(client: TestClient, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    post(client, "/bank-accounts", fin, ACCOUNT)
    lines, balance = [], 5_000_000
    for i, payload in enumerate(PAYLOADS):
        amount = -(11_000 + i) if i % 2 else 20_000 + i
        balance += amount
        lines.append(StatementLine(date(2021, 3, 1 + i), amount, None, balance, payload, None, payload))
    data = write_csv(Statement("csv", ACCOUNT["account_number"], date(2021, 3, 1), date(2021, 3, 31),
                               5_000_000, balance, tuple(lines)))
    response = client.post(f"{API}/bank-accounts/{ACCOUNT['code']}/statements",
                           files={"file": ("sao-ke.csv", data)}, headers=auth(fin))
    assert response.status_code == 201, response.text
    params = {"account": ACCOUNT["code"], "from": "2021-03-01", "to": "2021-03-31",
              "after": response.json()["position"]}

    as_csv = client.get(f"{API}/reconciliation", params={**params, "format": "csv"}, headers=auth(fin))
    assert as_csv.status_code == 200
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"), newline="")))
    cells = [c for row in rows for c in row]
    for payload in PAYLOADS:
        assert cells.count("'" + payload) == 2  # counterparty and description
    assert not [c for c in cells if c.startswith(FORMULA_STARTS) and not _numeric(c)]
    assert ["difference_vnd", str(balance - 5_000_000)] in rows

    as_xlsx = client.get(f"{API}/reconciliation", params={**params, "format": "xlsx"}, headers=auth(fin))
    assert as_xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None
    filled = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert filled and all(cell.data_type != "f" for cell in filled)
    texts = [cell.value for cell in filled if isinstance(cell.value, str)]
    assert not [t for t in texts if t.startswith(FORMULA_STARTS)]
    assert {"'" + p for p in PAYLOADS} <= set(texts)
    # Amounts are numbers in the sheet, negative ones too.
    amounts = [row[1] for row in sheet.iter_rows(values_only=True)
               if row and row[0] in ("2021-03-02", "2021-03-04")]
    assert amounts == [-11_001, -11_003]
