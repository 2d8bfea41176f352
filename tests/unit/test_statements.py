"""Bank statements: the three formats, awkward real-world content, detection, every refusal with its
line, line keys under overlap, and round trips through the writers."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.statements import (
    ERROR_CODES,
    Statement,
    StatementError,
    StatementLine,
    check_balances,
    detect_format,
    parse_statement,
    write_camt053,
    write_csv,
    write_xlsx,
)
from adapters.statements.amounts import parse_amount, parse_date
from adapters.statements.model import _folded
from domain.text import fold, nfc

FIXTURES = Path(__file__).parent.parent / "fixtures" / "statements"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def refusal(data: bytes, format: str | None = None, filename: str | None = None) -> StatementError:
    with pytest.raises(StatementError) as caught:
        parse_statement(data, format, filename)
    return caught.value


def unkeyed(statement: Statement) -> Statement:
    return replace(statement, lines=tuple(replace(line, key="") for line in statement.lines))


# --- hand-written fixtures ----------------------------------------------------------------------------

def test_vietnamese_bank_csv_with_bom_semicolons_and_dotted_thousands() -> None:
    statement = parse_statement(fixture("vietcombank-2021-01.csv"), filename="sao-ke.csv")
    assert statement.format == "csv"
    assert statement.account_number == "0011004123456"
    assert (statement.period_from, statement.period_to) == (date(2021, 1, 1), date(2021, 1, 31))
    assert statement.opening_balance_vnd == 12_500_000
    assert statement.closing_balance_vnd == 15_228_000  # derived from the last running balance
    assert [line.amount_vnd for line in statement.lines] == [1_250_000, 2_000_000, -11_000, -11_000, -500_000]
    first, second, fee, same_fee, last = statement.lines
    assert first.booked_on == date(2021, 1, 4)  # the time after the date is ignored
    assert first.counterparty == "NGUYỄN VĂN AN"
    assert first.key == "txn:FT21004000123"
    assert second.description == "Ủng hộ quỹ; đợt 1"  # a quoted field holding the separator
    assert (fee.bank_txn_id, fee.counterparty, fee.description) == (None, "", "")
    assert fee.key.startswith("h:") and fee.key != same_fee.key
    assert last.counterparty == "Trần Thị Bích"  # decomposed (NFD) in the file, NFC here
    assert unicodedata.is_normalized("NFC", last.counterparty)
    assert last.description == "Chi mua áo ấm"
    assert [line.row for line in statement.lines] == [7, 8, 9, 10, 11]


def test_camt053_with_a_reversal_and_missing_references() -> None:
    statement = parse_statement(fixture("camt053-001.08-reversal.xml"))
    assert statement.format == "camt053"
    assert statement.statement_id == "STMT-2021-01-1234567890"
    assert statement.account_number == "12010001234567"
    assert (statement.period_from, statement.period_to) == (date(2021, 1, 1), date(2021, 1, 31))
    assert (statement.opening_balance_vnd, statement.closing_balance_vnd) == (50_000_000, 51_000_000)
    donation, payment, mistaken, reversal, late = statement.lines  # the pending entry is left out
    assert donation == StatementLine(
        booked_on=date(2021, 1, 4), amount_vnd=2_000_000, bank_txn_id="2021010400001", balance_vnd=None,
        counterparty="Nguyễn Văn An", counterparty_account="0451000123456",
        description="UNG HO MB33WJG5DJM TRE EM LANG SON", key="txn:2021010400001")
    assert payment.amount_vnd == -1_500_000
    assert payment.bank_txn_id == "TX-7781"  # from the transaction details, not the EndToEndId
    assert (payment.counterparty, payment.counterparty_account) == ("Công ty TNHH Hòa Bình", "19031234567012")
    assert mistaken.bank_txn_id is None and mistaken.key.startswith("h:")  # EndToEndId NOTPROVIDED
    assert mistaken.description == "Chuyen khoan nham"  # AddtlNtryInf when there is no remittance
    # CRDT + RvslInd: money given back for the mistaken debit, counted as a credit.
    assert (reversal.amount_vnd, reversal.reversal) == (300_000, True)
    assert reversal.counterparty == "Trần Thị Bích"  # the creditor of the reversed debit
    # Only an EndToEndId: chosen by the payer, so not taken as the bank's transaction id.
    assert (late.booked_on, late.bank_txn_id) == (date(2021, 1, 8), None) and late.key.startswith("h:")
    assert late.row == 6  # the sixth entry of the file


def test_unbalanced_csv_is_refused_naming_the_line() -> None:
    error = refusal(fixture("unbalanced.csv"))
    assert (error.code, error.line) == ("statement_unbalanced", 5)
    assert "1300000" in error.detail and "1400000" in error.detail


# --- amounts and dates ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "amount"), [
    ("1.250.000", 1_250_000), ("1,250,000", 1_250_000), ("1250000", 1_250_000),
    ("1.250.000,00", 1_250_000), ("1,250,000.00", 1_250_000), (" 1 250 000 ", 1_250_000),
    ("+1.250.000", 1_250_000), ("-500.000", -500_000), ("(500.000)", -500_000),
    ("1.250.000 VND", 1_250_000), ("1.250.000đ", 1_250_000), ("1.250.000 ₫", 1_250_000),
    ("1.250.000 VNĐ", 1_250_000), ("1\u00a0250\u00a0000", 1_250_000), ("1.250", 1_250),
    ("1250000.00", 1_250_000), ("1250000,0", 1_250_000), (1_250_000, 1_250_000), (1_250_000.0, 1_250_000),
])
def test_amounts_as_banks_write_them(text: object, amount: int) -> None:
    assert parse_amount(text, 1) == amount


@pytest.mark.parametrize("text", [
    "1.250,50", "1,250,000.50", "1250000.5", "1250.000", "1.2500", "1.250,000.00", "1.25.000", "12,5",
    "abc", "", "-", "(-500)", "1.250.000 USD", 1250.5, True,
])
def test_fractional_or_ambiguous_amounts_are_refused(text: object) -> None:
    with pytest.raises(StatementError) as caught:
        parse_amount(text, 7)
    assert (caught.value.code, caught.value.line) == ("statement_amount_invalid", 7)


@pytest.mark.parametrize(("value", "day"), [
    ("05/01/2021", date(2021, 1, 5)), ("2021-01-05", date(2021, 1, 5)), ("05-01-2021", date(2021, 1, 5)),
    ("5/1/2021 14:32", date(2021, 1, 5)), ("2021-01-05T23:59:59+07:00", date(2021, 1, 5)),
    ("05/01/2021 08:12:45", date(2021, 1, 5)), (datetime(2021, 1, 5, 9, 30), date(2021, 1, 5)),
    (date(2021, 1, 5), date(2021, 1, 5)), (44201, date(2021, 1, 5)), (44201.75, date(2021, 1, 5)),
])
def test_dates(value: object, day: date) -> None:
    assert parse_date(value, 1) == day


@pytest.mark.parametrize("value", ["31/02/2021", "2021/01/05", "01-2021", "hôm qua", "", None, 0])
def test_bad_dates_are_refused(value: object) -> None:
    with pytest.raises(StatementError) as caught:
        parse_date(value, 3)
    assert (caught.value.code, caught.value.line) == ("statement_date_invalid", 3)


# --- XLSX laid out like a bank's export ------------------------------------------------------------------

def vietcombank_xlsx(*, extra_row: list[object] | None = None) -> bytes:
    """A sheet as Vietcombank/BIDV exports: title, facts, a blank row, the table (with the opening
    balance as its first row and a wrapped description), footer, and a row after it to be ignored."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    rows: list[list[object]] = [
        ["NGÂN HÀNG TMCP NGOẠI THƯƠNG VIỆT NAM"],
        ["SAO KÊ TÀI KHOẢN"],
        ["Tên tài khoản: QUỸ BẢO TRỢ TRẺ EM TỈNH LẠNG SƠN"],
        ["Số tài khoản:", None, "0011004123456"],
        ["Loại tiền: VND"],
        ["Từ ngày: 01/01/2021 Đến ngày: 31/01/2021"],
        [],
        ["STT", "Ngày giao dịch", "Số tham chiếu", "Số tiền ghi nợ", "Số tiền ghi có", "Số dư",
         "Đơn vị thụ hưởng/Đối tác", "Diễn giải"],
        [None, "Số dư đầu kỳ", None, None, None, 12_500_000],
        [1, datetime(2021, 1, 4, 8, 12), "5012 IBT", None, "1.250.000", 13_750_000, "NGUYỄN VĂN AN",
         "UNG HO PT2021000123"],
        [None, None, None, None, None, None, None, "Tổng công ty Hòa Bình, chuyển từ ngày 04/01"],
        [2, "05/01/2021", 2021010500123, None, 2_000_000, "15.750.000", "Công ty TNHH Hòa Bình", None],
        [3, date(2021, 1, 6), None, 11_000, None, 15_739_000, None, "Phí SMS Banking"],
    ]
    if extra_row is not None:
        rows.append(extra_row)
    rows += [
        ["Tổng phát sinh", None, None, 11_000, 3_250_000],
        ["Số dư cuối kỳ:", None, None, None, None, "15.739.000"],
        [99, date(2021, 2, 1), "after the footer", None, 1, 1, None, "ignored"],
    ]
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_xlsx_bank_layout() -> None:
    statement = parse_statement(vietcombank_xlsx())
    assert statement.format == "xlsx"
    assert statement.account_number == "0011004123456"
    assert (statement.period_from, statement.period_to) == (date(2021, 1, 1), date(2021, 1, 31))
    assert (statement.opening_balance_vnd, statement.closing_balance_vnd) == (12_500_000, 15_739_000)
    assert [(line.booked_on, line.amount_vnd, line.bank_txn_id, line.row) for line in statement.lines] == [
        (date(2021, 1, 4), 1_250_000, "5012 IBT", 10),
        (date(2021, 1, 5), 2_000_000, "2021010500123", 12),
        (date(2021, 1, 6), -11_000, None, 13),
    ]
    assert statement.lines[1].counterparty == "Công ty TNHH Hòa Bình"
    assert statement.lines[1].description == ""
    assert statement.lines[2].description == "Phí SMS Banking"


