"""Observables on hand-made frames with known answers, and their smoothness."""

import jax
import jax.numpy as jnp
import numpy as np

from dendrax.physics import observables as obs

PX = 2.0     # um per pixel
H, W = 40, 30


def _frame(heights_px):
  """xi = 1 below heights_px[x] in column x (sharp), [H, W]."""
  y = np.arange(H)[:, None]
  return (y < np.asarray(heights_px)[None, :]).astype(np.float32)


def test_flat_electrode_and_single_column():
  flat = _frame([5] * W)
  np.testing.assert_allclose(obs.dendrite_length_um(flat, PX, 5 * PX), 0.0, atol=0.05)
  assert int(obs.count_branches(flat, PX, 5 * PX)) == 1
  np.testing.assert_allclose(obs.interface_length_um(flat, PX), W * PX, rtol=0.02)
  needle = _frame([5] * 10 + [25] + [5] * 19)
  # The softmax-weighted front is within one softness of the needle tip (40 um above).
  length = float(obs.dendrite_length_um(needle, PX, 5 * PX, softness_um=1.0))
  assert 40.0 - 1.0 < length <= 40.0 + 1e-3


def test_porous_column_length_uses_topmost_deposit():
  xi = _frame([5] * W)
  xi[20:22, 3] = 1.0                       # a floating branch piece 30 um above the electrode
  length = float(obs.dendrite_length_um(xi, PX, 5 * PX, softness_um=0.5))
  assert abs(length - 22 * PX + 5 * PX) < 1.0


def test_density_branches_and_interface_length_of_three_fingers():
  heights = [5] * W
  for x0 in (3, 13, 23):
    heights[x0:x0 + 3] = [25] * 3
  xi = _frame(heights)
  dens = float(obs.deposit_density(xi, PX, 5 * PX))
  np.testing.assert_allclose(dens, 9 * 20 / (W * 35), rtol=0.05)   # 3 x 3 x 20 px over 30 x 35
  assert int(obs.count_branches(xi, PX, 5 * PX)) == 3
  assert float(obs.interface_length_um(xi, PX)) > 2.0 * W * PX     # 6 walls of 40 um + top
  # Batched frames give the per-frame values.
  both = np.stack([_frame([5] * W), xi])
  np.testing.assert_array_equal(obs.count_branches(both, PX, 5 * PX), [1, 3])
  keys = obs.all_observables(both, PX, 5 * PX)
  assert all(v.shape == (2,) for v in keys.values())


def test_length_and_density_are_smooth():
  y = jnp.arange(H, dtype=jnp.float32)[:, None] + 0.5
  x = jnp.arange(W, dtype=jnp.float32)[None, :]

  def frame(s):
    front = 8.0 + s * jnp.exp(-((x - 15.0) / 3.0)**2)
    return 0.5 * (1 - jnp.tanh((y - front) / 1.5))

  for fn in (lambda s: obs.dendrite_length_um(frame(s), PX, 8 * PX, 2.0),
             lambda s: obs.deposit_density(frame(s), PX, 8 * PX)):
    g = float(jax.grad(fn)(5.0))
    fd = (float(fn(5.0 + 1e-2)) - float(fn(5.0 - 1e-2))) / 2e-2
    assert g > 0 and abs(g - fd) < 0.02 * abs(fd)


def test_length_of_a_resolved_profile_is_the_half_contour_on_any_grid():
  """The same tanh front (a 6 um bump on a flat electrode at 10 um, 10-90 width ~2.7 um or
  ~5.5 um) sampled at 1 um and 0.5 um gives the xi = 1/2 contour's height on both grids: the
  per-column front is the contour's position, not a count of partly filled cells (the former
  product indicator read 0.1-0.3 um more on the finer grid)."""
  def frame(px, width_um):
    n = int(round(64 / px))
    y = (np.arange(n)[:, None] + 0.5) * px
    x = (np.arange(n)[None, :] + 0.5) * px
    contour = 10.0 + 6.0 * np.exp(-((x - 32.0) / 4.0)**2)
    return 0.5 * (1.0 - np.tanh(2.0 * (y - contour) / width_um)), contour
  for width_um in (2.5, 5.0):
    fronts = []
    for px in (1.0, 0.5):
      xi, contour = frame(px, width_um)
      front = np.asarray(obs.front_height_um(jnp.asarray(xi, jnp.float32), px))
      np.testing.assert_allclose(front, contour[0], atol=0.02 * width_um)
      fronts.append(float(obs.dendrite_length_um(jnp.asarray(xi, jnp.float32), px, 10.0)))
    assert abs(fronts[0] - fronts[1]) < 0.01 * fronts[1], (width_um, fronts)
