"""The public ledger as open data (issue 13, item 6): IATI 2.03 activities and 360Giving grants.

Both are read from the public read models only, the figures the public pages already show:
programme balances, allocations and distributions not reversed (their public facts: the
leaves publish them too), the receipts each allocation drew on as `/public/donations` lists
them (the donor's current public name, or "Ẩn danh"), the children reached per programme as
`public_reach` counts them, the areas and the seasons (public reference data). Nothing else is
read, so nothing private can leave: no note, bank reference, donor or child id, staff name.

One programme (season × commune × category) is one IATI activity and one 360Giving grant.
The identifiers, the IATI transaction types and what is left out are in docs/decisions.md,
"Open data (issue 13, item 6)".
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.spreadsheet import safe_cell
from domain.areas import AreaTree
from domain.money import CATEGORIES, FUNDS
from domain.seasons import Season
from domain.small_cells import small
from domain.text import format_vnd
from projections.db import Database
from projections.donations import ALL, ANONYMOUS
from projections.queries import CURRENT_NAME

IATI_VERSION = "2.03"
GIVING_VERSION = "1.4"
CURRENCY = "VND"
COUNTRY = "VN"
# No registration agency of IATI's list registers Vietnamese local governments, so the province
# and its communes are named by the GSO codes of the administrative units (Tổng cục Thống kê),
# under the prefix VN-GSO: stable, public and already the codes of domain/data/areas.json.
ORG_PREFIX = "VN-GSO"
PROVINCE_CODE = "20"
REPORTING_ORG_REF = f"{ORG_PREFIX}-{PROVINCE_CODE}"
REPORTING_ORG_NAME = "Ủy ban nhân dân tỉnh Lạng Sơn (Sở Lao động – Thương binh và Xã hội)"
IATI_LOCAL_GOVERNMENT = "11"  # IATI OrganisationType
GRANT_PREFIX = "360G-"
TEXT_LANG = "vi"

# IATI TransactionType codes (docs/decisions.md).
INCOMING_FUNDS, OUTGOING_COMMITMENT, EXPENDITURE = "1", "2", "4"
# IATI OrganisationRole codes.
ROLE_FUNDING, ROLE_IMPLEMENTING = "1", "4"
# IATI ActivityStatus: implementation while the season is open, closed after.
STATUS_IMPLEMENTATION, STATUS_CLOSED = "2", "4"
# IATI ActivityDateType: planned start and planned end (the season's dates).
PLANNED_START, PLANNED_END = "1", "3"

CSV_COLUMNS = (
    "Identifier", "Title", "Description", "Currency", "Amount Awarded", "Amount Disbursed",
    "Award Date", "Recipient Org:Identifier", "Recipient Org:Name", "Funding Org:Identifier",
    "Funding Org:Name", "Grant Programme:Code", "Grant Programme:Title",
    "Beneficiary Location:Name", "Beneficiary Location:Country Code",
    "Beneficiary Location:Geographic Code", "Beneficiary Location:Geographic Code Type",
    "Planned Dates:Start Date", "Planned Dates:End Date",
)
# Characters XML 1.0 cannot carry; input checks already refuse control characters, and this
# keeps a stray one from making the whole document invalid.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(slots=True)
class Transaction:
    """One IATI transaction of a programme's activity, as the public may see it."""

    kind: str  # an IATI TransactionType code
    on: str
    value_vnd: int
    description: str
    provider: str | None = None  # a donor's public name, or "Ẩn danh"
    ref: str | None = None  # a receipt's public reference


@dataclass(slots=True)
class Programme:
    """A programme's public figures: one IATI activity, one 360Giving grant."""

    season: str
    district: str
    commune: str
    category: str
    committed_vnd: int
    distributed_vnd: int
    children: int
    starts_on: str
    ends_on: str
    closed: bool
    transactions: list[Transaction] = field(default_factory=list)
    partners: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.season}-{self.commune}-{self.category}"