def test_xlsx_errors_name_the_sheet_row() -> None:
    error = refusal(vietcombank_xlsx(extra_row=[4, "07/01/2021", None, None, "1.000,50", None]))
    assert (error.code, error.line) == ("statement_amount_invalid", 14)


def test_xlsx_without_a_table_header() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["SAO KÊ TÀI KHOẢN"])
    out = io.BytesIO()
    workbook.save(out)
    assert refusal(out.getvalue()).code == "statement_unreadable"


def test_a_broken_workbook_is_unreadable() -> None:
    source = zipfile.ZipFile(io.BytesIO(vietcombank_xlsx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as broken:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename.endswith("sheet1.xml"):
                content = content[:len(content) // 2]
            broken.writestr(item, content)
    assert refusal(out.getvalue()).code == "statement_unreadable"
    assert refusal(b"PK\x03\x04 not really a zip").code == "statement_unreadable"


# --- detection --------------------------------------------------------------------------------------------

def small_statement() -> Statement:
    lines = (StatementLine(date(2021, 3, 1), 100_000, "R1", 1_100_000, "Lê Thị Hoa", "123", "ủng hộ"),
             StatementLine(date(2021, 3, 2), -40_000, None, 1_060_000, "Công ty Hòa Bình", None,
                           "Phí chuyển tiền"))
    return Statement("csv", "0011004123456", date(2021, 3, 1), date(2021, 3, 31), 1_000_000, 1_060_000, lines)


@pytest.mark.parametrize(("writer", "format"), [(write_csv, "csv"), (write_xlsx, "xlsx"),
                                                (write_camt053, "camt053")])
def test_detection_by_content(writer: Callable[[Statement], bytes], format: str) -> None:
    data = writer(small_statement())
    assert detect_format(data, "whatever.bin") == format
    assert parse_statement(data).format == format
    assert parse_statement(data, format).format == format


def test_detection_with_bom_and_blank_lines_before_xml() -> None:
    assert detect_format(b"\xef\xbb\xbf\n  " + write_camt053(small_statement())) == "camt053"


@pytest.mark.parametrize(("data", "filename"), [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "saoke.xls"),
    (b"date,debit,credit\n", "saoke.xls"),
    (b"%PDF-1.7\n", "saoke.pdf"),
    (b"<?xml version='1.0'?><html><body/></html>", None),
    (b"\x00\x01\x02binary", None),
])
def test_unknown_formats_are_refused(data: bytes, filename: str | None) -> None:
    error = refusal(data, filename=filename)
    assert (error.code, error.line) == ("statement_format_unknown", None)


def test_a_format_that_does_not_match_the_content() -> None:
    csv_data = write_csv(small_statement())
    assert refusal(csv_data, "xlsx").code == "statement_unreadable"
    assert refusal(csv_data, "camt053").code == "statement_unreadable"
    assert refusal(csv_data, "ofx").code == "statement_format_unknown"


# --- every refusal, with its line ------------------------------------------------------------------------

HEADER = "date,bank_txn_id,debit,credit,balance,counterparty,description\n"
CAMT_ENTRY = ("<Ntry><Amt Ccy='{ccy}'>{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
              "<BookgDt><Dt>2021-01-04</Dt></BookgDt></Ntry>")


def camt(entries: str, *, statements: int = 1, closing: str = "100") -> bytes:
    statement = ("<Stmt><Id>S</Id><Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy='VND'>0</Amt>"
                 "<CdtDbtInd>CRDT</CdtDbtInd></Bal><Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>"
                 f"<Amt Ccy='VND'>{closing}</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>{entries}</Stmt>")
    return ("<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.13'><BkToCstmrStmt>"
            f"{statement * statements}</BkToCstmrStmt></Document>").encode()


def zip_bomb(unpacked: int = 100 * 2**20) -> bytes:
    """A valid statement workbook with one more member: megabytes of zeros packed a thousand times."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(write_xlsx(small_statement()))) as original, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        for member in original.infolist():
            bomb.writestr(member, original.read(member))
        with bomb.open("xl/media/padding.bin", "w") as padding:
            chunk = b"\x00" * 2**20
            for _ in range(unpacked // 2**20):
                padding.write(chunk)
    return out.getvalue()


REFUSALS: list[tuple[str, bytes, int | None]] = [
    ("statement_format_unknown", b"%PDF-1.4", None),
    ("statement_unreadable", b"# opening_balance: 0\ndate,debit,cr\xe9dit\n", None),
    ("statement_unreadable", b"# opening_balance: 0\n\nngay,so tien ghi\n", 3),
    ("statement_unreadable", (HEADER + "2021-01-04,A,,100,100,," + "x" * 200_000 + "\n").encode(), 2),
    ("statement_unreadable", b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.08'><Bk", 1),
    ("statement_unreadable", b"<?xml version='1.0'?><!DOCTYPE d [<!ENTITY x 'camt.053'>]><d>&x;</d>", None),
    ("statement_multiple", camt(CAMT_ENTRY.format(ccy="VND", amount="100"), statements=2), None),
    ("statement_currency", b"# currency: USD\n" + HEADER.encode(), 1),
    ("statement_currency", camt(CAMT_ENTRY.format(ccy="VND", amount="60") + CAMT_ENTRY.format(
        ccy="USD", amount="40")), 2),
    ("statement_currency_missing", camt(CAMT_ENTRY.replace(" Ccy='{ccy}'", "").format(amount="100")), 1),
    ("statement_date_invalid", (HEADER + "2021-01-04,A,,100,100,,\n31/02/2021,B,,5,105,,\n").encode(), 3),
    ("statement_amount_invalid", (HEADER + '2021-01-04,A,,"1.250,50",,,\n').encode(), 2),
    ("statement_amount_invalid", camt(CAMT_ENTRY.format(ccy="VND", amount="100.50")), 1),
    ("statement_line_invalid", (HEADER + "2021-01-04,A,5,100,95,,\n").encode(), 2),
    ("statement_line_invalid", (HEADER + "2021-01-04,A,,100,100,,\n2021-01-05,B,,,100,,\n").encode(), 3),
    ("statement_line_invalid", (HEADER + "2021-01-04,A,,-100,-100,,\n").encode(), 2),
    ("statement_duplicate_txn", (HEADER + "2021-01-04,A,,100,100,,\n2021-01-05,A,,1,101,,\n").encode(), 3),
    ("statement_no_balances", b"date,bank_txn_id,debit,credit,description\n2021-01-04,A,,100,x\n", None),
    ("statement_no_balances", b"# opening_balance: 5\ndate,debit,credit\n2021-01-04,,100\n", None),
    ("statement_unbalanced", (HEADER + "2021-01-04,A,,100,100,,\n2021-01-05,B,,50,160,,\n").encode(), 3),
    ("statement_unbalanced", b"# opening_balance: 0\n# closing_balance: 99\n" + HEADER.encode()
     + b"2021-01-04,A,,100,,,\n", None),
    ("statement_unbalanced", camt(CAMT_ENTRY.format(ccy="VND", amount="100"), closing="101"), None),
    ("statement_text_invalid", (HEADER + "2021-01-04,A,,100,100,AN\x07B,\n").encode(), 2),
    ("statement_text_invalid", (HEADER + "2021-01-04,A,,100,100,,ung ho\u202e\n").encode(), 2),
    ("statement_date_invalid", (HEADER + "1999-12-31,A,,100,100,,\n").encode(), 2),
    ("statement_too_large", zip_bomb(), None),
]


@pytest.mark.parametrize(("code", "data", "line"), REFUSALS)
def test_refusals_name_the_code_and_line(code: str, data: bytes, line: int | None) -> None:
    error = refusal(data)
    assert (error.code, error.line) == (code, line), error.detail
    assert error.detail


# The limits' codes are exercised with small limits in tests/unit/test_statement_limits.py.
LIMIT_CODES = {"statement_too_many_rows", "statement_too_many_columns", "statement_too_slow"}


def test_every_error_code_is_exercised() -> None:
    assert {code for code, _, _ in REFUSALS} | LIMIT_CODES == ERROR_CODES


def test_camt_of_an_older_version_with_previous_closing_and_debit_balance() -> None:
    data = """<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>
      <Id>OLD-1</Id><Acct><Id><IBAN>VN12BIDV0000012345</IBAN></Id></Acct>
      <Bal><Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="VND">5000</Amt><CdtDbtInd>DBIT</CdtDbtInd></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="VND">15000</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>
      <Ntry><Amt Ccy="VND">20000</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2015-06-01</Dt></BookgDt><NtryDtls><TxDtls><RltdPties><Dbtr><Nm>Hoàng Văn Hải</Nm></Dbtr>
        <DbtrAcct><Id><IBAN>VN99VCB0000000001</IBAN></Id></DbtrAcct></RltdPties></TxDtls></NtryDtls></Ntry>
    </Stmt></BkToCstmrStmt></Document>""".encode()
    statement = parse_statement(data)
    assert (statement.account_number, statement.statement_id) == ("VN12BIDV0000012345", "OLD-1")
    assert (statement.opening_balance_vnd, statement.closing_balance_vnd) == (-5000, 15000)
    (line,) = statement.lines
    assert (line.counterparty, line.counterparty_account) == ("Hoàng Văn Hải", "VN99VCB0000000001")


# --- line keys ---------------------------------------------------------------------------------------------

def month_of_lines() -> list[StatementLine]:
    """1 January to 15 February: some lines with the bank's id, some without, identical twins without
    balances on the same day."""
    lines = []
    for day in range(46):
        booked_on = date(2021, 1, 1) + timedelta(days=day)
        lines.append(StatementLine(booked_on, 100_000 + day, f"FT{day:05d}" if day % 3 else None, None,
                                   "Nguyễn Văn An", None, f"ung ho lan {day}"))
        lines += [StatementLine(booked_on, -11_000, None, None, "", None, "Phí SMS")] * 2
    return lines


def as_statement(lines: list[StatementLine], start: date, end: date, opening: int) -> Statement:
    chosen = tuple(line for line in lines if start <= line.booked_on <= end)
    closing = opening + sum(line.amount_vnd for line in chosen)
    return Statement("csv", "1", start, end, opening, closing, chosen)


def test_keys_are_stable_across_overlapping_statements() -> None:
    lines = month_of_lines()
    january = parse_statement(write_csv(as_statement(lines, date(2021, 1, 1), date(2021, 1, 31), 0)))
    mid = parse_statement(write_csv(as_statement(lines, date(2021, 1, 15), date(2021, 2, 15), 500)))
    overlap_a = [line.key for line in january.lines if line.booked_on >= date(2021, 1, 15)]
    overlap_b = [line.key for line in mid.lines if line.booked_on <= date(2021, 1, 31)]
    assert overlap_a == overlap_b and len(overlap_a) == 17 * 3
    assert len({line.key for line in january.lines} | {line.key for line in mid.lines}) == len(lines)


def test_identical_lines_in_one_statement_get_different_keys() -> None:
    new_year = date(2021, 1, 1)
    statement = parse_statement(write_csv(as_statement(month_of_lines(), new_year, new_year, 0)))
    donation, fee, twin = statement.lines
    assert fee == replace(twin, key=fee.key) and fee.key != twin.key
    assert donation.key.startswith("h:") and fee.key.startswith("h:")


def test_keys_ignore_case_diacritics_and_spacing_and_the_format() -> None:
    plain = small_statement()
    shouting = replace(plain, lines=tuple(replace(line, counterparty=fold(line.counterparty).upper(),
                                                  description=f"  {line.description.upper()} ")
                                          for line in plain.lines))
    keys = [line.key for line in parse_statement(write_csv(plain)).lines]
    assert [line.key for line in parse_statement(write_csv(shouting)).lines] == keys
    assert [line.key for line in parse_statement(write_xlsx(plain)).lines] == keys


@given(st.text())
def test_the_fast_fold_is_domain_fold(text: str) -> None:
    assert _folded(text) == fold(text)


# --- round trips and the balance check ---------------------------------------------------------------------

_TEXT = st.text(alphabet=st.sampled_from("aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂĐÊÔƠƯàảãáạằẳẵắặầẩẫấậ"
                                         "ìỉĩíịùủũúụừửữứựỳỷỹýỵ0123456789 ,;.:'\"-=#/()&"),
                max_size=30).map(nfc)
_ID = st.text(alphabet="ABCDEFGHJK0123456789-", min_size=1, max_size=12)
_AMOUNT = st.integers(1, 10**12).flatmap(lambda a: st.sampled_from([a, -a]))


@st.composite
def statements(draw: st.DrawFn, with_balances: bool = True) -> Statement:
    opening = draw(st.integers(-10**12, 10**12))
    count = draw(st.integers(0, 12))
    txn_ids = draw(st.lists(st.none() | _ID, min_size=count, max_size=count,
                            unique_by=lambda t: t if t is not None else object()))
    start = draw(st.dates(date(2000, 1, 1), date(2025, 12, 1)))  # booking dates lie in the default window
    lines: list[StatementLine] = []
    running = opening
    for txn in txn_ids:
        amount = draw(_AMOUNT)
        running += amount
        shown = with_balances and draw(st.booleans())
        lines.append(StatementLine(
            booked_on=start + timedelta(days=draw(st.integers(0, 30))), amount_vnd=amount, bank_txn_id=txn,
            balance_vnd=running if shown else None, counterparty=draw(_TEXT),
            counterparty_account=draw(st.none() | _ID), description=draw(_TEXT),
            reversal=draw(st.booleans())))
    period_from = draw(st.none() | st.just(start))
    period_to = draw(st.none() | st.just(start + timedelta(days=30)))
    return Statement("csv", draw(st.none() | _ID), period_from, period_to, opening, running, tuple(lines),
                     draw(st.none() | _ID))


@given(statements())
def test_csv_round_trip(statement: Statement) -> None:
    assert unkeyed(parse_statement(write_csv(statement))) == statement


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(statements())
def test_xlsx_round_trip(statement: Statement) -> None:
    assert unkeyed(parse_statement(write_xlsx(statement))) == replace(statement, format="xlsx")


@settings(max_examples=50, deadline=None)
@given(statements(with_balances=False))
def test_camt053_round_trip(statement: Statement) -> None:
    assert unkeyed(parse_statement(write_camt053(statement))) == replace(statement, format="camt053")


@given(statements())
def test_a_generated_statement_balances(statement: Statement) -> None:
    check_balances(statement)


@given(statements().filter(lambda s: bool(s.lines)), st.data())
def test_any_single_altered_amount_is_refused(statement: Statement, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(statement.lines) - 1))
    line = statement.lines[index]
    altered = data.draw(_AMOUNT.filter(lambda a: a != line.amount_vnd))
    lines = list(statement.lines)
    lines[index] = replace(line, amount_vnd=altered)
    with pytest.raises(StatementError) as caught:
        check_balances(replace(statement, lines=tuple(lines)))
    assert caught.value.code == "statement_unbalanced"
