r"""(c) The three-stage schedule past the limiting current, on pulse_resolved's grid: 5 variables.

  python -m experiments.design --config configs/design/three_stage_resolved.py --out D

The cell, grid, step and charge of `pulse_resolved` (Li, 1 M, 3 nuclei; 64 x 128 cells of 0.5
um, l = 1.25 um, dt 0.05 s; Q = 1 mAh/cm^2 within 210 s; limiting current ~20 mA/cm^2), with
the three stage currents (18-50 mA/cm^2, log: every corner passes Q in time on its nominal
schedule, 18 x 210 s = 1.05 mAh/cm^2) and the two switch times as the design. Five variables
against pulse_resolved's three: where a gradient method could gain on Bayesian optimisation.
The lengths past Sand's time are not converged in dt (docs/physics.md): this compares methods on
one discrete model. The surrogate method is not applicable (CNN-2 has no input for stage
currents or switch times). 2 seeds x 10 calls. Float32, as pulse_resolved: with the same noise
draw in both precisions the centre's length at Q is 8.1856 um in float32 and 8.1782 in float64
(session 25's 8.180 against 7.393 compared two noise realisations; docs/design.md).
"""

from configs.design import pulse_resolved
from configs.design import three_stage


def get_config():
  config = three_stage.get_config()
  resolved = pulse_resolved.get_config()
  config.problem.name = 'three-stage schedule past the limiting current (half interface width)'
  config.methods = ('lbfgsb', 'gradient', 'bayesian', 'random')
  config.seeds = (0, 1)
  config.budget_sim_calls = 10
  for k in (1, 2, 3):
    config.problem.variables[f'stage{k}_current_ma_cm2'] = (18.0, 50.0, 'log')
  config.problem.charge_mah_cm2 = resolved.problem.charge_mah_cm2
  config.problem.max_time_s = resolved.problem.max_time_s
  config.problem.baseline = dict(resolved.problem.baseline)
  config.simulation = resolved.simulation
  return config
