"""Tests of the derivative-informed loss: the chain rule through the normalisation (against
finite differences of the real `Normalizer`), surrogate tangents of a linear model whose exact
jvp is known, the relative per-parameter mismatch on hand-computed numbers, and a few gradient
steps on the loss alone that recover the linear model's sensitivities."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dendrax.data import normalization
from dendrax.physics import parameters
from dendrax.train import derivative_loss as dl

K = 20
P = len(dl.TANGENT_PARAMETERS)
NORM = normalization.Normalizer(
    param_mean=(300.0, 2.0, 2.5, 6.5, -0.7, 5.8, 4.0), param_std=(20.0, 1.1, 0.9, 0.6, 0.5, 0.7, 2.5),
    field_mean=(0.5, 0.8, -0.2), field_std=(0.4, 0.2, 0.1), num_trajectories=10)
SCALING = dl.scaling_from_normalizer(NORM)
PHYS = np.array([[310.0, 1.5, 3.0, 800.0, 0.4, 300.0, 2.0],
                 [280.0, 0.0, 1.5, 1500.0, 0.9, 120.0, 5.0]])


def _cond(phys):
  """[B, K] conditioning with the normalised parameters first (pipeline layout), rest random."""
  z, _ = NORM.normalize_params(phys)
  rest = np.random.default_rng(0).normal(size=(phys.shape[0], K - 7))
  return np.concatenate([z, rest], axis=-1).astype(np.float64)


def test_tangent_parameters_are_the_continuous_ones():
  assert [parameters.PARAMETER_NAMES[i] for i in dl.TANGENT_PARAMETERS] == list(
      parameters.CONTINUOUS_PARAMETERS)


def test_cond_directions_match_finite_differences_of_the_normalizer():
  """dc/d ln P_k from the formula against central differences of Normalizer.normalize_params."""
  with jax.enable_x64(True):
    scaling = dl.ParamScaling(*(jnp.asarray(a) for a in SCALING))
    dirs = np.asarray(dl.cond_directions(jnp.asarray(_cond(PHYS)), scaling))
  assert dirs.shape == (2, P, K)
  h = 1e-3   # z-scores come back as float32: a step well above their rounding
  for i, k in enumerate(dl.TANGENT_PARAMETERS):
    up, down = PHYS.copy(), PHYS.copy()
    up[:, k] *= np.exp(h)
    down[:, k] *= np.exp(-h)
    fd = (NORM.normalize_params(up)[0].astype(np.float64)
          - NORM.normalize_params(down)[0].astype(np.float64)) / (2 * h)
    log = parameters.PARAMETER_SPECS[k].log_scale
    exact = np.full(2, 1.0 / NORM.param_std[k]) if log else PHYS[:, k] / NORM.param_std[k]
    # z comes back from the Normalizer in float32, so P = z std + mean carries its rounding.
    np.testing.assert_allclose(dirs[:, i, k], exact, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fd[:, k], exact, rtol=1e-3, atol=1e-3)
    others = np.delete(dirs[:, i], k, axis=-1)
    assert np.all(others == 0.0)
  # Hand values: temperature 310 K, std 20 -> 15.5; ln c0 std 0.6 -> 1/0.6; zero gradient -> 0.
  np.testing.assert_allclose(dirs[0, 0, 0], 15.5, rtol=1e-6)
  np.testing.assert_allclose(dirs[:, 3, 3], 1.0 / 0.6, rtol=1e-6)
  assert abs(dirs[1, 1, 1]) < 1e-6


def _linear_model(h, w, seed=0):
  """apply(v, x, c) = a x_0 + b x_1 + (c @ W) phi: exact jvp (dx, dc) -> a dx_0 + b dx_1 + (dc @ W) phi."""
  rng = np.random.default_rng(seed)
  phi = jnp.asarray(rng.normal(size=(h, w)))
  params = {'a': jnp.asarray(0.7), 'b': jnp.asarray(-0.3), 'W': jnp.asarray(rng.normal(size=K))}

  def apply_fn(variables, x, c):
    p = variables['params']
    return (p['a'] * x[..., :1] + p['b'] * x[..., 1:2]
            + (c @ p['W'])[:, None, None, None] * phi[None, :, :, None])
  return apply_fn, params, phi


def test_surrogate_tangents_of_a_linear_model_are_exact():
  with jax.enable_x64(True):
    h, w = 3, 4
    apply_fn, params, phi = _linear_model(h, w)
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.uniform(size=(2, h, w, 2)))
    c = jnp.asarray(_cond(PHYS))
    scaling = dl.ParamScaling(*(jnp.asarray(a) for a in SCALING))
    dirs = dl.cond_directions(c, scaling)
    dx = jnp.asarray(rng.normal(size=(2, P, h, w, 2)))
    pred, tang = dl.surrogate_tangents(apply_fn, params, x, c, dirs, dx)
    np.testing.assert_allclose(pred, apply_fn({'params': params}, x, c))
    w_vec = np.asarray(params['W'])
    for i, k in enumerate(dl.TANGENT_PARAMETERS):
      scale = np.asarray(dirs)[:, i, k]                      # dz_k / d ln P_k per example
      exact = (0.7 * dx[:, i, ..., :1] - 0.3 * dx[:, i, ..., 1:2]
               + (scale * w_vec[k])[:, None, None, None] * phi[None, :, :, None])
      np.testing.assert_allclose(tang[:, i], exact, rtol=1e-12, atol=1e-12)
    # Without input tangents: the partial derivative, only the cond term.
    _, partial = dl.surrogate_tangents(apply_fn, params, x, c, dirs)
    np.testing.assert_allclose(
        partial[:, 0], (np.asarray(dirs)[:, 0, 0] * w_vec[0])[:, None, None, None]
        * np.asarray(phi)[None, :, :, None], rtol=1e-12)


def test_relative_mismatch_hand_computed():
  # B = 2, P = 2, 1 x 1 frames; floor 0.1.
  sim = jnp.asarray([[1.0, 0.0], [2.0, 0.0]]).reshape(2, 2, 1, 1, 1)
  pred = jnp.asarray([[2.0, 0.1], [2.0, 0.0]]).reshape(2, 2, 1, 1, 1)
  loss, per = dl.relative_tangent_mismatch(pred, sim, floor=0.1)
  # L_0 = (1 + 0) / (1 + 4 + 0.01 * 2); L_1 = (0.01 + 0) / (0 + 0.01 * 2): spurious sensitivity.
  np.testing.assert_allclose(per, [1 / 5.02, 0.5], rtol=1e-6)
  np.testing.assert_allclose(loss, (1 / 5.02 + 0.5) / 2, rtol=1e-6)
  # Masks: example 1 has no tangent for P_0 (a NaN there must not leak); P_1 has none at all.
  sim_nan = sim.at[1, 0].set(jnp.nan)
  mask = jnp.asarray([[1.0, 0.0], [0.0, 0.0]])
  loss, per = dl.relative_tangent_mismatch(pred, sim_nan, mask, floor=0.1)
  np.testing.assert_allclose(per, [1 / 1.01, 0.0], rtol=1e-6)
  np.testing.assert_allclose(loss, 1 / 1.01, rtol=1e-6)     # P_1 left out of the mean
  # Perfect tangents cost nothing.
  assert float(dl.relative_tangent_mismatch(sim, sim, floor=0.1)[0]) == 0.0
  with pytest.raises(ValueError, match='tangents'):
    dl.relative_tangent_mismatch(pred[:, :1], sim)


def test_gradient_of_the_loss_and_steps_recover_the_sensitivities():
  """Simulator tangents from a 'true' linear model; a student with W = 0 has the hand-computed
  gradient (through jax.grad of the jvp) and learns the parameter columns W_k from the
  derivative loss alone."""
  h, w = 4, 4
  apply_fn, true_params, phi = _linear_model(h, w)
  w_true = np.asarray(true_params['W']).copy()
  w_true[:P] = [1.0, -1.5, 0.8, 1.2, -0.9, 1.1]     # O(1) sensitivities: a stable step size
  true_params = {**true_params, 'W': jnp.asarray(w_true, jnp.float32)}
  rng = np.random.default_rng(2)
  x = jnp.asarray(rng.uniform(size=(2, h, w, 2)), jnp.float32)
  c = jnp.asarray(_cond(PHYS), jnp.float32)
  dirs = dl.cond_directions(c, SCALING)
  _, sim = dl.surrogate_tangents(apply_fn, true_params, x, c, dirs)
  batch = {'inputs': x, 'cond': c, 'tangents': sim}
  student = {**true_params, 'W': jnp.zeros(K)}
  floor = 1e-2
  loss_fn = jax.jit(lambda p: dl.derivative_loss(apply_fn, p, batch, SCALING, floor=floor)[1])

  # At W = 0: L_k = A_k W*_k^2 / (A_k W*_k^2 + floor^2 N_k), A_k = sum_b s_bk^2 |phi|^2, and
  # dL/dW_k = -2 W*_k A_k / (A_k W*_k^2 + floor^2 N_k) / P.
  s = np.asarray(dirs)[:, np.arange(P), np.arange(P)]               # [B, P] dz_k / d ln P_k
  a = np.sum(s**2, axis=0) * float(jnp.sum(phi**2))
  denom = a * w_true[:P]**2 + floor**2 * h * w * 2
  loss, g = jax.value_and_grad(loss_fn)(student)
  np.testing.assert_allclose(loss, np.mean(a * w_true[:P]**2 / denom), rtol=1e-5)
  np.testing.assert_allclose(g['W'][:P], -2 * w_true[:P] * a / denom / P, rtol=1e-4)
  assert np.all(np.asarray(g['W'])[P:] == 0.0)   # n_defects and non-parameter entries: no signal

  step = jax.jit(lambda p: jax.tree.map(lambda v, d: v - 1.0 * d, p, jax.grad(loss_fn)(p)))
  for _ in range(100):
    student = step(student)
  assert float(loss_fn(student)) < 1e-6
  np.testing.assert_allclose(student['W'][:P], w_true[:P], rtol=1e-3)
  _, _, parts = dl.derivative_loss(apply_fn, student, batch, SCALING)
  assert set(parts) == {'derivative'} | {f'derivative/{n}' for n in parameters.CONTINUOUS_PARAMETERS}


def test_sampled_loss_is_the_full_loss_on_the_drawn_directions():
  """One direction per example (`sampled_derivative_loss`): L_k pools exactly the examples that
  drew k, as the full loss does with a mask; an example with a zero one-hot drops out."""
  with jax.enable_x64(True):
    h, w = 3, 4
    apply_fn, params, _ = _linear_model(h, w)
    rng = np.random.default_rng(4)
    x = jnp.asarray(rng.uniform(size=(2, h, w, 2)))
    c = jnp.asarray(_cond(PHYS))
    scaling = dl.ParamScaling(*(jnp.asarray(a) for a in SCALING))
    sim = jnp.asarray(rng.normal(size=(2, P, h, w, 1)))
    dx = jnp.asarray(rng.normal(size=(2, P, h, w, 2)))
    full_batch = {'inputs': x, 'cond': c, 'tangents': sim, 'input_tangents': dx}
    drawn = np.array([2, 4])
    onehot = np.eye(P)[drawn]
    _, _, full = dl.derivative_loss(apply_fn, params, dict(full_batch, tangents_mask=onehot),
                                    scaling)
    pick = lambda a: a[np.arange(2), drawn][:, None]
    batch = {'inputs': x, 'cond': c, 'tangents': pick(sim), 'input_tangents': pick(dx),
             'tangent_onehot': jnp.asarray(onehot)}
    pred, loss, parts = dl.sampled_derivative_loss(apply_fn, params, batch, scaling)
    np.testing.assert_allclose(pred, apply_fn({'params': params}, x, c))
    for name in parameters.CONTINUOUS_PARAMETERS:
      np.testing.assert_allclose(parts[f'derivative/{name}'], full[f'derivative/{name}'],
                                 rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(loss, full['derivative'], rtol=1e-10)
    batch['tangent_onehot'] = jnp.asarray(onehot * np.array([[1.0], [0.0]]))
    _, loss, parts = dl.sampled_derivative_loss(apply_fn, params, batch, scaling)
    _, _, full = dl.derivative_loss(
        apply_fn, params, dict(full_batch, tangents_mask=onehot * np.array([[1.0], [0.0]])),
        scaling)
    np.testing.assert_allclose(loss, full['derivative'], rtol=1e-10)
    assert float(parts['derivative/surface_energy_j_m2']) == 0.0
