"""Tiny real run directories (relax, compare, gradcheck) shared by the figure and report tests.

Each is built once per test process by the real runners, into a temporary folder removed at exit:
a 3 τ quickstart relaxation, a 1-epoch two-rule × two-seed digits comparison, and a gradient
check of 2 estimators (ep, hep with N = 1, 2) at 2 values of β — where ep and hep N=1 give the
same estimate, so the figures must mark the pair as coincident.
"""
from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from command_line import QUICKSTART, ROOT

import neurosim.api as ns
from neurosim.experiments.gradcheck import run_gradcheck
from neurosim.scenario.load import load_scenario


@lru_cache(maxsize=None)
def _root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="neurosim-rundirs-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


@lru_cache(maxsize=None)
def relax_run() -> Path:
    sc = load_scenario(QUICKSTART).with_changes(simulation__duration=3.0, network__particles=2)
    return ns.run(sc, _root() / "relax", plots=True).run_dir


@lru_cache(maxsize=None)
def compare_run() -> Path:
    from scenario_dicts import small
    out = _root() / "compare"
    ns.compare(small(training__epochs=1, training__grad_cosine=True), "ep_symmetric,bp_ff", seeds=2,
               out=out, plots=True)
    return out


@lru_cache(maxsize=None)
def gradcheck_run() -> Path:
    sc = load_scenario(ROOT / "scenarios" / "gradcheck_layered.toml").with_changes(
        gradcheck__estimators=["ep", "hep"], gradcheck__betas=[0.01, 0.1], gradcheck__n_points=[1, 2])
    out = _root() / "gradcheck"
    run_gradcheck(sc, out, plots=True)
    return out