@dataclass(slots=True)
class OpenData:
    programmes: list[Programme]
    area_names: dict[str, str]

    def name(self, code: str) -> str:
        return self.area_names.get(code, code)


def _season_dates(seasons: list[Season], code: str) -> tuple[str, str, bool]:
    for s in seasons:
        if s["code"] == code:
            return s["starts_on"], s["ends_on"], bool(s["closed"])
    # A programme of a season opened before seasons were reference data: its year.
    return f"{code[:4]}-01-01", f"{code[:4]}-12-31", False


def gather(db: Database, areas: AreaTree, seasons: list[Season],
           partners: Mapping[str, str] | None = None) -> OpenData:
    """Every programme with money in it, its transactions and partners, read in one snapshot;
    `partners` names the partner organisations by code (a receipt stores the code)."""
    with db.read() as cur:
        balances = cur.execute(
            "SELECT programme_id, season, district, commune, category, allocated_vnd,"
            " distributed_vnd, returned_vnd FROM programme_balances"
            " ORDER BY season, district, commune, category").fetchall()
        allocations = cur.execute(
            "SELECT programme_id, fund, amount_vnd, item, quantity, decision_ref FROM allocations"
            " WHERE reversed = 0 ORDER BY position").fetchall()
        incoming = cur.execute(
            f"SELECT a.programme_id, p.reference, p.received_on, {CURRENT_NAME.format(t='p.')},"
            " p.mobilised_by, SUM(g.amount_vnd) AS amount_vnd"
            " FROM allocation_draws g JOIN allocations a ON a.allocation_id = g.allocation_id"
            " JOIN public_donations p ON p.receipt_id = g.receipt_id WHERE a.reversed = 0"
            " GROUP BY a.programme_id, p.reference, p.received_on, p.donor_id, p.donor_display,"
            " p.mobilised_by, p.position ORDER BY MIN(a.position), p.position").fetchall()
        distributions = cur.execute(
            "SELECT programme_id, distributed_on, total_vnd FROM distributions"
            " WHERE reversed = 0 ORDER BY position").fetchall()
        reach = {(r["season"], r["commune"], r["category"]): int(r["children"]) for r in cur.execute(
            "SELECT season, commune, category, named_children + counted_children AS children"
            " FROM public_reach WHERE season <> ? AND commune <> ? AND category <> ?",
            (ALL, ALL, ALL)).fetchall()}
    programmes: dict[str, Programme] = {}
    for b in balances:
        committed = int(b["allocated_vnd"]) - int(b["returned_vnd"])
        if committed == 0 and int(b["distributed_vnd"]) == 0:
            continue  # every allocation reversed: nothing to publish
        starts_on, ends_on, closed = _season_dates(seasons, b["season"])
        programmes[b["programme_id"]] = Programme(
            season=b["season"], district=b["district"], commune=b["commune"],
            category=b["category"], committed_vnd=committed,
            distributed_vnd=int(b["distributed_vnd"]),
            children=reach.get((b["season"], b["commune"], b["category"]), 0),
            starts_on=starts_on, ends_on=ends_on, closed=closed)
    for r in incoming:
        p = programmes.get(r["programme_id"])
        if p is None:
            continue
        p.transactions.append(Transaction(
            INCOMING_FUNDS, r["received_on"], int(r["amount_vnd"]),
            f"Tiền ủng hộ theo phiếu thu {r['reference']}, phân bổ cho chương trình",
            provider=r["donor"] or ANONYMOUS, ref=r["reference"]))
        partner = (r["mobilised_by"] or "").strip()
        partner = (partners or {}).get(partner, partner)
        if partner and partner not in p.partners:
            p.partners.append(partner)
    for a in allocations:
        p = programmes.get(a["programme_id"])
        if p is None:
            continue
        what = f" ({a['quantity']} {a['item']})" if a["item"] else ""
        fund = FUNDS.get(a["fund"], {}).get("name_vi", a["fund"])
        p.transactions.append(Transaction(
            OUTGOING_COMMITMENT, p.starts_on, int(a["amount_vnd"]),
            f"Phân bổ từ {fund} theo quyết định {a['decision_ref']}{what}"))
    for d in distributions:
        p = programmes.get(d["programme_id"])
        if p is None:
            continue
        p.transactions.append(Transaction(
            EXPENDITURE, d["distributed_on"], int(d["total_vnd"]),
            "Cấp phát cho trẻ em của chương trình (tiền và hiện vật, theo giá trị)"))
    return OpenData(list(programmes.values()), {a.code: a.name for a in areas.all()})


