"""Tests of dendrax.data.vasp and the `dendrite_vasp` TFDS builder, on real and drawn VASP runs."""

import os
import shutil

import ase
import ase.build
import ase.io
import numpy as np
import pytest
import tensorflow_datasets as tfds

import data_builders.dendrite_vasp as dv
from dendrax.data import preprocessing
from dendrax.data import schema
from dendrax.data import vasp
from dendrax.physics import parameters

FIXTURES = os.path.join(os.path.dirname(__file__), 'vasp')
ASE_TESTDATA = os.path.join(os.path.dirname(ase.__file__), 'test', 'testdata', 'vasp')
PT_XDATCAR = os.path.join(FIXTURES, 'Pt111_liquid_interface_XDATCAR')
TI_VASPRUN = os.path.join(FIXTURES, 'Ti_aimd_500K_vasprun.xml')
TI_OUTCAR = os.path.join(FIXTURES, 'Ti_aimd_nwrite0_OUTCAR')
LAYER = 1.75            # Li bcc(100) interlayer spacing in the drawn runs, Angstrom
COLUMN = [0, 2, 4, 6]   # Li atoms stacked on the electrode in frames 0..3 (the "dendrite")


def _run_dir(root, name, *files, **texts):
  d = os.path.join(root, name)
  os.makedirs(d, exist_ok=True)
  for f in files:
    shutil.copy(f, d)
  for fname, text in texts.items():
    with open(os.path.join(d, fname), 'w') as f:
      f.write(text)
  return d


def _growing_li_run(root, name='li_growth'):
  """An XDATCAR of a Li(100) slab with a column of COLUMN[t] atoms on top in frame t, an
  electrolyte of 8 O and 2 floating Li ions, and an INCAR (TEBEG 300, TEEND 320, POTIM 1.5)."""
  slab = ase.build.bcc100('Li', size=(4, 4, 4), vacuum=None)
  slab.cell[2, 2] = 30.0
  slab.positions[:, 2] += 1.0
  top = slab.positions[:, 2].max()
  x0, y0 = slab.positions[slab.positions[:, 2] == top][0, :2]
  rng = np.random.default_rng(0)
  liquid_z = top + 14.0 + rng.uniform(0, 8, 10)
  liquid = ase.Atoms('O8Li2', positions=np.c_[rng.uniform(0, slab.cell[0, 0], (10, 2)), liquid_z])
  frames = []
  for n in COLUMN:
    column = ase.Atoms(f'Li{n}', positions=[(x0 + LAYER, y0 + LAYER, top + LAYER * (k + 1))
                                            for k in range(n)])
    frames.append(slab + column + liquid)
  # XDATCAR needs one atom count per frame: pad with Li ions far out in the liquid instead.
  n_max = max(COLUMN)
  padded = []
  for n, atoms in zip(COLUMN, frames):
    extra = ase.Atoms(f'Li{n_max - n}', positions=[(1.0 + 0.9 * k, 1.0, top + 20.0)
                                                   for k in range(n_max - n)])
    padded.append(atoms + extra)
  d = _run_dir(root, name, INCAR='TEBEG = 300 ; TEEND = 320\nPOTIM = 1.5  # fs\nIBRION = 0\n')
  ase.io.write(os.path.join(d, 'XDATCAR'), padded, format='vasp-xdatcar')
  return d, slab, top


def _config(**kw):
  return dv.make_config('test', **{'chemistry': 'Li', 'frame_size': 64, **kw})


def _build(manual_dir, data_dir, config):
  builder = tfds.builder('dendrite_vasp', config=config, data_dir=str(data_dir),
                         file_format='array_record')
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
  return builder


# --- reading ------------------------------------------------------------------------------------

