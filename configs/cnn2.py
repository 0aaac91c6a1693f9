r"""CNN-2: the FiLM-conditioned UNet on dendrite_sim/small (the main job of dendrax).

  python launch.py --config configs/cnn2.py --workdir workdirs/cnn2
"""

from configs import default


def get_config():
  config = default.get_config()
  config.model_name = 'cnn2'
  return config
