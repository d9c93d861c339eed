"""Build a scenario from Python objects instead of a TOML file: blocks and projections are
objects, as in Nengo (``with Network(): Ensemble(...); Connection(a, b)``) or Brian2
(``NeuronGroup``, ``Synapses``). The result is the same nested dict a scenario file parses to,
so it is validated by the same schema and runs the same way (``neurosim.api.run(scenario, out)``)::

    from neurosim.scenario.builder import Block, Clamp, Network, Projection, scenario

    with Network(particles=4, init_state="random") as net:
        inp = Block("input", 16)
        h1 = Block("h1", 12, activation="sigmoid4", rate=2.0)
        out = Block("out", 4, rate=1.5)
        Projection(inp, h1, gain=1.5)
        Projection(h1, out, gain=1.5)
    s = scenario(net, kind="relax", name="mine", seed=7,
                 simulation={"scheduler": "poisson", "dt": 0.05, "duration": 30.0},
                 clamps=[Clamp(inp, pattern="bars")], probes={"interval": 0.05})
    ns.run(s, "runs/mine")

Objects may stand wherever a scenario names a block (``training={"input_block": inp, ...}``):
:func:`scenario` replaces them by their names. Only the keys given are written (defaults are
filled by validation, as for a file), so ``scenario(...)`` of objects mirroring a bundled file
resolves to the same scenario as the file (``tests/test_builder.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

#: the Network a ``with Network():`` block is adding to (innermost last)
_CONTEXT: list["Network"] = []


def _given(obj, skip=()) -> dict:
    """The fields of a dataclass ``obj`` that were set (not None), as scenario keys."""
    return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)
            if f.name not in skip and not f.name.startswith("_") and getattr(obj, f.name) is not None}


def _plain(value):
    """``value`` with every builder object replaced by what a file would say (a block by its name)."""
    if isinstance(value, Block):
        return value.name
    if isinstance(value, _Entry):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays as clamp values / nudge targets
        return value.tolist()
    return value


def _register(obj) -> None:
    if _CONTEXT:
        _CONTEXT[-1].add(obj)


class _Entry:
    """An entry of a scenario table: :meth:`to_dict` gives the fields that were set, as its keys."""

    def to_dict(self) -> dict:
        return _given(self)


class _NetworkPart(_Entry):
    """A block, projection or memory: created inside ``with Network():``, it joins that network."""

    def __post_init__(self):
        _register(self)


@dataclass(eq=False)
class Block(_NetworkPart):
    """A ``[[network.blocks]]`` entry: ``size`` units of one ``activation`` (docs/scenarios.md)."""
    name: str
    size: int
    activation: str | None = None
    bias: float | None = None
    tau: float | None = None
    rate: float | None = None


@dataclass(eq=False)
class Projection(_NetworkPart):
    """A ``[[network.projections]]`` entry: the symmetric coupling W (n_pre × n_post) of two blocks."""
    pre: Block | str
    post: Block | str
    gain: float | None = None
    init: str | None = None


@dataclass(eq=False)
class Memory(_NetworkPart):
    """A ``[[network.memories]]`` entry: a modern-Hopfield memory of ``patterns`` on one block."""
    block: Block | str
    patterns: int
    beta: float | None = None
    gain: float | None = None


@dataclass(eq=False)
class Clamp(_Entry):
    """A ``[[clamps]]`` entry (kind = "relax"): hold ``block`` at ``values`` or a ``pattern``."""
    block: Block | str
    values: list | None = None
    pattern: str | None = None


@dataclass(eq=False)
class Nudge(_Entry):
    """A ``[[nudges]]`` entry (kind = "relax"): a cost pulling ``block`` toward ``target`` with λ(t)."""
    block: Block | str
    target: list
    lam: float | None = None
    cost: str | None = None
    schedule: str | None = None
    t_on: float | None = None
    period: float | None = None


@dataclass(eq=False)
class Network:
    """The ``[network]`` section as objects. Blocks, projections and memories created inside
    ``with net:`` are added to ``net``; :meth:`add`, :meth:`block` and :meth:`connect` do the same
    without a ``with``."""
    particles: int | None = None
    dtype: str | None = None
    init_state: str | None = None
    blocks: list = field(default_factory=list)
    projections: list = field(default_factory=list)
    memories: list = field(default_factory=list)

    def __enter__(self) -> "Network":
        _CONTEXT.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _CONTEXT.remove(self)

    def add(self, *objs):
        """Add blocks, projections or memories (each once); returns the last one."""
        for obj in objs:
            target = {Block: self.blocks, Projection: self.projections, Memory: self.memories}.get(type(obj))
            if target is None:
                raise TypeError(f"a Network holds Block, Projection and Memory objects, not {type(obj).__name__}")
            if not any(o is obj for o in target):
                target.append(obj)
        return objs[-1] if objs else None

    def block(self, name: str, size: int, **options) -> Block:
        """A new block in this network (``options``: activation, bias, tau, rate)."""
        return self._outside_context(Block, name, size, **options)

    def connect(self, pre, post, **options) -> Projection:
        """A new projection pre → post in this network (``options``: gain, init)."""
        return self._outside_context(Projection, pre, post, **options)

    def memory(self, block, patterns: int, **options) -> Memory:
        return self._outside_context(Memory, block, patterns, **options)

    def _outside_context(self, cls, *args, **options):
        saved = _CONTEXT[:]
        _CONTEXT.clear()  # created here, added here only, whatever ``with`` is open
        try:
            obj = cls(*args, **options)
        finally:
            _CONTEXT[:] = saved
        return self.add(obj)

    def __getitem__(self, name: str) -> Block:
        for b in self.blocks:
            if b.name == name:
                return b
        raise KeyError(f"no block {name!r} in this network; blocks: {[b.name for b in self.blocks]}")

    def to_dict(self) -> dict:
        """The ``[network]`` table a file would hold."""
        out = _given(self, skip=("blocks", "projections", "memories"))
        out["blocks"] = [b.to_dict() for b in self.blocks]
        if self.projections:
            out["projections"] = [p.to_dict() for p in self.projections]
        if self.memories:
            out["memories"] = [m.to_dict() for m in self.memories]
        return out


def scenario(network: Network, kind: str = "relax", name: str | None = None, description: str | None = None,
             seed: int | None = None, **sections) -> dict:
    """The scenario dict a TOML file with these sections would parse to: ``network`` from the
    objects, every other section (``simulation``, ``clamps``, ``training``, ``data``, ``generative``,
    ``multitask``, ``tasks`` ...) as given, with builder objects replaced by what a file says.
    Validate and run it like a file: ``neurosim.api.load`` is not needed, ``neurosim.api.run(d, out)``
    takes the dict (``neurosim.scenario.load.from_dict(d)`` gives the :class:`Scenario`)."""
    out = {"kind": kind}
    for key, value in (("name", name), ("description", description), ("seed", seed)):
        if value is not None:
            out[key] = value
    out["network"] = network.to_dict()
    out.update({k: _plain(v) for k, v in sections.items() if v is not None})
    return out