def test_pt_xdatcar_fixture_maps_slab_to_bottom_band(tmp_path):
  run = vasp.read_run(_run_dir(tmp_path, 'pt', PT_XDATCAR))
  assert len(run.frames) == 10
  np.testing.assert_array_equal(run.steps, 50 * np.arange(10))   # 'Direct configuration=' lines
  c = _config(metal='Pt', ion_species='Cl')
  example, notes = dv.run_example(run, c)
  proj = vasp.make_projection(run.frames[0], 'Pt', frame_size=64, radius_a=1.36)
  assert proj.normal_axis == 2
  # Slab z = 0..7.05 A under the liquid: electrode at the bottom, top of frame free of Pt.
  xi = example['xi']
  assert xi.shape == (10, 64, 64)
  assert xi[:, 0].mean() > 0.3 and xi[:, -10:].max() == 0.0
  pt_z = run.frames[0].positions[np.asarray(run.frames[0].get_chemical_symbols()) == 'Pt', 2]
  expected_um = (pt_z.max() - pt_z.min() + 2 * 1.36) * 1e-4       # slab + a radius each side
  assert abs(example['electrode_height_um'] - expected_um) <= 1.5 * example['pixel_size_um']
  np.testing.assert_allclose(example['pixel_size_um'], 18.865e-4 / 64, rtol=1e-6)
  # No growth in 10 AIMD frames: lengths within a pixel of zero.
  assert np.all(np.abs(example['length_um']) <= example['pixel_size_um'] * 1.01)
  # Cl concentration of the liquid region, recomputed here from the raw cell.
  i = parameters.PARAMETER_NAMES.index('ion_concentration_mol_m3')
  area = np.linalg.norm(np.cross(run.frames[0].cell[0], run.frames[0].cell[1]))
  top = pt_z.max() - pt_z.min() + 1.36
  expected = 16 / 6.02214076e23 / (area * (18.865 - top) * 1e-30)
  np.testing.assert_allclose(example['params'][i], expected, rtol=1e-3)
  assert notes['electrolyte'] == 'C16H54Cl16O16'
  assert example['params_missing'].tolist() == [n != 'ion_concentration_mol_m3'
                                                for n in parameters.PARAMETER_NAMES]
  assert np.isnan(example['time_s']).all()                       # no INCAR, no POTIM


def test_ti_vasprun_temperature_and_time_step_and_broken_outcar_ignored(tmp_path):
  d = _run_dir(tmp_path, 'ti', TI_VASPRUN, TI_OUTCAR)
  run = vasp.read_run(d)
  assert run.path.endswith('vasprun.xml') and len(run.frames) == 10
  example, _ = dv.run_example(run, _config(metal='Ti'))
  t = parameters.PARAMETER_NAMES.index('temperature_k')
  assert example['params'][t] == 500.0 and not example['params_missing'][t]
  np.testing.assert_allclose(example['time_s'], 2.0e-15 * np.arange(10), rtol=1e-6)
  assert example['stage'].tolist() == [-1] * 10 and example['protocol'] == 'unknown'
  assert example['has_fields'] is False and not example['concentration'].any()


def test_drawn_li_growth_lengths_match_column(tmp_path):
  d, slab, _ = _growing_li_run(tmp_path)
  example, notes = dv.run_example(vasp.read_run(d), _config(metal='Li'))
  px_um = example['pixel_size_um']
  drawn_um = np.array(COLUMN) * LAYER * 1e-4
  assert np.all(np.abs(example['length_um'] - drawn_um) <= 1.01 * px_um), (
      example['length_um'] / px_um, drawn_um / px_um)
  # Floating Li ions are not deposit, but count for the ion concentration (2 in frame 0).
  proj = vasp.make_projection(slab, 'Li', frame_size=64, radius_a=1.28)
  area = slab.cell[0, 0] * slab.cell[1, 1]
  top = slab.positions[:, 2].max() - slab.positions[:, 2].min() + 1.28
  n_ions = 2 + max(COLUMN)                                        # + padding ions of frame 0
  expected = n_ions / 6.02214076e23 / (area * (proj.thickness_a - top) * 1e-30)
  i = parameters.PARAMETER_NAMES.index('ion_concentration_mol_m3')
  np.testing.assert_allclose(example['params'][i], expected, rtol=1e-3)
  t = parameters.PARAMETER_NAMES.index('temperature_k')
  assert example['params'][t] == 310.0 and 'ramp' in notes['temperature_k']
  np.testing.assert_allclose(example['time_s'], 1.5e-15 * np.arange(4), rtol=1e-6)
  # Without the attachment filter the floating ions set the front: a much larger "length".
  loose, _ = dv.run_example(vasp.read_run(d), _config(metal='Li', attached_only=False))
  assert loose['electrode_height_um'] > example['electrode_height_um'] + 10 * px_um


