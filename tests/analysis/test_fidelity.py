"""Sensitivity fidelity (issue 11): the panel, the scores, theory's signs, and the command end to
end at tiny size (16 x 16, 60 s, a random-weight CNN-2 from conftest.py) with its resume."""

import dataclasses
import json
import math
import os

import pytest

from dendrax.analysis import fidelity
from dendrax.physics import parameters
from dendrax.physics import simulate
from tests.analysis.test_experiments_cli import run


def test_panel_is_deterministic_in_the_box_and_shares_out_the_protocols():
  points = fidelity.panel(6, 2026)
  assert points == fidelity.panel(6, 2026)
  assert [p.params for p in points] != [p.params for p in fidelity.panel(6, 2027)]
  assert sorted(p.protocol for p in points) == sorted(fidelity.PANEL_PROTOCOLS * 2)
  assert {p.chemistry for p in points} == {'Li'}
  for p in points:
    for spec, v in zip(parameters.PARAMETER_SPECS, p.params):
      assert spec.low <= v <= spec.high, (spec.name, v)
  with pytest.raises(ValueError, match='galvanostatic'):
    fidelity.panel(4, 0, protocols=('galvanostatic',))
  with pytest.raises(ValueError, match='num_points'):
    fidelity.panel(0, 0)


def _row(phys, surr, parameter='temperature_k', protocol='constant_current', point=0,
         summary='overall', regime='galvanostatic'):
  return {'point': point, 'protocol': protocol, 'chemistry': 'Li', 'parameter': parameter,
          'summary': summary, 'physics': phys, 'surrogate': surr, 'regime': regime}


def test_scores_count_signs_spurious_entries_and_the_median_error():
  rows = [_row(1.0, 0.9), _row(-1.0, 1.0), _row(0.01, 0.5), _row(0.02, 0.0),
          _row(math.nan, 3.0)]                     # not finite: left out
  s = fidelity.scores(rows, relevant=0.05, spurious=0.3)
  assert s['entries'] == 4 and s['relevant_entries'] == 2
  assert s['sign_agreement'] == 0.5                # 1.0 vs 0.9 agrees, -1 vs 1 does not
  assert s['spurious_rate'] == 0.25                # 0.5 where the physics is 0.01
  assert math.isclose(s['median_abs_diff'], (0.1 + 0.49) / 2)
  assert math.isclose(s['response_slope'], (0.9 - 1.0) / 2)   # sum(p m) / sum(p^2), relevant
  flat = fidelity.scores([_row(1.0, 0.01), _row(-1.0, -0.01), _row(0.01, 0.0)], relevant=0.05,
                         spurious=0.3)
  assert flat['spurious_rate'] == 0.0 and math.isclose(flat['response_slope'], 0.01)
  # Intervals resample whole points: with every point alike they collapse onto the value.
  alike = [_row(1.0, 0.9, point=i) for i in range(4)] + [
      _row(-0.5, 0.2, point=i, parameter='fluidity_per_pa_s') for i in range(4)]
  same = fidelity.scores(alike, relevant=0.05, spurious=0.3, bootstrap_samples=50)
  assert same['sign_agreement_ci'] == [0.5, 0.5] and same['sign_agreement'] == 0.5
  varied = fidelity.scores(alike[:2] + alike[6:], relevant=0.05, spurious=0.3)
  lo, hi = varied['sign_agreement_ci']
  assert lo == 0.0 and hi == 1.0 and varied['sign_agreement'] == 0.5
  assert all(math.isnan(v) for v in s['sign_agreement_ci'])     # one point: no interval
  met = fidelity.targets_met(s, {'sign_agreement': 0.9, 'median_abs_diff': 0.1,
                                 'spurious_rate': 0.05})
  assert met == {'sign_agreement': False, 'median_abs_diff': False, 'spurious_rate': False}


