"""Tiny simulator settings shared by the physics tests (fast on a 2-core CPU)."""

import pytest

from dendrax.physics import parameters
from dendrax.physics.simulate import SimulationConfig


def make_tiny_config(**overrides) -> SimulationConfig:
  """16 x 16 cells of 2 um, 2 s in frames of 1 s, dt 0.05 s."""
  d = dict(nx=16, ny=16, dx_um=2.0, dt_s=0.05, t_end_s=2.0, save_every_s=1.0,
           interface_width_um=5.0, electrode_height_um=8.0, defect_radius_um=4.0,
           max_defects=2, potential_iterations=3, transport_iterations=3,
           initial_potential_iterations=30, checkpoint_every_steps=10, length_softness_um=1.0)
  d.update(overrides)
  return SimulationConfig(**d).checked()


def make_mid_params(**overrides) -> parameters.PhysicalParams:
  d = dict(temperature_k=300.0, concentration_gradient_mol_m3_per_um=1.0,
           field_strength_kv_per_m=2.25, ion_concentration_mol_m3=1000.0,
           surface_energy_j_m2=0.5, fluidity_per_pa_s=316.0, n_defects=1.0)
  d.update(overrides)
  return parameters.PhysicalParams(**d)


@pytest.fixture
def tiny_config():
  """Factory: `tiny_config(**overrides) -> SimulationConfig`."""
  return make_tiny_config


@pytest.fixture
def mid_params():
  """Factory: `mid_params(**overrides) -> PhysicalParams` (mid-range, 1 defect)."""
  return make_mid_params
