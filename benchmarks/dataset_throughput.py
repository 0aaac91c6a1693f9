r"""Throughput of the simulated dataset: generation (trajectories/s) and the grain pipeline (examples/s).

  python -m benchmarks.dataset_throughput                       # both, defaults below
  python -m benchmarks.dataset_throughput --what=generation --config=medium --chemistry=Li \
      --protocol=pulse --gen_batch=8,16,32
  python -m benchmarks.dataset_throughput --what=pipeline --dataset=dendrite_sim/small

Generation: `generation.simulate_chunk` (the builder's unit of work: one `run_batch` call, vmapped
and sharded over all local devices) on one (chemistry, protocol) group of a `dendrite_sim`
config's own plan (--config: its simulation settings, its group's stable dt and its planned
parameter points, reused cyclically when the group has fewer than the calls need); without
--config, a Sobol batch under `SimulationConfig` defaults at --grid. Each batch size in
--gen_batch is timed on its own trajectories: the first call includes JIT compilation and is
reported apart; trajectories/s is from the later calls, so the sizes compare the chunk size
(`batch_size` of a config) at equal work per trajectory.

Pipeline: `pipeline.next_state_batches` (batch 32, 64 x 64, augmentation on) read from
array_record files. With --dataset it reads that built dataset; otherwise it writes a
throw-away `dendrite_sim` build whose arrays are random numbers of the real shapes (the reader
decodes the same format and sizes, the simulator is not run), so the number isolates the
pipeline. Reported: examples/s single-threaded (worker_count 0), with grain read threads, and
from `pipeline.in_memory(source)` (every trajectory decoded once into RAM).
"""

import os
import tempfile
import time

from absl import app
from absl import flags
import grain
import jax
import numpy as np
import tensorflow_datasets as tfds

import data_builders.dendrite_sim as dendrite_sim
from data_builders.dendrite_sim import generation
from dendrax.data import normalization
from dendrax.data import pipeline
from dendrax.data import sampling
from dendrax.data import schema
from dendrax.physics import parameters

_WHAT = flags.DEFINE_enum('what', 'both', ['both', 'generation', 'pipeline'], 'What to time.')
_GRID = flags.DEFINE_integer('grid', 64, 'Frame size (cells) for generation and synthetic data.')
_GEN_BATCH = flags.DEFINE_list('gen_batch', ['8'], 'Trajectories per run_batch call (a list '
                                'compares chunk sizes).')
_CONFIG = flags.DEFINE_string('config', None, 'dendrite_sim config whose plan, simulation '
                              'settings and dt to time (else defaults at --grid).')
_GEN_CALLS = flags.DEFINE_integer('gen_calls', 2, 'Timed run_batch calls after the compile.')
_CHEMISTRY = flags.DEFINE_enum('chemistry', 'Li', list(parameters.CHEMISTRIES), 'Chemistry.')
_PROTOCOL = flags.DEFINE_enum('protocol', 'constant_voltage', list(parameters.PROTOCOLS),
                              'Charging protocol.')
_DATASET = flags.DEFINE_string('dataset', None, 'Built dataset to read (else synthetic records).')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data dir of --dataset.')
_TRAJ = flags.DEFINE_integer('pipe_trajectories', 64, 'Synthetic train trajectories.')
_BATCH = flags.DEFINE_integer('batch', 32, 'Pipeline batch size.')
_BATCHES = flags.DEFINE_integer('pipe_batches', 40, 'Timed pipeline batches.')
_THREADS = flags.DEFINE_integer('threads', 2, 'grain read threads for the threaded measurement.')


def _generation_work(total: int):
  """(simulation settings, chemistry, protocol, dt_s or None, params [total, 7]) to time."""
  chem = parameters.CHEMISTRIES.index(_CHEMISTRY.value)
  proto = parameters.PROTOCOLS.index(_PROTOCOL.value)
  if _CONFIG.value is None:
    design = sampling.sobol_design(total, seed=0)
    return {'nx': _GRID.value, 'ny': _GRID.value}, chem, proto, None, design.params
  builder = tfds.builder(f'dendrite_sim/{_CONFIG.value}')
  group = [c for c in builder.chunks() if (c.chemistry, c.protocol) == (chem, proto)]
  if not group:
    raise ValueError(f'--config={_CONFIG.value} plans no {_CHEMISTRY.value}/{_PROTOCOL.value} '
                     'chunk; pick another --chemistry/--protocol')
  params = np.concatenate([c.params for c in group])
  return (builder.simulation_settings(), chem, proto, group[0].dt_s,
          params[np.arange(total) % len(params)])


