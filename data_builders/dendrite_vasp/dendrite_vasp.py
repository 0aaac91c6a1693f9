"""`dendrite_vasp`: VASP runs as metal-occupancy trajectories (TFDS, array_record).

One example is one VASP run (one folder under the TFDS `manual_dir`): every saved ionic step
becomes a frame, the metal atoms projected slice by slice onto the plane containing the surface
normal and superimposed (`dendrax.data.vasp`), electrode at y = 0, `pixel_size_um` the Angstrom
scale x 1e-4. Parameters found in the run (TEBEG/TEEND, EFIELD, ion concentration of the
electrolyte region) are set, the rest NaN with `params_missing`; `has_fields` False, `stage` -1,
`protocol` 'unknown'; `time_s` = ionic step x POTIM (NaN without POTIM). Observables from
`dendrax.physics.observables` on the maps (the first frame's front is the electrode surface;
charge NaN). Splits `train` / `validation` / `test` by a hash of the run folder name
(no `ood` split for real data); a split that gets no run is present and empty.

Build (see docs/builders.md):

  import data_builders.dendrite_vasp, tensorflow_datasets as tfds
  builder = tfds.builder('dendrite_vasp/li', data_dir=DATA_DIR, file_format='array_record')
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=RUNS))

Other metals: `make_config('pt', metal='Pt', chemistry='Li')` and
`tfds.builder('dendrite_vasp', config=that_config, ...)`. Runs that cannot be read raise
(`on_error='raise'`, nothing is marked complete) or are skipped and listed in
`builder.info.metadata['report']` (`on_error='skip'`).
"""

from __future__ import annotations

import dataclasses
import os

from absl import logging
import numpy as np
import tensorflow_datasets as tfds

from data_builders import base
from dendrax.data import preprocessing
from dendrax.data import vasp
from dendrax.physics import parameters

ON_ERROR = ('raise', 'skip')

MANUAL_DOWNLOAD_INSTRUCTIONS = """\
Put one sub-folder per VASP run in the manual_dir, each holding any of vasprun.xml, XDATCAR,
OUTCAR, CONTCAR or POSCAR (also accepted with a prefix, e.g. `Li_slab_XDATCAR`) and, if you have
it, the INCAR. The first of vasprun.xml > XDATCAR > OUTCAR > CONTCAR > POSCAR present is read.
Then pass `download_config=tfds.download.DownloadConfig(manual_dir=...)`.
"""


@dataclasses.dataclass(eq=False)
class DendriteVaspConfig(tfds.core.BuilderConfig):
  """Settings of a `dendrite_vasp` build; every number the maps depend on.

  Attributes:
    frame_size: frames are frame_size x frame_size pixels (64 matches dendrite_sim/small).
    metal: element symbol of the electrode metal (Li, Zn, or any element).
    chemistry: schema chemistry label ('Li' or 'Zn'); '' = `metal` (must then be Li or Zn).
    ion_species: element counted for the electrolyte ion concentration; '' = `metal`.
    radius_scale: disc radius = ase covalent radius of `metal` x radius_scale.
    n_slices: slices along the in-plane slicing axis, superimposed.
    superimpose: 'max' (occupied in any slice: a binary mask) or 'mean' (fraction of slices).
    attached_only: keep only metal connected to the electrode (drops solvated ions).
    normal_axis: cell axis across the slab, 0/1/2; -1 = the axis with the largest metal gap.
    extent_angstrom: height (= width) of a frame in Angstrom; 0 = the cell's thickness.
    layer_gap_angstrom: an empty layer this thick ends the electrode (electrolyte region).
    frame_stride, max_frames, min_frames: keep every frame_stride-th ionic step, at most
      max_frames (0 = all); runs with fewer than min_frames kept frames are skipped and reported.
    on_error: 'raise' (stop, nothing marked complete) or 'skip' (drop the run, report it).
    split_fractions: expected (train, validation, test) shares; splits by run-name hash.
    length_softness_px: temperature of the smooth max of `observables.dendrite_length_um`, in
      pixels (the simulator's 1-2 um is ~1 pixel; in um it would swamp Angstrom-sized pixels).
  """
  frame_size: int = 64
  metal: str = 'Li'
  chemistry: str = ''
  ion_species: str = ''
  radius_scale: float = 1.0
  n_slices: int = 4
  superimpose: str = 'max'
  attached_only: bool = True
  normal_axis: int = -1
  extent_angstrom: float = 0.0
  layer_gap_angstrom: float = 3.0
  frame_stride: int = 1
  max_frames: int = 0
  min_frames: int = 2
  on_error: str = 'raise'
  split_fractions: tuple = (0.8, 0.1, 0.1)
  length_softness_px: float = 1.0

  @property
  def chemistry_label(self) -> str:
    return self.chemistry or self.metal


