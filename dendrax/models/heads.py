"""What every surrogate shares around its body: input checks and the output head.

All surrogates (`unet.UNet`, `cnext.CNextUNet`, `fno.FNO`) are called as
`apply(variables, inputs [B, H, W, C], cond [B, K]) -> xi' [B, H, W, 1]` with channel 0 of
`inputs` the current xi in [0, 1]. The body produces `delta` [B, H, W, 1]; the head turns it into
the next frame (`OUTPUTS`):
  - 'logit_residual': xi' = sigmoid(logit(clip(xi)) + delta); zero delta is the persistence
    forecast and every step stays inside [0, 1];
  - 'residual': xi' = xi + delta (unbounded);
  - 'sigmoid': xi' = sigmoid(delta) (no skip from the input).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

OUTPUTS = ('logit_residual', 'residual', 'sigmoid')


def check_head(output: str, xi_clip: float) -> None:
  """ValueError naming `model.output` / `model.xi_clip` when out of range."""
  if output not in OUTPUTS:
    raise ValueError(f'model.output={output!r} is not one of {OUTPUTS}')
  if not 0.0 < xi_clip < 0.5:
    raise ValueError(f'model.xi_clip must be in (0, 0.5); got {xi_clip}')


def check_inputs(inputs_BxHxWxC: jax.Array, cond_BxK: jax.Array, multiple: int = 1) -> None:
  """ValueError when inputs are not [B, H, W, C], cond not [B, K], or H, W not multiples."""
  if inputs_BxHxWxC.ndim != 4:
    raise ValueError(f'inputs must be [B, H, W, C]; got shape {inputs_BxHxWxC.shape}')
  if inputs_BxHxWxC.shape[1] % multiple or inputs_BxHxWxC.shape[2] % multiple:
    raise ValueError(f'inputs H, W = {inputs_BxHxWxC.shape[1:3]} must be divisible by {multiple} '
                     f'(2 ** (len(model.features) - 1))')
  if cond_BxK.ndim != 2 or cond_BxK.shape[0] != inputs_BxHxWxC.shape[0]:
    raise ValueError(f'cond must be [B, K] with B = {inputs_BxHxWxC.shape[0]}; got shape '
                     f'{cond_BxK.shape}')


def apply_head(inputs_BxHxWxC: jax.Array, delta_BxHxWx1: jax.Array, output: str,
               xi_clip: float) -> jax.Array:
  """Next frame xi' [B, H, W, 1] from the body's `delta` (module docstring)."""
  xi = inputs_BxHxWxC[..., :1]
  if output == 'logit_residual':
    xi = jnp.clip(xi, xi_clip, 1.0 - xi_clip)
    return jax.nn.sigmoid(jnp.log(xi) - jnp.log1p(-xi) + delta_BxHxWx1)
  if output == 'residual':
    return xi + delta_BxHxWx1
  return jax.nn.sigmoid(delta_BxHxWx1)
