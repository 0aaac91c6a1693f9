"""Property-based tests (hypothesis) of physical-input validation.

Each property is a statement about every input: a clear error that names the field, or a finite
result. Inputs: the parameters of `experiments.simulate`, the parameter ranges of a dataset
design (`sampling.parameter_box`, then a Sobol design), and INCAR values of VASP runs.
"""

import math

from hypothesis import example, given, settings, strategies as st
import numpy as np
import pytest

from configs import simulate_li
from dendrax.data import sampling
from dendrax.data import vasp
from dendrax.physics import parameters
from experiments import simulate as simulate_experiment

NAMES = parameters.PARAMETER_NAMES
ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)
SETTINGS = settings(max_examples=200, deadline=None)


@SETTINGS
@given(values=st.fixed_dictionaries({n: ANY_FLOAT for n in NAMES}))
def test_simulate_parameters_are_named_when_bad_or_finite_and_physical(values):
  config = simulate_li.get_config()
  for name, value in values.items():
    config.params[name] = value
  try:
    params = simulate_experiment.params_from_config(config)
  except ValueError as e:
    assert any(n in str(e) for n in NAMES), str(e)
    return
  vector = np.asarray(params.to_vector(), np.float64)
  assert np.isfinite(vector).all()
  parameters.validate_physical(dict(zip(NAMES, vector.tolist())))


@SETTINGS
@given(name=st.sampled_from(NAMES), low=ANY_FLOAT, high=ANY_FLOAT)
def test_design_ranges_are_named_when_bad_or_give_a_finite_design(name, low, high):
  try:
    box = sampling.parameter_box({name: (low, high)})
  except ValueError as e:
    assert name in str(e), str(e)
    return
  assert math.isfinite(low) and math.isfinite(high) and low < high
  assert all(math.isfinite(v) for bounds in box.values() for v in bounds)


@SETTINGS
@given(tag=st.sampled_from(['TEBEG', 'TEEND', 'EFIELD', 'POTIM']),
       text=st.one_of(st.text(max_size=12), st.floats().map(repr),
                      st.floats().map(lambda x: f'{x!r} 1.0'.replace('e', 'd'))))
def test_incar_numbers_are_finite_or_named_with_their_file(tag, text):
  incar = {tag: text}
  try:
    value = vasp.incar_float(incar, tag, '/runs/r1/INCAR')
  except vasp.VaspReadError as e:
    assert str(e).startswith('/runs/r1/INCAR: ' + tag), str(e)
    return
  assert value is None or math.isfinite(value)


@settings(max_examples=50, deadline=None)
@given(values=st.fixed_dictionaries({n: ANY_FLOAT for n in NAMES}))
@example(values={**{s.name: s.low + 1e-3 for s in parameters.PARAMETER_SPECS},
                 'temperature_k': float('inf')})
def test_validate_physical_names_the_field_or_accepts_only_finite_values(values):
  try:
    parameters.validate_physical(values)
  except ValueError as e:
    assert any(n in str(e) for n in NAMES), str(e)
    return
  assert all(math.isfinite(v) for v in values.values()), values