def make_config(name: str, **fields) -> DendriteVaspConfig:
  """A validated `DendriteVaspConfig`; ValueError names an unknown or bad field."""
  known = {f.name for f in dataclasses.fields(DendriteVaspConfig)} - {
      'name', 'version', 'release_notes', 'supported_versions', 'tags'}
  unknown = sorted(set(fields) - known)
  if unknown:
    raise ValueError(f'unknown dendrite_vasp config field(s) {unknown}; known: {sorted(known)}')
  if 'split_fractions' in fields:
    fields['split_fractions'] = tuple(float(f) for f in fields['split_fractions'])
  config = DendriteVaspConfig(name=name, **fields)
  validate_config(config)
  return config


def validate_config(c: DendriteVaspConfig) -> None:
  """Raises ValueError naming the field of `c` that is out of range."""
  where = f'dendrite_vasp/{c.name}'
  for field in ('frame_size', 'n_slices', 'frame_stride', 'min_frames'):
    if not isinstance(getattr(c, field), int) or getattr(c, field) < 1:
      raise ValueError(f'{where}: {field} must be a positive integer; got {getattr(c, field)!r}')
  if c.max_frames < 0:
    raise ValueError(f'{where}: max_frames must be >= 0 (0 = all); got {c.max_frames}')
  if c.chemistry_label not in parameters.CHEMISTRIES:
    raise ValueError(f'{where}: chemistry={c.chemistry_label!r} must be one of '
                     f'{parameters.CHEMISTRIES}; set `chemistry` for metal={c.metal!r}')
  vasp.radius_for(c.metal, c.radius_scale)
  if c.ion_species:
    vasp.radius_for(c.ion_species, 1.0)
  for field, allowed in (('superimpose', vasp.SUPERIMPOSE), ('on_error', ON_ERROR)):
    if getattr(c, field) not in allowed:
      raise ValueError(f'{where}: {field}={getattr(c, field)!r} is not one of {allowed}')
  if c.normal_axis not in (-1, 0, 1, 2):
    raise ValueError(f'{where}: normal_axis must be -1, 0, 1 or 2; got {c.normal_axis}')
  for field in ('extent_angstrom', 'layer_gap_angstrom', 'length_softness_px'):
    if getattr(c, field) < 0 or (field != 'extent_angstrom' and getattr(c, field) == 0):
      raise ValueError(f'{where}: {field} must be > 0 (extent_angstrom: >= 0); '
                       f'got {getattr(c, field)}')
  preprocessing.group_split('check', c.split_fractions)


BUILDER_CONFIGS = [
    make_config('li', description='Li electrode, 64x64 frames.', metal='Li'),
    make_config('zn', description='Zn electrode, 64x64 frames.', metal='Zn'),
]


def run_example(run: vasp.VaspRun, c: DendriteVaspConfig) -> tuple[dict, dict]:
  """(schema example, notes) of one run; VaspReadError / ValueError if it cannot be mapped."""
  radius = vasp.radius_for(c.metal, c.radius_scale)
  proj = vasp.make_projection(run.frames[0], c.metal, frame_size=c.frame_size, radius_a=radius,
                              layer_gap_a=c.layer_gap_angstrom, normal_axis=c.normal_axis,
                              extent_a=c.extent_angstrom)
  keep = np.arange(0, len(run.frames), c.frame_stride)
  if c.max_frames:
    keep = keep[:c.max_frames]
  xi = []
  for t in keep:
    occ = vasp.occupancy_map(run.frames[t], c.metal, proj, frame_size=c.frame_size,
                             radius_a=radius, n_slices=c.n_slices, superimpose=c.superimpose)
    xi.append(vasp.attached_to_electrode(occ) if c.attached_only else occ)
  xi = np.stack(xi).astype(np.float32)
  pixel_um = proj.pixel_size_a * vasp.ANGSTROM_UM
  softness_um = c.length_softness_px * pixel_um
  # The first frame's (smooth) front is the electrode surface, so length_um[0] = 0.
  electrode_um = float(preprocessing.measure_frames(
      xi[:1], pixel_um, 0.0, softness_um=softness_um)['length_um'][0])
  observables = preprocessing.measure_frames(xi, pixel_um, electrode_um, softness_um=softness_um)
  values, notes = vasp.run_parameters(run, c.metal, proj, ion_species=c.ion_species or c.metal,
                                      layer_gap_a=c.layer_gap_angstrom)
  params = np.array([values.get(n, np.nan) for n in parameters.PARAMETER_NAMES], np.float32)
  potim = float(notes['time_step_fs']) if 'time_step_fs' in notes else np.nan
  example = {
      'trajectory_id': preprocessing.stable_id(run.name),
      'source': os.path.relpath(run.path, os.path.dirname(os.path.dirname(run.path))),
      'chemistry': c.chemistry_label,
      'protocol': 'unknown',
      'params': params,
      'params_missing': np.isnan(params),
      'pixel_size_um': np.float32(pixel_um),
      'electrode_height_um': np.float32(electrode_um),
      'time_s': (run.steps[keep] * potim * vasp.FS_S).astype(np.float32),
      'stage': np.full(len(keep), -1, np.int32),
      'xi': xi,
      'has_fields': False,
      'concentration': np.zeros_like(xi),
      'potential_v': np.zeros_like(xi),
      **observables,
  }
  return example, {**notes, 'frames': int(len(keep)), 'file': run.path}


