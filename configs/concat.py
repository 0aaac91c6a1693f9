r"""Ablation of FiLM: the parameters as constant input channels of the UNet, dendrite_sim/small.

  python launch.py --config configs/concat.py --workdir workdirs/concat
"""

from configs import default


def get_config():
  config = default.get_config()
  config.model_name = 'concat'
  return config
