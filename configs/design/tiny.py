r"""CI-sized problem: 16 x 16 cell, 6 s, two electrolyte variables, all five methods in minutes.

  python -m experiments.design --config configs/design/tiny.py --out /tmp/design_tiny \
      [--checkpoint workdirs/tiny]

Constant current 40 mA/cm^2 (Sand's time at the 0.5 M corner ~10 s, after the 6 s run). Without
--checkpoint the surrogate method is reported as skipped; the test passes a small saved CNN-2.
"""

from configs.design import base


def get_config():
  config = base.get_config()
  config.seeds = (0, 1)
  config.budget_sim_calls = 6
  config.problem.name = 'tiny electrolyte'
  config.problem.protocol = 'constant_current'
  config.problem.variables.surface_energy_j_m2 = (0.2, 1.0, 'log')
  config.problem.variables.ion_concentration_mol_m3 = (500.0, 2000.0, 'log')
  config.problem.fixed.current_ma_cm2 = 40.0
  config.problem.fixed.temperature_k = 298.15
  config.problem.fixed.fluidity_per_pa_s = 316.2
  config.problem.fixed.n_defects = 3.0
  config.problem.charge_mah_cm2 = 0.05
  config.problem.max_time_s = 6.0
  config.problem.baseline = dict(current_ma_cm2=40.0, surface_energy_j_m2=0.5,
                                 ion_concentration_mol_m3=1000.0)
  config.simulation.nx = 16
  config.simulation.ny = 16
  config.simulation.save_every_s = 0.5
  config.simulation.checkpoint_every_steps = 10
  config.schedule.switch_width_s = 0.5
  config.schedule.pulse_edge_s = 0.05
  config.surrogate.frame_interval_s = 0.5
  config.surrogate.steps_per_verification = 3
  config.bayesian.init_points = 3
  return config
