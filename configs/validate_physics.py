r"""Validation of the electroneutral model against analytic electrochemistry (docs/validation.md).

  python -m experiments.validate_physics --config configs/validate_physics.py --out runs/validation
  python -m experiments.validate_physics --config configs/validate_physics.py --out /tmp/v \
      --config.sand.current_density_ma_cm2=5 --config.sand.ion_concentration_mol_m3=500 \
      --config.checks=sand

Writes OUT/validation.json: one entry per check (measured, reference, rel_error, tolerance,
passed, kind, inputs in SI units). Tolerances are those of issue 9; do not widen them.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  # Comma-separated subset of: sand, sand_transition, cottrell, limiting_current, tafel, faraday,
  # mms.
  c.checks = 'sand,sand_transition,cottrell,limiting_current,tafel,faraday,mms'
  c.chemistry = 'Li'                     # electrolytes.ELECTROLYTES key

  c.sand = ml_collections.ConfigDict()
  c.sand.current_density_ma_cm2 = 20.0   # central galvanostatic J, mA/cm^2
  # J runs at these multiples (>= 3 values): 5, 10, 20, 40 mA/cm^2.
  c.sand.current_density_factors = (0.25, 0.5, 1.0, 2.0)
  c.sand.ion_concentration_mol_m3 = 1000.0  # bulk salt c0, mol/m^3
  c.sand.dx_um = 1.0                     # cell size, um
  c.sand.interface_width_um = 2.5        # diffuse-interface width l (the dataset's), um
  c.sand.electrode_height_um = 2.5       # initial metal slab (thin: see docs/validation.md)
  c.sand.height_factor = 5.0             # domain height above the electrode / sqrt(D t_Sand)
  # dt = t_Sand / this (or 0.9 x the accuracy bound, if smaller). Converged in dt at 2000: at
  # 40 mA/cm^2 the measured time is 39.70 / 40.28 / 40.38 s at 500 / 2000 / 4000 steps.
  c.sand.steps_per_sand_time = 2000
  # ... and one step takes at most this fraction of the interface's salt c0 l (binds below
  # ~10 mA/cm^2 at 1 M). Measured: 0.16 of it per step puts t_S 5-6 % early (5 mA/cm^2 at 2000
  # steps, 10 mA/cm^2 at 500), 0.08 within 1.1 % at both.
  c.sand.max_depletion_per_step = 0.08
  c.sand.end_fraction = 1.06             # run to this * t_Sand
  c.sand.solver_iterations = 15          # PCG iterations (salt, potential) per step
  c.sand.tolerance = 0.05                # |t / t_Sand - 1|

  # Bai et al. 2016: tip-growing dendrites take over at Sand's time. Seeded nuclei and noise on a
  # 2-D strip; the crossover is where the tallest deposit first outruns the mean front by
  # tip_ratio (speeds over window_fraction t_S), searched from search_from_fraction t_S.
  c.sand_transition = ml_collections.ConfigDict()
  c.sand_transition.current_densities_ma_cm2 = (20.0, 30.0, 40.0)  # J sweep at fixed c0
  c.sand_transition.ion_concentration_mol_m3 = 1000.0
  c.sand_transition.width_um = 32.0          # electrode width (x periodic)
  c.sand_transition.dx_um = 1.0
  c.sand_transition.interface_width_um = 2.5  # the dataset's l
  c.sand_transition.electrode_height_um = 6.0
  c.sand_transition.nuclei = 2               # seeded hemispherical nuclei
  c.sand_transition.nucleus_radius_um = 3.0
  c.sand_transition.noise = 0.1              # reaction-rate noise amplitude
  c.sand_transition.profile_relaxation_per_s = 0.02  # the dataset's (faster pins the front)
  c.sand_transition.height_factor = 4.0      # bulk top at this * sqrt(D t_S) above the electrode
  # Past t_S the galvanostatic potential sits at the cutoff and the reaction is stiff: the tip
  # speed ratio is not converged in dt at 400 steps. Measured at 40 mA/cm^2 (crossover / t_S):
  # none / none / 1.54 / 1.41 / 1.31 at 400 / 1600 / 3200 / 6400 / 12800 steps (docs/validation.md).
  c.sand_transition.steps_per_sand_time = 6400
  c.sand_transition.end_fraction = 2.0       # run to this * t_S
  c.sand_transition.max_voltage_v = 2.0      # cutoff of the galvanostatic potential, V
  c.sand_transition.solver_iterations = 12   # PCG iterations per solve
  # Where the reaction acts and where the salt's sink is taken (SimulationConfig.reaction_xi_min,
  # .salt_sink): the defaults are the dataset's up to 2.5.0; 0.1 and 'implicit' the converged
  # scheme of docs/physics.md ("Past Sand's time: a converged scheme").
  c.sand_transition.reaction_xi_min = 1e-3
  c.sand_transition.salt_sink = 'split'
  # The implicit sink's closure (SimulationConfig.sink_final_solve, .sink_derivative_iterations;
  # 0: half the solver's iterations): False and 6 are the cheaper closure of docs/physics.md.
  c.sand_transition.sink_final_solve = True
  c.sand_transition.sink_derivative_iterations = 0
  c.sand_transition.dtype = 'float32'
  c.sand_transition.window_fraction = 0.1    # speeds over this * t_S
  c.sand_transition.search_from_fraction = 0.25  # ignore the start-up of the nuclei
  c.sand_transition.tip_ratio = 2.0          # tip-dominated: v_tip >= 2 v_mean
  c.sand_transition.factor = 1.5             # issue 9: crossover within 1.5x of t_Sand

  c.cottrell = ml_collections.ConfigDict()
  # Electrode potential vs the bulk reference, V: deep enough that the surface concentration is
  # ~0 from the first second (Cottrell's condition). At -0.8 V the start is ohmically limited and
  # the current stays above Cottrell, by 9.5 % at 10 s decaying to 2.3 % at 58 s (docs/validation.md).
  c.cottrell.voltage_v = -1.6
  c.cottrell.concentration_mol_m3 = 1000.0  # c0, mol/m^3
  c.cottrell.dx_um = 1.0                 # cell size, um
  c.cottrell.interface_width_um = 2.5    # l, um
  c.cottrell.electrode_height_um = 2.5   # initial metal slab, um
  c.cottrell.height_um = 450.0           # domain height (>= sqrt(6 D t_end)), um
  c.cottrell.dt_s = 0.05                 # time step, s
  c.cottrell.t_start_s = 10.0            # window start: sqrt(pi D t) = 100 um >> l, s
  c.cottrell.t_end_s = 60.0              # window end, s
  c.cottrell.record_every_s = 1.0        # sampling of the current, s
  c.cottrell.solver_iterations = 15      # PCG iterations per step
  c.cottrell.coupling_iterations = 4     # Newton iterations of the potential-reaction coupling
  c.cottrell.tolerance = 0.05            # max |i / i_Cottrell - 1| over the window

  c.limiting_current = ml_collections.ConfigDict()
  c.limiting_current.current_density_ma_cm2 = 35.0  # galvanostatic J = 0.7 i_lim at L = 100 um
  c.limiting_current.concentration_mol_m3 = 1000.0  # c0, mol/m^3
  c.limiting_current.length_um = 100.0   # bulk (c = c0) face above the initial interface, um
  c.limiting_current.dx_um = 1.0         # um
  c.limiting_current.interface_width_um = 2.5  # um
  c.limiting_current.electrode_height_um = 2.5  # um
  c.limiting_current.dt_s = 0.05         # s
  c.limiting_current.t_end_s = 60.0      # ~2 L^2 / D: the slowest mode has decayed ~e^-5
  c.limiting_current.solver_iterations = 15
  c.limiting_current.tolerance = 0.05    # |i / i_lim - 1|

  c.tafel = ml_collections.ConfigDict()
  c.tafel.current_densities_ma_cm2 = (2.0, 5.0, 10.0, 20.0, 50.0)  # galvanostatic steps
  c.tafel.concentration_mol_m3 = 1000.0  # c0, mol/m^3
  c.tafel.temperature_k = 298.15         # K
  c.tafel.dx_um = 0.25                   # fine: eta read at the xi = 1/2 level, um
  c.tafel.interface_width_um = 0.5       # um
  c.tafel.electrode_height_um = 1.0      # um
  c.tafel.height_um = 40.0               # um (>> sqrt(D t_s))
  c.tafel.dt_s = 0.005                   # s
  c.tafel.t_s = 0.1                      # measurement time (c~ at the interface still ~1), s
  c.tafel.solver_iterations = 20
  c.tafel.tolerance = 0.02               # |slope / (ln10 RT / (alpha z F)) - 1|

  c.faraday = ml_collections.ConfigDict()
  c.faraday.n = 32                       # 2-D grid n x n with two nuclei
  c.faraday.dx_um = 1.0                  # um
  c.faraday.interface_width_um = 2.5     # um
  c.faraday.dt_s = 0.05                  # s
  c.faraday.t_end_s = 20.0               # s
  c.faraday.current_density_ma_cm2 = 20.0  # mA/cm^2
  c.faraday.potential_iterations = 8     # as the dataset preset
  c.faraday.tolerance = 1e-3             # |metal / (Q / zF) - 1|

  c.mms = ml_collections.ConfigDict()
  c.mms.grids = (8, 16, 32)              # ny = nx for the space order (dt ~ dx^2)
  c.mms.space_dt_factor = 0.5            # dt = this * dx^2 (units of the MMS problem)
  c.mms.time_steps = (4, 8, 16)          # steps to t_end for the time order
  c.mms.time_grid = 64                   # grid of the time-order runs (differences cancel it)
  c.mms.t_end = 0.25                     # end time (MMS units)
  c.mms.min_space_order = 1.8
  c.mms.min_time_order = 0.9
  return c
