"""The PIML-vs-DDML arm configs: they differ from the data-only arm only in their loss weights
(and the derivative arm in its dataset, `small`'s frames plus tangents); both are accepted, and
the keys they need are checked by name."""

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
    if name == 'derivative':
      assert arm['data']['name'] == 'dendrite_sim/small_tangents'
      arm['data']['name'] = base['data']['name']
    assert arm == base, name


def test_arms_validate_and_their_keys_are_checked():
  for name in ARMS:
    setup.validate_config(_arm(name))
  for name, key in (('physics', 'physics_weight'), ('derivative', 'derivative_weight')):
    config = _arm(name)
    config.train.unroll_steps = 3
    with pytest.raises(ValueError, match=f'config.train.{key}: .* one-step pairs'):
      setup.validate_config(config)
  config = _arm('derivative')
  config.data.input_fields = ('xi', 'concentration')
  with pytest.raises(ValueError, match='config.train.derivative_weight: .* tangents of xi only'):
    setup.validate_config(config)
  config = _arm('derivative')
  config.train.derivative_floor = 0.0
  with pytest.raises(ValueError, match='config.train.derivative_floor: must be > 0'):
    setup.validate_config(config)
  config = _arm('derivative')
  config.train.derivative_share = 1.0
  with pytest.raises(ValueError, match=r'config.train.derivative_share: must be in \[0, 1\)'):
    setup.validate_config(config)
  config = _arm('physics')
  config.train.derivative_share = 0.25
  with pytest.raises(ValueError, match='config.train.derivative_share: .*train.derivative_weight is 0'):
    setup.validate_config(config)
  config = _arm('physics')
  config.train.physics_weight = -1.0
  with pytest.raises(ValueError, match='config.train.physics_weight: must be >= 0'):
    setup.validate_config(config)
