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

from .cli_commands import (COMMANDS, EXIT_DIVERGED, EXIT_FAILED_RUNS, EXIT_INTERRUPTED,  # noqa: F401
                           EXIT_USAGE, _cmd_bench, _cmd_list, _cmd_plot, _cmd_run, _cmd_validate)


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
    from .data.fetch import FetchError
    from .scenario.schema import ScenarioError
    try:
        return int(args.func(args) or 0)
    except (ScenarioError, RunDirError, OptionError, FetchError, FileNotFoundError, FileExistsError,
            NotADirectoryError, ImportError) as err:
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
