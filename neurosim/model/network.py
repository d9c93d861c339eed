"""The network as a description: a networkx graph of neuron blocks joined by projections.

Nothing here simulates. A :class:`Network` names blocks (nodes) and projections (directed
edges pre → post; the energy coupling is symmetric, the direction only fixes the shape of
W_ab as (n_pre, n_post)), plus optional modern-Hopfield memory terms on single blocks.
:meth:`Network.init_params` draws the initial parameters from a seed; :func:`neurosim.build.build`
compiles description + parameters into flat arrays for the engine.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from .activations import ACTIVATIONS


@dataclass(frozen=True)
class Block:
    """A group of ``size`` units sharing an activation ρ, a time constant τ and an update rate.

    ``bias`` is the initial value of every b_i of the block; ``rate`` is the mean number of
    updates per unit of simulated time under the ``poisson`` scheduler.
    """

    name: str
    size: int
    activation: str = "hard_sigmoid"
    bias: float = 0.0
    tau: float = 1.0
    rate: float = 1.0


@dataclass(frozen=True)
class Projection:
    """Symmetric coupling −ρ(x_pre)ᵀ W ρ(x_post) between two blocks; W has shape (n_pre, n_post).

    Initialisation ``init``: ``glorot`` draws U(−a, a) with a = gain·√(6 / (n_pre + n_post));
    ``normal`` draws N(0, (gain / √n_pre)²); ``zeros`` gives W = 0.
    """

    pre: str
    post: str
    gain: float = 1.0
    init: str = "glorot"

    @property
    def name(self) -> str:
        return f"{self.pre}->{self.post}"


@dataclass(frozen=True)
class Memory:
    """Modern-Hopfield (log-sum-exp) energy term on one block, with K of shape (n, n_patterns).

    E_lse(x) = −(1/β) log Σ_μ exp(β K_μᵀ x); its negative gradient K softmax(β Kᵀx) pulls the state
    toward the stored patterns K_μ (one retrieval step of Ramsauer 2020 at dt = τ).
    """

    block: str
    n_patterns: int
    beta: float = 1.0
    gain: float = 1.0


INITS = ("glorot", "normal", "zeros")
PARAM_KINDS = ("weights", "biases", "memories")


@dataclass
class Params:
    """Trainable parameters by name: W per projection, b per block, K per memory block."""

    weights: dict[str, np.ndarray] = field(default_factory=dict)
    biases: dict[str, np.ndarray] = field(default_factory=dict)
    memories: dict[str, np.ndarray] = field(default_factory=dict)

    def copy(self) -> "Params":
        return Params({k: v.copy() for k, v in self.weights.items()},
                      {k: v.copy() for k, v in self.biases.items()},
                      {k: v.copy() for k, v in self.memories.items()})

    def items(self):
        """(kind, name, array) for every parameter, in a fixed order."""
        for k in sorted(self.weights):
            yield "weights", k, self.weights[k]
        for k in sorted(self.biases):
            yield "biases", k, self.biases[k]
        for k in sorted(self.memories):
            yield "memories", k, self.memories[k]

    # -- arithmetic: every estimator and reference combines parameter trees with these ----------
    def map(self, fn, *others: "Params") -> "Params":
        """A new tree with fn(a, b, …) applied to each array and the same-named arrays of
        ``others`` (weights, biases and memories alike)."""
        return Params(*({k: fn(v, *(getattr(o, kind)[k] for o in others)) for k, v in getattr(self, kind).items()}
                        for kind in PARAM_KINDS))

    def __add__(self, other: "Params") -> "Params":
        return self.map(lambda a, b: a + b, other)

    def __sub__(self, other: "Params") -> "Params":
        return self.map(lambda a, b: a - b, other)

    def scale(self, c) -> "Params":
        """c·θ for a scalar c (real or complex)."""
        return self.map(lambda a: c * a)

    def real(self) -> "Params":
        """Re θ as float64 (estimates from complex states)."""
        return self.map(lambda a: np.real(a).astype(np.float64))

    def zeros(self) -> "Params":
        """A tree of zeros shaped like this one."""
        return self.map(np.zeros_like)


class Network:
    """A graph of :class:`Block` nodes and :class:`Projection` edges (a ``networkx.DiGraph``)."""

    def __init__(self) -> None:
        self.graph = nx.DiGraph()
        self.memories: dict[str, Memory] = {}

    # -- construction -------------------------------------------------------------------------
    def add_block(self, name: str, size: int, activation: str = "hard_sigmoid", bias: float = 0.0,
                  tau: float = 1.0, rate: float = 1.0) -> Block:
        if name in self.graph:
            raise ValueError(f"block {name!r} already exists")
        if int(size) <= 0:
            raise ValueError(f"block {name!r}: size must be a positive integer, got {size!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"block {name!r}: unknown activation {activation!r}; "
                             f"expected one of {sorted(ACTIVATIONS)}")
        if tau <= 0 or rate <= 0:
            raise ValueError(f"block {name!r}: tau and rate must be positive")
        block = Block(name, int(size), activation, float(bias), float(tau), float(rate))
        self.graph.add_node(name, block=block)
        return block

    def add_projection(self, pre: str, post: str, gain: float = 1.0, init: str = "glorot") -> Projection:
        for b in (pre, post):
            if b not in self.graph:
                raise ValueError(f"projection {pre}->{post}: unknown block {b!r}")
        if pre == post:
            raise ValueError(f"projection {pre}->{post}: a block cannot project onto itself "
                             "(the Hopfield energy needs zero self-coupling)")
        if self.graph.has_edge(pre, post) or self.graph.has_edge(post, pre):
            raise ValueError(f"projection {pre}->{post}: these blocks are already coupled")
        if init not in INITS:
            raise ValueError(f"projection {pre}->{post}: unknown init {init!r}; expected one of {INITS}")
        proj = Projection(pre, post, float(gain), init)
        self.graph.add_edge(pre, post, projection=proj)
        return proj

    def add_memory(self, block: str, n_patterns: int, beta: float = 1.0, gain: float = 1.0) -> Memory:
        if block not in self.graph:
            raise ValueError(f"memory: unknown block {block!r}")
        mem = Memory(block, int(n_patterns), float(beta), float(gain))
        self.memories[block] = mem
        return mem

    # -- views --------------------------------------------------------------------------------
    @property
    def blocks(self) -> list[Block]:
        """Blocks in insertion order (this order fixes block ids and buffer offsets)."""
        return [self.graph.nodes[n]["block"] for n in self.graph.nodes]

    @property
    def projections(self) -> list[Projection]:
        return [d["projection"] for _, _, d in self.graph.edges(data=True)]

    def block(self, name: str) -> Block:
        return self.graph.nodes[name]["block"]

    def block_names(self) -> list[str]:
        return list(self.graph.nodes)

    def neighbours(self, name: str) -> list[str]:
        return sorted(set(self.graph.successors(name)) | set(self.graph.predecessors(name)))

    def colour_classes(self) -> list[list[str]]:
        """Partition of the blocks into classes with no projection inside a class.

        For a layered (bipartite) graph this is the even/odd split; otherwise a greedy colouring
        (largest-first, deterministic) of the undirected graph.
        """
        und = self.graph.to_undirected()
        if nx.is_bipartite(und):
            colours = {}
            for comp in nx.connected_components(und):
                start = min(comp, key=self.block_names().index)
                for node, depth in nx.single_source_shortest_path_length(und, start).items():
                    colours[node] = depth % 2
        else:
            colours = nx.greedy_color(und, strategy="largest_first")
        order = self.block_names()
        n = max(colours.values(), default=-1) + 1
        return [[b for b in order if colours[b] == c] for c in range(n)]

    @classmethod
    def from_spec(cls, spec: dict) -> "Network":
        """The network described by a scenario's validated ``[network]`` table."""
        net = cls()
        for b in spec["blocks"]:
            net.add_block(b["name"], b["size"], b["activation"], b["bias"], b["tau"], b["rate"])
        for p in spec["projections"]:
            net.add_projection(p["pre"], p["post"], p["gain"], p["init"])
        for m in spec.get("memories", []):
            net.add_memory(m["block"], m["patterns"], m["beta"], m["gain"])
        return net

    def chain(self, first: str, last: str) -> list[str] | None:
        """The blocks as a chain first → … → last, or None if the graph is not such a chain."""
        und = self.graph.to_undirected()
        if not nx.is_connected(und) or any(d > 2 for _, d in und.degree()) or und.number_of_edges() != len(und) - 1:
            return None
        try:
            path = nx.shortest_path(und, first, last)
        except nx.NetworkXNoPath:
            return None
        return path if len(path) == len(und) else None

    # -- parameters ---------------------------------------------------------------------------
    def init_params(self, rng: np.random.Generator) -> Params:
        """Draw W for every projection (in insertion order), b for every block, K for memories."""
        params = Params()
        for proj in self.projections:
            n_a, n_b = self.block(proj.pre).size, self.block(proj.post).size
            if proj.init == "glorot":
                a = proj.gain * np.sqrt(6.0 / (n_a + n_b))
                w = rng.uniform(-a, a, size=(n_a, n_b))
            elif proj.init == "normal":
                w = rng.normal(0.0, proj.gain / np.sqrt(n_a), size=(n_a, n_b))
            else:
                w = np.zeros((n_a, n_b))
            params.weights[proj.name] = w
        for block in self.blocks:
            params.biases[block.name] = np.full(block.size, block.bias)
        for name, mem in self.memories.items():
            n = self.block(name).size
            params.memories[name] = rng.normal(0.0, mem.gain / np.sqrt(n), size=(n, mem.n_patterns))
        return params
