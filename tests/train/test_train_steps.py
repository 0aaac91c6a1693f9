"""A short training run on synthetic dendrites decreases the loss; step helpers check inputs."""

import itertools

import jax
import ml_collections
import numpy as np
import pytest

from benchmarks import morph_loss_bias
from tests.train import synthetic_dendrites
from tests.conftest import init_params
from tests.conftest import small_train_config
from dendrax.data import normalization
from dendrax.data import pipeline
from dendrax.physics import parameters
from dendrax.train import setup
from dendrax.train import state as state_lib
from dendrax.train import steps


def small_config():
  return small_train_config(train={'num_steps': 40, 'lr': 3e-3})


def _loss_and_grad(model, loss_cfg):
  """`steps.batch_loss` under `loss_cfg` and its parameter gradient, jitted:
  (params, batch) -> ((loss, parts), grad). Eagerly, every op compiles on its own."""
  return jax.jit(jax.value_and_grad(
      lambda p, b: steps.batch_loss(p, model.apply, b, loss_cfg), has_aux=True))


def _max_abs_difference(a, b) -> float:
  return max(jax.tree.leaves(jax.tree.map(lambda x, y: float(np.max(np.abs(x - y))), a, b)))


def test_training_decreases_the_loss():
  """40 steps on synthetic dendrites lower the loss and the one-step MSE by more than 20 %
  from the identity init, with the squared soft Dice. (With the linear soft Dice, the default
  `loss.morph`, the same run lowers the loss 9 % while its MSE rises 4.5x: that Dice is not
  smallest at a soft target; tests/train/test_losses.py, benchmarks/morph_loss_bias.py.)"""
  result = morph_loss_bias.before_and_after('dice_squared', num_steps=40)
  for key, (before, after) in result.items():
    assert np.isfinite(after) and after < 0.8 * before, (key, result)


def test_schedule_warms_up_and_decays():
  cfg = dict(lr=1e-3, warmup_steps=10, num_steps=100, end_lr_factor=0.1)
  sched = state_lib.make_schedule(cfg)
  assert float(sched(0)) == 0.0
  assert float(sched(10)) == pytest.approx(1e-3)
  assert float(sched(100)) == pytest.approx(1e-4)
  with pytest.raises(ValueError, match='train.warmup_steps'):
    state_lib.make_schedule(dict(cfg, warmup_steps=100))
  with pytest.raises(ValueError, match='train.optimizer'):
    state_lib.make_optimizer(dict(cfg, optimizer='adagrad', weight_decay=0.0, grad_clip=0.0))


def test_shard_batch_checks_divisibility():
  mesh = steps.make_mesh(1)
  batch = {k: np.zeros((3, 32, 32, 1), np.float32) for k in ('inputs', 'target')}
  batch['cond'] = np.zeros((3, pipeline.COND_SIZE), np.float32)
  batch['pixel_size_um'] = batch['electrode_height_um'] = np.ones(3, np.float32)
  out = steps.shard_batch(dict(batch, trajectory_id=np.arange(3)), mesh)
  assert set(out) == set(steps.STEP_KEYS)
  with pytest.raises(ValueError, match='num_devices'):
    steps.make_mesh(len(jax.devices()) + 1)


def test_validate_config_names_the_key():
  config = small_config()
  setup.validate_config(config)
  for key, value in (('train.batch_size', 0), ('eval.patience', 0),
                     ('data.input_fields', ('concentration', 'xi')),
                     ('eval.rollout_splits', ('train', 'dev')),
                     ('data.train_split', 'train[::2]'), ('data.validation_split', 'dev[:50%]'),
                     ('data.validation_split', 'train'),
                     ('data.masked_parameters', ('temperature_k', 'viscosity')),
                     ('data.name', 'dendrite_sim/tiny+dendrite_foo')):
    bad = ml_collections.ConfigDict(config.to_dict())
    section, field = key.split('.')
    bad[section][field] = value
    with pytest.raises(ValueError, match=key.replace('.', r'\.')):
      setup.validate_config(bad)


def test_pairs_carry_the_charge_of_their_jump():
  """`make_pair` records the charge passed between its two frames and the chemistry's n F c_s."""
  from dendrax.physics import coefficients
  example = dict(synthetic_dendrites.trajectory(1))          # chemistry 1: Zn
  example['charge_c_per_m2'] = np.arange(8, dtype=np.float32) * 7.0
  normalizer = normalization.Normalizer.fit(synthetic_dendrites.source('train'))
  pair = pipeline.make_pair(example, 2, 3, normalizer, ('xi',))
  assert pair['charge_passed_c_per_m2'] == np.float32(21.0)
  assert pair['charge_per_um_c_m2'] == np.float32(coefficients.CHEMISTRIES['Zn'].charge_per_um_c_m2)
  example['charge_c_per_m2'] = np.full(8, np.nan, np.float32)     # images: no charge
  assert np.isnan(pipeline.make_pair(example, 0, 1, normalizer, ('xi',))['charge_passed_c_per_m2'])