def _category(code: str) -> str:
    return CATEGORIES.get(code, {}).get("name_vi", code)


def _title(data: OpenData, p: Programme) -> str:
    return f"{_category(p.category)} — {data.name(p.commune)}, {data.name(p.district)} (mùa {p.season})"


def _description(data: OpenData, p: Programme) -> str:
    # A count of children below 5 is text here ("< 5"), as on every public page; no numeric
    # field of either standard carries a count (docs/decisions.md).
    return (f"Hỗ trợ trẻ em ({_category(p.category)}) tại {data.name(p.commune)}, "
            f"{data.name(p.district)}, tỉnh Lạng Sơn, mùa {p.season}: đã phân bổ "
            f"{format_vnd(p.committed_vnd)}, đã cấp phát {format_vnd(p.distributed_vnd)}, "
            f"số trẻ em được hỗ trợ: {small(p.children)}.")


def committee(data: OpenData, code: str) -> str:
    """The people's committee of a commune, ward or town ("Ủy ban nhân dân xã Khánh Long")."""
    name = data.name(code)
    return f"Ủy ban nhân dân {name[:1].lower()}{name[1:]}"


def commune_ref(code: str) -> str:
    return f"{ORG_PREFIX}-{code}"


def activity_id(p: Programme) -> str:
    return f"{REPORTING_ORG_REF}-{p.key}"


def grant_id(p: Programme) -> str:
    return f"{GRANT_PREFIX}{REPORTING_ORG_REF}-{p.key}"


# ---- IATI 2.03 ------------------------------------------------------------------------------

def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _narrative(parent: ET.Element, text: str) -> None:
    ET.SubElement(parent, "narrative").text = _text(text)


def iati_xml(data: OpenData) -> bytes:
    """The programmes as an `iati-activities` document, version 2.03, UTF-8."""
    root = ET.Element("iati-activities", {"version": IATI_VERSION})
    for p in data.programmes:
        act = ET.SubElement(root, "iati-activity", {
            "default-currency": CURRENCY, "{http://www.w3.org/XML/1998/namespace}lang": TEXT_LANG,
            "humanitarian": "0"})
        ET.SubElement(act, "iati-identifier").text = activity_id(p)
        _narrative(ET.SubElement(act, "reporting-org", {
            "ref": REPORTING_ORG_REF, "type": IATI_LOCAL_GOVERNMENT}), REPORTING_ORG_NAME)
        _narrative(ET.SubElement(act, "title"), _title(data, p))
        _narrative(ET.SubElement(act, "description", {"type": "1"}), _description(data, p))
        _narrative(ET.SubElement(act, "participating-org", {
            "role": ROLE_FUNDING, "ref": REPORTING_ORG_REF, "type": IATI_LOCAL_GOVERNMENT}),
            REPORTING_ORG_NAME)
        for partner in p.partners:
            # Free text today (no identifier): a name, never a ref.
            _narrative(ET.SubElement(act, "participating-org", {"role": ROLE_FUNDING}), partner)
        _narrative(ET.SubElement(act, "participating-org", {
            "role": ROLE_IMPLEMENTING, "ref": commune_ref(p.commune),
            "type": IATI_LOCAL_GOVERNMENT}), committee(data, p.commune))
        ET.SubElement(act, "activity-status", {
            "code": STATUS_CLOSED if p.closed else STATUS_IMPLEMENTATION})
        ET.SubElement(act, "activity-date", {"type": PLANNED_START, "iso-date": p.starts_on})
        ET.SubElement(act, "activity-date", {"type": PLANNED_END, "iso-date": p.ends_on})
        ET.SubElement(act, "recipient-country", {"code": COUNTRY, "percentage": "100"})
        location = ET.SubElement(act, "location", {"ref": commune_ref(p.commune)})
        _narrative(ET.SubElement(location, "name"),
                   f"{data.name(p.commune)}, {data.name(p.district)}, {data.name(PROVINCE_CODE)}")
        sector = ET.SubElement(act, "sector", {"vocabulary": "99", "code": p.category,
                                               "percentage": "100"})
        _narrative(sector, _category(p.category))
        for t in p.transactions:
            tx = ET.SubElement(act, "transaction", {"ref": t.ref} if t.ref else {})
            ET.SubElement(tx, "transaction-type", {"code": t.kind})
            ET.SubElement(tx, "transaction-date", {"iso-date": t.on})
            ET.SubElement(tx, "value", {"currency": CURRENCY, "value-date": t.on}).text = str(t.value_vnd)
            _narrative(ET.SubElement(tx, "description"), t.description)
            if t.provider is not None:
                _narrative(ET.SubElement(tx, "provider-org"), t.provider)
            if t.kind == OUTGOING_COMMITMENT:
                _narrative(ET.SubElement(tx, "receiver-org", {
                    "ref": commune_ref(p.commune), "type": IATI_LOCAL_GOVERNMENT}),
                    committee(data, p.commune))
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body


