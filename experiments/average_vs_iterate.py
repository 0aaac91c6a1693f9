r"""The moving average of the weights against the raw iterate, both from one training run.

  python -m experiments.average_vs_iterate --checkpoint W --out D
  python -m experiments.average_vs_iterate --checkpoint W --out D --physics_from F --fidelity

W trained with `train.ema_decay` > 0 and kept every validation checkpoint
(`--config.checkpoint.max_to_keep` at least the number of validations). The optimiser never sees
the average, so the raw iterate of W is the run without it, step for step. Scores the raw
weights of every kept step on validation with the loop's own validator, selects the step the
loop would have selected without the average (the same `eval.select_metric`, with its early
stopping replayed: `loop.replay_selection`), evaluates it on every rollout split as the loop
does, and reads the average's evaluation from W/metrics.json. W is opened read-only
(`loop.open_for_reading`): nothing in it is written.
`--fidelity` also runs the sensitivity-fidelity panel (`--config`, configs/fidelity.py) on both
sets of weights; `--physics_from F` reuses the simulator side of an earlier panel run F.
Writes D/average_vs_iterate.json: the validation score of both at every step, the selected steps,
where each run stopped, R / MSE / xi VRMSE / deposit IoU with their intervals per split, and the
fidelity scores.
"""

import dataclasses
import json
import os

from absl import app
from absl import flags
import jax
from ml_collections import config_flags

from experiments import common

_CONFIG = config_flags.DEFINE_config_file(
    'config', os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           'configs', 'fidelity.py'), 'Fidelity panel settings.',
    lock_config=True)
_CHECKPOINT = flags.DEFINE_string('checkpoint', None, 'Workdir of a run with train.ema_decay > 0.')
_OUT = flags.DEFINE_string('out', None, 'Output folder.')
_FIDELITY = flags.DEFINE_bool('fidelity', False, 'Also run the fidelity panel on both weights.')
_PHYSICS_FROM = flags.DEFINE_string('physics_from', None, 'Fidelity output folder whose '
                                    'simulator side is reused (checked per point).')
flags.mark_flags_as_required(['checkpoint', 'out'])

METRICS = ('length_r', 'length_mse_um2', 'xi_vrmse', 'deposit_iou')


def split_summary(results):
  """{split: {metric: [value, ci_low, ci_high]}} of `evaluation.evaluate` results."""
  from dendrax.train import evaluation  # pylint: disable=g-import-not-at-top
  out = {}
  for split, r in results.items():
    marks = r['marks'][evaluation.ALL]
    out[split] = {k: [marks[k]['value'], marks[k].get('ci_low'), marks[k].get('ci_high')]
                  for k in METRICS}
  return out


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  common.quiet()
  from dendrax.train import checkpointing  # pylint: disable=g-import-not-at-top
  from dendrax.train import loop  # pylint: disable=g-import-not-at-top
  from dendrax.train import setup  # pylint: disable=g-import-not-at-top
  workdir, out = _CHECKPOINT.value, _OUT.value
  with open(os.path.join(workdir, 'config.json')) as f:      # read before JAX starts
    batch_size = json.load(f)['train']['batch_size']
  # launch.py's host devices: the run opens as it trained.
  jax.config.update('jax_num_cpu_devices', setup.host_device_count(batch_size))
  _, config, _ = checkpointing.read_metadata(workdir, 'latest')
  if not config.train.get('ema_decay', 0.0):
    raise app.UsageError(f'--checkpoint {workdir}: train.ema_decay is 0 (no moving average)')
  with open(os.path.join(workdir, 'metrics.json')) as f:
    average_metrics = json.load(f)
  trained = average_metrics['trained_steps']
  every = config.eval.every_steps
  validated = sorted({*range(every, trained + 1, every), trained})
  reader = checkpointing.open_manager(workdir, 1, read_only=True)
  kept = sorted(int(s) for s in reader.all_steps())
  reader.close()
  if kept != validated:
    raise app.UsageError(
        f'--checkpoint {workdir} keeps steps {kept}, not every validation step {validated}: '
        'train it with --config.checkpoint.max_to_keep at least '
        f'{len(validated)} to compare the iterate')
  data = loop.load_data(config)
  run, state = loop.open_for_reading(workdir)    # writes nothing into the run's folder
  validate = loop.make_validator(run, data)
  metric = config.eval.select_metric
  rows, states = [], {}
  for step in kept:
    states[step] = checkpointing.restore(run.manager, state, step)[0]
    average = dict(run.manager.metrics(step) or {})
    rows.append({'step': step, 'iterate': validate(states[step].params)[metric],
                 'average': average.get(metric)})
    print(f"step {step}: validation {metric} iterate {rows[-1]['iterate']:.4g}, "
          f"average {rows[-1]['average']:.4g}", flush=True)
  # The run without the average: the same validations, its own early stopping and selection.
  iterate_step, iterate_trained, iterate_stopped = loop.replay_selection(
      config, {r['step']: r['iterate'] for r in rows})
  iterate = states[iterate_step]
  results = loop.evaluate_params(config, iterate.params, run.normalizer, data.sources,
                                 run.model)
  report = {'checkpoint': workdir, 'ema_decay': config.train.ema_decay, 'select_metric': metric,
            'validation_by_step': rows, 'selected_step': {
                'iterate': iterate_step, 'average': average_metrics['checkpoint_step']},
            # Where each run stopped; a run with the average that stopped early also cut short
            # the iterate's validations, so the iterate's run is compared up to there only.
            'trained_steps': {'iterate': iterate_trained, 'average': trained},
            'stopped_early': {'iterate': iterate_stopped,
                              'average': average_metrics['stopped_early']},
            'iterate': split_summary(results),
            'average': split_summary(average_metrics['splits'])}
  if _FIDELITY.value:
    report['fidelity'] = fidelity_scores(config, workdir, iterate, iterate_step, out)
  os.makedirs(out, exist_ok=True)
  from dendrax.analysis import report as report_lib  # pylint: disable=g-import-not-at-top
  report_lib.write_json(os.path.join(out, 'average_vs_iterate.json'), report)
  for split in report['iterate']:
    a, i = report['average'][split], report['iterate'][split]
    print(f"{split:10s} R average {a['length_r'][0]:.3f} iterate {i['length_r'][0]:.3f}; "
          f"MSE average {a['length_mse_um2'][0]:.3f} iterate {i['length_mse_um2'][0]:.3f} um^2")


