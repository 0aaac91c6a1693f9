r"""Two tiny settings (CNN-2 and CNN-1 on dendrite_sim/tiny) x 2 folds: the sweep machinery in a
minute.

  python -m experiments.sweep --config configs/sweeps/tiny.py --config.workdir /tmp/sweep_tiny

Each fold trains on half of the train + validation pool and validates (and rolls out) on the
other half, through `data.train_split` / `data.validation_split`. Used by
tests/analysis/test_sweep_tiny.py (on a synthetic dataset; it also interrupts and resumes it).
"""

import ml_collections


def get_config():
  config = ml_collections.ConfigDict()
  config.base_config = 'configs/tiny.py'
  config.workdir = 'runs/sweep_tiny'
  config.num_folds = 2                 # 2-fold cross-validation by trajectory
  config.fold_seed = 0
  config.fold_fields = {'train_split': 'data.train_split',
                        'validation_split': 'data.validation_split'}
  config.common_overrides = {
      'model': {'features': (4, 8), 'film_hidden': (8,)},
      'train': {'num_steps': 4, 'batch_size': 4, 'warmup_steps': 1, 'log_every_steps': 2},
      'eval': {'every_steps': 2, 'batch_size': 4, 'rollout_splits': ('validation',),
               'max_rollout_trajectories': 2},
      'checkpoint': {'every_steps': 2},
      'data': {'prefetch_threads': 0},
  }
  config.metrics = ('best_val_loss', 'splits/validation/length/all/mse')
  config.settings = {'cnn2': {}, 'cnn1': {'overrides': {'model_name': 'cnn1'}}}
  config.order = ('cnn2', 'cnn1')
  return config
