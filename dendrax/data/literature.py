"""Literature images of dendrites: the manifest (CSV or JSON Lines), its validation, the images.

A user collects micrographs from papers into a folder with a manifest, one row per image
(docs/builders.md says how). This module reads and validates the manifest, groups rows into
growth processes and turns an image into a deposit mask in the schema layout. The TFDS builder
`data_builders/dendrite_lit` strings these together with `dendrax.data.preprocessing`.

Manifest fields (`FIELDS`): required `image`, `chemistry`, `time_s`, `scale_um_per_px`, `source`,
`licence`; optional conditions `current_density_ma_cm2`, `temperature_k`, `concentration_mol_l`,
`length_um` (the paper's measured dendrite length), `protocol`, `deposit_is_bright`, `group`, and
any of the seven parameter names of `dendrax.physics.parameters` in its unit. Columns `notes`,
`figure`, `comment` are ignored; any other column is an error (a typo would silently drop data).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from dendrax.data import preprocessing
from dendrax.physics import parameters

REQUIRED = ('image', 'chemistry', 'time_s', 'scale_um_per_px', 'source', 'licence')
# Numeric fields with a plausible range (closed) and a hint for the usual unit mistake.
NUMERIC_RANGES: dict[str, tuple[float, float, str]] = {
    'time_s': (0.0, 1e7, 'seconds since the start of deposition'),
    'scale_um_per_px': (1e-4, 1e3, 'um per pixel: scale bar length in um / its length in px'),
    'current_density_ma_cm2': (0.0, 200.0, 'mA cm^-2 (1 mA cm^-2 = 10 A m^-2)'),
    'temperature_k': (150.0, 500.0, 'kelvin, not Celsius (25 C = 298.15 K)'),
    'concentration_mol_l': (1e-4, 20.0, 'mol/L of the salt (1 M = 1000 mol m^-3)'),
    'length_um': (0.0, 1e5, 'um'),
}
OPTIONAL_TEXT = ('protocol', 'deposit_is_bright', 'group')
IGNORED = ('notes', 'figure', 'comment')
FIELDS = REQUIRED + tuple(k for k in NUMERIC_RANGES if k not in REQUIRED) + OPTIONAL_TEXT + tuple(
    n for n in parameters.PARAMETER_NAMES if n not in NUMERIC_RANGES)
PROTOCOL_NAMES = tuple(parameters.PROTOCOLS) + ('unknown',)
MOL_L_TO_MOL_M3 = 1000.0


class ManifestError(ValueError):
  """A bad manifest row or file; the message names the file, line and field."""


@dataclasses.dataclass(frozen=True)
class Row:
  """One validated manifest row. `values` holds the numeric fields (NaN where absent)."""
  line: int
  image: str
  chemistry: str
  source: str
  licence: str
  protocol: str
  deposit_is_bright: bool | None
  group: str
  values: dict

  @property
  def time_s(self) -> float:
    return self.values['time_s']

  def params(self) -> np.ndarray:
    """[7] float32 in `PARAMETER_NAMES` order, NaN where the row does not give it."""
    v = dict(self.values)
    if math.isfinite(v.get('concentration_mol_l', math.nan)) and not math.isfinite(
        v.get('ion_concentration_mol_m3', math.nan)):
      v['ion_concentration_mol_m3'] = v['concentration_mol_l'] * MOL_L_TO_MOL_M3
    return np.array([v.get(n, math.nan) for n in parameters.PARAMETER_NAMES], np.float32)

  def group_id(self) -> str:
    """The growth process: `group` if given, else source + chemistry + protocol + conditions."""
    if self.group:
      return f'{self.source}|{self.group}'
    cond = [f'{k}={self.values.get(k, math.nan):.6g}' for k in
            ('current_density_ma_cm2', 'temperature_k', 'concentration_mol_l')
            + parameters.PARAMETER_NAMES]
    return '|'.join([self.source, self.chemistry, self.protocol] + cond)


def read_manifest_records(path: str) -> list[tuple[int, dict[str, Any]]]:
  """[(line number, raw record)] of a `.csv` (header line 1) or `.jsonl` manifest."""
  if not os.path.isfile(path):
    raise ManifestError(f'{path}: manifest not found')
  ext = os.path.splitext(path)[1].lower()
  with open(path, encoding='utf-8-sig', newline='') as f:
    if ext == '.csv':
      reader = csv.DictReader(f)
      records = [(reader.line_num, rec) for rec in reader]
      header = reader.fieldnames or []
    elif ext in ('.jsonl', '.json'):
      records, header = [], []
      for lineno, line in enumerate(f, 1):
        if not line.strip():
          continue
        try:
          rec = json.loads(line)
        except json.JSONDecodeError as e:
          raise ManifestError(f'{path}: line {lineno}: not valid JSON ({e.msg})') from e
        if not isinstance(rec, dict):
          raise ManifestError(f'{path}: line {lineno}: expected a JSON object, got {rec!r:.60}')
        records.append((lineno, rec))
        header += [k for k in rec if k not in header]
    else:
      raise ManifestError(f'{path}: manifest must end in .csv or .jsonl; got {ext!r}')
  unknown = sorted(set(header) - set(FIELDS) - set(IGNORED))
  if unknown:
    raise ManifestError(f'{path}: unknown column(s) {unknown}; known: {", ".join(FIELDS)} '
                        f'(ignored: {", ".join(IGNORED)})')
  missing = [k for k in REQUIRED if k not in header]
  if missing:
    raise ManifestError(f'{path}: required column(s) {missing} missing')
  return records


def _blank(value) -> bool:
  return value is None or (isinstance(value, str) and not value.strip())


def _number(path: str, line: int, field: str, value) -> float:
  try:
    x = float(value)
  except (TypeError, ValueError) as e:
    raise ManifestError(f'{path}: line {line}: field {field!r} = {value!r} is not a number') from e
  if not math.isfinite(x):
    raise ManifestError(f'{path}: line {line}: field {field!r} = {value!r} is not finite')
  if field in NUMERIC_RANGES:
    lo, hi, hint = NUMERIC_RANGES[field]
    if not lo <= x <= hi:
      raise ManifestError(f'{path}: line {line}: field {field!r} = {x:g} outside the plausible '
                          f'range [{lo:g}, {hi:g}] ({hint})')
  return x


def validate_record(path: str, line: int, rec: dict, root: str) -> Row:
  """A `Row` from a raw record; ManifestError names file, line and field of the first problem.

  `root` is the folder that image paths are relative to (the manual_dir).
  """
  def err(field, msg):
    return ManifestError(f'{path}: line {line}: field {field!r} {msg}')
  for field in REQUIRED:
    if _blank(rec.get(field)):
      raise err(field, 'is missing')
  chem = {c.lower(): c for c in parameters.CHEMISTRIES}.get(str(rec['chemistry']).strip().lower())
  if chem is None:
    raise err('chemistry', f'= {rec["chemistry"]!r} is not one of {parameters.CHEMISTRIES}')
  image = str(rec['image']).strip()
  if os.path.isabs(image) or not os.path.isfile(os.path.join(root, image)):
    raise err('image', f'= {image!r}: no such file under {root}')
  values = {}
  for field in tuple(NUMERIC_RANGES) + parameters.PARAMETER_NAMES:
    if field in rec and not _blank(rec[field]):
      values[field] = _number(path, line, field, rec[field])
  try:
    parameters.validate_physical({k: v for k, v in values.items()
                                  if k in parameters.PARAMETER_NAMES})
  except ValueError as e:
    raise ManifestError(f'{path}: line {line}: {e}') from e
  protocol = 'unknown' if _blank(rec.get('protocol')) else str(rec['protocol']).strip()
  if protocol not in PROTOCOL_NAMES:
    raise err('protocol', f'= {protocol!r} is not one of {PROTOCOL_NAMES}')
  bright = rec.get('deposit_is_bright')
  if not _blank(bright) and not isinstance(bright, bool):
    flag = {'true': True, '1': True, 'yes': True, 'false': False, '0': False, 'no': False}
    if str(bright).strip().lower() not in flag:
      raise err('deposit_is_bright', f'= {bright!r} is not true/false')
    bright = flag[str(bright).strip().lower()]
  return Row(line=line, image=image, chemistry=chem, source=str(rec['source']).strip(),
             licence=str(rec['licence']).strip(), protocol=protocol,
             deposit_is_bright=None if _blank(bright) else bool(bright),
             group='' if _blank(rec.get('group')) else str(rec['group']).strip(),
             values={'time_s': values.pop('time_s'), **values})


def load_grey(path: str) -> np.ndarray:
  """[H, W] float64 grey levels in [0, 1] of an image file (row 0 = top, as stored)."""
  try:
    with Image.open(path) as im:
      grey = np.asarray(im.convert('L'), dtype=np.float64) / 255.0
  except (OSError, UnidentifiedImageError) as e:
    raise ManifestError(f'{path}: cannot read the image ({e})') from e
  if min(grey.shape) < 2:
    raise ManifestError(f'{path}: image of shape {grey.shape} is too small')
  return grey


def square_mask(mask_HxW: np.ndarray) -> np.ndarray:
  """Mask (schema layout, y = 0 at the electrode) made square without changing the pixel size:
  a wide image gets empty electrolyte rows on top, a tall one mirrored columns at the sides."""
  h, w = mask_HxW.shape
  if w > h:
    return np.pad(mask_HxW, ((0, w - h), (0, 0)))
  left = (h - w) // 2
  return np.pad(mask_HxW, ((0, 0), (left, h - w - left)), mode='symmetric')


def image_to_xi(grey_HxW: np.ndarray, *, frame_size: int, denoise: str, sigma_px: float,
                size_px: int, segment: str, threshold: float, deposit_is_bright: bool,
                resize: str) -> tuple[np.ndarray, float]:
  """(xi [frame_size, frame_size] float32 in [0, 1], side of the square in original pixels).

  Order: denoise -> segment at the native resolution (Otsu works best on the full histogram)
  -> flip rows (y = 0 at the electrode) -> `square_mask` -> resize the mask (area averaging
  gives a soft xi: the metal fraction of each frame pixel). Pixel size of xi =
  scale_um_per_px x side / frame_size.
  """
  clean = preprocessing.denoise(grey_HxW, denoise, sigma_px=sigma_px, size_px=size_px)
  mask = preprocessing.segment_deposit(clean, segment, threshold=threshold,
                                       deposit_is_bright=deposit_is_bright)
  sq = square_mask(np.flipud(mask))
  xi = np.clip(preprocessing.resize(sq, frame_size, resize), 0.0, 1.0)
  return xi.astype(np.float32), float(sq.shape[0])


def electrode_band_px(xi_HxW: np.ndarray, *, fill: float = 0.9, level: float = 0.5) -> int:
  """Rows of the flat electrode band: contiguous rows from y = 0 whose fraction of pixels above
  `level` is at least `fill` (a deposit covers only part of a row)."""
  rows = np.mean(np.asarray(xi_HxW) > level, axis=1) >= fill
  return int(np.argmin(rows)) if not rows.all() else int(rows.size)
