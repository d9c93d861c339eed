"""The ``neurosim`` command line. Every subcommand is one call into the Python API
(:mod:`neurosim.api`), so notebooks and the CLI do the same thing.

Exit status: 0 done; 1 a study finished but some of its runs failed (``compare``, listed on
stderr); 2 refused — bad scenario, option, ``--out`` or checkpoint, one line naming it, nothing
written; 3 the simulation diverged; 130 interrupted (Ctrl-C), with the checkpoint ``--resume``
would continue from.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_FAILED_RUNS = 1
EXIT_USAGE = 2
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 130


def _cmd_run(args):
    from .api import run
    result = run(args.scenario, args.out, resume=args.resume, progress=not args.quiet,
                 plots=False if args.no_plots else None, overrides=args.set, overwrite=args.overwrite)
    print(f"wrote {result.run_dir}")
    if result.report is not None:
        print(f"report: {result.report}")
    for key in sorted(result.metrics):
        value = result.metrics[key]
        if isinstance(value, (int, float)):
            print(f"  {key} = {value:.6g}" if isinstance(value, float) else f"  {key} = {value}")
    return 0


def _cmd_validate(args):
    """Check every file (one line each); exit 2 if any of them is invalid."""
    from .api import validate
    failed = 0
    for path in args.scenario:
        error = validate(path, overrides=args.set)[path]
        if error is not None:
            failed += 1
            print(f"neurosim: error: {error}", file=sys.stderr)
            continue
        print(f"{path}: ok")
    if failed and len(args.scenario) > 1:
        print(f"neurosim: {failed} of {len(args.scenario)} scenario files are invalid", file=sys.stderr)
    return EXIT_USAGE if failed else 0


def _cmd_plot(args):
    from .plotting import main_plot
    return main_plot(args.run_dir, x=args.x)


def _cmd_list(args):
    """One block per scenario: its command and measured duration on 2 cores, the quick variant of
    a long study, the description."""
    from .api import list_scenarios
    from .catalog import duration_text
    infos = list_scenarios(args.dir)
    for info in infos:
        took = "" if info.seconds is None else f"   # ≈ {duration_text(info.seconds)}"
        print(f"{info.path}  —  {info.description}")
        print(f"    {info.command}{took}")
        if info.quick:
            print(f"    quick: {info.quick}   # ≈ {duration_text(info.quick_seconds)}")
    if any(i.seconds is not None for i in infos):
        print("(≈: wall time on an idle 2-core machine, measured or extrapolated as neurosim/catalog.py "
              "says; 2–4× longer on a loaded one)")
    return 0


def _cmd_bench(args):
    from .experiments.bench import main_bench
    return main_bench(quick=args.quick)


def _gradcheck_args(p):
    p.add_argument("scenario", help="a kind = \"gradcheck\" scenario file")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set a dotted scenario key before validation, e.g. gradcheck.batch=4 (repeatable)")
    p.add_argument("--out", required=True, help="directory for gradcheck.json, gradients.npz, plots/")
    p.add_argument("--overwrite", action="store_true", help="replace what an earlier run left in OUT")
    p.add_argument("--no-plots", action="store_true", help="skip the figures and report.html")
    p.add_argument("--quiet", action="store_true", help="no per-setting lines")


def _cmd_gradcheck(args):
    from .api import gradcheck
    doc = gradcheck(args.scenario, args.out, overrides=args.set, progress=not args.quiet,
                    plots=False if args.no_plots else None, overwrite=args.overwrite)
    print(f"wrote {args.out}/gradcheck.json (exact: {doc['exact']}, {len(doc['estimators'])} settings)")
    if doc.get("report") is not None:
        print(f"report: {doc['report']}")
    return 0


#: name → (help, add_arguments(parser), func(args)) of subcommands added by features
COMMANDS = {
    "gradcheck": ("every gradient estimator against the exact gradient on one batch",
                  _gradcheck_args, _cmd_gradcheck),
}


def _compare_args(p):
    p.add_argument("scenario", help="a kind = \"train\" or \"generative\" scenario")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set a dotted scenario key before validation, e.g. training.epochs=2 (repeatable)")
    p.add_argument("--rules", default="ep_symmetric,bp,bp_ff",
                   help="comma-separated rules, e.g. ep_symmetric,hep,chl,pc,bp,bp_ff")
    p.add_argument("--seeds", type=int, default=3, help="seeds per rule (scenario seed, +1, ...)")
    p.add_argument("--out", required=True, help="directory for compare.json and one run per rule x seed")
    p.add_argument("--overwrite", action="store_true", help="replace what an earlier comparison left in OUT")
    p.add_argument("--epochs", type=int, default=None,
                   help="override training.epochs (generative: generative.steps)")
    p.add_argument("--no-grad-cosine", dest="grad_cosine", action="store_const", const=False, default=None,
                   help="do not record the cosine to the exact gradient (cos(bp); by default on for "
                        "train scenarios where the exact gradient is affordable)")
    p.add_argument("--no-plots", action="store_true", help="skip the comparison figures")
    p.add_argument("--run-plots", action="store_true", help="also draw every sub-run's figures")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _cmd_compare(args):
    from .api import compare
    from .experiments.compare import failed_runs
    doc = compare(args.scenario, args.rules, seeds=args.seeds, out=args.out, progress=not args.quiet,
                  plots=False if args.no_plots else None, run_plots=args.run_plots, epochs=args.epochs,
                  overrides=args.set, grad_cosine=args.grad_cosine, overwrite=args.overwrite)
    print(f"wrote {args.out}/compare.json")
    report = Path(args.out) / "report.html"
    if not args.no_plots and report.exists():
        print(f"report: {report}")
    _print_compare(doc)
    failed = failed_runs(doc)
    for r in failed:
        at = "before the first epoch" if r["epoch"] is None else f"after epoch {r['epoch']}"
        print(f"neurosim: {r['rule']} seed {r['seed']} {r['status']} {at}: {r['message']}", file=sys.stderr)
    if failed:
        print(f"neurosim: {len(failed)} of {len(doc['runs'])} runs did not finish; the figures are means over "
              f"the seeds that did (n in {args.out}/compare.csv)", file=sys.stderr)
        return EXIT_FAILED_RUNS
    return 0


def _fmt(v, fmt: str, scale: float = 1.0) -> str:
    """``v`` formatted, or a dash of the same width when no finished seed gave it."""
    return f"{'—':>{int(fmt.split('.')[0])}}" if v is None else format(scale * v, fmt)


def _print_compare(doc: dict) -> None:
    """The per-rule table; n = seeds that finished / seeds run."""
    rules = doc["rules"]
    if doc.get("kind") == "generative":
        print(f"{'rule':<16}{'n':>5}{'W2':>9}{'± std':>8}{'floor':>8}{'MMD':>10}{'cond acc':>10}{'train s':>9}")
        for rule, s in rules.items():
            acc = "" if s.get("conditional_accuracy") is None else f"{100 * s['conditional_accuracy']:.1f}%"
            print(f"{rule:<16}{s['n_seeds']:>2}/{s['n_runs']:<2}{_fmt(s.get('w2'), '9.4f')}"
                  f"{_fmt(s.get('w2_std'), '8.4f')}{_fmt(s.get('w2_floor'), '8.4f')}{_fmt(s.get('mmd'), '10.2e')}"
                  f"{acc:>10}{_fmt(s.get('wall_seconds'), '9.1f')}")
    else:
        print(f"{'rule':<16}{'n':>5}{'test acc %':>12}{'± std':>8}{'best %':>8}{'loss':>10}{'s/epoch':>9}"
              f"{'cos(bp)':>9}")
        for rule, s in rules.items():
            print(f"{rule:<16}{s['n_seeds']:>2}/{s['n_runs']:<2}{_fmt(s.get('test_accuracy'), '12.2f', 100)}"
                  f"{_fmt(s.get('test_accuracy_std'), '8.2f', 100)}{_fmt(s.get('best_test_accuracy'), '8.2f', 100)}"
                  f"{_fmt(s.get('train_loss'), '10.4g')}{_fmt(s.get('seconds_per_epoch'), '9.3f')}"
                  f"{_fmt(s.get('grad_cosine_to_bp'), '9.4f')}")
    print(f"total {doc['total_wall_seconds']:.1f} s")


def _generate_args(p):
    p.add_argument("run_dir", help="a kind = \"generative\" run directory (scenario.toml + checkpoint.npz)")
    p.add_argument("--n", type=int, default=1000, help="number of samples")
    p.add_argument("--sampler", default=None, help="euler, heun, ancestral, langevin (default: the scenario's)")
    p.add_argument("--steps", type=int, default=None, help="sampler steps (default: the scenario's)")
    p.add_argument("--guidance", type=float, default=None, help="classifier-free guidance weight w")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="samples file (default RUN_DIR/generate/samples.npz)")
    p.add_argument("--no-plots", action="store_true")


def _cmd_generate(args):
    from .api import generate
    info = generate(args.run_dir, n=args.n, sampler=args.sampler, steps=args.steps, out=args.out,
                    seed=args.seed, guidance=args.guidance, plot=not args.no_plots)
    extra = "".join(f", {k} {info[k]:.4g}" for k in ("w2", "conditional_accuracy") if k in info)
    if "checkpoint_step" in info:
        of = f" of {info['checkpoint_steps']}" if "checkpoint_steps" in info else ""
        print(f"sampled the weights of {info['checkpoint']}: training step {info['checkpoint_step']}{of}")
    print(f"wrote {info['samples']} ({info['n']} samples, {info['sampler']} × {info['steps']}, "
          f"{info['seconds']:.1f} s{extra})")
    if info.get("report"):
        print(f"report: {info['report']}")
    return 0


COMMANDS["generate"] = ("sample a generative run's trained network", _generate_args, _cmd_generate)
COMMANDS["compare"] = ("train one scenario under several learning rules and seeds", _compare_args, _cmd_compare)


def _sweep_args(p):
    p.add_argument("scenario", help="any scenario file (a [sweep] table in it adds to --grid)")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a dotted scenario key and its values, e.g. training.lr=0.001,0.01 (repeatable)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set a key of the base scenario first, e.g. training.epochs=2 (repeatable)")
    p.add_argument("--seeds", type=int, default=None, help="seeds per cell: seed, seed+1, ... (default 1)")
    p.add_argument("--out", required=True, help="directory for sweep.json, sweep.csv and one run per cell x seed")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None,
                       help="local worker processes, one thread each (default: the machine's cores)")
    where.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                       help="run on an existing Dask cluster instead (docs/sweeps.md)")
    p.add_argument("--retry-failed", action="store_true", help="run recorded failed runs again")
    p.add_argument("--no-plots", action="store_true", help="skip the sweep figures and report.html")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def _cmd_sweep(args):
    from .api import sweep
    try:
        doc = sweep(args.scenario, args.grid, seeds=args.seeds, out=args.out, workers=args.workers,
                    scheduler=args.scheduler, overrides=args.set, progress=not args.quiet,
                    plots=False if args.no_plots else None, retry_failed=args.retry_failed)
    except ConnectionError as err:
        print(f"neurosim: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    shown = doc["headline"][:2]
    width = max([4] + [len(c["name"]) for c in doc["cells"]]) + 2
    print(f"wrote {args.out}/sweep.json ({doc['ran']} runs, {doc['skipped']} already done, "
          f"{doc['wall_seconds']:.1f} s)")
    print(f"{'cell':<{width}}{'ok':>4}{'failed':>8}" + "".join(f"{m:>26}" for m in shown))
    for c in doc["cells"]:
        cols = "".join(f"{'—':>26}" if c["mean"].get(m) is None else
                       f"{c['mean'][m]:>16.5g} ± {c['std'][m]:<7.2g}" for m in shown)
        print(f"{c['name']:<{width}}{c['n_finished']:>4}{c['n_failed']:>8}{cols}")
        for f in c["failures"]:
            print(f"    seed {f['seed']}: {f['error']}: {f['message']}")
    return 0


COMMANDS["sweep"] = ("run a scenario over a grid of keys x seeds on local processes or a Dask cluster",
                     _sweep_args, _cmd_sweep)


class _DefaultsShown(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` shows an option's default where it says something (not for flags, required
    options or options whose absence means "the scenario's value")."""

    def _get_help_string(self, action):
        if action.required or action.default in (None, False, [], argparse.SUPPRESS):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = argparse.ArgumentParser(prog="neurosim", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"neurosim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", formatter_class=_DefaultsShown, help="run a scenario file into a run directory")
    p.add_argument("scenario")
    p.add_argument("--out", required=True, help="run directory to write (refused if it holds files, "
                                                  "unless --overwrite or --resume)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.npz")
    where.add_argument("--overwrite", action="store_true", help="replace what an earlier run left in OUT")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set a dotted scenario key before validation, e.g. training.epochs=2 (repeatable)")
    p.add_argument("--no-plots", action="store_true", help="skip plots and report.html")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("validate", formatter_class=_DefaultsShown, help="check scenario files without running them")
    p.add_argument("scenario", nargs="+")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set a dotted scenario key before validation, e.g. training.epochs=2 (repeatable)")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("plot", formatter_class=_DefaultsShown, help="redraw every figure and report.html of a run directory")
    p.add_argument("run_dir")
    p.add_argument("--x", choices=("epoch", "wall"), default="epoch",
                   help="x axis of the learning curves: epoch / step, or cumulative wall-clock seconds")
    p.set_defaults(func=_cmd_plot)

    p = sub.add_parser("list", formatter_class=_DefaultsShown, help="list the bundled scenarios")
    p.add_argument("--dir", default=None, help="folder of scenarios (default: ./scenarios)")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("bench", formatter_class=_DefaultsShown, help="engine benchmarks (block updates/s, GFLOP/s vs numpy)")
    p.add_argument("--quick", action="store_true", help="shorter measurements")
    p.set_defaults(func=_cmd_bench)

    for name, (help_text, add_args, func) in COMMANDS.items():
        p = sub.add_parser(name, formatter_class=_DefaultsShown, help=help_text)
        add_args(p)
        p.set_defaults(func=func)
    return parser




