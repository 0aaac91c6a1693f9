"""Feature-wise linear modulation (FiLM) of UNet feature maps by the physical parameters.

CNN-2 of Zhao et al. is told the physics of a run (temperature, concentration gradient, field
strength, ion concentration, surface energy, fluidity, defects, chemistry, charging stage, horizon)
as a conditioning vector `cond` [B, K]. A small MLP maps it to one per-channel (scale, shift) pair
for every modulated convolution, and the feature map x becomes

    FiLM(x) = x * (1 + scale) + shift,

(Perez et al. 2018, "FiLM: Visual Reasoning with a General Conditioning Layer"). The `1 +` keeps
the unconditioned network the identity point of the modulation, so a small final-layer init starts
CNN-2 close to CNN-1 and training decides how strongly each level listens to the physics.
"""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

# Activations by config name: an explicit table (greps), not a getattr on a module.
ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    'relu': nn.relu,
    'gelu': nn.gelu,
    'silu': nn.silu,
    'leaky_relu': nn.leaky_relu,
}


def activation_fn(name: str) -> Callable[[jax.Array], jax.Array]:
  """The activation called `name`; ValueError naming `model.activation` otherwise."""
  if name not in ACTIVATIONS:
    raise ValueError(f'model.activation={name!r} is not one of {sorted(ACTIVATIONS)}')
  return ACTIVATIONS[name]


def film(x_BxHxWxC: jax.Array, scale_BxC: jax.Array, shift_BxC: jax.Array) -> jax.Array:
  """Applies x * (1 + scale) + shift with per-example, per-channel scale and shift."""
  return x_BxHxWxC * (1.0 + scale_BxC[:, None, None, :]) + shift_BxC[:, None, None, :]


class FiLMGenerator(nn.Module):
  """MLP: cond [B, K] -> list of (scale [B, C_i], shift [B, C_i]), one pair per entry of `channels`.

  Attributes:
    channels: number of channels of each modulated feature map, in the order they are used.
    hidden: widths of the hidden Dense layers.
    activation: key of `ACTIVATIONS`.
    init_scale: variance scale of the last layer's init; small values start near identity FiLM.
  """
  channels: Sequence[int]
  hidden: Sequence[int] = (64, 64)
  activation: str = 'gelu'
  init_scale: float = 0.1

  @nn.compact
  def __call__(self, cond_BxK: jax.Array) -> list[tuple[jax.Array, jax.Array]]:
    act = activation_fn(self.activation)
    h = cond_BxK
    for width in self.hidden:
      h = act(nn.Dense(width)(h))
    total = sum(self.channels)
    out = nn.Dense(
        2 * total,
        kernel_init=nn.initializers.variance_scaling(self.init_scale, 'fan_in', 'truncated_normal'),
        bias_init=nn.initializers.zeros,
        name='film_out')(h)
    scales, shifts = jnp.split(out, 2, axis=-1)
    pairs, start = [], 0
    for c in self.channels:
      pairs.append((scales[:, start:start + c], shifts[:, start:start + c]))
      start += c
    return pairs
