r"""The ablation grid of the paper's CNNs, each setting 5-fold cross-validated by trajectory.

  python -m experiments.sweep --config configs/sweeps/ablation.py
  python -m experiments.sweep --config configs/sweeps/ablation.py --dry_run   # list the runs

Settings (each overrides configs/default.py, CNN-2 on dendrite_sim/small):
  * architecture: cnn2 (FiLM), cnn1 (images only), concat (parameters as input channels);
  * leave one parameter out: CNN-2 with one of the seven physical parameters hidden (treated as
    missing in the conditioning, in training and evaluation): loo_<parameter>;
  * depth and width of the UNet: depth3/depth4 (fewer levels), width_half/width_double;
  * loss: mse only, mse + bce, Barron's robust loss + squared dice, mse + the linear dice.
17 settings x 5 folds = 85 runs; one workdir each under `workdir`.
"""

import ml_collections

from dendrax.physics import parameters

FEATURES = (16, 32, 64, 96, 128)     # configs/default.py's UNet channels per level
_ALL = 'marks/all'
METRICS = {
    f'splits/heldout/{_ALL}/length_r/value':
        'length R, held-out fold (no part in training or selection: unbiased)',
    f'splits/heldout/{_ALL}/length_r2/value': 'length R^2, held-out fold',
    f'splits/heldout/{_ALL}/length_mse_um2/value': 'length MSE (um^2), held-out fold',
    f'splits/heldout/{_ALL}/xi_vrmse/value': 'xi VRMSE, held-out fold',
    'validation_at_checkpoint/rollout_length_mse':
        'inner-validation rollout length MSE of the selected checkpoint (what selected it: '
        'optimistic)',
    'validation_at_checkpoint/loss':
        'one-step inner-validation loss of the selected checkpoint (not what selected it)',
    f'splits/test/{_ALL}/length_r/value': 'length R, test split (the same for every fold)',
}


def get_config():
  config = ml_collections.ConfigDict()
  config.base_config = 'configs/default.py'   # training config every setting starts from
  config.workdir = 'runs/ablation'            # <workdir>/<setting>/fold<k>/ per run
  config.num_folds = 5                        # k-fold cross-validation by trajectory (0: none)
  config.fold_seed = 0                        # seed of the fold assignment (id-based folds)
  # Nested CV: each run trains on 3 folds, early-stops and selects its checkpoint on the fourth
  # (the inner validation split: the 20 % after the held-out fold) and is scored once on the
  # fold held out ('heldout'), which therefore plays no part in training or selection.
  config.inner_validation_percent = 20
  # Where a run's fold goes in the training config (see dendrax/analysis/sweeps.py):
  # TFDS split expressions over train + validation.
  config.fold_fields = {'train_split': 'data.train_split',
                        'validation_split': 'data.validation_split',
                        'heldout_split': 'data.heldout_split'}
  # Applied to every run: rollouts on the inner validation split, the held-out fold and test.
  config.common_overrides = {'eval': {'rollout_splits': ('validation', 'heldout', 'test')}}
  # Metrics summarised per setting (keys of train_and_evaluate's result, nested with '/').
  config.metrics = tuple(METRICS)
  config.metric_labels = METRICS

  settings = {
      'cnn2': {},
      'cnn1': {'config_file': 'configs/cnn1.py'},
      'concat': {'config_file': 'configs/concat.py'},
  }
  for name in parameters.PARAMETER_NAMES:
    settings[f'loo_{name}'] = {'overrides': {'data': {'masked_parameters': (name,)}}}
  settings.update({
      'depth3': {'overrides': {'model': {'features': FEATURES[:3]}}},
      'depth4': {'overrides': {'model': {'features': FEATURES[:4]}}},
      'width_half': {'overrides': {'model': {'features': tuple(f // 2 for f in FEATURES)}}},
      'width_double': {'overrides': {'model': {'features': tuple(2 * f for f in FEATURES)}}},
      'loss_mse': {'overrides': {'loss': {'morph': 'none', 'morph_weight': 0.0}}},
      'loss_mse_dice_squared': {'overrides': {'loss': {'morph': 'dice_squared'}}},  # default until 2026-12
      'loss_barron_bce': {'overrides': {'loss': {'pixel': 'barron'}}},
      'loss_mse_dice': {'overrides': {'loss': {'morph': 'dice'}}},  # the old, biased default
  })
  config.settings = settings
  config.order = tuple(settings)              # table order (ConfigDict sorts its keys)
  return config
