"""Docs that are generated from code stay in step with it."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_scenario_key_table_is_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_scenario_docs.py"), "--check"])
    assert result.returncode == 0, "docs/scenarios.md is stale: run python tools/gen_scenario_docs.py"


def test_every_bundled_scenario_validates_and_is_listed_in_the_docs():
    from neurosim.api import load
    index = (ROOT / "docs" / "index.md").read_text() + (ROOT / "README.md").read_text()
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        load(path)
    assert "brain_multitask.toml" in index and "quickstart.toml" in index


def test_no_citation_of_a_document_outside_the_repository():
    """The docs and the code stand alone: they cite pages in docs/ and papers by title, never
    notes that are not in the repository."""
    import re
    outside = re.compile(r"DESIGN\.md|seed[- ]digest|hypothesis-notes|anchors\.md|\.\./shared|issue #?\d")
    hits = []
    for folder in ("neurosim", "docs", "tests", "tools", "scenarios"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in (".py", ".md", ".toml") or path.name == "test_docs.py":
                continue
            for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if outside.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:80]}")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    hits += [f"README.md: {m.group(0)}" for m in outside.finditer(readme)]
    assert not hits, "\n".join(hits)


def test_every_worked_example_in_scenarios_md_validates():
    """docs/scenarios.md shows one complete scenario per kind; each must validate as it stands."""
    import re
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    from neurosim.scenario.load import from_dict
    from neurosim.scenario.sections import KIND_SECTIONS
    blocks = re.findall(r"```toml\n(.*?)```", (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8"), re.S)
    kinds = [from_dict(tomllib.loads(b), "docs/scenarios.md")["kind"] for b in blocks]
    assert sorted(kinds) == sorted(KIND_SECTIONS)


def test_docs_use_no_internal_phrases():
    import re
    internal = re.compile(r"PYTHONPATH=|python -m neurosim\.cli|branch `|[Tt]he talk\b|/work/|the issue\b|issue note")
    hits = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "neurosim").rglob("*.py"))]:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if internal.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:80]}")
    assert not hits, "\n".join(hits)
