#!/usr/bin/env python
"""Walk through README.md and docs/index.md as a newcomer would: run every command they show, in
order, in a scratch directory (``scenarios/`` linked in, ``runs/`` written there), and report the
ones that fail.

    python tools/walk_docs.py            # every command; long studies as their quick variant
    python tools/walk_docs.py --list     # print the commands it would run

A command on a long study (``neurosim.catalog``: > 2 min) runs with that study's quick ``--set``
changes and one seed instead, so the walk takes minutes; the full command is parsed and its
scenario validated with the CLI's own parser. ``pip install`` is skipped (the walk runs in the
installed environment) and so is the full test suite (``python -m pytest -q``): the walk is
itself part of it (``tests/test_docs_walk.py``, marked slow).
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ("README.md", "docs/index.md")


def shown_commands(text: str) -> list[tuple[str, str]]:
    """(kind, text) in reading order: ("sh", a shell line from a ```bash block or an inline
    `neurosim …` in a table), ("py", a ```python block)."""
    found, block, lang = [], None, None
    for line in text.splitlines():
        fence = re.match(r"^```(\w*)", line.strip())
        if fence:
            if block is None:
                block, lang = [], fence.group(1)
            else:
                if lang == "python":
                    found.append(("py", "\n".join(block)))
                elif lang in ("bash", "sh", ""):
                    found += [("sh", c) for c in _shell_lines(block)]
                block = None
            continue
        if block is not None:
            block.append(line)
        elif line.startswith("|"):  # a table's "try" column; in prose, `neurosim x` is a mention
            found += [("sh", m) for m in re.findall(r"`((?:neurosim|python -m pytest) [^`]*)`", line)
                      if len(m.split()) > 2 or m.split()[1] in ("list", "bench")]
    return found


def _shell_lines(lines: list[str]) -> list[str]:
    out, pending = [], ""
    for line in lines:
        line = re.sub(r"\s+#.*$", "", line) if not line.lstrip().startswith("#") else ""
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        line = (pending + line).strip()
        pending = ""
        if line:
            out.append(line)
    return out


def plan(kind: str, text: str) -> tuple[str, str] | None:
    """What the walk runs for a shown command: (kind, text) or None to skip it."""
    if kind == "py":
        return kind, text
    parts = [p.strip() for p in text.split("&&")]
    parts = [p for p in parts if not p.startswith("pip install") and p != "python -m pytest -q"]
    if not parts:
        return None
    return "sh", " && ".join(quick(p) for p in parts)


def quick(command: str) -> str:
    """``command`` with a long study's quick changes (the catalog's ``--set`` and one seed)."""
    from neurosim.catalog import CATALOG
    words = shlex.split(command)
    if len(words) < 3 or words[0] != "neurosim" or words[1] not in ("run", "compare", "sweep", "gradcheck"):
        return command
    entry = CATALOG.get(Path(words[2]).stem)
    if entry is None or not entry.long or "--set" in words and any(s in command for s in entry.quick):
        return command
    _check_parses(words)
    if "--seeds" in words:
        words[words.index("--seeds") + 1] = "1"
    for s in entry.quick:
        words += ["--set", s]
    return shlex.join(words)


def _check_parses(words: list[str]) -> None:
    from neurosim.cli import build_parser
    import neurosim.api as ns
    args = build_parser().parse_args(words[1:])
    errors = ns.validate(str(ROOT / args.scenario), overrides=getattr(args, "set", None))
    bad = [e for e in errors.values() if e]
    if bad:
        raise SystemExit(f"walk: {' '.join(words)}: {bad[0]}")


def run(kind: str, text: str, cwd: Path, env: dict) -> tuple[int, float, str]:
    start = time.perf_counter()
    if kind == "py":
        proc = subprocess.run([sys.executable, "-c", text], cwd=cwd, env=env, capture_output=True, text=True)
    else:
        proc = subprocess.run(["bash", "-c", text], cwd=cwd, env=env, capture_output=True, text=True)
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return proc.returncode, time.perf_counter() - start, "\n".join(tail)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    steps = []
    for doc in DOCS:
        for kind, text in shown_commands((ROOT / doc).read_text(encoding="utf-8")):
            step = plan(kind, text)
            if step is not None:
                steps.append((doc, text, *step))
    if "--list" in argv:
        for doc, shown, kind, text in steps:
            print(f"{doc}: {text if kind == 'sh' else '<python block>'}")
        return 0
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    failed = 0
    with tempfile.TemporaryDirectory(prefix="neurosim-walk-") as tmp:
        for doc in DOCS:  # each page is its own walk, from a fresh checkout
            cwd = Path(tmp) / Path(doc).stem
            cwd.mkdir()
            (cwd / "scenarios").symlink_to(ROOT / "scenarios")
            (cwd / "tests").symlink_to(ROOT / "tests")
        for doc, shown, kind, text in steps:
            cwd = Path(tmp) / Path(doc).stem
            code, seconds, tail = run(kind, text, cwd, env)
            mark = "ok" if code == 0 else f"FAILED (exit {code})"
            print(f"[{mark}] {seconds:6.1f} s  {doc}: {text if kind == 'sh' else '<python block>'}", flush=True)
            if code != 0:
                failed += 1
                print("    " + tail.replace("\n", "\n    "), flush=True)
    print(f"{len(steps) - failed} of {len(steps)} commands succeeded")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
