r"""CNN-1: the same UNet without the physical parameters (images only), on dendrite_sim/small.

  python launch.py --config configs/cnn1.py --workdir workdirs/cnn1
"""

from configs import default


def get_config():
  config = default.get_config()
  config.model_name = 'cnn1'
  return config
