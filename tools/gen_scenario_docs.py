#!/usr/bin/env python
"""Regenerate the key table of docs/scenarios.md from the schema objects (SECTIONS).

    python tools/gen_scenario_docs.py          # rewrite docs/scenarios.md
    python tools/gen_scenario_docs.py --check  # exit 1 if the file is out of date
"""
from __future__ import annotations

import sys
from pathlib import Path

from neurosim.scenario.schema import REQUIRED, Field, Table, TableArray
from neurosim.scenario.sections import SECTIONS

DOC = Path(__file__).resolve().parent.parent / "docs" / "scenarios.md"
BEGIN, END = "<!-- keys: begin -->", "<!-- keys: end -->"


def rows(spec, key=""):
    if isinstance(spec, Table):
        for name, sub in spec.fields.items():
            yield from rows(sub, f"{key}.{name}" if key else name)
    elif isinstance(spec, TableArray):
        yield from rows(spec.item, f"{key}[]")
    elif isinstance(spec, Field):
        types = "/".join(t.__name__ for t in spec.types)
        default = "required" if spec.default is REQUIRED else repr(spec.default)
        doc = spec.doc + (f" one of {list(spec.choices)}" if spec.choices else "")
        yield f"| `{key}` | {types} | {default} | {doc.strip()} |"


def table() -> str:
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, spec in SECTIONS.items():
        lines.extend(rows(spec, name))
    return "\n".join(lines)


def render(text: str) -> str:
    block = f"{BEGIN}\n{table()}\n{END}"
    if BEGIN in text:
        head, rest = text.split(BEGIN, 1)
        return head + block + rest.split(END, 1)[1]
    start = text.index("| key | type |")
    end = start
    lines = text[start:].split("\n")
    n = next(i for i, line in enumerate(lines) if not line.startswith("|"))
    end = start + len("\n".join(lines[:n]))
    return text[:start] + block + text[end:]


def main() -> int:
    text = DOC.read_text()
    new = render(text)
    if "--check" in sys.argv:
        return 0 if new == text else 1
    DOC.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
