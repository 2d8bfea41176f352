"""The public transparency site: server-rendered pages (Jinja2), Vietnamese first, English at
`?lang=en`. Readable without JavaScript; one small script checks a donation's inclusion proof."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from adapters.spreadsheet import safe_row
from api import charts
from api.deps import Svc
from api.i18n import Lang, category_name, fund_name, t
from api.routes import MAX_INT64
from domain.money import MAX_AMOUNT_VND
from domain.small_cells import hide_small
from domain.text import format_vnd
from ledger.bootstrap import CompositionRoot
from ledger.plan_reports import recognition_report
from ledger.proofs import donation_with_proof
from projections.after_closing import recorded_after_closing
from projections.public_pages import PublicPages

router = APIRouter(include_in_schema=False)
PAGE_CACHE = "public, max-age=30"
PAGE_SIZE = 50
CSV_LIMIT = 100_000

env = Environment(loader=PackageLoader("api", "templates"), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)
env.filters["vnd"] = format_vnd


def _ddmmyyyy(value: str | None) -> str:
    return dt.date.fromisoformat(value[:10]).strftime("%d/%m/%Y") if value else ""


env.filters["ddmmyyyy"] = _ddmmyyyy


def _signed_at(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%d/%m/%Y %H:%M:%S UTC")


env.filters["signed_at"] = _signed_at


def _count(value: int | str) -> str:
    """A public count as shown: 1.234, or "< 5" as the small-cell rule left it."""
    return f"{value:,}".replace(",", ".") if isinstance(value, int) else str(value)


env.filters["count"] = _count


class PageCache:
    """Rendered pages, kept while the read models stay at the same position: a page costs its
    queries once per change of the ledger, not once per visitor."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._pages: dict[str, tuple[int, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, position: int) -> bytes | None:
        hit = self._pages.get(key)
        return hit[1] if hit is not None and hit[0] == position else None

    def put(self, key: str, position: int, body: bytes) -> None:
        with self._lock:
            if len(self._pages) >= self.size:
                self._pages.clear()
            self._pages[key] = (position, body)


def _lang(lang: str | None) -> Lang:
    return "en" if lang == "en" else "vi"


