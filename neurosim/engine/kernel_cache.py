"""numba's on-disk cache kept consistent with the kernels' sources.

numba keys a cached kernel on its own source file only. A kernel that inlines a function from
another file (most of the engine's loops inline drive, update and vexp helpers) keeps the old
inlined code after that file changes — slower, wrong, or writing past an array whose layout
changed (seen here as heap corruption after a helper's arguments changed). Installing a new
release rewrites every file and so invalidates everything, but a working copy updated by git
changes only some files.

So on import the engine hashes the sources of every module that defines kernels and compares the
digest with the one recorded beside the cache (``engine/__pycache__/kernel-sources.sha256``);
when they differ it deletes the package's cached kernels (``*.nbi``, ``*.nbc`` under its
``__pycache__`` directories) and records the new digest. A read-only installation (numba then
caches elsewhere) is left alone.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
#: the modules that define numba kernels (tests/test_kernel_cache.py checks the list is complete)
KERNEL_MODULES = ("engine/drive.py", "engine/fastpath.py", "engine/free_energy.py", "engine/heap.py",
                  "engine/loops.py", "engine/plastic_deferred.py", "engine/plastic_loop.py",
                  "engine/plastic_rule.py", "engine/relaxation.py", "engine/update.py",
                  "engine/vexp.py", "learning/products.py", "model/activations.py")
RECORD = PACKAGE / "engine" / "__pycache__" / "kernel-sources.sha256"


def kernel_digest() -> str:
    """SHA-256 over the kernel modules' paths and contents."""
    h = hashlib.sha256()
    for name in KERNEL_MODULES:
        h.update(name.encode())
        h.update((PACKAGE / name).read_bytes())
    return h.hexdigest()


def refresh_kernel_cache() -> bool:
    """Delete the package's cached kernels if the kernel sources changed since they were
    recorded; True when it deleted (or found nothing recorded)."""
    digest = kernel_digest()
    try:
        if RECORD.read_text().strip() == digest:
            return False
    except OSError:
        pass
    if not os.access(PACKAGE, os.W_OK):
        return False
    for pattern in ("*.nbi", "*.nbc"):
        for f in PACKAGE.glob(f"**/__pycache__/{pattern}"):
            try:
                f.unlink()
            except OSError:  # another process got there first
                pass
    try:
        RECORD.parent.mkdir(exist_ok=True)
        tmp = RECORD.with_name(f"{RECORD.name}.{os.getpid()}")
        tmp.write_text(digest + "\n")
        os.replace(tmp, RECORD)
    except OSError:
        pass
    return True