def bench_generation() -> None:
  batches = [int(b) for b in _GEN_BATCH.value]
  calls = _GEN_CALLS.value + 1
  sim, chem, proto, dt_s, params = _generation_work(calls * sum(batches))
  where = f'--config={_CONFIG.value}' if _CONFIG.value else 'SimulationConfig defaults'
  print(f'generation: {where}, grid {sim["nx"]}x{sim["ny"]}, {_CHEMISTRY.value}/'
        f'{_PROTOCOL.value}, dt {dt_s or "default"} s, on {jax.local_device_count()} '
        f'{jax.default_backend()} device(s)')
  start_row, per_trajectory = 0, {}
  for n in batches:
    times, nonfinite = [], 0
    for k in range(calls):
      rows = np.arange(start_row, start_row + n)
      start_row += n
      chunk = generation.Chunk(chem, proto, k, rows.astype(np.int64), ('train',) * n,
                               params[rows], n, dt_s=dt_s)
      start = time.perf_counter()
      out = generation.simulate_chunk(chunk, sim, seed=0)
      times.append(time.perf_counter() - start)
      nonfinite += int(generation.nonfinite_rows(out).sum())
    run = float(np.mean(times[1:])) if len(times) > 1 else float('nan')
    per_trajectory[n] = run / n
    print(f'  batch {n}: first call (compile + run) {times[0]:8.2f} s; later calls, mean of '
          f'{len(times) - 1}: {run:8.2f} s per batch = {n / run:8.3f} trajectories/s '
          f'({run / n:.2f} s per trajectory); NaN/inf: {nonfinite} of {n * len(times)}')
  if len(batches) > 1:
    base = per_trajectory[batches[0]]
    print('  throughput against batch {}: {}'.format(batches[0], ', '.join(
        f'batch {n} {base / t:.2f}x' for n, t in per_trajectory.items())))


def _synthetic_chunk(chunk, simulation, seed):
  """Random arrays of the simulator's shapes (pipeline benchmark only; no physics)."""
  del seed
  rng = np.random.default_rng(int(chunk.trajectory_ids[0]))
  n, h, t = len(chunk.trajectory_ids), simulation['ny'], schema.NUM_FRAMES
  frames = lambda: rng.random((n, t, h, simulation['nx'])).astype(np.float32)
  out = {'xi': frames(), 'concentration': frames(), 'potential_v': frames(),
         'time_s': np.tile(np.arange(t, dtype=np.float32) * 30, (n, 1)),
         'stage': np.ones((n, t), np.int32),
         'pixel_size_um': np.ones(n, np.float32), 'electrode_height_um': np.ones(n, np.float32),
         'trajectory_id': np.asarray(chunk.trajectory_ids, np.int64)}
  out.update({k: rng.random((n, t)).astype(np.float32) for k in schema.OBSERVABLE_KEYS})
  return out


def _synthetic_source(data_dir: str):
  config = dendrite_sim.make_config(
      'bench', grid_size=_GRID.value, num_train=_TRAJ.value, num_validation=1, num_test=1,
      num_ood=1, batch_size=64)
  generation.simulate_chunk = _synthetic_chunk   # this process only: no simulator needed
  builder = tfds.builder('dendrite_sim', config=config, data_dir=data_dir,
                         file_format='array_record')
  builder.download_and_prepare()
  return builder.as_data_source(split='train')


def _time_batches(iterator, num: int) -> float:
  next(iterator)   # warm-up (index building, first reads)
  start = time.perf_counter()
  for _ in range(num):
    next(iterator)
  return num * _BATCH.value / (time.perf_counter() - start)


def bench_pipeline() -> None:
  with tempfile.TemporaryDirectory() as tmp:
    if _DATASET.value:
      source = pipeline.load_source(_DATASET.value, 'train', _DATA_DIR.value,
                                    build_if_missing=False)
      what = _DATASET.value
    else:
      source = _synthetic_source(tmp)
      what = f'synthetic {_GRID.value}x{_GRID.value} records ({_TRAJ.value} trajectories)'
    start = time.perf_counter()
    norm = normalization.Normalizer.fit(source)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(len(source)):
      source[i]
    read_s = (time.perf_counter() - start) / len(source)
    kw = dict(batch_size=_BATCH.value, seed=0, augment=True, num_epochs=None)
    plain = _time_batches(pipeline.next_state_batches(source, norm, **kw), _BATCHES.value)
    ds = pipeline.next_state_dataset(source, norm, **kw)
    read = grain.ReadOptions(num_threads=_THREADS.value, prefetch_buffer_size=8)
    threaded = _time_batches(iter(ds.to_iter_dataset(read)), _BATCHES.value)
    memory = pipeline.in_memory(source)
    cached = _time_batches(pipeline.next_state_batches(memory, norm, **kw), _BATCHES.value)
    print(f'pipeline: {what}, batch {_BATCH.value}, augment on, input xi, cpu count '
          f'{os.cpu_count()}')
    print(f'  decode one trajectory:        {1e3 * read_s:8.2f} ms')
    print(f'  Normalizer.fit ({len(source)} trajectories): {fit_s:8.2f} s')
    print(f'  next_state_batches, worker_count 0:     {plain:9.1f} examples/s')
    print(f'  next_state_dataset + {_THREADS.value} read threads: {threaded:9.1f} examples/s '
          f'(ratio {threaded / plain:.2f})')
    print(f'  next_state_batches on pipeline.in_memory(source): {cached:9.1f} examples/s '
          f'(ratio {cached / plain:.2f})')


def main(argv):
  del argv
  if _WHAT.value in ('both', 'generation'):
    bench_generation()
  if _WHAT.value in ('both', 'pipeline'):
    bench_pipeline()


if __name__ == '__main__':
  app.run(main)
