"""Tests of dendrax.data.literature and the `dendrite_lit` builder on images drawn here."""

import csv
import json
import os

import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

import data_builders.dendrite_lit as dl
from dendrax.data import literature
from dendrax.data import preprocessing
from dendrax.data import schema
from dendrax.physics import parameters

H, W = 100, 160          # drawn image size, pixels (wide: squared by empty rows on top)
BAND_PX = 20             # electrode band height, pixels
SCALE = 0.5              # um per pixel
FRAME = 64
FRAME_PX_UM = SCALE * W / FRAME            # 1.25 um: one frame pixel


def _hard_length_um(ex):
  """Front height of the mask (highest row with xi > 1/2) above the electrode, um."""
  rows = np.any(ex['xi'] > 0.5, axis=2)                       # [T, H]
  top = np.array([np.nonzero(r)[0].max() + 1 for r in rows])
  return top * ex['pixel_size_um'] - ex['electrode_height_um']


def _check_lengths(ex, drawn_um):
  # The masks put the front within one frame pixel of the drawn one; the stored length_um is
  # the simulator's smooth max over columns (observables.dendrite_length_um), which for a
  # deposit only ~5 columns wide and ~3 pixels tall sits up to ~1.3 pixels lower.
  assert np.all(np.abs(_hard_length_um(ex) - drawn_um) <= FRAME_PX_UM), (
      _hard_length_um(ex), drawn_um)
  assert np.all(np.abs(ex['length_um'] - drawn_um) <= 2 * FRAME_PX_UM), (ex['length_um'], drawn_um)
  assert np.all(np.diff(ex['length_um']) > 0)
# Two growth processes, three times each: deposit heights above the band in pixels.
PROCESSES = {
    'A': dict(source='doi:10.0000/a', chemistry='Li', temperature_k=298.0,
              concentration_mol_l=1.0, current_density_ma_cm2=2.0,
              heights={60.0: 8, 120.0: 21, 180.0: 37}),
    'B': dict(source='doi:10.0000/b', chemistry='Zn', temperature_k=318.0,
              concentration_mol_l=2.0, current_density_ma_cm2=5.0,
              heights={30.0: 5, 90.0: 14, 150.0: 29}),
}


def _draw(path, height_px, seed, *, dark=False, x0=70, width=12):
  """Electrode band at the bottom (image row 0 = top), a deposit of `height_px` above it."""
  rng = np.random.default_rng(seed)
  img = np.full((H, W), 40.0)
  img[H - BAND_PX:] = 210.0
  img[H - BAND_PX - height_px:H - BAND_PX, x0:x0 + width] = 210.0
  img[H - BAND_PX - height_px // 2:H - BAND_PX, x0 + 30:x0 + 36] = 210.0   # a shorter branch
  img += rng.normal(0.0, 8.0, img.shape)
  if dark:
    img = 250.0 - img
  Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)


def _rows(root):
  rows = []
  for name, p in PROCESSES.items():
    for i, (t, h) in enumerate(p['heights'].items()):
      fname = f'{name}_{int(t)}s.png'
      _draw(os.path.join(root, fname), h, seed=10 * ord(name) + i)
      rows.append({'image': fname, 'chemistry': p['chemistry'], 'time_s': t,
                   'scale_um_per_px': SCALE, 'source': p['source'], 'licence': 'CC-BY-4.0',
                   'temperature_k': p['temperature_k'],
                   'concentration_mol_l': p['concentration_mol_l'],
                   'current_density_ma_cm2': p['current_density_ma_cm2'],
                   'length_um': h * SCALE})
  return rows[::-1]                       # manifest order must not matter


def _write(root, rows, fmt):
  os.makedirs(root, exist_ok=True)
  if fmt == 'csv':
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(os.path.join(root, 'manifest.csv'), 'w', newline='') as f:
      w = csv.DictWriter(f, fieldnames=keys)
      w.writeheader()
      w.writerows(rows)
  else:
    with open(os.path.join(root, 'manifest.jsonl'), 'w') as f:
      for r in rows:
        f.write(json.dumps(r) + '\n')