def test_superimposed_slices_mean_is_fraction_of_slices():
  # A full Pt layer at z = 1 A in both slices (y < 5 and y >= 5) and one adatom at z = 4 A in
  # the first slice only: 'max' marks its disc 1, 'mean' 1/2; the layer is 1 in both.
  layer = [(x, y, 1.0) for x in np.arange(0.0, 10.0, 1.0) for y in (2.5, 7.5)]
  atoms = ase.Atoms(f'Pt{len(layer) + 1}', positions=layer + [(5.0, 2.5, 4.0)],
                    cell=[10.0, 10.0, 10.0], pbc=True)
  proj = vasp.make_projection(atoms, 'Pt', frame_size=40, radius_a=1.0, normal_axis=2)
  assert (proj.lateral_axis, proj.slice_axis) == (0, 1)
  kw = dict(frame_size=40, radius_a=1.0, n_slices=2)
  occ_max = vasp.occupancy_map(atoms, 'Pt', proj, superimpose='max', **kw)
  occ_mean = vasp.occupancy_map(atoms, 'Pt', proj, superimpose='mean', **kw)
  row_layer, row_adatom = int(1.0 / 0.25), int(4.0 / 0.25)     # y = 0 is 1 A below the layer
  col = int(5.0 / 0.25)
  assert occ_max[row_layer].min() == 1.0 and occ_mean[row_layer].min() == 1.0
  assert occ_max[row_adatom, col] == 1.0 and occ_mean[row_adatom, col] == 0.5
  np.testing.assert_array_equal(occ_mean > 0, occ_max > 0)
  one = vasp.occupancy_map(atoms, 'Pt', proj, frame_size=40, radius_a=1.0, n_slices=1)
  np.testing.assert_array_equal(one, occ_max)


# --- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize('kind', ['truncated_vasprun', 'truncated_xdatcar', 'garbage_xdatcar',
                                  'nwrite0_outcar', 'truncated_outcar',
                                  'ase_poscar_without_species', 'empty'])
def test_bad_files_raise_naming_file_and_reason(tmp_path, kind):
  d = os.path.join(tmp_path, kind)
  os.makedirs(d)
  if kind == 'truncated_vasprun':
    fname, data, reason = 'vasprun.xml', open(TI_VASPRUN, 'rb').read()[:80000], 'truncated'
  elif kind == 'truncated_xdatcar':
    fname, data, reason = 'XDATCAR', open(PT_XDATCAR, 'rb').read()[:30000], 'cannot parse'
  elif kind == 'garbage_xdatcar':
    fname, data, reason = 'XDATCAR', b'hello\n', 'no ionic step'
  elif kind == 'nwrite0_outcar':
    fname, data, reason = 'OUTCAR', open(TI_OUTCAR, 'rb').read(), 'positions'
  elif kind == 'truncated_outcar':
    data = open(os.path.join(ASE_TESTDATA, 'OUTCAR_example_1'), 'rb').read()[:100000]
    fname, reason = 'OUTCAR', 'incomplete OUTCAR'
  elif kind == 'ase_poscar_without_species':
    fname = 'POSCAR'
    data, reason = open(os.path.join(ASE_TESTDATA, 'POSCAR_example_1'), 'rb').read(), 'symbols'
  else:
    fname, data, reason = 'vasprun.xml', b'', 'truncated'
  with open(os.path.join(d, fname), 'wb') as f:
    f.write(data)
  with pytest.raises(vasp.VaspReadError, match=reason) as info:
    vasp.read_run(d)
  assert os.path.join(d, fname) in str(info.value)


def test_ase_testdata_single_frames_read(tmp_path):
  for name, metal in [('OUTCAR_example_1', 'Ni'), ('vasprun_pstress.xml', 'C')]:
    run = vasp.read_run(_run_dir(tmp_path, name, os.path.join(ASE_TESTDATA, name)))
    assert len(run.frames) == 1 and metal in run.frames[0].get_chemical_symbols()


