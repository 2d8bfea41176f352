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

from api import audit
from api.demo import load_demo
from api.export import FORMAT, export_log
from api.services import Services
from domain import merkle
from tests.conftest import make_services
from tests.helpers import communes, donor, post, receipt

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


def build_ledger(client: TestClient, services: Services, fin: str) -> int:
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
        "distributed_on": "2022-01-20", "beneficiaries_count": 20,
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
        client: TestClient, services: Services, tokens: dict[str, str], tmp_path: Path) -> None:
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
    for index, line in enumerate(lines[1:]):
        event = line_dict(line)
        assert set(event) == {"leaf_index", "position", "originator_id", "originator_version",
                              "topic", "state"}
        assert event["leaf_index"] == index
        data = merkle.leaf_bytes(event["position"], event["originator_id"],
                                 event["originator_version"], event["topic"],
                                 base64.b64decode(event["state"]))
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
        client: TestClient, services: Services, tokens: dict[str, str], tmp_path: Path,
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
    services = make_services(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "data")
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
