r"""Two tiny settings (CNN-2 and CNN-1 on dendrite_sim/tiny) x 2 folds: the sweep machinery in a
minute.

  python -m experiments.sweep --config configs/sweeps/tiny.py --config.workdir /tmp/sweep_tiny

Nested: each fold holds half of the train + validation pool out ('heldout', scored once at the
end), early-stops and selects on an inner 20 % and trains on the remaining 30 %, through
`data.train_split` / `data.validation_split` / `data.heldout_split`. Used by
tests/analysis/test_sweep_tiny.py (on a synthetic dataset; it also interrupts and resumes it).
"""

import ml_collections


def get_config():
  config = ml_collections.ConfigDict()
  config.base_config = 'configs/tiny.py'
  config.workdir = 'runs/sweep_tiny'
  config.num_folds = 2                 # 2-fold cross-validation by trajectory
  config.fold_seed = 0
  config.inner_validation_percent = 20  # nested: train 30 %, inner validation 20 %, held out 50 %
  config.fold_fields = {'train_split': 'data.train_split',
                        'validation_split': 'data.validation_split',
                        'heldout_split': 'data.heldout_split'}
  config.common_overrides = {
      'model': {'features': (4, 8), 'film_hidden': (8,)},
      'train': {'num_steps': 4, 'batch_size': 4, 'warmup_steps': 1, 'log_every_steps': 2},
      'eval': {'every_steps': 2, 'batch_size': 4, 'rollout_splits': ('validation', 'heldout'),
               'max_rollout_trajectories': 2, 'bootstrap_samples': 50},
      'data': {'prefetch_threads': 0},
  }
  config.metrics = ('validation_at_checkpoint/loss',
                    'splits/heldout/marks/all/length_mse_um2/value')
  config.metric_labels = {
      'validation_at_checkpoint/loss': 'one-step inner-validation loss at the selected step',
      'splits/heldout/marks/all/length_mse_um2/value': 'length MSE (um^2), held-out fold'}
  config.settings = {'cnn2': {}, 'cnn1': {'overrides': {'model_name': 'cnn1'}}}
  config.order = ('cnn2', 'cnn1')
  return config
