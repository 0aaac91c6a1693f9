"""Parameter sensitivities as exact elasticities, with the paper's finite differences beside them.

Zhao et al. define the sensitivity of an output O to a parameter P_i as

    S(P_i) = (dO / O0) (P_i / dP_i),

a one-sided finite difference of O after a small relative change of P_i. Its limit is the
elasticity

    E(P_i) = d ln O / d ln P_i = (P_i / O) dO/dP_i,

which JAX gives exactly: one forward-mode pass with the tangent P_i e_i yields P_i dO/dP_i
(`jax.jvp`); `elasticities` pushes all tangents through one pass (`vmap` over the tangents, the
primal computed once), or pulls every output back with `jax.vjp` (`mode='reverse'`) when the
outputs are fewer than the parameters.

An output function here maps a `PhysicalParams` to a pytree of scalars, e.g. an observable per
charging stage (see `stage_summary`). The number of lattice defects is an integer (the simulator
rounds it), so its derivative is zero almost everywhere; its entry is always a finite difference
with a step of one defect, and is labelled as such (`DISCRETE_PARAMETERS`).
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from dendrax.physics import parameters

PhysicalParams = parameters.PhysicalParams
OutputFn = Callable[[PhysicalParams], object]   # params -> pytree of scalars

# Parameters without a derivative: entries come from finite differences of `INTEGER_STEP`.
DISCRETE_PARAMETERS: tuple[str, ...] = tuple(
    n for n in parameters.PARAMETER_NAMES if n not in parameters.CONTINUOUS_PARAMETERS)
INTEGER_STEP = 1.0
# Summary keys of `stage_summary`: the whole charge, then each charging stage.
SUMMARY_KEYS: tuple[str, ...] = ('overall',) + parameters.STAGES


def _check_names(names: Sequence[str]) -> tuple[str, ...]:
  names = tuple(names)
  unknown = [n for n in names if n not in parameters.PARAMETER_NAMES]
  if unknown:
    raise ValueError(f'unknown parameter name(s) {unknown}; known: '
                     f'{", ".join(parameters.PARAMETER_NAMES)}')
  return names


def _replace(params: PhysicalParams, name: str, value) -> PhysicalParams:
  fields = {n: getattr(params, n) for n in parameters.PARAMETER_NAMES}
  fields[name] = value
  return PhysicalParams(**fields)


def _as_float(params: PhysicalParams) -> PhysicalParams:
  return jax.tree.map(lambda x: jnp.asarray(x, jnp.result_type(float)), params)


def elasticities(fn: OutputFn, params: PhysicalParams,
                 names: Sequence[str] = parameters.CONTINUOUS_PARAMETERS, *,
                 mode: str = 'forward') -> dict[str, object]:
  """Exact elasticities d ln O / d ln P for every output leaf O of `fn` and every P in `names`.

  Args:
    fn: params -> pytree of scalar outputs (differentiable in the continuous parameters).
    params: the point of evaluation, scalar leaves.
    names: parameters to differentiate against.
    mode: 'forward' (one `jax.jvp` pass carrying all tangents; best when outputs outnumber
      parameters) or 'reverse' (`jax.vjp`, one pullback per output leaf).

  Returns:
    {name: pytree like fn's output} of elasticities. An output that is exactly zero gives NaN.
  """
  names = _check_names(names)
  params = _as_float(params)
  if mode == 'forward':
    out, d_out = _forward(fn, params, parameters.log_directions(params, names))
  elif mode == 'reverse':
    out, d_out = _reverse(fn, params, names)
  else:
    raise ValueError(f"mode must be 'forward' or 'reverse'; got {mode!r}")
  result = {}
  for i, n in enumerate(names):
    result[n] = jax.tree.map(lambda o, d, i=i: _safe_div(d[i], o), out, d_out)
  return result


def _forward(fn, params, stacked_tangents):
  """(fn(params), [K, ...] directional derivatives), the primal computed once."""
  def push(t):
    return jax.jvp(fn, (params,), (t,))
  out, d_out = jax.vmap(push, out_axes=(None, 0))(stacked_tangents)
  return out, d_out


def _reverse(fn, params, names):
  out, pullback = jax.vjp(fn, params)
  leaves, treedef = jax.tree.flatten(out)
  rows = []
  for k in range(len(leaves)):
    cot = [jnp.zeros_like(l) for l in leaves]
    cot[k] = jnp.ones_like(leaves[k])
    (g,) = pullback(jax.tree.unflatten(treedef, cot))
    rows.append(jnp.stack([getattr(g, n) * getattr(params, n) for n in names]))
  d_out = jax.tree.unflatten(treedef, rows)
  return out, d_out


def _safe_div(d, o):
  return jnp.where(o != 0, d / jnp.where(o != 0, o, 1.0), jnp.nan)


def finite_difference_elasticities(fn: OutputFn, params: PhysicalParams,
                                   names: Sequence[str] = parameters.PARAMETER_NAMES, *,
                                   rel_step: float = 1e-2, scheme: str = 'forward',
                                   integer_step: float = INTEGER_STEP,
                                   base_output=None) -> dict[str, object]:
  """The paper's S = (dO / O0)(P / dP) for each P in `names`.

  Continuous parameters move by dP = rel_step * P ('forward': O(P + dP) - O(P), the paper's
  formula; 'central': (O(P + dP) - O(P - dP)) / 2, second-order accurate). Discrete parameters
  (`DISCRETE_PARAMETERS`) always move by `integer_step` forward. A parameter at zero gets
  S = 0 (its P / dP factor vanishes), as the paper's formula says.

  Args:
    fn: params -> pytree of scalars; called 1 + (1 or 2) * len(names) times.
    base_output: fn(params) if already computed.

  Returns:
    {name: pytree like fn's output}.
  """
  names = _check_names(names)
  if scheme not in ('forward', 'central'):
    raise ValueError(f"scheme must be 'forward' or 'central'; got {scheme!r}")
  if not rel_step > 0:
    raise ValueError(f'rel_step must be > 0; got {rel_step}')
  params = _as_float(params)
  # Outputs come to the host at once; the arithmetic is numpy, so that timing this function
  # measures the runs of `fn`, not hundreds of small dispatched operations.
  host = lambda tree: jax.tree.map(lambda x: np.asarray(x, np.float64), jax.device_get(tree))
  o0 = host(fn(params) if base_output is None else base_output)
  result = {}
  for n in names:
    leaf = getattr(params, n)
    p = float(np.asarray(leaf))
    at = lambda v, n=n, leaf=leaf: _replace(params, n, jnp.asarray(v, leaf.dtype))  # same type
    if n in DISCRETE_PARAMETERS:
      dp = float(integer_step)
      diff = jax.tree.map(np.subtract, host(fn(at(p + dp))), o0)
    else:
      dp = rel_step * p
      o_plus = host(fn(at(p + dp)))
      if scheme == 'forward':
        diff = jax.tree.map(np.subtract, o_plus, o0)
      else:
        o_minus = host(fn(at(p - dp)))
        diff = jax.tree.map(lambda a, b: (a - b) / 2, o_plus, o_minus)
    ratio = p / dp if dp != 0 else 0.0
    result[n] = jax.tree.map(lambda d, o, r=ratio: _np_div(d, o) * r, diff, o0)
  return result


def _np_div(d, o):
  with np.errstate(divide='ignore', invalid='ignore'):
    return np.where(o != 0, d / np.where(o != 0, o, 1.0), np.nan)


def stage_summary(series: Mapping[str, jax.Array], stage: jax.Array, *,
                  skip_initial: bool = True) -> dict[str, dict[str, jax.Array]]:
  """Per-observable scalars for the whole charge and for each charging stage.

  'overall' is the observable at the last frame (after the full charge, the quantity the paper
  predicts); a stage's value is the mean over the frames recorded during that stage, a smooth
  summary whose elasticity is defined even for a stage of a single frame. A stage with no frames
  gives NaN (e.g. 'trickle' under a constant-voltage protocol).

  Args:
    series: {observable: [T]} time series.
    stage: [T] int, index into `parameters.STAGES` (-1 unknown), treated as fixed (no gradient).
    skip_initial: leave out frame 0 (the initial condition, before any charge) from the stages.
  """
  stage = jax.lax.stop_gradient(jnp.asarray(stage))
  out = {}
  for key, x in series.items():
    x = jnp.asarray(x)
    if x.shape != stage.shape:
      raise ValueError(f'observable {key!r} has shape {x.shape}, stage has {stage.shape}')
    valid = jnp.ones_like(stage, dtype=bool)
    if skip_initial:
      valid = valid.at[0].set(False)
    summary = {'overall': x[-1]}
    for s, name in enumerate(parameters.STAGES):
      mask = valid & (stage == s)
      count = jnp.sum(mask)
      total = jnp.sum(jnp.where(mask, x, 0.0))
      summary[name] = jnp.where(count > 0, total / jnp.maximum(count, 1), jnp.nan)
    out[key] = summary
  return out


def to_rows(values: Mapping[str, object], *, method: str, source: str) -> list[dict]:
  """Flattens {parameter: {observable: {summary: value}}} into table rows for CSV/JSON."""
  rows = []
  for param, per_obs in values.items():
    for obs, per_summary in per_obs.items():
      for summary, v in per_summary.items():
        rows.append({'source': source, 'method': method, 'parameter': param,
                     'observable': obs, 'summary': summary, 'value': float(np.asarray(v))})
  return rows


def relative_difference(a, b, *, floor: float = 1e-12) -> float:
  """max |a - b| / max(|a|, |b|, floor) over matching finite leaves of two pytrees."""
  worst = 0.0
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    if not np.any(ok):
      continue
    err = np.abs(x - y)[ok] / np.maximum(np.maximum(np.abs(x), np.abs(y))[ok], floor)
    worst = max(worst, float(np.max(err)))
  return worst
