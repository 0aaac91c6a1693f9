"""Plan, run and cache the simulations behind the `dendrite_sim` dataset.

The work of a build is cut into *chunks*: `batch_size` trajectories sharing (chemistry,
protocol), taken from all splits together, so one `simulate.run_batch` call (one compiled
program per (chemistry, protocol), static settings) runs a whole chunk, vmapped over the batch
and sharded over all local devices. The last chunk of a group is padded to `batch_size` (the
padding is simulated and dropped) so that no group compiles twice. Each finished chunk is
cached as `<cache_dir>/<chemistry>-<protocol>-<index>.npz`, written to a temporary file and
renamed (`os.replace` is atomic), so:

  * a build killed half-way loses at most the chunk in flight; the next build loads the
    finished chunks instead of simulating them again;
  * many machines can fill one shared cache in parallel (`fill_cache(..., shard_index,
    num_shards)`), and a final ordinary build only assembles the records.

`cache_dir` is keyed by a hash of every setting that changes the numbers (`generation_key`), so
a changed config never reuses stale chunks. Each trajectory's noise key is
`fold_in(PRNGKey(seed), trajectory_id)`: a trajectory depends on the seed and its id only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import zipfile
from typing import Any, Callable, Iterator, Mapping, Sequence

from absl import logging
import numpy as np
import tqdm

from dendrax import files
from dendrax.data import sampling
from dendrax.data import sharding as data_sharding
from dendrax.data import schema
from dendrax.physics import parameters

SPLITS: tuple[str, ...] = ('train', 'validation', 'test', 'ood')
# Arrays of a cached chunk, besides the observables; all with a leading [batch] axis.
_FRAME_FIELDS = ('xi', 'concentration', 'potential_v')


@dataclasses.dataclass(frozen=True)
class Chunk:
  """One unit of simulation work: trajectories with the same static settings.

  Attributes:
    chemistry: index into `parameters.CHEMISTRIES`.
    protocol: index into `parameters.PROTOCOLS`.
    index: running number of the chunk within (chemistry, protocol).
    trajectory_ids: [n] int64, unique across all splits.
    splits: [n] split name of each trajectory (one of `SPLITS`).
    params: [n, 7] float64, physical units.
    pad_to: batch size of the `run_batch` call (>= n; the padding is dropped).
    dt_s: time step of the chunk's simulation; None keeps the simulation settings' dt_s
      (the builder sets one stable dt per (chemistry, protocol) group, `with_stable_dt`).
    tangents: also compute and cache the xi tangents d xi / d ln P_k of every trajectory
      (`simulate.run_batch_with_tangents`, about 20x the cost of the plain run).
  """
  chemistry: int
  protocol: int
  index: int
  trajectory_ids: np.ndarray
  splits: tuple[str, ...]
  params: np.ndarray
  pad_to: int
  dt_s: float | None = None
  tangents: bool = False

  @property
  def filename(self) -> str:
    return (f'{parameters.CHEMISTRIES[self.chemistry]}-{parameters.PROTOCOLS[self.protocol]}-'
            f'{self.index:05d}.npz')


def split_designs(sizes: Mapping[str, int], seed: int, *, ranges, ood_ranges,
                  chemistry_weights, protocol_weights
                  ) -> dict[str, tuple[np.ndarray, sampling.Design]]:
  """{split: (trajectory_ids, design)} for all `SPLITS`.

  `train`, `validation` and `test` are one Sobol design over the training box, dealt out to the
  splits by a seeded permutation (so every split covers the box); ids 0..n_in-1 are positions in
  that design. `ood` is a second Sobol design over the training box with `ood_ranges` replacing
  some ranges (outside the box), ids n_in..n_in+n_ood-1.
  """
  n_in = sizes['train'] + sizes['validation'] + sizes['test']
  kw = dict(chemistry_weights=chemistry_weights, protocol_weights=protocol_weights)
  design = sampling.sobol_design(n_in, seed, ranges=ranges, **kw)
  order = np.random.default_rng([seed, 1]).permutation(n_in)
  out = {}
  start = 0
  for split in ('train', 'validation', 'test'):
    ids = np.sort(order[start:start + sizes[split]]).astype(np.int64)
    out[split] = (ids, design.take(ids))
    start += sizes[split]
  ood_box = {**dict(ranges or {}), **dict(ood_ranges)}
  ood = sampling.sobol_design(sizes['ood'], seed + 1, ranges=ood_box, **kw)
  out['ood'] = (np.arange(n_in, n_in + sizes['ood'], dtype=np.int64), ood)
  return out


def plan_chunks(designs: Mapping[str, tuple[np.ndarray, sampling.Design]], batch_size: int
                ) -> list[Chunk]:
  """All chunks, in a fixed order: (chemistry, protocol), then trajectory id."""
  ids = np.concatenate([designs[s][0] for s in SPLITS])
  splits = np.array([s for s in SPLITS for _ in range(len(designs[s][0]))], dtype=object)
  params = np.concatenate([designs[s][1].params for s in SPLITS])
  chem = np.concatenate([designs[s][1].chemistry for s in SPLITS])
  proto = np.concatenate([designs[s][1].protocol for s in SPLITS])
  chunks = []
  for c in range(len(parameters.CHEMISTRIES)):
    for p in range(len(parameters.PROTOCOLS)):
      rows = np.flatnonzero((chem == c) & (proto == p))
      rows = rows[np.argsort(ids[rows], kind='stable')]
      for k, start in enumerate(range(0, rows.size, batch_size)):
        sel = rows[start:start + batch_size]
        chunks.append(Chunk(c, p, k, ids[sel].astype(np.int64), tuple(splits[sel]),
                            params[sel], batch_size))
  return chunks


def keep_splits(chunks: list[Chunk], splits: Sequence[str], batch_size: int) -> list[Chunk]:
  """The trajectories of `splits` only, re-chunked by `batch_size` within each (chemistry,
  protocol) group; ids, parameters and each group's dt are unchanged."""
  out = []
  groups = dict.fromkeys((c.chemistry, c.protocol) for c in chunks)
  for chem, proto in groups:
    mine = [c for c in chunks if (c.chemistry, c.protocol) == (chem, proto)]
    rows = [(i, s, p) for c in mine for i, s, p in zip(c.trajectory_ids, c.splits, c.params)
            if s in splits]
    for k, start in enumerate(range(0, len(rows), batch_size)):
      sel = rows[start:start + batch_size]
      out.append(Chunk(chem, proto, k, np.array([r[0] for r in sel], np.int64),
                       tuple(r[1] for r in sel), np.stack([r[2] for r in sel]), batch_size,
                       dt_s=mine[0].dt_s))
  return out


