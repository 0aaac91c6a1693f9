"""Data-parallel training on 2 forced host devices equals training on 1 device.

The device count must be fixed before JAX starts, so the comparison runs in a subprocess with
XLA_FLAGS=--xla_force_host_platform_device_count=2; both meshes live in that one process.
"""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from dendrax.train import checkpointing
from dendrax.train import restore as restore_lib
from tests.conftest import xla_flags

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = r'''
import json, sys
import jax
jax.config.update('jax_compilation_cache_dir', sys.argv[1])
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.5)
import numpy as np
from tests.conftest import small_train_config
from dendrax.data import normalization, pipeline
from dendrax.train import checkpointing, setup, steps
from tests.train import synthetic_dendrites

assert len(jax.devices()) == 2, jax.devices()
config = small_train_config()
source = synthetic_dendrites.source('train')
normalizer = normalization.Normalizer.fit(source)
batches = list(pipeline.next_state_batches(source, normalizer, batch_size=8, seed=0,
                                           num_epochs=1, augment=True))[:4]
model = setup.build_model(config)
init = setup.initial_state(config, jax.random.key(0))
results, shard_counts = {}, {}
for n in (1, 2):
  mesh = steps.make_mesh(n)
  state = steps.replicate(jax.tree.map(np.array, init), mesh)   # a copy: steps donate
  train_fn, _ = steps.compile_steps(mesh, model.apply, config.loss.to_dict())
  losses = []
  for b in batches:
    sharded = steps.shard_batch(b, mesh)
    shard_counts[n] = len(sharded['inputs'].addressable_shards)
    state, m = train_fn(state, sharded)
    losses.append(float(m['loss']))
  results[n] = (losses, jax.device_get(state.params))
# A checkpoint written from the 2-device mesh, to be loaded by the 1-device parent process.
manager = checkpointing.open_manager(sys.argv[2], 1)
checkpointing.save(manager, state, normalizer=normalizer, config=config, loop={})
manager.wait_until_finished()
diff = max(float(np.max(np.abs(a - b))) for a, b in zip(jax.tree.leaves(results[1][1]),
                                                          jax.tree.leaves(results[2][1])))
scale = max(float(np.max(np.abs(a))) for a in jax.tree.leaves(results[1][1]))
moved = max(float(np.max(np.abs(a - b))) for a, b in zip(jax.tree.leaves(results[1][1]),
                                                           jax.tree.leaves(init.params)))
print(json.dumps({'losses1': results[1][0], 'losses2': results[2][0], 'param_diff': diff,
                  'param_scale': scale, 'moved': moved, 'shards': shard_counts,
                  'abs_sum': float(sum(np.abs(a).sum() for a in jax.tree.leaves(results[2][1])))}))
'''


def test_two_devices_match_one_device(tmp_path):
  env = dict(os.environ, XLA_FLAGS=xla_flags('--xla_force_host_platform_device_count=2'),
             JAX_PLATFORMS='cpu', PYTHONPATH=ROOT)
  workdir = str(tmp_path / 'run')
  proc = subprocess.run([sys.executable, '-c', SCRIPT, os.path.join(ROOT, '.jax_cache'), workdir],
                        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = json.loads(proc.stdout.strip().splitlines()[-1])
  assert out['shards'] == {'1': 1, '2': 2}          # the batch really was split in two
  assert out['moved'] > 1e-4                        # the 4 steps changed the parameters
  for a, b in zip(out['losses1'], out['losses2']):
    assert abs(a - b) <= 1e-5 * max(abs(a), 1e-3), (out['losses1'], out['losses2'])
  assert out['param_diff'] <= 1e-5 * out['param_scale'] + 1e-6, out
  # This process has one device: the 2-device checkpoint still loads, with the same values.
  config, params, _ = checkpointing.load_checkpoint(workdir, 'latest')
  assert config.model.features == [4, 4, 8, 8, 8]
  abs_sum = float(sum(np.abs(np.asarray(a)).sum() for a in jax.tree.leaves(params)))
  assert abs_sum == pytest.approx(out['abs_sum'], rel=1e-6)
  # Resuming here (one device) finds that step intact: a checkpoint of another mesh is not
  # corrupt (it used to be moved to checkpoints/corrupt/ with 'Topology mismatch').
  manager = checkpointing.open_manager(workdir, 1)
  step = manager.latest_step()
  assert restore_lib.newest_intact_step(manager, workdir) == step
  assert manager.all_steps() == [step]
  assert not os.path.exists(os.path.join(workdir, 'checkpoints', 'corrupt'))
  manager.close()
