"""The repository explains itself: its documents point only at files inside it, the README
names every setting, and the design names every endpoint and command the code has."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import typer

from api.app import create_app
from api.cli import app as cli_app
from ledger.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DESIGN = ROOT / "docs" / "design.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").rglob("*.md"))]

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# A relative path that climbs, wherever it is written (a link, inline code, prose).
CLIMBING = re.compile(r"(?<![\w./-])((?:\.\./)+[^\s)`'\"<>|]*)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]", "", unicodedata.normalize("NFC", heading)).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_slug(h) for h in HEADING.findall(FENCE.sub("", path.read_text("utf-8")))}


def _inside(path: Path) -> bool:
    return path.resolve().is_relative_to(ROOT)


def test_slug_is_githubs() -> None:
    assert _slug("Differences from DESIGN §7") == "differences-from-design-7"
    assert _slug("Children: where support is given, erasure") == "children-where-support-is-given-erasure"
    assert _slug("Donors' privacy") == "donors-privacy"


@pytest.mark.parametrize("doc", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_inside_the_repository_and_exist(doc: Path) -> None:
    text = doc.read_text("utf-8")
    wrong: list[str] = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (doc.parent / file_part) if file_part else doc
        if not _inside(linked):
            wrong.append(f"{target}: outside the repository")
        elif not linked.exists():
            wrong.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            wrong.append(f"{target}: no heading #{anchor} in {linked.relative_to(ROOT)}")
    for climbing in CLIMBING.findall(text):
        if not _inside(doc.parent / climbing):
            wrong.append(f"{climbing}: a path outside the repository")
    assert not wrong, wrong


def test_the_checks_fail_on_what_they_must_refuse() -> None:
    doc = ROOT / "docs" / "x.md"  # never written: the checks only resolve paths from it
    assert not _inside(doc.parent / "../../shared/DESIGN.md")
    assert _inside(doc.parent / "../README.md")
    assert CLIMBING.findall("see `../shared/seed/` and [a](../x.md)") == ["../shared/seed/", "../x.md"]
    assert LINK.findall("[plan](plan/README.md) and [x](https://example.org)") == [
        "plan/README.md", "https://example.org"]


def _configuration_section() -> str:
    text = README.read_text("utf-8")
    start = text.index("\n## Configuration\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def test_readme_configuration_names_every_setting() -> None:
    section = _configuration_section()
    table = set(re.findall(r"^\| `(MINHBACH_[A-Z0-9_]+)` \|", section, re.MULTILINE))
    settings = {f"MINHBACH_{name.upper()}" for name in Settings.model_fields}
    assert settings - table == set(), "settings missing from the README's Configuration table"
    assert table - settings == set(), "the README's Configuration table names no such setting"


def test_design_names_every_endpoint() -> None:
    text = DESIGN.read_text("utf-8")
    paths = [p.removeprefix("/api/v1") for p in create_app().openapi()["paths"]]
    assert len(paths) > 50
    missing = [p for p in paths if not re.search(r"[`\s]" + re.escape(p) + "`", text)]
    assert not missing, f"docs/design.md does not name {missing}"


def _commands(group: typer.Typer) -> list[str]:
    root = typer.main.get_command(group)
    names: list[str] = []

    def walk(command: object, prefix: str) -> None:
        commands = getattr(command, "commands", None)
        if commands:
            for name, sub in commands.items():
                walk(sub, f"{prefix} {name}")
        else:
            names.append(prefix)

    walk(root, "minhbach")
    return names


def test_design_names_every_command() -> None:
    text = DESIGN.read_text("utf-8")
    commands = _commands(cli_app)
    assert "minhbach audit verify" in commands and len(commands) > 15
    missing = [c for c in commands if f"`{c}" not in text]
    assert not missing, f"docs/design.md does not name {missing}"