def list_runs(manual_dir: str) -> list[str]:
  """Sorted names of the run sub-folders of `manual_dir`; ValueError if there is none."""
  if not os.path.isdir(manual_dir):
    raise ValueError(f'manual_dir {manual_dir} does not exist.\n{MANUAL_DOWNLOAD_INSTRUCTIONS}')
  runs = sorted(n for n in os.listdir(manual_dir)
                if os.path.isdir(os.path.join(manual_dir, n)) and not n.startswith('.'))
  if not runs:
    raise ValueError(f'manual_dir {manual_dir} has no run sub-folder.\n'
                     f'{MANUAL_DOWNLOAD_INSTRUCTIONS}')
  return runs


def convert_runs(manual_dir: str, c: DendriteVaspConfig) -> tuple[list, dict]:
  """([(run name, example)], report) for every run folder of `manual_dir`.

  on_error='raise': the first unusable run raises VaspReadError naming the run, file and
  reason. 'skip': it is left out and listed in report['skipped'] (name -> reason). Runs with
  fewer than `min_frames` frames are always skipped and listed. ValueError if no run is left.
  """
  examples, report = [], {'runs': 0, 'built': {}, 'skipped': {}}
  runs = list_runs(manual_dir)
  report['runs'] = len(runs)
  for name in runs:
    try:
      run = vasp.read_run(os.path.join(manual_dir, name), name)
      example, notes = run_example(run, c)
    except (vasp.VaspReadError, ValueError) as e:
      if c.on_error == 'raise':
        raise vasp.VaspReadError(f'dendrite_vasp run {name!r}: {e}') from e
      report['skipped'][name] = str(e)
      logging.warning('dendrite_vasp: skipping run %r: %s', name, e)
      continue
    if len(example['time_s']) < c.min_frames:
      report['skipped'][name] = (f'{len(example["time_s"])} frame(s) < min_frames='
                                 f'{c.min_frames} ({run.path})')
      logging.warning('dendrite_vasp: skipping run %r: %s', name, report['skipped'][name])
      continue
    report['built'][name] = notes
    examples.append((name, example))
  if not examples:
    raise ValueError(f'dendrite_vasp: no usable run in {manual_dir}; skipped: {report["skipped"]}')
  ids = [e['trajectory_id'] for _, e in examples]
  if len(set(ids)) != len(ids):
    raise ValueError('dendrite_vasp: two run names hash to one trajectory_id; rename a folder')
  return examples, report


class DendriteVasp(base.DendraxBuilder):
  """VASP runs as metal-occupancy trajectories (see module docstring)."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First release: occupancy maps, TEBEG/POTIM/EFIELD/ion conc.'}
  BUILDER_CONFIGS = BUILDER_CONFIGS
  DEFAULT_CONFIG_NAME = 'li'
  MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS

  CITATION = base.ZHAO_CITATION
  HAS_METADATA = True                  # the conversion report

  def _description(self) -> str:
    c = self.builder_config
    return f'{__doc__}\nConfig {c.name}: {c.description} {dataclasses.asdict(c)}'

  def _frame_size(self) -> int:
    return self.builder_config.frame_size

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    """Converts every run first, so a split left empty by skipped runs is left out (TFDS
    cannot write an empty split) and a build with no usable run fails before writing."""
    manual_dir = os.fspath(dl_manager.manual_dir)
    examples, report = convert_runs(manual_dir, self.builder_config)
    self.info.metadata['report'] = report
    by_split = {s: [] for s in preprocessing.SPLITS}
    for name, example in examples:
      by_split[preprocessing.group_split(name, self.builder_config.split_fractions)].append(
          (name, example))
    for split, items in by_split.items():
      if not items:
        logging.warning('dendrite_vasp: split %r gets no run; it is left out', split)
    return {s: self._generate_examples(items) for s, items in by_split.items() if items}

  def _generate_examples(self, items):
    yield from items
