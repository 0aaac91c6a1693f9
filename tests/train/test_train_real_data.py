"""`train_and_evaluate` on real-data datasets, which lack some splits (docs/builders.md).

A `dendrite_lit` dataset built on first use from images drawn here (tests/data/test_dendrite_lit.py)
has `train` and `validation` but no `test` or `ood`: the default `eval.rollout_splits` run skips
those, while a missing train or validation split is an error naming the config key. Its train
split holds processes of 3 and 2 images at different times, evaluated together.
"""

import itertools
import json
import os

import pytest

from configs import cnn2_mix
from data_builders import dendrite_lit
from data_builders import dendrite_sim
from data_builders import dendrite_vasp
from dendrax.data import pipeline
from dendrax.data import preprocessing
from dendrax.train import loop
from dendrax.train import setup
from tests.conftest import small_train_config
from tests.data import test_dendrite_lit as lit

# A third drawn process (Li, 30 s apart) whose explicit group puts it in the validation split.
SOURCE_C = 'doi:10.0000/c'
HEIGHTS_C = {30.0: 10, 60.0: 18, 90.0: 30}     # deposit heights above the band, pixels
# A fourth, of two images, in the train split beside A (60, 120, 180 s) and B (30, 90, 150 s).
SOURCE_D = 'doi:10.0000/d'
HEIGHTS_D = {45.0: 9, 75.0: 16}


def _group_in(split: str, source: str) -> str:
  """A `group` name that `preprocessing.group_split` puts in `split` (hash of source|group)."""
  return next(g for g in (f'g{i}' for i in itertools.count())
              if preprocessing.group_split(f'{source}|{g}') == split)


def _add_processes(root, rows):
  """Process C in the validation split, D in the train split."""
  for label, source, split, heights, seed in (('C', SOURCE_C, 'validation', HEIGHTS_C, 1000),
                                              ('D', SOURCE_D, 'train', HEIGHTS_D, 2000)):
    group = _group_in(split, source)
    for i, (t, h) in enumerate(heights.items()):
      name = f'{label}_{int(t)}s.png'
      lit._draw(os.path.join(root, name), h, seed=seed + i, x0=40)
      rows.append({'image': name, 'chemistry': 'Li', 'time_s': t, 'scale_um_per_px': lit.SCALE,
                   'source': source, 'licence': 'CC-BY-4.0', 'group': group,
                   'length_um': h * lit.SCALE})
  return rows


def make_config(data_dir):
  config = small_train_config(
      data={'name': 'dendrite_lit', 'data_dir': data_dir, 'prefetch_threads': 0},
      train={'batch_size': 4, 'num_steps': 4, 'warmup_steps': 1, 'log_every_steps': 2},
      eval={'every_steps': 2, 'batch_size': 4})
  assert tuple(config.eval.rollout_splits) == ('train', 'validation', 'test', 'ood')
  return config


def test_literature_dataset_trains_and_skips_the_splits_it_lacks(tmp_path, monkeypatch):
  data_dir = tmp_path / 'tfds'
  # Where TFDS looks without a download_config, so load_source builds it on first use.
  lit._manual(data_dir / 'downloads', edit=_add_processes)
  lines = []
  monkeypatch.setattr(loop, '_log', lines.append)
  workdir = str(tmp_path / 'run')
  final = loop.train_and_evaluate(make_config(str(data_dir)), workdir)

  assert final['trained_steps'] == 4
  with open(os.path.join(workdir, 'metrics.json')) as f:
    written = json.load(f)
  assert set(written['splits']) == {'train', 'validation'}
  assert written['skipped_splits'] == ['test', 'ood']
  assert set(written['split_expressions']) == {'train', 'validation'}
  assert written['splits']['train']['num_trajectories'] == 3       # processes A, B and D
  assert written['splits']['validation']['num_trajectories'] == 1  # process C
  # Marks at the times of the frames after each process's first, pooled where shared.
  train = written['splits']['train']['marks']
  assert {m: v['n'] for m, v in train.items()} == {
      't075s': 1, 't090s': 1, 't120s': 1, 't150s': 1, 't180s': 1, 'all': 5}
  assert list(written['splits']['validation']['marks']) == ['t060s', 't090s', 'all']
  skips = [l for l in lines if 'skips' in l]
  assert skips == ["rollout evaluation skips split(s) test, ood of eval.rollout_splits: "
                   "dataset 'dendrite_lit' has no such split"], lines


def test_missing_train_or_validation_split_names_the_config_key(fixture_data_dir):
  config = make_config(fixture_data_dir)
  config.data.name = 'dendrite_fixture/b'            # a train split only
  config.data.in_memory = False
  with pytest.raises(ValueError, match=r"config\.data\.validation_split='validation': dataset "
                                       r"'dendrite_fixture/b' has no split 'validation'"):
    loop._sources(config)
  config.data.train_split = 'test'
  with pytest.raises(ValueError, match=r"config\.data\.train_split='test': .*no split 'test'"):
    loop._sources(config)
  # A mix has the splits of any of its datasets: only `ood` is missing from a+b.
  config.data.name = 'dendrite_fixture/a+dendrite_fixture/b'
  config.data.train_split = 'train'
  assert set(loop._sources(config)) == {'train', 'validation', 'test'}
  with pytest.raises(pipeline.MissingSplitError) as e:
    pipeline.load_source(config.data.name, 'ood', fixture_data_dir)
  assert (e.value.dataset, e.value.split, e.value.available) == (
      config.data.name, 'ood', ('test', 'train', 'validation'))


def test_cnn2_mix_config_is_valid_and_its_frames_line_up():
  config = cnn2_mix.get_config()
  setup.validate_config(config)
  assert config.model_name == 'cnn2'
  # Rollouts on every split: trajectories of different frame counts are evaluated together.
  assert tuple(config.eval.rollout_splits) == ('train', 'validation', 'test', 'ood')
  assert pipeline.dataset_names(config.data.name) == (
      'dendrite_sim/small', 'dendrite_vasp/li', 'dendrite_lit')
  # Without building anything: the frame sizes of the three builder configs agree.
  config_of = lambda builder, name: next(c for c in builder.BUILDER_CONFIGS if c.name == name)
  assert {config_of(dendrite_sim.DendriteSim, 'small').grid_size,
          config_of(dendrite_vasp.DendriteVasp, 'li').frame_size,
          config_of(dendrite_lit.DendriteLit, 'default').frame_size} == {64}
