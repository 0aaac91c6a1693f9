r"""Physics-consistency loss for 30 s jumps: the metal deposited equals the charge passed / (z F).

Faraday's law for one jump of the surrogate, per unit electrode area:

    dV / A = dQ / (z F c_s)

with dQ the charge passed during the jump (C/m^2, the difference of the dataset's
`charge_c_per_m2` observable between the target and input frames), z the cation charge number,
F the Faraday constant and c_s the metal's molar site density (mol/m^3), so that dQ / (z F)
is the metal deposited (mol/m^2) and dividing by c_s turns it into a thickness (m).
On the frame, the deposited volume per electrode area is the xi change times the cell area over
the electrode width: dV / A = dx^2 sum_{y,x} dxi / (n_x dx) = dx sum dxi / n_x. Both sides are
made nondimensional by the pixel size dx, i.e. measured in cells of deposit thickness:

    deposit_px = sum_{y,x} (xi_pred - xi_in) / n_x
    charge_px  = dQ / (z F c_s dx) = dQ [C/m^2] / (charge_per_um [C/m^2 per um] * dx [um]),

charge_per_um = z F c_s 1e-6 (`charge_per_um_c_m2`; the simulator's
`ModelCoefficients.charge_per_um_c_m2`). The loss is the batch-pooled relative squared mismatch

    L = sum_b m_b (deposit_px,b - charge_px,b)^2 / (sum_b m_b charge_px,b^2 + floor_px^2 sum_b m_b),

m_b = 0 where the charge is unknown (NaN: real-data datasets). `floor_px` (cells) keeps jumps with
almost no charge from dividing by zero. The relation is exact when the recorded charge is the
Faradaic charge (the time integral of the reaction current). A charge measured through the bulk
face also counts the change of the dissolved ion inventory, dQ / (z F c0) = d(dissolved) +
(c_s / c0) d(deposit), so there it holds up to d(dissolved) c0 / c_s.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from dendrax.physics import coefficients
from dendrax.physics import parameters


def charge_per_um_c_m2(chemistry_index) -> np.ndarray:
  """z F c_s 1e-6 (C/m^2 per um of metal) of each `parameters.CHEMISTRIES` index; NaN if < 0."""
  table = np.array([coefficients.CHEMISTRIES[n].charge_per_um_c_m2
                    for n in parameters.CHEMISTRIES])
  idx = np.asarray(chemistry_index)
  return np.where(idx >= 0, table[np.clip(idx, 0, len(table) - 1)], np.nan)


def deposit_change_px(xi_in_BxHxWx1: jax.Array, xi_out_BxHxWx1: jax.Array) -> jax.Array:
  """[B] metal deposited over the jump, in cells of thickness: sum(xi_out - xi_in) / n_x."""
  n_x = xi_in_BxHxWx1.shape[2]
  return jnp.sum(xi_out_BxHxWx1 - xi_in_BxHxWx1, axis=(1, 2, 3)) / n_x


def charge_thickness_px(charge_passed_c_per_m2: jax.Array, pixel_size_um: jax.Array,
                        charge_per_um: jax.Array) -> jax.Array:
  """[B] dQ / (z F c_s dx): the thickness the charge passed deposits, in cells."""
  return charge_passed_c_per_m2 / (charge_per_um * pixel_size_um)


def faraday_loss(xi_in_BxHxWx1: jax.Array, pred_BxHxWx1: jax.Array,
                 charge_passed_c_per_m2: jax.Array, pixel_size_um: jax.Array,
                 charge_per_um: jax.Array, floor_px: float = 0.05
                 ) -> tuple[jax.Array, dict[str, jax.Array]]:
  """(L, parts) of the module docstring for a batch of one-step pairs.

  Args:
    xi_in_BxHxWx1: input frame xi (channel 0 of `inputs`).
    pred_BxHxWx1: the surrogate's next frame.
    charge_passed_c_per_m2: [B] charge passed during the jump, C/m^2 (NaN: unknown).
    pixel_size_um: [B] cell side dx, um.
    charge_per_um: [B] z F c_s 1e-6 of each example's chemistry (`charge_per_um_c_m2`).
    floor_px: thickness (cells) below which a jump counts as depositing nothing.
  parts: 'physics' (L), 'physics/deposit_px', 'physics/charge_px' (batch means over known m_b).
  """
  deposit = deposit_change_px(xi_in_BxHxWx1, pred_BxHxWx1)
  charge = charge_thickness_px(charge_passed_c_per_m2, pixel_size_um, charge_per_um)
  known = jnp.isfinite(charge)
  m = known.astype(deposit.dtype)
  charge = jnp.where(known, charge, 0.0)
  n = jnp.maximum(jnp.sum(m), 1.0)
  loss = (jnp.sum(m * jnp.square(deposit - charge))
          / (jnp.sum(m * jnp.square(charge)) + floor_px**2 * jnp.sum(m) + 1e-30))
  return loss, {'physics': loss, 'physics/deposit_px': jnp.sum(m * deposit) / n,
                'physics/charge_px': jnp.sum(m * charge) / n}
