r"""Derivative-informed (Sobolev / DINO) loss: the surrogate's parameter derivatives against the
simulator's tangents.

References: O'Leary-Roseberry, Chen, Villa & Ghattas, "Derivative-Informed Neural Operator"
(J. Comput. Phys. 496, 2024; arXiv:2206.10745), which adds the Jacobian mismatch to the
data loss; Czarnecki et al. 2017, "Sobolev Training for Neural Networks".

**What is matched.** The simulator stores, per saved frame, the forward-mode tangents
t_k(t) = d xi(t) / d ln P_k (`jax.jvp` through the rollout) for the continuous parameters
P_k (`parameters.CONTINUOUS_PARAMETERS`, k = 0..5). The surrogate maps one frame to the next,
xi' = f(x, c) with x the input channels and c the conditioning vector, so by the chain rule its
tangent of a 30 s step is

    d xi'/d ln P_k = (df/dx) . dx/d ln P_k  +  (df/dc) . dc/d ln P_k.

With the input tangent dx/d ln P_k (the stored tangent of the input frame) this is the total
derivative and is compared with the stored tangent of the target frame; without it (zeros) it is
the partial derivative at a fixed input frame (exact only when the input frame does not depend on
P_k, e.g. the t = 0 frame). Both terms come from one `jax.linearize` of the model at (x, c),
pushed along the P directions with `vmap`.

**Chain rule through the normalisation.** The first 7 entries of c are z-scores
(`dendrax.data.normalization`, `dendrax.data.pipeline` module docstrings):

    z_k = (g_k(P_k) - mean_k) / std_k,   g_k = ln if log_scale_k else identity,

so dz_k / d ln P_k = 1 / std_k for log-scale parameters, and P_k / std_k otherwise, with
P_k = z_k std_k + mean_k recovered from c itself. The other entries of c (missing flags,
chemistry, stage, horizon) do not depend on P_k (the stage is a discrete label), so
dc/d ln P_k = e_k dz_k/d ln P_k (`cond_directions`). A parameter at P_k = 0 (a zero
concentration gradient) has a zero log-derivative in both simulator and surrogate.
Input tangents are in model-input units: xi is passed unscaled, other fields were divided by their
train std, so their tangents must be too.

**Mismatch.** Relative and per parameter, pooled over the batch so that a parameter with small
tangents still counts fully (and an example with a zero tangent cannot divide by zero):

    L_k = sum_b m_bk ||J_surr,bk - t_bk||^2 / (sum_b m_bk ||t_bk||^2 + floor^2 N_k),
    L   = mean of L_k over the parameters with sum_b m_bk > 0,

m_bk in {0, 1} says whether example b has a tangent for P_k (a documented subset of the dataset
may carry tangents), N_k = sum_b m_bk H W the number of compared pixels. `floor` (xi per unit
ln P, RMS per pixel) is the tangent size below which a parameter counts as insensitive: there
L_k becomes the absolute mean squared tangent of the surrogate over floor^2, which is what
penalises a spurious sensitivity where the simulator has none.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dendrax.physics import parameters

# Entries 0..6 of the conditioning vector are the normalised parameters (pipeline docstring).
COND_PARAM_OFFSET = 0
# The parameters that have tangents, as indices into parameters.PARAMETER_NAMES.
TANGENT_PARAMETERS: tuple[int, ...] = tuple(
    parameters.PARAMETER_NAMES.index(n) for n in parameters.CONTINUOUS_PARAMETERS)


class ParamScaling(NamedTuple):
  """The parameter normalisation as arrays: mean, std [7] and log_scale [7] (bool)."""
  mean: jax.Array
  std: jax.Array
  log_scale: jax.Array


def scaling_from_normalizer(normalizer: Any) -> ParamScaling:
  """`ParamScaling` of a `dendrax.data.normalization.Normalizer` (train-split statistics)."""
  log_scale = np.array([s.log_scale for s in parameters.PARAMETER_SPECS])
  return ParamScaling(mean=jnp.asarray(normalizer.param_mean, jnp.float32),
                      std=jnp.asarray(normalizer.param_std, jnp.float32),
                      log_scale=jnp.asarray(log_scale))


def cond_directions(cond_BxK: jax.Array, scaling: ParamScaling,
                    param_indices: tuple[int, ...] = TANGENT_PARAMETERS) -> jax.Array:
  """[B, P, K] tangents dc / d ln P_k of the conditioning vector, one per entry of param_indices.

  Row k is e_{offset + i_k} * dz/d ln P (module docstring): 1/std for log-scale parameters,
  P/std = (z std + mean)/std for the others.
  """
  idx = np.asarray(param_indices)
  z = cond_BxK[:, COND_PARAM_OFFSET + idx]                              # [B, P]
  std, mean = scaling.std[idx], scaling.mean[idx]
  dz_dlnp = jnp.where(scaling.log_scale[idx], 1.0 / std, (z * std + mean) / std)
  onehot = jax.nn.one_hot(COND_PARAM_OFFSET + idx, cond_BxK.shape[-1], dtype=cond_BxK.dtype)
  return dz_dlnp[:, :, None].astype(cond_BxK.dtype) * onehot[None]       # [B, P, K]


def surrogate_tangents(apply_fn: Callable, params: Any, inputs_BxHxWxC: jax.Array,
                       cond_BxK: jax.Array, cond_dirs_BxPxK: jax.Array,
                       input_tangents_BxPxHxWxC: jax.Array | None = None
                       ) -> tuple[jax.Array, jax.Array]:
  """(prediction [B, H, W, 1], its tangents [B, P, H, W, 1]) along the P parameter directions.

  One linearisation of `apply_fn({'params': params}, inputs, cond)`, evaluated along
  (input_tangents[:, k], cond_dirs[:, k]) for every k; input tangents default to zero (the
  partial derivative at a fixed input frame). Differentiable w.r.t. `params` (reverse over
  forward), so the loss can be trained on.
  """
  f = lambda x, c: apply_fn({'params': params}, x, c)
  pred, lin = jax.linearize(f, inputs_BxHxWxC, cond_BxK)
  if input_tangents_BxPxHxWxC is None:
    input_tangents_BxPxHxWxC = jnp.zeros(
        (inputs_BxHxWxC.shape[0], cond_dirs_BxPxK.shape[1]) + inputs_BxHxWxC.shape[1:],
        inputs_BxHxWxC.dtype)
  tangents = jax.vmap(lin, in_axes=(1, 1), out_axes=1)(input_tangents_BxPxHxWxC, cond_dirs_BxPxK)
  return pred, tangents


def relative_tangent_mismatch(pred_tangents_BxPxHxWx1: jax.Array,
                              sim_tangents_BxPxHxWx1: jax.Array,
                              mask_BxP: jax.Array | None = None, floor: float = 1e-2
                              ) -> tuple[jax.Array, jax.Array]:
  """(L, L_k [P]) of the module docstring. Parameters without any tangent in the batch give
  L_k = 0 and are left out of the mean (L = 0 when none has one)."""
  if pred_tangents_BxPxHxWx1.shape != sim_tangents_BxPxHxWx1.shape:
    raise ValueError(f'surrogate tangents {pred_tangents_BxPxHxWx1.shape} and simulator tangents '
                     f'{sim_tangents_BxPxHxWx1.shape} differ in shape (batch field tangents must '
                     'be [B, P, H, W, 1])')
  b, p = sim_tangents_BxPxHxWx1.shape[:2]
  pixels = np.prod(sim_tangents_BxPxHxWx1.shape[2:])
  m = jnp.ones((b, p), sim_tangents_BxPxHxWx1.dtype) if mask_BxP is None else mask_BxP.astype(
      sim_tangents_BxPxHxWx1.dtype)
  sim = jnp.where(m[:, :, None, None, None] > 0, sim_tangents_BxPxHxWx1, 0.0)  # NaN-safe
  axes = tuple(range(2, sim.ndim))
  err = jnp.sum(m * jnp.sum(jnp.square(pred_tangents_BxPxHxWx1 - sim), axis=axes), axis=0)
  ref = jnp.sum(m * jnp.sum(jnp.square(sim), axis=axes), axis=0)
  count = jnp.sum(m, axis=0)
  per_param = err / (ref + floor**2 * pixels * count + 1e-30)
  has = count > 0
  loss = jnp.sum(jnp.where(has, per_param, 0.0)) / jnp.maximum(jnp.sum(has), 1)
  return loss, per_param


def derivative_loss(apply_fn: Callable, params: Any, batch: Mapping[str, jax.Array],
                    scaling: ParamScaling, floor: float = 1e-2
                    ) -> tuple[jax.Array, jax.Array, dict[str, jax.Array]]:
  """(prediction, L, parts) for a batch of one-step pairs with simulator tangents.

  Batch fields read: `inputs` [B, H, W, C], `cond` [B, K], `tangents` [B, P, H, W, 1]
  (d xi_target / d ln P_k, P = len(TANGENT_PARAMETERS)), and optionally `input_tangents`
  [B, P, H, W, C] (d inputs / d ln P_k, model-input units) and `tangents_mask` [B, P].
  The prediction is the model's output on the batch, so the data loss can reuse it.
  parts: 'derivative' (L) and 'derivative/<parameter name>' (L_k).
  """
  dirs = cond_directions(batch['cond'], scaling)
  pred, tangents = surrogate_tangents(apply_fn, params, batch['inputs'], batch['cond'], dirs,
                                      batch.get('input_tangents'))
  loss, per_param = relative_tangent_mismatch(tangents, batch['tangents'],
                                              batch.get('tangents_mask'), floor)
  parts = {'derivative': loss}
  for i, k in enumerate(TANGENT_PARAMETERS):
    parts[f'derivative/{parameters.PARAMETER_NAMES[k]}'] = per_param[i]
  return pred, loss, parts


def sampled_derivative_loss(apply_fn: Callable, params: Any, batch: Mapping[str, jax.Array],
                            scaling: ParamScaling, floor: float = 1e-2
                            ) -> tuple[jax.Array, jax.Array, dict[str, jax.Array]]:
  """`derivative_loss` with one parameter direction per example, as the pipeline draws them.

  Pushing all P = 6 directions through the model costs about 20x a data-only step
  (benchmarks/loss_term_cost.py); one direction per example, drawn uniformly
  (`pipeline.jump_tangents`), subsamples the same per-parameter sums at about 1/6 of that. Batch fields: `inputs`, `cond`, `input_tangents` and `tangents` [B, 1, H, W, 1],
  and `tangent_onehot` [B, P] (the drawn direction; all zeros for an example without tangents,
  which then drops out of L_k). The per-parameter pooling of `relative_tangent_mismatch` is
  kept by placing each example's tangent in its direction's slot.
  """
  onehot = batch['tangent_onehot']
  dirs = jnp.einsum('bp,bpk->bk', onehot, cond_directions(batch['cond'], scaling))[:, None]
  # An example without tangents has a zero one-hot; any direction serves, its term is masked.
  pred, tangent = surrogate_tangents(apply_fn, params, batch['inputs'], batch['cond'], dirs,
                                     batch['input_tangents'])
  place = lambda t: onehot[:, :, None, None, None] * t            # [B, 1, ...] -> [B, P, ...]
  loss, per_param = relative_tangent_mismatch(place(tangent), place(batch['tangents']), onehot,
                                              floor)
  parts = {'derivative': loss}
  for i, k in enumerate(TANGENT_PARAMETERS):
    parts[f'derivative/{parameters.PARAMETER_NAMES[k]}'] = per_param[i]
  return pred, loss, parts