def test_theory_signs_count_agreement_per_regime_where_the_physics_acts():
  rows = [_row(s, math.nan, point=i) for i, s in enumerate([-0.2, -0.1, 0.3, 0.01])]
  rows += [_row(0.4, math.nan, protocol='constant_voltage', point=4, regime='potentiostatic')]
  rows += [_row(1e-6, math.nan, parameter='surface_energy_j_m2', point=i) for i in range(4)]
  table = {(r['parameter'], r['regime']): r for r in fidelity.theory_signs(rows, relevant=0.05)}
  t = table[('temperature_k', 'galvanostatic')]             # theory: -1 at held current
  assert (t['relevant_points'], t['agree_fraction'], t['acts']) == (3, 2 / 3, True)
  t = table[('temperature_k', 'potentiostatic')]            # theory: +1 at held potential
  assert (t['points'], t['agree_fraction'], t['protocols']) == (1, 1.0, 'constant_voltage')
  assert table[('temperature_k', 'any')]['points'] == 5
  rows = [_row(-1.5, math.nan, parameter='field_strength_kv_per_m', regime='transport_limited')]
  t = next(r for r in fidelity.theory_signs(rows, relevant=0.05)
           if r['regime'] == 'transport_limited')            # theory: no single sign
  assert t['expected_sign'] is None and t['relevant_points'] == 1
  assert math.isnan(t['agree_fraction'])
  assert table[('temperature_k', 'any')]['expected_sign'] is None
  assert ('surface_energy_j_m2', 'potentiostatic') not in table   # no such points
  assert not table[('surface_energy_j_m2', 'any')]['acts']


def test_command_end_to_end_and_resume(cnn2_checkpoint, tmp_path):
  """Two constant-current points on a 16 x 16 cell, 60 s, simulator and CNN-2: every entry
  present, galvanostatic length rises with the current (more charge, more metal: S_field > 0),
  the report written; a second run reads the saved points; another panel in that folder is
  refused, naming the file; another checkpoint's run reuses the simulator side, and a different
  simulation may not."""
  out = str(tmp_path / 'fid')
  args = ['--checkpoint', cnn2_checkpoint, '--out', out, '--config.num_points=2',
          "--config.protocols=('constant_current',)", '--config.bootstrap_samples=20',
          '--config.sim_overrides=nx=16,ny=16,t_end_s=60']
  proc = run('experiments.sensitivity_fidelity', *args)
  assert proc.returncode == 0, proc.stderr[-3000:]
  d = json.load(open(os.path.join(out, 'fidelity.json')))
  assert d['num_points'] == 2 and len(d['entries']) == 2 * 6 * len(fidelity.SUMMARIES)
  overall = [e for e in d['entries'] if e['summary'] == 'overall']
  assert all(e['physics'] is not None and e['surrogate'] is not None for e in overall)
  field = [e['physics'] for e in overall if e['parameter'] == 'field_strength_kv_per_m']
  assert min(field) > 0.01, field
  points = [json.load(open(fidelity.point_path(out, i))) for i in range(2)]
  assert all(p['regime']['name'] in parameters.REGIMES for p in points)
  assert set(d['scores']) == {'overall_210s', 'all_summaries'}
  html = open(os.path.join(out, 'fidelity.html')).read()
  for title in ('Conclusion', 'Parity', 'theory&#x27;s signs'):
    assert title in html, title
  stamps = [os.path.getmtime(fidelity.point_path(out, i)) for i in range(2)]
  again = run('experiments.sensitivity_fidelity', *args)
  assert again.returncode == 0, again.stderr[-3000:]
  assert 'point 1/2' not in again.stdout                       # nothing simulated again
  assert stamps == [os.path.getmtime(fidelity.point_path(out, i)) for i in range(2)]
  # Another checkpoint's run can reuse this run's simulator side (same panel and simulation),
  # giving the same physics entries.
  reuse = str(tmp_path / 'fid_reuse')
  reused = run('experiments.sensitivity_fidelity', *args[:2], '--out', reuse, *args[4:],
               '--physics_from', out)
  assert reused.returncode == 0, reused.stderr[-3000:]
  r = json.load(open(os.path.join(reuse, 'fidelity.json')))
  assert [e['physics'] for e in r['entries']] == [e['physics'] for e in d['entries']]
  assert [e['surrogate'] for e in r['entries']] == [e['surrogate'] for e in d['entries']]
  # The refusals, in process (the command passes run_panel's ValueError on): another panel in
  # the same folder, and a reuse whose simulation differs. Both stop before simulating.
  group = ('Li', 'constant_current')
  settings = d['settings']['simulation_per_group']['/'.join(group)]
  config = simulate.SimulationConfig.from_dict(settings)
  other_panel = fidelity.panel(2, 7, protocols=group[1:])
  with pytest.raises(ValueError, match='point_000.json'):
    fidelity.run_panel(other_panel, {group: config}, out, noise_seed=0, float64=True)
  same_panel = fidelity.panel(2, d['settings']['panel_seed'], protocols=group[1:])
  shorter = {group: dataclasses.replace(config, t_end_s=30.0)}
  with pytest.raises(ValueError, match='cannot be reused'):
    fidelity.run_panel(same_panel, shorter, str(tmp_path / 'fid_bad'), noise_seed=0,
                       float64=True, physics_from=out)
