"""Random-access views of sources (len, [i] -> schema dict): concatenation, mapping, the ids of
a dataset mix, and parameters hidden from the model.

`pipeline.load_source` builds a mix of datasets ('a+b') as a `ConcatSource` of `offset_ids`
views; training applies `mask_parameters` for `config.data.masked_parameters`. Every view is
picklable (module-level functions under `functools.partial`), so grain can hand it to worker
processes.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np

from dendrax.physics import parameters

# Trajectory ids of the k-th dataset of a mix become k * 2**MIX_ID_BITS + id: ids stay distinct
# across the mix, the first dataset keeps its own, and hashed ids (`preprocessing.stable_id`,
# 60 bits) still fit in int64 for up to MAX_MIX datasets.
MIX_ID_BITS = 60
MAX_MIX = 8


class MapSource:
  """Random-access view of `source` with `fn(example) -> example` applied on read."""

  def __init__(self, source: Any, fn: Callable[[dict], dict]):
    self.source, self.fn = source, fn

  def __len__(self) -> int:
    return len(self.source)

  def __getitem__(self, i: int) -> dict[str, Any]:
    return self.fn(self.source[i])


class ConcatSource:
  """Random-access concatenation of sources (example i of the second follows the first's)."""

  def __init__(self, sources: Sequence[Any]):
    self.sources = list(sources)
    self.ends = np.cumsum([len(s) for s in self.sources], dtype=np.int64)

  def __len__(self) -> int:
    return int(self.ends[-1]) if len(self.ends) else 0

  def __getitem__(self, i: int) -> dict[str, Any]:
    i = int(i)
    if i < 0:
      i += len(self)
    if not 0 <= i < len(self):
      raise IndexError(f'index {i} out of range for a source of {len(self)} examples')
    k = int(np.searchsorted(self.ends, i, side='right'))
    return self.sources[k][i - (int(self.ends[k - 1]) if k else 0)]


def mix_trajectory_id(position: int, trajectory_id: int) -> int:
  """Id of trajectory `trajectory_id` of the dataset at `position` of a mix (0: unchanged)."""
  tid = int(trajectory_id)
  if not 0 <= tid < 2 ** MIX_ID_BITS:
    raise ValueError(f'trajectory_id {tid} of dataset {position} of a mix is outside '
                     f'[0, 2**{MIX_ID_BITS}); ids cannot be made distinct')
  return position * 2 ** MIX_ID_BITS + tid


def unmix_trajectory_id(trajectory_id: int) -> tuple[int, int]:
  """(position of the dataset in the mix, its own trajectory id): inverse of the above."""
  return divmod(int(trajectory_id), 2 ** MIX_ID_BITS)


def _offset_id(position: int, example: dict) -> dict:
  example = dict(example)
  example['trajectory_id'] = np.int64(mix_trajectory_id(position, example['trajectory_id']))
  return example


def offset_ids(source: Any, position: int) -> Any:
  """`source` as the dataset at `position` of a mix: ids become `mix_trajectory_id`s."""
  return MapSource(source, functools.partial(_offset_id, position)) if position else source


def parameter_mask(masked: Sequence[str]) -> np.ndarray:
  """[7] bool, True for the parameters named in `masked` (names of PARAMETER_NAMES)."""
  unknown = [m for m in masked if m not in parameters.PARAMETER_NAMES]
  if unknown:
    raise ValueError(f'masked parameter(s) {unknown}; known: {parameters.PARAMETER_NAMES}')
  return np.array([n in masked for n in parameters.PARAMETER_NAMES])


def _mask_example(flags: np.ndarray, example: dict) -> dict:
  example = dict(example)
  example['params_missing'] = np.asarray(example['params_missing'], bool) | flags
  return example


def mask_parameters(source: Any, masked: Sequence[str]) -> Any:
  """`source` with the parameters in `masked` flagged missing in every example.

  The conditioning then holds z = 0 and flag 1 for them (as `output_fns.cond_sequence(...,
  masked=...)` builds it), in `pipeline` pairs, `train.windows` and rollouts alike, and
  `Normalizer.fit` ignores them; `params` keeps the physical values for reports. Used for
  leave-one-parameter-out ablations (`config.data.masked_parameters`).
  """
  flags = parameter_mask(masked)
  if not flags.any():
    return source
  return MapSource(source, functools.partial(_mask_example, flags))
