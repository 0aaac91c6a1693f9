"""Tests of the Faraday-consistency loss on hand-computed jumps: z F c_s per chemistry, the
deposited thickness in cells, the charge in cells, the pooled relative mismatch, masking of an
unknown charge, and its gradient with respect to the predicted frame."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dendrax.train import physics_loss as pl

F = 96485.33212


def test_charge_per_um_by_chemistry():
  # Li: z = 1, c_s = 7.64e4 mol/m^3; Zn: z = 2, c_s = 7140 kg/m^3 / 65.38 g/mol; -1: unknown.
  got = pl.charge_per_um_c_m2(np.array([0, 1, -1]))
  np.testing.assert_allclose(got[:2], [F * 7.64e4 * 1e-6, 2 * F * 7140 / 65.38e-3 * 1e-6],
                             rtol=1e-12)
  assert np.isnan(got[2])


def _jump():
  """Two examples on 4 x 2 frames of 2 um cells: 3 and 1 cells of xi deposited."""
  xi_in = np.zeros((2, 4, 2, 1))
  xi_in[:, 0] = 1.0                                   # electrode row, unchanged by the jump
  pred = xi_in.copy()
  pred[0, 1] = 1.0                                    # + 2 cells
  pred[0, 2, 0] = 1.0                                 # + 1 cell
  pred[1, 1] = 0.5                                    # + 1 cell (two halves)
  return jnp.asarray(xi_in), jnp.asarray(pred)


def test_deposit_and_charge_in_cells():
  xi_in, pred = _jump()
  np.testing.assert_allclose(pl.deposit_change_px(xi_in, pred), [1.5, 0.5])   # sum / n_x = 2
  q_li = pl.charge_per_um_c_m2(np.array([0]))[0]
  # A charge of z F c_s x (1.5 cells x 2 um) deposits 1.5 cells.
  with jax.enable_x64(True):
    np.testing.assert_allclose(pl.charge_thickness_px(jnp.asarray(1.5 * 2.0 * q_li), 2.0, q_li),
                               1.5, rtol=1e-12)


def test_faraday_loss_hand_computed():
  with jax.enable_x64(True):
    xi_in, pred = _jump()
    chem = np.array([0, 1])                           # Li, Zn
    per_um = jnp.asarray(pl.charge_per_um_c_m2(chem))
    dx = jnp.asarray([2.0, 2.0])
    exact_q = jnp.asarray([1.5, 0.5]) * per_um * dx   # charges that deposit exactly the change
    loss, parts = pl.faraday_loss(xi_in, pred, exact_q, dx, per_um, floor_px=0.05)
    assert float(loss) == pytest.approx(0.0, abs=1e-20)
    np.testing.assert_allclose(parts['physics/deposit_px'], 1.0)
    # Half the charge on example 0: mismatch 0.75 cells; charges 0.75 and 0.5 cells.
    q = exact_q.at[0].multiply(0.5)
    loss, _ = pl.faraday_loss(xi_in, pred, q, dx, per_um, floor_px=0.05)
    expected = 0.75**2 / (0.75**2 + 0.5**2 + 0.05**2 * 2)
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    # Unknown charge (NaN) on example 1: only example 0 counts.
    loss, parts = pl.faraday_loss(xi_in, pred, q.at[1].set(jnp.nan), dx, per_um, floor_px=0.05)
    np.testing.assert_allclose(loss, 0.75**2 / (0.75**2 + 0.05**2), rtol=1e-12)
    np.testing.assert_allclose(parts['physics/deposit_px'], 1.5)
    # No charge at all: floor only, the deposit itself is penalised.
    loss, _ = pl.faraday_loss(xi_in, pred, jnp.zeros(2), dx, per_um, floor_px=0.05)
    np.testing.assert_allclose(loss, (1.5**2 + 0.5**2) / (0.05**2 * 2), rtol=1e-12)


def test_faraday_loss_gradient_is_uniform_over_cells():
  """dL/d pred = 2 m_b (deposit_b - charge_b) / (n_x D), the same for every cell of example b."""
  with jax.enable_x64(True):
    xi_in, pred = _jump()
    per_um = jnp.asarray(pl.charge_per_um_c_m2(np.array([0, 0])))
    dx = jnp.asarray([2.0, 2.0])
    q = jnp.asarray([1.0, 0.5]) * per_um * dx          # mismatches +0.5 and 0 cells
    grad = jax.grad(lambda p: pl.faraday_loss(xi_in, p, q, dx, per_um, floor_px=0.05)[0])(pred)
    denom = 1.0**2 + 0.5**2 + 0.05**2 * 2
    np.testing.assert_allclose(grad[0], np.full((4, 2, 1), 2 * 0.5 / (2 * denom)), rtol=1e-12)
    np.testing.assert_allclose(grad[1], 0.0, atol=1e-15)
