r"""PFHub benchmark 3a (dendritic solidification) with dendrax's anisotropy operator.

  python -m experiments.pfhub3a --config configs/pfhub3a.py --output_dir runs/pfhub3a
  # the measured-equivalent 480^2 corner (same tip to 5 digits up to t = 1500, ~4x faster):
  python -m experiments.pfhub3a --config configs/pfhub3a.py --config.numerics.domain_size=480
  # finer grid (closer to the grid-converged answer, farther from the MOOSE reference):
  python -m experiments.pfhub3a --config configs/pfhub3a.py --config.numerics.dx=0.8 \
      --config.numerics.dt=0.08

dx = 1 W0 is the resolution of the reference itself (MOOSE, uniform 960 x 960 Q1 mesh); see
docs/benchmarks.md for the convergence study and what the 3% agreement does and does not mean.
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()

  # Physical parameters (dendrax.physics.pfhub3a.PFHub3aParams): the benchmark's values.
  config.params = ml_collections.ConfigDict()
  config.params.w0 = 1.0                 # interface width W0 (length unit)
  config.params.tau0 = 1.0               # relaxation time tau0 (time unit)
  config.params.eps4 = 0.05              # anisotropy strength epsilon_4
  config.params.diffusivity = 10.0       # thermal diffusivity D
  config.params.undercooling = -0.3      # Delta = U(t = 0)
  config.params.seed_radius = 8.0        # radius of the phi = 0 contour of the quarter seed

  # Discretisation (dendrax.physics.pfhub3a.PFHub3aNumerics).
  config.numerics = ml_collections.ConfigDict()
  config.numerics.domain_size = 960.0    # side of the computed square (benchmark: 960)
  config.numerics.dx = 1.0               # cell size, units of W0
  config.numerics.dt = 0.125             # phi step, units of tau0 (halving it: 0.05% tip change)
  config.numerics.diffusion_substeps = 0  # U sub-steps per phi step; 0: fewest stable (6 here)
  config.numerics.mode = 4               # symmetry order of a(n)
  config.numerics.dtype = 'float32'      # float32 | float64 (float64 enables jax_enable_x64)

  config.t_end = 1500.0                  # benchmark end time
  config.save_every = 10.0               # observable sampling interval (reference: ~10)
  config.report_times = (500.0, 1000.0, 1500.0)  # times at which tip errors are printed
  config.target_rel_error = 0.03         # tip-position target at t = 500 and 1000
  config.reference_domain_size = 960.0   # solid fraction = solid area / this^2 (benchmark)
  config.reference_csv = 'tests/data/pfhub_bm3a_chimad3_moose.csv'  # relative to the repo root
  return config