def _manual(tmp_path, fmt='csv', edit=None):
  root = str(tmp_path / 'manual')
  os.makedirs(root, exist_ok=True)
  rows = _rows(root)
  if edit:
    rows = edit(root, rows)
  _write(root, rows, fmt)
  return root


def _config(**kw):
  return dl.make_config('test', **kw)


@pytest.mark.parametrize('fmt', ['csv', 'jsonl'])
def test_lengths_recovered_from_drawn_images(tmp_path, fmt):
  examples, report = dl.convert_manifest(_manual(tmp_path, fmt), _config())
  assert len(examples) == 2 and not report.get('skipped')
  by_source = {e['source'].split(';')[0]: e for _, e in examples}
  for p in PROCESSES.values():
    ex = by_source[p['source']]
    times = sorted(p['heights'])
    np.testing.assert_allclose(ex['time_s'], times)
    _check_lengths(ex, np.array([p['heights'][t] for t in times]) * SCALE)
    assert np.all(ex['density'] > 0) and np.all(np.isnan(ex['charge_c_per_m2']))
    assert abs(ex['electrode_height_um'] - BAND_PX * SCALE) <= FRAME_PX_UM
    np.testing.assert_allclose(ex['pixel_size_um'], FRAME_PX_UM, rtol=1e-6)
    assert ex['xi'].shape == (3, FRAME, FRAME)
    assert ex['xi'][:, 0].min() > 0.9 and ex['xi'][:, -1].max() == 0.0   # electrode at y = 0
    params = dict(zip(parameters.PARAMETER_NAMES, ex['params']))
    assert params['temperature_k'] == p['temperature_k']
    assert params['ion_concentration_mol_m3'] == 1000.0 * p['concentration_mol_l']
    np.testing.assert_array_equal(ex['params_missing'], np.isnan(ex['params']))
    assert ex['chemistry'] == p['chemistry'] and ex['protocol'] == 'unknown'


def test_dark_deposit_and_fixed_threshold(tmp_path):
  def edit(root, rows):
    for r in rows:
      if r['source'] == PROCESSES['A']['source']:
        h = PROCESSES['A']['heights'][r['time_s']]
        _draw(os.path.join(root, r['image']), h, seed=7 + h, dark=True)
        r['deposit_is_bright'] = 'false'
    return rows
  for cfg in (_config(), _config(segment='fixed', threshold=0.5, denoise='gaussian')):
    examples, _ = dl.convert_manifest(_manual(tmp_path, edit=edit), cfg)
    for _, ex in examples:
      p = next(p for p in PROCESSES.values() if ex['source'].startswith(p['source']))
      _check_lengths(ex, np.array([p['heights'][t] for t in sorted(p['heights'])]) * SCALE)


def test_duplicates_and_iqr_outliers_removed_and_reported(tmp_path):
  def edit(root, rows):
    src = os.path.join(root, rows[0]['image'])
    Image.open(src).save(os.path.join(root, 'copy.png'))          # same content, new name
    rows.append({**rows[0], 'image': 'copy.png', 'time_s': 999.0})
    rows[1]['length_um'] = 5000.0                                  # a typo in the paper's table
    return rows
  examples, report = dl.convert_manifest(_manual(tmp_path, edit=edit), _config())
  assert list(report['duplicates']) == ['line 8'] and 'line 2' in report['duplicates']['line 8']
  assert list(report['outliers']) == ['line 3']
  assert sorted(len(e['time_s']) for _, e in examples) == [2, 3]


