"""Loss values on inputs whose answer is known by hand."""

import jax.numpy as jnp
import numpy as np
import pytest

from dendrax.train import losses

CFG = dict(pixel='mse', pixel_weight=1.0, morph='dice', morph_weight=0.5, barron_alpha=1.0,
           barron_scale=0.1, length_weight=0.0, length_scale_um=10.0)


def test_mse():
  assert float(losses.mse(jnp.array([0.0, 1.0]), jnp.array([1.0, 1.0]))) == 0.5


@pytest.mark.parametrize('x', [0.0, 0.05, 0.3, 2.0])
def test_barron_special_cases(x):
  c = 0.1
  z2 = (x / c) ** 2
  arr = jnp.array([x])
  np.testing.assert_allclose(losses.barron(arr, 2.0, c), 0.5 * z2, rtol=1e-6)
  np.testing.assert_allclose(losses.barron(arr, 1.0, c), np.sqrt(z2 + 1) - 1, rtol=1e-5)
  np.testing.assert_allclose(losses.barron(arr, 0.0, c), np.log(0.5 * z2 + 1), rtol=1e-5)
  np.testing.assert_allclose(losses.barron(arr, float('-inf'), c), 1 - np.exp(-0.5 * z2),
                             rtol=1e-5, atol=1e-7)
  # The general formula approaches its limits continuously (Barron 2019, Eq. 3).
  np.testing.assert_allclose(losses.barron(arr, 1e-4, c), np.log(0.5 * z2 + 1), rtol=1e-3,
                             atol=1e-6)
  np.testing.assert_allclose(losses.barron(arr, 2.0 - 1e-4, c), 0.5 * z2, rtol=1e-3)


def test_barron_is_robust():
  """Large residuals grow like |x| for alpha = 1 and saturate for alpha = -inf."""
  big = jnp.array([100.0])
  assert float(losses.barron(big, 1.0, 1.0)) == pytest.approx(99.005, rel=1e-4)
  assert float(losses.barron(big, float('-inf'), 1.0)) == pytest.approx(1.0)
  with pytest.raises(ValueError, match='barron_scale'):
    losses.barron(big, 1.0, 0.0)


def test_soft_dice():
  a = jnp.zeros((2, 4, 4, 1)).at[:, :2].set(1.0)
  b = jnp.zeros((2, 4, 4, 1)).at[:, 2:].set(1.0)
  assert float(losses.soft_dice(a, a)) == pytest.approx(0.0, abs=1e-7)
  # Disjoint 8-pixel masks: 1 - (0 + 1) / (16 + 1).
  assert float(losses.soft_dice(a, b)) == pytest.approx(1 - 1 / 17, rel=1e-6)


def test_bce():
  p = jnp.array([0.8, 0.3])
  t = jnp.array([1.0, 0.0])
  expect = -(np.log(0.8) + np.log(0.7)) / 2
  assert float(losses.bce(p, t)) == pytest.approx(expect, rel=1e-6)


def test_total_loss_combines_the_terms():
  pred = jnp.full((1, 4, 4, 1), 0.5)
  target = jnp.zeros((1, 4, 4, 1)).at[:, :2].set(1.0)
  loss, parts = losses.total_loss(pred, target, CFG)
  mse = 0.25
  dice = 1 - (2 * 4.0 + 1) / (8 + 8 + 1)
  assert float(parts['mse']) == pytest.approx(mse)
  assert float(parts['morph']) == pytest.approx(dice, rel=1e-6)
  assert float(loss) == pytest.approx(mse + 0.5 * dice, rel=1e-6)
  assert 'pixel' not in parts           # the pixel term is the MSE: logged once, as 'mse'
  barron_cfg = dict(CFG, pixel='barron', morph='none')
  loss, parts = losses.total_loss(pred, target, barron_cfg)
  assert float(loss) == pytest.approx(np.sqrt(25 + 1) - 1, rel=1e-5)
  assert float(parts['mse']) == pytest.approx(mse)
  assert float(parts['pixel']) == pytest.approx(float(loss))


