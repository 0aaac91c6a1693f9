"""The sensitivity study end to end on a tiny simulation and a small CNN-2 (float64).

Checks that the exact elasticities (one jvp pass) match central finite differences through the
simulator and through the surrogate's rollout, that the defects entry is a labelled finite
difference, and that the HTML/CSV/JSON report is written with every section. The CNN-2 is a
saved checkpoint with random weights (conftest.py): training is not needed to test the
derivative maths or the report.
"""

import csv
import dataclasses
import json
import os
import re

import jax
import numpy as np
import pytest

from dendrax.analysis import sensitivity_study
from dendrax.physics import parameters

P0 = (300.0, 1.0, 0.5, 1000.0, 0.5, 316.2, 3.0)   # the point of conftest.py's normaliser

# A 16 x 16 cell, 3 s of charge (60 steps), frames every 0.5 s, trickle for the first second;
# solves converged (30 PCG iterations; implicit derivatives are those of the solved system).
SIM = dict(nx=16, ny=16, dt_s=0.05, t_end_s=3.0, save_every_s=0.5, trickle_end_s=1.0, max_voltage_v=0.3,
           checkpoint_every_steps=10, potential_iterations=30, transport_iterations=30)
SMOOTH = sensitivity_study.SMOOTH_OBSERVABLES


@pytest.fixture(scope='module')
def study(cnn2_checkpoint, tmp_path_factory):
  settings = sensitivity_study.StudySettings(params=P0, fd_rel_step=1e-5, fd_scheme='central',
                                             accuracy_steps=(1e-2,), sim_overrides=SIM)
  with jax.enable_x64(True):
    results, used = sensitivity_study.run_study(settings, checkpoint=cnn2_checkpoint)
  out = str(tmp_path_factory.mktemp('report'))
  paths = sensitivity_study.write_report(out, results, used)
  return results, used, paths


@pytest.mark.parametrize('source', ['physics', 'model'])
def test_exact_elasticities_match_central_differences(study, source):
  r = study[0][source]
  assert set(r['exact']) == set(parameters.CONTINUOUS_PARAMETERS)
  checked = 0
  for p in parameters.CONTINUOUS_PARAMETERS:
    for o in SMOOTH:
      for s, e in r['exact'][p][o].items():
        f = r['fd'][p][o][s]
        if not np.isfinite(e):
          assert not np.isfinite(f), (p, o, s)    # a stage without frames is NaN in both
          continue
        # Central differences at h = 1e-5 in float64 against exact forward mode: 1e-4 relative
        # (issue 10's per-parameter tolerance), with the solves converged (SIM).
        assert abs(e - f) <= 1e-4 * max(abs(e), 1e-2), (source, p, o, s, e, f)
        checked += 1
  assert checked >= 6 * 3 * 3
  # The derivatives are not all trivially zero. (The field sets the current only until the
  # cell reaches the CV limit, 1-1.5 s into this 3 s run, so its own elasticity is small: 1.8e-4.)
  overall = [abs(r['exact'][p]['length_um']['overall']) for p in parameters.CONTINUOUS_PARAMETERS]
  assert max(overall) > 1e-3, overall
  assert abs(r['exact']['field_strength_kv_per_m']['length_um']['overall']) > 1e-5


def test_defects_and_branch_count_are_labelled_finite_differences(study):
  for r in study[0].values():
    assert 'n_defects' not in r['exact']
    assert r['method']['n_defects']['length_um'] == 'finite difference'
    assert r['method']['temperature_k']['branches'] == 'finite difference'
    assert r['method']['temperature_k']['length_um'] == 'exact (jvp)'
    assert r['combined']['n_defects']['length_um'] == r['fd']['n_defects']['length_um']


