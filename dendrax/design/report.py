"""design.json and report.html of a design run.

The JSON holds every number of the HTML: per method and seed the best objective against
simulator calls and wall time; per method the calls needed to come within `TOLERANCE` of the
best objective any method found, and the targets (the gradient methods there with at most a fifth
of Bayesian optimisation's calls); costs (value-and-grad in forward-run equivalents, surrogate
calls); the verified length reduction of the optimum against the constant-current baseline at
equal charge, beside Aryanfar 2014's 2.5x (a qualitative reference). The HTML adds the curves,
the current traces and the morphologies. Writers are `analysis.report`'s (atomic, self-contained).
"""

from __future__ import annotations

import math
import os
from typing import Any, Mapping

import numpy as np

from dendrax.analysis import report
from dendrax.design import methods as methods_lib
from dendrax.design import problem as problem_lib

TOLERANCE = 0.02              # "within 2 % of the best objective any method found"
CALL_RATIO_TARGET = 5.0       # gradient methods: at most 1/5 of BO's calls
GRADIENT_METHODS = ('gradient', 'lbfgsb', 'surrogate_gradient')
RUNS = ('optimum', 'baseline', 'equal_mean_current')     # the verification's simulations
LABELS = {'gradient': 'gradient through simulator', 'lbfgsb': 'L-BFGS-B through simulator',
          'surrogate_gradient': 'gradient through CNN-2 (verified)',
          'bayesian': 'Bayesian optimisation', 'random': 'random search'}


def median_calls(reach, never: float = math.inf) -> float | None:
  """Median over seeds of the calls to the target, a seed that never reached it counting as
  `never` calls; None when that makes the median infinite (it rests on such a seed)."""
  median = float(np.median([never if r is None else r for r in reach]))
  return median if math.isfinite(median) else None


def method_rows(results, target: float, budget: int, costs) -> list[dict[str, Any]]:
  """One row per method: best objective, calls to reach the target, costs."""
  rows = []
  ratio = costs['value_and_grad_forward_equivalents']
  for m, seeds in results.items():
    reach = [methods_lib.calls_to_reach(h['best_so_far'], target) for h in seeds.values()]
    best = [h['best_value'] for h in seeds.values()]
    vg = [h['value_and_grad_calls'] for h in seeds.values()]
    fw = [h['forward_calls'] for h in seeds.values()]
    rows.append({
        'method': m, 'seeds': len(seeds), 'simulator_calls_per_seed': budget,
        'best_objective_min': min(best), 'best_objective_median': float(np.median(best)),
        'seeds_reaching_target': sum(r is not None for r in reach),
        'calls_to_target_median': median_calls(reach),
        # A lower bound of the median: a seed that never got there counted as budget + 1 calls.
        'calls_to_target_median_at_least': median_calls(reach, budget + 1),
        'calls_to_target_per_seed': reach,
        'forward_run_equivalents_per_seed': float(np.mean(fw) + ratio * np.mean(vg)),
        'surrogate_calls_per_seed': float(np.mean([h['surrogate_calls']
                                                   for h in seeds.values()])),
        'wall_s_per_seed_median': float(np.median([h['wall_s'][-1] for h in seeds.values()])),
    })
  return rows


def targets(rows, budget: int, span: float | None = None) -> dict[str, Any]:
  """The issue's target for each gradient method: within 2 % of the best with <= BO calls / 5.

  Calls to the target are medians over seeds, each side counted so that the verdict errs
  against the gradient methods: a gradient method's median is None (not met) when it rests on a
  seed that never got there; BO's is its lower bound, a seed that never got there counting as
  budget + 1 calls (if no seed got there the bound is (budget + 1) / 5).
  If every evaluation of every method lies within the tolerance of the best (`span`: (worst -
  best) / |best| <= TOLERANCE) the problem cannot tell methods apart: 'met' is None, with a note.
  """
  by = {r['method']: r for r in rows}
  out = {}
  bo = by.get('bayesian')
  if bo is None:
    return {'note': 'Bayesian optimisation was not run: no target to compare with'}
  bo_calls = bo['calls_to_target_median']
  bo_bound = bo['calls_to_target_median_at_least']
  for m in GRADIENT_METHODS:
    if m not in by:
      continue
    calls = by[m]['calls_to_target_median']
    limit = bo_bound / CALL_RATIO_TARGET
    out[m] = {'calls_to_target_median': calls, 'bayesian_calls_to_target_median': bo_calls,
              'allowed_calls': limit,
              'met': calls is not None and calls <= limit}
    if span is not None and span <= TOLERANCE:
      out[m]['met'] = None
      out[m]['note'] = (f'undecidable: every evaluation lies within {100 * span:.2g} % of the '
                        f'best (tolerance {100 * TOLERANCE:.0f} %), so any first call reaches it')
  return out