# ---- 360Giving ------------------------------------------------------------------------------

def _grant(data: OpenData, p: Programme) -> dict[str, Any]:
    commune = data.name(p.commune)
    return {
        "id": grant_id(p),
        "title": _title(data, p),
        "description": _description(data, p),
        "currency": CURRENCY,
        "amountAwarded": p.committed_vnd,
        "amountDisbursed": p.distributed_vnd,
        # Allocations carry no business date; the season's start stands for the award.
        "awardDate": p.starts_on,
        "plannedDates": [{"startDate": p.starts_on, "endDate": p.ends_on}],
        "recipientOrganization": [{"id": commune_ref(p.commune), "name": committee(data, p.commune),
                                   "organisationType": "Local government"}],
        "fundingOrganization": [{"id": REPORTING_ORG_REF, "name": REPORTING_ORG_NAME}],
        "grantProgramme": [{"code": p.category, "title": _category(p.category)}],
        "beneficiaryLocation": [{"id": commune_ref(p.commune), "name": commune,
                                 "countryCode": COUNTRY, "geoCode": p.commune,
                                 "geoCodeType": "GSO"}],
    }


def giving_package(data: OpenData) -> dict[str, Any]:
    """The programmes as a 360Giving package (`grants`, version 1.4)."""
    return {
        "version": GIVING_VERSION,
        "title": "Minh Bạch — các chương trình hỗ trợ trẻ em tỉnh Lạng Sơn",
        "publisher": {"identifier": REPORTING_ORG_REF, "name": REPORTING_ORG_NAME},
        "grants": [_grant(data, p) for p in data.programmes],
    }


def giving_csv(data: OpenData) -> str:
    """The same grants in 360Giving's flat (one row per grant) column names."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for p in data.programmes:
        g = _grant(data, p)
        recipient, funder = g["recipientOrganization"][0], g["fundingOrganization"][0]
        programme, place = g["grantProgramme"][0], g["beneficiaryLocation"][0]
        row = (g["id"], g["title"], g["description"], CURRENCY, g["amountAwarded"],
               g["amountDisbursed"], g["awardDate"], recipient["id"], recipient["name"],
               funder["id"], funder["name"], programme["code"], programme["title"],
               place["name"], place["countryCode"], place["geoCode"], place["geoCodeType"],
               p.starts_on, p.ends_on)
        writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    # Every text cell goes the way of the service's other spreadsheets: none may start a formula.
    return safe_cell(value)
