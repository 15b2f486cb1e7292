"""Write the ADR table of docs/README.md from the ADR files' own titles (one source of truth).

    .venv/bin/python scripts/adr_index.py          # rewrite the table
    .venv/bin/python scripts/adr_index.py --check  # exit 1 if docs/README.md is stale (a test runs this)
"""
from __future__ import annotations

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BEGIN, END = "<!-- adr-index:begin -->", "<!-- adr-index:end -->"


def table() -> str:
    rows = ["| ADR | Decision |", "|---|---|"]
    for path in sorted((DOCS / "adr").glob("[0-9][0-9][0-9][0-9]-*.md")):
        title = path.read_text().splitlines()[0].lstrip("# ").strip()
        title = re.sub(r"^ADR \d+:\s*", "", title)
        rows.append(f"| [{path.name[:4]}](adr/{path.name}) | {title} |")
    return "\n".join(rows)


def render(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n" + table() + "\n" + text[end:]


def main(argv: list[str]) -> int:
    readme = DOCS / "README.md"
    text = readme.read_text()
    new = render(text)
    if "--check" in argv:
        if new != text:
            print("docs/README.md's ADR index is stale: run scripts/adr_index.py", file=sys.stderr)
            return 1
        return 0
    readme.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
