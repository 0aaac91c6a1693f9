"""The FiPy peer of the speed benchmark solves dendrax's electroneutral discrete problem.

Tiny float64 grid, a few steps: with every linear system solved far below the differences that
matter (dendrax: many PCG iterations; FiPy: tolerance 1e-12), the two codes must give the same
fields to round-off-level differences. Any mismatch in a term, boundary condition, face
average or the order of the sub-steps shows up orders of magnitude above these bounds.
"""

import jax
import numpy as np
import pytest

pytest.importorskip('fipy')

from benchmarks import dendrax_residuals as dr  # pylint: disable=g-import-not-at-top
from benchmarks import fipy_electrodeposition as fe  # pylint: disable=g-import-not-at-top
from dendrax.physics import parameters  # pylint: disable=g-import-not-at-top
from dendrax.physics import simulate  # pylint: disable=g-import-not-at-top

STEPS = 4


def _config(**kw):
  d = dict(nx=12, ny=16, noise_amplitude=0.0, dtype='float64', t_end_s=STEPS * 0.05,
           save_every_s=STEPS * 0.05, potential_iterations=150, transport_iterations=60,
           max_defects=2)
  d.update(kw)
  return simulate.SimulationConfig.standard(**d)


def _params(**kw):
  # Above the trickle current, so that depletion and the potential are well away from zero.
  d = dict(fe.STANDARD_PARAMS, n_defects=1.0, field_strength_kv_per_m=0.3)
  d.update(kw)
  return parameters.PhysicalParams(**d)


@pytest.fixture(scope='module')
def runs():
  with jax.enable_x64(True):
    cfg = _config(protocol='constant_current')
    params = _params()
    ref = dr.dendrax_steps(params, cfg, STEPS)
    fi = fe.run(cfg, params, steps=STEPS, tolerance=1e-12)
    init = np.asarray(fe.dendrax_initial_state(params, cfg)[0].xi, np.float64)
  return cfg, ref, fi, init


def test_fipy_and_dendrax_agree_when_both_are_converged(runs):
  cfg, ref, fi, init = runs
  assert max(max(r.values()) for r in ref['residuals']) < 1e-9     # dendrax converged
  assert fi['unconverged'] == 0
  ag = dr.agreement(ref, fi, cfg, init)
  diff = ag['max_abs_diff']
  assert diff['xi'] < 1e-9, diff
  assert diff['concentration'] < 1e-9, diff
  assert diff['potential_v'] < 1e-10, diff
  np.testing.assert_allclose(fi['voltage_v'], ref['voltage_v'], rtol=1e-8)
  np.testing.assert_allclose(fi['current_a_m2'], ref['current_a_m2'], rtol=1e-8)
  # The check is not vacuous: the step did deplete the salt and move the potential.
  assert ag['depletion_norm'][0] > 1e-3 and ag['potential_norm'][0] > 1e-3, ag
  assert ag['deposit_um'][0] > 0


def test_replayed_residuals_fall_with_iterations_and_pick_a_count():
  with jax.enable_x64(True):
    cfg = _config(potential_iterations=40, transport_iterations=40)
    ref = dr.dendrax_steps(_params(), cfg, 2, replay_iterations=[1, 4, 40])
  for rep in ref['replays']:
    for name in ('salt', 'potential'):
      assert rep[40][name] < rep[1][name], (name, rep)
  salt, pot = dr.iterations_for(1e-6, ref['replays'])
  assert salt in (1, 4, 40) and pot in (1, 4, 40)
  assert all(rep[salt]['salt'] <= 1e-6 and rep[pot]['potential'] <= 1e-6
             for rep in ref['replays'])
  assert dr.iterations_for(1e-30, ref['replays']) == (None, None)
