"""Tiny simulator settings shared by the physics tests (fast on a 2-core CPU).

Two models live side by side (`SimulationConfig.model`): the default electroneutral binary
electrolyte (`tiny_config`, `mid_params`: currents in mA/cm^2) and the published cation-only model
`hong2018` (`tiny_hong2018_config`, `hong2018_params`: field in kV/m over the cell, currents in
units of sigma_l E). Each test states which one it checks.
"""

import pytest

from dendrax.physics import parameters
from dendrax.physics.simulate import SimulationConfig

_TINY = dict(nx=16, ny=16, dx_um=2.0, dt_s=0.05, t_end_s=2.0, save_every_s=1.0,
             interface_width_um=5.0, electrode_height_um=8.0, defect_radius_um=4.0,
             max_defects=2, potential_iterations=3, transport_iterations=3,
             initial_potential_iterations=30, checkpoint_every_steps=10, length_softness_um=1.0)


def make_tiny_config(**overrides) -> SimulationConfig:
  """Electroneutral: 16 x 16 cells of 2 um, 2 s in frames of 1 s, dt 0.05 s, bulk c~ = 1 on
  the top face (the SimulationConfig default concentration_top)."""
  d = dict(_TINY, model='electroneutral')
  d.update(overrides)
  return SimulationConfig(**d).checked()


def make_tiny_hong2018_config(**overrides) -> SimulationConfig:
  """hong2018 on the same 16 x 16 grid (the pre-2.0 tests' settings)."""
  d = dict(_TINY, model='hong2018')
  d.update(overrides)
  return SimulationConfig(**d).checked()


def make_mid_params(**overrides) -> parameters.PhysicalParams:
  """Electroneutral mid-range: J = 5 mA/cm^2 (E = 0.05 kV/m), 1 M, diffusion layer c0 / G = 500
  um, 1 defect."""
  d = dict(temperature_k=300.0, concentration_gradient_mol_m3_per_um=2.0,
           field_strength_kv_per_m=0.05, ion_concentration_mol_m3=1000.0,
           surface_energy_j_m2=0.5, fluidity_per_pa_s=316.0, n_defects=1.0)
  d.update(overrides)
  return parameters.PhysicalParams(**d)


def make_hong2018_params(**overrides) -> parameters.PhysicalParams:
  """hong2018 mid-range: -E H = -0.45 V over 200 um (E = 2.25 kV/m), 1 M, 1 defect."""
  d = dict(temperature_k=300.0, concentration_gradient_mol_m3_per_um=1.0,
           field_strength_kv_per_m=2.25, ion_concentration_mol_m3=1000.0,
           surface_energy_j_m2=0.5, fluidity_per_pa_s=316.0, n_defects=1.0)
  d.update(overrides)
  return parameters.PhysicalParams(**d)


@pytest.fixture
def tiny_config():
  """Factory: `tiny_config(**overrides) -> SimulationConfig` (electroneutral)."""
  return make_tiny_config


@pytest.fixture
def tiny_hong2018_config():
  """Factory: `tiny_hong2018_config(**overrides) -> SimulationConfig` (model='hong2018')."""
  return make_tiny_hong2018_config


@pytest.fixture
def mid_params():
  """Factory: `mid_params(**overrides) -> PhysicalParams` (electroneutral mid-range)."""
  return make_mid_params


@pytest.fixture
def hong2018_params():
  """Factory: `hong2018_params(**overrides) -> PhysicalParams` (the old mid-range, 2.25 kV/m)."""
  return make_hong2018_params