@pytest.mark.parametrize('field,value,match', [
    ('image', 'missing.png', "field 'image' = 'missing.png': no such file"),
    ('chemistry', 'Na', "field 'chemistry' = 'Na' is not one of"),
    ('temperature_k', 'hot', "field 'temperature_k' = 'hot' is not a number"),
    ('temperature_k', 25.0, "field 'temperature_k' = 25 outside the plausible range.*Celsius"),
    ('scale_um_per_px', '', "field 'scale_um_per_px' is missing"),
])
@pytest.mark.parametrize('fmt', ['csv', 'jsonl'])
def test_bad_rows_raise_or_are_skipped(tmp_path, field, value, match, fmt):
  def edit(root, rows):
    rows[2][field] = value
    return rows
  manual = _manual(tmp_path, fmt, edit=edit)
  # Data rows start on line 2 of the CSV (header on line 1) and on line 1 of the JSONL.
  line = 4 if fmt == 'csv' else 3
  with pytest.raises(literature.ManifestError, match=rf'manifest\.{fmt}: line {line}: {match}'):
    dl.convert_manifest(manual, _config())
  examples, report = dl.convert_manifest(manual, _config(on_error='skip'))
  assert list(report['skipped']) == [f'line {line}']
  assert sum(len(e['time_s']) for _, e in examples) == 5


def test_manifest_level_errors(tmp_path):
  root = _manual(tmp_path, edit=lambda root, rows: [{**r, 'temprature_k': 1} for r in rows])
  with pytest.raises(literature.ManifestError, match=r"unknown column\(s\) \['temprature_k'\]"):
    dl.convert_manifest(root, _config())
  with pytest.raises(ValueError, match='expected one manifest'):
    dl.convert_manifest(str(tmp_path), _config())
  with pytest.raises(ValueError, match="segment='canny'"):
    _config(segment='canny')


def test_mixed_scales_in_one_process_rejected(tmp_path):
  def edit(root, rows):
    rows[0]['scale_um_per_px'] = 0.25
    rows[0]['group'] = rows[1]['group'] = 'g'
    return rows
  with pytest.raises(literature.ManifestError, match='different frame pixel sizes'):
    dl.convert_manifest(_manual(tmp_path, edit=edit), _config())


def test_missing_policies(tmp_path):
  def edit(root, rows):
    del rows[0]['temperature_k']
    return rows
  manual = _manual(tmp_path, edit=edit)
  t = parameters.PARAMETER_NAMES.index('temperature_k')
  flagged, _ = dl.convert_manifest(manual, _config())
  # Row 0 (its own group now: conditions differ) keeps NaN + flag.
  assert sum(bool(e['params_missing'][t]) for _, e in flagged) == 1
  dropped, report = dl.convert_manifest(manual, _config(missing_policy='drop'))
  assert list(report['dropped_missing']) == ['line 2'] and len(dropped) == 2
  imputed, report = dl.convert_manifest(manual, _config(missing_policy='impute_median'))
  assert list(report['imputed']) == ['line 2']
  temps = {e['params'][t] for _, e in imputed}
  assert not any(np.isnan(x) for x in temps) and all(e['params_missing'][t] == False  # noqa: E712
                                                      for _, e in imputed)


def test_builder_writes_schema_splits_and_raising_build_is_not_complete(tmp_path):
  manual = _manual(tmp_path)
  builder = tfds.builder('dendrite_lit', data_dir=str(tmp_path / 'data'),
                         file_format='array_record')
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual))
  gids = {preprocessing.group_split(literature.validate_record(
      'm', 0, {**r, 'time_s': 1, 'scale_um_per_px': 1}, manual).group_id())
      for r in _rows(manual)}
  assert set(builder.info.splits) == gids
  keys = set(schema.trajectory_features(FRAME).keys())
  n = 0
  for split in builder.info.splits:
    for ex in builder.as_data_source(split=split):
      assert set(ex) == keys and ex['xi'].shape == (3, FRAME, FRAME)
      n += 1
  assert n == 2 and len(builder.info.metadata['report']['processes']) == 2
  # A bad row with on_error='raise': the build fails and nothing is marked complete.
  os.remove(os.path.join(manual, 'A_60s.png'))
  bad = tfds.builder('dendrite_lit', data_dir=str(tmp_path / 'data2'), file_format='array_record')
  with pytest.raises(literature.ManifestError, match="'A_60s.png': no such file"):
    bad.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual))
  assert not bad.is_prepared() and not os.path.exists(bad.data_dir)
