r"""(a) at CPU size: the pulse problem on a 32 x 32 cell (100 um), 60 s limit, 2 seeds x 10 calls.

  python -m experiments.design --config configs/design/pulse_small.py --out reports/design_ps

The figure quoted in the README/report of issue 12 comes from this config (a few CPU minutes);
pulse.py is the full-size problem.
"""

from configs.design import pulse


def get_config():
  config = pulse.get_config()
  config.problem.name = 'pulse protocol (small)'
  config.seeds = (0, 1)
  config.budget_sim_calls = 10
  config.problem.variables.pulse_on_time_s = (0.5, 5.0, 'log')
  config.problem.charge_mah_cm2 = 0.05     # worst corner: 0.25 x 15 mA/cm^2 x 60 s = 0.0625
  config.problem.max_time_s = 60.0
  config.simulation.nx = 32
  config.simulation.ny = 32
  config.simulation.save_every_s = 2.0
  config.controller.pulse_edge_s = 0.05     # one step: on times down to 0.5 s stay square
  config.controller.max_voltage_v = 0.5    # 100 um cell: keeps the migration bound above dt
  return config
