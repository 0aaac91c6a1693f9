r"""(c') Multistep fast charging past the limiting current: eight step currents, 8 variables.

  python -m experiments.design --config configs/design/multistep_resolved.py --out D

Attia et al. 2020 (Nature 578, 397) optimise multistep charging: each step's current is held
while it passes a fixed share of the charge. Here eight steps each pass Q / 8 = 0.125 mAh/cm^2,
at currents of 18-50 mA/cm^2 (log), so each step's duration, and with it every switch time, moves
with its current, and every step runs before the charge Q is reached (none is idle by
construction, as the first switch time of `three_stage_resolved` was when its first two stages
were equal; a requested current above what the 0.5 V cutoff lets pass, ~22 mA/cm^2, is still a
flat direction: docs/design.md, "Multistep charging").
The cell, grid, step, Q and baseline are `three_stage_resolved`'s (pulse_resolved's: Li, 1 M,
3 nuclei; 64 x 128 cells of 0.5 um, l = 1.25 um, dt 0.05 s; Q = 1 mAh/cm^2 within 210 s; 24 salt
PCG iterations; limiting current ~20 mA/cm^2): every corner passes Q in time (eight steps at 18
mA/cm^2 take 200 s). Eight variables against three_stage_resolved's five: the dimension where a
gradient, which costs the same whatever the dimension, should gain most on Bayesian optimisation
(written before the runs; measured, it did not: plateaus and vertex minima, docs/design.md).
The lengths past Sand's time are not converged in dt (docs/physics.md): this compares methods on
one discrete model. The surrogate method is not applicable (CNN-2 has no input for a schedule).
Switch width 1 s (20 steps): a step lasts 9-25 s.
"""

from configs.design import three_stage_resolved

NUM_STEPS = 8


def get_config():
  config = three_stage_resolved.get_config()
  config.problem.name = 'multistep charging past the limiting current (8 steps, equal charge)'
  config.problem.protocol = 'multistep'
  config.problem.variables = {f'step{k}_current_ma_cm2': (18.0, 50.0, 'log')
                              for k in range(1, NUM_STEPS + 1)}
  config.problem.fixed.step_charge_mah_cm2 = config.problem.charge_mah_cm2 / NUM_STEPS
  config.schedule.switch_width_s = 1.0
  return config
