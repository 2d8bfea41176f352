"""The `minhbach` command on a real SQLite file: migrate twice, tokens, rebuild."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from uuid import UUID

from adapters.tokens import find_principal
from tests.conftest import make_services


def minhbach(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MINHBACH_DATA_DIR": str(data_dir)}
    env.pop("MINHBACH_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, text=True,
                          capture_output=True, timeout=120, check=True)


def test_migrate_twice_token_and_rebuild(tmp_path: Path) -> None:
    data = tmp_path / "var"
    minhbach(data, "migrate")
    minhbach(data, "migrate")
    out = minhbach(data, "token", "create", "--name", "Chị Lan", "--role", "finance").stdout
    token = out.strip().splitlines()[-1]
    assert token.startswith("mb_") and " " not in token

    services = make_services(f"sqlite:///{(data / 'minhbach.db').resolve()}", data)
    try:
        who = find_principal(services.db, token)
        assert who is not None and (who.name, who.role) == ("Chị Lan", "finance")
        stored = services.db.query("SELECT token_hash FROM api_tokens")
        assert token not in repr(stored)
        head = services.ledger.recorder.max_notification_id()  # the test seasons' events
    finally:
        services.close()

    refused = subprocess.run(
        [sys.executable, "-m", "api.cli", "token", "create", "--name", "x", "--role", "district"],
        env={**os.environ, "MINHBACH_DATA_DIR": str(data)}, capture_output=True, text=True)
    assert refused.returncode != 0
    rebuilt = minhbach(data, "projections", "rebuild")
    assert head and f"rebuilt from {head} events" in rebuilt.stdout + rebuilt.stderr


def test_import_statement_and_reconciliation_report(tmp_path: Path) -> None:
    from datetime import date

    from openpyxl import load_workbook

    from adapters.statements import Statement, StatementLine, write_csv
    from domain.meta import Context

    data = tmp_path / "var"
    minhbach(data, "migrate")
    services = make_services(f"sqlite:///{(data / 'minhbach.db').resolve()}", data)
    try:
        ctx = Context(actor="test", role="finance")
        services.bank.register_account(ctx, "", code="AGR", bank="Agribank", bank_bin="970405",
                                       account_number="1500201234567", fund="fund-for-the-poor")
        donor = services.ledger.register_donor(ctx, "", name="Hoàng Văn Thụ", kind="individual")["id"]
        services.ledger.record_receipt(ctx, "", donor_id=UUID(donor),
                                       fund="fund-for-the-poor", received_on="2021-06-01",
                                       channel="bank", amount_vnd=2_000_000, bank_txn_id="AG001")
    finally:
        services.close()
    lines = (StatementLine(date(2021, 6, 1), 2_000_000, "AG001", 7_000_000, "HOANG VAN THU", None, "ung ho"),
             StatementLine(date(2021, 6, 2), -5_500, None, 6_994_500, "", None, "Phí quản lý tài khoản"))
    path = tmp_path / "sao-ke-06.csv"
    path.write_bytes(write_csv(Statement("csv", "1500201234567", date(2021, 6, 1), date(2021, 6, 30),
                                         5_000_000, 6_994_500, lines)))
    imported = minhbach(data, "import-statement", "--account", "AGR", str(path)).stdout
    assert '"new_lines": 2' in imported and '"matched": 1' in imported
    again = minhbach(data, "import-statement", "--account", "AGR", str(path)).stdout
    assert '"new_lines": 0' in again

    env = {**os.environ, "MINHBACH_DATA_DIR": str(data)}
    report = subprocess.run([sys.executable, "-m", "api.cli", "report", "reconciliation", "--account", "AGR",
                             "--from", "2021-06-01", "--to", "2021-06-30", "--check"],
                            env=env, capture_output=True, text=True)
    assert report.returncode == 3, report.stderr  # not reconciled: the fee is not in the ledger
    assert "-5.500 ₫" in report.stdout and "Chưa khớp" in report.stdout
    xlsx = tmp_path / "doi-soat.xlsx"
    subprocess.run([sys.executable, "-m", "api.cli", "report", "reconciliation", "--account", "AGR",
                    "--from", "2021-06-01", "--to", "2021-06-30", "--format", "xlsx", "--out", str(xlsx)],
                   env=env, capture_output=True, text=True, check=True)
    sheet = load_workbook(xlsx).active
    assert sheet is not None
    assert ("bank_balance_vnd", 6_994_500) in [(r[0], r[1]) for r in sheet.iter_rows(values_only=True)]


def test_the_mobilisation_report_from_the_command_line(tmp_path: Path) -> None:
    import json

    from openpyxl import load_workbook

    from domain.meta import Context

    data = tmp_path / "var"
    minhbach(data, "migrate")
    services = make_services(f"sqlite:///{(data / 'minhbach.db').resolve()}", data)
    try:
        ctx = Context(actor="test", role="finance")
        donor = UUID(services.ledger.register_donor(ctx, "d", name="Nguyễn Văn An",
                                                    kind="individual")["id"])
        for n, (amount, partner) in enumerate(((1_250_000, "Hội LHPN tỉnh"), (750_000, None))):
            services.ledger.record_receipt(ctx, f"r{n}", donor_id=donor, fund="campaign",
                                           received_on="2021-04-01", channel="cash",
                                           amount_vnd=amount, mobilised_by=partner)
    finally:
        services.close()
    period = ("--from", "2021-01-01", "--to", "2021-12-31")
    report = json.loads(minhbach(data, "report", "mobilisation", *period, "--format", "json").stdout)
    assert report["total_received_vnd"] == 2_000_000
    as_recorded = minhbach(data, "report", "mobilisation", *period, "--by", "recorded", "--format", "json")
    assert json.loads(as_recorded.stdout)["total_received_vnd"] == 0  # all recorded today
    assert [(p["partner"], p["received_vnd"]) for p in report["by_partner"]] == [
        ("hlhpn", 1_250_000), (None, 750_000)]
    text = minhbach(data, "report", "mobilisation", *period).stdout
    assert "2.000.000 ₫" in text and "Hội Liên hiệp Phụ nữ tỉnh Lạng Sơn" in text
    minhbach(data, "report", "mobilisation", *period, "--format", "xlsx", "--out", str(tmp_path / "r.xlsx"))
    sheet = load_workbook(tmp_path / "r.xlsx").active
    assert sheet is not None and sheet["B3"].value == 2_000_000
    ranked = minhbach(data, "report", "recognition", *period).stdout
    assert "Nguyễn Văn An" in ranked and "2.000.000 ₫" in ranked and "Thư cảm ơn" in ranked
    pledges = json.loads(minhbach(data, "report", "pledges", "--as-of", "2021-12-31",
                                  "--format", "json").stdout)
    assert (pledges["pledges"], pledges["items"]) == (0, [])
    # Recorded today, received in April 2021: by business date the money was there in April.
    replay = ("audit", "replay", "--as-of", "2021-04-30")
    as_recorded = json.loads(minhbach(data, *replay).stdout)
    as_happened = json.loads(minhbach(data, *replay, "--by", "business").stdout)
    assert (as_recorded["by"], as_recorded["funds"]) == ("recorded", [])
    assert sum(f["available_vnd"] for f in as_happened["funds"]) == 2_000_000


def test_import_statement_of_several_accounts(tmp_path: Path) -> None:
    """The CLI imports every statement of a camt.053 file into its account and reports the rest."""
    import json

    from domain.meta import Context

    data = tmp_path / "var"
    minhbach(data, "migrate")
    services = make_services(f"sqlite:///{(data / 'minhbach.db').resolve()}", data)
    try:
        ctx = Context(actor="test", role="finance")
        for code, number in (("VCB-QUY", "0011004123456"), ("VCB-HB", "0011004999888")):
            services.bank.register_account(ctx, "", code=code, bank="Vietcombank", bank_bin="970436",
                                           account_number=number, fund="campaign")
    finally:
        services.close()
    path = Path(__file__).parent.parent / "fixtures" / "statements" / "camt053-several-accounts.xml"
    answer = json.loads(minhbach(data, "import-statement", "--account", "VCB-QUY", str(path)).stdout)
    assert [(s["account"], s["status"], s["new_lines"]) for s in answer["statements"]] == [
        ("VCB-QUY", "imported", 2), ("VCB-HB", "imported", 1), (None, "account_not_registered", 0)]
    again = json.loads(minhbach(data, "import-statement", "--account", "VCB-HB", str(path)).stdout)
    assert again["new_lines"] == 0
