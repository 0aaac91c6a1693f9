"""The grain input pipeline: TFDS array_record sources -> next-state batches and rollouts.

Any dendrax dataset (`dendrite_sim/*`, `dendrite_vasp`, `dendrite_lit`), or a mix of them named
'a+b+...', is opened as a random-access source with `load_source` (TFDS `as_data_source`, no
TensorFlow; split expressions such as 'train[:20%]+validation[:20%]' allowed) and turned into

  * `next_state_batches`: shuffled batches of (input frames at t, conditioning, xi at t + h)
    pairs for training the UNet on one 30 s step (h = 1 frame by default);
  * `rollout_examples`: whole trajectories for autoregressive evaluation.

The conditioning vector of a step (`COND_SIZE` = 20 entries, in this order):
normalised params (7) | params_missing flags (7) | chemistry one-hot (2, `CHEMISTRIES`) |
stage one-hot of the target frame (3, `STAGES`; zeros if unknown) | horizon in units of 30 s (1).

Order is a pure function of `seed` (grain's index shuffle, per-epoch reseeded), augmentation
draws come from grain's per-example rng, so two runs with one seed give identical batches.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Iterator, Sequence

import grain
import numpy as np
import tensorflow_datasets as tfds

from dendrax.data import augmentation
from dendrax.data import normalization
from dendrax.data import schema
from dendrax.data import sources
from dendrax.physics import coefficients
from dendrax.physics import parameters

# Dataset name (before '/config') -> module whose import registers its TFDS builder.
BUILDER_MODULES: dict[str, str] = {
    'dendrite_sim': 'data_builders.dendrite_sim',
    'dendrite_vasp': 'data_builders.dendrite_vasp',
    'dendrite_lit': 'data_builders.dendrite_lit',
}
DATA_DIR_ENV = 'DENDRAX_DATA_DIR'
DEFAULT_INPUT_FIELDS: tuple[str, ...] = ('xi',)
COND_SIZE = (2 * parameters.NUM_PARAMETERS + len(parameters.CHEMISTRIES)
             + len(parameters.STAGES) + 1)


class MissingSplitError(ValueError):
  """A split that no dataset of `dataset` (one dataset or a mix) has.

  Attributes: `dataset` (the name asked for), `split` (the part of the split expression whose
  split is missing, e.g. 'ood' or 'test[:50%]'), `available` (sorted splits of the dataset, or
  of any dataset of the mix). A ValueError, so callers that only report it need not know the
  class; `train.loop` catches it to skip rollout splits that real-data datasets lack.
  """

  def __init__(self, dataset: str, split: str, expression: str, available: Sequence[str]):
    self.dataset, self.split, self.available = dataset, split, tuple(sorted(available))
    where = f' (in {expression!r})' if expression != split else ''
    super().__init__(f'dataset {dataset!r} has no split {split!r}{where}; splits: '
                     f'{list(self.available)}')


def default_data_dir(data_dir: str | None = None) -> str:
  """`data_dir`, else $DENDRAX_DATA_DIR, else ~/tensorflow_datasets."""
  return os.path.expanduser(data_dir or os.environ.get(DATA_DIR_ENV)
                            or '~/tensorflow_datasets')


def register_builder(name: str) -> None:
  """Imports the module that registers the builder of dataset `name` ('base' or 'base/config')."""
  base = name.split('/')[0].split(':')[0]
  if base not in BUILDER_MODULES:
    raise ValueError(f'unknown dataset {name!r}; known: {sorted(BUILDER_MODULES)}')
  module = BUILDER_MODULES[base]
  try:
    importlib.import_module(module)
  except ModuleNotFoundError as e:
    if e.name is not None and module.startswith(e.name):
      raise ValueError(f'dataset {name!r} needs the builder module {module}, which is not '
                       'available in this checkout') from e
    raise


def load_builder(name: str, data_dir: str | None = None) -> tfds.core.DatasetBuilder:
  """The TFDS builder of dataset `name` (array_record files under `default_data_dir(data_dir)`)."""
  register_builder(name)
  return tfds.builder(name, data_dir=default_data_dir(data_dir), file_format='array_record')


def dataset_names(name: str) -> tuple[str, ...]:
  """The datasets of `name`: one ('dendrite_sim/small') or a mix joined by '+'.

  Raises ValueError for an empty part, a repeated dataset or more than `sources.MAX_MIX`.
  """
  names = tuple(n.strip() for n in name.split('+'))
  if not all(names) or len(set(names)) != len(names) or len(names) > sources.MAX_MIX:
    raise ValueError(f'dataset name {name!r} must be one dataset or up to {sources.MAX_MIX} '
                     "distinct datasets joined by '+', e.g. 'dendrite_sim/small+dendrite_lit'")
  return names


def split_parts(split: str) -> tuple[str, ...]:
  """The '+'-joined parts of a TFDS split expression ('train[:20%]+validation' -> 2 parts).

  Raises ValueError (TFDS's message) when the expression does not parse.
  """
  tfds.core.ReadInstruction.from_spec(split)
  return tuple(p.strip() for p in split.split('+'))


def base_split(part: str) -> str:
  """'train' of 'train[:20%]'."""
  return part.split('[')[0].strip()


def _prepared_builder(name: str, data_dir: str | None,
                      build_if_missing: bool) -> tfds.core.DatasetBuilder:
  builder = load_builder(name, data_dir)
  if not builder.is_prepared():
    if not build_if_missing:
      raise FileNotFoundError(f'dataset {name!r} is not (completely) built in '
                              f'{builder.data_dir}; build it or pass build_if_missing=True')
    builder.download_and_prepare(file_format='array_record')
  return builder


def _check_frame_sizes(names: Sequence[str], builders: Sequence[Any]) -> None:
  """Raises ValueError unless every dataset of a mix has frames of one size."""
  sizes = {n: tuple(b.info.features['xi'].shape[1:]) for n, b in zip(names, builders)}
  if len(set(sizes.values())) > 1:
    raise ValueError('datasets of a mix must have frames of equal size (H, W); got ' +
                     ', '.join(f'{n}: {s}' for n, s in sizes.items()))


def load_source(name: str, split: str, data_dir: str | None = None,
                build_if_missing: bool = True) -> Any:
  """Random-access source (len, [i] -> schema dict) of one split of a dendrax dataset or mix.

  Args:
    name: e.g. 'dendrite_sim/tiny', 'dendrite_sim/small', 'dendrite_vasp', or a mix
      'dendrite_sim/small+dendrite_vasp/li+dendrite_lit' (`dataset_names`). A mix is the
      concatenation, in that order, of the split of each dataset; a dataset without the split
      contributes nothing; trajectory ids of the k-th dataset become k * 2**60 + id
      (`sources.mix_trajectory_id`) so they stay distinct; frames must have one size.
    split: 'train', 'validation', 'test', 'ood', or a TFDS split expression such as
      'train[:10]' or 'train[:20%]+train[40%:]+validation[:20%]+validation[40%:]'.
    data_dir: TFDS data dir (default: $DENDRAX_DATA_DIR or ~/tensorflow_datasets).
    build_if_missing: generate the dataset if no complete build exists. TFDS marks a build
      complete only at its end (the folder is renamed from `incomplete.*`), so an interrupted
      build is never read: it is either rebuilt (resuming from cached chunks) or refused.

  Raises:
    FileNotFoundError if a dataset is not built and `build_if_missing` is False;
    MissingSplitError (a ValueError) for a split no dataset has; ValueError for an unknown
    dataset or frames of unequal size.
  """
  names = dataset_names(name)
  parts = split_parts(split)
  builders = [_prepared_builder(n, data_dir, build_if_missing) for n in names]
  _check_frame_sizes(names, builders)
  have = [set(b.info.splits) for b in builders]
  unknown = [p for p in parts if not any(base_split(p) in h for h in have)]
  if unknown:
    raise MissingSplitError(name, unknown[0], split, set().union(*have))
  if len(names) == 1:
    return builders[0].as_data_source(split=split)
  pieces = []
  for k, (builder, splits) in enumerate(zip(builders, have)):
    own = [p for p in parts if base_split(p) in splits]
    if own:
      pieces.append(sources.offset_ids(builder.as_data_source(split='+'.join(own)), k))
  return sources.ConcatSource(pieces)


def in_memory(source: Any, keys: Sequence[str] | None = None) -> list[dict[str, Any]]:
  """Every example of `source` decoded once into a list (itself a valid source).

  Each next-state pair otherwise decodes its whole trajectory again (all frames and fields);
  for datasets that fit in RAM (`small`: 112 train trajectories x 0.4 MB) this makes reading
  several times faster. `keys` keeps only those features (e.g. drop unused fields).
  """
  out = []
  for i in range(len(source)):
    ex = source[i]
    out.append({k: ex[k] for k in keys} if keys is not None else dict(ex))
  return out


def fit_normalizer(name: str, data_dir: str | None = None, *, max_examples: int | None = None,
                   build_if_missing: bool = True) -> normalization.Normalizer:
  """`Normalizer` fitted on the `train` split of dataset `name` (and on nothing else)."""
  return normalization.Normalizer.fit(
      load_source(name, 'train', data_dir, build_if_missing=build_if_missing),
      max_examples=max_examples)


def trajectory_summary(source: Any) -> tuple[np.ndarray, np.ndarray]:
  """[N] frame counts and [N] `has_tangents` flags of a source's trajectories, one read of each."""
  counts, has_tangents = [], []
  for i in range(len(source)):
    example = source[i]
    counts.append(len(example['time_s']))
    has_tangents.append(bool(example.get('has_tangents', False)))
  return np.asarray(counts, np.int64), np.asarray(has_tangents, bool)


def pairs_from_frame_counts(frame_counts: Sequence[int], max_horizon: int = 1) -> np.ndarray:
  """[N, 3] int64 rows (trajectory index, t, h) of all next-state pairs, 1 <= h <= max_horizon."""
  if max_horizon < 1:
    raise ValueError(f'max_horizon must be >= 1 frame; got {max_horizon}')
  rows = [(i, t, h) for i, num_frames in enumerate(frame_counts)
          for h in range(1, max_horizon + 1) for t in range(int(num_frames) - h)]
  return np.asarray(rows, np.int64).reshape(-1, 3)


def pair_index(source: Any, max_horizon: int = 1) -> np.ndarray:
  """`pairs_from_frame_counts` of `source` (frame counts may differ between trajectories)."""
  return pairs_from_frame_counts(trajectory_summary(source)[0], max_horizon)


def _check_fields(input_fields: Sequence[str]) -> tuple[str, ...]:
  fields = tuple(input_fields)
  bad = [f for f in fields if f not in normalization.FIELD_NAMES]
  if not fields or bad:
    raise ValueError(f'input_fields must be a non-empty subset of {normalization.FIELD_NAMES}; '
                     f'got {list(input_fields)}')
  return fields


def frame_channels(example: dict, normalizer: normalization.Normalizer,
                   input_fields: Sequence[str], frames=slice(None)) -> np.ndarray:
  """[T', H, W, C] normalised input channels of `example[...][frames]`; missing maps are 0."""
  channels = []
  for name in input_fields:
    if name != 'xi' and not bool(example['has_fields']):
      channels.append(np.zeros_like(np.asarray(example['xi'][frames], np.float32)))
    else:
      channels.append(normalizer.normalize_field(name, example[name][frames]))
  return np.stack(channels, axis=-1)


def step_cond(example: dict, normalizer: normalization.Normalizer, t_target, horizon_frames
              ) -> np.ndarray:
  """[..., COND_SIZE] conditioning of steps ending at frames `t_target` (see module docstring).

  `horizon_frames` [...] is the step length in units of 30 s (from `time_s` when known).
  """
  z, missing = normalizer.normalize_params(example['params'], example['params_missing'])
  t_target = np.asarray(t_target)
  shape = t_target.shape
  stage = np.asarray(example['stage'])[t_target]
  parts = [np.broadcast_to(z, shape + z.shape), np.broadcast_to(missing, shape + missing.shape),
           np.broadcast_to(normalization.chemistry_one_hot(example['chemistry']),
                           shape + (len(parameters.CHEMISTRIES),)),
           normalization.stage_one_hot(stage),
           np.asarray(horizon_frames, np.float32)[..., None] * np.ones(shape + (1,), np.float32)]
  return np.concatenate(parts, axis=-1).astype(np.float32)


def _horizon(time_s: np.ndarray, t: int, h: int) -> float:
  dt = float(time_s[t + h] - time_s[t])
  return dt / schema.FRAME_INTERVAL_S if np.isfinite(dt) and dt > 0 else float(h)


def make_pair(example: dict, t: int, h: int, normalizer: normalization.Normalizer,
              input_fields: Sequence[str], tangent_direction: int | None = None
              ) -> dict[str, np.ndarray]:
  """One next-state example (unbatched shapes of `next_state_batches`); with a
  `tangent_direction` also its `jump_tangents`."""
  pair = {
      'inputs': frame_channels(example, normalizer, input_fields, t),
      'target': np.asarray(example['xi'][t + h], np.float32)[..., None],
      'cond': step_cond(example, normalizer, t + h, _horizon(example['time_s'], t, h)),
      'trajectory_id': np.int64(example['trajectory_id']),
      't_index': np.int32(t),
      'horizon': np.int32(h),
      'pixel_size_um': np.float32(example['pixel_size_um']),
      'electrode_height_um': np.float32(example['electrode_height_um']),
      'target_length_um': np.float32(example['length_um'][t + h]),
      **jump_charge(example, t, h),
  }
  if tangent_direction is not None:
    pair.update(jump_tangents(example, t, h, tangent_direction))
  return pair


def jump_tangents(example: dict, t: int, h: int, direction: int) -> dict[str, np.ndarray]:
  """What the derivative-informed term (`dendrax/train/derivative_loss.py`) needs for the jump
  t -> t + h along parameter direction `direction` (index into CONTINUOUS_PARAMETERS): the
  simulator's d xi / d ln P of the input frame (`input_tangents` [1, H, W, 1]; xi enters the
  model unscaled) and of the target (`tangents` [1, H, W, 1]), and `tangent_onehot` [K], the
  direction as a one-hot, all zeros where the example stores no tangents (`has_tangents`)."""
  k = len(parameters.CONTINUOUS_PARAMETERS)
  if not 0 <= direction < k:
    raise ValueError(f'tangent direction must be in [0, {k}); got {direction}')
  if 'xi_tangent' not in example:
    raise ValueError('the derivative-informed term needs a dataset with stored tangents '
                     '(feature xi_tangent, e.g. dendrite_sim/small_tangents); this example has '
                     f'none (trajectory {int(example["trajectory_id"])})')
  tangent = np.asarray(example['xi_tangent'], np.float32)[:, direction]   # [T, H, W]
  has = bool(example['has_tangents'])
  onehot = np.zeros(k, np.float32)
  onehot[direction] = float(has)
  return {'input_tangents': tangent[t][None, ..., None] * has,
          'tangents': tangent[t + h][None, ..., None] * has,
          'tangent_onehot': onehot}


def jump_charge(example: dict, t: int, h: int) -> dict[str, np.float32]:
  """What Faraday's law needs for the jump t -> t + h (`dendrax/train/physics_loss.py`): the
  charge passed, C/m^2 (NaN where the dataset has no charge, e.g. images), and n F c_s 1e-6 of
  the example's chemistry, C/m^2 per um of metal. A source without the observable counts as
  unknown charge."""
  chemistry = coefficients.CHEMISTRIES[parameters.CHEMISTRIES[int(example['chemistry'])]]
  if 'charge_c_per_m2' not in example:
    passed = np.nan
  else:
    charge = np.asarray(example['charge_c_per_m2'], np.float64)
    passed = charge[t + h] - charge[t]
  return {'charge_passed_c_per_m2': np.float32(passed),
          'charge_per_um_c_m2': np.float32(chemistry.charge_per_um_c_m2)}


def charge_thickness_px(example: dict) -> np.ndarray:
  """[T] the charge passed since t = 0 as the thickness of metal it deposits, in cells:
  charge / (n F c_s dx) (`physics_loss.charge_thickness_px`); NaN where the dataset has no
  charge. What `evaluation.score`'s `faraday_error` compares each predicted jump with."""
  if 'charge_c_per_m2' not in example:
    return np.full(len(example['time_s']), np.nan)
  chemistry = coefficients.CHEMISTRIES[parameters.CHEMISTRIES[int(example['chemistry'])]]
  return (np.asarray(example['charge_c_per_m2'], np.float64)
          / (chemistry.charge_per_um_c_m2 * float(example['pixel_size_um'])))


def next_state_dataset(source: Any, normalizer: normalization.Normalizer, *, batch_size: int,
                       seed: int, input_fields: Sequence[str] = DEFAULT_INPUT_FIELDS,
                       augment: Any = False, num_epochs: int | None = 1,
                       drop_remainder: bool = True, shuffle: bool = True,
                       max_horizon: int = 1, tangents: bool = False,
                       tangent_share: float = 0.0) -> grain.MapDataset:
  """The grain `MapDataset` behind `next_state_batches` (random access: ds[i] is batch i)."""
  fields = _check_fields(input_fields)
  aug = augmentation.AugmentConfig.from_any(augment)
  if batch_size < 1:
    raise ValueError(f'batch_size must be >= 1; got {batch_size}')
  if num_epochs is not None and num_epochs < 1:
    raise ValueError(f'num_epochs must be >= 1 or None (forever); got {num_epochs}')
  frame_counts, has_tangents = trajectory_summary(source)
  index = pairs_from_frame_counts(frame_counts, max_horizon)
  if len(index) == 0:
    raise ValueError('source has no trajectory with two or more frames: no next-state pairs')

  def load(row, rng: np.random.Generator):
    i, t, h = (int(v) for v in row)
    ex = make_pair(source[i], t, h, normalizer, fields)
    mirror, offset = False, 0
    if aug.enabled:
      mirror, offset = augmentation.sample_transform(aug, ex['inputs'].shape[-2], rng)
    if tangents:   # drawn after the augmentation: the data-only batches stay as they were
      ex.update(jump_tangents(source[i], t, h,
                              int(rng.integers(len(parameters.CONTINUOUS_PARAMETERS)))))
    for key in ('inputs', 'target', 'input_tangents', 'tangents'):
      if key in ex and aug.enabled:
        ex[key] = augmentation.apply_transform(ex[key], mirror, offset)
    return ex

  def batches(rows: np.ndarray, size: int, epochs: int | None, seed: int) -> grain.MapDataset:
    ds = grain.MapDataset.source(rows)
    if shuffle:
      ds = ds.shuffle(seed=seed)
    ds = ds.repeat(epochs)
    ds = ds.random_map(load, seed=seed + 1)
    return ds.batch(size, drop_remainder=drop_remainder)

  if not tangent_share:
    return batches(index, batch_size, num_epochs, seed)
  if not tangents:
    raise ValueError(f'tangent_share={tangent_share} is for the derivative-informed term: it '
                     'needs tangents=True')
  keep = has_tangents[index[:, 0]]
  with_tangents, without = index[keep], index[~keep]
  per_batch = tangent_pairs_per_batch(batch_size, tangent_share)
  if len(with_tangents) == 0 or len(without) == 0:
    raise ValueError(f'tangent_share={tangent_share} needs pairs with and without stored '
                     f'tangents; this source has {len(with_tangents)} and {len(without)}')
  plain = batches(without, batch_size - per_batch, num_epochs, seed)
  recycled = batches(with_tangents, per_batch, None, seed + 2)
  n = min(len(plain), len(recycled))   # both unbounded when num_epochs is None
  return grain.experimental.ZipMapDataset([recycled[:n], plain[:n]]).map(_interleave_batches)


def tangent_pairs_per_batch(batch_size: int, tangent_share: float) -> int:
  """How many of a batch's `batch_size` pairs come from trajectories with stored tangents when
  a fixed `tangent_share` is asked for: the nearest count, at least 1 and at most B - 1."""
  if not 0 < tangent_share < 1:
    raise ValueError(f'tangent_share must be in (0, 1) (0 = pairs as they come); got '
                     f'{tangent_share}')
  if batch_size < 2:
    raise ValueError(f'a fixed tangent_share needs batch_size >= 2; got {batch_size}')
  return int(min(max(round(batch_size * tangent_share), 1), batch_size - 1))


def _interleave_batches(parts: tuple[dict, dict]) -> dict:
  """One batch from the two, their rows spread evenly (so each device's shard gets its share)."""
  sizes = [len(p['trajectory_id']) for p in parts]
  position = np.concatenate([(np.arange(n) + 0.5) / n for n in sizes])
  order = np.argsort(position, kind='stable')
  return {key: np.concatenate([p[key] for p in parts])[order] for key in parts[0]}


def next_state_batches(source: Any, normalizer: normalization.Normalizer, *, batch_size: int,
                       seed: int, input_fields: Sequence[str] = DEFAULT_INPUT_FIELDS,
                       augment: Any = False, num_epochs: int | None = 1,
                       drop_remainder: bool = True, shuffle: bool = True,
                       max_horizon: int = 1, tangents: bool = False,
                       tangent_share: float = 0.0) -> Iterator[dict[str, np.ndarray]]:
  """Iterator of numpy batches of next-state pairs.

  Args:
    source: random-access schema source (`load_source`).
    normalizer: fitted on train (`Normalizer.fit`).
    batch_size: B.
    seed: shuffling and augmentation seed; same seed -> same batches.
    input_fields: channels of `inputs` from ('xi', 'concentration', 'potential_v').
    augment: False/None, True (mirror + shift in x), a mapping {'mirror_x': .., 'shift_x': ..}
      or `augmentation.AugmentConfig`.
    num_epochs: passes over all pairs; None repeats forever.
    drop_remainder: drop the last incomplete batch.
    shuffle: False keeps source order (trajectory, then t).
    max_horizon: pairs (t, t + h) for h = 1..max_horizon frames (the contract's default is 1).
    tangents: add `jump_tangents` along one parameter direction per pair, drawn uniformly from
      the example's rng (needs a dataset with `xi_tangent`).
    tangent_share: 0 draws pairs as they come; in (0, 1), each batch holds
      `tangent_pairs_per_batch` pairs from trajectories with stored tangents, recycled as often
      as needed, and the rest from those without (an epoch is one pass over the latter). Where
      few trajectories carry tangents (`medium_tangents`: 48 of 986) a batch of 32 otherwise
      holds ~1.6 such pairs, none in ~20 % of batches, and the derivative term's relative error
      rests on one or two pairs.

  Yields:
    dicts with `inputs [B, H, W, C]`, `target [B, H, W, 1]` (xi h frames later), `cond
    [B, COND_SIZE]`, `trajectory_id [B]`, `t_index [B]`, `horizon [B]` (frames),
    `pixel_size_um [B]`, `electrode_height_um [B]`, `target_length_um [B]`,
    `charge_passed_c_per_m2 [B]` and `charge_per_um_c_m2 [B]` (`jump_charge`); with
    `tangents`, `input_tangents` and `tangents` [B, 1, H, W, 1] and `tangent_onehot` [B, K].
  """
  ds = next_state_dataset(source, normalizer, batch_size=batch_size, seed=seed,
                          input_fields=input_fields, augment=augment, num_epochs=num_epochs,
                          drop_remainder=drop_remainder, shuffle=shuffle,
                          max_horizon=max_horizon, tangents=tangents,
                          tangent_share=tangent_share)
  return iter(ds)


def rollout_example(example: dict, normalizer: normalization.Normalizer,
                    input_fields: Sequence[str] = DEFAULT_INPUT_FIELDS) -> dict[str, Any]:
  """One trajectory for autoregressive evaluation (see `rollout_examples`)."""
  fields = _check_fields(input_fields)
  time_s = np.asarray(example['time_s'], np.float32)
  num_frames = len(time_s)
  steps = np.arange(num_frames - 1)
  horizons = np.array([_horizon(time_s, int(t), 1) for t in steps], np.float32)
  return {
      'xi': np.asarray(example['xi'], np.float32),
      'fields': frame_channels(example, normalizer, fields),
      'cond': step_cond(example, normalizer, steps + 1, horizons).reshape(-1, COND_SIZE),
      'length_um': np.asarray(example['length_um'], np.float32),
      'time_s': time_s,
      'stage': np.asarray(example['stage'], np.int32),
      'pixel_size_um': np.float32(example['pixel_size_um']),
      'electrode_height_um': np.float32(example['electrode_height_um']),
      'trajectory_id': np.int64(example['trajectory_id']),
      'params': np.asarray(example['params'], np.float32),
      'params_missing': np.asarray(example['params_missing'], bool),
      'chemistry': int(example['chemistry']),
      'charge_px': charge_thickness_px(example),
  }


def rollout_examples(source: Any, normalizer: normalization.Normalizer,
                     input_fields: Sequence[str] = DEFAULT_INPUT_FIELDS) -> grain.MapDataset:
  """Whole trajectories in source order (random access; iterate for all).

  Each item: `xi [T, H, W]`, `fields [T, H, W, C]` (normalised `input_fields`), `cond
  [T-1, COND_SIZE]` (conditioning of step t -> t+1), `length_um [T]`, `time_s [T]`, `stage [T]`,
  `pixel_size_um`, `electrode_height_um`, `trajectory_id`, `params [7]` (physical units),
  `params_missing [7]`, `chemistry` (index into CHEMISTRIES), `charge_px [T]` (charge passed
  as deposit thickness in cells, `charge_thickness_px`).
  """
  fields = _check_fields(input_fields)
  return grain.MapDataset.source(source).map(
      lambda ex: rollout_example(ex, normalizer, fields))