def resume_hint(command: str | None, out) -> str:
    """What ``--resume`` would continue from after an interrupted ``neurosim run --out OUT``
    (other verbs: that they keep no checkpoint and how to start again)."""
    if out is None:
        return ""
    if command in ("compare", "gradcheck"):
        return f"; {command} keeps no checkpoint: rerun it with --overwrite to start {out} afresh"
    if command != "run":
        return ""
    from .experiments.rundir import RESUMABLE
    out = Path(out)
    try:
        from .scenario.load import load_scenario
        kind = load_scenario(out / "scenario.toml")["kind"]
    except Exception:  # noqa: BLE001 - interrupted before the scenario was written
        kind = None
    if kind is not None and kind not in RESUMABLE:
        return f"; a {kind!r} run keeps no checkpoint to resume: rerun it with --overwrite"
    ckpt = out / "checkpoint.npz"
    if not ckpt.is_file():
        return f"; no checkpoint in {out} yet, so --resume would start from the beginning"
    try:
        from .experiments.rundir import read_npz
        arrays = read_npz(ckpt)
    except ValueError:
        return f"; {ckpt} is not readable, so rerun without --resume"
    for key in ("epoch", "step"):
        if key in arrays:
            return f"; --resume continues from {ckpt} (after {key} {int(arrays[key])})"
    return f"; --resume would use {ckpt}"


