r"""Random forest and SVM against CNN-1 and CNN-2 on the same splits, and the simulator's cost.

  python -m experiments.baselines --checkpoint workdirs/cnn2 --cnn1_checkpoint workdirs/cnn1 \
      --out reports/baselines
  python -m experiments.baselines --dataset dendrite_sim/small --out reports/baselines  # RF/SVM only

RF and SVM (scikit-learn) learn the dendrite length at each 30 s mark from the seven physical
parameters (+ chemistry, time) on the train split; the CNNs roll out from the first frame. All
are scored on the same trajectories against the same lengths (`dendrite_length_um` of the
simulated frames): R, R^2, MSE, seconds per trajectory. The simulator row gives its own cost of
producing those lengths (timed on a few simulated trajectories of the last split; none for
VASP or literature data).

Writes `<out>/baselines.{md,csv,json}`.
"""

from absl import app
from absl import flags

from dendrax.analysis import baselines
from dendrax.analysis import checkpoint_data
from dendrax.analysis import comparison
from dendrax.analysis import evaluation
from dendrax.data import pipeline

_CHECKPOINT = flags.DEFINE_string('checkpoint', None, 'CNN-2 (or concat) workdir (optional).')
_CNN1 = flags.DEFINE_string('cnn1_checkpoint', None, 'CNN-1 workdir (optional).')
_DATASET = flags.DEFINE_string('dataset', None, "Dataset (default: the checkpoint's).")
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data dir.')
_OUT = flags.DEFINE_string('out', None, 'Output folder.')
_SPLITS = flags.DEFINE_list('splits', ['test', 'ood'], 'Splits to score on (besides train).')
_MAX = flags.DEFINE_integer('max_trajectories', 0, 'Per split; 0 = all.')
_BATCH = flags.DEFINE_integer('batch_size', 16, 'Trajectories per rollout call.')
_RF_TREES = flags.DEFINE_integer('rf_trees', 200, 'Random forest: number of trees.')
_RF_LEAF = flags.DEFINE_integer('rf_min_samples_leaf', 1, 'Random forest: min samples per leaf.')
_SVM_C = flags.DEFINE_float('svm_c', 100.0, 'SVM: regularisation C.')
_SVM_EPS = flags.DEFINE_float('svm_epsilon', 0.1, 'SVM: epsilon tube (um).')
_SIM_N = flags.DEFINE_integer('sim_trajectories', 2, 'Trajectories to time the simulator on '
                              '(0: skip).')
_BUILD = flags.DEFINE_bool('build_data', False, 'Build the dataset if no folder holds it.')
_SEED = flags.DEFINE_integer('seed', 0, 'Random forest seed.')
flags.mark_flags_as_required(['out'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  surrogates = evaluation.load_pair(_CHECKPOINT.value, _CNN1.value)
  dataset = _DATASET.value or (surrogates[0].config.data.name if surrogates else None)
  if dataset is None:
    raise app.UsageError('give --dataset or a --checkpoint')
  splits = ['train'] + [s for s in _SPLITS.value if s != 'train']
  dataset, data_dir, sources = checkpoint_data.load_sources(  # same dataset as the checkpoints
      surrogates, splits, dataset=_DATASET.value, data_dir=_DATA_DIR.value, build=_BUILD.value)
  hparams = {'random_forest': {'n_estimators': _RF_TREES.value, 'seed': _SEED.value,
                               'min_samples_leaf': _RF_LEAF.value},
             'svm': {'c': _SVM_C.value, 'epsilon': _SVM_EPS.value}}
  result = comparison.compare(surrogates, sources, hparams=hparams,
                              max_trajectories=_MAX.value, batch_size=_BATCH.value)
  sim = None
  # Only the simulated part of a dataset (or mix) has a simulator cost.
  simulated = [n for n in pipeline.dataset_names(dataset) if n.split('/')[0] == 'dendrite_sim']
  if _SIM_N.value > 0 and not simulated:
    print(f'Simulator cost skipped: {dataset} holds no dendrite_sim data')
  elif _SIM_N.value > 0:
    builder = pipeline.load_builder(simulated[0], data_dir)
    # The time step the builder used for each trajectory (one stable dt per group).
    dt_by_id = {int(i): c.dt_s for c in builder.chunks() for i in c.trajectory_ids}
    sim = baselines.simulator_cost(sources[splits[-1]], builder.simulation_settings(),
                                   num_trajectories=_SIM_N.value, dt_by_id=dt_by_id)
    result['rows'].append({'model': 'simulator', 'split': 'reference', 'R': 1.0, 'R2': 1.0,
                           'MSE_um2': 0.0, 'n': sim['num_trajectories'],
                           's_per_trajectory': sim['s_per_trajectory']})
  paths = comparison.write_comparison(
      _OUT.value, result, {'dataset': dataset, 'splits': splits, 'hyperparameters': hparams,
                           'simulator_cost': sim,
                           'checkpoints': {s.name: s.workdir for s in surrogates}},
      title=f'Baselines on {dataset}')
  print(open(paths['md']).read())


if __name__ == '__main__':
  app.run(main)
