"""experiments.simulate leaves no empty workdir behind when the config fails validation."""

import os

import pytest

from configs import simulate_li
from experiments import simulate as simulate_experiment


@pytest.mark.parametrize('key,value', [('params.field_strength_kv_per_m', float('nan')),
                                       ('params.temperature_k', -5.0)])
def test_a_config_that_fails_validation_leaves_no_workdir(key, value, tmp_path):
  config = simulate_li.get_config()
  section, name = key.split('.')
  config[section][name] = value
  workdir = str(tmp_path / 'run')
  with pytest.raises(ValueError, match=name):
    simulate_experiment.simulate_and_write(config, workdir)
  assert not os.path.exists(workdir)
