"""`configs/design/tiny.py` end to end: all five methods, design.json and report.html, resume.

The CNN-2 is a small saved checkpoint with random weights (tests/analysis/conftest.py): the
test checks the machinery (surrogate gradients, simulator verification, call counting, the
report), not the surrogate's quality. A second run on the same folder after cutting the
evaluation log (a kill) replays the saved evaluations and simulates only the missing calls.
"""

import json
import os

import numpy as np
import pytest

from configs.design import tiny
from dendrax.design import evaluations
from dendrax.design import methods
from dendrax.design import problem as problem_lib
from dendrax.design import study
from tests.analysis.conftest import save_checkpoint


@pytest.fixture(scope='module')
def run(tmp_path_factory):
  checkpoint = save_checkpoint(str(tmp_path_factory.mktemp('cnn2')), 'cnn2')
  out = str(tmp_path_factory.mktemp('design'))
  config = tiny.get_config()
  design = study.run_design(config, out, checkpoint)
  return config, checkpoint, out, design


def test_every_method_ran_with_the_same_budget(run):
  config, _, out, design = run
  rows = {r['method']: r for r in design['methods']}
  assert set(rows) == set(methods.METHODS) and not design['skipped_methods']
  for m in methods.METHODS:
    for seed in config.seeds:
      h = design['histories'][m][str(seed)]
      assert len(h['value']) == config.budget_sim_calls, (m, seed)
      assert h['best_so_far'][-1] == min(h['value'])
  assert rows['gradient']['forward_run_equivalents_per_seed'] > config.budget_sim_calls
  assert rows['surrogate_gradient']['surrogate_calls_per_seed'] > 0
  assert rows['bayesian']['surrogate_calls_per_seed'] == 0
  assert design['costs']['value_and_grad_forward_equivalents'] > 1.0


def test_design_json_and_report(run):
  _, _, out, design = run
  on_disk = json.load(open(os.path.join(out, 'design.json')))
  assert on_disk['best_objective_any_method'] == pytest.approx(design['best_objective_any_method'])
  red = on_disk['verification']['length_reduction']
  assert red['aryanfar_2014_ratio'] == 2.5
  opt, base = on_disk['verification']['optimum'], on_disk['verification']['baseline']
  # The verified optimum is the best evaluation any method made, re-simulated.
  assert opt['summary']['length_at_charge_um'] == pytest.approx(
      on_disk['best_objective_any_method'], rel=1e-5)
  assert red['ratio_baseline_over_optimum'] == pytest.approx(
      base['summary']['length_at_charge_um'] / opt['summary']['length_at_charge_um'])
  same = on_disk['verification']['equal_mean_current']
  assert red['equal_mean_current']['optimum_length_um'] == opt['summary']['length_at_charge_um']
  for s in (opt['summary'], base['summary'], same['summary']):
    assert s['final_charge_mah_cm2'] >= on_disk['problem']['charge_mah_cm2']
    assert {'max_tip_height_um_at_charge', 'interface_length_um_at_charge'} <= set(s)
    # The tiny problem stays below the limiting current: no diffuse cloud at Q.
    assert 0.0 <= s['diffuse_deposit_fraction_at_charge'] < 0.05
  html = open(os.path.join(out, 'report.html')).read()
  for title in ('Best objective against simulator calls', 'Best objective against wall time',
                'Optimum against the constant-current baseline at equal charge',
                'Verified length reduction', 'Targets'):
    assert f'>{title}</h2>' in html, title
  assert html.count('data:image/png;base64,') == 4
  assert 'Aryanfar' in html


def test_killed_run_resumes(run):
  config, checkpoint, out, design = run
  path = os.path.join(out, evaluations.FILENAME)
  lines = open(path).read().splitlines(keepends=True)
  keep = 1 + len(lines) // 2
  with open(path, 'w') as f:           # the kill: half the evaluations saved, a torn line
    f.writelines(lines[:keep])
    f.write(lines[keep][:20])
  again = study.run_design(config, out, checkpoint)
  replayed = sum(h['replayed_calls'] for seeds in again['histories'].values()
                 for h in seeds.values())
  assert replayed == keep - 1
  for m, seeds in design['histories'].items():
    for seed, h in seeds.items():
      assert again['histories'][m][seed]['value'] == pytest.approx(h['value'], rel=1e-6), m
  assert len(open(path).read().splitlines()) == len(lines)


def test_solver_check_passes_and_is_reported(run):
  _, _, _, design = run
  check = design['solver_check']      # passed, or run_design would have raised: what it holds
  assert 0.0 <= check['relative_change'] and check['min_gradient_cosine'] == 0.95
  assert check['potential_iterations'] == 8
  assert check['fine']['coupling_iterations'] >= study.CHECK_MIN_COUPLING_ITERATIONS
  assert len(check['gradient']) == len(check['gradient_fine']) == 2   # two design variables


def test_resume_with_another_checkpoint_is_refused(run, tmp_path):
  """CNN-2's candidates depend on the checkpoint: its path and step are in the fingerprint."""
  config, _, out, _ = run
  other = save_checkpoint(str(tmp_path / 'other'), 'cnn2', seed=1)
  with pytest.raises(evaluations.StoreMismatch, match='another config'):
    study.run_design(config, out, other)


def test_nothing_to_run_is_named(tmp_path):
  config = tiny.get_config()
  config.methods = ('surrogate_gradient',)     # and no checkpoint
  with pytest.raises(ValueError, match=r"methods=\('surrogate_gradient',\): nothing to run"):
    study.run_design(config, str(tmp_path))


def test_unconverged_solves_stop_the_run_naming_the_iterations(tmp_path):
  """One PCG iteration per solve: doubling it moves the objective, and the run refuses to go on
  (on the resolved grids 8 iterations moved it by 2.5 % and flipped a gradient's sign)."""
  config = tiny.get_config()
  config.methods = ('random',)
  config.simulation.potential_iterations = 1
  config.simulation.transport_iterations = 1
  config.solver_check_max_relative_change = 1e-6
  with pytest.raises(problem_lib.DesignError, match='potential_iterations/transport_iterations'):
    study.run_design(config, str(tmp_path))
  assert not os.path.exists(os.path.join(str(tmp_path), evaluations.FILENAME))


def test_a_gradient_that_turns_stops_the_run_naming_the_coupling(run):
  """Past the limiting current one coupling iteration can leave the value within 0.1 % and the
  derivative meaningless: a gradient pointing elsewhere than the fine one stops the run."""
  config, _, _, design = run
  settings = study.simulator_settings(config)
  problem = problem_lib.make_problem(config.problem, settings)
  check = design['solver_check']
  centre = np.full(problem.dim, 0.5)
  turned = -np.asarray(check['gradient_fine'])
  with pytest.raises(problem_lib.DesignError, match='coupling_iterations.*gradient at the box'):
    study.check_solver_convergence(check['value_fine'], turned, problem, settings, centre,
                                   check['max_relative_change'], check['min_gradient_cosine'])
