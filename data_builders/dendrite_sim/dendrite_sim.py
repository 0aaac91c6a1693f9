"""`dendrite_sim`: simulated dendrite growth processes as a TFDS dataset (array_record).

One example is one growth process of the phase-field simulator (`dendrax.physics.simulate`):
the seven physical parameters in physical units, chemistry, protocol, the deposit order
parameter / concentration / potential every 30 s from 0 to 210 s, the charging stage and the
observables of each frame (format: `dendrax.data.schema.trajectory_features`).

Configs (`BUILDER_CONFIGS`): `tiny` (tests), `small` (default for training on a CPU), `paper`
(6514 processes in train + validation + test, the paper's count; meant for a GPU).
Splits, by trajectory: `train`, `validation`, `test` (one Sobol design over the training box,
dealt out by a seeded permutation) and `ood` (a second design with the electric field strength
above the training range). Build:

  import data_builders.dendrite_sim  # registers the builder
  tfds.builder('dendrite_sim/tiny', data_dir=..., file_format='array_record').download_and_prepare()

or `dendrax.data.pipeline.load_source('dendrite_sim/tiny', 'train', data_dir)`. On Apache Beam
(one simulation batch per element; DirectRunner here, Dataflow / Flink / Spark unchanged):
`python -m data_builders.dendrite_sim.fill_cache --config=paper --data_dir=DIR -- --runner=...`
(beam_generation.py, docs/data.md); the records are identical to the plain build's.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping

from absl import logging
import tensorflow_datasets as tfds

from data_builders import base
from data_builders.dendrite_sim import beam_generation
from data_builders.dendrite_sim import generation
from dendrax.data import sampling
from dendrax.data import schema
from dendrax.physics import parameters

_SIZE_FIELDS = ('num_train', 'num_validation', 'num_test', 'num_ood')


@dataclasses.dataclass(eq=False)
class DendriteSimConfig(tfds.core.BuilderConfig):
  """Settings of one `dendrite_sim` variant; every number the dataset depends on.

  Attributes:
    grid_size: frame size in cells (square frames: nx = ny = grid_size).
    simulation: `SimulationConfig.from_dict` fields as sorted (key, value) pairs (cell size,
      time step, numerics, ...; see `dataset_simulation`); fields left out take the
      `SimulationConfig` defaults; nx, ny, chemistry and protocol are set by the builder.
    num_train, num_validation, num_test, num_ood: trajectories per split (>= 0).
    seed: determines the Sobol scrambling, the split assignment and every noise key.
    batch_size: trajectories per `run_batch` call (one cached chunk).
    ranges: (name, (low, high)) pairs replacing `PARAMETER_SPECS` ranges for the training box.
    ood_ranges: (name, (low, high)) pairs of the `ood` split; each must lie outside the
      training box (entirely above or below it).
    chemistry_weights: proportions of `parameters.CHEMISTRIES` (exact up to rounding).
    protocol_weights: proportions of `parameters.PROTOCOLS` (exact up to rounding).
    drop_nonfinite: leave out trajectories with NaN/inf or a concentration outside its physical
      bounds (`generation.bound_violations`; with a warning and their count) instead of failing
      the build; dropped ids are gaps in `trajectory_id`.
    tangent_chunks_per_group: the first this many chunks of every (chemistry, protocol) group
      also store the simulator's tangents d xi / d ln P_k (`xi_tangent`, `has_tangents`) for
      every trajectory they hold, whatever its split; 0 (default) stores none and leaves the
      fields out of the schema. A tangent chunk costs about 20x a plain one.
    build_splits: simulate and write only these splits (empty: all). The design, trajectory
      ids, noise keys and per-group time steps stay those of the full config, so the
      trajectories are the same ones (e.g. `small_long`: `small`'s test split run to 420 s).
  """
  grid_size: int = 64
  simulation: tuple = ()
  num_train: int = 0
  num_validation: int = 0
  num_test: int = 0
  num_ood: int = 0
  seed: int = 0
  batch_size: int = 8
  ranges: tuple = ()
  ood_ranges: tuple = (('field_strength_kv_per_m', (0.5, 0.8)),)
  chemistry_weights: tuple = (0.5, 0.5)
  protocol_weights: tuple = (0.25, 0.25, 0.25, 0.25)
  drop_nonfinite: bool = False
  tangent_chunks_per_group: int = 0
  build_splits: tuple = ()

  @property
  def sizes(self) -> dict[str, int]:
    return {s: getattr(self, f'num_{s}') for s in generation.SPLITS}

  @property
  def splits_built(self) -> tuple[str, ...]:
    """The splits this config writes: `build_splits`, or every split with trajectories."""
    return tuple(s for s in generation.SPLITS if self.sizes[s] > 0
                 and (not self.build_splits or s in self.build_splits))

  def generation_settings(self) -> dict[str, Any]:
    """Every setting that changes the generated numbers (keys the chunk cache)."""
    return {'grid_size': self.grid_size, 'simulation': dict(self.simulation),
            'sizes': self.sizes, 'seed': self.seed, 'batch_size': self.batch_size,
            'ranges': dict(self.ranges), 'ood_ranges': dict(self.ood_ranges),
            'chemistry_weights': list(self.chemistry_weights),
            'protocol_weights': list(self.protocol_weights),
            **({'tangent_chunks_per_group': self.tangent_chunks_per_group}
               if self.tangent_chunks_per_group else {}),
            **({'build_splits': list(self.build_splits)} if self.build_splits else {})}


def make_config(name: str, **fields) -> DendriteSimConfig:
  """A validated `DendriteSimConfig`; raises ValueError naming an unknown or bad field.

  `simulation` and the range fields may be given as dicts; they are stored as sorted tuples.
  """
  known = {f.name for f in dataclasses.fields(DendriteSimConfig)} - {
      'name', 'version', 'release_notes', 'supported_versions', 'tags'}
  unknown = sorted(set(fields) - known)
  if unknown:
    raise ValueError(f'unknown dendrite_sim config field(s) {unknown}; known: {sorted(known)}')
  for key in ('simulation', 'ranges', 'ood_ranges'):
    if isinstance(fields.get(key), Mapping):
      value = fields[key]
      fields[key] = tuple(sorted(
          (k, tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in value.items()))
  config = DendriteSimConfig(name=name, **fields)
  validate_config(config)
  return config


def validate_config(config: DendriteSimConfig) -> None:
  """Raises ValueError naming the field for sizes, ranges or simulator settings that are bad."""
  for field in _SIZE_FIELDS + ('seed', 'tangent_chunks_per_group'):
    value = getattr(config, field)
    if not isinstance(value, int) or value < 0:
      raise ValueError(f'dendrite_sim/{config.name}: {field} must be a non-negative integer; '
                       f'got {value!r}')
  for field in ('grid_size', 'batch_size'):
    value = getattr(config, field)
    if not isinstance(value, int) or value < 1:
      raise ValueError(f'dendrite_sim/{config.name}: {field} must be a positive integer; '
                       f'got {value!r}')
  if config.num_train < 1:
    raise ValueError(f'dendrite_sim/{config.name}: num_train must be >= 1 (normalisation is '
                     f'fitted on train); got {config.num_train}')
  if config.build_splits and config.tangent_chunks_per_group:
    raise ValueError(f'dendrite_sim/{config.name}: build_splits and tangent_chunks_per_group '
                     'cannot be combined (the tangent chunks are those of the full plan)')
  for split in config.build_splits:
    if split not in generation.SPLITS or config.sizes[split] < 1:
      raise ValueError(f'dendrite_sim/{config.name}: build_splits names {split!r}, which is not '
                       f'a split with trajectories ({config.sizes})')
  overlap = {'nx', 'ny', 'chemistry', 'protocol'} & set(dict(config.simulation))
  if overlap:
    raise ValueError(f'dendrite_sim/{config.name}: simulation must not set {sorted(overlap)} '
                     '(grid_size and the sampled chemistry/protocol set them)')
  if config.grid_size < 8:
    raise ValueError(f'dendrite_sim/{config.name}: grid_size must be >= 8 cells; '
                     f'got {config.grid_size}')
  from dendrax.physics import config as sim_config  # pylint: disable=g-import-not-at-top
  for c in parameters.CHEMISTRIES:   # names any bad simulator field
    sim_config.SimulationConfig.from_dict({**dict(config.simulation), 'nx': config.grid_size,
                                         'ny': config.grid_size, 'chemistry': c,
                                         'protocol': parameters.PROTOCOLS[0]})
  train_box = sampling.parameter_box(dict(config.ranges))
  ood_box = sampling.parameter_box({**dict(config.ranges), **dict(config.ood_ranges)})
  if not config.ood_ranges:
    raise ValueError(f'dendrite_sim/{config.name}: ood_ranges is empty; the ood split needs '
                     'at least one parameter outside the training box')
  for name, _ in config.ood_ranges:
    (lo, hi), (olo, ohi) = train_box[name], ood_box[name]
    if not (olo >= hi or ohi <= lo):
      raise ValueError(f'dendrite_sim/{config.name}: ood_ranges[{name!r}] = ({olo}, {ohi}) '
                       f'overlaps the training range ({lo}, {hi}); it must lie outside it')


def dataset_simulation(**overrides) -> tuple:
  """`SimulationConfig.for_dataset(**overrides)` in full, as sorted (key, value) pairs.

  nx, ny, chemistry and protocol are left out (the builder sets them per chunk). Recording
  every field makes the dataset description and the chunk-cache key name all the numbers.
  """
  from dendrax.physics import config as sim_config  # pylint: disable=g-import-not-at-top
  fields = sim_config.SimulationConfig.for_dataset(**overrides).to_dict()
  return tuple(sorted((k, v) for k, v in fields.items()
                      if k not in ('nx', 'ny', 'chemistry', 'protocol')))


# `medium` and `medium_tangents`: every field but the tangents.
_MEDIUM = dict(grid_size=64, simulation=dataset_simulation(), num_train=1000, num_validation=152,
               num_test=152, num_ood=104, seed=0, batch_size=8, drop_nonfinite=True)

BUILDER_CONFIGS = [
    # Tests and CI: 32 x 32, 8 + 2 + 2 + 2 trajectories, Li under constant voltage only, so
    # the simulator compiles once; 7 chunks of 2 (the resume test needs several chunks).
    make_config('tiny', description='Tiny 32x32 set for tests (Li, constant voltage).',
                grid_size=32, simulation=dataset_simulation(nx=32, ny=32),
                num_train=8, num_validation=2, num_test=2, num_ood=2, seed=0, batch_size=2,
                chemistry_weights=(1.0, 0.0), protocol_weights=(0.0, 0.0, 1.0, 0.0)),
    # Tests of the tangent path: 32 x 32, constant current, 4 trajectories in 2 chunks of 2,
    # the first of which stores the tangents (so both kinds of example exist).
    make_config('tiny_tangents', description='Tiny 32x32 set with tangents (tests).',
                grid_size=32, simulation=dataset_simulation(nx=32, ny=32),
                num_train=2, num_validation=1, num_test=1, num_ood=0, seed=0, batch_size=2,
                chemistry_weights=(1.0, 0.0), protocol_weights=(0.0, 1.0, 0.0, 0.0),
                tangent_chunks_per_group=1),
    # Default for training on a CPU, sized for <= 15 minutes on 2 cores (~3.5 s per 64 x 64
    # trajectory on a quiet machine): 168 in the box + 24 ood; every (chemistry, protocol)
    # group holds 32 = 4 x 8 trajectories, so chunks are full and each group compiles once.
    make_config('small', description='192 64x64 trajectories (CPU default).',
                grid_size=64, simulation=dataset_simulation(), num_train=112,
                num_validation=28, num_test=28, num_ood=24, seed=0, batch_size=8,
                drop_nonfinite=True),
    # `small`'s trajectories (same design, seed and simulation: built by the same code, the
    # frames are bit-identical, tests/data/test_dendrite_sim_tangents.py) plus the
    # simulator's xi tangents for the first chunk of each of the 8 (chemistry, protocol)
    # groups: 64 trajectories (of every split) with tangents; issue 11's derivative-informed
    # arm. About 40 min here (each tangent chunk ~4 min).
    make_config('small_tangents', description='small + xi tangents for 64 trajectories.',
                grid_size=64, simulation=dataset_simulation(), num_train=112,
                num_validation=28, num_test=28, num_ood=24, seed=0, batch_size=8,
                drop_nonfinite=True, tangent_chunks_per_group=1),
    # Long horizons (issue 11): `small`'s 28 test trajectories (same design, ids, noise keys
    # and per-group dt) simulated to 420 s, twice the training horizon; test split only, in
    # chunks of 4 (a group holds 2-6 test trajectories). `python -m experiments.long_horizon`
    # rolls a `small` checkpoint out over it.
    make_config('small_long', description="small's test split run to 420 s (15 frames).",
                grid_size=64, simulation=dataset_simulation(t_end_s=420.0), num_train=112,
                num_validation=28, num_test=28, num_ood=24, seed=0, batch_size=4,
                drop_nonfinite=True, build_splits=('test',)),
    # Issue 11's data-scaling set: 1000 train + 152 validation + 152 test + 104 ood = 1408
    # trajectories, the `small` simulation on 64 x 64; 176 = 22 x 8 per (chemistry, protocol)
    # group, so no chunk is padded. No tangents (a tangent chunk costs ~20x a plain one).
    # About 1 h here on 2 cores (`small`: 8.6 min for 192); train on a fraction with
    # `--config.data.train_split='train[:25%]'`.
    make_config('medium', description='1408 64x64 trajectories (data scaling, issue 11).',
                **_MEDIUM),
    # `medium` plus the simulator's xi tangents for the first chunk of each of the 8 groups
    # (64 trajectories of every split), as `small_tangents` is to `small`: the derivative arm at
    # scale. Built after `medium`, only the 8 tangent chunks are simulated (the rest are read
    # from `medium`'s chunk cache, `plain_cache_dirs`).
    make_config('medium_tangents', description='medium + xi tangents for 64 trajectories.',
                **_MEDIUM, tangent_chunks_per_group=1),
    # The paper's 6514 growth processes (80/10/10) plus 326 out-of-distribution; for a GPU.
    make_config('paper', description='6514 64x64 growth processes (paper) + 326 ood.',
                grid_size=64, simulation=dataset_simulation(), num_train=5211,
                num_validation=651, num_test=652, num_ood=326, seed=0, batch_size=64),
]


class DendriteSim(base.DendraxBuilder):
  """Simulated metal-dendrite growth processes (see module docstring)."""

  VERSION = tfds.core.Version('2.5.0')
  RELEASE_NOTES = {
      '1.0.0': 'First release: tiny/small/paper, splits train/validation/test/ood.',
      '2.0.0': 'Electroneutral binary-electrolyte physics at practical current densities '
               '(0.5-50 mA/cm^2); four protocols incl. pulse; physical bounds asserted.',
      '2.1.0': 'Potential and reaction solved together each step (no one-step lag), reaction '
               'weight ramped to 0 below xi = 1e-3 (no bulk nucleation), 4 salt PCG iterations.',
      '2.2.0': 'Converged in dx: profile relaxation 0.02 /s (1 /s pinned the flat front to the '
               'grid); length from the topmost xi = 1/2 contour (grid- and width-independent); '
               'reaction weight closed on the metal side (a CV stage dissolved the electrode at '
               'dt 0.1 s); dt 0.1 s where the accuracy bound allows.',
      '2.3.0': 'Voltage cutoff of galvanostatic stages 0.1 V -> 0.5 V: "constant current" and '
               'pulse deliver the asked current below the limiting current (0.1 V capped it in '
               '56 % of constant-current trajectories); beyond it the cell depletes (Sand).',
      '2.4.0': 'Two-level preconditioned solves (a coarse correction on functions constant along '
               'x): the 4 PCG iterations per step now leave the current 0.04 % (was 6 %) off the '
               'converged one at the hardest corner, and the salt no longer overshoots the bulk '
               'value (was up to 1.5 %); about 1.5x the simulation time.',
      '2.5.0': '12 salt PCG iterations per step (was 4): at 4, past the limiting current the '
               'unconverged salt let the potential on the metal side of the interface drift to '
               'anodic overpotentials until the run blew up (the bound check dropped those '
               'trajectories: test 139, ood 168 and 190 of small), and deposits came out up to '
               '18 % short; at 12, within 2.2 % of 32 iterations on the constant-current groups. '
               'About 1.5x the simulation time.',
  }
  BUILDER_CONFIGS = BUILDER_CONFIGS
  DEFAULT_CONFIG_NAME = 'small'

  CITATION = base.ZHAO_CITATION
  HOMEPAGE = 'https://github.com/dendrax/dendrax'

  def _description(self) -> str:
    config = self.builder_config
    return (f'{__doc__}\nConfig {config.name}: {config.description} '
            f'Settings: {config.generation_settings()}')

  def _frame_size(self) -> int:
    return self.builder_config.grid_size

  def _has_tangents(self) -> bool:
    return self.builder_config.tangent_chunks_per_group > 0

  def cache_dir(self, download_dir: str | None = None) -> str:
    """Folder of this config's chunk cache under the TFDS download dir (default data_dir/downloads)."""
    return os.path.join(self._caches_root(download_dir),
                        f'{self.builder_config.name}-'
                        f'{self._cache_key(self.builder_config.generation_settings())}')

  def plain_cache_dirs(self, download_dir: str | None = None) -> list[str]:
    """Chunk caches of configs with this config's trajectories and no tangents.

    Only for a tangent config (`medium_tangents`: `medium`'s cache, whatever the folder's
    config name); its plain chunks are read from there instead of simulated again.
    """
    if not self.builder_config.tangent_chunks_per_group:
      return []
    root, suffix = self._caches_root(download_dir), f'-{self.plain_cache_key()}'
    if not os.path.isdir(root):
      return []
    return sorted(os.path.join(root, d) for d in os.listdir(root) if d.endswith(suffix))

  def plain_cache_key(self) -> str:
    """The cache key of this config without its tangents (its plain twin's)."""
    settings = self.builder_config.generation_settings()
    settings.pop('tangent_chunks_per_group', None)
    return self._cache_key(settings)

  def _caches_root(self, download_dir: str | None) -> str:
    download_dir = download_dir or os.path.join(str(self.data_dir_root), 'downloads')
    return os.path.join(str(download_dir), 'dendrite_sim_chunks')

  def _cache_key(self, settings: dict[str, Any]) -> str:
    return generation.generation_key({**settings, 'version': str(self.VERSION)})

  def chunks(self) -> list[generation.Chunk]:
    """The chunk plan of this config (the same on every machine)."""
    config = self.builder_config
    designs = generation.split_designs(
        config.sizes, config.seed, ranges=dict(config.ranges),
        ood_ranges=dict(config.ood_ranges), chemistry_weights=config.chemistry_weights,
        protocol_weights=config.protocol_weights)
    # The time steps are those of the full plan, whatever `build_splits` keeps.
    chunks = generation.with_stable_dt(generation.plan_chunks(designs, config.batch_size),
                                       self.simulation_settings())
    chunks = [dataclasses.replace(c, tangents=c.index < config.tangent_chunks_per_group)
              for c in chunks]
    if config.build_splits:
      return generation.keep_splits(chunks, config.build_splits, config.batch_size)
    return chunks

  def expected_split_sizes(self, download_dir: str | None = None) -> dict[str, int]:
    """{split: records a build writes}, from the complete chunk cache: every trajectory of the
    split less those `generation.bound_violations` drops (or would refuse). Checks a build made
    elsewhere (Beam) against what the plain build writes from the same chunks."""
    cache_dir = self.cache_dir(download_dir)
    sizes = dict.fromkeys(self.builder_config.splits_built, 0)
    for chunk in self.chunks():
      arrays = generation.load_chunk(os.path.join(cache_dir, chunk.filename), chunk)
      if arrays is None:
        raise FileNotFoundError(f'dendrite_sim/{self.builder_config.name}: chunk '
                                f'{chunk.filename} is not in the cache {cache_dir}')
      bad = generation.bound_violations(arrays)
      for j, split in enumerate(chunk.splits):
        if split in sizes and j not in bad:
          sizes[split] += 1
    return sizes

  def simulation_settings(self) -> dict[str, Any]:
    config = self.builder_config
    return {**dict(config.simulation), 'nx': config.grid_size, 'ny': config.grid_size}

  def _download_and_prepare(self, dl_manager, download_config=None):
    # Remembered for `_split_generators`: a Beam runner or options select the Beam pipeline.
    self._on_beam = beam_generation.uses_beam(download_config)
    return super()._download_and_prepare(dl_manager, download_config)

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    cache_dir = self.cache_dir(dl_manager.download_dir)
    logging.info('dendrite_sim/%s: chunk cache %s', self.builder_config.name, cache_dir)
    plain_dirs = self.plain_cache_dirs(dl_manager.download_dir)
    if plain_dirs:
      logging.info('dendrite_sim/%s: chunks without tangents are reused from %s',
                   self.builder_config.name, plain_dirs)
    generate = self._beam_examples if getattr(self, '_on_beam', False) else \
        self._generate_examples
    return {split: generate(split, cache_dir, plain_dirs)
            for split in self.builder_config.splits_built}

  def _beam_examples(self, split: str, cache_dir: str, plain_dirs: list[str]):
    """The Beam PTransform of `split` (beam_generation.py): chunks as elements."""
    return beam_generation.split_examples(
        self.chunks(), split=split, cache_dir=cache_dir, simulation=self.simulation_settings(),
        seed=self.builder_config.seed, drop_nonfinite=self.builder_config.drop_nonfinite,
        with_tangents=self._has_tangents(), plain_dirs=plain_dirs)

  def _generate_examples(self, split: str, cache_dir: str, plain_dirs: list[str]):
    chunks = [c for c in self.chunks() if split in c.splits]
    results = generation.chunk_results(
        chunks, cache_dir, self.simulation_settings(), self.builder_config.seed,
        simulate_fn=generation.simulate_chunk, desc=split, plain_dirs=plain_dirs)
    dropped = []
    for chunk, arrays in results:
      yield from generation.examples_of_chunk(chunk, arrays, split,
                                              drop_nonfinite=self.builder_config.drop_nonfinite,
                                              dropped=dropped,
                                              with_tangents=self._has_tangents())
    if dropped:
      logging.warning('dendrite_sim/%s %s: dropped %d unphysical trajectories: %s',
                      self.builder_config.name, split, len(dropped), dropped)
