"""Normalisation statistics fitted on the `train` split only, stored as JSON with the checkpoint.

Physical parameters p (`parameters.PARAMETER_NAMES` order) are mapped to

    z_i = (g_i(p_i) - mean_i) / std_i,   g_i = ln if PARAMETER_SPECS[i].log_scale else identity,

with mean/std over the train trajectories where p_i is known. A missing parameter (flagged in
`params_missing`, or NaN) becomes z_i = 0 (the train mean) and its flag 1, so models see "unknown"
rather than a made-up value. Field maps (`concentration`, `potential_v`) are standardised with
their train mean/std; `xi` (an order parameter in [0, 1], also the prediction target) is not.

Fitting on train only keeps validation/test/ood statistics out of the model: the test suite
checks that changing the other splits does not change a fitted `Normalizer`.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Sequence

import numpy as np

from dendrax import files
from dendrax.physics import parameters

FIELD_NAMES: tuple[str, ...] = ('xi', 'concentration', 'potential_v')
# Fields passed to models unscaled (see module docstring).
UNSCALED_FIELDS: tuple[str, ...] = ('xi',)
_LOG = np.array([s.log_scale for s in parameters.PARAMETER_SPECS])
_MIN_STD = 1e-8


def transform_params(params: np.ndarray) -> np.ndarray:
  """[..., 7] physical -> [..., 7] with ln applied to log-scale parameters (NaN stays NaN)."""
  p = np.asarray(params, np.float64)
  with np.errstate(invalid='ignore', divide='ignore'):
    return np.where(_LOG, np.log(np.where(_LOG, p, 1.0)), p)


@dataclasses.dataclass(frozen=True)
class Normalizer:
  """Train-split statistics; frozen and hashable (usable as a static argument).

  Attributes:
    param_mean, param_std: 7 floats each, of the (log-)transformed parameters.
    field_mean, field_std: floats for `FIELD_NAMES`, over all train frames that have the field.
    num_trajectories: number of train trajectories the statistics came from.
  """
  param_mean: tuple[float, ...]
  param_std: tuple[float, ...]
  field_mean: tuple[float, ...]
  field_std: tuple[float, ...]
  num_trajectories: int

  def __post_init__(self):
    for name, n in (('param_mean', parameters.NUM_PARAMETERS),
                    ('param_std', parameters.NUM_PARAMETERS),
                    ('field_mean', len(FIELD_NAMES)), ('field_std', len(FIELD_NAMES))):
      value = getattr(self, name)
      if len(value) != n or not np.isfinite(np.asarray(value, np.float64)).all():
        raise ValueError(f'Normalizer.{name} must hold {n} finite numbers; got {value}')
    if min(self.param_std) <= 0 or min(self.field_std) <= 0:
      raise ValueError(f'Normalizer std must be > 0; got param_std={self.param_std}, '
                       f'field_std={self.field_std}')

  @classmethod
  def fit(cls, train_source: Any, *, max_examples: int | None = None) -> 'Normalizer':
    """Statistics of a random-access source of schema trajectories (the `train` split).

    Args:
      train_source: supports len() and [i] -> schema dict (e.g. `pipeline.load_source(...)`).
      max_examples: use only this many trajectories, evenly spaced (None: all).
    """
    n = len(train_source)
    if n == 0:
      raise ValueError('cannot fit a Normalizer on an empty train source')
    count = n if max_examples is None else max(1, min(n, int(max_examples)))
    idx = np.unique(np.linspace(0, n - 1, count).round().astype(int))
    values = []
    sums = np.zeros((len(FIELD_NAMES), 3))   # count, sum, sum of squares (float64)
    for i in idx:
      ex = train_source[int(i)]
      p = transform_params(ex['params'])
      p[np.asarray(ex['params_missing'], bool)] = np.nan
      values.append(p)
      for k, name in enumerate(FIELD_NAMES):
        if name != 'xi' and not bool(ex['has_fields']):
          continue
        f = np.asarray(ex[name], np.float64)
        f = f[np.isfinite(f)]
        sums[k] += (f.size, f.sum(), np.square(f).sum())
    values = np.stack(values)
    known = np.isfinite(values)
    cnt = known.sum(0)
    mean = np.where(cnt > 0, np.nansum(values, 0) / np.maximum(cnt, 1), 0.0)
    var = np.where(cnt > 0, np.nansum(np.square(values - mean), 0) / np.maximum(cnt, 1), 1.0)
    fmean = np.where(sums[:, 0] > 0, sums[:, 1] / np.maximum(sums[:, 0], 1), 0.0)
    fvar = np.where(sums[:, 0] > 0,
                    sums[:, 2] / np.maximum(sums[:, 0], 1) - np.square(fmean), 1.0)
    std = lambda v: tuple(float(s) if s > _MIN_STD else 1.0 for s in np.sqrt(np.maximum(v, 0)))
    return cls(param_mean=tuple(float(m) for m in mean), param_std=std(var),
               field_mean=tuple(float(m) for m in fmean), field_std=std(fvar),
               num_trajectories=len(idx))

  def normalize_params(self, params, missing=None) -> tuple[np.ndarray, np.ndarray]:
    """([..., 7] z-scores, [..., 7] float32 missing flags); missing entries give z = 0."""
    p = transform_params(params)
    flag = ~np.isfinite(p)
    if missing is not None:
      flag |= np.asarray(missing, bool)
    z = (p - np.asarray(self.param_mean)) / np.asarray(self.param_std)
    return np.where(flag, 0.0, z).astype(np.float32), flag.astype(np.float32)

  def denormalize_params(self, z) -> np.ndarray:
    """Inverse of `normalize_params` for known entries: [..., 7] z -> physical units."""
    g = np.asarray(z, np.float64) * np.asarray(self.param_std) + np.asarray(self.param_mean)
    return np.where(_LOG, np.exp(g), g)

  def normalize_field(self, name: str, values) -> np.ndarray:
    """Standardised field map (float32); `UNSCALED_FIELDS` are returned unchanged."""
    if name not in FIELD_NAMES:
      raise ValueError(f'unknown field {name!r}; known: {FIELD_NAMES}')
    v = np.asarray(values, np.float32)
    if name in UNSCALED_FIELDS:
      return v
    k = FIELD_NAMES.index(name)
    return ((v - self.field_mean[k]) / self.field_std[k]).astype(np.float32)

  def to_dict(self) -> dict[str, Any]:
    """Plain-JSON dictionary, with the parameter and field names for readers."""
    return {'parameter_names': list(parameters.PARAMETER_NAMES),
            'log_scale': [bool(v) for v in _LOG],
            'field_names': list(FIELD_NAMES),
            'param_mean': list(self.param_mean), 'param_std': list(self.param_std),
            'field_mean': list(self.field_mean), 'field_std': list(self.field_std),
            'num_trajectories': self.num_trajectories}

  def to_json(self) -> str:
    return json.dumps(self.to_dict(), indent=1)

  @classmethod
  def from_dict(cls, d: dict[str, Any]) -> 'Normalizer':
    """Inverse of `to_dict`; raises ValueError if the names differ from this version's."""
    for key, expect in (('parameter_names', parameters.PARAMETER_NAMES),
                        ('field_names', FIELD_NAMES)):
      if tuple(d.get(key, ())) != tuple(expect):
        raise ValueError(f'Normalizer {key} {d.get(key)} do not match {list(expect)}')
    missing = {'param_mean', 'param_std', 'field_mean', 'field_std', 'num_trajectories'} - set(d)
    if missing:
      raise ValueError(f'Normalizer JSON lacks field(s) {sorted(missing)}')
    tup = lambda v: tuple(float(x) for x in v)
    return cls(param_mean=tup(d['param_mean']), param_std=tup(d['param_std']),
               field_mean=tup(d['field_mean']), field_std=tup(d['field_std']),
               num_trajectories=int(d['num_trajectories']))

  @classmethod
  def from_json(cls, text: str) -> 'Normalizer':
    return cls.from_dict(json.loads(text))

  def save(self, path: str) -> None:
    """Writes JSON atomically (`files.write_text`)."""
    files.write_text(path, self.to_json())

  @classmethod
  def load(cls, path: str) -> 'Normalizer':
    with open(path) as f:
      return cls.from_json(f.read())


def one_hot(index, size: int) -> np.ndarray:
  """[..., size] float32 one-hot of integer `index`; out-of-range (e.g. -1 unknown) gives zeros."""
  index = np.asarray(index)
  return (index[..., None] == np.arange(size)).astype(np.float32)


def chemistry_one_hot(chemistry) -> np.ndarray:
  return one_hot(chemistry, len(parameters.CHEMISTRIES))


def stage_one_hot(stage) -> np.ndarray:
  return one_hot(stage, len(parameters.STAGES))


def param_vector_names() -> Sequence[str]:
  """Names of the 7 normalised-parameter entries of `cond`, for reports."""
  return tuple(f'{n}{" (ln)" if log else ""}' for n, log in zip(parameters.PARAMETER_NAMES, _LOG))