def test_report_has_every_section_and_the_numbers(study):
  results, used, paths = study
  html = open(paths['html']).read()
  for title in ('Conclusion', 'Summary', 'Bar charts: dendrite length',
                'Against theory: expected signs', 'Ranking table',
                'Agreement of the rankings (Spearman)',
                'Finite differences against exact derivatives', 'Cost at equal accuracy',
                'Settings'):
    assert f'>{title}</h2>' in html, title
  assert html.index('>Conclusion</h2>') < html.index('>Summary</h2>')
  charts = len(re.findall(r'>Bar charts: [^<]*</h2>', html))
  assert charts >= len(SMOOTH) and html.count('data:image/png;base64,') == charts
  assert 'spearman_rho' in html and 'three_stage' in html
  # Theory's signs for the regime this run charged in, with their sources.
  regime = used['regime']['name']
  assert regime in parameters.REGIMES and 'physics agrees' in html
  assert parameters.EXPECTED_SIGNS[regime]['temperature_k'][1][:30] in html
  # The conclusion says what each side finds, names the checkpoint step, and scores the model's
  # rollout at this point with the shared evaluator.
  assert 'Physics: the dendrite length (overall) is most sensitive to' in html
  assert 'The model (checkpoint step 0) ranks' in html
  assert "At this point the model&#x27;s rollout ends at" in html
  acc = results['model']['accuracy_at_point']
  assert np.isfinite(acc['xi_vrmse']) and acc['true_final_length_um'] >= 0
  assert used['checkpoint_step'] == 0
  # Snake_case names as in the CSV, no abbreviations.
  assert 'field_strength_kv_per_m' in html and 'E field' not in html
  rows = list(csv.DictReader(open(paths['csv'])))
  assert {r['source'] for r in rows} == {'physics', 'model'}
  one = next(r for r in rows if r['source'] == 'physics' and r['method'] == 'exact'
             and r['parameter'] == 'temperature_k' and r['observable'] == 'length_um'
             and r['summary'] == 'overall')
  assert float(one['value']) == pytest.approx(
      results['physics']['exact']['temperature_k']['length_um']['overall'])
  data = json.load(open(paths['json']))
  assert data['settings']['simulation']['nx'] == 16
  assert data['settings']['model_name'] == 'cnn2'
  acc = results['physics']['accuracy']
  assert [a['scheme'] for a in acc] == ['forward', 'central']
  assert [a['simulations'] for a in acc] == [6, 12]
  assert all(np.isfinite(a['max_abs_error']) and a['seconds'] > 0 for a in acc)
  assert os.path.getsize(paths['html']) > 10_000
  # Each bar chart is also a PNG at the figures' 200 dpi (for slides), ~2x the page's 95 dpi.
  from PIL import Image  # pylint: disable=g-import-not-at-top
  assert paths['figures'] and all(os.path.basename(f) in html for f in paths['figures'])
  for f in paths['figures']:
    with Image.open(f) as png:
      assert png.format == 'PNG' and png.width > 1800


def test_cnn1_checkpoint_is_refused(tmp_path):
  class Fake:  # what load_surrogate returns, as far as run_study looks
    workdir = str(tmp_path)
    config = type('C', (), {'model_name': 'cnn1'})()
  with pytest.raises(ValueError, match='CNN-1'):
    sensitivity_study.run_study(sensitivity_study.StudySettings(params=P0), surrogate=Fake())


def test_study_converges_the_solves_it_differentiates():
  """Exact (implicit) and central-difference derivatives agree only for converged solves."""
  from dendrax.analysis import sensitivity_study
  from dendrax.physics import simulate
  settings = sensitivity_study.StudySettings(params=(300.0, 1.0, 2.25, 1000.0, 0.5, 316.0, 3.0))
  # An older dataset's salt iterations (2.4.0 ran 4) as well as the preset's potential ones.
  dataset = {**simulate.SimulationConfig.for_dataset().to_dict(), 'transport_iterations': 4}
  assert dataset['potential_iterations'] < sensitivity_study.MIN_SOLVER_ITERATIONS_FOR_DERIVATIVES
  config = sensitivity_study.simulation_config(settings, dataset)
  assert config.potential_iterations == sensitivity_study.MIN_SOLVER_ITERATIONS_FOR_DERIVATIVES
  assert config.transport_iterations == sensitivity_study.MIN_SOLVER_ITERATIONS_FOR_DERIVATIVES
  # A dataset already above the minimum keeps its own count (2.5.0: 12 salt iterations).
  preset = simulate.SimulationConfig.for_dataset().to_dict()
  assert preset['transport_iterations'] > sensitivity_study.MIN_SOLVER_ITERATIONS_FOR_DERIVATIVES
  kept = sensitivity_study.simulation_config(settings, preset)
  assert kept.transport_iterations == preset['transport_iterations']
  explicit = dataclasses.replace(settings, sim_overrides={'potential_iterations': 5})
  assert sensitivity_study.simulation_config(explicit, dataset).potential_iterations == 5
