"""`dendrite_lit`: literature micrographs of dendrites as trajectories (TFDS, array_record).

Input: a TFDS `manual_dir` holding a manifest (`manifest.csv` or `manifest.jsonl`, fields in
`dendrax.data.literature`, guide in docs/builders.md) and the image files it names. Rows are
validated, then the paper's preprocessing (`dendrax.data.preprocessing`): duplicate images
removed, IQR outlier filter on the scalar targets, a missing-value policy, denoising,
segmentation of the deposit, resizing to `frame_size`. Images of one growth process (same
`group`, or same source, chemistry, protocol and conditions) become one trajectory ordered by
time. Observables are `dendrax.physics.observables` of the masks, with the electrode height
taken from the flat band of the earliest image (charge NaN); `has_fields` False; `stage` -1. Splits `train` /
`validation` / `test` by a hash of the process id; a split with no process is left out; no `ood`.

  import data_builders.dendrite_lit, tensorflow_datasets as tfds
  builder = tfds.builder('dendrite_lit', data_dir=DATA_DIR, file_format='array_record')
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=DIR))

`builder.info.metadata['report']` lists skipped rows, duplicates, outliers and licences.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import os

from absl import logging
import numpy as np
import tensorflow_datasets as tfds

from data_builders import base
from dendrax.data import literature
from dendrax.data import preprocessing
from dendrax.physics import parameters

ON_ERROR = ('raise', 'skip')
MISSING_POLICIES = ('flag',) + preprocessing.MISSING_POLICIES
LENGTH_SOURCES = ('image', 'manifest')

MANUAL_DOWNLOAD_INSTRUCTIONS = """\
Put a manifest (manifest.csv or manifest.jsonl) and the image files it names (paths relative to
the folder) in the manual_dir: one row per image with image, chemistry (Li/Zn), time_s,
scale_um_per_px, source (DOI) and licence, plus the conditions you know (see docs/builders.md).
"""


@dataclasses.dataclass(eq=False)
class DendriteLitConfig(tfds.core.BuilderConfig):
  """Settings of a `dendrite_lit` build.

  Attributes:
    frame_size: frames are frame_size x frame_size (64 matches dendrite_sim/small).
    manifest: manifest file name in manual_dir; '' finds manifest.csv or manifest.jsonl.
    denoise, sigma_px, size_px: `preprocessing.denoise` method ('none'/'gaussian'/'median') and
      its Gaussian sigma / median window in original pixels.
    segment, threshold: `preprocessing.segment_deposit` method ('otsu'/'fixed') and the fixed
      threshold (fraction of the grey range).
    deposit_is_bright: default polarity; a row's `deposit_is_bright` overrides it.
    resize: 'area' (default; soft xi = metal fraction per pixel) or 'bilinear'.
    electrode_fill: a row is part of the electrode band when this fraction of it is metal.
    dedup_levels: grey levels of the duplicate fingerprint.
    iqr_fields, iqr_k: scalar targets filtered by Tukey's fences (k x IQR); () disables.
    missing_policy: 'flag' (NaN + params_missing), 'drop' (rows missing any of missing_fields),
      'impute_median' (train-split medians of missing_fields; report lists imputed rows).
    length_source: 'image' (measured on the mask) or 'manifest' (the paper's value, NaN if absent).
    on_error: 'raise' or 'skip' (bad rows left out and listed in the report).
    split_fractions: expected (train, validation, test) shares, split by process-id hash.
    length_softness_px: temperature of the smooth max in `observables.dendrite_length_um`, in
      frame pixels (the simulator uses about one pixel).
  """
  frame_size: int = 64
  manifest: str = ''
  denoise: str = 'median'
  sigma_px: float = 1.0
  size_px: int = 3
  segment: str = 'otsu'
  threshold: float = 0.5
  deposit_is_bright: bool = True
  resize: str = 'area'
  electrode_fill: float = 0.9
  dedup_levels: int = 64
  iqr_fields: tuple = ('length_um',)
  iqr_k: float = 1.5
  missing_policy: str = 'flag'
  missing_fields: tuple = ('temperature_k', 'ion_concentration_mol_m3')
  length_source: str = 'image'
  on_error: str = 'raise'
  split_fractions: tuple = (0.8, 0.1, 0.1)
  length_softness_px: float = 1.0


def make_config(name: str, **fields) -> DendriteLitConfig:
  """A validated `DendriteLitConfig`; ValueError names an unknown or bad field."""
  known = {f.name for f in dataclasses.fields(DendriteLitConfig)} - {
      'name', 'version', 'release_notes', 'supported_versions', 'tags'}
  unknown = sorted(set(fields) - known)
  if unknown:
    raise ValueError(f'unknown dendrite_lit config field(s) {unknown}; known: {sorted(known)}')
  for key in ('iqr_fields', 'missing_fields', 'split_fractions'):
    if key in fields:
      fields[key] = tuple(fields[key])
  c = DendriteLitConfig(name=name, **fields)
  where = f'dendrite_lit/{name}'
  for field, allowed in (('denoise', preprocessing.DENOISE_METHODS),
                         ('segment', preprocessing.SEGMENT_METHODS),
                         ('resize', preprocessing.RESIZE_METHODS), ('on_error', ON_ERROR),
                         ('missing_policy', MISSING_POLICIES), ('length_source', LENGTH_SOURCES)):
    if getattr(c, field) not in allowed:
      raise ValueError(f'{where}: {field}={getattr(c, field)!r} is not one of {allowed}')
  if not isinstance(c.frame_size, int) or c.frame_size < 8:
    raise ValueError(f'{where}: frame_size must be an integer >= 8; got {c.frame_size!r}')
  if not c.length_softness_px > 0:
    raise ValueError(f'{where}: length_softness_px must be > 0; got {c.length_softness_px}')
  if not 0.0 < c.electrode_fill <= 1.0:
    raise ValueError(f'{where}: electrode_fill must be in (0, 1]; got {c.electrode_fill}')
  bad = [f for f in c.iqr_fields if f not in literature.NUMERIC_RANGES]
  if bad:
    raise ValueError(f'{where}: iqr_fields {bad} not numeric manifest fields '
                     f'{sorted(literature.NUMERIC_RANGES)}')
  bad = [f for f in c.missing_fields if f not in parameters.PARAMETER_NAMES]
  if bad:
    raise ValueError(f'{where}: missing_fields {bad} not in {parameters.PARAMETER_NAMES}')
  preprocessing.group_split('check', c.split_fractions)
  return c


BUILDER_CONFIGS = [make_config('default', description='64x64 frames, Otsu, median denoise.')]


def find_manifest(manual_dir: str, name: str = '') -> str:
  """Path of the manifest in `manual_dir` (`name`, or the one manifest.csv / manifest.jsonl)."""
  if not os.path.isdir(manual_dir):
    raise ValueError(f'manual_dir {manual_dir} does not exist.\n{MANUAL_DOWNLOAD_INSTRUCTIONS}')
  names = [name] if name else [n for n in ('manifest.csv', 'manifest.jsonl')
                               if os.path.isfile(os.path.join(manual_dir, n))]
  if len(names) != 1:
    raise ValueError(f'{manual_dir}: expected one manifest.csv or manifest.jsonl, found {names}.'
                     f'\n{MANUAL_DOWNLOAD_INSTRUCTIONS}')
  return os.path.join(manual_dir, names[0])


def _drop(rows, keep, report_key, report, why):
  for row, k in zip(rows, keep):
    if not k:
      report[report_key][f'line {row.line}'] = why(row)
  return [r for r, k in zip(rows, keep) if k]


def clean_rows(manual_dir: str, c: DendriteLitConfig) -> tuple[list, dict, dict]:
  """(rows, {line: grey image}, report) after validation, duplicates, outliers, missing policy."""
  path = find_manifest(manual_dir, c.manifest)
  report = collections.defaultdict(dict)
  rows, images = [], {}
  for line, rec in literature.read_manifest_records(path):
    try:
      row = literature.validate_record(path, line, rec, manual_dir)
      images[line] = literature.load_grey(os.path.join(manual_dir, row.image))
    except literature.ManifestError as e:
      if c.on_error == 'raise':
        raise
      report['skipped'][f'line {line}'] = str(e)
      logging.warning('dendrite_lit: skipping %s', e)
      continue
    rows.append(row)
  keep = preprocessing.duplicate_keep_mask([images[r.line] for r in rows], levels=c.dedup_levels)
  first = {}
  for r in rows:
    first.setdefault(preprocessing.image_fingerprint(images[r.line], levels=c.dedup_levels), r)
  rows = _drop(rows, keep, 'duplicates', report, lambda r: 'same image as line {}'.format(
      first[preprocessing.image_fingerprint(images[r.line], levels=c.dedup_levels)].line))
  for field in c.iqr_fields:
    vals = np.array([r.values.get(field, math.nan) for r in rows])
    rows = _drop(rows, preprocessing.iqr_inlier_mask(vals, k=c.iqr_k), 'outliers', report,
                 lambda r, f=field: f'{f}={r.values[f]:g} outside {c.iqr_k} x IQR')
  if c.missing_policy != 'flag' and rows:
    cols = [parameters.PARAMETER_NAMES.index(f) for f in c.missing_fields]
    params = np.stack([r.params() for r in rows]).astype(np.float64)
    train = np.array([preprocessing.group_split(r.group_id(), c.split_fractions) == 'train'
                      for r in rows])
    medians = preprocessing.fit_medians(params, train)
    new, keep = preprocessing.apply_missing_policy(params, c.missing_policy, medians_K=medians,
                                                   columns=cols)
    for r, p in zip([r for r, k in zip(rows, keep) if k], new):
      if c.missing_policy == 'impute_median' and np.any(np.isnan(r.params()[cols])):
        report['imputed'][f'line {r.line}'] = [f for f in c.missing_fields]
      r.values.update({n: float(p[i]) for i, n in enumerate(parameters.PARAMETER_NAMES)
                       if math.isfinite(p[i])})
    rows = _drop(rows, keep, 'dropped_missing', report,
                 lambda r: f'missing one of {list(c.missing_fields)}')
  return rows, images, report


def process_example(rows: list, images: dict, c: DendriteLitConfig) -> dict:
  """Schema example of one growth process (rows of one group); ManifestError if inconsistent."""
  rows = sorted(rows, key=lambda r: r.time_s)
  lines = [r.line for r in rows]
  times = [r.time_s for r in rows]
  if len(set(times)) != len(times):
    raise literature.ManifestError(f'lines {lines}: one process with a repeated time_s {times}; '
                                   'give the images different `group` values')
  xi, pixel_um = [], set()
  for r in rows:
    bright = c.deposit_is_bright if r.deposit_is_bright is None else r.deposit_is_bright
    frame, side_px = literature.image_to_xi(
        images[r.line], frame_size=c.frame_size, denoise=c.denoise, sigma_px=c.sigma_px,
        size_px=c.size_px, segment=c.segment, threshold=c.threshold, deposit_is_bright=bright,
        resize=c.resize)
    xi.append(frame)
    pixel_um.add(round(r.values['scale_um_per_px'] * side_px / c.frame_size, 9))
  if len(pixel_um) != 1:
    raise literature.ManifestError(
        f'lines {lines}: images of one process give different frame pixel sizes {sorted(pixel_um)}'
        ' um (scale x image size); crop them alike or give them different `group` values')
  xi = np.stack(xi)
  px = pixel_um.pop()
  electrode_um = literature.electrode_band_px(xi[0], fill=c.electrode_fill) * px
  observables = preprocessing.measure_frames(xi, px, electrode_um,
                                             softness_um=c.length_softness_px * px)
  if c.length_source == 'manifest':
    observables['length_um'] = np.array([r.values.get('length_um', math.nan) for r in rows],
                                        np.float32)
  params = rows[0].params()
  return {
      'trajectory_id': preprocessing.stable_id(rows[0].group_id()),
      'source': f'{rows[0].source}; licence: {rows[0].licence}',
      'chemistry': rows[0].chemistry,
      'protocol': rows[0].protocol,
      'params': params,
      'params_missing': np.isnan(params),
      'pixel_size_um': np.float32(px),
      'electrode_height_um': np.float32(electrode_um),
      'time_s': np.asarray(times, np.float32),
      'stage': np.full(len(rows), -1, np.int32),
      'xi': xi,
      'has_fields': False,
      'concentration': np.zeros_like(xi),
      'potential_v': np.zeros_like(xi),
      **observables,
  }


def convert_manifest(manual_dir: str, c: DendriteLitConfig) -> tuple[list, dict]:
  """([(group id, example)], report) for a manual_dir; ValueError if no process is left."""
  rows, images, report = clean_rows(manual_dir, c)
  groups = collections.defaultdict(list)
  for r in rows:
    groups[r.group_id()].append(r)
  examples = []
  for gid in sorted(groups):
    try:
      examples.append((gid, process_example(groups[gid], images, c)))
    except literature.ManifestError as e:
      if c.on_error == 'raise':
        raise
      report['skipped'][f'lines {[r.line for r in groups[gid]]}'] = str(e)
      continue
    report['processes'][gid] = {'lines': [r.line for r in groups[gid]],
                                'licence': groups[gid][0].licence}
  if not examples:
    raise ValueError(f'dendrite_lit: no usable image in {manual_dir}; report: {dict(report)}')
  return examples, {k: dict(v) for k, v in report.items()}


class DendriteLit(base.DendraxBuilder):
  """Literature dendrite images as trajectories (see module docstring)."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First release: manifest CSV/JSONL, Otsu masks, grouped processes.'}
  BUILDER_CONFIGS = BUILDER_CONFIGS
  DEFAULT_CONFIG_NAME = 'default'
  MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS

  CITATION = 'Images: see each example\'s `source` (DOI and licence).'
  HAS_METADATA = True                  # the conversion report

  def _description(self) -> str:
    c = self.builder_config
    return f'{__doc__}\nConfig {c.name}: {c.description} {dataclasses.asdict(c)}'

  def _frame_size(self) -> int:
    return self.builder_config.frame_size

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    """Processes everything first: a split with no process is left out (TFDS cannot write an
    empty split) and a build with a bad row fails before anything is written."""
    examples, report = convert_manifest(os.fspath(dl_manager.manual_dir), self.builder_config)
    self.info.metadata['report'] = report
    by_split = collections.defaultdict(list)
    for gid, example in examples:
      by_split[preprocessing.group_split(gid, self.builder_config.split_fractions)].append(
          (str(example['trajectory_id']), example))
    return {s: self._generate_examples(by_split[s]) for s in preprocessing.SPLITS
            if by_split[s]}

  def _generate_examples(self, items):
    yield from items
