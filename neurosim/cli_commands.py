"""The ``neurosim`` subcommands' bodies: each turns its parsed arguments into one call of the
Python API (:mod:`neurosim.api`) and prints what it did; :mod:`neurosim.cli` builds the parser
(the subcommands of features come from ``COMMANDS`` here) and maps errors to exit statuses. The
API is imported inside each function so that ``neurosim --help`` never waits for numba.
"""
from __future__ import annotations

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


def _fetch_args(p):
    p.add_argument("name", choices=("mnist",), help="data set to download")
    p.add_argument("--dest", default=None,
                   help="folder for the files (default: $NEUROSIM_DATA/NAME, else ~/.cache/neurosim/NAME)")
    p.add_argument("--quiet", action="store_true", help="no progress line")


def _cmd_fetch(args):
    from .api import fetch
    folder = fetch(args.name, dest=args.dest, progress=not args.quiet)
    print(f"{args.name}: {folder}")
    return 0


COMMANDS["fetch"] = ("download a data set too large to bundle (mnist: 11 MB), checksum-checked",
                     _fetch_args, _cmd_fetch)


def _resample_args(p):
    p.add_argument("run_dir", help="a finished kind = \"multitask\" run with a [multitask.sample] table")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a multitask.sample.* key, e.g. multitask.sample.warm=40 (repeatable)")
    p.add_argument("--out", default=None, help="directory for resample.json and the samples (default RUN_DIR/resample)")
    p.add_argument("--quiet", action="store_true", help="no progress bar (a bp twin trained again shows one)")


def _cmd_resample(args):
    from .api import resample
    doc = resample(args.run_dir, overrides=args.set, out=args.out, progress=not args.quiet)
    print(f"wrote {doc['out']}/resample.json")
    for key in ("sampling", "sampling_bp"):
        for w, m in doc.get(key, {}).get("guidance", {}).items():
            print(f"  {key} w = {w}: judged {100 * m['judge_accuracy']:.1f} %, diversity {m['diversity_ratio_mean']:.3f}x, "
                  f"MMD² {m['mmd2_mean']:.3f}, W2 {m['w2_mean']:.3f}, residual ≤ {m['residual_max']:.2g}")
    return 0


COMMANDS["resample"] = ("sample a finished [multitask.sample] run's lump (and bp twin) again with other "
                        "sampling options, no training", _resample_args, _cmd_resample)
