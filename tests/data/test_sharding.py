"""Tests of data-parallel batch sharding on two CPU devices (run in a subprocess)."""

import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_SCRIPT = textwrap.dedent('''
    import jax
    jax.config.update('jax_num_cpu_devices', 2)
    import numpy as np
    import pytest
    from dendrax.data import sharding

    assert jax.local_device_count() == 2, jax.devices()
    mesh = sharding.data_mesh()
    batch = {'inputs': np.arange(4 * 3 * 3 * 1, dtype=np.float32).reshape(4, 3, 3, 1),
             'cond': np.ones((4, 20), np.float32), 'trajectory_id': np.arange(4)}
    out = sharding.shard_batch(batch, mesh)
    for key, value in batch.items():
      np.testing.assert_array_equal(np.asarray(out[key]), value)
      shards = sorted(out[key].addressable_shards, key=lambda s: s.index[0].start)
      assert [s.device for s in shards] == list(mesh.devices), key
      np.testing.assert_array_equal(np.asarray(shards[0].data), value[:2])
      np.testing.assert_array_equal(np.asarray(shards[1].data), value[2:])
    total = jax.jit(lambda b: b['inputs'].sum())(out)
    assert float(total) == batch['inputs'].sum()
    with pytest.raises(ValueError, match="'cond'.*multiple of the 2 devices"):
      sharding.shard_batch({'cond': np.ones((3, 20))}, mesh)
    print('OK')
''')


def test_shard_batch_splits_the_batch_over_two_devices():
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=2',
             JAX_PLATFORMS='cpu')
  result = subprocess.run([sys.executable, '-c', _SCRIPT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stdout.strip().endswith('OK')
