"""Print which of the project's packages import which, and check them against the layers.

    .venv/bin/python tools/import_graph.py           # the graph, and any import against the layers
    .venv/bin/python tools/import_graph.py --check   # exit status 1 if there is one
    .venv/bin/python tools/import_graph.py --root DIR   # of another checkout (an older commit)

The layers (docs/design.md, "Architecture"), each importing only those below it:

    api         HTTP and the command line
    ledger      the application layer: commands, their runner, use cases, the composition root
    adapters    keys, tokens, signing, VietQR, statement formats, spreadsheet cells
    projections read models and the database they live in
    domain      rules only: no threads, clocks, sleeps, randomness or IO

Reads the source only (ast), so it runs on any checkout without installing anything.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "projections", "adapters", "ledger", "api", "migrations")
ALLOWED: dict[str, set[str]] = {
    "domain": set(),
    "migrations": set(),
    "projections": {"domain"},
    # The adapters that keep rows (keys, tokens, tree heads) use the read models' database.
    "adapters": {"domain", "projections"},
    "ledger": {"domain", "projections", "adapters", "migrations"},
    "api": {"domain", "projections", "adapters", "ledger"},
}
# What makes code impure: a domain module importing one of these is in the wrong layer.
# (Sealing personal data draws random keys and nonces from the OS: that stays in the domain, as
# part of the rule that personal data is never stored in clear.)
IMPURE = {"threading", "time", "random", "socket", "subprocess", "asyncio", "sqlite3", "psycopg",
          "logging", "pathlib", "concurrent", "eventsourcing.application", "eventsourcing.persistence"}


def imports(path: Path) -> set[str]:
    """The absolute module names a file imports (at any depth of the file)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def modules(root: Path = ROOT) -> dict[str, set[str]]:
    """Every module of the project's packages and what it imports."""
    out = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):  # a package absent there: nothing
            name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
            out[name] = imports(path)
    return out


def package_graph(mods: dict[str, set[str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for name, imported in mods.items():
        package = name.split(".")[0]
        graph[package] |= {m.split(".")[0] for m in imported
                           if m.split(".")[0] in PACKAGES and m.split(".")[0] != package}
    return graph


def violations(mods: dict[str, set[str]]) -> list[str]:
    """Every import against the layers, as 'module imports module (why not)'."""
    found = []
    routes = {n for n in mods if n.startswith("api.routes.")}
    for name, imported in sorted(mods.items()):
        package = name.split(".")[0]
        for m in sorted(imported):
            top = m.split(".")[0]
            if top in PACKAGES and top != package and top not in ALLOWED[package]:
                found.append(f"{name} imports {m} ({package} may import only "
                             f"{', '.join(sorted(ALLOWED[package])) or 'nothing of ours'})")
            if package == "domain" and (top in IMPURE or m.rpartition(".")[0] in IMPURE):
                found.append(f"{name} imports {m} (domain holds rules only)")
            if name in routes and any(m == r or m.startswith(r + ".") for r in routes - {name}):
                found.append(f"{name} imports {m} (a route never imports a route)")
    return found


def main(argv: list[str]) -> int:
    mods = modules(Path(argv[argv.index("--root") + 1]) if "--root" in argv else ROOT)
    graph = package_graph(mods)
    for package in PACKAGES:
        print(f"{package:12} -> {', '.join(sorted(graph.get(package, ()))) or '(nothing of ours)'}")
    wrong = violations(mods)
    for line in wrong:
        print("against the layers:", line)
    return 1 if wrong and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
