r"""PIML vs DDML, arm (i): data only. CNN-2 on dendrite_sim/small (issue 11; `medium` not built).

  python launch.py --config configs/arms/data_only.py --workdir workdirs/arms/data_only_100_s0
  python launch.py --config configs/arms/data_only.py --workdir workdirs/arms/data_only_25_s1 \
      --config.data.train_split='train[:25%]' --config.seed=1

`configs/cnn2.py` on medium with both extra loss terms off; the baseline of the derivative and
physics arms, which differ from it only in their weights. The issue's grid runs every arm at 25 %
and 100 % of the train split (data.train_split) with at least 3 seeds (seed), on issue 11's
`dendrite_sim/medium`, which is not built yet; until then the arms run on `small`.
"""

from configs import cnn2


def get_config():
  config = cnn2.get_config()
  # Issue 11's `medium` (>= 1000 training trajectories, with tangents) is not built yet: the
  # arms run on `small` (112 training trajectories).
  config.data.name = 'dendrite_sim/small'
  config.train.derivative_weight = 0.0
  config.train.physics_weight = 0.0
  return config
