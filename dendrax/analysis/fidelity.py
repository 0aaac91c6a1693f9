"""Sensitivity fidelity: does the surrogate's parameter response match the simulator's?

Over a held-out panel of parameter points (a scrambled-Sobol design with its own seed, spread
over the training box and the charging protocols) both sources give exact elasticities
d ln L / d ln P of the dendrite length L (at the last frame, 210 s, and its mean per charging
stage) for the six continuous parameters, by forward mode (`sensitivity.elasticities`):

  * the simulator, differentiated through the rollout (implicit derivatives of its solves);
  * the surrogate, rolled out from the simulated first frame, differentiated through its
    conditioning (`output_fns.surrogate_fn`).

Scores, over every (point, parameter, summary) entry where both are finite:

  * sign agreement where the physics is not negligible (|S_phys| >= `relevant`);
  * the median |S_surr - S_phys|;
  * the spurious rate: entries with |S_surr| >= `spurious` where |S_phys| < `relevant`;
  * the response slope: S_surr regressed on S_phys through 0 where |S_phys| >= `relevant` (a
    flat surrogate scores well on the two above while its slope is ~0);
  * Spearman's rank correlation, pooled and per point (over the six parameters);

each pooled score with a 95 % bootstrap interval over the panel's points (`scores`).

The simulator alone also answers a physics question: does each parameter's measured sign agree
with theory's (`parameters.EXPECTED_SIGNS`, which depends on the charging regime each point ran
in, `protocols.charging_regime`: current held, CV stage, or cutoff beyond the limiting current),
and does each parameter act
anywhere in the box (max |S| >= `relevant`, i.e. it is not cosmetic)?
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import stats

from dendrax.data import sampling
from dendrax.physics import parameters
from dendrax.physics import protocols

OBSERVABLE = 'length_um'
SUMMARIES: tuple[str, ...] = ('overall',) + parameters.STAGES[:3]   # 210 s, trickle, CC, CV
PANEL_PROTOCOLS: tuple[str, ...] = ('constant_current', 'constant_voltage', 'three_stage')


@dataclasses.dataclass(frozen=True)
class Point:
  """One panel point: its index, the seven parameters, chemistry and protocol (names)."""
  index: int
  params: tuple[float, ...]
  chemistry: str
  protocol: str

  def to_dict(self) -> dict[str, Any]:
    return {'index': self.index, 'chemistry': self.chemistry, 'protocol': self.protocol,
            'parameters': dict(zip(parameters.PARAMETER_NAMES, self.params))}


def panel(num_points: int, seed: int, *, protocols: Sequence[str] = PANEL_PROTOCOLS,
          chemistries: Sequence[str] = ('Li',)) -> list[Point]:
  """`num_points` scrambled-Sobol points over the training box, protocols and chemistries
  dealt out in equal shares. `seed` must differ from the datasets' (0, and 1 for ood) for the
  panel to be held out; with continuous parameters a repeat is impossible anyway."""
  if num_points < 1:
    raise ValueError(f'num_points must be >= 1; got {num_points}')
  for name, given, known in (('protocols', protocols, parameters.PROTOCOLS),
                             ('chemistries', chemistries, parameters.CHEMISTRIES)):
    bad = [x for x in given if x not in known]
    if bad or not given:
      raise ValueError(f'fidelity {name} {list(given)}: unknown {bad}; choose from {known}')
  proto_w = [float(p in protocols) / len(protocols) for p in parameters.PROTOCOLS]
  chem_w = [float(c in chemistries) / len(chemistries) for c in parameters.CHEMISTRIES]
  design = sampling.sobol_design(num_points, seed, chemistry_weights=chem_w,
                                 protocol_weights=proto_w)
  return [Point(i, tuple(float(v) for v in design.params[i]),
                parameters.CHEMISTRIES[int(design.chemistry[i])],
                parameters.PROTOCOLS[int(design.protocol[i])]) for i in range(num_points)]


def entries(points: Sequence[Mapping[str, Any]], summaries: Sequence[str] = SUMMARIES
            ) -> list[dict[str, Any]]:
  """Flat rows (point, protocol, parameter, summary, physics, surrogate) from per-point results
  {'point': Point.to_dict(), 'physics': {param: {summary: S}}, 'surrogate': same or absent}."""
  rows = []
  for r in points:
    for name in parameters.CONTINUOUS_PARAMETERS:
      for s in summaries:
        phys = r['physics'][name].get(s, math.nan)
        surr = r.get('surrogate', {}).get(name, {}).get(s, math.nan)
        rows.append({'point': r['point']['index'], 'protocol': r['point']['protocol'],
                     'chemistry': r['point']['chemistry'],
                     'regime': r.get('regime', {}).get('name', 'unknown'),
                     'parameter': name, 'summary': s,
                     'physics': _f(phys), 'surrogate': _f(surr)})
  return rows


def _f(x) -> float:
  x = float(x) if x is not None else math.nan
  return x if math.isfinite(x) else math.nan


HEADLINE = ('sign_agreement', 'median_abs_diff', 'response_slope', 'spurious_rate',
            'spearman_pooled')


def _headline(p: np.ndarray, m: np.ndarray, relevant: float, spurious: float
              ) -> dict[str, float]:
  """The `HEADLINE` scores of physics p and surrogate m elasticities (finite, paired)."""
  big = np.abs(p) >= relevant
  return {
      'sign_agreement': float(np.mean(np.sign(m[big]) == np.sign(p[big]))) if big.any()
                        else math.nan,
      'median_abs_diff': float(np.median(np.abs(m - p))) if p.size else math.nan,
      # Least-squares slope of S_surr on S_phys through 0 where the physics acts: 1 is the
      # right size; a flat surrogate (slope ~0) meets the median and spurious targets alone.
      'response_slope': float(p[big] @ m[big] / (p[big] @ p[big])) if big.any() else math.nan,
      'spurious_rate': float(np.mean(~big & (np.abs(m) >= spurious))) if p.size else math.nan,
      'spearman_pooled': _spearman(p, m)}


def scores(rows: Sequence[Mapping[str, Any]], *, relevant: float, spurious: float,
           bootstrap_samples: int = 1000, seed: int = 0) -> dict[str, Any]:
  """Agreement of surrogate and simulator elasticities over `rows` (both finite).

  Each `HEADLINE` score has a 95 % percentile interval `<name>_ci` = [low, high] over
  `bootstrap_samples` resamples of the panel's points with replacement (a point's entries stay
  together: they share one simulation); [NaN, NaN] with 0 samples or a single point.
  """
  p = np.array([r['physics'] for r in rows], np.float64)
  m = np.array([r['surrogate'] for r in rows], np.float64)
  ok = np.isfinite(p) & np.isfinite(m)
  p, m = p[ok], m[ok]
  out = {'entries': int(ok.sum()), 'relevant_entries': int(np.sum(np.abs(p) >= relevant)),
         **_headline(p, m, relevant, spurious)}
  point_ids = np.array([r['point'] for r in rows])[ok]
  members = [np.flatnonzero(point_ids == i) for i in np.unique(point_ids)]
  draws = []
  if bootstrap_samples > 0 and len(members) > 1:
    rng = np.random.default_rng(seed)
    for _ in range(bootstrap_samples):
      idx = np.concatenate([members[j] for j in rng.integers(len(members), size=len(members))])
      draws.append(_headline(p[idx], m[idx], relevant, spurious))
  for k in HEADLINE:
    vals = np.array([d[k] for d in draws], np.float64)
    vals = vals[np.isfinite(vals)]
    out[f'{k}_ci'] = ([float(v) for v in np.percentile(vals, [2.5, 97.5])] if vals.size
                      else [math.nan, math.nan])
  per_point = {}
  for r in (r for r, keep in zip(rows, ok) if keep):
    per_point.setdefault((r['point'], r['summary']), []).append((r['physics'], r['surrogate']))
  rhos = [_spearman(*np.array(v).T) for v in per_point.values() if len(v) >= 3]
  rhos = [x for x in rhos if math.isfinite(x)]
  out['spearman_per_point_median'] = float(np.median(rhos)) if rhos else math.nan
  return out


def _spearman(a, b) -> float:
  a, b = np.asarray(a), np.asarray(b)
  if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
    return math.nan
  return float(stats.spearmanr(a, b).statistic)


def theory_signs(rows: Sequence[Mapping[str, Any]], *, relevant: float,
                 summary: str = 'overall') -> list[dict[str, Any]]:
  """Per parameter and charging regime: the simulator's elasticity of L(210 s) over the panel
  against theory's sign for that regime. `agree_fraction` counts the points with
  |S| >= relevant whose sign is theory's (an expected 0 agrees with none; None: theory gives no
  single sign, so no agreement is counted); a last row per
  parameter, regime 'any', says whether it acts anywhere on the panel (max |S| >= relevant)."""
  out = []
  for name in parameters.CONTINUOUS_PARAMETERS:
    for regime in parameters.REGIMES + ('any',):
      picked = [r for r in rows if r['parameter'] == name and r['summary'] == summary
                and (regime == 'any' or r['regime'] == regime)]
      s = np.array([r['physics'] for r in picked], np.float64)
      keep = np.isfinite(s)
      s = s[keep]
      if regime != 'any' and not s.size:
        continue
      sign, why = parameters.EXPECTED_SIGNS.get(regime, {}).get(name, (None, ''))
      big = s[np.abs(s) >= relevant]
      out.append({'parameter': name, 'regime': regime, 'expected_sign': sign,
                  'protocols': ' '.join(sorted({r['protocol'] for r, k in zip(picked, keep)
                                                if k})),
                  'points': int(s.size), 'relevant_points': int(big.size),
                  'agree_fraction': (float(np.mean(np.sign(big) == sign))
                                     if big.size and sign is not None else math.nan),
                  'median': float(np.median(s)) if s.size else math.nan,
                  'min': float(s.min()) if s.size else math.nan,
                  'max': float(s.max()) if s.size else math.nan,
                  'max_abs': float(np.abs(s).max()) if s.size else math.nan,
                  'acts': bool(s.size and np.abs(s).max() >= relevant), 'source': why})
  return out


def by_group(rows: Sequence[Mapping[str, Any]], key: str, *, relevant: float,
             spurious: float, bootstrap_samples: int = 1000) -> dict[str, dict[str, Any]]:
  """`scores` per value of `key` ('parameter', 'protocol', 'summary')."""
  groups = sorted({r[key] for r in rows})
  return {g: scores([r for r in rows if r[key] == g], relevant=relevant, spurious=spurious,
                    bootstrap_samples=bootstrap_samples) for g in groups}


def targets_met(s: Mapping[str, Any], targets: Mapping[str, float]) -> dict[str, bool]:
  """Issue 11's targets: sign agreement >= , median |dS| <= , spurious rate <= ."""
  return {'sign_agreement': s['sign_agreement'] >= targets['sign_agreement'],
          'median_abs_diff': s['median_abs_diff'] <= targets['median_abs_diff'],
          'spurious_rate': s['spurious_rate'] <= targets['spurious_rate']}


