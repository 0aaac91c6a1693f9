"""Fixtures of the analysis tests: small saved checkpoints and synthetic schema trajectories."""

import jax
import ml_collections
import numpy as np
import pytest

from dendrax.physics import parameters

P0 = (300.0, 1.0, 0.5, 1000.0, 0.5, 316.2, 3.0)   # 50 mA/cm^2: growth visible in a few seconds


def save_checkpoint(workdir: str, model_name: str, *, seed: int = 0, noise: float = 0.3,
                    model: dict | None = None) -> str:
  """Saves a small `model_name` model with random weights where `load_checkpoint` finds it.

  `model` replaces the config's model keywords (default: a UNet of 4-8 channels). The output
  layer starts at zero (an untrained model is the identity); `noise` adds a random offset to
  every weight, so rollouts change frames and depend on `cond`.
  """
  from dendrax.data import normalization  # pylint: disable=g-import-not-at-top
  from dendrax.train import checkpointing, setup  # pylint: disable=g-import-not-at-top
  from tests.conftest import small_train_config  # pylint: disable=g-import-not-at-top
  config = small_train_config(model_name=model_name)
  if model is None:
    config.model.features = (4, 8)
    config.model.film_init_scale = 1.0
  else:
    config.model = ml_collections.ConfigDict(model)
  state = setup.initial_state(config, jax.random.key(seed))
  leaves, treedef = jax.tree.flatten(state.params)
  keys = jax.random.split(jax.random.key(seed + 1), len(leaves))
  state = state.replace(params=jax.tree.unflatten(treedef, [
      x + noise * jax.random.normal(k, x.shape, x.dtype) for x, k in zip(leaves, keys)]))
  g = normalization.transform_params(np.array(P0))
  normalizer = normalization.Normalizer(
      param_mean=tuple(float(v) for v in g * 0.9),
      param_std=tuple(float(v) for v in np.abs(g) * 0.2 + 0.5),
      field_mean=(0.0, 0.9, -0.1), field_std=(1.0, 0.1, 0.1), num_trajectories=1)
  manager = checkpointing.open_manager(workdir, 1)
  checkpointing.save(manager, state, normalizer=normalizer, config=config, loop={},
                     metrics={checkpointing.SELECT_KEY: 1.0})
  manager.wait_until_finished()
  manager.close()
  return workdir


@pytest.fixture(scope='session')
def cnn2_checkpoint(tmp_path_factory):
  return save_checkpoint(str(tmp_path_factory.mktemp('cnn2')), 'cnn2')


@pytest.fixture(scope='session')
def cnn1_checkpoint(tmp_path_factory):
  return save_checkpoint(str(tmp_path_factory.mktemp('cnn1')), 'cnn1', seed=5)


def synthetic_trajectories(n: int, seed: int, size: int = 16, frames: int = 8) -> list[dict]:
  """Schema trajectories with a flat deposit front rising at a parameter-dependent speed."""
  rng = np.random.default_rng(seed)
  out = []
  y = (np.arange(size) + 0.5)[:, None] * np.ones((1, size))
  for i in range(n):
    p = np.array([rng.uniform(s.low + 1e-3, s.high) for s in parameters.PARAMETER_SPECS])
    speed = 0.5 + 0.3 * p[2]                         # pixels per frame, from the field
    time_s = np.arange(frames, dtype=np.float32) * 30.0
    front = 3.0 + speed * np.arange(frames)
    xi = (y[None] < front[:, None, None]).astype(np.float32)
    out.append({
        'trajectory_id': np.int64(1000 * seed + i), 'source': 'synthetic', 'chemistry': i % 2,
        'protocol': 2, 'params': p.astype(np.float32),
        'params_missing': np.zeros(7, bool), 'pixel_size_um': np.float32(1.0),
        'electrode_height_um': np.float32(3.0), 'time_s': time_s,
        'stage': np.array([0, 0, 1, 1, 1, 2, 2, 2][:frames], np.int32), 'xi': xi,
        'has_fields': True, 'concentration': np.ones_like(xi),
        'potential_v': np.zeros_like(xi), 'length_um': (front - 3.0).astype(np.float32),
        'density': np.zeros(frames, np.float32), 'branches': np.ones(frames, np.float32),
        'interface_length_um': np.full(frames, float(size), np.float32),
        'charge_c_per_m2': np.zeros(frames, np.float32)})
  return out


@pytest.fixture(scope='session')
def make_trajectories():
  return synthetic_trajectories
