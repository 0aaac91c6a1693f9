"""The UNet of Zhao et al.: CNN-1 (image only), CNN-2 (FiLM on the physics) and a concat ablation.

Architecture with the default `features=(16, 32, 64, 128, 256)` (5 resolution levels), as the
paper describes: 13 convolutional layers, 4 max-pool downsamplings, 4 transposed-convolution
upsamplings, skip connections.

    level 0 (64x64): conv f0 ------------------------------------> concat -> conv f0 -> conv 1 (out)
      pool                                                      up f0
    level 1 (32x32):   conv f1 ----------------------> concat -> conv f1 -> conv f1
      pool                                          up f1
    level 2 (16x16):     conv f2 ------------> concat -> conv f2 -> conv f2
      pool                                up f2
    level 3 (8x8):         conv f3 --> concat -> conv f3 -> conv f3
      pool                          up f3
    level 4 (4x4):           conv f4 (bottleneck)

Encoder 4 + bottleneck 1 + decoder 2 x 4 = 13 convolutions (3x3); the last one produces the
output. Every hidden convolution is followed by FiLM (CNN-2) and the activation. `padding` sets
what the 3x3 convolutions see beyond the frame: 'zeros' (default, as in the paper) or 'physical',
the simulator's boundary conditions (x periodic, y mirrored by edge replication, i.e. zero normal
gradient), so that a deposit crossing the periodic x edge looks the same as one in the middle.

The network predicts xi 30 s later from the current frame: `inputs` [B, H, W, C] whose channel 0
is the current xi in [0, 1] (further channels: concentration / potential if configured). The
output head (`output`):
  - 'logit_residual' (default): xi' = sigmoid(logit(clip(xi)) + delta). Zero-initialised `delta`
    makes the untrained network the persistence forecast xi' = xi; the deposit grows by small
    changes near the interface, which a residual learns more easily than the whole frame, and the
    sigmoid keeps every rollout step inside [0, 1] so 7-step rollouts cannot drift out of range.
  - 'residual': xi' = xi + delta (unbounded).
  - 'sigmoid': xi' = sigmoid(delta) (no skip from the input).
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from dendrax.models import film as film_lib
from dendrax.models import heads

CONDITIONINGS = ('none', 'film', 'concat')
OUTPUTS = heads.OUTPUTS
PADDINGS = ('zeros', 'physical')


def pad_physical(x_BxHxWxC: jax.Array, width: int = 1) -> jax.Array:
  """Pads a feature map as the simulator's frame continues: y by edge replication (zero normal
  gradient at the electrode and the bulk side), x periodically."""
  x = jnp.pad(x_BxHxWxC, ((0, 0), (width, width), (0, 0), (0, 0)), mode='edge')
  return jnp.pad(x, ((0, 0), (0, 0), (width, width), (0, 0)), mode='wrap')


class UNet(nn.Module):
  """Conditioned UNet: `apply(variables, inputs [B, H, W, C], cond [B, K]) -> xi' [B, H, W, 1]`.

  Attributes:
    features: channels per resolution level; len(features) - 1 poolings, so H and W must be
      divisible by 2 ** (len(features) - 1).
    conditioning: 'none' (CNN-1, `cond` ignored), 'film' (CNN-2) or 'concat' (cond broadcast as
      constant input channels).
    film_hidden: hidden widths of the FiLM MLP.
    film_init_scale: init variance scale of the FiLM MLP's last layer.
    activation: key of `film.ACTIVATIONS`.
    output: output head, one of OUTPUTS (module docstring).
    xi_clip: xi is clipped to [xi_clip, 1 - xi_clip] before the logit of 'logit_residual'.
    padding: of the 3x3 convolutions, one of PADDINGS (module docstring).
  """
  features: Sequence[int] = (16, 32, 64, 128, 256)
  conditioning: str = 'film'
  film_hidden: Sequence[int] = (64, 64)
  film_init_scale: float = 0.1
  activation: str = 'gelu'
  output: str = 'logit_residual'
  xi_clip: float = 1e-3
  padding: str = 'zeros'

  @property
  def min_side(self) -> int:
    """Smallest frame side the model accepts (H and W must be multiples of it)."""
    return 2 ** (len(self.features) - 1)

  def _check(self, inputs, cond):
    if self.conditioning not in CONDITIONINGS:
      raise ValueError(f'model.conditioning={self.conditioning!r} is not one of {CONDITIONINGS}')
    if self.output not in OUTPUTS:
      raise ValueError(f'model.output={self.output!r} is not one of {OUTPUTS}')
    if self.padding not in PADDINGS:
      raise ValueError(f'model.padding={self.padding!r} is not one of {PADDINGS}')
    if len(self.features) < 2:
      raise ValueError(f'model.features needs at least 2 levels; got {tuple(self.features)}')
    if not 0.0 < self.xi_clip < 0.5:
      raise ValueError(f'model.xi_clip must be in (0, 0.5); got {self.xi_clip}')
    if inputs.ndim != 4:
      raise ValueError(f'inputs must be [B, H, W, C]; got shape {inputs.shape}')
    factor = 2 ** (len(self.features) - 1)
    if inputs.shape[1] % factor or inputs.shape[2] % factor:
      raise ValueError(f'inputs H, W = {inputs.shape[1:3]} must be divisible by {factor} '
                       f'(2 ** (len(model.features) - 1))')
    if cond.ndim != 2 or cond.shape[0] != inputs.shape[0]:
      raise ValueError(f'cond must be [B, K] with B = {inputs.shape[0]}; got shape {cond.shape}')

  @nn.compact
  def __call__(self, inputs_BxHxWxC: jax.Array, cond_BxK: jax.Array) -> jax.Array:
    self._check(inputs_BxHxWxC, cond_BxK)
    act = film_lib.activation_fn(self.activation)
    feats = tuple(self.features)
    n_levels = len(feats)
    # Channels of the hidden convolutions in the order they run (encoder incl. bottleneck, then
    # two per decoder level except level 0, whose second convolution is the output).
    hidden_channels = list(feats) + [c for lvl in range(n_levels - 2, -1, -1)
                                     for c in ((feats[lvl], feats[lvl]) if lvl else (feats[lvl],))]
    if self.conditioning == 'film':
      modulations = film_lib.FiLMGenerator(
          hidden_channels, hidden=tuple(self.film_hidden), activation=self.activation,
          init_scale=self.film_init_scale, name='film')(cond_BxK)
    else:
      modulations = None
    counter = iter(range(len(hidden_channels)))

    def conv3x3(x, channels, name, **kwargs):
      if self.padding == 'physical':
        return nn.Conv(channels, (3, 3), padding='VALID', name=name, **kwargs)(pad_physical(x))
      return nn.Conv(channels, (3, 3), padding='SAME', name=name, **kwargs)(x)

    def conv_block(x, channels, name):
      i = next(counter)
      x = conv3x3(x, channels, name)
      if modulations is not None:
        x = film_lib.film(x, *modulations[i])
      return act(x)

    x = inputs_BxHxWxC
    if self.conditioning == 'concat':
      b, h, w, _ = x.shape
      planes = jnp.broadcast_to(cond_BxK[:, None, None, :], (b, h, w, cond_BxK.shape[-1]))
      x = jnp.concatenate([x, planes.astype(x.dtype)], axis=-1)

    skips = []
    for lvl in range(n_levels):
      if lvl:
        x = nn.max_pool(x, (2, 2), strides=(2, 2))
      x = conv_block(x, feats[lvl], f'enc{lvl}')
      skips.append(x)
    for lvl in range(n_levels - 2, -1, -1):
      x = nn.ConvTranspose(feats[lvl], (2, 2), strides=(2, 2), name=f'up{lvl}')(x)
      x = jnp.concatenate([x, skips[lvl]], axis=-1)
      x = conv_block(x, feats[lvl], f'dec{lvl}a')
      if lvl:
        x = conv_block(x, feats[lvl], f'dec{lvl}b')
    delta = conv3x3(x, 1, 'out', kernel_init=nn.initializers.zeros)

    return heads.apply_head(inputs_BxHxWxC, delta, self.output, self.xi_clip)


class CNN1(UNet):
  """CNN-1: the UNet on images alone; `cond` is accepted and ignored."""
  conditioning: str = 'none'


class CNN2(UNet):
  """CNN-2: the UNet with every resolution level FiLM-conditioned on `cond`."""
  conditioning: str = 'film'


class ConcatUNet(UNet):
  """Ablation baseline for FiLM: `cond` broadcast to constant input channels."""
  conditioning: str = 'concat'
