"""Training losses for next-frame prediction of the deposit order parameter xi in [0, 1].

The total loss (config `loss`) is

    L = pixel_weight * pixel(xi_pred - xi_true) + morph_weight * morph(xi_pred, xi_true)
        + length_weight * mean(((L(xi_pred) - L(xi_true)) / length_scale_um)^2)

with `pixel` the mean squared error ('mse') or Barron's general robust loss ('barron'), and
`morph` a morphology term on the deposit: soft Dice on the deposit mask ('dice', or
'dice_squared' with squared sums in the denominator), binary cross entropy ('bce') or none
('none'). On soft masks such as xi's tanh interface, 'dice' is not smallest at the target: its
gradient sharpens the interface (see `soft_dice`); 'dice_squared' and 'bce' are smallest at the
target. MSE alone is dominated by the flat electrolyte far from the
deposit; the morphology term weights the thin growing front, the part that decides the dendrite
length the paper reports. The optional length term compares the dendrite length L
(`dendrax.physics.observables.dendrite_length_um`, smooth in xi) of predicted and true frames,
the quantity the evaluation scores.
"""

from __future__ import annotations

from typing import Any, Mapping

import jax
import jax.numpy as jnp

from dendrax.physics import observables

PIXEL_LOSSES = ('mse', 'barron')
MORPH_LOSSES = ('none', 'dice', 'dice_squared', 'bce')


def mse(pred: jax.Array, target: jax.Array) -> jax.Array:
  """Mean squared error over all elements."""
  return jnp.mean(jnp.square(pred - target))


def barron(x: jax.Array, alpha: float, scale: float) -> jax.Array:
  """Mean of Barron's general and adaptive robust loss rho(x, alpha, c) (fixed alpha).

      rho(x, alpha, c) = |alpha - 2| / alpha * (((x / c)^2 / |alpha - 2| + 1)^(alpha / 2) - 1)

  with the limits alpha = 2: (x/c)^2 / 2 (L2), alpha = 0: log((x/c)^2 / 2 + 1) (Cauchy),
  alpha = -inf: 1 - exp(-(x/c)^2 / 2) (Welsch); alpha = 1 is pseudo-Huber (Charbonnier).
  Reference: J. T. Barron, "A General and Adaptive Robust Loss Function", CVPR 2019,
  arXiv:1701.03077, Eq. (1)-(3). `alpha` is a Python float (static); `scale` c > 0.

  Args:
    x: residuals, any shape.
    alpha: shape parameter; <2 makes large residuals count less than in L2.
    scale: c, the residual size below which the loss is approximately quadratic.
  """
  if not scale > 0:
    raise ValueError(f'loss.barron_scale must be > 0; got {scale}')
  z2 = jnp.square(x / scale)
  if alpha == 2.0:
    rho = 0.5 * z2
  elif alpha == 0.0:
    rho = jnp.log1p(0.5 * z2)
  elif alpha == float('-inf'):
    rho = -jnp.expm1(-0.5 * z2)
  else:
    b = abs(alpha - 2.0)
    # (z2/b + 1)^(alpha/2) - 1 as expm1(alpha/2 * log1p(z2/b)): no cancellation near alpha = 0.
    rho = b / alpha * jnp.expm1(0.5 * alpha * jnp.log1p(z2 / b))
  return jnp.mean(rho)


def soft_dice(pred: jax.Array, target: jax.Array, eps: float = 1.0,
              squared: bool = False) -> jax.Array:
  """1 - soft Dice of the deposit, per example then averaged.

      Dice = (2 sum(p t) + eps) / (sum(p) + sum(t) + eps),          squared=False
      Dice = (2 sum(p t) + eps) / (sum(p^2) + sum(t^2) + eps),      squared=True

  sums over all but the batch axis. xi itself serves as the soft mask (1 in the deposit, 0 in
  the electrolyte). `eps` (in pixels) keeps empty frames finite.

  Both are 0 at a perfect match of binary masks. On soft masks only the squared form
  (Milletari et al. 2016, V-Net) is smallest at p = t: 2 sum(p t) <= sum(p^2) + sum(t^2),
  with equality only there. The linear form is above 0 at p = t (sum(t^2) < sum(t) where
  0 < t < 1), and its gradient there pushes p towards 1 where t > Dice / 2 and towards 0
  elsewhere: it sharpens the interface away from the target.
  """
  axes = tuple(range(1, pred.ndim))
  inter = jnp.sum(pred * target, axis=axes)
  if squared:
    total = jnp.sum(jnp.square(pred), axis=axes) + jnp.sum(jnp.square(target), axis=axes)
  else:
    total = jnp.sum(pred, axis=axes) + jnp.sum(target, axis=axes)
  return jnp.mean(1.0 - (2.0 * inter + eps) / (total + eps))


