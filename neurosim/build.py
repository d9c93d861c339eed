"""Compile a :class:`~neurosim.model.network.Network` and its parameters into flat arrays.

Layout (the idea of Nengo's builder: the engine sees only arrays):

* **state buffer** ``x`` of length P·N (N = total units). Block b owns the contiguous slice
  ``[P·off_b, P·(off_b + n_b))``, read as a C-contiguous (P, n_b) matrix, so every block's state
  is a BLAS-ready matrix without copies. ``r`` (ρ(x)) and ``g`` (the drive −∂F/∂x) share the layout.
* **weight buffer** ``w``: projection k owns ``[w_off_k, w_off_k + n_pre·n_post)`` read as
  (n_pre, n_post); memory matrices K follow the projections.
* **adjacency** per block in CSR form: ``adj_ptr[b]:adj_ptr[b+1]`` indexes rows of
  (``adj_proj``, ``adj_other``, ``adj_side``), side 0 when b is the projection's post block
  (drive += ρ(x_pre) W) and 1 when b is its pre block (drive += ρ(x_post) Wᵀ).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .model.activations import STATE_BOUNDS, activation_id
from .model.network import Network, Params

#: a block's nudge cost code in the kernels (0: not nudged)
COSTS = {"mse": 1, "ce": 2}


@dataclass
class Compiled:
    net: Network
    n_particles: int
    dtype: np.dtype
    names: list[str]
    sizes: np.ndarray        # (B,) units per block
    offsets: np.ndarray      # (B+1,) unit offsets; block b = units offsets[b]:offsets[b+1]
    act: np.ndarray          # (B,) activation ids
    tau: np.ndarray          # (B,)
    rate: np.ndarray         # (B,) poisson update rates
    lo: np.ndarray           # (B,) lower state bound (−inf if none)
    hi: np.ndarray           # (B,) upper state bound (+inf if none)
    proj_names: list[str]
    proj_pre: np.ndarray     # (K,)
    proj_post: np.ndarray    # (K,)
    w_off: np.ndarray        # (K+1,) weight-buffer offsets
    mem_block: np.ndarray    # (B,) number of memory patterns per block (0: none)
    mem_off: np.ndarray      # (B,) offset of K_b in the weight buffer
    mem_beta: np.ndarray     # (B,)
    adj_ptr: np.ndarray
    adj_proj: np.ndarray
    adj_other: np.ndarray
    adj_side: np.ndarray
    w: np.ndarray            # weight buffer (dtype)
    bias: np.ndarray         # (N,) bias buffer (dtype)
    #: idle simulators of this network, by (scheduler, dt, integrator) (engine.simulator.acquire_simulator)
    sim_pool: dict = field(default_factory=dict, repr=False, compare=False)
    #: this network for G·P particles, by G, sharing its buffers (engine.groups.grouped)
    grouped: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        #: per block, (start, stop, n) of its slice of a state-layout buffer as Python ints:
        #: views are taken several times per training batch, and numpy scalars cost there
        p = int(self.n_particles)
        self.spans = [(p * int(self.offsets[b]), p * int(self.offsets[b + 1]), int(self.sizes[b]))
                      for b in range(len(self.names))]

    @property
    def n_blocks(self) -> int:
        return len(self.names)

    @property
    def n_units(self) -> int:
        return int(self.offsets[-1])

    def index(self, block: str) -> int:
        try:
            return self.names.index(block)
        except ValueError:
            raise KeyError(f"unknown block {block!r}; blocks are {self.names}") from None

    def block_slice(self, b: int) -> slice:
        start, stop, _ = self.spans[b]
        return slice(start, stop)

    def view(self, buf: np.ndarray, block) -> np.ndarray:
        """The (P, n_b) view of block ``block`` (name or id) inside a state-layout buffer."""
        start, stop, n = self.spans[self.index(block) if isinstance(block, str) else block]
        return buf[start:stop].reshape(self.n_particles, n)

    def weight(self, k) -> np.ndarray:
        k = self.proj_names.index(k) if isinstance(k, str) else k
        n_a, n_b = self.sizes[self.proj_pre[k]], self.sizes[self.proj_post[k]]
        return self.w[self.w_off[k]:self.w_off[k + 1]].reshape(n_a, n_b)

    def memory(self, block) -> np.ndarray:
        b = self.index(block) if isinstance(block, str) else block
        n, m = int(self.sizes[b]), int(self.mem_block[b])
        return self.w[self.mem_off[b]:self.mem_off[b] + n * m].reshape(n, m)

    def bias_of(self, block) -> np.ndarray:
        b = self.index(block) if isinstance(block, str) else block
        return self.bias[self.offsets[b]:self.offsets[b + 1]]

    def new_state(self) -> np.ndarray:
        return np.zeros(self.n_particles * self.n_units, dtype=self.dtype)

    # -- parameters in and out ----------------------------------------------------------------
    def load_params(self, params: Params) -> None:
        """Copy ``params`` into the weight and bias buffers (casting to the compiled dtype)."""
        for k, name in enumerate(self.proj_names):
            self.weight(k)[...] = params.weights[name]
        for b, name in enumerate(self.names):
            self.bias_of(b)[...] = params.biases[name]
            if self.mem_block[b]:
                self.memory(b)[...] = params.memories[name]

    def params(self) -> Params:
        """The current parameters as a :class:`Params` (real parts, copied)."""
        p = Params()
        for k, name in enumerate(self.proj_names):
            p.weights[name] = np.array(self.weight(k).real, dtype=np.float64)
        for b, name in enumerate(self.names):
            p.biases[name] = np.array(self.bias_of(b).real, dtype=np.float64)
            if self.mem_block[b]:
                p.memories[name] = np.array(self.memory(b).real, dtype=np.float64)
        return p

    def with_dtype(self, dtype, n_particles: int | None = None) -> "Compiled":
        """The same network compiled for another dtype (e.g. complex128) or particle count."""
        c = build(self.net, self.params(), n_particles or self.n_particles, dtype)
        return c


def build(net: Network, params: Params, n_particles: int = 1, dtype=np.float64) -> Compiled:
    """Compile ``net`` with ``params`` for ``n_particles`` particles in ``dtype``."""
    dtype = np.dtype(dtype)
    blocks = net.blocks
    names = [b.name for b in blocks]
    bid = {n: i for i, n in enumerate(names)}
    sizes = np.array([b.size for b in blocks], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    lo = np.array([STATE_BOUNDS.get(b.activation, (-np.inf, np.inf))[0] for b in blocks])
    hi = np.array([STATE_BOUNDS.get(b.activation, (-np.inf, np.inf))[1] for b in blocks])
    projs = net.projections
    pre = np.array([bid[p.pre] for p in projs], dtype=np.int64)
    post = np.array([bid[p.post] for p in projs], dtype=np.int64)
    w_off = np.concatenate([[0], np.cumsum(sizes[pre] * sizes[post])]).astype(np.int64)
    mem_block = np.zeros(len(blocks), dtype=np.int64)
    mem_off = np.zeros(len(blocks), dtype=np.int64)
    mem_beta = np.ones(len(blocks))
    end = int(w_off[-1])
    for name, mem in net.memories.items():
        b = bid[name]
        mem_block[b], mem_off[b], mem_beta[b] = mem.n_patterns, end, mem.beta
        end += int(sizes[b]) * mem.n_patterns
    rows = []
    for k in range(len(projs)):
        rows.append((post[k], k, pre[k], 0))
        rows.append((pre[k], k, post[k], 1))
    rows.sort()
    adj_ptr = np.zeros(len(blocks) + 1, dtype=np.int64)
    for r in rows:
        adj_ptr[r[0] + 1] += 1
    adj_ptr = np.cumsum(adj_ptr)
    compiled = Compiled(
        net=net, n_particles=int(n_particles), dtype=dtype, names=names, sizes=sizes, offsets=offsets,
        act=np.array([activation_id(b.activation) for b in blocks], dtype=np.int64),
        tau=np.array([b.tau for b in blocks]), rate=np.array([b.rate for b in blocks]), lo=lo, hi=hi,
        proj_names=[p.name for p in projs], proj_pre=pre, proj_post=post, w_off=w_off,
        mem_block=mem_block, mem_off=mem_off, mem_beta=mem_beta, adj_ptr=adj_ptr,
        adj_proj=np.array([r[1] for r in rows], dtype=np.int64),
        adj_other=np.array([r[2] for r in rows], dtype=np.int64),
        adj_side=np.array([r[3] for r in rows], dtype=np.int64),
        w=np.zeros(end, dtype=dtype), bias=np.zeros(int(offsets[-1]), dtype=dtype))
    compiled.load_params(params)
    return compiled


def compiled_for(cache: dict, net: Network, params: Params, n_particles: int, dtype=np.float64) -> Compiled:
    """A compiled copy of ``net`` per (particle count, dtype), kept in ``cache`` and refreshed
    with ``params`` on every call (training loops re-use buffers instead of rebuilding per batch)."""
    key = (int(n_particles), np.dtype(dtype).str)
    c = cache.get(key)
    if c is None:
        c = cache[key] = build(net, params, n_particles, dtype)
    else:
        c.load_params(params)
    return c
