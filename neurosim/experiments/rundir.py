"""Writing a run directory: every file is written to a temporary name and renamed into place,
so an interrupted run never leaves a half-written file behind (docs/engine.md, "Run directories").

The run-directory housekeeping lives here too: :func:`check_out_dir` refuses an ``--out`` that is
not a neurosim run directory or cannot be written (before anything is written), and
:func:`clean_run_dir` removes what an earlier run left, so a fresh run never shows stale files.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import numpy as np

#: the files (``RUN_FILES``) and folders (``RUN_FOLDERS``) any neurosim run writes into its run
#: directory; a fresh run removes exactly these, never a file it does not know
RUN_FILES = ("scenario.toml", "network.json", "metrics.json", "traces.npz", "checkpoint.npz", "history.csv",
             "samples.npz", "inpainting.npz", "gradcheck.json", "gradients.npz", "report.html",
             "compare.json", "compare.csv", "compare_history.csv", "compare_runs.csv", "error.txt")
RUN_FOLDERS = ("plots", "generate")
#: the kinds whose runs keep a checkpoint ``--resume`` continues from
RESUMABLE = ("train", "generative", "multitask", "gradcheck")
#: what a resumed run redraws (or must not keep showing when it draws nothing)
DERIVED = ("report.html", "plots", "metrics.json", "error.txt")


class RunDirError(ValueError):
    """A run directory, or a file in it, cannot be used: ``str(err)`` is the one-line message
    (names the file); the command line exits 2."""


def _atomic_write_bytes(path: Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:  # interrupted or failed: no half-written temporary left behind
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path, text: str) -> Path:
    return _atomic_write_bytes(path, text.encode("utf-8"))


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if np.isfinite(f) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def write_json(path, obj) -> Path:
    return write_text(path, json.dumps(_jsonable(obj), indent=2, sort_keys=True) + "\n")


def write_npz(path, arrays: dict) -> Path:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return _atomic_write_bytes(path, buf.getvalue())


def write_csv(path, rows: list[dict], columns: list[str] | None = None) -> Path:
    columns = columns or (list(rows[0]) if rows else [])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row.get(k)) for k in columns})
    return write_text(path, buf.getvalue())


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return v


def read_csv(path) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: _parse(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _parse(v):
    if v == "":
        return None
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


def metrics_without_timing(metrics: dict) -> dict:
    """``metrics`` without the machine's measurements — timing keys (``*_seconds``, ``seconds*``)
    and memory keys (``*_rss_mib``) — for comparing runs."""
    if isinstance(metrics, dict):
        return {k: metrics_without_timing(v) for k, v in metrics.items()
                if not (k.endswith(("_seconds", "_rss_mib")) or k.startswith("seconds"))}
    return metrics


def read_npz(path, what: str = "checkpoint") -> dict:
    """Every array of an ``.npz`` file; a truncated or damaged file raises :class:`RunDirError`
    naming it (numpy raises BadZipFile, zlib.error, EOFError, ValueError … depending on the damage)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise RunDirError(f"{path}: no such {what}") from None
    except Exception as err:  # noqa: BLE001 - any damage is the same fault for the user
        raise RunDirError(f"{path}: not a readable {what} (truncated or damaged: "
                          f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no detail'})") from None


def is_run_dir(path) -> bool:
    """A directory some neurosim run wrote (it holds a scenario.toml)."""
    return (Path(path) / "scenario.toml").is_file()


def _writable_anchor(path: Path) -> Path:
    """``path`` or its nearest existing ancestor (where a mkdir / write would happen first)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_out_dir(out, what: str = "run") -> Path:
    """Refuse an ``--out`` a run must not write (raises :class:`RunDirError`); writes nothing.

    It must be a directory (or absent), writable, and — when it holds anything — a neurosim run
    directory (``what`` = "run") or compare directory ("compare").
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunDirError(f"{out}: exists and is not a directory; choose another --out")
    ours = is_run_dir(out) or (what == "compare" and (out / "compare.json").is_file())
    if out.is_dir() and any(out.iterdir()) and not ours:
        raise RunDirError(f"{out}: exists and is not a neurosim {what} directory; choose another --out")
    return check_writable(out)


def refuse_existing(out, overwrite: bool = False, resume: bool = False, resumable: bool = True,
                    what: str = "run") -> Path:
    """Refuse (RunDirError, exit 2, nothing written) an ``--out`` a run must not write
    (:func:`check_out_dir`: not a directory, someone else's files, not writable) and one that
    already holds an earlier run, unless ``overwrite`` (replace it) or ``resume`` (continue it)
    says what to do with it. ``resumable``: whether the verb offers ``--resume``. An empty or
    absent directory is fine."""
    out = check_out_dir(out, what)
    if overwrite or resume or not out.is_dir() or not any(out.iterdir()):
        return out
    how = "--overwrite to replace it or --resume to continue it" if resumable else "--overwrite to replace it"
    api = "overwrite=True or resume=True" if resumable else "overwrite=True"
    earlier = "comparison" if what == "compare" else "run"
    raise RunDirError(f"{out}: already holds an earlier {earlier}; pass {how} (API: {api}), "
                      "or choose another --out")


def check_writable(path) -> Path:
    """Refuse (RunDirError) a ``path`` that could not be created or written: its nearest existing
    ancestor must be a writable directory. (Root passes this on any mode bits: a read-only file
    system still fails on the first write, which the command line reports as one line.)"""
    path = Path(path)
    anchor = _writable_anchor(path)
    if not anchor.is_dir():
        raise RunDirError(f"{anchor}: is not a directory, so {path} cannot be created; choose another --out")
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise RunDirError(f"{anchor}: not writable (permission denied); choose another --out")
    return path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    tmp = path.with_name(f".{path.name}.tmp")
    if tmp.is_file():
        tmp.unlink()


def clean_run_dir(run_dir, resume: bool = False) -> list[str]:
    """Remove what an earlier run wrote into ``run_dir``: every known run file and folder for a
    fresh run, only the derived ones (report, figures, metrics) for a resumed one — a resumed
    run redraws them, and must not keep showing an older state if it does not. Unknown files
    stay. Returns the names removed."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    # scenario.toml last: a clean cut short by Ctrl-C still leaves a directory recognised as a run's
    names = DERIVED if resume else [n for n in RUN_FILES + RUN_FOLDERS if n != "scenario.toml"] + ["scenario.toml"]
    removed = []
    for name in names:
        path = run_dir / name
        if path.exists() or path.is_symlink() or path.with_name(f".{name}.tmp").exists():
            _remove(path)
            removed.append(name)
    return removed