def test_length_term_of_flat_fronts():
  """Flat deposits 3 and 7 rows high at 2 um per pixel: lengths differ by 8 um."""
  low = jnp.zeros((2, 16, 8, 1)).at[:, :3].set(1.0)
  high = jnp.zeros((2, 16, 8, 1)).at[:, :7].set(1.0)
  ps, eh = jnp.full((2,), 2.0), jnp.full((2,), 4.0)
  assert float(losses.length_term(low, low, ps, eh, 10.0)) == 0.0
  assert float(losses.length_term(low, high, ps, eh, 4.0)) == pytest.approx(4.0, rel=1e-3)
  cfg = dict(CFG, morph='none', length_weight=2.0, length_scale_um=4.0)
  loss, parts = losses.total_loss(low, high, cfg, ps, eh)
  assert float(loss) == pytest.approx(4 * 8 / 128 + 2 * 4.0, rel=1e-3)
  with pytest.raises(ValueError, match='pixel_size_um'):
    losses.total_loss(low, high, cfg)


@pytest.mark.parametrize('key,value', [('pixel', 'l1'), ('length_scale_um', 0.0), ('morph', 'iou'), ('morph_weight', -1.0),
                                       ('barron_scale', 0.0)])
def test_bad_loss_config_names_the_key(key, value):
  with pytest.raises(ValueError, match=f'loss.{key}'):
    losses.validate_loss_config(dict(CFG, **{key: value}))


def test_only_the_squared_soft_dice_is_smallest_at_a_soft_target():
  """On a soft deposit mask (xi's tanh interface, 0 < t < 1) the squared-denominator Dice
  (Milletari et al. 2016) has its minimum, 0, and a zero gradient at p = t, since
  2 sum(p t) <= sum(p^2) + sum(t^2); the linear form is above 0 there and its gradient
  sharpens the interface: moving p a little along -grad lowers it while moving p off t."""
  import jax  # pylint: disable=g-import-not-at-top
  y = jnp.arange(32.0)[None, :, None, None] * jnp.ones((2, 1, 8, 1))
  t = 0.5 * (1 - jnp.tanh((y - jnp.array([10.0, 14.0])[:, None, None, None]) / 1.5))
  squared = lambda p: losses.soft_dice(p, t, squared=True)
  linear = lambda p: losses.soft_dice(p, t)
  assert abs(float(squared(t))) < 1e-6
  assert float(jnp.max(jnp.abs(jax.grad(squared)(t)))) < 1e-7
  for p in (jnp.clip(t + 0.05, 0, 1), jnp.round(t), 0.9 * t):
    assert float(squared(p)) > float(squared(t))
  g = jax.grad(linear)(t)
  assert float(linear(t)) > 0.02 and float(jnp.max(jnp.abs(g))) > 1e-4
  sharper = jnp.clip(t - 50.0 * g, 0.0, 1.0)
  assert float(linear(sharper)) < float(linear(t))
  assert float(jnp.sum((sharper - 0.5) ** 2)) > float(jnp.sum((t - 0.5) ** 2))   # nearer 0 / 1
  # Binary masks: both forms are 0 at a perfect match.
  b = jnp.round(t)
  assert abs(float(losses.soft_dice(b, b))) < 1e-6
  assert abs(float(losses.soft_dice(b, b, squared=True))) < 1e-6


def test_the_default_loss_is_stationary_at_a_soft_target():
  """configs/default.py's loss (pixel + morphology term) has its minimum at the target on xi's
  soft interface: a biased default (the linear Dice, default until 2026-12-03) fails this."""
  import jax  # pylint: disable=g-import-not-at-top
  from configs import default  # pylint: disable=g-import-not-at-top
  cfg = dict(default.get_config().loss)
  y = jnp.arange(32.0)[None, :, None, None] * jnp.ones((2, 1, 8, 1))
  t = 0.5 * (1 - jnp.tanh((y - jnp.array([10.0, 14.0])[:, None, None, None]) / 1.5))
  loss = lambda p, c: losses.total_loss(p, t, c)[0]
  assert float(jnp.max(jnp.abs(jax.grad(loss)(t, cfg)))) < 1e-7
  biased = dict(cfg, morph='dice')
  assert float(jnp.max(jnp.abs(jax.grad(loss)(t, biased)))) > 1e-6
