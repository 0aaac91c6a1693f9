"""The HTML report of a sensitivity study (`sensitivity_study.run_study`): conclusion first.

Sections: Conclusion (what the physics says, what the model says, where they disagree, how well
the model reproduces the run at this point, with the shared evaluation metrics), Summary
(timings and the exact-vs-finite-difference check, explained), bar charts per observable (only
the stages that have frames, only observables that are not zero everywhere; what was left out is
said), the ranking table (sorted by |elasticity|, every value with its method), the agreement of
the rankings (Spearman), finite differences against exact values, cost at equal accuracy and the
settings (checkpoint and its step included). Names are the snake_case parameter names of the
CSV everywhere.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import numpy as np

from dendrax.analysis import figures
from dendrax.analysis import plots
from dendrax.analysis import report
from dendrax.analysis import sensitivity
from dendrax.analysis import sensitivity_study as study
from dendrax.physics import parameters

# An elasticity below this in magnitude is "about zero" in the conclusion.
NEGLIGIBLE = 0.1
# A model elasticity off the physics one by more than this (absolute) is called out.
DISCREPANCY = 0.3


def _finite(values) -> list[float]:
  return [v for v in values if v is not None and np.isfinite(v)]


def shown_summaries(results, observable: str, summaries: Sequence[str]) -> list[str]:
  """The summaries (overall, stages) with a finite value in some source: the stages the
  protocol reached at this point."""
  return [s for s in summaries
          if any(_finite([r['combined'][p][observable].get(s) for p in parameters.PARAMETER_NAMES])
                 for r in results.values())]


def all_zero(results, observable: str) -> bool:
  """True if every finite elasticity of `observable` is 0 in every source (e.g. a branch count
  that no step of the parameters changes)."""
  vals = _finite(v for r in results.values() for p in parameters.PARAMETER_NAMES
                 for v in r['combined'][p].get(observable, {}).values())
  return not vals or all(v == 0 for v in vals)


def _fmt(v: float) -> str:
  return 'n/a' if v is None or not np.isfinite(v) else f'{v:.3g}'


def conclusion(results: Mapping[str, Any], settings: Mapping[str, Any],
               observable: str = 'length_um', summary: str = 'overall') -> list[str]:
  """Sentences stating what the study found for `observable` at `summary` (the dendrite length
  at the last frame by default)."""
  phys, model = results.get('physics'), results.get('model')
  label = study.OBSERVABLE_LABELS.get(observable, observable)
  at = lambda r, p: r['combined'][p][observable][summary]
  out = []
  if phys is not None:
    ranked = study.rankings(phys['combined'], observable, summary)[:3]
    out.append(f'Physics: the {label} ({summary}) is most sensitive to '
               + ', '.join(f'{p} ({_fmt(at(phys, p))})' for p in ranked) + '.')
    small = [p for p in parameters.CONTINUOUS_PARAMETERS if abs(at(phys, p)) < NEGLIGIBLE]
    if small:
      out.append('The simulator gives about zero (|elasticity| < '
                 f'{NEGLIGIBLE:g}) for ' + ', '.join(f'{p} ({_fmt(at(phys, p))})'
                                                       for p in small) + '.')
  if model is not None:
    ranked = study.rankings(model['combined'], observable, summary)[:3]
    step = settings.get('checkpoint_step')
    name = f'The model (checkpoint step {step})' if step is not None else 'The model'
    out.append(f'{name} ranks ' + ', '.join(f'{p} ({_fmt(at(model, p))})' for p in ranked)
               + ' first.')
  if phys is not None and model is not None:
    gaps = sorted(((abs(at(model, p) - at(phys, p)), p) for p in parameters.PARAMETER_NAMES
                   if np.isfinite(at(model, p)) and np.isfinite(at(phys, p))), reverse=True)
    called = [(g, p) for g, p in gaps if g > DISCREPANCY]
    for g, p in called[:3]:
      m, f = at(model, p), at(phys, p)
      kind = ('a sensitivity the physics does not have' if abs(f) < NEGLIGIBLE else
              'the wrong sign' if m * f < 0 else
              'too strong' if abs(m) > abs(f) else 'too weak')
      out.append(f'Disagreement: the model gives {p} an elasticity of {_fmt(m)} where the '
                 f'simulator gives {_fmt(f)}: {kind}.')
    if not called:
      out.append(f'The model agrees with the simulator within {DISCREPANCY:g} on every '
                 'parameter.')
    rho = study.spearman(phys['combined'], model['combined'], observable, summary)
    out.append(f"Spearman's rho of the two rankings: {_fmt(rho)} (1 = same order).")
  acc = (model or {}).get('accuracy_at_point')
  if acc:
    out.append(f'At this point the model\'s rollout ends at a {label} of '
               f'{_fmt(acc["pred_final_length_um"])} um against the simulator\'s '
               f'{_fmt(acc["true_final_length_um"])} um (xi VRMSE over the frames '
               f'{_fmt(acc["xi_vrmse"])}; `dendrax.train.evaluation.score`). Its elasticities '
               'are those of this rollout.')
  return out


def check_paragraph(results) -> list[str]:
  """The exact-vs-finite-difference check, in words (replaces the bare warning)."""
  out = []
  for source, r in results.items():
    gap = study.max_disagreement(r)
    fd = r.get('accuracy') or []
    best = min((a['max_abs_error'] for a in fd if a['scheme'] == 'central'), default=None)
    text = (f'{source}: exact and the reported finite differences differ by up to '
            f'{100 * gap:.0f} % (relative, over every smooth output and stage)')
    if best is not None:
      text += f'; central differences at the smallest step agree to {best:.2g} (absolute)'
    if gap > 0.1:
      text += ('. A forward difference of the paper\'s step averages the slope over the step; '
               'where a stage switch or topology change falls inside it, or the rollout is very '
               'sensitive, it differs from the local (exact) slope. The exact values are the '
               'derivatives; read the finite differences as averages over the step')
    out.append(text + '.')
  return out


def _ranking_rows(results, observables, summaries) -> list[dict[str, Any]]:
  rows = []
  for source, r in results.items():
    for o in observables:
      shown = shown_summaries(results, o, summaries)
      block = []
      for p in parameters.PARAMETER_NAMES:
        row = {'source': source, 'observable': o, 'parameter': p, 'method': r['method'][p][o]}
        row.update({s: r['combined'][p][o][s] for s in shown})
        block.append(row)
      key = lambda row: -abs(row['overall']) if np.isfinite(row.get('overall', np.nan)) else 0
      rows += sorted(block, key=key)
  return rows


def _agreement_rows(results, observables, summaries) -> list[dict[str, Any]]:
  rows = []
  for row in study.agreement_rows(results, observables, summaries):
    o, s = row['observable'], row['summary']
    vals = _finite(r['combined'][p][o][s] for r in results.values()
                   for p in parameters.PARAMETER_NAMES)
    if vals and any(v != 0 for v in vals):        # a ranking of zeros says nothing
      rows.append(row)
  return rows


def reported_observables(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
  """The observables the study computed, smooth ones first."""
  first = next(iter(results.values()))['fd'][parameters.PARAMETER_NAMES[0]]
  return [o for o in study.SMOOTH_OBSERVABLES + study.DISCRETE_OBSERVABLES if o in first]


def charted_observables(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
  """The observables with a bar chart: those with a nonzero elasticity somewhere."""
  return [o for o in reported_observables(results) if not all_zero(results, o)]


def figure_name(observable: str) -> str:
  return f'sensitivity_{observable}.png'


def build_sections(results: Mapping[str, Mapping[str, Any]], settings: Mapping[str, Any],
                   figure_dir: str | None = None) -> list[report.Section]:
  """HTML sections of the sensitivity report (titles are what the tests look for); with
  `figure_dir`, each bar chart is also written there as `figure_name(observable)` at
  `figures.DPI` (the page embeds it at 95 dpi)."""
  summaries = sensitivity.SUMMARY_KEYS
  observables = reported_observables(results)
  charted = charted_observables(results)
  zero = [o for o in observables if o not in charted]
  missing_stages = [s for s in summaries
                    if s not in {m for o in observables
                                 for m in shown_summaries(results, o, summaries)}]
  notes = []
  if missing_stages:
    notes.append(f'No frames in the stage(s) {", ".join(missing_stages)} at this point (the '
                 f'{settings.get("protocol", "")} protocol did not reach them within the run): '
                 'they are left out of the charts and tables.')
  if zero:
    notes.append(f'Every elasticity of {", ".join(zero)} is zero (no step of the parameters '
                 'changes it here): no chart, no ranking.')
  intro = report.paragraph(
      'Elasticity E = d ln O / d ln P of each observable O to each physical parameter P, the '
      'exact limit of the paper\'s S = (dO/O0)(P/dP), computed with jax.jvp through the '
      'simulator (physics) and through the trained CNN-2 rollout (model). "overall" is O at the '
      'last frame; a stage entry is the mean of O over the frames of that charging stage. The '
      'number of lattice defects and the integer branch count have no derivative: their '
      'entries are finite differences (one defect; the paper\'s formula) and are marked.')
  sections = [('Conclusion', ''.join(report.paragraph(t) for t in conclusion(results, settings))
               + ''.join(report.paragraph(n, note=True) for n in notes))]
  sections.append(('Summary', intro + ''.join(report.paragraph(t)
                                              for t in check_paragraph(results))
                   + report.table_html(
      [{'source': k, 'one run (s)': r['timing']['one_run_s'],
        'exact, all parameters (s)': r['timing']['exact_all_params_s'],
        'finite differences (s)': r['timing']['fd_all_params_s'],
        'FD runs': r['timing']['fd_runs'],
        'max |exact - FD| / max(|exact|, |FD|, 0.01)': study.max_disagreement(r)}
       for k, r in results.items()])))
  for o in charted:
    series = {k: r['combined'] for k, r in results.items()}
    label = study.OBSERVABLE_LABELS.get(o, o)
    fig = plots.sensitivity_figure(series, o, shown_summaries(results, o, summaries),
                                   label=label)
    caption = ''
    if figure_dir is not None:
      name = figure_name(o)
      plots.save(fig, os.path.join(figure_dir, name), close=False)
      caption = report.paragraph(f'Also written as {name} ({figures.DPI} dpi).', note=True)
    # ~1100 px wide at 95 dpi: the page's width, so the 10-12 pt labels are not shrunk.
    sections.append((f'Bar charts: {label}', report.figure_html(
        fig, alt=f'elasticities of {o}', dpi=95) + caption))
  regime = settings.get('regime', {})
  if regime:
    sections.append(('Against theory: expected signs', report.paragraph(
        'The sign theory expects for d(dendrite length at 210 s) / d(parameter) and its source '
        '(dendrax.physics.parameters.EXPECTED_SIGNS; docs/physics.md) in the regime this run '
        f"charged in ({regime['name']}: " + ', '.join(
            f'{v:.0%} {k}' for k, v in regime['charge_fractions'].items())
        + ' of the charge), beside the overall elasticities; |E| < 0.05 counts as no effect.') + report.table_html(study.theory_rows(results, regime['name']))))
  sections.append(('Ranking table', report.paragraph(
      'Sorted by |overall elasticity| within each source and observable.', note=True)
                   + report.table_html(_ranking_rows(results, charted, summaries))))
  sections.append(('Agreement of the rankings (Spearman)', report.paragraph(
      "Spearman's rho between the physics and model |elasticities| over the seven parameters; "
      '1 = same order.') + report.table_html(_agreement_rows(
          results, charted, [s for s in summaries if s not in missing_stages]))))
  sections.append(('Finite differences against exact derivatives', report.table_html(
      study.fd_check_rows(results))))
  acc_rows = []
  for source, r in results.items():
    acc_rows.append({'source': source, 'method': 'exact, forward mode (jvp, 6 tangents)',
                     'seconds': r['timing']['exact_all_params_s'],
                     'max_abs_error': 0.0, 'simulations': 1})
    if r.get('reverse'):
      rv = r['reverse']
      acc_rows.append({'source': source,
                       'method': f"exact, reverse mode (vjp) of {rv['observable']} "
                                 f"{rv['summary']} only",
                       'seconds': rv['seconds'], 'max_abs_error': rv['max_abs_diff_to_forward'],
                       'simulations': 1})
    for a in r['accuracy']:
      acc_rows.append({'source': source, 'method': f"FD {a['scheme']} h={a['rel_step']:g}",
                       'seconds': a['seconds'], 'max_abs_error': a['max_abs_error'],
                       'simulations': a['simulations']})
  sections.append(('Cost at equal accuracy', report.paragraph(
      'Time for the six continuous elasticities, after compilation; "one run" in the summary is '
      'the unit. The exact pass is accurate to round-off; the error of each finite-difference '
      'row is its largest deviation from it over all smooth outputs, so a finite difference '
      'reaches at best the accuracy shown, at the cost shown. The reverse-mode row (if any) '
      'differentiates a single output and is compared with the forward-mode values.')
      + report.table_html(acc_rows)))
  sections.append(('Settings', report.settings_html(settings)))
  return sections


def write_report(out_dir: str, results: Mapping[str, Any], settings: Mapping[str, Any]
                 ) -> dict[str, Any]:
  """Writes sensitivity.html, sensitivities.csv, sensitivities.json and one
  sensitivity_<observable>.png per bar chart; returns the paths (the PNGs under 'figures')."""
  paths = {'html': os.path.join(out_dir, 'sensitivity.html'),
           'csv': os.path.join(out_dir, 'sensitivities.csv'),
           'json': os.path.join(out_dir, 'sensitivities.json')}
  report.write_html(paths['html'], 'dendrax sensitivity report',
                    build_sections(results, settings, figure_dir=out_dir))
  paths['figures'] = [os.path.join(out_dir, figure_name(o)) for o in charted_observables(results)]
  report.write_csv(paths['csv'], study.value_rows(results))
  report.write_json(paths['json'], {'settings': settings, 'results': results})
  return paths


def model_accuracy(surrogate, traj, cond, *, pixel_size_um: float,
                   electrode_height_um: float) -> dict[str, float]:
  """The model's rollout at the study point against the simulated run, scored by the shared
  evaluator (`dendrax.train.evaluation.score`; no interval: one trajectory).

  Args:
    surrogate: `evaluation.Surrogate`.
    traj: the simulated trajectory (`simulate.run`, on the host): xi [T, H, W], time_s, stage
      and the model's other input fields.
    cond: [T-1, K] the model's conditioning at the point (`output_fns.cond_sequence`).
    pixel_size_um, electrode_height_um: of the simulation (for the dendrite length).
  """
  from dendrax.train import evaluation as ev  # pylint: disable=g-import-not-at-top
  xi = np.asarray(traj.xi, np.float32)
  fields = np.stack([surrogate.normalizer.normalize_field(f, np.asarray(getattr(traj, f)))
                     for f in surrogate.config.data.input_fields], axis=-1)
  example = {'xi': xi, 'fields': fields.astype(np.float32), 'cond': np.asarray(cond, np.float32),
             'time_s': np.asarray(traj.time_s, np.float32), 'stage': np.asarray(traj.stage),
             'pixel_size_um': np.float32(pixel_size_um),
             'electrode_height_um': np.float32(electrode_height_um)}
  rollouts = ev.roll_out(surrogate.rollout, surrogate.params, [example], batch_size=1)
  scores = ev.score(rollouts, bootstrap_samples=0)
  r = rollouts[0]
  return {'true_final_length_um': float(r.true_len[0, -1]),
          'pred_final_length_um': float(r.pred_len[0, -1]),
          'xi_vrmse': ev.value(scores, 'xi_vrmse'),
          'length_mae_um': ev.value(scores, 'length_mae_um')}
