"""Value checks of a run config that types cannot express: finiteness, ranges, model shapes.

`setup.validate_config` calls `validate_values` before any data are loaded, so a bad
`--config.key=value` fails in a second with an error naming the key, instead of training on NaN
(`train.lr=nan` used to run every step on NaN and exit 0; `train.grad_clip=nan` silently turned
clipping off) or failing inside JAX after the data load (`model.features=()`).

`check_workdir_writable` does the same for the run's folder; `with_resolved_data_dir` records
the TFDS folder a run actually reads, so evaluation scripts can find the same build later.
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import tempfile
from typing import Any, Callable, Iterator

import ml_collections

from dendrax.data import pipeline

# (key, predicate, allowed range as text) for the real-valued keys of configs/default.py.
# Upper bounds keep every term of the loss and update representable in float32 (weights near
# 3e38 made the loss inf; hypothesis found it): far above any useful value, far below overflow.
# Integer keys with ranges are checked in `setup.validate_config`.
RANGES: tuple[tuple[str, Callable[[float], bool], str], ...] = (
    ('train.lr', lambda v: 0 < v <= 10, 'in (0, 10]'),
    ('train.end_lr_factor', lambda v: 0 <= v <= 1, 'in [0, 1]'),
    ('train.weight_decay', lambda v: 0 <= v <= 1e3, 'in [0, 1000]'),
    ('train.grad_clip', lambda v: 0 <= v <= 1e6, 'in [0, 1e6] (0 disables clipping)'),
    ('train.warmup_steps', lambda v: v >= 0, '>= 0'),
    ('train.ema_decay', lambda v: 0 <= v < 1, 'in [0, 1) (0 = no moving average)'),
    ('loss.pixel_weight', lambda v: 0 <= v <= 1e6, 'in [0, 1e6]'),
    ('loss.morph_weight', lambda v: 0 <= v <= 1e6, 'in [0, 1e6]'),
    ('loss.length_weight', lambda v: 0 <= v <= 1e6, 'in [0, 1e6]'),
    ('loss.length_scale_um', lambda v: 1e-3 <= v <= 1e6, 'in [1e-3, 1e6] um'),
    ('loss.barron_scale', lambda v: 1e-6 <= v <= 1e3, 'in [1e-6, 1000]'),
    ('loss.barron_alpha', lambda v: -1e3 <= v <= 1e3, 'in [-1000, 1000]'),
    ('eval.min_delta', lambda v: 0 <= v <= 1e30, 'in [0, 1e30]'),
    ('model.film_init_scale', lambda v: 0 < v <= 1e3, 'in (0, 1000]'),
    ('model.xi_clip', lambda v: 0 < v < 0.5, 'in (0, 0.5)'),
    ('data.prefetch_threads', lambda v: 0 <= v <= 256, 'in [0, 256]'),
    ('seed', lambda v: v >= 0, '>= 0'),
)
# Tuples of layer widths: (key, fewest entries).
WIDTHS = (('model.features', 2), ('model.film_hidden', 0))


def _leaves(tree: Any, prefix: str = '') -> Iterator[tuple[str, Any]]:
  """(dotted key, value) of every leaf of a (nested) ConfigDict or dict; tuples are leaves."""
  items = tree.items() if hasattr(tree, 'items') else ()
  for key, value in items:
    name = f'{prefix}{key}'
    if isinstance(value, (ml_collections.ConfigDict, dict)):
      yield from _leaves(value, name + '.')
    else:
      yield name, value


def _get(config: ml_collections.ConfigDict, key: str) -> Any:
  value = config
  for part in key.split('.'):
    value = value[part]
  return value


def _fail(key: str, message: str) -> None:
  raise ValueError(f'config.{key}: {message}')


def _is_real(v: Any) -> bool:
  return isinstance(v, numbers.Real) and not isinstance(v, bool)


def check_finite(config: ml_collections.ConfigDict) -> None:
  """Every number in the config (also inside tuples) is finite, or ValueError naming the key."""
  for key, value in _leaves(config):
    values = value if isinstance(value, (list, tuple)) else (value,)
    for v in values:
      if _is_real(v) and not math.isfinite(float(v)):
        _fail(key, f'must be finite; got {value!r}')


def check_widths(config: ml_collections.ConfigDict) -> None:
  """`model.features` / `model.film_hidden` are tuples of positive integers (long enough)."""
  for key, fewest in WIDTHS:
    try:
      value = _get(config, key)
    except (KeyError, AttributeError):
      continue
    ok = (isinstance(value, (list, tuple)) and len(value) >= fewest and
          all(isinstance(w, numbers.Integral) and not isinstance(w, bool) and w >= 1
              for w in value))
    if not ok:
      _fail(key, f'must be a tuple of at least {fewest} positive integer widths '
                 f'(e.g. (16, 32, 64)); got {value!r}')


def check_ranges(config: ml_collections.ConfigDict) -> None:
  """The keys of `RANGES` that the config has are real numbers in their allowed range."""
  for key, ok, allowed in RANGES:
    try:
      value = _get(config, key)
    except (KeyError, AttributeError):
      continue
    if not _is_real(value):
      _fail(key, f'must be a number {allowed}; got {value!r}')
    if not ok(value):
      _fail(key, f'must be {allowed}; got {value!r}')


def validate_values(config: ml_collections.ConfigDict) -> None:
  """Finiteness, ranges and model widths; raises ValueError naming the first bad key."""
  check_finite(config)
  check_widths(config)
  check_ranges(config)


def check_workdir_writable(workdir: str) -> None:
  """Creates `workdir` and writes a probe file, or raises PermissionError naming the folder.

  Called before the data are loaded or built, so a read-only or missing mount fails at once.
  """
  try:
    os.makedirs(workdir, exist_ok=True)
    with tempfile.TemporaryFile(dir=workdir):
      pass
  except OSError as e:
    raise PermissionError(f'--workdir {workdir!r} is not writable ({e.strerror or e}); give a '
                          'folder this user can write') from e


def with_resolved_data_dir(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A copy of `config` whose `data.data_dir` is the absolute TFDS folder the run reads.

  The default (None) means $DENDRAX_DATA_DIR or ~/tensorflow_datasets *at training time*;
  recording the resolved folder in config.json and the checkpoints lets `experiments.evaluate`
  and `experiments.baselines` read the same build instead of silently simulating a new one.
  """
  config = copy.deepcopy(config)
  config.data.data_dir = os.path.abspath(pipeline.default_data_dir(config.data.data_dir))
  return config
