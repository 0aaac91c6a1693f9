r"""Settings of `experiments.dataset_stats` (physical statistics of a built dendrite_sim dataset).

  python -m experiments.dataset_stats --out reports/dataset_stats
  python -m experiments.dataset_stats --out reports/stats_medium --config.dataset=dendrite_sim/medium

`--config` defaults to this file; flags are only for paths (--out, --data_dir).
"""

import ml_collections


def get_config():
  config = ml_collections.ConfigDict()
  config.dataset = 'dendrite_sim/small'   # TFDS name (never built here: a missing one is an error)
  config.splits = ('train', 'validation', 'test', 'ood')   # summarised (those the dataset has)
  config.bootstrap_samples = 1000         # resamples of the trajectories for the 95 % intervals
  config.bootstrap_seed = 0
  return config
