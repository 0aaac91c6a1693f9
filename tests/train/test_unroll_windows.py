"""k-step training windows and the unrolled loss."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dendrax.data import normalization
from dendrax.data import pipeline
from dendrax.train import losses
from dendrax.train import setup
from dendrax.train import steps
from dendrax.train import windows
from tests.train import synthetic_dendrites
from tests.train.test_train_steps import small_config


@pytest.fixture(scope='module')
def data():
  source = synthetic_dendrites.source('train', n=4)
  return source, normalization.Normalizer.fit(source)


def test_window_holds_consecutive_frames(data):
  source, normalizer = data
  fields = ('xi', 'concentration')
  win = windows.make_window(source[2], 3, 2, normalizer, fields)
  ex = source[2]
  np.testing.assert_array_equal(win['inputs'][..., 0], ex['xi'][3])
  np.testing.assert_array_equal(win['target'][..., 0], ex['xi'][4:6])
  np.testing.assert_allclose(win['extra'][..., 0],
                             normalizer.normalize_field('concentration', ex['concentration'][3:5]))
  full = pipeline.rollout_example(ex, normalizer, fields)['cond']
  np.testing.assert_array_equal(win['cond'], full[3:5])
  assert len(windows.window_index(source, 7)) == 4          # 8 frames: one 7-step window each
  with pytest.raises(ValueError, match='train.unroll_steps'):
    windows.window_index(source, 8)


def test_window_batches_are_augmented_consistently(data):
  source, normalizer = data
  ds = windows.window_dataset(source, normalizer, unroll_steps=3, batch_size=4, seed=0,
                              input_fields=('xi',), augment=True)
  b = ds[1]
  assert b['inputs'].shape == (4, 32, 32, 1) and b['target'].shape == (4, 3, 32, 32, 1)
  assert b['cond'].shape == (4, 3, pipeline.COND_SIZE) and b['extra'].shape[-1] == 0
  # The same mirror/shift went to every frame: each target column is a column of the truth
  # for some x, and growth never shrinks from input to first target.
  assert np.all(b['target'][:, 0] >= b['inputs'][..., :1] - 1e-3)
  np.testing.assert_array_equal(ds[1]['target'], b['target'])   # a pure function of (seed, i)


def test_unrolled_loss_feeds_predictions_back(data):
  source, normalizer = data
  config = small_config()
  model = setup.build_model(config)
  params = setup.initial_state(config, jax.random.key(0)).params
  params = jax.tree.map(lambda p: p + 0.05 * jnp.sign(p + 1e-3), params)   # not persistence
  loss_cfg = dict(config.loss.to_dict(), length_weight=0.5)
  b = windows.window_dataset(source, normalizer, unroll_steps=2, batch_size=2, seed=0,
                             input_fields=('xi',))[0]
  b = {k: jnp.asarray(v, jnp.float32) for k, v in b.items()}
  loss, parts = steps.batch_loss(params, model.apply, b, loss_cfg)
  ps, eh = b['pixel_size_um'], b['electrode_height_um']
  p1 = model.apply({'params': params}, b['inputs'], b['cond'][:, 0])
  p2 = model.apply({'params': params}, p1, b['cond'][:, 1])
  l1, _ = losses.total_loss(p1, b['target'][:, 0], loss_cfg, ps, eh)
  l2, _ = losses.total_loss(p2, b['target'][:, 1], loss_cfg, ps, eh)
  assert float(loss) == pytest.approx(float(l1 + l2) / 2, rel=1e-5)
  assert float(parts['length']) > 0
