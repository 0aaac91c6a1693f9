r"""The ablation grid of the paper's CNNs, each setting 5-fold cross-validated by trajectory.

  python -m experiments.sweep --config configs/sweeps/ablation.py
  python -m experiments.sweep --config configs/sweeps/ablation.py --dry_run   # list the runs

Settings (each overrides configs/default.py, CNN-2 on dendrite_sim/small):
  * architecture: cnn2 (FiLM), cnn1 (images only), concat (parameters as input channels);
  * leave one parameter out: CNN-2 with one of the seven physical parameters hidden (treated as
    missing in the conditioning, in training and evaluation): loo_<parameter>;
  * depth and width of the UNet: depth3/depth4 (fewer levels), width_half/width_double;
  * loss: mse only, mse + bce, Barron's robust loss + dice.
17 settings x 5 folds = 85 runs; one workdir each under `workdir`.
"""

import ml_collections

from dendrax.physics import parameters

FEATURES = (16, 32, 64, 96, 128)     # configs/default.py's UNet channels per level


def get_config():
  config = ml_collections.ConfigDict()
  config.base_config = 'configs/default.py'   # training config every setting starts from
  config.workdir = 'runs/ablation'            # <workdir>/<setting>/fold<k>/ per run
  config.num_folds = 5                        # k-fold cross-validation by trajectory (0: none)
  config.fold_seed = 0                        # seed of the fold assignment (id-based folds)
  # Where a run's fold goes in the training config (see dendrax/analysis/sweeps.py):
  # TFDS split expressions over train + validation.
  config.fold_fields = {'train_split': 'data.train_split',
                        'validation_split': 'data.validation_split'}
  # Applied to every run: the held-out fold is the validation split; test and ood stay apart.
  config.common_overrides = {'eval': {'rollout_splits': ('validation', 'test')}}
  # Metrics summarised per setting (keys of train_and_evaluate's result, nested with '/').
  config.metrics = ('best_val_loss', 'splits/validation/length/all/r2',
                    'splits/validation/length/all/mse', 'splits/test/length/all/r2')

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
      'loss_mse_bce': {'overrides': {'loss': {'morph': 'bce'}}},
      'loss_barron_dice': {'overrides': {'loss': {'pixel': 'barron'}}},
  })
  config.settings = settings
  config.order = tuple(settings)              # table order (ConfigDict sorts its keys)
  return config
