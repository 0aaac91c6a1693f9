"""CNextU-Net: a ConvNeXt-style UNet (The Well's `UNetConvNext`), FiLM-conditioned on `cond`.

Architecture ablation beside the paper's plain UNet (`unet.py`), with the same call signature
`apply(variables, inputs [B, H, W, C], cond [B, K]) -> xi' [B, H, W, 1]` and output head
(`heads.py`). With `features = (f0, f1, ..., fL)`:

    in_proj: conv 3x3 -> f0
    level l < L:   blocks_per_stage ConvNeXt blocks (fl) -> skip_l -> LayerNorm, conv 2x2 stride 2 -> f(l+1)
    neck (level L): blocks_at_neck ConvNeXt blocks (fL)
    level l < L (up): LayerNorm, transposed conv 2x2 stride 2 -> fl, concat skip_l, conv 1x1 -> fl,
                      blocks_per_stage ConvNeXt blocks (fl)
    out: conv 3x3 -> 1 (zero init: the untrained model is the persistence forecast)

ConvNeXt block (Liu et al. 2022, "A ConvNet for the 2020s", arXiv:2201.03545), with FiLM after the
LayerNorm (the adaptive-norm placement of DiT, Peebles & Xie 2023):

    y = FiLM(LayerNorm(depthwise_conv_kxk(x)); scale, shift)
    x = x + gamma * Dense_C(GELU(Dense_{r C}(y))),   gamma a per-channel layer scale (init small)

One (scale, shift) pair per block comes from a `film.FiLMGenerator` MLP on `cond`. The Well builds
the same encoder/neck/decoder stages with channels doubling per level (`init_features * 2**l`);
here every level's width is given explicitly, as in `unet.UNet`. References: Ohana et al. 2024,
"The Well" (NeurIPS Datasets and Benchmarks), CNextU-Net baseline.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from dendrax.models import film as film_lib
from dendrax.models import heads

_LN_EPS = 1e-6


class ConvNeXtBlock(nn.Module):
  """x + gamma * MLP(FiLM(LN(dwconv(x)))) on [B, H, W, C]; `scale`, `shift` [B, C] (or None)."""
  kernel_size: int = 7
  mlp_ratio: int = 4
  layer_scale_init: float = 1e-6
  activation: str = 'gelu'

  @nn.compact
  def __call__(self, x_BxHxWxC: jax.Array, scale_BxC: jax.Array | None,
               shift_BxC: jax.Array | None) -> jax.Array:
    c = x_BxHxWxC.shape[-1]
    k = self.kernel_size
    y = nn.Conv(c, (k, k), padding='SAME', feature_group_count=c, name='dwconv')(x_BxHxWxC)
    y = nn.LayerNorm(epsilon=_LN_EPS, name='norm')(y)
    if scale_BxC is not None:
      y = film_lib.film(y, scale_BxC, shift_BxC)
    y = film_lib.activation_fn(self.activation)(nn.Dense(self.mlp_ratio * c, name='pw1')(y))
    y = nn.Dense(c, name='pw2')(y)
    gamma = self.param('gamma', nn.initializers.constant(self.layer_scale_init), (c,))
    return x_BxHxWxC + gamma * y


class CNextUNet(nn.Module):
  """ConvNeXt UNet, FiLM-conditioned (module docstring).

  Attributes:
    features: channels per resolution level; len(features) - 1 downsamplings, so H and W must be
      divisible by 2 ** (len(features) - 1).
    blocks_per_stage: ConvNeXt blocks per encoder level and per decoder level.
    blocks_at_neck: ConvNeXt blocks at the coarsest level.
    kernel_size: side of the depthwise convolution (ConvNeXt: 7).
    mlp_ratio: hidden width of each block's MLP, in multiples of its channels (ConvNeXt: 4).
    layer_scale_init: initial per-channel gamma of each block (ConvNeXt / The Well: 1e-6).
    conditioning: 'film' (cond modulates every block) or 'none' (cond ignored).
    film_hidden: hidden widths of the FiLM MLP.
    film_init_scale: init variance scale of the FiLM MLP's last layer.
    activation: key of `film.ACTIVATIONS` (blocks' MLP and FiLM MLP).
    output: output head, one of `heads.OUTPUTS`.
    xi_clip: xi is clipped to [xi_clip, 1 - xi_clip] before the logit of 'logit_residual'.
  """
  features: Sequence[int] = (16, 32, 64, 128)
  blocks_per_stage: int = 1
  blocks_at_neck: int = 1
  kernel_size: int = 7
  mlp_ratio: int = 4
  layer_scale_init: float = 1e-6
  conditioning: str = 'film'
  film_hidden: Sequence[int] = (64, 64)
  film_init_scale: float = 0.1
  activation: str = 'gelu'
  output: str = 'logit_residual'
  xi_clip: float = 1e-3

  @property
  def min_side(self) -> int:
    """Smallest frame side the model accepts (H and W must be multiples of it)."""
    return 2 ** (len(self.features) - 1)

  def _check(self, inputs, cond):
    if self.conditioning not in ('none', 'film'):
      raise ValueError(f"model.conditioning={self.conditioning!r} is not one of ('none', 'film')")
    if len(self.features) < 2:
      raise ValueError(f'model.features needs at least 2 levels; got {tuple(self.features)}')
    for key in ('blocks_per_stage', 'blocks_at_neck', 'kernel_size', 'mlp_ratio'):
      if getattr(self, key) < 1:
        raise ValueError(f'model.{key} must be >= 1; got {getattr(self, key)}')
    heads.check_head(self.output, self.xi_clip)
    heads.check_inputs(inputs, cond, self.min_side)

  def block_channels(self) -> list[int]:
    """Channels of every ConvNeXt block in the order they run (one FiLM pair each)."""
    feats, n = tuple(self.features), self.blocks_per_stage
    encoder = [c for c in feats[:-1] for _ in range(n)]
    neck = [feats[-1]] * self.blocks_at_neck
    decoder = [c for c in reversed(feats[:-1]) for _ in range(n)]
    return encoder + neck + decoder

  @nn.compact
  def __call__(self, inputs_BxHxWxC: jax.Array, cond_BxK: jax.Array) -> jax.Array:
    self._check(inputs_BxHxWxC, cond_BxK)
    feats = tuple(self.features)
    channels = self.block_channels()
    if self.conditioning == 'film':
      modulations = film_lib.FiLMGenerator(
          channels, hidden=tuple(self.film_hidden), activation=self.activation,
          init_scale=self.film_init_scale, name='film')(cond_BxK)
    else:
      modulations = [(None, None)] * len(channels)
    counter = iter(range(len(channels)))

    def block(x, name):
      scale, shift = modulations[next(counter)]
      return ConvNeXtBlock(self.kernel_size, self.mlp_ratio, self.layer_scale_init,
                           self.activation, name=name)(x, scale, shift)

    x = nn.Conv(feats[0], (3, 3), padding='SAME', name='in_proj')(inputs_BxHxWxC)
    skips = []
    for lvl in range(len(feats) - 1):
      for i in range(self.blocks_per_stage):
        x = block(x, f'enc{lvl}_{i}')
      skips.append(x)
      x = nn.LayerNorm(epsilon=_LN_EPS, name=f'down{lvl}_norm')(x)
      x = nn.Conv(feats[lvl + 1], (2, 2), strides=(2, 2), name=f'down{lvl}')(x)
    for i in range(self.blocks_at_neck):
      x = block(x, f'neck_{i}')
    for lvl in range(len(feats) - 2, -1, -1):
      x = nn.LayerNorm(epsilon=_LN_EPS, name=f'up{lvl}_norm')(x)
      x = nn.ConvTranspose(feats[lvl], (2, 2), strides=(2, 2), name=f'up{lvl}')(x)
      x = jnp.concatenate([x, skips[lvl]], axis=-1)
      x = nn.Conv(feats[lvl], (1, 1), name=f'skip{lvl}')(x)
      for i in range(self.blocks_per_stage):
        x = block(x, f'dec{lvl}_{i}')
    delta = nn.Conv(1, (3, 3), padding='SAME', kernel_init=nn.initializers.zeros,
                    name='out')(x)
    return heads.apply_head(inputs_BxHxWxC, delta, self.output, self.xi_clip)
