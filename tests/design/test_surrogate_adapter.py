"""Which design variables CNN-2 can stand in for (no checkpoint needed)."""

import pytest

from dendrax.design import surrogate_adapter as sur


def test_schedule_variables_within_a_frame_are_unsupported():
  sur.check_supported(('current_ma_cm2', 'temperature_k'), 'constant_current')
  with pytest.raises(sur.SurrogateUnsupported) as e:
    sur.check_supported(('pulse_on_time_s',), 'pulse')
  assert e.value.variable == 'pulse_on_time_s'


def test_a_parameter_trained_masked_is_unsupported():
  """A checkpoint trained without a parameter has a zero derivative in it: refused, named."""
  with pytest.raises(sur.SurrogateUnsupported, match='masked') as e:
    sur.check_supported(('current_ma_cm2', 'temperature_k'), 'constant_current',
                        masked=('temperature_k',))
  assert e.value.variable == 'temperature_k'
  # The current reaches CNN-2 as the field strength (J = sigma_nom E).
  with pytest.raises(sur.SurrogateUnsupported, match='field_strength_kv_per_m') as e:
    sur.check_supported(('current_ma_cm2',), 'constant_current',
                        masked=('field_strength_kv_per_m',))
  assert e.value.variable == 'current_ma_cm2'
  sur.check_supported(('current_ma_cm2',), 'constant_current', masked=('n_defects',))
