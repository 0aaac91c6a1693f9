r"""Settings of `experiments.long_horizon` (rollouts to twice the training horizon).

  python -m experiments.long_horizon --checkpoint workdirs/cnn2 --out reports/long_horizon

`--config` defaults to this file; flags are only for paths.
"""

import ml_collections


def get_config():
  c = ml_collections.ConfigDict()
  c.dataset = 'dendrite_sim/small_long'  # held-out trajectories of the checkpoint's dataset, run longer
  c.split = 'test'
  c.batch_size = 16                      # trajectories per rollout call
  c.bootstrap_samples = 1000             # resamples of the trajectories for the 95 % intervals
  c.bootstrap_seed = 0
  c.r_threshold = 0.9                    # report the first mark whose length R falls below this
  return c