def _page(request: Request, svc: CompositionRoot, template: str, lang: Lang, status: int = 200,
          **context: Any) -> HTMLResponse:
    def link(path: str, **params: Any) -> str:
        query = {k: v for k, v in params.items() if v not in (None, "")}
        if lang == "en":
            query["lang"] = "en"
        return path + ("?" + urlencode(query) if query else "")

    other = dict(request.query_params)
    if lang == "en":
        other.pop("lang", None)
    else:
        other["lang"] = "en"
    html = env.get_template(template).render(
        lang=lang, t=lambda key: t(key, lang), link=link, fund=lambda c: fund_name(c, lang),
        category=lambda c: category_name(c, lang), area_name=lambda c: _area_name(svc, c),
        other_lang_url=request.url.path + ("?" + urlencode(other) if other else ""),
        path=request.url.path, **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": PAGE_CACHE})


def _seasons(svc: CompositionRoot, season: str | None) -> tuple[PublicPages, list[str], str | None]:
    """The seasons there are, and the one asked for if it is one of them (else all seasons)."""
    pages = PublicPages(svc.db, svc.queries)
    seasons = pages.seasons()
    return pages, seasons, season if season in seasons else None


def _area_name(svc: CompositionRoot, code: str | None) -> str:
    area = svc.areas.by_code.get(code or "")
    return area.name if area else (code or "")


def _cached(request: Request, svc: CompositionRoot, render: Any) -> Response:
    cache: PageCache = request.app.state.page_cache
    key, position = str(request.url), svc.runner.position()
    body = cache.get(key, position)
    if body is None:
        page: Response = render()
        if page.status_code != 200:
            return page
        body = bytes(page.body)
        cache.put(key, position, body)
    return Response(body, media_type="text/html; charset=utf-8", headers={"Cache-Control": PAGE_CACHE})


# ---- overview ---------------------------------------------------------------------------------

@router.get("/")
def overview(request: Request, svc: Svc, season: str | None = None, lang: str | None = None) -> Response:
    language = _lang(lang)

    def render() -> HTMLResponse:
        # Only on a page-cache miss: the cache is keyed by the URL, season included.
        _, seasons, chosen = _seasons(svc, season)
        summary = svc.queries.summary(chosen)
        by_district: dict[str, list[int]] = {}
        for n in svc.queries.needs(chosen):
            sums = by_district.setdefault(n["district"], [0, 0])
            sums[0] += min(int(n["allocated_vnd"]), int(n["estimated_vnd"]))
            sums[1] += int(n["estimated_vnd"])
        charts_shown = [
            _chart("by_fund", "by_fund", language, [(fund_name(r["fund"], language), int(r["received_vnd"]))
                                                    for r in summary["by_fund"]]),
            _chart("months", "over_time", language,
                   [(f"{m['month'][5:7]}/{m['month'][2:4]}", int(m["received_vnd"]))
                    for m in summary["by_month"]], line=True),
            _chart("by_category", "by_category", language,
                   [(category_name(r["category"], language), int(r["allocated_vnd"]))
                    for r in summary["by_category"]]),
            _chart("by_district", "by_district", language,
                   [(_area_name(svc, r["district"]), int(r["allocated_vnd"]))
                    for r in summary["by_district"]]),
            _chart("needs", "needs_by_district", language,
                   [(_area_name(svc, d), round(100 * a / e) if e else 0)
                    for d, (a, e) in sorted(by_district.items())], percent=True),
        ]
        return _page(request, svc, "overview.html", language, summary=summary, seasons=seasons,
                     season=chosen, charts=charts_shown, districts=_districts(svc))

    return _cached(request, svc, render)


def _chart(key: str, title: str, lang: Lang, items: list[tuple[str, int]], *, line: bool = False,
           percent: bool = False) -> dict[str, Any]:
    """One chart of the overview: its SVG, and the same figures for a table beneath it."""
    heading = t(title, lang)
    svg = charts.line(heading, items) if line else charts.bars(heading, items, percent=percent)
    return {"key": key, "title": heading, "items": items, "svg": svg, "percent": percent}


def _districts(svc: CompositionRoot) -> list[Any]:
    return sorted((a for a in svc.areas.all() if a.kind == "district"), key=lambda a: a.name)


# ---- donations --------------------------------------------------------------------------------

Text = Annotated[str | None, Query(max_length=100)]


def _amount(value: str | None) -> int | None:
    """An amount typed by a person: '1.250.000', '1250000' or empty; None if it isn't one."""
    digits = (value or "").replace(".", "").replace(",", "").replace(" ", "").replace("₫", "")
    return min(int(digits), MAX_AMOUNT_VND) if digits.isdigit() else None


def _day(value: str | None) -> str | None:
    try:
        return dt.date.fromisoformat(value).isoformat() if value else None
    except ValueError:
        return None


def _search(q: str | None, min_vnd: str | None, max_vnd: str | None, start: str | None,
            end: str | None) -> dict[str, Any]:
    """The search as the form gave it: empty or unreadable fields are left out, not refused."""
    return {"q": (q or "").strip() or None, "min_vnd": _amount(min_vnd), "max_vnd": _amount(max_vnd),
            "date_from": _day(start), "date_to": _day(end)}


@router.get("/donations")
def donations(request: Request, svc: Svc, q: Text = None, min_vnd: Text = None, max_vnd: Text = None,
              start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
              end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
              cursor: Annotated[int | None, Query(ge=0, le=MAX_INT64)] = None,
              lang: str | None = None) -> Response:
    language = _lang(lang)
    search = _search(q, min_vnd, max_vnd, start, end)
    items, next_cursor = svc.queries.donations(**search, cursor=cursor, limit=PAGE_SIZE)
    form = {"q": search["q"] or "", "min_vnd": search["min_vnd"], "max_vnd": search["max_vnd"],
            "from": search["date_from"] or "", "to": search["date_to"] or ""}
    wanted = {k: v for k, v in form.items() if v not in (None, "")}
    csv_url = "/donations.csv" + ("?" + urlencode(wanted) if wanted else "")
    return _page(request, svc, "donations.html", language, items=items, form=form,
                 next_cursor=next_cursor, cursor=cursor, csv_url=csv_url)


@router.get("/donations.csv")
def donations_csv(svc: Svc, q: Text = None, min_vnd: Text = None, max_vnd: Text = None,
                  start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
                  end: Annotated[str | None, Query(alias="to", max_length=10)] = None) -> StreamingResponse:
    """Every receipt the search finds (up to 100,000), as the public may see it."""
    search = _search(q, min_vnd, max_vnd, start, end)

    def rows() -> Iterator[bytes]:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(("reference", "donor", "fund", "channel", "amount_vnd", "item", "quantity",
                         "received_on", "restriction", "mobilised_by"))
        yield ("\ufeff" + out.getvalue()).encode()
        cursor, sent = None, 0
        while sent < CSV_LIMIT:
            items, cursor = svc.queries.donations(**search, cursor=cursor, limit=200)
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\r\n")
            for r in items:
                writer.writerow(safe_row((r["reference"], r["donor"], r["fund"], r["channel"],
                                          r["amount_vnd"], r["item"] or "", r["quantity"],
                                          r["received_on"], r["restriction"], r["mobilised_by"] or "")))
            sent += len(items)
            yield out.getvalue().encode()
            if cursor is None:
                return

    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="minhbach-donations.csv"',
        "Cache-Control": PAGE_CACHE})


