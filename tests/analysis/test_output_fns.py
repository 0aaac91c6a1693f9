"""The model route builds the same conditioning as the training pipeline, inside JAX."""

import jax
import numpy as np
import pytest

from dendrax.analysis import output_fns
from dendrax.data import normalization
from dendrax.data import pipeline
from dendrax.data import sources
from dendrax.physics import parameters


def test_cond_sequence_equals_the_pipeline_and_masks(make_trajectories):
  ex = make_trajectories(1, 4)[0]
  train = make_trajectories(6, 5)
  norm = normalization.Normalizer.fit(train)
  expect = pipeline.rollout_example(ex, norm)['cond']                       # [T-1, 20]
  params = parameters.PhysicalParams.from_vector(np.asarray(ex['params'], np.float32))
  got = np.asarray(output_fns.cond_sequence(
      params, norm, chemistry=int(ex['chemistry']), stage_T=ex['stage'],
      time_s_T=ex['time_s'], frame_interval_s=30.0))
  assert got.shape == expect.shape == (7, pipeline.COND_SIZE)
  np.testing.assert_allclose(got, expect, rtol=1e-5, atol=1e-5)
  masked = np.asarray(output_fns.cond_sequence(
      params, norm, chemistry=int(ex['chemistry']), stage_T=ex['stage'],
      time_s_T=ex['time_s'], frame_interval_s=30.0, masked=('fluidity_per_pa_s',)))
  k = parameters.PARAMETER_NAMES.index('fluidity_per_pa_s')
  assert np.all(masked[:, k] == 0) and np.all(masked[:, 7 + k] == 1)
  np.testing.assert_allclose(np.delete(masked, [k, 7 + k], axis=1),
                             np.delete(got, [k, 7 + k], axis=1))
  # Training with config.data.masked_parameters builds the same conditioning.
  trained = pipeline.rollout_example(
      sources.mask_parameters([ex], ('fluidity_per_pa_s',))[0], norm)['cond']
  np.testing.assert_allclose(masked, trained, rtol=1e-5, atol=1e-5)
  # The derivative reaches the parameters (log-scale ones through the log).
  d = jax.jacfwd(lambda c0: output_fns.normalized_params(
      parameters.PhysicalParams(*[c0 if i == 3 else v for i, v in enumerate(ex['params'])]),
      norm)[3])(np.float32(ex['params'][3]))
  assert float(d) == pytest.approx(1.0 / ex['params'][3] / norm.param_std[3], rel=1e-5)
  with pytest.raises(ValueError, match='viscosity'):
    output_fns.cond_sequence(params, norm, chemistry=0, stage_T=ex['stage'],
                             time_s_T=ex['time_s'], frame_interval_s=30.0, masked=('viscosity',))