def group_configs(points: Sequence[Point], base: Mapping[str, Any], *, float64: bool,
                  overrides: Mapping[str, Any]) -> dict[tuple[str, str], Any]:
  """One `SimulationConfig` per (chemistry, protocol) of the panel: the dataset's simulation with
  both solves at `MIN_SOLVER_ITERATIONS_FOR_DERIVATIVES` or more, and, as the builder does, one
  dt per group that is within the accuracy bound for every point of the group (one compile)."""
  from dendrax.analysis import sensitivity_study  # pylint: disable=g-import-not-at-top
  from dendrax.physics import simulate  # pylint: disable=g-import-not-at-top
  out = {}
  for group in sorted({(p.chemistry, p.protocol) for p in points}):
    members = [p for p in points if (p.chemistry, p.protocol) == group]
    settings = sensitivity_study.StudySettings(
        params=members[0].params, chemistry=group[0], protocol=group[1], float64=float64,
        sim_overrides=dict(overrides))
    config = sensitivity_study.simulation_config(settings, base)
    dt = simulate.stable_time_step(np.array([p.params for p in members]), config)
    out[group] = dataclasses.replace(config, dt_s=dt)
  return out


def run_point(point: Point, sim_config: Any, *, noise_seed: int, float64: bool,
              surrogate: Any = None, physics: Mapping[str, Any] | None = None
              ) -> dict[str, Any]:
  """Exact elasticities of L (last frame and per stage) at one point: simulator and, given one,
  surrogate. Returns {'point', 'physics', 'surrogate'?, 'length_um', 'seconds', 'regime'}.

  `physics`: this point's result from an earlier run on the same panel and simulation (e.g. of
  another checkpoint); its simulator elasticities are reused instead of differentiated again
  (the forward run that starts the surrogate's rollout is still made)."""
  import time  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  from dendrax.analysis import output_fns  # pylint: disable=g-import-not-at-top
  from dendrax.analysis import sensitivity  # pylint: disable=g-import-not-at-top
  from dendrax.physics import simulate  # pylint: disable=g-import-not-at-top
  dtype = np.float64 if float64 else np.float32
  params = parameters.PhysicalParams(*(np.asarray(v, dtype) for v in point.params))
  simulate.validate(params, sim_config)
  key = jax.random.key(noise_seed)
  keys = (OBSERVABLE,)
  # One forward run: its frames start the surrogate's rollout and give the simulated lengths.
  traj = jax.device_get(simulate.run(params, sim_config, key))
  lengths = {'physics': output_fns.summarize(traj.observables, traj.stage, keys)}
  fns = {'physics': output_fns.simulator_fn(simulate.run, sim_config, key, keys)}
  if surrogate is not None:
    fns['surrogate'] = output_fns.surrogate_fn(surrogate, traj, sim_config,
                                               chemistry=point.chemistry, keys=keys)
    lengths['surrogate'] = fns['surrogate'](params)
  out = {'point': point.to_dict(), 'seconds': {}, 'length_um': {},
         'regime': protocols.charging_regime(traj.stage, traj.voltage_v,
                                             traj.observables['charge_c_per_m2'], sim_config)}
  if physics is not None:
    del fns['physics']
    out['physics'] = physics['physics']
    out['seconds']['physics'] = physics['seconds']['physics']
    out['length_um']['physics'] = physics['length_um']['physics']
  for name, fn in fns.items():
    t0 = time.perf_counter()
    el = jax.device_get(jax.block_until_ready(sensitivity.elasticities(fn, params)))
    out['seconds'][name] = time.perf_counter() - t0
    out[name] = {p: {s: _f(v) for s, v in el[p][OBSERVABLE].items()} for p in el}
    out['length_um'][name] = {s: _f(v) for s, v in
                              jax.device_get(lengths[name])[OBSERVABLE].items()}
  return out


