"""Elasticities (jvp and vjp) against the paper's finite differences, on a toy rollout in float64.

The toy is a small `lax.scan` growth model with the simulator's signature (params -> observable
time series + stage), so these tests pin the maths independently of the phase-field model; the
simulator itself is checked in `test_sensitivity_simulator.py`.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dendrax.analysis import sensitivity
from dendrax.physics import parameters

P0 = parameters.PhysicalParams(temperature_k=300.0, concentration_gradient_mol_m3_per_um=1.5,
                               field_strength_kv_per_m=2.25, ion_concentration_mol_m3=1000.0,
                               surface_energy_j_m2=0.5, fluidity_per_pa_s=300.0, n_defects=3.0)
STAGE = jnp.array([0, 0, 0, 1, 1, 1, 2, 2])


def toy_rollout(p):
  """Front height and area grow at parameter-dependent rates; branches need an integer count."""
  rate = (p.field_strength_kv_per_m ** 1.3 * (p.ion_concentration_mol_m3 / 1000.0) ** 0.5
          * jnp.exp(-(p.surface_energy_j_m2 - 0.5)) * (1 + 0.1 * p.concentration_gradient_mol_m3_per_um)
          * (p.fluidity_per_pa_s / 300.0) ** 0.3 * jnp.exp(2000.0 / 300.0 - 2000.0 / p.temperature_k))
  defects = jnp.round(p.n_defects)

  def step(state, s):
    length, density = state
    boost = jnp.array([0.3, 1.0, 0.6])[s]
    length = length + boost * rate * (1.0 + 0.05 * jnp.sin(length))
    density = density + 0.1 * rate / (1.0 + density)
    return (length, density), (length, density, (1.0 + defects) * jnp.sqrt(length))

  _, (length, density, branches) = jax.lax.scan(step, (jnp.asarray(1.0), jnp.asarray(0.1)), STAGE)
  return {'length_um': length, 'density': density, 'branches': branches}


def toy_outputs(p):
  return sensitivity.stage_summary(toy_rollout(p), STAGE)


@pytest.fixture(autouse=True)
def x64():
  with jax.enable_x64(True):
    yield


def test_forward_matches_central_finite_differences():
  exact = sensitivity.elasticities(toy_outputs, P0)
  fd = sensitivity.finite_difference_elasticities(
      toy_outputs, P0, parameters.CONTINUOUS_PARAMETERS, rel_step=1e-5, scheme='central')
  assert set(exact) == set(parameters.CONTINUOUS_PARAMETERS)
  present = ['overall'] + [parameters.STAGES[int(k)] for k in np.unique(STAGE) if k >= 0]
  for name in exact:
    for obs in ('length_um', 'density', 'branches'):
      for summary in present:         # a stage with no frames has no summary (NaN by design)
        e, f = float(exact[name][obs][summary]), float(fd[name][obs][summary])
        assert np.isfinite(e), (name, obs, summary)
        np.testing.assert_allclose(e, f, rtol=1e-6, atol=1e-9, err_msg=f'{name} {obs} {summary}')
  # Not trivially zero: the field strength drives the growth.
  assert float(exact['field_strength_kv_per_m']['length_um']['overall']) > 0.5


def test_reverse_mode_equals_forward_mode():
  fwd = sensitivity.elasticities(toy_outputs, P0, mode='forward')
  rev = sensitivity.elasticities(toy_outputs, P0, mode='reverse')
  assert sensitivity.relative_difference(fwd, rev) < 1e-12


def test_paper_forward_formula_converges_at_first_order():
  exact = sensitivity.elasticities(toy_outputs, P0, ['temperature_k'])
  errors = []
  for h in (1e-2, 1e-3):
    fd = sensitivity.finite_difference_elasticities(toy_outputs, P0, ['temperature_k'],
                                                    rel_step=h, scheme='forward')
    errors.append(abs(float(fd['temperature_k']['length_um']['overall'])
                      - float(exact['temperature_k']['length_um']['overall'])))
  # Ten times smaller step -> about ten times smaller error (first order), not exact.
  assert 5.0 < errors[0] / errors[1] < 20.0
  assert errors[1] > 0


def test_defects_entry_is_an_integer_step_difference():
  fd = sensitivity.finite_difference_elasticities(toy_outputs, P0, ['n_defects'])
  # branches = (1 + N) sqrt(L): (5/4 - 1) * 3 / 1 = 0.75 exactly, length independent of N.
  np.testing.assert_allclose(float(fd['n_defects']['branches']['overall']), 0.75, rtol=1e-12)
  np.testing.assert_allclose(float(fd['n_defects']['length_um']['overall']), 0.0, atol=1e-12)
  assert 'n_defects' in sensitivity.DISCRETE_PARAMETERS


def test_stage_summary_means_and_missing_stage():
  series = {'x': jnp.arange(8.0)}
  s = sensitivity.stage_summary(series, jnp.array([0, 0, 0, 1, 1, 1, 1, 1]))
  assert float(s['x']['overall']) == 7.0
  assert float(s['x']['trickle']) == 1.5          # frames 1 and 2 (frame 0 skipped)
  assert float(s['x']['constant_current']) == 5.0
  assert np.isnan(float(s['x']['constant_voltage']))


def test_unknown_parameter_is_named():
  with pytest.raises(ValueError, match='viscosity'):
    sensitivity.elasticities(toy_outputs, P0, ['viscosity'])


def test_disagreement_warning_names_the_source():
  from dendrax.analysis import sensitivity_study  # pylint: disable=g-import-not-at-top
  exact = sensitivity.elasticities(toy_outputs, P0)
  fd = sensitivity.finite_difference_elasticities(toy_outputs, P0, rel_step=1e-5,
                                                  scheme='central')
  agree = {'exact': jax.tree.map(float, exact), 'fd': jax.tree.map(float, fd)}
  assert sensitivity_study.max_disagreement(agree) < 1e-5
  assert sensitivity_study.disagreement_warnings({'physics': agree}) == []
  off = jax.tree.map(float, fd)
  off['temperature_k']['length_um']['overall'] *= 2.0
  warnings = sensitivity_study.disagreement_warnings({'physics': {'exact': agree['exact'],
                                                                  'fd': off}})
  assert len(warnings) == 1 and warnings[0].startswith('WARNING (physics)')
