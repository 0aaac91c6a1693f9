"""Verification (method of manufactured solutions) of the salt + charge-balance discretisation of
the electroneutral model, on its own operators (fluxes, spectral-preconditioned PCG): observed
order >= 1.8 in space and >= 0.9 in time (backward Euler, first order). Full-size:
experiments/validate_physics.py (entries mms_space_order, mms_time_order)."""

from dendrax.analysis import mms
from tests.conftest import run_optimised


def test_space_order_is_two():
  # Simulation-bound (512 steps on the 32 x 32 grid): at XLA's defaults, 16 s against 39 s under
  # the suite's compile-fast flags (tests/conftest.py).
  r = run_optimised(
      'import json\n'
      'from dendrax.analysis import mms\n'
      'r = mms.space_order(grids=(8, 16, 32), dt_factor=0.5, t_end=0.25)\n'
      'print(json.dumps({k: r[k] for k in ("order_c", "order_phi", "err_c", "err_phi")}))')
  assert min(r['order_c'] + r['order_phi']) >= 1.8, r


def test_time_order_is_one():
  r = mms.time_order(steps=(4, 8, 16), n=32, t_end=0.5)
  assert min(r['order_c'] + r['order_phi']) >= 0.9, r
  assert r['diff_c'][0] > r['diff_c'][1] > 0     # the differences do fall
