"""The public site in a real browser (Debian's Chromium, headless), over the demo ledger."""

from __future__ import annotations

import base64
import json
import re
from collections import deque
from typing import Any
from urllib.parse import urljoin, urlparse
from uuid import UUID

import httpx
from playwright.sync_api import Page, Route, expect

from api.i18n import t
from api.routes.public import donation_with_proof
from domain.text import fold, format_vnd
from tests.browser.conftest import ARTIFACTS, Site

API = "/api/v1"


def _count(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def test_the_overview_shows_the_same_totals_as_the_api(site: Site, page: Page) -> None:
    summary = httpx.get(site.base + API + "/public/summary").json()
    page.goto(site.base + "/")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("#total-received")).to_have_text(format_vnd(summary["received_vnd"]))
    expect(page.locator("#total-pledged")).to_have_text(format_vnd(summary["pledged_vnd"]))
    expect(page.locator("#total-allocated")).to_have_text(format_vnd(summary["allocated_vnd"]))
    expect(page.locator("#total-distributed")).to_have_text(format_vnd(summary["distributed_vnd"]))
    expect(page.locator("#children-reached")).to_have_text(_count(summary["children_reached"]))
    expect(page.locator("#donors-count")).to_have_text(_count(summary["donors"]))
    assert re.fullmatch(r"[\d.]+ ₫", page.locator("#total-received").inner_text())
    assert page.locator("svg.chart").count() >= 4  # funds, months, categories, districts, needs


def test_a_search_without_diacritics_finds_the_donor(site: Site, page: Page) -> None:
    donations = httpx.get(site.base + API + "/public/donations", params={"limit": 200}).json()["items"]
    wanted = next(d for d in donations if d["donor"] != "Ẩn danh" and fold(d["donor"]) != d["donor"].lower())
    typed = fold(wanted["donor"]).upper()  # "NGUYEN VAN AN" for "Nguyễn Văn An"
    page.goto(site.base + "/donations")
    page.get_by_label(t("search_name", "vi")).fill(typed)
    page.get_by_role("button", name=t("search", "vi")).click()
    page.wait_for_url(re.compile(r"/donations\?q="))
    rows = page.locator("#donations tbody tr")
    expect(rows.first).to_be_visible()
    names = rows.locator("td.donor").all_inner_texts()
    assert names and all(fold(n) == fold(wanted["donor"]) for n in names), names
    # The page shows the newest 50; the CSV of the same search holds every one, the wanted included.
    csv = httpx.get(site.base + page.locator("#csv").get_attribute("href"))  # type: ignore[operator]
    assert csv.status_code == 200 and wanted["reference"] in csv.content.decode("utf-8-sig")


def _a_traced_reference(site: Site) -> str:
    rows = site.services.db.query(
        "SELECT p.reference FROM public_donations p JOIN allocation_draws g ON g.receipt_id = p.receipt_id"
        " JOIN distribution_draws x ON x.receipt_id = p.receipt_id WHERE p.reversed = 0"
        " ORDER BY p.position LIMIT 1")
    return str(rows[0]["reference"])


def test_following_a_reference_shows_its_trace_and_a_verified_proof(site: Site, page: Page) -> None:
    reference = _a_traced_reference(site)
    page.goto(site.base + "/follow")
    page.get_by_label(t("reference", "vi")).fill(reference.lower())
    page.get_by_role("button", name=t("follow", "vi")).click()
    page.wait_for_url(re.compile(re.escape(reference) + "$"))
    expect(page.locator("#reference")).to_have_text(reference)
    expect(page.locator("#allocations tbody tr").first).to_be_visible()
    expect(page.locator("#distributions tbody tr").first).to_be_visible()
    status = page.locator("#proof-status")
    expect(status).to_have_attribute("data-verified", "true")
    expect(status).to_have_text("Khoản ủng hộ này có trong sổ cái công khai")


def test_a_tampered_proof_is_shown_as_not_verified(site: Site, page: Page) -> None:
    reference = _a_traced_reference(site)

    def tamper(route: Route) -> None:
        response = route.fetch()
        html = response.text()
        start = html.index('<script type="application/json" id="proof-data">') + len(
            '<script type="application/json" id="proof-data">')
        end = html.index("</script>", start)
        data = json.loads(html[start:end])
        first = data["proof"]["audit_path"][0]
        data["proof"]["audit_path"][0] = ("0" if first[0] != "0" else "1") + first[1:]
        route.fulfill(response=response, body=html[:start] + json.dumps(data) + html[end:])

    page.route(re.compile(re.escape(reference) + "$"), tamper)
    page.goto(site.base + f"/donations/{reference}")
    status = page.locator("#proof-status")
    expect(status).to_have_attribute("data-verified", "false")
    expect(status).to_have_text(t("proof_bad", "vi"))