def test_config_errors_name_the_field():
  with pytest.raises(ValueError, match='unknown dendrite_vasp config field'):
    dv.make_config('x', metl='Li')
  with pytest.raises(ValueError, match="chemistry='Pt'"):
    dv.make_config('x', metal='Pt')
  with pytest.raises(ValueError, match="on_error='ignore'"):
    dv.make_config('x', on_error='ignore')
  with pytest.raises(ValueError, match="metal='Xx'"):
    dv.make_config('x', metal='Xx', chemistry='Li')


# --- the TFDS builder ---------------------------------------------------------------------------

def _manual_dir(root):
  manual = os.path.join(root, 'manual')
  _growing_li_run(manual, 'li_growth_a')
  _growing_li_run(manual, 'li_growth_b')
  _run_dir(manual, 'broken_outcar', TI_OUTCAR)
  _run_dir(manual, 'single_frame', os.path.join(ASE_TESTDATA, 'vasprun_pstress.xml'))
  return manual


def test_raising_build_leaves_no_loadable_dataset(tmp_path):
  manual = _manual_dir(tmp_path)
  config = _config(metal='Li')
  with pytest.raises(vasp.VaspReadError, match="run 'broken_outcar'.*Ti_aimd_nwrite0_OUTCAR"):
    _build(manual, tmp_path / 'data', config)
  builder = tfds.builder('dendrite_vasp', config=config, data_dir=str(tmp_path / 'data'),
                         file_format='array_record')
  assert not builder.is_prepared()
  assert not os.path.exists(builder.data_dir)        # only an incomplete.* folder, then nothing
  with pytest.raises(KeyError, match='not been generated'):
    builder.as_data_source(split='train')


def test_skipping_build_reports_and_yields_schema_examples(tmp_path):
  manual = _manual_dir(tmp_path)
  builder = _build(manual, tmp_path / 'data', _config(metal='Li', on_error='skip'))
  report = builder.info.metadata['report']
  assert report['runs'] == 4
  assert sorted(report['built']) == ['li_growth_a', 'li_growth_b']
  assert 'Ti_aimd_nwrite0_OUTCAR' in report['skipped']['broken_outcar']
  assert 'no Li atom' in report['skipped']['single_frame']
  expected = {preprocessing.group_split(n) for n in ('li_growth_a', 'li_growth_b')}
  assert set(builder.info.splits) == expected
  features = schema.trajectory_features(64)
  seen = []
  for split in builder.info.splits:
    for ex in builder.as_data_source(split=split):
      assert set(ex) == set(features.keys())
      assert ex['xi'].shape == ex['concentration'].shape == (4, 64, 64)
      assert ex['params'].shape == (parameters.NUM_PARAMETERS,)
      np.testing.assert_array_equal(ex['params_missing'], np.isnan(ex['params']))
      seen.append(int(ex['trajectory_id']))
  assert sorted(seen) == sorted(preprocessing.stable_id(n) for n in ('li_growth_a', 'li_growth_b'))
  # The report survives a reload from disk.
  again = tfds.builder('dendrite_vasp', config=_config(metal='Li', on_error='skip'),
                       data_dir=str(tmp_path / 'data'), file_format='array_record')
  assert again.info.metadata['report']['skipped'].keys() == report['skipped'].keys()


def test_single_frame_runs_skipped_by_min_frames(tmp_path):
  manual = os.path.join(tmp_path, 'manual')
  _run_dir(manual, 'carbon', os.path.join(ASE_TESTDATA, 'vasprun_pstress.xml'))
  _growing_li_run(manual, 'li')
  examples, report = dv.convert_runs(manual, _config(metal='Li', on_error='skip'))
  assert [n for n, _ in examples] == ['li'] and 'no Li atom' in report['skipped']['carbon']
  examples, _ = dv.convert_runs(manual, _config(metal='C', on_error='skip', min_frames=1))
  assert [n for n, _ in examples] == ['carbon'] and examples[0][1]['xi'].shape[0] == 1
  with pytest.raises(ValueError, match='no usable run.*min_frames=2'):
    dv.convert_runs(manual, _config(metal='C', on_error='skip', min_frames=2))