def fidelity_scores(config, workdir, iterate, iterate_step, out):
  """Fidelity scores of the average and of the iterate on the panel of `--config`."""
  jax.config.update('jax_enable_x64', True)
  from dendrax.analysis import evaluation as an_eval  # pylint: disable=g-import-not-at-top
  from dendrax.analysis import fidelity  # pylint: disable=g-import-not-at-top
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  c = _CONFIG.value
  average = an_eval.load_surrogate(workdir, 'CNN-2')
  weights = {'average': average,
             'iterate': dataclasses.replace(average, params=iterate.params, step=iterate_step)}
  base = pipeline.load_builder(config.data.name, config.data.get('data_dir')
                               ).simulation_settings()
  points = fidelity.panel(c.num_points, c.panel_seed, protocols=tuple(c.protocols),
                          chemistries=tuple(c.chemistries))
  configs = fidelity.group_configs(points, base, float64=c.float64,
                                   overrides=common.parse_overrides(c.sim_overrides))
  physics_from, scores = _PHYSICS_FROM.value, {}
  for name, surrogate in weights.items():
    folder = os.path.join(out, f'fidelity_{name}')
    results = fidelity.run_panel(points, configs, folder, noise_seed=c.noise_seed,
                                 float64=c.float64, surrogate=surrogate,
                                 physics_from=physics_from)
    summary = fidelity.summarize(results, relevant=c.relevant, spurious=c.spurious,
                                 targets=c.targets.to_dict(),
                                 bootstrap_samples=c.bootstrap_samples)
    settings = {**c.to_dict(), 'checkpoint': workdir, 'weights': name,
                'checkpoint_step': surrogate.step, 'dataset': config.data.name,
                'simulation_per_group': {f'{k[0]}/{k[1]}': v.to_dict()
                                         for k, v in configs.items()}}
    fidelity.write_report(folder, summary, settings)
    physics_from = physics_from or folder     # the second reuses the first's simulator side
    s = summary['scores']['all_summaries']
    scores[name] = {k: s[k] for k in ('sign_agreement', 'median_abs_diff', 'spurious_rate',
                                      'response_slope', 'entries')}
    print(f'fidelity, {name}: ' + ', '.join(f'{k} {v:.3f}' for k, v in scores[name].items()),
          flush=True)
  return scores


if __name__ == '__main__':
  app.run(main)
