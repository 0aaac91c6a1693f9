"""Verification (method of manufactured solutions) of the salt + charge-balance discretisation of
the electroneutral model, on its own operators (fluxes, spectral-preconditioned PCG): observed
order >= 1.8 in space and >= 0.9 in time (backward Euler, first order). Full-size:
experiments/validate_physics.py (entries mms_space_order, mms_time_order)."""

from dendrax.analysis import mms


def test_space_order_is_two():
  r = mms.space_order(grids=(8, 16, 32), dt_factor=0.5, t_end=0.25)
  assert min(r['order_c'] + r['order_phi']) >= 1.8, r


def test_time_order_is_one():
  r = mms.time_order(steps=(4, 8, 16), n=32, t_end=0.5)
  assert min(r['order_c'] + r['order_phi']) >= 0.9, r
  assert r['diff_c'][0] > r['diff_c'][1] > 0     # the differences do fall
