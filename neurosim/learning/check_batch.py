"""The batch a gradient check compares estimators on (docs/gradcheck.md), from the model up.

Given a network, its drawn parameters and two random streams:

* biases: b_j ← b_j + U(−s, s) on every block but ``input_block`` (s = ``bias_spread``; ``bias_rng``),
  so that the free fixed point is not the symmetric one the initial zero biases give;
* inputs: x ~ U(lo, hi)^(P × n_in) clamped on ``input_block`` (``data_rng``);
* targets: y ~ U(0, 1)^(P × n_out) for ``mse``, one-hot of a uniform class for ``ce`` (``data_rng``,
  after the inputs).

The runner (``neurosim gradcheck``) reads these pieces from the scenario; the estimator tests pass
them directly, so the learning layer's tests depend on no runner.
"""
from __future__ import annotations

import numpy as np

from ..build import build
from ..model.network import Network, Params
from .estimator_base import Problem
from .nudging import RelaxConfig


def check_problem(net: Network, params: Params, *, input_block: str, output_block: str, batch: int, cost: str,
                  input_range: tuple[float, float], bias_spread: float, relax: RelaxConfig,
                  bias_rng: np.random.Generator, data_rng: np.random.Generator) -> Problem:
    """The :class:`Problem` of one gradient-check batch on ``net``; ``params``' biases are spread
    in place (the exact gradient is taken at the same parameters)."""
    for b in net.block_names():
        if b != input_block and bias_spread > 0:
            params.biases[b] = params.biases[b] + bias_rng.uniform(-bias_spread, bias_spread,
                                                                   params.biases[b].shape)
    compiled = build(net, params, batch, np.float64)
    lo, hi = input_range
    x_in = data_rng.uniform(lo, hi, (batch, net.block(input_block).size))
    n_out = net.block(output_block).size
    target = (data_rng.uniform(0, 1, (batch, n_out)) if cost == "mse"
              else np.eye(n_out)[data_rng.integers(0, n_out, batch)])
    return Problem(compiled, {input_block: x_in}, output_block, target, cost, relax)
