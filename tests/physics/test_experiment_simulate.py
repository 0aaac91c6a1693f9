"""experiments.simulate writes frames.npz, observables.csv (0..210 s, length_um), png and gif
(configs/simulate_li.py: the electroneutral model, three-stage charging)."""

import csv
import os

import numpy as np

from configs import simulate_li
from dendrax import files
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
  assert {'density', 'branches', 'interface_length_um', 'charge_c_per_m2', 'stage'} <= set(rows[0])
  frames = np.load(os.path.join(workdir, 'frames.npz'))
  assert frames['xi'].shape == (8, 12, 12)
  assert not [p for p in os.listdir(workdir) if p.startswith(files.TEMP_PREFIX)]   # atomic writes
