"""A 2-D Fourier neural operator (FNO), FiLM-conditioned on `cond`: architecture ablation.

Li et al. 2021, "Fourier Neural Operator for Parametric Partial Differential Equations"
(arXiv:2010.08895); the FNO baseline of The Well (Ohana et al. 2024). Same call signature as
`unet.UNet`: `apply(variables, inputs [B, H, W, C], cond [B, K]) -> xi' [B, H, W, 1]`, same output
head (`heads.py`, zero-initialised last layer: the untrained model is the persistence forecast).

    v0 = Dense_w([inputs, y / H])                        lift; y/H: height above the electrode
    v0 padded with `pad_y` zero rows at the bulk side     (y is not periodic, x is: see below)
    v_{l+1} = act(FiLM_l(K_l v_l + W_l v_l))             l = 0 .. num_layers - 1 (no act on the last)
    crop the padding, delta = Dense_1(act(Dense_p(v_L)))

with W_l a 1x1 convolution and K_l the spectral convolution

    (K v)(y, x) = irfft2( R(k) . rfft2(v)(k) ),   R(k) = 0 outside |k_y| < modes[0], k_x < modes[1],

R(k) a learned complex [C_in, C_out] matrix per retained mode (two blocks: k_y >= 0 and k_y < 0;
k_x >= 0 only, since rfft2 keeps half the spectrum of a real field). The frame is periodic along
the electrode (x), matching the FFT; along y (electrode at y = 0, bulk at y = H - 1) it is not,
so `pad_y` zero rows are appended before the spectral layers and cropped after them, the usual
FNO treatment of non-periodic directions. FiLM (film.py) gives one (scale, shift) per layer.
"""

from __future__ import annotations

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from dendrax.models import film as film_lib
from dendrax.models import heads


