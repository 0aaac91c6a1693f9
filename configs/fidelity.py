r"""Settings of `experiments.sensitivity_fidelity` (surrogate vs simulator elasticities on a panel).

  python -m experiments.sensitivity_fidelity --config configs/fidelity.py --checkpoint W --out D
  python -m experiments.sensitivity_fidelity --out D                       # simulator only
  python -m experiments.sensitivity_fidelity --config configs/fidelity.py:tiny --out D   # CI size

`--config` defaults to this file; flags are only for paths.
"""

import ml_collections


def get_config(variant: str = ''):
  if variant not in ('', 'tiny'):
    raise ValueError(f"configs/fidelity.py: unknown variant {variant!r}; use '' or 'tiny'")
  tiny = variant == 'tiny'
  c = ml_collections.ConfigDict()
  c.num_points = 4 if tiny else 32       # panel size (scrambled Sobol over the training box)
  c.panel_seed = 2026                    # Sobol scrambling of the panel (datasets use 0 and 1)
  # Protocols and chemistries dealt out over the panel in equal shares.
  c.protocols = ('constant_current', 'constant_voltage', 'three_stage')
  c.chemistries = ('Li',)
  c.noise_seed = 0                       # noise key of every simulation (common random numbers)
  c.float64 = True                       # differentiate in float64
  # SimulationConfig fields replacing the dataset's (the checkpoint's dataset, else
  # SimulationConfig.for_dataset()); 'key=value,key=value'.
  c.sim_overrides = 'nx=16,ny=16,t_end_s=60' if tiny else ''
  c.dataset = 'dendrite_sim/small'       # whose simulation settings, when no checkpoint is given
  c.relevant = 0.05                      # |S_phys| at or above which a sign must agree
  c.spurious = 0.3                       # |S_surr| that counts as spurious where |S_phys| is small
  c.bootstrap_samples = 200 if tiny else 1000   # resamples of the panel's points per interval
  c.targets = ml_collections.ConfigDict({  # issue 11's targets for the best arm
      'sign_agreement': 0.9, 'median_abs_diff': 0.1, 'spurious_rate': 0.05})
  return c
