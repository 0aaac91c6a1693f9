"""The PIML-vs-DDML arm configs: they differ from the data-only arm only in their loss weights;
the physics arm is accepted (the loop calls the Faraday term), a nonzero derivative weight is
refused (naming the key) until the loop calls that term."""

import importlib

import pytest

from dendrax.train import setup

ARMS = ('data_only', 'derivative', 'physics')
WEIGHTS = ('derivative_weight', 'physics_weight')


def _arm(name):
  return importlib.import_module(f'configs.arms.{name}').get_config()


def test_arms_differ_only_in_their_weights():
  base = _arm('data_only').to_dict()
  assert base['model_name'] == 'cnn2' and base['data']['name'] == 'dendrite_sim/small'
  assert all(base['train'][w] == 0.0 for w in WEIGHTS)
  for name, key in (('derivative', 'derivative_weight'), ('physics', 'physics_weight')):
    arm = _arm(name).to_dict()
    assert arm['train'][key] > 0
    arm['train'][key] = 0.0
    assert arm == base, name


def test_physics_arm_runs_and_derivative_arm_waits_for_the_loop_hook(monkeypatch):
  setup.validate_config(_arm('data_only'))
  setup.validate_config(_arm('physics'))
  with pytest.raises(ValueError, match='config.train.derivative_weight: .* does not call'):
    setup.validate_config(_arm('derivative'))
  config = _arm('physics')
  config.train.unroll_steps = 3
  with pytest.raises(ValueError, match='config.train.physics_weight: .* one-step pairs'):
    setup.validate_config(config)
  monkeypatch.setattr(setup, 'EXTRA_LOSS_TERMS_WIRED', True)
  for name in ARMS:
    setup.validate_config(_arm(name))
  config = _arm('derivative')
  config.train.derivative_floor = 0.0
  with pytest.raises(ValueError, match='config.train.derivative_floor: must be > 0'):
    setup.validate_config(config)
  config = _arm('physics')
  config.train.physics_weight = -1.0
  with pytest.raises(ValueError, match='config.train.physics_weight: must be >= 0'):
    setup.validate_config(config)
