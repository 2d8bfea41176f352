"""The report to the Department of Labour, Invalids and Social Affairs (Sở LĐTBXH; plan sections
II.3, II.6 and IV): for a period, the resources mobilised per partner organisation and per source,
cash and goods apart; allocations and distributions per category and district; the children
supported. As JSON for programs, and as CSV and XLSX laid out as the Department files it
(Vietnamese headings; in XLSX, amounts are numbers formatted `1.250.000 ₫`, not text)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.styles import Font

from adapters.spreadsheet import safe_row
from domain.errors import PartnerUnknown
from domain.money import CATEGORIES, FUNDS
from domain.partners import partner_code
from projections.mobilisation import mobilisation

if TYPE_CHECKING:
    from ledger.bootstrap import CompositionRoot

DIRECT = "Không qua tổ chức (trực tiếp)"
# Vietnamese grouping whatever the reader's locale: Excel applies the vi-VN number format.
VND_FORMAT = '[$-vi-VN]#,##0 "₫"'


def mobilisation_report(svc: CompositionRoot, date_from: str, date_to: str) -> dict[str, Any]:
    """The report's figures, with the names of partners, funds, categories and districts."""
    partners = svc.ledger.partners(fresh=True)

    def partner_of(value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return partner_code(partners.values(), value)
        except PartnerUnknown:
            return value  # a free text recorded before partners were reference data

    seasons = [s["code"] for s in svc.ledger.seasons()
               if s["starts_on"] <= date_to and date_from <= s["ends_on"]]
    report = mobilisation(svc.db, date_from=date_from, date_to=date_to, seasons=seasons,
                          partner_of=partner_of)
    for row in report["by_partner"]:
        code = row["partner"]
        row["name"] = DIRECT if code is None else partners[code]["name"] if code in partners else code
    for row in report["by_fund"]:
        row["name"] = FUNDS.get(row["fund"], {}).get("name_vi", row["fund"])
    for key in ("allocated", "distributed", "children"):
        for row in report[key]:
            row["category_name"] = CATEGORIES.get(row["category"], {}).get("name_vi", row["category"])
            row["district_name"] = svc.areas.district(row["district"]).name
    return report


def _rows(report: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """The report as the Department's table: a title, then each part under its heading; money
    cells are ints (the CSV writes them as digits, the XLSX formats them)."""
    yield ("BÁO CÁO KẾT QUẢ VẬN ĐỘNG NGUỒN LỰC HỖ TRỢ TRẺ EM",)
    yield ("Từ ngày", report["from"], "Đến ngày", report["to"])
    yield ("Tổng nguồn lực vận động (đồng)", report["total_received_vnd"])
    yield ("Trong đó: tiền mặt, chuyển khoản (đồng)", report["cash_received_vnd"])
    yield ("Trong đó: hiện vật quy ra tiền (đồng)", report["goods_received_vnd"])
    yield ("Số trẻ em được hỗ trợ", report["children_supported"])
    yield ()
    yield ("I. NGUỒN LỰC VẬN ĐỘNG THEO TỔ CHỨC",)
    funds = [f["fund"] for f in report["by_fund"]]
    yield ("Tổ chức vận động", "Mã", "Số lượt", "Tổng (đồng)", "Tiền (đồng)", "Hiện vật (đồng)",
           *(f'{FUNDS.get(f, {}).get("name_vi", f)} (đồng)' for f in funds))
    for p in report["by_partner"]:
        yield (p["name"], p["partner"] or "", p["receipts"], p["received_vnd"], p["cash_vnd"],
               p["goods_vnd"], *(p["by_fund"].get(f, 0) for f in funds))
    yield ()
    yield ("II. NGUỒN LỰC THEO NGUỒN (QUỸ)",)
    yield ("Nguồn", "Mã", "Tổng (đồng)", "Tiền (đồng)", "Hiện vật (đồng)")
    for f in report["by_fund"]:
        yield (f["name"], f["fund"], f["received_vnd"], f["cash_vnd"], f["goods_vnd"])
    yield ()
    yield ("III. PHÂN BỔ THEO NỘI DUNG VÀ HUYỆN", "Đợt: " + ", ".join(report["seasons"]))
    yield ("Nội dung hỗ trợ", "Huyện", "Số quyết định", "Kinh phí phân bổ (đồng)")
    for a in report["allocated"]:
        yield (a["category_name"], a["district_name"], a["allocations"], a["allocated_vnd"])
    yield ()
    yield ("IV. CẤP PHÁT THEO NỘI DUNG VÀ HUYỆN",)
    yield ("Nội dung hỗ trợ", "Huyện", "Số đợt cấp phát", "Giá trị cấp phát (đồng)")
    for d in report["distributed"]:
        yield (d["category_name"], d["district_name"], d["distributions"], d["distributed_vnd"])
    yield ()
    yield ("V. SỐ TRẺ EM ĐƯỢC HỖ TRỢ THEO NỘI DUNG VÀ HUYỆN",)
    yield ("Nội dung hỗ trợ", "Huyện", "Trẻ em có tên (không trùng)", "Trẻ em theo danh sách")
    for c in report["children"]:
        yield (c["category_name"], c["district_name"], c["named_children"], c["counted_children"])


def mobilisation_csv(report: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in _rows(report):
        writer.writerow(safe_row(row))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def mobilisation_xlsx(report: dict[str, Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Bao cao van dong"
    bold = Font(bold=True)
    headings: tuple[Any, ...] = ()
    for row in _rows(report):
        sheet.append(safe_row(row))
        r = sheet.max_row
        if len(row) == 1 or (row and all(isinstance(v, str) for v in row) and len(row) > 2):
            for n in range(1, len(row) + 1):
                sheet.cell(row=r, column=n).font = bold
            headings = row
            continue
        for n, value in enumerate(row, start=1):
            label = headings[n - 1] if n - 1 < len(headings) else ""
            money = (isinstance(label, str) and "(đồng)" in label) or (
                n == 2 and isinstance(row[0], str) and "(đồng)" in row[0])
            if isinstance(value, int) and money:
                sheet.cell(row=r, column=n).number_format = VND_FORMAT
    for column, width in zip("ABCDEFGHIJ", (44, 22, 16, 22, 20, 20, 20, 20, 20, 20), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
