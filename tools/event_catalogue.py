#!/usr/bin/env python3
"""Write docs/events.md, the catalogue of every event, from the aggregates in domain/.

    .venv/bin/python tools/event_catalogue.py          # (re)write docs/events.md
    .venv/bin/python tools/event_catalogue.py --check  # exit 1 if docs/events.md is stale

The page is generated (domain/event_catalogue.py) so that it can't drift from the code; unlike
tools/verify_export.py and tools/public_figures.py, which outsiders run on an export, this one
is for developers and imports the project.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "events.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/events.md is stale")
    args = parser.parse_args(argv)
    # Run as a script, this file's folder is on the path, not the project's.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from domain.event_catalogue import render_markdown

    text = render_markdown()
    current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else None
    if args.check:
        if current != text:
            print(f"{PAGE.relative_to(ROOT)} is stale: run .venv/bin/python tools/event_catalogue.py",
                  file=sys.stderr)
            return 1
        return 0
    if current != text:
        PAGE.write_text(text, encoding="utf-8")
        print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
