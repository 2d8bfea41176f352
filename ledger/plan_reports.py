"""The reports the plan asks for (sections II.3, II.6 and IV), as JSON for programs and as CSV
and XLSX laid out for filing (Vietnamese headings; in XLSX, amounts are numbers formatted
`1.250.000 ₫`, not text):

- the report to the Department of Labour, Invalids and Social Affairs (Sở LĐTBXH): for a period,
  resources mobilised per partner organisation and per source, cash and goods apart;
  allocations and distributions per category and district; the children supported;
- the donor recognition list: donors ranked by what they gave in a period, with the
  commendation tier each reaches (the settings' `recognition_tiers`); anonymous donors unnamed;
- the pledges outstanding and overdue on a date, for the organisations' follow-up calls."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.styles import Font

from adapters.spreadsheet import safe_row
from domain.leaf import ANONYMOUS
from domain.money import CATEGORIES, FUNDS
from domain.recognition import parse_tiers, tier_of
from domain.text import format_vnd
from projections.plan_reports import mobilisation, outstanding_pledges, recognition

if TYPE_CHECKING:
    from ledger.bootstrap import CompositionRoot

DIRECT = "Không qua tổ chức (trực tiếp)"
# Vietnamese grouping whatever the reader's locale: Excel applies the vi-VN number format.
VND_FORMAT = '[$-vi-VN]#,##0 "₫"'


def mobilisation_report(svc: CompositionRoot, date_from: str, date_to: str,
                        by: str = "business") -> dict[str, Any]:
    """The report's figures, with the names of partners, funds, categories and districts;
    entries dated by business date or by the day they were recorded (`by`)."""
    partners = svc.ledger.partners(fresh=True)

    def partner_of(value: str | None) -> str | None:
        # A free text of an older event that names no partner is kept as it is.
        return None if value is None else svc.ledger.partner_of(value) or value

    seasons = [s["code"] for s in svc.ledger.seasons()
               if s["starts_on"] <= date_to and date_from <= s["ends_on"]]
    report = mobilisation(svc.db, date_from=date_from, date_to=date_to, seasons=seasons,
                          partner_of=partner_of, by=by)
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


def mobilisation_rows(report: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
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


def table_csv(rows: Iterable[tuple[Any, ...]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(safe_row(row))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def marked(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[tuple[Any, ...], bool, list[bool]]]:
    """Each row, whether it is a heading, and which of its cells are money: a row of text only
    is a heading, and an int under a heading naming "(đồng)", or beside a label naming it, is
    money."""
    headings: tuple[Any, ...] = ()
    for row in rows:
        if len(row) == 1 or (row and all(isinstance(v, str) for v in row) and len(row) > 2):
            headings = row
            yield row, True, [False] * len(row)
            continue
        money = []
        for n, value in enumerate(row):
            label = headings[n] if n < len(headings) else ""
            money.append(isinstance(value, int) and not isinstance(value, bool) and (
                (isinstance(label, str) and "(đồng)" in label)
                or (n == 1 and isinstance(row[0], str) and "(đồng)" in row[0])))
        yield row, False, money


def table_text(rows: Iterable[tuple[Any, ...]]) -> str:
    """The rows for a terminal, money as `1.250.000 ₫`."""
    return "\n".join("  ".join(format_vnd(v) if m else str(v) for v, m in zip(row, money, strict=True))
                     for row, _, money in marked(rows))


def table_xlsx(rows: Iterable[tuple[Any, ...]], title: str) -> bytes:
    """The rows on one sheet: headings bold, money cells numbers formatted `1.250.000 ₫`."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title
    bold = Font(bold=True)
    for row, heading, money in marked(rows):
        sheet.append(safe_row(row))
        r = sheet.max_row
        for n, is_money in enumerate(money, start=1):
            cell = sheet.cell(row=r, column=n)
            if heading:
                cell.font = bold
            elif is_money:
                cell.number_format = VND_FORMAT
    for column, width in zip("ABCDEFGHIJ", (44, 22, 16, 22, 20, 20, 20, 20, 20, 20), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ---- the donor recognition list -----------------------------------------------------------------

def recognition_report(svc: CompositionRoot, date_from: str, date_to: str,
                       by: str = "business") -> dict[str, Any]:
    """Donors ranked by what they gave in the period, each with the tier reached; an anonymous
    donor is listed as "Ẩn danh" with neither name nor id (they asked not to be named)."""
    tiers = parse_tiers(svc.settings.recognition_tiers)
    donors = []
    ranked = recognition(svc.db, date_from=date_from, date_to=date_to, by=by)
    for rank, row in enumerate(ranked, start=1):
        named = not row["anonymous"]
        donors.append({**row, "rank": rank, "name": row["name"] if named else ANONYMOUS,
                       "donor_id": row["donor_id"] if named else None,
                       "tier": tier_of(row["given_vnd"], tiers)})
    return {"from": date_from, "to": date_to, "by": by,
            "tiers": [{"name": n, "least_vnd": least} for n, least in tiers],
            "total_given_vnd": sum(d["given_vnd"] for d in donors), "donors": donors}


def recognition_rows(report: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    yield ("DANH SÁCH TÔN VINH NHÀ HẢO TÂM ỦNG HỘ TRẺ EM",)
    yield ("Từ ngày", report["from"], "Đến ngày", report["to"])
    yield ("Tổng giá trị ủng hộ (đồng)", report["total_given_vnd"])
    yield ()
    yield ("Hạng", "Nhà hảo tâm", "Loại", "Số lượt", "Tiền (đồng)", "Hiện vật (đồng)",
           "Tổng (đồng)", "Hình thức tôn vinh")
    for d in report["donors"]:
        yield (d["rank"], d["name"], d["kind"], d["receipts"], d["cash_vnd"], d["goods_vnd"],
               d["given_vnd"], d["tier"] or "")


# ---- pledges outstanding and overdue ------------------------------------------------------------

def pledges_report(svc: CompositionRoot, as_of: str, by: str = "business") -> dict[str, Any]:
    """Pledges still expecting money on `as_of`, the overdue ones first (for follow-up calls)."""
    pledges = outstanding_pledges(svc.db, as_of=as_of, by=by)
    return {"as_of": as_of, "by": by, "pledges": len(pledges),
            "outstanding_vnd": sum(p["outstanding_vnd"] for p in pledges),
            "overdue": sum(p["overdue"] for p in pledges),
            "overdue_vnd": sum(p["outstanding_vnd"] for p in pledges if p["overdue"]),
            "items": pledges}


def pledges_rows(report: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    yield ("CAM KẾT ỦNG HỘ CHƯA HOÀN THÀNH",)
    yield ("Tính đến ngày", report["as_of"])
    yield ("Còn phải nhận (đồng)", report["outstanding_vnd"])
    yield ("Trong đó quá hạn (đồng)", report["overdue_vnd"])
    yield ()
    yield ("Nhà hảo tâm", "Mã cam kết", "Cam kết (đồng)", "Đã nhận (đồng)", "Còn lại (đồng)",
           "Hạn", "Số ngày quá hạn")
    for p in report["items"]:
        yield (p["donor"], p["pledge_id"], p["pledged_vnd"], p["paid_vnd"], p["outstanding_vnd"],
               p["due_on"] or "", p["days_overdue"])