def test_physics_weight_adds_the_faraday_term():
  """With train.physics_weight = w the step's loss is the data loss + w * the Faraday mismatch
  of the same prediction, and the term changes the gradient; unknown charge (NaN) adds 0."""
  from dendrax.train import physics_loss
  config = small_config()
  source = synthetic_dendrites.source('train')
  normalizer = normalization.Normalizer.fit(source)
  batch = next(pipeline.next_state_batches(source, normalizer, batch_size=4, seed=0))
  batch['charge_passed_c_per_m2'] = np.full(4, 2e4, np.float32)    # ~1.3 cells of Li per jump
  batch = {k: np.asarray(v, np.float32) for k, v in batch.items() if k in
           steps.STEP_KEYS + steps.OPTIONAL_STEP_KEYS}
  model = setup.build_model(config)
  params = init_params(model, batch['inputs'][:1], batch['cond'][:1])
  data_cfg = steps.step_loss_config(config)
  physics_cfg = dict(data_cfg, physics_weight=0.5)
  data_step, physics_step = _loss_and_grad(model, data_cfg), _loss_and_grad(model, physics_cfg)
  (data_loss, _), g_data = data_step(params, batch)
  (loss, parts), g_phys = physics_step(params, batch)
  pred = jax.jit(model.apply)({'params': params}, batch['inputs'], batch['cond'])
  faraday, _ = physics_loss.faraday_loss(batch['inputs'][..., :1], pred,
                                         batch['charge_passed_c_per_m2'], batch['pixel_size_um'],
                                         batch['charge_per_um_c_m2'], data_cfg['physics_floor_px'])
  assert float(faraday) > 0.1
  np.testing.assert_allclose(float(loss), float(data_loss) + 0.5 * float(faraday), rtol=1e-5)
  assert float(parts['physics']) == pytest.approx(float(faraday), rel=1e-5)
  assert _max_abs_difference(g_data, g_phys) > 0
  batch['charge_passed_c_per_m2'] = np.full(4, np.nan, np.float32)
  (unknown, _), _ = physics_step(params, batch)
  np.testing.assert_allclose(float(unknown), float(data_loss), rtol=1e-6)


def _with_tangents(example, has=True):
  """`example` plus an `xi_tangent` equal to xi in every direction (so a transform of the pair
  must move tangents exactly as it moves the frames) and `has_tangents`."""
  xi = np.asarray(example['xi'], np.float32)
  k = len(parameters.CONTINUOUS_PARAMETERS)
  scale = np.arange(1, k + 1, dtype=np.float32)[None, :, None, None]
  return dict(example, xi_tangent=(xi[:, None] * scale).astype(np.float16), has_tangents=has)


def test_pairs_carry_the_tangents_of_one_direction():
  """`jump_tangents`: the stored tangent of the input and target frames along the drawn
  direction, its one-hot; zeros for an example without tangents; a dataset without the feature
  is refused by name; augmentation moves tangents with the frames."""
  example = _with_tangents(synthetic_dendrites.trajectory(0))
  normalizer = normalization.Normalizer.fit(synthetic_dendrites.source('train'))
  pair = pipeline.make_pair(example, 2, 1, normalizer, ('xi',), tangent_direction=3)
  xi = np.asarray(example['xi'], np.float32)
  # Stored as float16: ~5e-4 relative, and values below ~6e-5 lose their relative precision.
  np.testing.assert_allclose(pair['input_tangents'][0, ..., 0], 4 * xi[2], rtol=1e-3, atol=1e-4)
  np.testing.assert_allclose(pair['tangents'][0, ..., 0], 4 * xi[3], rtol=1e-3, atol=1e-4)
  np.testing.assert_array_equal(pair['tangent_onehot'], [0, 0, 0, 1, 0, 0])
  none = pipeline.make_pair(_with_tangents(synthetic_dendrites.trajectory(0), has=False), 2, 1,
                            normalizer, ('xi',), tangent_direction=3)
  assert not none['tangent_onehot'].any() and not none['tangents'].any()
  with pytest.raises(ValueError, match='xi_tangent'):
    pipeline.make_pair(synthetic_dendrites.trajectory(0), 2, 1, normalizer, ('xi',),
                       tangent_direction=0)
  source = [_with_tangents(ex) for ex in synthetic_dendrites.source('train', n=4)]
  batch = next(pipeline.next_state_batches(source, normalizer, batch_size=8, seed=3,
                                           augment=True, tangents=True))
  k = np.argmax(batch['tangent_onehot'], axis=-1) + 1.0           # the drawn directions' scales
  assert len(set(k.tolist())) > 1                                 # drawn, not fixed
  np.testing.assert_allclose(batch['tangents'][:, 0], k[:, None, None, None] * batch['target'],
                             rtol=1e-3, atol=1e-4)
  np.testing.assert_allclose(batch['input_tangents'][:, 0],
                             k[:, None, None, None] * batch['inputs'][..., :1], rtol=1e-3,
                             atol=1e-4)


