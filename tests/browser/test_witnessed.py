"""The browser does not trust the server alone (issue 14 item 4): the donation page checks the
quorum of witness cosignatures itself, and that the log it sees now extends the one it saw."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Browser, Page, expect

from domain import checkpoint as cp
from ledger.bootstrap import CompositionRoot, build
from ledger.demo import load_demo
from tests.api.test_witnesses import KEYS, NAMES, ORIGIN, grow, settings
from tests.helpers import open_seasons, serving


def _ledger(url: str, data: Path) -> CompositionRoot:
    svc = build(settings(url, data))
    open_seasons(svc.ledger)
    load_demo(svc.ledger)
    svc.runner.catch_up()
    assert svc.tree_heads.publish() is not None
    return svc


def _cosign(svc: CompositionRoot, names: tuple[str, ...]) -> None:
    head = svc.tree_heads.latest()
    assert head is not None
    note = svc.checkpoints.note(head, with_cosignatures=False)
    body = cp.parse_note(note).body
    svc.checkpoints.add(cp.add_signatures(note, [cp.cosign(body, n, KEYS[n], 1) for n in names]))


def _reference(svc: CompositionRoot) -> str:
    items, _ = svc.queries.donations(q=None, min_vnd=None, max_vnd=None, date_from=None,
                                     date_to=None, cursor=None, limit=1)
    return str(items[0]["reference"])


_visits: list[str] = []


def _status(page: Page, url: str) -> str:
    # Another query each time: the pages may be cached by the browser for a while.
    _visits.append(url)
    page.goto(f"{url}?visit={len(_visits)}")
    expect(page.locator("#proof-status")).to_have_attribute("data-verified", re.compile("^(true|false)$"))
    return str(page.locator("#proof-status").get_attribute("data-verified"))


def test_two_of_three_witnesses_verify_and_forged_cosignatures_do_not_count(
        page: Page, tmp_path: Path) -> None:
    svc = _ledger(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "data")
    try:
        ref = _reference(svc)
        with serving(svc) as base:
            # No published head yet: the page says the witnesses have not attested it.
            page.goto(f"{base}/donations/{ref}")
            expect(page.locator("#proof-status")).to_contain_text("chưa được các tổ chức chứng thực")
            _cosign(svc, NAMES[:2])
            assert _status(page, f"{base}/donations/{ref}") == "true"

            # A newer head, cosigned by one real witness; the server then stores (as a lying
            # server would) a line under an unknown key and one over another checkpoint.
            grow(svc, "2010")
            _cosign(svc, NAMES[:1])
            head = svc.tree_heads.latest()
            assert head is not None
            body = svc.checkpoints.body(head)
            kid = cp.cosignature_key_id(NAMES[1], cp.public_bytes(KEYS[NAMES[1]])).hex()
            stranger = Ed25519PrivateKey.from_private_bytes(b"\x09" * 32)
            other = cp.checkpoint_body(ORIGIN, int(head["tree_size"]), bytes(32))
            for forged in (cp.cosign(body, NAMES[1], stranger, 1),
                           cp.cosign(other, NAMES[1], KEYS[NAMES[1]], 1)):
                with svc.db.write() as cur:
                    cur.execute("DELETE FROM cosignatures WHERE witness = ?", (NAMES[1],))
                    cur.execute("INSERT INTO cosignatures (tree_size, witness, key_id, timestamp, line)"
                                " VALUES (?,?,?,?,?)", (head["tree_size"], NAMES[1],
                                                        kid, 1, forged.decode()))
                assert svc.checkpoints.published()["tree_size"] == head["tree_size"]  # type: ignore[index]
                assert _status(page, f"{base}/donations/{ref}") == "false"
                expect(page.locator("#proof-alarm")).to_be_hidden()
    finally:
        svc.close()


def test_a_forked_log_is_caught_by_the_browser(browser: Browser, tmp_path: Path) -> None:
    a_url, b_dir = f"sqlite:///{tmp_path / 'a.db'}", tmp_path / "b"
    a = _ledger(a_url, tmp_path / "a")
    ref = _reference(a)
    a.close()
    b_dir.mkdir()
    shutil.copy(tmp_path / "a.db", b_dir / "ledger.db")
    a = build(settings(a_url, tmp_path / "a"))
    b = build(settings(f"sqlite:///{b_dir / 'ledger.db'}", b_dir))
    context = browser.new_context()
    errors: list[str] = []
    try:
        grow(a, "2011")
        grow(b, "2012", "2013")  # another history from the same prefix
        _cosign(a, NAMES[:2])
        _cosign(b, NAMES[1:])
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        with serving(a) as base:
            assert _status(page, f"{base}/donations/{ref}") == "true"
            remembered = page.evaluate("JSON.stringify(Object.assign({}, localStorage))")
        # localStorage is per origin: carry what the browser remembered over to B's.
        context.add_init_script(
            f"for (const [k, v] of Object.entries({remembered})) localStorage.setItem(k, v);")
        with serving(b) as base:
            assert _status(page, f"{base}/donations/{ref}") == "false"
            alarm = page.locator("#proof-alarm")
            expect(alarm).to_be_visible()
            expect(alarm).to_have_attribute("role", "alert")
            expect(alarm).to_contain_text("sổ cái công khai đã bị thay đổi")
            old = json.loads(json.loads(remembered)[f"minhbach.checkpoint:{ORIGIN}"])["note"]
            expect(page.locator("#alarm-old")).to_have_text(old)
            head = b.tree_heads.latest()
            assert head is not None
            expect(page.locator("#alarm-new")).to_have_text(b.checkpoints.note(head).decode())
    finally:
        context.close()
        a.close()
        b.close()
    assert errors == [], errors