def bce(pred: jax.Array, target: jax.Array, eps: float = 1e-6) -> jax.Array:
  """Binary cross entropy between predicted and true xi, both in [0, 1] (soft labels)."""
  p = jnp.clip(pred, eps, 1.0 - eps)
  return -jnp.mean(target * jnp.log(p) + (1.0 - target) * jnp.log1p(-p))


def validate_loss_config(cfg: Mapping[str, Any]) -> None:
  """Raises ValueError naming the `loss.*` key that is out of range."""
  if cfg['pixel'] not in PIXEL_LOSSES:
    raise ValueError(f'loss.pixel={cfg["pixel"]!r} is not one of {PIXEL_LOSSES}')
  if cfg['morph'] not in MORPH_LOSSES:
    raise ValueError(f'loss.morph={cfg["morph"]!r} is not one of {MORPH_LOSSES}')
  for key in ('pixel_weight', 'morph_weight', 'length_weight'):
    if cfg[key] < 0:
      raise ValueError(f'loss.{key} must be >= 0; got {cfg[key]}')
  if cfg['barron_scale'] <= 0:
    raise ValueError(f'loss.barron_scale must be > 0; got {cfg["barron_scale"]}')
  if cfg['length_scale_um'] <= 0:
    raise ValueError(f'loss.length_scale_um must be > 0; got {cfg["length_scale_um"]}')


def length_term(pred: jax.Array, target: jax.Array, pixel_size_um: jax.Array,
                electrode_height_um: jax.Array, scale_um: float) -> jax.Array:
  """mean(((L(pred) - L(target)) / scale_um)^2) of the dendrite lengths of [B, H, W, 1] frames."""
  length = lambda xi: observables.dendrite_length_um(xi[..., 0], pixel_size_um,
                                                     electrode_height_um)
  return jnp.mean(jnp.square((length(pred) - length(target)) / scale_um))


def total_loss(pred: jax.Array, target: jax.Array, cfg: Mapping[str, Any],
               pixel_size_um: jax.Array | None = None,
               electrode_height_um: jax.Array | None = None
               ) -> tuple[jax.Array, dict[str, jax.Array]]:
  """The configured loss and its parts ({'mse', 'morph', 'loss'}, + 'pixel' when it is not the
  MSE, i.e. Barron's loss, + 'length' when its weight is > 0).

  Args:
    pred, target: xi [B, H, W, 1].
    cfg: the `loss` config (keys pixel, pixel_weight, morph, morph_weight, barron_alpha,
      barron_scale, length_weight, length_scale_um).
    pixel_size_um, electrode_height_um: [B]; needed when `length_weight` > 0.
  """
  if cfg['pixel'] == 'barron':
    pixel = barron(pred - target, float(cfg['barron_alpha']), float(cfg['barron_scale']))
  else:
    pixel = mse(pred, target)
  if cfg['morph'] in ('dice', 'dice_squared'):
    morph = soft_dice(pred, target, squared=cfg['morph'] == 'dice_squared')
  elif cfg['morph'] == 'bce':
    morph = bce(pred, target)
  else:
    morph = jnp.zeros((), pred.dtype)
  loss = cfg['pixel_weight'] * pixel + cfg['morph_weight'] * morph
  parts = {'mse': mse(pred, target), 'morph': morph}
  if cfg['pixel'] != 'mse':            # with 'mse' the pixel term is `mse` itself: logged once
    parts['pixel'] = pixel
  if cfg['length_weight'] > 0:
    if pixel_size_um is None or electrode_height_um is None:
      raise ValueError('loss.length_weight > 0 needs pixel_size_um and electrode_height_um')
    parts['length'] = length_term(pred, target, pixel_size_um, electrode_height_um,
                                  float(cfg['length_scale_um']))
    loss = loss + cfg['length_weight'] * parts['length']
  return loss, dict(parts, loss=loss)
