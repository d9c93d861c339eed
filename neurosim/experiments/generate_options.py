"""``neurosim generate``'s checks: the run directory must be a finished ``kind = "generative"`` run
and every option in range, all found before the checkpoint is loaded or a sample written."""
from __future__ import annotations

import math
from pathlib import Path

from ..scenario.load import Scenario, load_scenario
from ..scenario.schema import ScenarioError
from .rundir import RunDirError, check_writable

SAMPLERS = ("euler", "heun", "ancestral", "langevin")
FLOW_SAMPLERS = ("euler", "heun")  # icfm / otcfm integrate an ODE: no stochastic samplers


class OptionError(ValueError):
    """A command-line option (or its Python keyword) is out of range: ``str(err)`` names it."""

    def __init__(self, option: str, expected: str, got):
        super().__init__(f"option {option}: expected {expected}, got {got!r}")


def _positive_int(option: str, v, allow_none: bool = False) -> None:
    if v is None and allow_none:
        return
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise OptionError(option, "a positive integer", v)


def check_generate(run_dir, n, sampler, steps, guidance, seed, out) -> Scenario:
    """The run's scenario if ``neurosim generate RUN_DIR`` may sample it with these options;
    raises OptionError, ScenarioError or RunDirError (each one line) otherwise."""
    _positive_int("--n", n)
    _positive_int("--steps", steps, allow_none=True)
    if guidance is not None and (isinstance(guidance, bool) or not isinstance(guidance, (int, float))
                                 or not math.isfinite(guidance)):
        raise OptionError("--guidance", "a finite number", guidance)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise OptionError("--seed", "a non-negative integer", seed)
    if sampler is not None and sampler not in SAMPLERS:
        raise OptionError("--sampler", f"one of {', '.join(SAMPLERS)}", sampler)
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: no such run directory")
    path = run_dir / "scenario.toml"
    if not path.is_file():
        raise RunDirError(f"{run_dir}: not a neurosim run directory (no scenario.toml)")
    scenario = load_scenario(path)
    if scenario["kind"] != "generative":
        raise ScenarioError(path, "kind", f"neurosim generate samples a kind = \"generative\" run, "
                            f"this is a {scenario['kind']!r} run")
    if not (run_dir / "checkpoint.npz").is_file():
        raise RunDirError(f"{run_dir / 'checkpoint.npz'}: missing; the run has not saved a trained "
                          "network yet (rerun it, or --resume it)")
    if sampler is not None and scenario["generative"]["objective"] in ("icfm", "otcfm") \
            and sampler not in FLOW_SAMPLERS:
        raise OptionError("--sampler", f"{' or '.join(FLOW_SAMPLERS)} for the flow objective "
                          f"{scenario['generative']['objective']!r}", sampler)
    if out is not None:
        target = Path(out)
        if target.is_dir():
            raise OptionError("--out", "a samples file name (e.g. samples.npz), not a directory", str(out))
        check_writable(target.parent)
    else:
        check_writable(run_dir / "generate")
    return scenario
