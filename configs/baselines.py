r"""Settings of `experiments.baselines` (random forest and SVM against the CNNs, simulator cost).

  python -m experiments.baselines --checkpoint workdirs/cnn2 --cnn1_checkpoint workdirs/cnn1 \
      --out reports/baselines
  python -m experiments.baselines --out reports/baselines --config.dataset=dendrite_sim/small

`--config` defaults to this file; flags are only for paths.
"""

import ml_collections


def get_config():
  config = ml_collections.ConfigDict()
  config.dataset = ''                    # '' = the checkpoint's dataset (needed without a checkpoint)
  config.build_data = False            # build the dataset if no folder holds it (else an error says how)
  config.splits = ('validation', 'test', 'ood')  # scored besides train (those the dataset has)
  config.max_trajectories = 0            # per split; 0 = all
  config.batch_size = 16                 # trajectories per rollout call
  config.bootstrap_samples = 1000        # resamples of the trajectories for the 95 % intervals
  config.bootstrap_seed = 0
  config.sim_trajectories = 2            # trajectories to time the simulator on (0: skip)

  config.random_forest = ml_collections.ConfigDict()
  config.random_forest.n_estimators = 200
  config.random_forest.min_samples_leaf = 1
  config.random_forest.seed = 0

  config.svm = ml_collections.ConfigDict()
  config.svm.c = 100.0                   # regularisation C
  config.svm.epsilon = 0.1               # epsilon tube (um)
  return config