def point_path(out_dir: str, index: int) -> str:
  return f'{out_dir}/points/point_{index:03d}.json'


def run_panel(points: Sequence[Point], configs: Mapping[tuple[str, str], Any], out_dir: str, *,
              noise_seed: int, float64: bool, surrogate: Any = None, log=print,
              physics_from: str | None = None) -> list[dict[str, Any]]:
  """`run_point` for every point, each result written atomically to `point_path` as it finishes;
  a re-run reads the finished points instead (it checks they are the same points).

  `physics_from`: the output folder of an earlier run on the same panel, simulation and noise
  seed, whose simulator elasticities are reused (checked point by point and by settings)."""
  import json  # pylint: disable=g-import-not-at-top
  import os  # pylint: disable=g-import-not-at-top
  from dendrax.analysis import report  # pylint: disable=g-import-not-at-top
  results = []
  for p in points:
    path = point_path(out_dir, p.index)
    if os.path.exists(path):
      with open(path) as f:
        r = json.load(f)
      if r['point'] != report.to_jsonable(p.to_dict()) or (
          (surrogate is not None) != ('surrogate' in r)):
        raise ValueError(f'{path} holds another panel point or source set than this run '
                         f'(point {p.index}: {p.to_dict()}); use a new --out or delete it')
      results.append(r)
      continue
    physics = None
    if physics_from:
      physics = _reusable_physics(physics_from, p, configs[(p.chemistry, p.protocol)],
                                  noise_seed, float64)
    r = run_point(p, configs[(p.chemistry, p.protocol)], noise_seed=noise_seed,
                  float64=float64, surrogate=surrogate, physics=physics)
    report.write_json(path, r)
    results.append(json.loads(json.dumps(report.to_jsonable(r))))
    log(f'point {p.index + 1}/{len(points)} ({p.chemistry}, {p.protocol}): L(210 s) '
        f'{r["length_um"]["physics"]["overall"]:.3f} um; '
        + ', '.join(f'{k} {v:.1f} s' for k, v in r['seconds'].items()))
  return results