def test_the_english_page(site: Site, page: Page) -> None:
    page.goto(site.base + "/?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    expect(page.get_by_text("Received", exact=True)).to_be_visible()
    page.get_by_role("link", name="Donations").click()
    page.wait_for_url(re.compile(r"/donations\?lang=en"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Donations")
    page.get_by_role("link", name="Tiếng Việt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Các khoản ủng hộ")


def test_at_360_px_nothing_overflows_and_a_screenshot_is_kept(site: Site, page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 780})
    ARTIFACTS.mkdir(exist_ok=True)
    for path, name in (("/", "overview"), ("/donations", "donations"),
                       (f"/donations/{_a_traced_reference(site)}", "donation")):
        page.goto(site.base + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, (path, width)
        page.screenshot(path=str(ARTIFACTS / f"{name}-360px.png"), full_page=True)
    assert (ARTIFACTS / "overview-360px.png").stat().st_size > 10_000


def test_every_form_field_has_a_label_and_keyboard_reaches_the_search(site: Site, page: Page) -> None:
    for path in ("/", "/donations", "/follow", "/needs"):
        page.goto(site.base + path)
        unlabelled = page.evaluate("""() => [...document.querySelectorAll('input:not([type=hidden]), select')]
            .filter(e => !e.labels || e.labels.length === 0).map(e => e.name)""")
        assert unlabelled == [], (path, unlabelled)
        assert page.locator("h1").count() == 1
    page.goto(site.base + "/donations")
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    assert page.evaluate("document.activeElement.id") == "q"


def test_no_child_name_appears_on_any_public_page(site: Site) -> None:
    names = set()
    for row in site.services.db.query("SELECT child_id FROM children"):
        child = site.services.ledger.repository.get(UUID(row["child_id"]))
        personal = site.services.ledger.child_personal_data(child)
        assert personal is not None
        names.add(personal["full_name"])
    # A child may share a name with a donor, whose name is public by their own choice.
    donors = {r["name"] for r in site.services.db.query("SELECT name FROM donors")}
    names -= donors
    assert len(names) > 100
    seen, queue, pages = set(), deque(["/", "/?lang=en", API + "/public/summary", API + "/public/needs",
                                       API + "/public/donations", API + "/areas"]), 0
    with httpx.Client(base_url=site.base) as http:
        while queue and pages < 400:
            path = queue.popleft()
            if path in seen:
                continue
            seen.add(path)
            response = http.get(path)
            assert response.status_code == 200, path
            pages += 1
            text = response.text
            leaked = [n for n in names if n in text]
            assert leaked == [], (path, leaked[:3])
            if "html" in response.headers["content-type"]:
                for href in re.findall(r'href="([^"#]+)"', text):
                    url = urlparse(urljoin(site.base + path, href.replace("&amp;", "&")))
                    ours = url.netloc == urlparse(site.base).netloc
                    if ours and not url.path.startswith(("/docs", API + "/audit")):
                        queue.append(url.path + (f"?{url.query}" if url.query else ""))
    assert pages > 50


def _proof_data(html: str) -> tuple[int, int, dict[str, Any]]:
    start = html.index('<script type="application/json" id="proof-data">') + len(
        '<script type="application/json" id="proof-data">')
    end = html.index("</script>", start)
    return start, end, json.loads(html[start:end])


def test_the_facts_shown_are_the_proven_leafs(site: Site, page: Page) -> None:
    reference = _a_traced_reference(site)

    def rename(route: Route) -> None:
        # The server's HTML names someone else: the page shows the leaf's donor once proven.
        response = route.fetch()
        html = response.text().replace('data-leaf="donor">', 'data-leaf="donor">Người khác ', 1)
        route.fulfill(response=response, body=html)

    page.route(re.compile(re.escape(reference) + "$"), rename)
    page.goto(site.base + f"/donations/{reference}")
    expect(page.locator("#proof-status")).to_have_attribute("data-verified", "true")
    leaf = json.loads(base64.b64decode(site_donation(site, reference)["leaf"]))
    assert leaf["public"]["reference"] == reference
    expect(page.locator("#donor")).to_have_text(leaf["public"]["donor"])
    expect(page.locator("#leaf-facts")).to_have_attribute("data-verified", "true")


def test_a_tampered_leaf_is_shown_as_not_verified(site: Site, page: Page) -> None:
    reference = _a_traced_reference(site)

    def tamper(route: Route) -> None:
        response = route.fetch()
        html = response.text()
        start, end, data = _proof_data(html)
        leaf = json.loads(base64.b64decode(data["leaf"]))
        leaf["public"]["amount_vnd"] += 1_000_000
        data["leaf"] = base64.b64encode(json.dumps(
            leaf, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).decode()
        route.fulfill(response=response, body=html[:start] + json.dumps(data) + html[end:])

    page.route(re.compile(re.escape(reference) + "$"), tamper)
    page.goto(site.base + f"/donations/{reference}")
    expect(page.locator("#proof-status")).to_have_attribute("data-verified", "false")
    expect(page.locator("#leaf-facts")).to_have_attribute("data-verified", "false")
    expect(page.locator("#proof-status")).to_have_text(t("proof_bad", "vi"))


def site_donation(site: Site, reference: str) -> dict[str, Any]:
    found = donation_with_proof(site.services, reference)
    assert found is not None
    return found


def test_the_api_docs_list_the_operations_with_the_network_cut(site: Site, page: Page) -> None:
    outside: list[str] = []

    def only_ours(route: Route) -> None:
        if route.request.url.startswith(site.base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_ours)
    page.goto(site.base + "/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock").count() > 50
    assert page.locator(".opblock-summary-path", has_text="/api/v1/receipts").count() >= 1
    # Every asset came from us, and the strict CSP refused nothing (the page fixture fails on
    # any console error).
    assert outside == []