class SpectralConv2d(nn.Module):
  """K v of the module docstring on [B, H, W, C_in] -> [B, H, W, features].

  Parameters `w_re`, `w_im` [2, modes_y, modes_x, C_in, features] (real and imaginary parts kept
  as real arrays, so optimisers and weight decay see ordinary floats), initialised uniform in
  [0, 1 / (C_in features)) as in the reference implementation.
  """
  features: int
  modes: tuple[int, int]

  @nn.compact
  def __call__(self, v_BxHxWxC: jax.Array) -> jax.Array:
    b, h, w, c_in = v_BxHxWxC.shape
    my, mx = self.modes
    if 2 * my > h or mx > w // 2 + 1:
      raise ValueError(f'model.modes={tuple(self.modes)} needs a padded frame of at least '
                       f'{2 * my} x {2 * (mx - 1)} cells; got {h} x {w} (reduce model.modes or '
                       'raise model.pad_y)')
    scale = 1.0 / (c_in * self.features)
    shape = (2, my, mx, c_in, self.features)
    # Drawn flat and reshaped: XLA:CPU compiles a 5-D random draw several times slower.
    init = lambda key, s: scale * jax.random.uniform(key, (math.prod(s),)).reshape(s)
    w_c = (self.param('w_re', init, shape) + 1j * self.param('w_im', init, shape))
    v_ft = jnp.fft.rfft2(v_BxHxWxC, axes=(1, 2))            # [B, H, W//2+1, C_in] complex
    low = jnp.einsum('byxi,yxio->byxo', v_ft[:, :my, :mx], w_c[0])
    high = jnp.einsum('byxi,yxio->byxo', v_ft[:, h - my:, :mx], w_c[1])
    out = jnp.zeros((b, h, w // 2 + 1, self.features), low.dtype)
    out = out.at[:, :my, :mx].set(low).at[:, h - my:, :mx].set(high)
    return jnp.fft.irfft2(out, s=(h, w), axes=(1, 2)).astype(v_BxHxWxC.dtype)


class FNO(nn.Module):
  """FiLM-conditioned 2-D FNO (module docstring).

  Attributes:
    width: channels of the spectral layers.
    modes: (modes_y, modes_x) Fourier modes kept per layer; needs H + pad_y >= 2 modes_y and
      W >= 2 (modes_x - 1).
    num_layers: number of Fourier layers.
    pad_y: zero rows appended at the bulk side (y = H) before the spectral layers.
    projection_hidden: width of the hidden layer of the pointwise projection to delta.
    conditioning: 'film' (cond modulates every layer) or 'none' (cond ignored).
    film_hidden: hidden widths of the FiLM MLP.
    film_init_scale: init variance scale of the FiLM MLP's last layer.
    activation: key of `film.ACTIVATIONS`.
    output: output head, one of `heads.OUTPUTS`.
    xi_clip: xi is clipped to [xi_clip, 1 - xi_clip] before the logit of 'logit_residual'.
  """
  width: int = 32
  modes: Sequence[int] = (12, 12)
  num_layers: int = 4
  pad_y: int = 8
  projection_hidden: int = 64
  conditioning: str = 'film'
  film_hidden: Sequence[int] = (64, 64)
  film_init_scale: float = 0.1
  activation: str = 'gelu'
  output: str = 'logit_residual'
  xi_clip: float = 1e-3

  @property
  def min_side(self) -> int:
    """A frame side the model always accepts (any H, W >= the `modes` bounds work)."""
    return 2 * max(tuple(self.modes))

  def _check(self, inputs, cond):
    if self.conditioning not in ('none', 'film'):
      raise ValueError(f"model.conditioning={self.conditioning!r} is not one of ('none', 'film')")
    if len(tuple(self.modes)) != 2 or min(self.modes) < 1:
      raise ValueError(f'model.modes must be two positive ints (y, x); got {tuple(self.modes)}')
    for key in ('width', 'num_layers', 'projection_hidden'):
      if getattr(self, key) < 1:
        raise ValueError(f'model.{key} must be >= 1; got {getattr(self, key)}')
    if self.pad_y < 0:
      raise ValueError(f'model.pad_y must be >= 0; got {self.pad_y}')
    heads.check_head(self.output, self.xi_clip)
    heads.check_inputs(inputs, cond)

  @nn.compact
  def __call__(self, inputs_BxHxWxC: jax.Array, cond_BxK: jax.Array) -> jax.Array:
    self._check(inputs_BxHxWxC, cond_BxK)
    act = film_lib.activation_fn(self.activation)
    b, h, w, _ = inputs_BxHxWxC.shape
    if self.conditioning == 'film':
      modulations = film_lib.FiLMGenerator(
          [self.width] * self.num_layers, hidden=tuple(self.film_hidden),
          activation=self.activation, init_scale=self.film_init_scale, name='film')(cond_BxK)
    else:
      modulations = None
    height = (jnp.arange(h, dtype=inputs_BxHxWxC.dtype) + 0.5) / h
    height = jnp.broadcast_to(height[None, :, None, None], (b, h, w, 1))
    v = nn.Dense(self.width, name='lift')(jnp.concatenate([inputs_BxHxWxC, height], axis=-1))
    v = jnp.pad(v, ((0, 0), (0, self.pad_y), (0, 0), (0, 0)))
    modes = tuple(int(m) for m in self.modes)
    for layer in range(self.num_layers):
      v = (SpectralConv2d(self.width, modes, name=f'spectral{layer}')(v)
           + nn.Conv(self.width, (1, 1), name=f'pointwise{layer}')(v))
      if modulations is not None:
        v = film_lib.film(v, *modulations[layer])
      if layer < self.num_layers - 1:
        v = act(v)
    v = v[:, :h]
    v = act(nn.Dense(self.projection_hidden, name='project')(v))
    delta = nn.Dense(1, kernel_init=nn.initializers.zeros, name='out')(v)
    return heads.apply_head(inputs_BxHxWxC, delta, self.output, self.xi_clip)