def test_a_fixed_tangent_share_puts_that_many_tangent_pairs_in_every_batch():
  """`tangent_share`: with 1 of 4 trajectories carrying tangents, every batch of 8 holds
  round(8 * 0.25) = 2 of its pairs, spread over the batch (one per half, so each of 2 devices
  gets one), each trajectory's pairs still all reached; as they come, many batches hold none;
  a share without tangents, or a source where none has them, is refused."""
  normalizer = normalization.Normalizer.fit(synthetic_dendrites.source('train'))
  source = [_with_tangents(ex, has=(i == 0))
            for i, ex in enumerate(synthetic_dendrites.source('train', n=4))]
  first_id = int(source[0]['trajectory_id'])
  shared = list(itertools.islice(pipeline.next_state_batches(
      source, normalizer, batch_size=8, seed=3, tangents=True, tangent_share=0.25,
      num_epochs=None), 12))
  for batch in shared:
    has = batch['tangent_onehot'].any(axis=-1)
    np.testing.assert_array_equal(has, batch['trajectory_id'] == first_id)
    assert has[:4].sum() == 1 and has[4:].sum() == 1, has
  seen = {int(i) for b in shared for i in b['trajectory_id']}
  assert seen == {int(ex['trajectory_id']) for ex in source}
  natural = list(itertools.islice(pipeline.next_state_batches(
      source, normalizer, batch_size=8, seed=3, tangents=True, num_epochs=None), 12))
  counts = [int(b['tangent_onehot'].any(axis=-1).sum()) for b in natural]
  assert min(counts) != 2 or max(counts) != 2, counts
  with pytest.raises(ValueError, match='needs tangents=True'):
    pipeline.next_state_batches(source, normalizer, batch_size=8, seed=3, tangent_share=0.25)
  with pytest.raises(ValueError, match='pairs with and without stored tangents; this source has 0'):
    pipeline.next_state_batches([_with_tangents(ex, has=False) for ex in source], normalizer,
                                batch_size=8, seed=3, tangents=True, tangent_share=0.25)
  with pytest.raises(ValueError, match=r'tangent_share must be in \(0, 1\)'):
    pipeline.next_state_batches(source, normalizer, batch_size=8, seed=3, tangents=True,
                                tangent_share=1.5)


def test_derivative_weight_adds_the_sampled_derivative_term():
  """With train.derivative_weight = w the step's loss is the data loss + w * the sampled
  derivative mismatch of the same prediction; it changes the gradient; examples without
  tangents add nothing."""
  from dendrax.train import derivative_loss
  config = small_config()
  config.train.derivative_weight = 0.5
  source = [_with_tangents(ex) for ex in synthetic_dendrites.source('train', n=4)]
  normalizer = normalization.Normalizer.fit(source)
  batch = next(pipeline.next_state_batches(source, normalizer, batch_size=4, seed=0,
                                           tangents=True))
  batch = {k: np.asarray(v, np.float32) for k, v in batch.items() if k in
           steps.STEP_KEYS + steps.OPTIONAL_STEP_KEYS}
  model = setup.build_model(config)
  params = init_params(model, batch['inputs'][:1], batch['cond'][:1])
  deriv_cfg = steps.step_loss_config(config, normalizer)
  data_cfg = dict(deriv_cfg, derivative_weight=0.0)
  data_step, deriv_step = _loss_and_grad(model, data_cfg), _loss_and_grad(model, deriv_cfg)
  (data_loss, _), g_data = data_step(params, batch)
  (loss, parts), g_deriv = deriv_step(params, batch)
  scaling = derivative_loss.scaling_from_normalizer(normalizer)
  _, term, _ = jax.jit(lambda p, b: derivative_loss.sampled_derivative_loss(
      model.apply, p, b, scaling, config.train.derivative_floor))(params, batch)
  assert float(term) > 0.01
  np.testing.assert_allclose(float(loss), float(data_loss) + 0.5 * float(term), rtol=1e-5)
  assert float(parts['derivative']) == pytest.approx(float(term), rel=1e-5)
  assert _max_abs_difference(g_data, g_deriv) > 0
  batch['tangent_onehot'] = np.zeros_like(batch['tangent_onehot'])   # no tangents at all
  (none, _), _ = deriv_step(params, batch)
  np.testing.assert_allclose(float(none), float(data_loss), rtol=1e-6)
  with pytest.raises(ValueError, match='normalizer'):
    steps.step_loss_config(config)
