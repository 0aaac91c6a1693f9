r"""CNextU-Net (ConvNeXt UNet, FiLM-conditioned): architecture ablation of CNN-2 on dendrite_sim/small.

  python launch.py --config configs/cnext.py --workdir workdirs/cnext

Everything but the model is `configs/cnn2.py`; `config.model` holds the keyword arguments of
`dendrax.models.cnext.CNextUNet` (the UNet's keys do not apply and are replaced).
"""

import ml_collections

from configs import cnn2


def get_config():
  config = cnn2.get_config()
  config.model_name = 'cnext'
  config.model = ml_collections.ConfigDict()
  config.model.features = (24, 48, 96, 192)  # channels per level; 4 levels = 3 downsamplings (64 -> 8)
  config.model.blocks_per_stage = 1      # ConvNeXt blocks per encoder and per decoder level
  config.model.blocks_at_neck = 1        # ConvNeXt blocks at the coarsest level
  config.model.kernel_size = 7           # depthwise convolution side (ConvNeXt: 7)
  config.model.mlp_ratio = 4             # block MLP width / channels (ConvNeXt: 4)
  config.model.layer_scale_init = 1e-6   # initial per-channel layer scale gamma of each block
  config.model.conditioning = 'film'     # film | none (cond ignored)
  config.model.film_hidden = (64, 64)    # hidden widths of the FiLM MLP
  config.model.film_init_scale = 0.1     # init scale of the FiLM MLP's last layer
  config.model.activation = 'gelu'       # relu | gelu | silu | leaky_relu
  config.model.output = 'logit_residual'  # logit_residual | residual | sigmoid
  config.model.xi_clip = 1e-3            # xi clipped to [c, 1-c] before the logit
  return config
