"""Faraday's law and Li conservation, in float64."""

import jax
import numpy as np

from dendrax.physics import coefficients as coef
from dendrax.physics import simulate


def test_total_li_conserved_with_no_flux_boundaries(tiny_config, mid_params):
  with jax.enable_x64(True):
    cfg = tiny_config(concentration_top='closed', potential_top='grounded', dtype='float64',
                      noise_amplitude=0.01)
    traj = simulate.run(mid_params(), cfg, jax.random.key(0))
    _, rates = simulate.coefficients_for(mid_params(), cfg)
    total = traj.dissolved_thickness_um + float(rates.site_ratio) * traj.deposit_thickness_um
    moved = float(rates.site_ratio) * abs(float(traj.deposit_thickness_um[-1]
                                                - traj.deposit_thickness_um[0]))
    assert moved > 0.1                              # metal was actually deposited
    np.testing.assert_allclose(total, total[0], rtol=1e-10)
    np.testing.assert_allclose(traj.observables['charge_c_per_m2'], 0.0, atol=1e-12)


def test_faraday_metal_plus_dissolved_equals_charge_over_nf(tiny_config, mid_params):
  with jax.enable_x64(True):
    cfg = tiny_config(dtype='float64', potential_iterations=2, transport_iterations=1)
    params = mid_params(ion_concentration_mol_m3=800.0)
    traj = simulate.run(params, cfg, jax.random.key(1))
    chem = coef.get_chemistry(cfg.chemistry)
    nf = chem.electrons * coef.FARADAY
    metal = chem.site_density_mol_m3 * (traj.deposit_thickness_um
                                        - traj.deposit_thickness_um[0]) * 1e-6   # mol/m^2
    dissolved = 800.0 * (traj.dissolved_thickness_um - traj.dissolved_thickness_um[0]) * 1e-6
    charge = np.asarray(traj.observables['charge_c_per_m2'])
    assert charge[-1] > 0 and metal[-1] > 0
    np.testing.assert_allclose(metal + dissolved, charge / nf, rtol=1e-9, atol=1e-15)