def _reusable_physics(folder: str, point: Point, sim_config: Any, noise_seed: int,
                      float64: bool) -> dict[str, Any]:
  """The point's result in an earlier run's `folder`, after checking that the run used the same
  point, simulation, noise seed and precision (ValueError naming the file otherwise)."""
  import json  # pylint: disable=g-import-not-at-top
  from dendrax.analysis import report  # pylint: disable=g-import-not-at-top
  path, settings_path = point_path(folder, point.index), f'{folder}/fidelity.json'
  for f in (path, settings_path):
    if not os.path.exists(f):
      raise ValueError(f'physics_from: {f} does not exist (run the simulator side there first)')
  with open(path) as f:
    r = json.load(f)
  with open(settings_path) as f:
    settings = json.load(f)['settings']
  group = settings['simulation_per_group'].get(f'{point.chemistry}/{point.protocol}')
  same = (r['point'] == report.to_jsonable(point.to_dict())
          and group == report.to_jsonable(sim_config.to_dict())
          and settings['noise_seed'] == noise_seed and settings['float64'] == float64)
  if not same:
    raise ValueError(f'physics_from: {path} was computed for another point, simulation, noise '
                     f'seed or precision than point {point.index} here; it cannot be reused')
  return r


def summarize(results: Sequence[Mapping[str, Any]], *, relevant: float, spurious: float,
              targets: Mapping[str, float], bootstrap_samples: int = 1000) -> dict[str, Any]:
  """Everything `fidelity.json` holds besides the settings: entries, scores (each with a
  `bootstrap_samples` interval), theory signs."""
  rows = entries(results)
  out = {'num_points': len(results), 'entries': rows,
         'theory_signs': theory_signs(rows, relevant=relevant),
         'seconds_per_point': {
             k: float(np.median([r['seconds'][k] for r in results]))
             for k in results[0]['seconds']} if results else {}}
  if any(math.isfinite(r['surrogate']) for r in rows):
    overall = [r for r in rows if r['summary'] == 'overall']
    kw = dict(relevant=relevant, spurious=spurious, bootstrap_samples=bootstrap_samples)
    out['scores'] = {'overall_210s': scores(overall, **kw), 'all_summaries': scores(rows, **kw)}
    out['targets'] = dict(targets)
    out['targets_met'] = targets_met(out['scores']['all_summaries'], targets)
    out['by_parameter'] = by_group(rows, 'parameter', **kw)
    out['by_protocol'] = by_group(rows, 'protocol', **kw)
    out['by_summary'] = by_group(rows, 'summary', **kw)
  return out


