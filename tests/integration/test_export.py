"""`audit export` and the standalone `tools/verify_export.py`, run as an outsider would run it.

The verifier runs in a subprocess of this interpreter with `-I` (no PYTHONPATH, no current
directory on the path), a clean environment, another working directory and an import guard
that refuses this project's packages (the venv has the project installed in editable mode, so
without the guard `import api` would still work there).
"""

from __future__ import annotations

import ast
import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from api.app import create_app
from domain import merkle
from domain.leaf import ORIGIN_KINDS
from domain.leaf import leaf as leaf_of
from ledger import audit, export
from ledger.bootstrap import CompositionRoot
from ledger.demo import load_demo
from ledger.export import FORMAT, PUBLIC_FORMAT, export_log, export_public, public_chunks, signed_head
from tests.conftest import make_services
from tests.helpers import API, auth, communes, donor, get, post, receipt

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "verify_export.py"
PROJECT = ("api", "domain", "projections", "migrations", "bench", "tests", "minhbach")

GUARD = f"""
import importlib.abc, runpy, sys

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {PROJECT!r}:
            raise ImportError("verify_export.py must not import " + name)
        return None

sys.meta_path.insert(0, Refuse())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def verifier(path: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MINHBACH_"))}
    return subprocess.run([sys.executable, "-I", "-c", GUARD, str(TOOL), str(path), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def first_failure(out: str) -> str:
    found = re.search(r"^FAILED .*$", out, re.M)
    assert found, out
    return found.group(0)


# ---- building a ledger and editing exports ------------------------------------------------------


def build_ledger(client: TestClient, services: CompositionRoot, fin: str) -> int:
    """Every kind of money event, reversals included; returns the money received (đồng)."""
    commune = communes(services)[0]
    d = donor(client, fin, name="Lê Văn Thành")
    receipt(client, fin, d, 1_000_000)
    receipt(client, fin, d, 2_000_000, restriction={"commune": commune})
    receipt(client, fin, d, 500_000)
    mistaken = receipt(client, fin, d, 300_000)
    post(client, "/allocations", fin, {"fund": "campaign", "season": "2021", "commune": commune,
                                       "category": "warm-clothing", "amount_vnd": 2_500_000,
                                       "decision_ref": "QĐ 12/QĐ-UBND"})
    child = post(client, "/children", fin, {"commune": commune, "full_name": "Hoàng Thị Mai",
                                             "birth_year": 2014})
    post(client, "/distributions", fin, {
        "season": "2021", "commune": commune, "category": "warm-clothing",
        "distributed_on": "2021-12-01",
        "lines": [{"child_id": child["id"], "description": "Áo ấm", "value_vnd": 1_200_000}]})
    alloc = post(client, "/allocations", fin, {"fund": "campaign", "season": "2021",
                                               "commune": commune, "category": "tet-gifts",
                                               "amount_vnd": 400_000, "decision_ref": "QĐ 1"})
    dist = post(client, "/distributions", fin, {
        "season": "2021", "commune": commune, "category": "tet-gifts",
        "distributed_on": "2021-12-20", "beneficiaries_count": 20,
        "lines": [{"description": "Quà Tết cho 20 em", "value_vnd": 400_000}]})
    post(client, "/reversals", fin, {"target_id": dist["id"], "reason": "trả lại"})
    post(client, "/reversals", fin, {"target_id": alloc["id"], "reason": "nhầm xã"})
    post(client, "/reversals", fin, {"target_id": mistaken["id"], "reason": "nhập trùng"})
    return 3_500_000


def lines_of(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines(keepends=True)


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(lines), "utf-8")
    return path


def line_dict(line: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(line)
    return data


def encode(obj: dict[str, Any]) -> str:
    return merkle.canonical_json(obj).decode("utf-8") + "\n"


def find(lines: list[str], kind: str) -> int:
    """Index in `lines` of the first event of this kind (e.g. "Receipt.Drawn")."""
    return next(i for i, line in enumerate(lines[1:], 1) if line_dict(line)["topic"].endswith(":" + kind))


def change_amount(line: str) -> str:
    """Change the first digit of the first amount_vnd inside the event's stored state."""
    event = line_dict(line)
    state = base64.b64decode(event["state"])
    i = state.index(b'"amount_vnd":') + len(b'"amount_vnd":')
    digit = b"9" if state[i:i + 1] != b"9" else b"8"
    event["state"] = base64.b64encode(state[:i] + digit + state[i + 1:]).decode("ascii")
    return encode(event)


