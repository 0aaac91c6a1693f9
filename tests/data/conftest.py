"""The data tests' `data_dir`: the run's one `dendrite_sim/tiny` build (tests/conftest.py)."""

import pytest


@pytest.fixture(scope='module')
def data_dir(tfds_tiny):
  return tfds_tiny
