r"""PIML vs DDML, arm (i): data only. CNN-2 on dendrite_sim/small (issue 11).

  python launch.py --config configs/arms/data_only.py --workdir workdirs/arms/data_only_100_s0
  python launch.py --config configs/arms/data_only.py --workdir workdirs/arms/data_only_25_s1 \
      --config.data.train_split='train[:25%]' --config.seed=1 --config.data.name=dendrite_sim/medium

`configs/cnn2.py` with both extra loss terms off; the baseline of the derivative and physics
arms, which differ from it only in their weights. The issue's grid runs every arm at 25 % and
100 % of the train split (data.train_split) with at least 3 seeds (seed) on issue 11's
`dendrite_sim/medium` (1000 training trajectories; `--config.data.name=dendrite_sim/medium`,
README "PIML against DDML on medium"). The default stays `small`, where the README's PIML table
was measured.
"""

from configs import cnn2


def get_config():
  config = cnn2.get_config()
  # `small` (112 training trajectories): the README's PIML table; `medium` by override.
  config.data.name = 'dendrite_sim/small'
  config.train.derivative_weight = 0.0
  config.train.physics_weight = 0.0
  return config
