"""1-D equilibrium: at zero net current the interface potential follows the Nernst relation.

hong2018: a flat electrode at uniform potential V (insulated bulk side: no current in the electrolyte) faces
a reservoir at c0. The Butler-Volmer term vanishes at V_N = (RT/nF) ln(c0 / c_ref); the deposit
must grow below V_N, dissolve above it, and stand still at it. We measure the growth rate at
V_N - 5 mV, V_N, V_N + 5 mV and interpolate the zero.
"""

import jax
import numpy as np
import pytest

from dendrax.physics import parameters
from dendrax.physics import simulate


@pytest.mark.parametrize('c0', [500.0, 250.0])
def test_hong2018_zero_growth_potential_is_nernst(c0, tiny_hong2018_config):
  with jax.enable_x64(True):
    cfg = tiny_hong2018_config(nx=4, ny=32, dx_um=1.0, t_end_s=20.0, save_every_s=10.0,
                      interface_width_um=3.0, electrode_height_um=10.0, noise_amplitude=0.0,
                      potential_top='insulated', dtype='float64')
    base = dict(temperature_k=300.0, concentration_gradient_mol_m3_per_um=0.0,
                ion_concentration_mol_m3=c0, surface_energy_j_m2=0.5, fluidity_per_pa_s=316.2,
                n_defects=0.0)
    f = float(simulate.coefficients_for(parameters.PhysicalParams(
        field_strength_kv_per_m=1.0, **base), cfg)[1].f_per_v)
    v_nernst = np.log(c0 / 1000.0) / f
    rates = []
    for dv in (-0.005, 0.0, 0.005):
      field = -(v_nernst + dv) / (cfg.height_um * 1e-6) / 1e3
      traj = simulate.run(parameters.PhysicalParams(field_strength_kv_per_m=field, **base), cfg,
                          jax.random.key(0))
      th = np.asarray(traj.deposit_thickness_um)
      rates.append((th[2] - th[1]) / 10.0)                 # um/s, after the first 10 s
    assert rates[0] > 1e-5 and rates[2] < -1e-5            # grows below V_N, dissolves above
    v_zero = np.interp(0.0, rates[::-1], v_nernst + np.array([0.005, 0.0, -0.005]))
    assert abs(v_zero - v_nernst) < 0.5e-3                 # within 0.5 mV
    assert abs(rates[1]) < 0.02 * abs(rates[0])


def _growth_rate_um_s(v, tiny_config, c0):
  """Deposit growth rate (um/s) of a flat electrode held at v (V against the bulk reference)."""
  cfg = tiny_config(nx=4, ny=32, dx_um=1.0, t_end_s=2.0, save_every_s=1.0,
                    interface_width_um=3.0, electrode_height_um=10.0, noise_amplitude=0.0, protocol='constant_voltage',
                    cv_voltage_v=v, concentration_top='bulk', dtype='float64')
  params = parameters.PhysicalParams(
      temperature_k=300.0, concentration_gradient_mol_m3_per_um=2.0, field_strength_kv_per_m=0.05,
      ion_concentration_mol_m3=c0, surface_energy_j_m2=0.5, fluidity_per_pa_s=316.2,
      n_defects=0.0)
  th = np.asarray(simulate.run(params, cfg, jax.random.key(0)).deposit_thickness_um)
  return (th[2] - th[1]) / 1.0


def test_electroneutral_zero_current_potential_is_the_bulk_reference(tiny_config):
  """Electroneutral: eta = V - phi is measured against a reference electrode of the same metal in
  the bulk, so with the bulk concentration at the electrode the equilibrium is V = 0 whatever c0
  (the Nernst term is in the reference): the deposit grows below it, dissolves above it, and
  stands still at it."""
  with jax.enable_x64(True):
    rates = [_growth_rate_um_s(v, tiny_config, 250.0) for v in (-0.005, 0.0, 0.005)]
    assert rates[0] > 1e-5 and rates[2] < -1e-5
    v_zero = np.interp(0.0, rates[::-1], [0.005, 0.0, -0.005])
    assert abs(v_zero) < 0.5e-3                            # within 0.5 mV
    assert abs(rates[1]) < 0.02 * abs(rates[0])