def resign(header_line: str, key: Ed25519PrivateKey, **changes: Any) -> str:
    header = line_dict(header_line)
    head = dict(header["tree_head"], **changes)
    signed = merkle.canonical_json({k: head[k] for k in ("tree_size", "root_hash", "timestamp")})
    head["signature"] = key.sign(signed).hex()
    header["tree_head"] = head
    header["public_key"] = key.public_key().public_bytes_raw().hex()
    return encode(header)


# ---- the tests ------------------------------------------------------------------------------


def test_export_verifies_offline_and_every_edit_is_caught(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str], tmp_path: Path) -> None:
    received = build_ledger(client, services, tokens["finance"])
    out = tmp_path / "export" / "log.jsonl"
    out.parent.mkdir()
    summary = export_log(services, out)
    head = services.tree_heads.latest()
    assert head is not None and summary["tree_size"] == head["tree_size"]
    assert summary["root_hash"] == head["root_hash"]
    key = services.tree_heads.public_key
    elsewhere = tmp_path / "auditor"
    elsewhere.mkdir()

    # The file: a header, then exactly the leaves of the head, which are the server's own leaves.
    lines = lines_of(out)
    header = line_dict(lines[0])
    assert header == {"format": FORMAT, "public_key": key, "algorithm": "Ed25519",
                      "tree_head": {k: head[k] for k in ("tree_size", "root_hash", "timestamp",
                                                         "signature")}}
    assert len(lines) == 1 + head["tree_size"]
    recorded = {int(r["leaf_index"]): r["leaf_hash"]
                for r in services.db.query("SELECT leaf_index, leaf_hash FROM merkle_leaves")}
    origins: dict[str, Any] = {}
    for index, line in enumerate(lines[1:]):
        event = line_dict(line)
        assert set(event) == {"leaf_index", "position", "originator_id", "originator_version",
                              "topic", "state"}
        assert event["leaf_index"] == index
        data, facts, _ = leaf_of(event["position"], event["originator_id"],
                              event["originator_version"], event["topic"],
                              base64.b64decode(event["state"]), origins.get(event["originator_id"]))
        if event["originator_version"] == 1 and event["topic"].rpartition(":")[2] in ORIGIN_KINDS:
            origins[event["originator_id"]] = facts
        assert merkle.leaf_hash(data).hex() == recorded[index]

    ok = verifier(out, "--public-key", key, cwd=elsewhere)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert head["root_hash"] in ok.stdout and "OK: every check passed" in ok.stdout
    assert f"money received: {received:,} đồng" in ok.stdout
    assert "WARNING" not in ok.stdout
    only_file_key = verifier(out, cwd=elsewhere)
    assert only_file_key.returncode == 0 and "WARNING" in only_file_key.stdout

    def expect_failure(name: str, edited: list[str], *args: str) -> str:
        result = verifier(write(tmp_path / f"{name}.jsonl", edited), "--public-key", key, *args,
                          cwd=elsewhere)
        assert result.returncode == 1, f"{name}: {result.stdout}{result.stderr}"
        return result.stdout

    # One digit of the amount of a receipt: only the Merkle root can tell (the books still balance).
    i = find(lines, "Receipt.Recorded")
    text = expect_failure("recorded", [*lines[:i], change_amount(lines[i]), *lines[i + 1:]])
    assert "do not hash to the signed root" in first_failure(text)

    # One digit of a draw on a receipt: the root, and the money, naming the event.
    i = find(lines, "Receipt.Drawn")
    position = line_dict(lines[i])["position"]
    made = line_dict(lines[find(lines, "Allocation.Made")])["position"]
    text = expect_failure("drawn", [*lines[:i], change_amount(lines[i]), *lines[i + 1:]])
    assert "do not hash to the signed root" in text
    assert f"position {position}: Receipt.Drawn: receipt" in text
    # The allocation's events no longer agree; named from its first event.
    assert re.search(rf"position {made}: allocation \S+: .* differ \(its events at positions "
                     rf"{made}…\d+\)", first_failure(text))

    # A line dropped: the next event is named, and the count is short.
    i = find(lines, "Allocation.Made")
    following = line_dict(lines[i + 1])["position"]
    text = expect_failure("dropped", [*lines[:i], *lines[i + 1:]])
    assert f"position {following}:" in first_failure(text)
    assert f"{head['tree_size'] - 1} readable events, the tree head says {head['tree_size']}" in text

    # Two lines swapped.
    i = find(lines, "Programme.FundsAllocated")
    moved = line_dict(lines[i + 1])["position"]
    text = expect_failure("swapped", [*lines[:i], lines[i + 1], lines[i], *lines[i + 2:]])
    assert f"position {moved}:" in first_failure(text)
    assert f"does not come after position {moved}" in text

    # The head's root changed (its signature no longer verifies, and the events don't match it).
    forged = line_dict(lines[0])
    forged["tree_head"]["root_hash"] = "0" * 64
    text = expect_failure("root", [encode(forged), *lines[1:]])
    assert "signature does not verify" in first_failure(text)
    assert "do not hash to the signed root" in text

    # Signed by another key that the file itself names: caught only with the trusted key.
    other = Ed25519PrivateKey.generate()
    resigned = [resign(lines[0], other), *lines[1:]]
    text = expect_failure("other-key", resigned)
    assert "not your trusted key" in first_failure(text)
    assert "signature does not verify with your --public-key" in text
    fooled = verifier(write(tmp_path / "other-key.jsonl", resigned), cwd=elsewhere)
    assert fooled.returncode == 0 and "WARNING" in fooled.stdout

    # An event appended after the head's last leaf.
    extra = line_dict(lines[-1])
    extra.update(position=extra["position"] + 1, leaf_index=extra["leaf_index"] + 1)
    text = expect_failure("appended", [*lines, encode(extra)])
    assert f"position {extra['position']}: more events than the tree head's size" in text