@router.get("/follow")
def follow(request: Request, svc: Svc, reference: Annotated[str | None, Query(max_length=40)] = None,
           lang: str | None = None) -> Response:
    language = _lang(lang)
    if reference and reference.strip():
        wanted = reference.strip()
        # A receipt's reference (PT-…), or else the exact transaction reference the bank printed.
        found = None if wanted.upper().startswith("PT-") else (
            svc.queries.donation_by_bank_reference(wanted))
        shown = found["reference"] if found else wanted.upper()
        target = f"/donations/{shown}" + ("?lang=en" if language == "en" else "")
        return RedirectResponse(target, status_code=303)
    return _page(request, svc, "follow.html", language)


@router.get("/donations/{reference}")
def donation(request: Request, svc: Svc, reference: str, lang: str | None = None) -> Response:
    language = _lang(lang)
    # With witnesses, the proof is against the latest head a quorum cosigned (the browser checks
    # the cosignatures itself); a receipt no published head covers yet gets no proof.
    checkpoints = svc.checkpoints
    found = donation_with_proof(svc, reference, checkpoints.published() if checkpoints.quorum else None,
                                pinned=bool(checkpoints.quorum)) if len(reference) <= 40 else None
    if found is None:
        return _page(request, svc, "follow.html", language, status=404, missing=reference)
    proof = found.get("inclusion_proof")
    head = found.get("tree_head")
    data = None
    if proof and head:
        data = {"leaf": found["leaf"], "proof": proof, "tree_head": head,
                "public_key": svc.tree_heads.public_key, "origin": checkpoints.origin,
                "checkpoint": checkpoints.note(head).decode(), "quorum": checkpoints.quorum,
                "witnesses": [{"name": w.name, "public_key": w.public_key.hex()}
                              for w in checkpoints.witnesses.values()]}
    # The facts shown are the leaf's (domain/leaf.py), which verify.js checks against the proof.
    # Until the Merkle tree has the receipt (no leaf yet), the read model's are shown.
    facts = found.get("facts")
    if facts:
        goods = facts.get("goods") or {}
        shown = {"donor": facts.get("donor"), "amount_vnd": facts.get("amount_vnd"),
                 "fund": facts.get("fund"), "received_on": facts.get("received_on"),
                 "item": goods.get("item"), "quantity": goods.get("quantity"),
                 "restriction": "|".join(f"{k}={v}"
                                         for k, v in (facts.get("restriction") or {}).items())}
    else:
        shown = {k: found.get(k) for k in ("donor", "amount_vnd", "fund", "received_on", "item",
                                           "quantity", "restriction")}
    return _page(request, svc, "donation.html", language, d=found, f=shown,
                 proof_json=Markup(_script_json(data)) if data else None,
                 unwitnessed=bool(checkpoints.quorum) and data is None)


def _script_json(data: Any) -> str:
    # Inside <script type="application/json">, "</" must not appear as such.
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


# ---- needs, places, verification ----------------------------------------------------------------

@router.get("/needs")
def needs(request: Request, svc: Svc, season: str | None = None, lang: str | None = None) -> Response:
    language = _lang(lang)
    _, seasons, chosen = _seasons(svc, season)
    rows = svc.queries.needs(chosen)
    by_district: dict[str, list[Any]] = {}
    for r in rows:
        by_district.setdefault(r["district"], []).append(r)
    return _page(request, svc, "needs.html", language, by_district=by_district, seasons=seasons,
                 season=chosen)


