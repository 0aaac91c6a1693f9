r"""FNO (2-D Fourier neural operator, FiLM-conditioned): architecture ablation of CNN-2 on
dendrite_sim/small.

  python launch.py --config configs/fno.py --workdir workdirs/fno

Everything but the model is `configs/cnn2.py`; `config.model` holds the keyword arguments of
`dendrax.models.fno.FNO` (the UNet's keys do not apply and are replaced).
"""

import ml_collections

from configs import cnn2


def get_config():
  config = cnn2.get_config()
  config.model_name = 'fno'
  config.model = ml_collections.ConfigDict()
  config.model.width = 32                # channels of the spectral layers
  config.model.modes = (12, 12)          # Fourier modes kept (y, x); needs H + pad_y >= 2 * modes_y
  config.model.num_layers = 4            # Fourier layers
  config.model.pad_y = 8                 # zero rows appended at the bulk side (y is not periodic)
  config.model.projection_hidden = 64    # hidden width of the pointwise projection to the output
  config.model.conditioning = 'film'     # film | none (cond ignored)
  config.model.film_hidden = (64, 64)    # hidden widths of the FiLM MLP
  config.model.film_init_scale = 0.1     # init scale of the FiLM MLP's last layer
  config.model.activation = 'gelu'       # relu | gelu | silu | leaky_relu
  config.model.output = 'logit_residual'  # logit_residual | residual | sigmoid
  config.model.xi_clip = 1e-3            # xi clipped to [c, 1-c] before the logit
  return config
