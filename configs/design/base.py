r"""Defaults of every design problem (`python -m experiments.design`); variants override them.

Not a problem by itself: use pulse.py, electrolyte.py, three_stage.py or tiny.py.
"""

import ml_collections


def get_config():
  config = ml_collections.ConfigDict()
  # Run side by side, each with the same budget of simulator calls.
  config.methods = ('gradient', 'lbfgsb', 'surrogate_gradient', 'bayesian', 'random')
  config.seeds = (0, 1, 2)                 # each method runs once per seed (see `start`)
  config.budget_sim_calls = 30             # simulator calls per method and seed
  config.noise_seed = 0                    # nuclei + noise key, the same for every run
  # Every method's and seed's first point, {variable: value} for every variable (a protocol run
  # today, say); empty: a uniform point per seed (`methods.start_point`).
  config.start = ml_collections.ConfigDict()
  config.float64 = False                   # simulate and differentiate in float64
  # Before the methods run: the objective at the box's centre with both solves' PCG iterations
  # doubled and the potential-reaction coupling at >= 4 Newton iterations may differ by at most
  # this (relative; a tenth of the 2 % target), or the run stops.
  config.solver_check_max_relative_change = 0.002
  # ... and its gradient must keep its direction: cosine with the fine gradient at least this
  # (the change of its magnitude is reported: 8-19 % past the limiting current, docs/design.md).
  config.solver_check_min_gradient_cosine = 0.95

  config.problem = ml_collections.ConfigDict()
  config.problem.name = 'base'             # label in the report
  config.problem.protocol = 'constant_current'  # simulator_adapter.PROTOCOLS
  # name -> (low, high, 'linear' | 'log'), units of simulator_adapter.UNITS.
  config.problem.variables = ml_collections.ConfigDict()
  config.problem.fixed = ml_collections.ConfigDict()   # values not designed (same units)
  config.problem.charge_mah_cm2 = 0.25     # Q: the length is compared when this charge passed
  config.problem.max_time_s = 210.0        # charging time limit (the simulation's end), s
  # The constant-current baseline: current (mA/cm^2) and any physical values differing from fixed.
  config.problem.baseline = ml_collections.ConfigDict({'current_ma_cm2': 5.0})

  # SimulationConfig.for_dataset overrides (the electroneutral dataset cell: grid, dt, frames,
  # cutoff max_voltage_v); protocol/t_end_s are set by the design adapter. 8 PCG iterations per
  # solve, as sensitivity_study.MIN_SOLVER_ITERATIONS_FOR_DERIVATIVES; a problem past the limiting
  # current may need more salt iterations: solver_check_max_relative_change says when.
  config.simulation = ml_collections.ConfigDict(dict(
      potential_iterations=8, transport_iterations=8, save_every_s=5.0,
      checkpoint_every_steps=50))

  # The schedule i(t) is smooth so that derivatives reach times (simulator_adapter).
  config.schedule = ml_collections.ConfigDict()
  config.schedule.pulse_edge_s = 0.1       # smoothing time of the pulse edges, s (~1 dt)
  config.schedule.switch_width_s = 2.0     # width of the sigmoid stage switches, s

  config.gradient = ml_collections.ConfigDict()
  config.gradient.learning_rate = 0.3      # first Adam step in unit-box coordinates
  config.gradient.final_fraction = 0.1     # cosine decay of the step to this fraction at the budget

  config.lbfgsb = ml_collections.ConfigDict()
  config.lbfgsb.memory = 10                # L-BFGS-B correction pairs (scipy's maxcor)
  config.lbfgsb.min_step = 1e-3            # restart, not simulate, a point this near a done one

  config.surrogate = ml_collections.ConfigDict()
  config.surrogate.learning_rate = 0.1     # Adam step on CNN-2 in unit-box coordinates
  config.surrogate.steps_per_verification = 5   # surrogate steps between simulator checks
  config.surrogate.shrink = 0.5            # step factor after a candidate that did not improve
  config.surrogate.frame_interval_s = 30.0  # frame interval CNN-2 was trained on (horizon unit)

  config.bayesian = ml_collections.ConfigDict()
  config.bayesian.init_points = 4          # uniform points (the first: the common start)
  config.bayesian.xi = 0.01                # expected-improvement exploration
  return config