def generation_key(settings: Mapping[str, Any]) -> str:
  """Short stable hash of the settings that determine the simulated numbers."""
  blob = json.dumps(settings, sort_keys=True, default=repr).encode()
  return hashlib.sha256(blob).hexdigest()[:16]


def simulate_chunk(chunk: Chunk, simulation: Mapping[str, Any], seed: int,
                   devices: Sequence[Any] | None = None) -> dict[str, np.ndarray]:
  """Runs one chunk with `simulate.run_batch`, sharded over `devices` (default: all local).

  The batch is padded (repeating its last trajectory) to `chunk.pad_to` rounded up to a
  multiple of the device count; the padding is dropped from the result. Returns numpy arrays with a leading [n] axis: `xi`,
  `concentration`, `potential_v` [n, T, H, W], `time_s` [n, T], `stage` [n, T], the
  observables [n, T], `pixel_size_um` [n], `electrode_height_um` [n], `trajectory_id` [n], and
  with `chunk.tangents` `xi_tangent` [n, T, K, H, W] float16 (K = CONTINUOUS_PARAMETERS).
  """
  import jax  # pylint: disable=g-import-not-at-top
  from dendrax.physics import simulate  # pylint: disable=g-import-not-at-top

  config = simulate.SimulationConfig.from_dict({
      **dict(simulation), 'chemistry': parameters.CHEMISTRIES[chunk.chemistry],
      'protocol': parameters.PROTOCOLS[chunk.protocol],
      **({'dt_s': chunk.dt_s} if chunk.dt_s is not None else {})})
  n = len(chunk.trajectory_ids)
  devices = list(devices or jax.local_devices())
  padded = -(-max(n, chunk.pad_to) // len(devices)) * len(devices)
  pad = np.concatenate([np.arange(n), np.full(padded - n, n - 1)])
  params = np.asarray(chunk.params, np.float32)[pad]
  base = jax.random.PRNGKey(seed)
  keys = np.stack([np.asarray(jax.random.fold_in(base, int(i)))
                   for i in chunk.trajectory_ids[pad]])
  params = parameters.PhysicalParams.from_vector(params)
  if len(devices) > 1:
    # A plain Mesh (auto axes): `jax.make_mesh` gives explicit axes, under which vmap
    # rejects run_batch's static, non-array config argument.
    sharding = data_sharding.batch_sharding(data_sharding.data_mesh(devices))
    params = jax.device_put(params, sharding)
    keys = jax.device_put(keys, sharding)
  traj = jax.device_get(simulate.run_batch(params, config, keys))
  out = {f: np.asarray(getattr(traj, f), np.float32)[:n] for f in _FRAME_FIELDS}
  if chunk.tangents:
    # The frames stay those of the plain program (bit-identical to a build without tangents);
    # the jvp program's own primal differs from them by rounding amplified by growth.
    _, d_xi = jax.device_get(simulate.run_batch_with_tangents(params, config, keys))
    out['xi_tangent'] = np.swapaxes(np.asarray(d_xi), 1, 2)[:n].astype(np.float16)
  out['time_s'] = np.broadcast_to(np.asarray(traj.time_s, np.float32),
                                  (padded,) + np.shape(traj.time_s)[-1:])[:n]
  out['stage'] = np.asarray(traj.stage, np.int32)[:n]
  for k in schema.OBSERVABLE_KEYS:
    out[k] = np.asarray(traj.observables[k], np.float32)[:n]
  for k in ('pixel_size_um', 'electrode_height_um'):
    out[k] = np.broadcast_to(np.asarray(getattr(traj, k), np.float32), (padded,))[:n]
  out['trajectory_id'] = np.asarray(chunk.trajectory_ids, np.int64)
  return out


def save_atomic(path: str, arrays: Mapping[str, np.ndarray]) -> None:
  """np.savez onto `path` atomically (`files.atomic_write`: a kill leaves no half file)."""
  with files.atomic_write(path, 'wb') as f:
    np.savez(f, **arrays)


def load_chunk(path: str, chunk: Chunk) -> dict[str, np.ndarray] | None:
  """The cached arrays of `chunk`, or None if absent; raises if the file belongs to other ids."""
  if not os.path.exists(path):
    return None
  try:
    with np.load(path) as z:
      arrays = {k: z[k] for k in z.files}
  except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as e:
    raise CorruptChunkError(f'cached chunk {path} is corrupt ({type(e).__name__}: {e})') from e
  if not np.array_equal(arrays.get('trajectory_id'), chunk.trajectory_ids):
    raise ValueError(f'cached chunk {path} holds trajectory ids {arrays.get("trajectory_id")}, '
                     f'expected {chunk.trajectory_ids}; delete the cache folder and rebuild')
  return arrays


class CorruptChunkError(ValueError):
  """A cached chunk file that cannot be read; the message names the file."""


def with_stable_dt(chunks: list[Chunk], simulation: Mapping[str, Any]) -> list[Chunk]:
  """`chunks` with `dt_s` set to one stable time step per (chemistry, protocol) group.

  The explicit migration's bound 2 D / (D f E)^2 shrinks with the field, the fluidity and the
  charge number: Zn (n = 2) under voltage control at the ood split's fields needs about 0.02 s
  where Li is stable at the dataset's 0.1 s. Each group gets the largest dt that divides
  30 s and is stable for all its trajectories (`simulate.stable_time_step`), so a group is
  still one compiled program, and groups that are stable at the configured dt keep it.
  """
  from dendrax.physics import simulate  # pylint: disable=g-import-not-at-top
  dts = {}
  for group in sorted({(c.chemistry, c.protocol) for c in chunks}):
    config = simulate.SimulationConfig.from_dict({
        **dict(simulation), 'chemistry': parameters.CHEMISTRIES[group[0]],
        'protocol': parameters.PROTOCOLS[group[1]]})
    params = np.concatenate([c.params for c in chunks if (c.chemistry, c.protocol) == group])
    dts[group] = simulate.stable_time_step(params, config)
  return [dataclasses.replace(c, dt_s=dts[(c.chemistry, c.protocol)]) for c in chunks]


def chunk_results(chunks: list[Chunk], cache_dir: str, simulation: Mapping[str, Any], seed: int,
                  *, simulate_fn: Callable[..., dict] | None = None, desc: str = 'chunks',
                  plain_dirs: Sequence[str] = ()
                  ) -> Iterator[tuple[Chunk, dict[str, np.ndarray]]]:
  """Yields (chunk, arrays) for every chunk, from the cache or by simulating and caching it.

  A chunk without tangents that is missing from `cache_dir` is first looked up in
  `plain_dirs`: caches of a config with the same trajectories and no tangents (`medium` for
  `medium_tangents`), whose chunks are the same program's output. It is copied into
  `cache_dir`, so a tangent config costs only its tangent chunks once its plain twin is built.
  """
  simulate_fn = simulate_fn or simulate_chunk
  done = sum(os.path.exists(os.path.join(cache_dir, c.filename)) for c in chunks)
  if done:
    logging.info('dendrite_sim: %d of %d chunks found in %s', done, len(chunks), cache_dir)
  for chunk in tqdm.tqdm(chunks, desc=f'dendrite_sim {desc}', unit='chunk'):
    path = os.path.join(cache_dir, chunk.filename)
    try:
      arrays = load_chunk(path, chunk)
    except CorruptChunkError as e:   # set aside (named) and simulated again
      logging.warning('dendrite_sim: %s; moved to %s.corrupt and simulated again', e, path)
      os.replace(path, path + '.corrupt')
      arrays = None
    if arrays is None and not chunk.tangents:
      arrays = next((a for d in plain_dirs
                     if (a := _load_or_none(os.path.join(d, chunk.filename), chunk)) is not None),
                    None)
      if arrays is not None:
        save_atomic(path, arrays)
    if arrays is None:
      arrays = simulate_fn(chunk, simulation, seed)
      save_atomic(path, arrays)
    yield chunk, arrays


def _load_or_none(path: str, chunk: Chunk) -> dict[str, np.ndarray] | None:
  """`load_chunk`, with a corrupt file of another config's cache treated as absent (logged)."""
  try:
    return load_chunk(path, chunk)
  except CorruptChunkError as e:
    logging.warning('dendrite_sim: %s; not reused', e)
    return None


def fill_cache(chunks: list[Chunk], cache_dir: str, simulation: Mapping[str, Any], seed: int,
               *, shard_index: int = 0, num_shards: int = 1) -> int:
  """Simulates this worker's share of `chunks` (every `num_shards`-th, from `shard_index`).

  For generation on many machines sharing `cache_dir`; returns the number of chunks present.
  """
  if not 0 <= shard_index < num_shards:
    raise ValueError(f'shard_index must be in [0, num_shards={num_shards}); got {shard_index}')
  mine = chunks[shard_index::num_shards]
  return sum(1 for _ in chunk_results(mine, cache_dir, simulation, seed,
                                      desc=f'shard {shard_index}/{num_shards}'))


def bound_violations(arrays: Mapping[str, np.ndarray]) -> dict[int, str]:
  """{row: 'field: what'} for trajectories with a non-finite value or c outside its bounds
  (`simulate.concentration_violation`)."""
  out = {}
  for j in np.flatnonzero(nonfinite_rows(arrays)):
    fields = [k for k in _checked_fields(arrays) if not np.isfinite(arrays[k][j]).all()]
    out[int(j)] = f'{", ".join(fields)}: NaN/inf'
  from dendrax.physics import simulate  # pylint: disable=g-import-not-at-top
  xi, c = arrays['xi'], arrays['concentration']
  for j in range(xi.shape[0]):
    if j in out:
      continue
    problem = simulate.concentration_violation(xi[j], c[j])
    if problem:
      out[j] = problem
  return out


def _checked_fields(arrays: Mapping[str, np.ndarray]) -> tuple[str, ...]:
  return _FRAME_FIELDS + schema.OBSERVABLE_KEYS + (('xi_tangent',) if 'xi_tangent' in arrays
                                                   else ())


def nonfinite_rows(arrays: Mapping[str, np.ndarray]) -> np.ndarray:
  """[n] bool: trajectories with a NaN/inf in any field or observable."""
  bad = np.zeros(len(arrays['trajectory_id']), bool)
  for key in _checked_fields(arrays):
    a = arrays[key]
    bad |= ~np.isfinite(a.reshape(a.shape[0], -1)).all(axis=1)
  return bad


def examples_of_chunk(chunk: Chunk, arrays: Mapping[str, np.ndarray], split: str, *,
                      drop_nonfinite: bool = False, dropped: list | None = None,
                      with_tangents: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
  """(key, example) pairs of `split` in the `schema.trajectory_features` format for one chunk.

  `with_tangents`: the dataset's schema has `xi_tangent` / `has_tangents`; a chunk simulated
  without tangents gets zeros and `has_tangents` False.

  A trajectory with a non-finite value or a concentration outside its physical bounds raises
  ValueError naming its id and the field (or, with `drop_nonfinite`, is left out with a
  warning and its id appended to `dropped`).
  """
  bad = bound_violations(arrays)
  for j, tid in enumerate(chunk.trajectory_ids):
    if chunk.splits[j] != split:
      continue
    if j in bad:
      where = (f'trajectory {int(tid)} ({split}, {parameters.CHEMISTRIES[chunk.chemistry]}, '
               f'{parameters.PROTOCOLS[chunk.protocol]}, params '
               f'{dict(zip(parameters.PARAMETER_NAMES, chunk.params[j].round(4).tolist()))}): '
               f'{bad[j]}')
      if not drop_nonfinite:
        raise ValueError(f'unphysical simulation, {where}; fix the simulator or set '
                         'drop_nonfinite=True in the dendrite_sim config to drop such '
                         'trajectories')
      logging.warning('dendrite_sim: dropping %s', where)
      if dropped is not None:
        dropped.append(int(tid))
      continue
    example = {
        'trajectory_id': int(tid),
        'source': 'sim',
        'chemistry': int(chunk.chemistry),
        'protocol': int(chunk.protocol),
        'params': np.asarray(chunk.params[j], np.float32),
        'params_missing': np.zeros(parameters.NUM_PARAMETERS, np.bool_),
        'pixel_size_um': np.float32(arrays['pixel_size_um'][j]),
        'electrode_height_um': np.float32(arrays['electrode_height_um'][j]),
        'time_s': arrays['time_s'][j],
        'stage': arrays['stage'][j].astype(np.int32),
        'has_fields': True,
        **{f: arrays[f][j] for f in _FRAME_FIELDS},
        **{k: arrays[k][j] for k in schema.OBSERVABLE_KEYS},
    }
    if with_tangents:
      example.update(tangent_fields(arrays, j))
    yield int(tid), example


def tangent_fields(arrays: Mapping[str, np.ndarray], row: int) -> dict[str, Any]:
  """`xi_tangent` [T, K, H, W] float16 and `has_tangents` of one trajectory (zeros if none)."""
  if 'xi_tangent' in arrays:
    return {'xi_tangent': arrays['xi_tangent'][row].astype(np.float16), 'has_tangents': True}
  t, h, w = arrays['xi'][row].shape
  return {'xi_tangent': np.zeros((t, len(parameters.CONTINUOUS_PARAMETERS), h, w), np.float16),
          'has_tangents': False}