def objective_span(results) -> float:
  """(worst - best) / |best| over every simulator evaluation of every method and seed."""
  values = [v for seeds in results.values() for h in seeds.values() for v in h['value']]
  best, worst = min(values), max(values)
  return (worst - best) / abs(best) if best else float('inf')


def assemble(problem: problem_lib.Problem, config, results, skipped, costs, verification,
             *, surrogate_note: str, sim_config: Mapping[str, Any]) -> dict[str, Any]:
  """Everything design.json holds (no arrays of fields)."""
  overall = min(h['best_value'] for seeds in results.values() for h in seeds.values())
  target = overall + TOLERANCE * abs(overall)
  budget = int(config.budget_sim_calls)
  rows = method_rows(results, target, budget, costs)
  span = objective_span(results)
  return {
      'problem': {
          'name': problem.name, 'protocol': problem.protocol,
          'objective': f'{problem_lib.OBJECTIVE}: dendrite length (um) when the charge passed '
                       f'reaches {problem.charge_mah_cm2} mAh/cm^2, within {problem.max_time_s} s',
          'charge_mah_cm2': problem.charge_mah_cm2, 'max_time_s': problem.max_time_s,
          'variables': [{'name': v.name, 'unit': v.unit, 'low': v.low, 'high': v.high,
                         'scale': 'log' if v.log_scale else 'linear'}
                        for v in problem.variables],
          'fixed': dict(problem.fixed), 'baseline': dict(problem.baseline)},
      'budget_sim_calls': budget, 'seeds': [int(s) for s in config.seeds],
      'best_objective_any_method': overall, 'target_objective': target,
      'tolerance': TOLERANCE, 'objective_span': span,
      'methods': rows, 'targets': targets(rows, budget, span),
      'skipped_methods': skipped, 'surrogate': surrogate_note, 'costs': costs,
      'histories': {m: {str(s): h for s, h in seeds.items()} for m, seeds in results.items()},
      'verification': {k: v for k, v in verification.items()
                       if k not in RUNS} | {
          name: {'values': verification[name]['values'],
                 'summary': verification[name]['summary']}
          for name in RUNS},
      'config': config.to_dict(), 'simulation': sim_config,
  }


# ---- figures ---------------------------------------------------------------------------------

def _curves_figure(histories, x_key: str, xlabel: str, target: float):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, ax = plt.subplots(figsize=(6.5, 4))
  for i, (m, seeds) in enumerate(histories.items()):
    color = f'C{i}'
    for j, h in enumerate(seeds.values()):
      x = h['calls'] if x_key == 'calls' else h['wall_s']
      ax.step(x, h['best_so_far'], where='post', color=color, alpha=0.8, lw=1.2,
              label=LABELS.get(m, m) if j == 0 else None)
  ax.axhline(target, color='k', ls=':', lw=1, label=f'best + {100 * TOLERANCE:.0f} %')
  ax.set_xlabel(xlabel)
  ax.set_ylabel('best dendrite length at Q (um)')
  if x_key == 'wall_s':
    ax.set_xscale('log')
  ax.legend(fontsize=8)
  return fig


def _trace_figure(verification, q: float, target_fn):
  """Current (frame means of the Faradaic current, and the target on a fine grid) and charge."""
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6))
  for name, color in (('optimum', 'C3'), ('baseline', 'C0'), ('equal_mean_current', 'C2')):
    f = verification[name]['frames']
    t = np.asarray(f['time_s'])
    q_t = np.asarray(f['charge_mah_cm2'])
    mean_i = np.diff(q_t) * 3600.0 / np.diff(t)          # mA/cm^2 averaged over each frame
    a1.stairs(mean_i, t, baseline=None, color=color, label=f'{name}: Faradaic, frame mean')
    if name == 'optimum':
      tf = np.linspace(0.0, t[-1], 4000)
      a1.plot(tf, target_fn(tf), color=color, lw=0.6, alpha=0.6, label=f'{name}: target')
    a2.plot(t, q_t, color=color, label=name)
    a2.axvline(verification[name]['summary']['time_at_charge_s'], color=color, ls=':', lw=1)
  a2.axhline(q, color='k', ls='--', lw=1, label=f'Q = {q} mAh/cm^2')
  a1.set_xlabel('time (s)'); a1.set_ylabel('current density (mA/cm^2)'); a1.legend(fontsize=7)
  a2.set_xlabel('time (s)'); a2.set_ylabel('charge passed (mAh/cm^2)'); a2.legend(fontsize=7)
  return fig


