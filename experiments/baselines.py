r"""Random forest and SVM against CNN-1 and CNN-2 on the same splits, and the simulator's cost.

  python -m experiments.baselines --checkpoint workdirs/cnn2 --cnn1_checkpoint workdirs/cnn1 \
      --out reports/baselines
  python -m experiments.baselines --out reports/baselines --config.dataset=dendrite_sim/small

Settings: `configs/baselines.py` (the default `--config`), overridable with `--config.key=value`;
flags are only for paths. RF and SVM (scikit-learn) learn the dendrite length at each 30 s mark
from the seven physical parameters (+ chemistry, time) on the train split; the CNNs roll out from
the first frame. All are scored by `dendrax.train.evaluation.score` on the same trajectories
against the same lengths (`dendrite_length_um` of the simulated frames): R, R^2, MSE with 95 %
bootstrap intervals over trajectories, and seconds per trajectory. The simulator row gives its
own cost of producing those lengths (timed on a few simulated trajectories of the last split;
none for VASP or literature data).

Writes `<out>/baselines.{md,csv,json}`.
"""

import os

from absl import app
from absl import flags
from ml_collections import config_flags

from experiments import common

_CONFIG = config_flags.DEFINE_config_file(
    'config', os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           'configs', 'baselines.py'), 'Baseline settings.', lock_config=True)
_CHECKPOINT = flags.DEFINE_string('checkpoint', None, 'CNN-2 (or concat) workdir (optional).')
_CNN1 = flags.DEFINE_string('cnn1_checkpoint', None, 'CNN-1 workdir (optional).')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data dir.')
_OUT = flags.DEFINE_string('out', None, 'Output folder.')
flags.mark_flags_as_required(['out'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  common.quiet()
  from dendrax.analysis import baselines  # pylint: disable=g-import-not-at-top
  from dendrax.analysis import comparison  # pylint: disable=g-import-not-at-top
  from dendrax.analysis import evaluation  # pylint: disable=g-import-not-at-top
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  c = _CONFIG.value
  surrogates = evaluation.load_pair(_CHECKPOINT.value, _CNN1.value)
  dataset = c.dataset or (surrogates[0].config.data.name if surrogates else None)
  if not dataset:
    raise app.UsageError('give --config.dataset or a --checkpoint')
  splits = ['train'] + [s for s in c.splits if s != 'train']
  dataset, sources, missing = common.load_splits(surrogates, c.dataset, splits, _DATA_DIR.value,
                                                 build=c.build_data)
  if missing:
    print(f'{dataset} has no split(s) {", ".join(missing)}: skipped')
  hparams = {'random_forest': c.random_forest.to_dict(), 'svm': c.svm.to_dict()}
  result = comparison.compare(surrogates, sources, hparams=hparams,
                              max_trajectories=c.max_trajectories, batch_size=c.batch_size,
                              bootstrap_samples=c.bootstrap_samples, seed=c.bootstrap_seed)
  sim = None
  # Only the simulated part of a dataset (or mix) has a simulator cost.
  simulated = [n for n in pipeline.dataset_names(dataset) if n.split('/')[0] == 'dendrite_sim']
  if c.sim_trajectories > 0 and not simulated:
    print(f'Simulator cost skipped: {dataset} holds no dendrite_sim data')
  elif c.sim_trajectories > 0:
    builder = pipeline.load_builder(simulated[0], _DATA_DIR.value)
    # The time step the builder used for each trajectory (one stable dt per group).
    dt_by_id = {int(i): ch.dt_s for ch in builder.chunks() for i in ch.trajectory_ids}
    last = list(sources)[-1]
    sim = baselines.simulator_cost(sources[last], builder.simulation_settings(),
                                   num_trajectories=c.sim_trajectories, dt_by_id=dt_by_id)
    result['rows'].append({'model': 'simulator', 'split': 'reference', 'R': '1', 'R2': '1',
                           'MSE_um2': '0', 'trajectories': sim['num_trajectories'],
                           's_per_trajectory': sim['s_per_trajectory']})
  paths = comparison.write_comparison(
      _OUT.value, result, {'dataset': dataset, 'splits': list(sources), 'skipped_splits': missing,
                           'config': c.to_dict(), 'simulator_cost': sim,
                           'checkpoints': {s.name: f'{s.workdir} (step {s.step})'
                                           for s in surrogates}},
      title=f'Baselines on {dataset}')
  print(open(paths['md']).read())


if __name__ == '__main__':
  app.run(main)
