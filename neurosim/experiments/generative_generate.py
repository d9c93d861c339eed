"""``neurosim generate``: load a finished generative run and draw new samples from it."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..metrics import w2
from .generative_metrics import stream
from .rundir import write_json, write_npz


def generate(run_dir, n: int = 1000, sampler: str | None = None, steps: int | None = None, out=None,
             seed: int = 0, guidance: float | None = None, plot: bool = True) -> dict:
    """Load a generative run's checkpoint and scenario, draw ``n`` samples, write ``samples.npz``
    (default ``RUN_DIR/generate/samples.npz``) and ``samples.json`` beside it.

    ``plot``: the folder of ``samples.npz`` is a run directory of its own — its figures
    (``plots/samples.png``) and ``report.html`` are drawn by :mod:`neurosim.plotting` from the files,
    as ``neurosim plot`` would. A custom file name (``--out other.npz``) gets ``other.png`` beside it,
    drawn by the same function from the file just written."""
    from .generate_options import check_generate
    check_generate(run_dir, n, sampler, steps, guidance, seed, out)  # refuse before loading or writing
    run_dir = Path(run_dir)
    from .generative import samples_arrays, trainer_from_run
    tr = trainer_from_run(run_dir)
    out = Path(out) if out else run_dir / "generate" / "samples.npz"
    rng = stream(tr.seed, "generate", int(seed))
    t0 = time.perf_counter()
    samples, labels = tr.generate(n, rng, sampler, steps, guidance)
    seconds = time.perf_counter() - t0
    ref = tr.reference(n, stream(tr.seed, "generate", int(seed), 1))
    write_npz(out, samples_arrays(samples, labels, ref))
    info = {"samples": str(out), "n": n, "sampler": sampler or tr.g["sampler"],
            "steps": steps or tr.g["sampler_steps"], "seconds": seconds, "shape": list(samples.shape),
            "run_dir": str(run_dir), "scenario": tr.scenario["name"], "seed": int(seed)}
    if len(ref) == len(samples) and tr.data.name != "digits":
        info["w2"] = w2(samples, ref)
    if tr.data.name == "digits" and labels is not None:
        info["conditional_accuracy"] = float(np.mean(tr.classifier().predict(samples) == labels))
    write_json(out.with_name(out.stem + ".json"), info)
    if plot:
        from ..plotting import plot_and_report
        from ..plotting.io.arrays import read_samples
        from ..plotting.samples import plot_samples
        if out.name == "samples.npz":
            info["report"] = str(plot_and_report(out.parent))
            info["plot"] = str(out.parent / "plots" / "samples.png")
        else:
            info["plot"] = str(plot_samples(read_samples(out), out.with_suffix(".png")))
    return info