def _fail(state: dict, code: int, text: str) -> int:
    """Print the one-line error, unless Ctrl-C caused it (then the run ends as interrupted)."""
    if state["watch"].pressed:
        raise KeyboardInterrupt
    print(text, file=sys.stderr)
    return code


def _run(argv, state: dict) -> int:
    args = state["args"] = build_parser().parse_args(argv)
    # imported after parsing: --help and --version must not wait for numba
    from .engine.simulator import SimulationDiverged
    from .experiments.generate_options import OptionError
    from .experiments.rundir import RunDirError
    from .scenario.schema import ScenarioError
    try:
        return int(args.func(args) or 0)
    except (ScenarioError, RunDirError, OptionError, FileNotFoundError, FileExistsError, NotADirectoryError,
            ImportError) as err:
        return _fail(state, EXIT_USAGE, f"neurosim: error: {err}")
    except OSError as err:  # permission denied, read-only file system, disk full …
        where = f"{err.filename}: " if err.filename else ""
        return _fail(state, EXIT_USAGE, f"neurosim: error: {where}{err.strerror or err}")
    except SimulationDiverged as err:
        return _fail(state, EXIT_DIVERGED, f"neurosim: simulation diverged: {err}")


class _SigintWatch:
    """SIGINT handler for the duration of :func:`main`: raises KeyboardInterrupt as Python's own
    does, and remembers it was pressed. CPython drops a KeyboardInterrupt raised inside a
    finalizer or weakref callback ("Exception ignored in …"), and library code may turn one into
    another error; either way the command must still end as interrupted (130), not 0 or 1."""

    def __init__(self):
        self.pressed = 0
        self.previous = None

    def __enter__(self):
        import signal
        import threading
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self.previous = signal.signal(signal.SIGINT, self)
            self.hook = sys.unraisablehook
            sys.unraisablehook = self.unraisable
        return self

    def unraisable(self, info):
        """A dropped KeyboardInterrupt is handled here (exit 130): no "Exception ignored" trace."""
        if not (isinstance(info.exc_value, KeyboardInterrupt) and self.pressed):
            self.hook(info)

    def __call__(self, signum, frame):
        self.pressed += 1
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self.previous is not None:
            import signal
            signal.signal(signal.SIGINT, self.previous)
            sys.unraisablehook = self.hook
        return False


def _interrupted(state: dict) -> int:
    args = state.get("args")
    try:
        hint = resume_hint(getattr(args, "command", None), getattr(args, "out", None))
    except KeyboardInterrupt:  # pressed again: no hint, still no traceback
        hint = ""
    print(f"neurosim: interrupted{hint}", file=sys.stderr)
    return EXIT_INTERRUPTED


def main(argv=None) -> int:
    state: dict = {}
    with _SigintWatch() as watch:
        state["watch"] = watch
        try:  # around the imports and the parser too: Ctrl-C while numpy / numba load is still 130
            code = _run(argv, state)
        except KeyboardInterrupt:
            return _interrupted(state)
        except Exception:
            if watch.pressed:  # an error caused by the interrupt, not a fault of its own
                return _interrupted(state)
            raise
        return _interrupted(state) if watch.pressed else code


if __name__ == "__main__":
    sys.exit(main())
