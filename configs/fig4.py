r"""The like-for-like Fig. 4 table: CNN-1, CNN-2 and concat, same build, same selection rule,
3 seeds each (`experiments.fig4_table`).

  python -m experiments.fig4_table --config configs/fig4.py                # 9 runs of 2000 steps
  python -m experiments.fig4_table --config configs/fig4.py:tiny --config.workdir /tmp/fig4

Every run is configs/default.py (or configs/tiny.py for `:tiny`) with only `model_name` and
`seed` changed, on `dataset`; runs train in `<workdir>/<model>_seed<k>/all/` (resumable, shardable
like experiments.sweep), and the table goes to `<workdir>/fig4.{md,csv,json}`. On a 2-core CPU
the full table takes ~4 h at the default 2000 steps and 145 min at 1000 (README, 2.4.0);
`:tiny` takes minutes.
"""

import ml_collections


def get_config(variant: str = ''):
  config = ml_collections.ConfigDict()
  tiny = variant == 'tiny'
  if variant not in ('', 'tiny'):
    raise ValueError(f"configs/fig4.py: unknown variant {variant!r}; use '' or 'tiny'")
  config.base_config = 'configs/tiny.py' if tiny else 'configs/default.py'  # every run's config
  config.dataset = 'dendrite_sim/tiny' if tiny else 'dendrite_sim/small'  # the one build of all runs
  config.workdir = 'runs/fig4_tiny' if tiny else 'runs/fig4'   # runs and the table
  config.models = ('cnn1', 'cnn2', 'concat')  # model_name of each row
  config.seeds = (0, 1, 2)               # seeds per model (init, data order, augmentation)
  # Applied to every run (the base config's values, spelled out so they can be overridden:
  # --config.common_overrides.train.num_steps=500).
  config.common_overrides = ml_collections.ConfigDict({
      'train': {'num_steps': 60 if tiny else 2000, 'warmup_steps': 5 if tiny else 100},
      # The morphology term and the padding, overridable for the arms of docs/training.md,
      # "Divergent rollouts" (--config.common_overrides.loss.morph=dice_squared, the old default).
      'loss': {'morph': 'bce'},
      # The UNet's convolution padding (zeros | physical: x periodic, y edge).
      'model': {'padding': 'zeros'},
      # Each run's own final evaluation: validation only; the table scores every split itself.
      'eval': {'every_steps': 20 if tiny else 250, 'rollout_splits': ('validation',)}})
  config.splits = ('train', 'validation', 'test', 'ood')  # rows of the table (those the dataset has)
  config.which = 'best'                  # the checkpoint each run selected on validation
  config.batch_size = 16                 # trajectories per rollout call
  config.bootstrap_samples = 1000        # resamples of the trajectories (shared by all runs)
  config.bootstrap_seed = 0
  return config
