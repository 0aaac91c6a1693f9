"""The issue's design target as the report judges it, on made-up histories."""

from dendrax.design import report


def _rows(gradient_calls, bo_calls):
  return [{'method': 'gradient', 'calls_to_target_median': gradient_calls},
          {'method': 'bayesian', 'calls_to_target_median': bo_calls}]


def test_target_needs_a_fifth_of_the_bayesian_calls():
  assert report.targets(_rows(2, 10), budget=10)['gradient']['met'] is True
  assert report.targets(_rows(3, 10), budget=10)['gradient']['met'] is False
  # BO never within 2 %: the bound is (budget + 1) / 5.
  assert report.targets(_rows(2, None), budget=10)['gradient']['met'] is True
  assert report.targets(_rows(None, None), budget=10)['gradient']['met'] is False


def test_a_landscape_flatter_than_the_tolerance_is_undecidable():
  results = {'gradient': {0: {'value': [3.00, 3.01, 3.02]}},
             'bayesian': {0: {'value': [3.03, 3.005]}}}
  span = report.objective_span(results)
  assert abs(span - 0.01) < 1e-12
  t = report.targets(_rows(1, 1), budget=3, span=span)['gradient']
  assert t['met'] is None and 'undecidable' in t['note']
  # A landscape wider than the tolerance is judged.
  results['bayesian'][0]['value'].append(3.5)
  t = report.targets(_rows(1, 1), budget=3, span=report.objective_span(results))['gradient']
  assert t['met'] is False