def _morphology_figure(verification):
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  fig, axes = plt.subplots(1, 3, figsize=(12, 4))
  for ax, name in zip(axes, ('baseline', 'equal_mean_current', 'optimum')):
    f, s = verification[name]['frames'], verification[name]['summary']
    k = int(np.argmin(np.abs(np.asarray(f['time_s']) - s['time_at_charge_s'])))
    ax.imshow(np.asarray(f['xi'][k]), origin='lower', cmap='RdBu_r', vmin=0, vmax=1)
    ax.set_title(f"{name}: t = {float(f['time_s'][k]):.1f} s, length "
                 f"{s[problem_lib.OBJECTIVE]:.2f} um", fontsize=9)
    ax.set_xticks([]); ax.set_yticks([])
  return fig


def write(out_dir: str, design: Mapping[str, Any], verification, target_fn) -> dict[str, str]:
  """Writes design.json and report.html under `out_dir`; returns their paths.

  `target_fn(t)` is the optimum's target current density (mA/cm^2) at times t (s).
  """
  paths = {'json': os.path.join(out_dir, 'design.json'),
           'html': os.path.join(out_dir, 'report.html')}
  report.write_json(paths['json'], design)
  p = design['problem']
  red = design['verification']['length_reduction']
  opt, base = design['verification']['optimum'], design['verification']['baseline']
  same = design['verification']['equal_mean_current']
  red_same = red['equal_mean_current']
  sections = [
      ('Problem', report.paragraph(p['objective'] + f" (protocol {p['protocol']}).")
       + report.table_html(p['variables'])),
      ('Methods', report.paragraph(
          f"Each method had {design['budget_sim_calls']} simulator calls per seed over seeds "
          f"{design['seeds']}. Best objective any method found: "
          f"{design['best_objective_any_method']:.5g} um; target (within "
          f"{100 * TOLERANCE:.0f} %): {design['target_objective']:.5g} um; every evaluation "
          f"within {100 * design['objective_span']:.2g} % of the best. One value-and-grad "
          f"call costs {design['costs']['value_and_grad_forward_equivalents']:.2f} forward runs "
          'here (after compilation). Skipped: ' + (', '.join(
              f'{k} ({v})' for k, v in design['skipped_methods'].items()) or 'none') + '.')
       + report.table_html([{k: v for k, v in r.items() if k != 'calls_to_target_per_seed'}
                            for r in design['methods']])),
      ('Targets', report.paragraph(
          f'Gradient methods within {100 * TOLERANCE:.0f} % of the best objective any method '
          f'found, using at most 1/{CALL_RATIO_TARGET:g} of the simulator calls Bayesian '
          'optimisation needs (medians over seeds; a seed that never gets there counts as '
          'needing more than the budget).')
       + report.table_html([{'method': m, **v} for m, v in design['targets'].items()
                            if isinstance(v, dict)])),
      ('Best objective against simulator calls',
       report.figure_html(_curves_figure(design['histories'], 'calls', 'simulator calls',
                                         design['target_objective']), alt='best vs calls')),
      ('Best objective against wall time',
       report.figure_html(_curves_figure(design['histories'], 'wall_s',
                                         'wall time (s, after compilation)',
                                         design['target_objective']), alt='best vs wall time')),
      ('Optimum against the constant-current baseline at equal charge', report.table_html(
          [{'run': 'optimum', **opt['values'], **opt['summary']},
           {'run': 'baseline', **base['values'], **base['summary']},
           {'run': 'equal_mean_current', **same['values'], **same['summary']}])
       + report.figure_html(_trace_figure(verification, p['charge_mah_cm2'], target_fn),
                            alt='current traces')
       + report.figure_html(_morphology_figure(verification), alt='morphologies')),
      ('Verified length reduction', report.paragraph(
          f"Simulated at equal charge {p['charge_mah_cm2']} mAh/cm^2: baseline "
          f"{red['baseline_length_um']:.4g} um, optimum {red['optimum_length_um']:.4g} um: "
          f"{red['ratio_baseline_over_optimum']:.3g}x shorter ({red['percent_shorter']:.3g} %). "
          f"Against constant current at the optimum's mean current (same charging time): "
          f"{red_same['baseline_length_um']:.4g} um, {red_same['ratio_baseline_over_optimum']:.3g}x "
          f"({red_same['percent_shorter']:.3g} %). "
          f"Aryanfar et al. 2014 report about {red['aryanfar_2014_ratio']}x shorter mean "
          'dendrites under pulse charging: a qualitative reference from a different system.')),
      ('Settings', report.settings_html({'costs': design['costs'],
                                         'surrogate': design['surrogate'],
                                         'config': design['config']})),
  ]
  report.write_html(paths['html'], f"dendrax design: {p['name']}", sections)
  return paths
