"""Space-filling designs over the seven physical parameters (scrambled Sobol).

The simulated dataset draws every growth process from a scrambled Sobol sequence
(`scipy.stats.qmc.Sobol`, Owen scrambling) so that a few hundred trajectories already cover the
7-D parameter box evenly, which plain random sampling does not. Coordinate u in [0, 1) of a
Sobol point maps to physical units as

  * linear parameters:     low + u (high - low)
  * `log_scale` parameters: low (high / low)^u   (log-uniform: each decade equally likely)
  * `n_defects` (integer):  floor(u (high - low + 1)) + low, i.e. 0..8 each with probability 1/9

Chemistry and protocol are assigned in exact proportions (largest-remainder rounding of
n * w_chemistry, then of each chemistry's count * w_protocol; defaults: Li/Zn 1/2 each,
constant voltage / constant current / three-stage 1/3 each), in a seeded random order. Exact counts keep
every (chemistry, protocol) group of the simulator a whole number of batches (one compiled
program per group, no padding) when n is a multiple of 6 x batch.

Everything is a pure function of `seed`, so two builds draw identical designs.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Sequence

import numpy as np
from scipy.stats import qmc

from dendrax.physics import parameters

# Parameters that are counts, sampled as integers.
INTEGER_PARAMETERS: tuple[str, ...] = ('n_defects',)
NUM_DESIGN_DIMS = parameters.NUM_PARAMETERS   # Sobol dimensions: the 7 parameters


@dataclasses.dataclass(frozen=True)
class Design:
  """A set of `n` sampled growth processes.

  Attributes:
    params: [n, 7] float64, physical units, `parameters.PARAMETER_NAMES` order.
    chemistry: [n] int, index into `parameters.CHEMISTRIES`.
    protocol: [n] int, index into `parameters.PROTOCOLS`.
  """
  params: np.ndarray
  chemistry: np.ndarray
  protocol: np.ndarray

  def __len__(self) -> int:
    return int(self.params.shape[0])

  def take(self, idx) -> 'Design':
    """Rows `idx` (an index array) of the design."""
    return Design(self.params[idx], self.chemistry[idx], self.protocol[idx])


def parameter_box(overrides: Mapping[str, Sequence[float]] | None = None
                  ) -> dict[str, tuple[float, float]]:
  """{name: (low, high)} from `PARAMETER_SPECS`, with some ranges replaced by `overrides`.

  Raises:
    ValueError naming the field for an unknown parameter, an empty or inverted range, or a
    non-positive bound of a log-scale parameter.
  """
  box = {s.name: (float(s.low), float(s.high)) for s in parameters.PARAMETER_SPECS}
  for name, rng in dict(overrides or {}).items():
    if name not in box:
      raise ValueError(f'unknown parameter {name!r} in ranges; known: '
                       f'{", ".join(parameters.PARAMETER_NAMES)}')
    rng = tuple(float(v) for v in rng)
    if len(rng) != 2 or not all(math.isfinite(v) for v in rng):
      raise ValueError(f'range of {name} must be finite (low, high); got {rng}')
    box[name] = rng
  specs = {s.name: s for s in parameters.PARAMETER_SPECS}
  for name, (low, high) in box.items():
    if not low < high:
      raise ValueError(f'range of {name} is empty: low={low} must be < high={high} '
                       f'{specs[name].unit}')
    if specs[name].log_scale and low <= 0:
      raise ValueError(f'range of {name} is log-scale and needs low > 0; got {low}')
  return box


def _check_weights(weights: Sequence[float], field: str) -> np.ndarray:
  w = np.asarray(weights, np.float64)
  if w.ndim != 1 or w.size == 0 or not np.isfinite(w).all() or np.any(w < 0) or w.sum() <= 0:
    raise ValueError(f'{field} must be non-negative weights with a positive sum; got {weights}')
  return w / w.sum()


def _exact_counts(n: int, w: np.ndarray) -> np.ndarray:
  """Integer counts summing to n, proportional to w (largest remainder, ties to lower index)."""
  target = n * w
  counts = np.floor(target).astype(int)
  order = np.argsort(-(target - counts), kind='stable')
  counts[order[:n - counts.sum()]] += 1
  return counts


def balanced_labels(n: int, chemistry_weights: Sequence[float],
                    protocol_weights: Sequence[float], rng: np.random.Generator
                    ) -> tuple[np.ndarray, np.ndarray]:
  """([n] chemistry, [n] protocol) indices in exact proportions, shuffled by `rng`.

  Chemistry counts are exact (up to rounding) over all n; protocol counts are exact within
  each chemistry, so every (chemistry, protocol) group gets its share.
  """
  cw = _check_weights(chemistry_weights, 'chemistry_weights')
  pw = _check_weights(protocol_weights, 'protocol_weights')
  chem, proto = [], []
  for c, n_c in enumerate(_exact_counts(n, cw)):
    chem.append(np.full(n_c, c))
    proto.append(np.repeat(np.arange(pw.size), _exact_counts(int(n_c), pw)))
  order = rng.permutation(n)
  return np.concatenate(chem)[order], np.concatenate(proto)[order]


def sobol_design(n: int, seed: int, *,
                 ranges: Mapping[str, Sequence[float]] | None = None,
                 chemistry_weights: Sequence[float] = (0.5, 0.5),
                 protocol_weights: Sequence[float] = (0.25, 0.25, 0.25, 0.25)) -> Design:
  """`n` scrambled-Sobol growth processes over the parameter box (see module docstring).

  Args:
    n: number of samples (>= 0). Sobol balance is best for powers of two; any n works.
    seed: scrambling seed; the design is a pure function of (n, seed, ranges, weights).
    ranges: optional {name: (low, high)} overriding `PARAMETER_SPECS` ranges (e.g. for `ood`).
    chemistry_weights: proportions of `parameters.CHEMISTRIES` (exact up to rounding).
    protocol_weights: proportions of `parameters.PROTOCOLS` (exact up to rounding).
  """
  if int(n) != n or n < 0:
    raise ValueError(f'number of samples must be a non-negative integer; got {n}')
  n = int(n)
  if len(chemistry_weights) != len(parameters.CHEMISTRIES):
    raise ValueError(f'chemistry_weights needs {len(parameters.CHEMISTRIES)} entries '
                     f'{parameters.CHEMISTRIES}; got {chemistry_weights}')
  if len(protocol_weights) != len(parameters.PROTOCOLS):
    raise ValueError(f'protocol_weights needs {len(parameters.PROTOCOLS)} entries '
                     f'{parameters.PROTOCOLS}; got {protocol_weights}')
  box = parameter_box(ranges)
  engine = qmc.Sobol(d=NUM_DESIGN_DIMS, scramble=True, seed=np.random.default_rng(seed))
  # The first n points of a 2^m block (random_base2 never warns about unbalanced sizes).
  m = max(int(np.ceil(np.log2(max(n, 1)))), 0)
  u = engine.random_base2(m)[:n] if n else np.zeros((0, NUM_DESIGN_DIMS))
  params = np.empty((n, parameters.NUM_PARAMETERS), np.float64)
  for i, spec in enumerate(parameters.PARAMETER_SPECS):
    low, high = box[spec.name]
    if spec.name in INTEGER_PARAMETERS:
      params[:, i] = np.minimum(np.floor(low + u[:, i] * (high - low + 1)), high)
    elif spec.log_scale:
      params[:, i] = low * (high / low) ** u[:, i]
    else:
      params[:, i] = low + u[:, i] * (high - low)
  chem, proto = balanced_labels(n, chemistry_weights, protocol_weights,
                                np.random.default_rng([seed, 2]))
  return Design(params=params, chemistry=chem.astype(np.int64), protocol=proto.astype(np.int64))