def write_report(out_dir: str, summary: Mapping[str, Any], settings: Mapping[str, Any]
                 ) -> dict[str, str]:
  """`fidelity.json`, `fidelity.html` (self-contained) and `fidelity_entries.csv`."""
  from dendrax.analysis import plots  # pylint: disable=g-import-not-at-top
  from dendrax.analysis import report  # pylint: disable=g-import-not-at-top
  paths = {'json': f'{out_dir}/fidelity.json', 'html': f'{out_dir}/fidelity.html',
           'csv': f'{out_dir}/fidelity_entries.csv'}
  report.write_json(paths['json'], {'settings': settings, **summary})
  report.write_csv(paths['csv'], summary['entries'])
  sections = []
  rel = settings['relevant']
  if 'scores' in summary:
    s, t, met = summary['scores'], summary['targets'], summary['targets_met']
    lines = [f"{k}: {s['all_summaries'][k]:.3g} (target {'>=' if k == 'sign_agreement' else '<='}"
             f" {t[k]}: {'met' if met[k] else 'NOT met'})" for k in t]
    sections.append(('Conclusion', report.paragraph(
        f"Surrogate against simulator, exact elasticities of dendrite length over "
        f"{summary['num_points']} held-out points x 6 continuous parameters x (210 s and the "
        f"mean over each charging stage): " + '; '.join(lines) + '. Sign agreement counts '
        f'entries with |S_phys| >= {rel}; spurious: |S_surr| >= {settings["spurious"]} where '
        f'|S_phys| < {rel}, as a fraction of all entries. Response slope (S_surr on S_phys '
        f'through 0 where the physics acts; 1 is the right size, ~0 a flat surrogate that meets '
        f"the median and spurious targets by responding to nothing): "
        f"{s['all_summaries']['response_slope']:.3g}.")))
    sections.append(('Scores', report.table_html(
        [{'entries': k, **v} for k, v in s.items()])))
    sections.append(('Parity', report.figure_html(
        plots.fidelity_parity_figure(summary['entries'], relevant=rel),
        alt='surrogate vs simulator elasticities')))
    for key in ('by_parameter', 'by_protocol', 'by_summary'):
      sections.append((key.replace('_', ' '), report.table_html(
          [{key[3:]: k, **v} for k, v in summary[key].items()])))
  sections.append(("The simulator against theory's signs (length at 210 s)", report.paragraph(
      "Theory's sign (dendrax.physics.parameters.EXPECTED_SIGNS) depends on the regime that "
      "passed most of a point's charge: galvanostatic (the protocol's current held), "
      "potentiostatic (a CV stage) or transport_limited (a galvanostatic stage at its voltage "
      f"cutoff, beyond the limiting current). agree_fraction counts the points with |S| >= {rel}; "
      f"'acts' (regime 'any') says whether |S| >= {rel} anywhere on the panel (the parameter is "
      "not cosmetic).")
      + report.table_html(summary['theory_signs'],
                          ['parameter', 'regime', 'expected_sign', 'protocols', 'points',
                           'relevant_points', 'agree_fraction', 'median', 'min', 'max', 'acts',
                           'source'])))
  sections.append(('Settings', report.settings_html(settings)))
  report.write_html(paths['html'], 'dendrax sensitivity fidelity', sections)
  return paths
