"""Reading and writing the IDX format of MNIST (``train-images-idx3-ubyte`` and friends).

Layout: two zero bytes, a type code (0x08 = unsigned byte, …), the number of dimensions d,
then d big-endian uint32 sizes, then the data in C order (big-endian for multi-byte types).
Files ending in ``.gz`` are read and written gzip-compressed.
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
          0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CODES = {np.dtype(v).newbyteorder(">").str: k for k, v in _TYPES.items()}


def _open(path, mode):
    path = Path(path)
    return gzip.open(path, mode) if path.suffix == ".gz" else open(path, mode)


def read_idx_shape(path) -> tuple[int, ...]:
    """The array shape an IDX file's header declares (the data are not read)."""
    with _open(path, "rb") as f:
        head = f.read(4)
        if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _TYPES:
            raise ValueError(f"{path}: not an IDX file (bad magic number {head!r})")
        dims = f.read(4 * head[3])
    return tuple(int(s) for s in np.frombuffer(dims, dtype=">u4", count=head[3]))


def read_idx(path) -> np.ndarray:
    """The array stored in an IDX file (native byte order)."""
    with _open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4]!r})")
    dtype, ndim = _TYPES[raw[2]], raw[3]
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    offset = 4 + 4 * ndim
    count = int(np.prod(shape)) if shape else 1
    if len(raw) - offset != count * dtype.itemsize:
        raise ValueError(f"{path}: header says shape {shape} but the file holds "
                         f"{len(raw) - offset} data bytes")
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=offset).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def write_idx(path, array) -> None:
    """Write ``array`` as an IDX file (uint8 arrays give the MNIST type 0x08)."""
    array = np.asarray(array)
    be = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    code = _CODES.get(np.dtype(be).newbyteorder(">").str)
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    with _open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, dtype=be).tobytes())
