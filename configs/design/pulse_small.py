r"""(a) at CPU size: the pulse problem on a 32 x 32 cell (32 um window), 60 s, 2 seeds x 10 calls.

  python -m experiments.design --config configs/design/pulse_small.py --out reports/design_ps

The figure quoted in the README comes from this config (CPU minutes); pulse.py is the full-size
problem. Q = 0.08 mAh/cm^2: the worst corner (duty 0.5 at 10 mA/cm^2) passes 0.083 in 60 s.
"""

from configs.design import pulse


def get_config():
  config = pulse.get_config()
  config.problem.name = 'pulse protocol (small)'
  config.seeds = (0, 1)
  config.budget_sim_calls = 10
  # On and off times >= 10 pulse edges (0.1 s): the current between pulses stays <= 1.3 % of the
  # amplitude (simulator_adapter: the smoothed pulse).
  config.problem.variables.pulse_on_time_s = (1.0, 5.0, 'log')
  config.problem.charge_mah_cm2 = 0.08
  config.problem.max_time_s = 60.0
  config.problem.baseline = dict(current_ma_cm2=10.0)
  config.simulation.nx = 32
  config.simulation.ny = 32
  config.simulation.save_every_s = 2.0
  return config
