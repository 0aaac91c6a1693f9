"""experiments.simulate writes frames.npz, observables.csv (0..210 s, length_um), png and gif
(configs/simulate_li.py: the electroneutral model, three-stage charging), and records a short
circuit in the CSV, the log and the frame titles."""

import csv
import logging
import os

import numpy as np

from configs import simulate_li
from dendrax import files
from dendrax.analysis import figures
from experiments import simulate as simulate_experiment


def test_writes_all_outputs_with_rows_0_to_210(tmp_path):
  config = simulate_li.get_config()
  config.sim.update(dict(nx=12, ny=12, dx_um=4.0, dt_s=0.15, interface_width_um=9.0,
                         electrode_height_um=12.0, defect_radius_um=6.0, max_defects=3,
                         potential_iterations=1, transport_iterations=1,
                         initial_potential_iterations=10, checkpoint_every_steps=50))
  config.params.field_strength_kv_per_m = 0.1         # 10 mA/cm^2 (electroneutral default model)
  workdir = str(tmp_path / 'run')
  simulate_experiment.simulate_and_write(config, workdir)
  for name in ('frames.npz', 'observables.csv', 'growth.png', 'growth.gif'):
    assert os.path.getsize(os.path.join(workdir, name)) > 0, name
  with open(os.path.join(workdir, 'observables.csv')) as f:
    rows = list(csv.DictReader(f))
  assert [float(r['time_s']) for r in rows] == [30.0 * i for i in range(8)]
  lengths = np.array([float(r['length_um']) for r in rows])
  charge = np.array([float(r['charge_c_per_m2']) for r in rows])
  assert np.isfinite(lengths).all() and charge[0] == 0.0 and charge[-1] > 0.0
  # 1 mAh/cm^2 = 3.6 C per 1e-4 m^2 = 36000 C/m^2.
  np.testing.assert_allclose([float(r['charge_mah_cm2']) for r in rows], charge / 36000.0,
                             rtol=1e-5)
  assert {'density', 'branches', 'interface_length_um', 'charge_c_per_m2', 'stage'} <= set(rows[0])
  # 10 mA/cm^2 stays below the limiting current: no diffuse cloud.
  assert all(0.0 <= float(r['diffuse_deposit_fraction']) < 0.05 for r in rows)
  frames = np.load(os.path.join(workdir, 'frames.npz'))
  assert frames['xi'].shape == (8, 12, 12)
  assert not [p for p in os.listdir(workdir) if p.startswith(files.TEMP_PREFIX)]   # atomic writes


def test_a_short_is_an_event_in_the_csv_the_log_and_the_frame_titles(tmp_path, monkeypatch,
                                                                      caplog):
  """Forced short (tiny grid, 50 mA/cm^2, short at 0.4 H: measured between 60 and 90 s): the CSV
  flags every row from the short on, whose fields, length and charge repeat and whose current is
  0 (a shorted cell stops plating); the log warns; every PNG / GIF frame from the short on is
  titled 'shorted by t = X s:' / 'frozen' (checked on the titles, not the pixels)."""
  config = simulate_li.get_config()
  config.sim.update(dict(nx=12, ny=12, dx_um=4.0, dt_s=0.15, interface_width_um=9.0,
                         electrode_height_um=12.0, defect_radius_um=6.0, max_defects=3,
                         potential_iterations=1, transport_iterations=1,
                         initial_potential_iterations=10, checkpoint_every_steps=50,
                         protocol='constant_current', cc_current_fraction=1.0,
                         short_circuit_fraction=0.4))
  config.params.field_strength_kv_per_m = 0.5
  drawn = {}
  for name in ('growth_strip', 'growth_animation'):
    real = getattr(figures, name)
    def spy(*args, _real=real, _name=name, **kwargs):
      drawn[_name] = kwargs.get('shorted_from_s')
      return _real(*args, **kwargs)
    monkeypatch.setattr(figures, name, spy)
  workdir = str(tmp_path / 'run')
  with caplog.at_level(logging.WARNING):
    simulate_experiment.simulate_and_write(config, workdir)

  with open(os.path.join(workdir, 'observables.csv')) as f:
    rows = list(csv.DictReader(f))
  shorted = np.array([r['shorted'] == 'True' for r in rows])
  time_s = np.array([float(r['time_s']) for r in rows])
  first = int(np.argmax(shorted))
  assert 0 < first < len(rows) - 1 and shorted[first:].all() and not shorted[:first].any()
  t_short = simulate_experiment.short_time_s(time_s, shorted)
  assert t_short == time_s[first]
  after = rows[first:]
  for key in ('length_um', 'charge_c_per_m2', 'density'):
    assert len({r[key] for r in after}) == 1, key                # frozen
  assert all(float(r['current_a_m2']) == 0.0 for r in after)
  assert float(rows[first - 1]['current_a_m2']) > 0.0
  frames = np.load(os.path.join(workdir, 'frames.npz'))
  np.testing.assert_array_equal(frames['xi'][first:], frames['xi'][-1:].repeat(len(after), 0))

  assert any(f'before t = {t_short:g} s' in r.getMessage() and 'shorted' in r.getMessage()
             for r in caplog.records if r.levelno == logging.WARNING)

  assert drawn == {'growth_strip': t_short, 'growth_animation': t_short}
  titles = figures.frame_titles(time_s, shorted_from_s=t_short)
  label = f'shorted by t = {t_short:.0f} s:\nfrozen'
  assert all(label in t for t in titles[first:]) and not any('shorted' in t for t in titles[:first])
  assert figures.frame_titles(time_s) == [f'{t:.0f} s' for t in time_s]   # no short, no label
