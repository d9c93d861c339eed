"""neurosim list: every bundled scenario has its command and measured duration, every long study
a quick variant that validates; the docs state a duration beside every long command."""
import re
import shlex
from pathlib import Path

import neurosim.api as ns
from neurosim.catalog import CATALOG, LONG_SECONDS, duration_text
from neurosim.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


def test_every_bundled_scenario_is_catalogued_with_a_duration():
    assert {p.stem for p in SCENARIOS} == set(CATALOG)
    for info in ns.list_scenarios(ROOT / "scenarios"):
        assert info.seconds is not None and info.seconds > 0, info.path
        assert info.command.startswith("neurosim ") and Path(info.path).name in info.command
        assert (info.quick is not None) == (info.seconds > LONG_SECONDS), info.path


def test_every_quick_variant_parses_validates_and_is_measured_under_two_minutes():
    parser = build_parser()
    for info in ns.list_scenarios(ROOT / "scenarios"):
        if info.quick is None:
            continue
        assert info.quick_seconds is not None and info.quick_seconds <= LONG_SECONDS, info.path
        args = parser.parse_args(shlex.split(info.quick)[1:])
        assert getattr(args, "set", []), f"{info.path}: a quick variant changes the scenario with --set"
        assert ns.validate(args.scenario, overrides=args.set) == {args.scenario: None}
        assert main(["validate", args.scenario, *sum((["--set", s] for s in args.set), [])]) == 0


def test_list_prints_command_and_duration(capsys):
    assert main(["list", "--dir", str(ROOT / "scenarios")]) == 0
    out = capsys.readouterr().out
    moons = CATALOG["toy2d_moons_flow"]
    assert f"--out runs/moons   # ≈ {duration_text(moons.seconds)}" in out and "idle 2-core machine" in out
    assert "quick: neurosim run" in out and "--set generative.steps=" in out


#: a duration stated on the line: "≈ 45 min", "(≈ 75 s)", "140 s", "12–30 min"
DURATION = re.compile(r"≈\s*\d|\d+(\.\d+)?\s?(s|min|h)\b")


def test_docs_state_a_duration_beside_every_long_command():
    long = [name for name, e in CATALOG.items() if e.long]
    command = re.compile(r"neurosim (run|compare|sweep|gradcheck) scenarios/(" + "|".join(long) + r")\.toml")
    missing = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if command.search(line) and not any(DURATION.search(l) for l in lines[max(i - 1, 0):i + 3]):
                missing.append(f"{path.relative_to(ROOT)}:{i + 1}: {line.strip()[:90]}")
    assert not missing, "long commands without a stated duration:\n" + "\n".join(missing)