@router.get("/partners")
def partners_page(request: Request, svc: Svc, lang: str | None = None) -> Response:
    """The partner organisations, each with what it mobilised (those with none too)."""
    known = svc.ledger.partners()
    totals: dict[str, dict[str, Any]] = {}
    for row in PublicPages(svc.db, svc.queries).partners():
        code = svc.ledger.partner_of(row["mobilised_by"])
        if code is None:
            continue
        cell = totals.setdefault(code, {"cash_vnd": 0, "goods_vnd": 0, "donors": 0})
        for key in cell:
            cell[key] += int(row[key])
    rows = [{"code": c, "name": p["name"], **totals.get(c, {"cash_vnd": 0, "goods_vnd": 0, "donors": 0})}
            for c, p in known.items()]
    rows.sort(key=lambda r: (-(r["cash_vnd"] + r["goods_vnd"]), r["name"]))
    return _page(request, svc, "partners.html", _lang(lang), partners=hide_small(rows))


@router.get("/partners/{code}")
def partner_page(request: Request, svc: Svc, code: str, lang: str | None = None) -> Response:
    """One partner organisation: what it mobilised, by source, and where it went."""
    language = _lang(lang)
    partner = svc.ledger.partners().get(code)
    if partner is None:
        return _page(request, svc, "missing.html", language, status=404)
    pages = PublicPages(svc.db, svc.queries)
    # The stored values naming it: its code, and free texts of older receipts that name it.
    values = [r["mobilised_by"] for r in pages.partners()
              if svc.ledger.partner_of(r["mobilised_by"]) == code]
    return _page(request, svc, "partner.html", language, partner=partner, figures=pages.partner(values))


@router.get("/recognition")
def recognition_page(request: Request, svc: Svc, year: int | None = None,
                     lang: str | None = None) -> Response:
    """The donors who agreed to be named, by what they gave (in a year, or in all), with the
    commendation tier each reached; anonymous donors are not listed at all."""
    language = _lang(lang)
    if year is not None and not 2000 <= year <= 2100:
        year = None
    first, last = (f"{year}-01-01", f"{year}-12-31") if year else ("1900-01-01", "9999-12-31")
    report = recognition_report(svc, first, last)
    named = [d for d in report["donors"] if not d["anonymous"]]
    return _page(request, svc, "recognition.html", language, donors=named, year=year,
                 tiers=report["tiers"])


@router.get("/seasons/{code}")
def season_page(request: Request, svc: Svc, code: str, lang: str | None = None) -> Response:
    """A season: its dates, whether it is closed, and the entries recorded after its closing."""
    language = _lang(lang)
    found = next((x for x in svc.ledger.seasons() if x["code"] == code), None)
    if found is None:
        return _page(request, svc, "missing.html", language, status=404)
    return _page(request, svc, "season.html", language, season=found,
                 late=recorded_after_closing(svc.db, code))


@router.get("/districts/{code}")
def district(request: Request, svc: Svc, code: str, season: str | None = None,
             lang: str | None = None) -> Response:
    return _place(request, svc, code, "district", season, _lang(lang))


@router.get("/communes/{code}")
def commune(request: Request, svc: Svc, code: str, season: str | None = None,
            lang: str | None = None) -> Response:
    return _place(request, svc, code, "commune", season, _lang(lang))


def _place(request: Request, svc: CompositionRoot, code: str, kind: str, season: str | None,
           language: Lang) -> Response:
    area = svc.areas.by_code.get(code)
    if area is None or area.kind != kind:
        return _page(request, svc, "missing.html", language, status=404)
    pages, seasons, chosen = _seasons(svc, season)
    figures = pages.place(season=chosen, **{kind: code})
    communes = svc.areas.communes(code) if kind == "district" else []
    return _page(request, svc, "place.html", language, area=area, figures=figures, communes=communes,
                 seasons=seasons, season=chosen,
                 parent=svc.areas.by_code.get(area.parent or "") if kind == "commune" else None)


@router.get("/verify")
def verify(request: Request, svc: Svc, lang: str | None = None) -> Response:
    head = svc.checkpoints.published()
    return _page(request, svc, "verify.html", _lang(lang), head=head,
                 public_key=svc.tree_heads.public_key,
                 publication=svc.checkpoints.publication(head))
