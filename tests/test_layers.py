"""Imports point one way (docs/design.md, "Layers"): a test that walks every module's imports
(the syntax tree, so lazy imports inside functions count too) and fails on an import from a lower
layer to a higher one."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "neurosim"

#: package → the neurosim packages it may import (besides itself). The order, bottom to top:
#: options/metrics/data → model → build → engine → learning, generative → scenario → experiments
#: → api/cli; plotting reads run directories and imports none of the simulator.
ALLOWED = {
    "options": set(),
    "metrics": set(),
    "catalog": set(),   # the bundled scenarios' commands and measured durations: a plain table
    "data": {"options"},
    "model": {"options"},
    "build": {"model", "options"},
    "engine": {"build", "model", "options"},
    "learning": {"engine", "build", "model", "options", "metrics"},
    # engine-free: the generative layer is numpy on callables (docs/generative.md)
    "generative": {"data", "options", "metrics"},
    # the scenario reads the vocabulary (registries) of the layers it configures, never a runner
    "scenario": {"learning", "generative", "engine", "build", "model", "data", "options"},
    "plotting": {"options", "metrics"},
    "experiments": {"scenario", "learning", "generative", "engine", "build", "model", "data", "options",
                    "metrics", "plotting"},
    "api": {"experiments", "scenario", "plotting", "learning", "generative", "engine", "build", "model",
            "data", "options", "metrics", "catalog"},
}
# the subcommands' bodies (cli_commands) and the parser that dispatches to them (cli)
ALLOWED["cli_commands"] = set(ALLOWED) | {"api"}
ALLOWED["cli"] = set(ALLOWED) | {"api"}
TOP_LEVEL = {"__init__", "__version__"}


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every ``neurosim`` import in the file."""
    rel = path.relative_to(ROOT.parent).with_suffix("")
    pkg = list(rel.parts[:-1]) if rel.name != "__init__" else list(rel.parts[:-1])
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[:len(pkg) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                out += [(node.lineno, mod)] if node.module else [(node.lineno, f"{mod}.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, node.module))
    return [(line, m) for line, m in out if m and (m == "neurosim" or m.startswith("neurosim."))]


def violations() -> list[str]:
    bad = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        here = rel.parts[1] if len(rel.parts) > 1 else "__init__"
        here = here if here in ALLOWED else "__init__"
        for line, module in imports(path):
            there = package_of(module)
            if there == here or there in TOP_LEVEL or here == "__init__":
                continue
            if there not in ALLOWED.get(here, set()):
                bad.append(f"{path.relative_to(ROOT.parent)}:{line}: {here} imports {module} ({there})")
    return bad


def test_every_package_is_placed_in_a_layer():
    packages = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
                if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))}
    assert packages - TOP_LEVEL - set(ALLOWED) == set()


def test_imports_point_one_way():
    assert violations() == []


@pytest.mark.parametrize("here,module", [("scenario", "neurosim.experiments.train"),
                                         ("generative", "neurosim.engine.simulator"),
                                         ("engine", "neurosim.learning.estimators"),
                                         ("plotting", "neurosim.engine.simulator")])
def test_the_rule_refuses_upward_imports(here, module):
    """The table itself forbids the imports the layering exists to prevent."""
    assert package_of(module) not in ALLOWED[here]


#: one idea per module: no file under neurosim/ longer than this
MAX_LINES = 400
#: modules allowed over the limit for now, each with why (none)
LONG_MODULES: set[str] = set()


def test_no_module_exceeds_400_lines():
    long = {str(p.relative_to(ROOT.parent)): n for p in sorted(ROOT.rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert set(long) - LONG_MODULES == set(), f"split these into one idea per module: {long}"


DESIGN = ROOT.parent / "docs" / "design.md"


def _design_table() -> dict[str, set[str]]:
    """docs/design.md's "may import" table: package → the packages of its row (text in
    parentheses is commentary)."""
    import re
    text = DESIGN.read_text(encoding="utf-8").split("## Layers", 1)[1].split("\n## ", 1)[0]
    table = {}
    for row in re.findall(r"^\|(.+)\|(.+)\|$", text, re.M):
        left, right = (re.sub(r"\(.*?\)", "", cell).strip() for cell in row)
        if left in ("package", "") or set(left) <= set("-"):
            continue
        names = set() if right == "—" else {n.strip() for n in right.split(",")}
        for package in left.split(","):
            table[package.strip()] = names
    return table


def test_the_design_table_is_this_table():
    assert _design_table() == ALLOWED


def test_the_design_drawing_names_every_package():
    import re
    drawing = DESIGN.read_text(encoding="utf-8").split("```", 2)[1]
    named = set(re.findall(r"\b(\w+)(?:/|\.py)", drawing))
    assert set(ALLOWED) - named == set()
