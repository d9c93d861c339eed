"""The numba cache check (engine/kernel_cache.py): every module with kernels is hashed, and a
change to one of them clears the package's cached kernels."""
import re

from neurosim.engine import kernel_cache
from neurosim.engine.kernel_cache import KERNEL_MODULES, PACKAGE


def test_every_module_with_kernels_is_hashed():
    found = {str(p.relative_to(PACKAGE)) for p in PACKAGE.glob("**/*.py")
             if re.search(r"@(njit|intrinsic|overload)\b", p.read_text())}
    assert found == set(KERNEL_MODULES)


def test_a_changed_kernel_source_clears_the_cache(tmp_path, monkeypatch):
    pkg = tmp_path / "neurosim"
    for name in KERNEL_MODULES:
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text((PACKAGE / name).read_text())
    cache = pkg / "engine" / "__pycache__"
    cache.mkdir()
    monkeypatch.setattr(kernel_cache, "PACKAGE", pkg)
    monkeypatch.setattr(kernel_cache, "RECORD", cache / "kernel-sources.sha256")
    assert kernel_cache.refresh_kernel_cache()  # nothing recorded yet
    stale = [cache / "loops.run_events-80.py311.nbi", cache / "loops.run_events-80.py311.1.nbc",
             pkg / "model" / "__pycache__" / "activations.rho-10.py311.nbi"]
    stale[2].parent.mkdir()
    for f in stale:
        f.write_text("x")
    assert not kernel_cache.refresh_kernel_cache()  # sources unchanged: the cache stays
    assert all(f.exists() for f in stale)
    (pkg / "engine" / "drive.py").write_text((pkg / "engine" / "drive.py").read_text() + "\n# edited\n")
    assert kernel_cache.refresh_kernel_cache()
    assert not any(f.exists() for f in stale)
    assert (cache / "kernel-sources.sha256").read_text().strip() == kernel_cache.kernel_digest()
