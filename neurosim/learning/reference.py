"""Exact (non-local) reference gradients, in plain numpy — the yardstick every local rule is
measured against. Nothing here calls the numba engine: this module is its independent check.

Setting and symbols (docs/reference-gradients.md). E(x; θ) is the network energy

    E(x) = Σ_b [ ½‖x_b‖² − b_bᵀ ρ(x_b) ] − Σ_(a→b) ρ(x_a)ᵀ W_ab ρ(x_b) + Σ_m E_lse,m(x_m),

θ = (W, b, K). Blocks named in ``clamped`` are held at given values (the condition / input);
the other blocks are *free*. The free fixed point x*(θ) minimises E over the free units (with
the state of ``hard_sigmoid`` blocks restricted to STATE_BOUNDS = [0, 1]); the readout block
``out`` carries the loss

    L(θ) = (1/P) Σ_p C(x*_out,p, y_p),   C = ½‖x − y‖² (``mse``) or −yᵀ log softmax(x) (``ce``).

Three references:

* :func:`implicit_gradient` — implicit differentiation at x* (the gradient EP / hEP estimate).
  With g = ∂E/∂x and H = ∂²E/∂x² over the free units, g(x*, θ) = 0 gives
  dx*/dθ = −H⁻¹ ∂g/∂θ, hence the adjoint (one linear solve per particle)

      H μ = ∂L/∂x*,        dL/dθ = −μᵀ ∂²E/∂x∂θ,

  with, summed over particles,  dL/db_b = Σ_p μ_b ⊙ ρ'(x_b),
  dL/dW_ab = Σ_p [ (μ_a ⊙ ρ'(x_a))ᵀ ρ(x_b) + ρ(x_a)ᵀ (μ_b ⊙ ρ'(x_b)) ],
  dL/dK = Σ_p [ μ sᵀ + x (β (s ⊙ Kᵀμ − s sᵀKᵀμ))ᵀ ],  s = softmax(βKᵀx)  (μ = 0 on clamped blocks).
  ``hard_sigmoid`` units that sit on a bound are constant under small changes of θ
  (strict complementarity), so their rows/columns are removed from H and μ = 0 there.
* :func:`bptt_gradient` — backprop through n synchronous relaxation steps
  x_{t+1} = Π(x_t − γ ∂E/∂x(x_t)), loss on x_n. Reverse pass with ν_t = Π'(z_t) ⊙ λ_{t+1}:

      λ_n = ∂L/∂x_n,   λ_t = ν_t − γ H(x_t) ν_t,   dL/dθ = −γ Σ_t ν_tᵀ ∂²E/∂x∂θ (x_t).

  As n → ∞ (contracting relaxation) it tends to the implicit gradient.
* :func:`feedforward_gradient` — ordinary backprop through the feed-forward view of a layered
  graph: a_0 = ρ(x_in), x_l = S(a_{l−1} W_l + b_l), a_l = ρ(x_l), cost on x_L; S clips to the
  activation's STATE_BOUNDS (identity if none). This is the ``bp_ff`` rule.

All gradients are of L with the 1/P average, returned as :class:`Params` shaped like ``params``
(biases of clamped blocks, and any parameter the loss does not depend on, get zeros).
"""
from __future__ import annotations

# the references, one idea per module; this module is their one import point
from .reference_bptt import bptt_gradient, relax, unrolled_loss  # noqa: F401
from .reference_derivatives import FreeLayout, free_blocks, hessian, hvp, mixed_vjp  # noqa: F401
from .reference_feedforward import (_layered_weights, feedforward_forward,  # noqa: F401
                                    feedforward_gradient, feedforward_loss)
from .reference_implicit import (fixed_point_loss, implicit_gradient, loss_at,  # noqa: F401
                                 projected_residual, solve_fixed_point)