def test_export_stops_at_the_head_and_pages_through_the_log(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    fin = tokens["finance"]
    d = donor(client, fin)
    for i in range(5):
        receipt(client, fin, d, 100_000 * (i + 1))
    services.runner.catch_up()
    services.stop_background()
    head = services.tree_heads.publish() or services.tree_heads.latest()
    assert head is not None
    # More events after that head; the export must not include them when no newer head exists.
    for i in range(4):
        receipt(client, fin, d, 7_000 * (i + 1))
    monkeypatch.setattr(services.tree_heads, "publish", lambda: None)
    monkeypatch.setattr(audit, "PAGE", 3)
    out = tmp_path / "log.jsonl"
    summary = export_log(services, out)
    assert summary["tree_size"] == head["tree_size"] == summary["events"]
    assert len(lines_of(out)) == 1 + head["tree_size"]
    result = verifier(out, "--public-key", services.tree_heads.public_key, cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert not list(tmp_path.glob("*.partial"))


def test_an_empty_log_has_nothing_to_export(tmp_path: Path) -> None:
    services = make_services(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "data", seasons=False)
    try:
        with pytest.raises(LookupError):
            export_log(services, tmp_path / "log.jsonl")
    finally:
        services.close()
    assert not (tmp_path / "log.jsonl").exists()


def test_the_demo_exported_through_the_cli_verifies_offline(tmp_path: Path) -> None:
    data = tmp_path / "data"
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    services = make_services(url, data)
    try:
        load_demo(services.ledger)
        key = services.tree_heads.public_key
    finally:
        services.close()

    out = tmp_path / "demo.jsonl"
    env = {**os.environ, "MINHBACH_DATABASE_URL": url, "MINHBACH_DATA_DIR": str(data)}
    cli = subprocess.run([sys.executable, "-m", "api.cli", "audit", "export", "--out", str(out)],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert cli.returncode == 0, cli.stdout + cli.stderr

    services = make_services(url, data)
    try:
        head = services.tree_heads.latest()
        funds = services.db.query_one("SELECT SUM(received_vnd) AS received FROM fund_balances")
        assert head is not None and funds is not None
        assert head["tree_size"] == services.ledger.recorder.max_notification_id()
    finally:
        services.close()
    assert f"tree size {head['tree_size']}, root {head['root_hash']}" in cli.stdout

    result = verifier(out, "--public-key", key, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"root computed from the events: {head['root_hash']}" in result.stdout
    assert f"money received: {int(funds['received']):,} đồng" in result.stdout
    assert "[FAIL]" not in result.stdout

    # A distribution that hands out a little more than its programme recorded.
    lines = lines_of(out)
    i = find(lines, "Distribution.Made")
    event = line_dict(lines[i])
    state = json.loads(base64.b64decode(event["state"]))
    state["total_vnd"] += 1
    event["state"] = base64.b64encode(json.dumps(state, ensure_ascii=False).encode()).decode()
    result = verifier(write(tmp_path / "edited.jsonl", [*lines[:i], encode(event), *lines[i + 1:]]),
                      "--public-key", key, cwd=tmp_path)
    assert result.returncode == 1
    assert f"position {event['position']}: Distribution.Made" in first_failure(result.stdout)

    # The public export of the same head: it verifies, and none of the demo's personal data is in it.
    public = tmp_path / "demo-public.jsonl"
    cli = subprocess.run([sys.executable, "-m", "api.cli", "audit", "export", "--public", "--out",
                          str(public)], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=600)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert line_dict(lines_of(public)[0])["tree_head"] == line_dict(lines[0])["tree_head"]
    result = verifier(public, "--public-key", key, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"root computed from the public leaves: {head['root_hash']}" in result.stdout
    # The leaves decoded: no personal string of the log in them but the names donors publish.
    leaves = [base64.b64decode(line_dict(x)["leaf"]).decode() for x in lines_of(public)[1:]]
    published = "\n".join(leaves)
    receipts = [json.loads(x)["public"] for x in leaves if ":Receipt.Recorded" in x]
    # … and the goods given (a line's description may repeat an item's name).
    shown = {r["donor"] for r in receipts} | {r["goods"]["item"] for r in receipts if r["goods"]}
    personal = personal_strings(out)
    assert len(personal) > 100
    assert not [secret for secret in personal - shown if secret in published]


def test_the_verifier_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(TOOL.read_text("utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module
            imported.add(node.module.split(".")[0])
    assert imported - set(sys.stdlib_module_names) == {"cryptography"}


# ---- the public export: every leaf, no stored event ------------------------------------------------------

PERSONAL_KEYS = frozenset({"name", "public_name", "contact", "note", "bank_txn_id", "counterparty",
                           "counterparty_account", "description", "full_name", "account_number",
                           "reason"})
BANK = {"code": "VCB-QUY", "bank": "Vietcombank", "account_number": "0011004123456", "fund": "campaign"}
STATEMENT = ROOT / "tests" / "fixtures" / "statements" / "vietcombank-2021-01.csv"


def personal_strings(full_export: Path) -> set[str]:
    """Every value of a personal field inside the events of a full export (decoded states)."""
    found: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key in PERSONAL_KEYS and len(value) >= 4:
            found.add(value)

    for line in lines_of(full_export)[1:]:
        state = base64.b64decode(line_dict(line)["state"])
        try:
            walk(json.loads(state))
        except ValueError:
            continue  # encrypted (a child's personal fields): not readable anyway
    return found


def build_small_ledger(client: TestClient, services: CompositionRoot, fin: str) -> dict[str, Any]:
    """Donors with names and contacts, notes, bank transaction ids, an imported bank statement."""
    commune = communes(services)[0]
    nhung = donor(client, fin, name="Phạm Thị Hồng Nhung", contact="nhung.pham@example.vn 0912 345 678")
    hidden = donor(client, fin, name="Đỗ Quang Vinh", anonymous=True, contact="0987 654 321")
    first = receipt(client, fin, nhung, 1_500_000, bank_txn_id="FT21099000111",
                    note="Chị Nhung gọi điện xác nhận, chuyển khoản lúc 9 giờ")
    receipt(client, fin, hidden, 800_000, bank_txn_id="FT21099000222", note="Ẩn danh theo yêu cầu")
    post(client, "/allocations", fin, {"fund": "campaign", "season": "2021", "commune": commune,
                                       "category": "warm-clothing", "amount_vnd": 1_000_000,
                                       "decision_ref": "QĐ 7/QĐ-UBND",
                                       "note": "Theo đề nghị của trưởng thôn Nà Pàn"})
    post(client, "/bank-accounts", fin, BANK)
    response = client.post(f"{API}/bank-accounts/{BANK['code']}/statements",
                           files={"file": ("sao-ke.csv", STATEMENT.read_bytes())}, headers=auth(fin))
    assert response.status_code == 201, response.text
    return first


def test_the_public_export_holds_only_public_leaves_and_verifies_offline(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str], database_url: str,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = build_small_ledger(client, services, tokens["finance"])
    services.runner.catch_up()
    services.stop_background()  # the CLI below is the only writer of tree heads from here on
    key = services.tree_heads.public_key
    auditor = tmp_path / "auditor"
    auditor.mkdir()

    # The CLI, as an operator runs it: a fresh head, then the public export of it.
    out = tmp_path / "public.jsonl"
    env = {**os.environ, "MINHBACH_DATABASE_URL": database_url,
           "MINHBACH_DATA_DIR": str(tmp_path / "data")}
    cli = subprocess.run([sys.executable, "-m", "api.cli", "audit", "export", "--public",
                          "--out", str(out)],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert cli.returncode == 0, cli.stdout + cli.stderr
    row = services.tree_heads.latest()
    assert row is not None
    head = signed_head(row)
    size = head["tree_size"]
    assert size == services.ledger.recorder.max_notification_id()
    assert f"tree size {size}, root {head['root_hash']}" in cli.stdout
    assert "public export" in cli.stdout and not list(tmp_path.glob("*.partial"))

    # The file: the header, then {leaf, leaf_index, position} per leaf, the server's own.
    data = out.read_bytes()
    lines = lines_of(out)
    assert line_dict(lines[0]) == {"format": PUBLIC_FORMAT, "public_key": key,
                                   "algorithm": "Ed25519", "tree_head": head}
    assert len(lines) == 1 + size
    recorded = services.db.query("SELECT leaf_index, position, leaf_hash, leaf FROM merkle_leaves"
                                 " WHERE leaf_index < ? ORDER BY leaf_index", (size,))
    assert [line_dict(x) for x in lines[1:]] == [
        {"leaf": base64.b64encode(r["leaf"].encode()).decode(), "leaf_index": int(r["leaf_index"]),
         "position": int(r["position"])} for r in recorded]
    assert all(merkle.leaf_hash(r["leaf"].encode()).hex() == r["leaf_hash"] for r in recorded)
    leaves = [json.loads(base64.b64decode(line_dict(x)["leaf"])) for x in lines[1:]]
    assert all(line == encode(line_dict(line)) for line in lines)  # canonical JSON, "\n" ends
    # Paging does not change a byte.
    monkeypatch.setattr(export, "PUBLIC_PAGE", 3)
    assert "".join(public_chunks(services, head)).encode("utf-8") == data

    # Nothing personal: not one name, contact, note, bank id, counterparty or transfer text.
    full = tmp_path / "full.jsonl"
    export_log(services, full)
    personal = personal_strings(full)
    # What a receipt's leaf names: the named donor's public name (her own, as she gave no other)
    # and "Ẩn danh" for the anonymous one, never his name.
    shown = {f["public"]["donor"] for f in leaves if f["topic"].endswith(":Receipt.Recorded")}
    assert shown == {"Phạm Thị Hồng Nhung", "Ẩn danh"}
    # Donors' legal names and contacts are sealed in the log itself (DESIGN §6): not even there.
    for sealed in ("Đỗ Quang Vinh", "nhung.pham@example.vn 0912 345 678", "0987 654 321"):
        assert sealed.encode("utf-8") not in data and sealed.encode("utf-8") not in full.read_bytes()
    for expected in ("Phạm Thị Hồng Nhung", "Ẩn danh theo yêu cầu", "Theo đề nghị của trưởng thôn Nà Pàn",
                     "FT21099000111", "FT21004000123", "FT21005000456", "NGUYỄN VĂN AN"):
        assert expected in personal  # the ledger does hold them, in the auditors' export
    for secret in personal - shown:
        assert secret.encode("utf-8") not in data, secret
        assert all(secret not in json.dumps(f, ensure_ascii=False) for f in leaves), secret
        assert base64.b64encode(secret.encode("utf-8")) not in data, secret

    # Over HTTP, for the same head: the same bytes, cacheable, 304 when unchanged.
    response = client.get(f"{API}/public/export")
    assert response.status_code == 200, response.text
    assert response.content == data
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="minhbach-public-{size}.jsonl"')
    etag = response.headers["etag"]
    assert etag == f'"{size}-{head["root_hash"]}"'
    assert response.headers["cache-control"] == "public, max-age=60"
    for tags in (etag, f"W/{etag}", f'"0-{"0" * 64}", {etag}', "*"):
        again = client.get(f"{API}/public/export", headers={"If-None-Match": tags})
        assert again.status_code == 304 and again.content == b"", tags
        assert again.headers["etag"] == etag
    stale = client.get(f"{API}/public/export", headers={"If-None-Match": f'"{size - 1}-{"0" * 64}"'})
    assert stale.status_code == 200 and stale.content == data

    # A receipt's leaf, as the public page of the donation gives it, and the whole answer too.
    donation = get(client, f"/public/donations/{first['reference']}")
    assert donation["tree_head"] == head
    proof = donation["inclusion_proof"]
    leaf_data = base64.b64decode(donation["leaf"])
    leaf = tmp_path / "leaf.json"
    leaf.write_bytes(leaf_data)  # the leaf bytes themselves
    answer = tmp_path / "donation.json"
    answer.write_text(json.dumps(donation, ensure_ascii=False), "utf-8")
    index, position = proof["leaf_index"], json.loads(leaf_data)["position"]
    assert line_dict(lines[1 + index])["leaf"] == donation["leaf"]

    ok = verifier(out, "--public-key", key, "--leaf", str(leaf), "--leaf", str(answer), cwd=auditor)
    assert ok.returncode == 2 and "same position" in ok.stderr  # one leaf, given twice
    for given in (leaf, answer):
        ok = verifier(out, "--public-key", key, "--leaf", str(given), cwd=auditor)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert "OK: every check passed" in ok.stdout and "WARNING" not in ok.stdout
        assert f"root computed from the public leaves: {head['root_hash']}" in ok.stdout
        assert (f"[ ok ] leaf at position {position} from {given}: its hash "
                f"{proof['leaf_hash']} is leaf {index} of the signed tree") in ok.stdout
        assert "not in a public export" in ok.stdout and "money received" not in ok.stdout

    def expect_failure(name: str, edited: list[str], *args: str) -> str:
        result = verifier(write(tmp_path / f"{name}.jsonl", edited), "--public-key", key, *args,
                          cwd=auditor)
        assert result.returncode == 1, f"{name}: {result.stdout}{result.stderr}"
        return result.stdout

    def altered(data: bytes, **public: Any) -> bytes:
        obj = json.loads(data)
        return merkle.canonical_json({**obj, "public": {**(obj["public"] or {}), **public}})

    def with_leaf(line: str, data: bytes) -> str:
        return encode({**line_dict(line), "leaf": base64.b64encode(data).decode()})

    # The receipt's amount changed in its leaf: the root no longer matches, nor does the leaf.
    i = 1 + index
    more = altered(leaf_data, amount_vnd=json.loads(leaf_data)["public"]["amount_vnd"] + 1)
    flipped = merkle.leaf_hash(more).hex()
    text = expect_failure("hash", [*lines[:i], with_leaf(lines[i], more), *lines[i + 1:]],
                          "--leaf", str(leaf))
    assert "the public leaves do not hash to the signed root" in text
    assert f"it hashes to {proof['leaf_hash']}, but leaf {index} at that position is {flipped}" in text
    # Another leaf given a public fact it had not: the receipt's leaf is still there, the root tells.
    j = 1 if index != 0 else 2
    other = altered(base64.b64decode(line_dict(lines[j])["leaf"]), donor="Ai đó")
    text = expect_failure("other-hash", [*lines[:j], with_leaf(lines[j], other), *lines[j + 1:]])
    assert "do not hash to the signed root" in first_failure(text)
    # A leaf that is not canonical JSON, or whose position is not its line's.
    loose = with_leaf(lines[j], json.dumps(json.loads(other), indent=1).encode())
    text = expect_failure("loose", [*lines[:j], loose, *lines[j + 1:]])
    assert "not canonical JSON" in first_failure(text)

    # A leaf dropped: the next one is named, the count is short.
    dropped_at = 2
    following = line_dict(lines[dropped_at + 1])["position"]
    text = expect_failure("dropped", [*lines[:dropped_at], *lines[dropped_at + 1:]])
    assert f"position {following}: leaf_index {dropped_at} where {dropped_at - 1} was expected" in (
        first_failure(text))
    assert f"{size - 1} readable leaves, the tree head says {size}" in text

    # Two leaves swapped, indexes and all.
    moved = line_dict(lines[4])["position"]
    text = expect_failure("swapped", [*lines[:3], lines[4], lines[3], *lines[5:]])
    assert f"position {moved}: leaf_index 3 where 2 was expected" in first_failure(text)
    assert f"does not come after position {moved}" in text
    assert "do not hash to the signed root" in text
    # … or with their indexes renumbered to look in order: the root still tells.
    a, b = line_dict(lines[3]), line_dict(lines[4])
    renumbered = [encode({**b, "leaf_index": a["leaf_index"], "position": a["position"]}),
                  encode({**a, "leaf_index": b["leaf_index"], "position": b["position"]})]
    text = expect_failure("renumbered", [*lines[:3], *renumbered, *lines[5:]])
    # A leaf carries its own position: renumbering the line gives it away.
    assert f"the leaf says position {b['position']}, the line {a['position']}" in first_failure(text)

    # The signature changed.
    forged = line_dict(lines[0])
    signature = forged["tree_head"]["signature"]
    forged["tree_head"]["signature"] = ("0" if signature[0] != "0" else "1") + signature[1:]
    text = expect_failure("signature", [encode(forged), *lines[1:]])
    assert "signature does not verify" in first_failure(text)
    # Re-signed by someone else's key, who also rewrote the leaves: only the trusted key tells.
    text = expect_failure("other-key", [resign(lines[0], Ed25519PrivateKey.generate()), *lines[1:]])
    assert "not your trusted key" in first_failure(text)

    # A leaf that is not the one the log holds (its event edited), and a leaf the export lacks.
    edited = altered(leaf_data, donor="Người khác")
    (tmp_path / "edited.json").write_bytes(edited)
    text = expect_failure("edited-leaf", lines, "--leaf", str(tmp_path / "edited.json"))
    assert f"leaf at position {position} from" in text and "not the event the log holds" in text
    text = expect_failure("edited-answer", lines, "--leaf", str(write(
        tmp_path / "edited-answer.json",
        [json.dumps({**donation, "leaf": base64.b64encode(edited).decode()})])))
    assert f"not to the leaf_hash {proof['leaf_hash']} it comes with" in text
    later = merkle.canonical_json({**json.loads(leaf_data),
                                   "position": line_dict(lines[-1])["position"] + 1})
    (tmp_path / "later.json").write_bytes(later)
    text = expect_failure("later-leaf", lines, "--leaf", str(tmp_path / "later.json"))
    assert "no leaf at that position in this export" in text


def test_the_public_export_needs_a_tree_head_and_a_complete_merkle_projection(
        client: TestClient, services: CompositionRoot, tokens: dict[str, str], tmp_path: Path) -> None:
    empty = make_services(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path / "empty", seasons=False)
    try:
        with TestClient(create_app(services=empty)) as nothing:
            response = nothing.get(f"{API}/public/export")
        assert response.status_code == 404 and response.json()["code"] == "not_found"
        with pytest.raises(LookupError):
            export_public(empty, tmp_path / "none.jsonl")
    finally:
        empty.close()
    assert not (tmp_path / "none.jsonl").exists()

    fin = tokens["finance"]
    d = donor(client, fin)
    for i in range(4):
        receipt(client, fin, d, 100_000 * (i + 1))
    services.runner.catch_up()
    services.stop_background()
    head = services.tree_heads.publish() or services.tree_heads.latest()
    assert head is not None
    size = int(head["tree_size"])
    # A leaf missing from the projection (a rebuild under way, or worse): refused, nothing written.
    with services.db.write() as cur:
        cur.execute("DELETE FROM merkle_leaves WHERE leaf_index = ?", (size - 1,))
    response = client.get(f"{API}/public/export")
    assert response.status_code == 503 and response.json()["code"] == "not_yet_projected"
    assert response.headers["retry-after"]
    with services.db.write() as cur:
        cur.execute("DELETE FROM merkle_leaves WHERE leaf_index = ?", (1,))
    with pytest.raises(RuntimeError, match="leaf 1 "):
        export_public(services, tmp_path / "gap.jsonl")
    assert not list(tmp_path.glob("gap.jsonl*"))
