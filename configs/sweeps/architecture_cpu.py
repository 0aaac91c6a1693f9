r"""CNN-2 vs CNN-1 vs concat, 2-fold cross-validated by trajectory, sized for a 2-core CPU (~25 min).

  python -m experiments.sweep --config configs/sweeps/architecture_cpu.py

The architecture rows of `ablation.py` (nested cross-validation: the held-out fold is scored
once and plays no part in early stopping or selection) with 500 optimiser steps per run instead
of 2000 and 2 folds instead of 5, so the comparison, with its spread over folds, can be measured without a
GPU. Use `ablation.py` for the full grid.
"""

from configs.sweeps import ablation


def get_config():
  config = ablation.get_config()
  config.workdir = 'runs/architecture_cpu'
  config.num_folds = 2
  # 2 folds of 70 trajectories: each run trains on 35 % of the pool, early-stops and selects on
  # the inner 15 % and is scored on the held-out 50 %.
  config.inner_validation_percent = 15
  config.common_overrides = {'eval': {'rollout_splits': ('validation', 'heldout', 'test'),
                                      'every_steps': 250},
                             'train': {'num_steps': 500, 'warmup_steps': 50}}
  config.settings = {k: config.settings[k] for k in ('cnn2', 'cnn1', 'concat')}
  config.order = ('cnn2', 'cnn1', 'concat')
  return config
