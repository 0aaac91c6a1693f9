r"""Convergence of the dataset preset in dt, dx and interface width (`experiments.dataset_convergence`).

  python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out D
  python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out D \
      --config.variants='("dt=0.1", "dt=0.05", "dx=0.5", "dx=0.5,width=1.25")' \
      --config.chemistry=Zn

Each variant is `SimulationConfig.for_dataset` with its overrides, comma-separated items:
`dt=X` (dt_s), `dx=X` (dx_um, grid scaled to keep the 64 um window and the nuclei), `width=X`
(interface_width_um), and the numerics items of `experiments.dataset_convergence`.

Past Sand's time the length at 210 s depends on the noise draw and on rounding (a batch of
another size gives other lengths), so `noise_keys` > 1 runs each case with that many draws and
compares the means, with their standard errors:

  python -m experiments.dataset_convergence --config configs/dataset_convergence.py --out D \
      --config.protocol=constant_current --config.cases='(2,)' --config.noise_keys=8
"""

import ml_collections


def get_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.variants = ('dt=0.1', 'dt=0.05', 'dt=0.025')   # run in this order; changes printed pairwise
  config.chemistry = 'Li'                               # dendrax.physics.parameters.CHEMISTRIES
  config.protocol = 'three_stage'                       # dendrax.physics.parameters.PROTOCOLS
  config.cases = ()          # indices into experiments.dataset_convergence.CASES; () = all four
  config.noise_keys = 1      # noise draws per case (1: the fixed draws of every table so far)
  return config
