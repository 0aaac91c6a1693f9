"""Tests of train-only normalisation (dendrax.data.normalization)."""

import glob
import json
import os
import shutil

import numpy as np
import pytest

from dendrax.data import normalization
from dendrax.data import pipeline
from dendrax.physics import parameters

NAME = 'dendrite_sim/tiny'
LOG = np.array([s.log_scale for s in parameters.PARAMETER_SPECS])


def _source(n=64, seed=0, frame=6):
  """In-memory schema-like trajectories with params drawn uniformly (log-uniformly if log)."""
  rng = np.random.default_rng(seed)
  out = []
  for i in range(n):
    u = rng.random(parameters.NUM_PARAMETERS)
    p = [s.low * (s.high / s.low) ** v if s.log_scale else s.low + v * (s.high - s.low)
         for s, v in zip(parameters.PARAMETER_SPECS, u)]
    out.append({'trajectory_id': i, 'params': np.array(p, np.float32),
                'params_missing': np.zeros(parameters.NUM_PARAMETERS, bool), 'has_fields': True,
                'xi': rng.random((3, frame, frame)).astype(np.float32),
                'concentration': (2 + rng.random((3, frame, frame))).astype(np.float32),
                'potential_v': (-0.4 * rng.random((3, frame, frame))).astype(np.float32)})
  return out


def test_fit_standardises_log_transformed_params_and_fields():
  source = _source()
  norm = normalization.Normalizer.fit(source)
  params = np.stack([ex['params'] for ex in source])
  z, flags = norm.normalize_params(params)
  np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
  np.testing.assert_allclose(z.std(0), 1, atol=1e-5)
  assert not flags.any()
  for i in np.flatnonzero(LOG):   # the geometric mean maps to 0 on log-scale parameters
    col = params[:, i].astype(np.float64)
    assert abs(norm.normalize_params(np.where(np.arange(7) == i, np.exp(np.log(col).mean()),
                                              params[0]))[0][i]) < 1e-5
  # float32 z: relative 1e-5, absolute 1e-5 near zero (the gradient range starts at 0).
  np.testing.assert_allclose(norm.denormalize_params(z), params, rtol=1e-5, atol=1e-5)
  c = np.stack([ex['concentration'] for ex in source])
  np.testing.assert_allclose(norm.normalize_field('concentration', c).mean(), 0, atol=1e-4)
  np.testing.assert_allclose(norm.normalize_field('concentration', c).std(), 1, atol=1e-4)
  np.testing.assert_array_equal(norm.normalize_field('xi', source[0]['xi']), source[0]['xi'])


def test_missing_values_are_ignored_by_fit_and_become_zero_with_a_flag():
  source = _source()
  reference = normalization.Normalizer.fit(source)
  source[0] = dict(source[0], params=source[0]['params'].copy(),
                   params_missing=np.eye(parameters.NUM_PARAMETERS, dtype=bool)[2])
  source[0]['params'][2] = 1e9           # a placeholder value that must not count
  source[1] = dict(source[1], params=source[1]['params'].copy())
  source[1]['params'][5] = np.nan
  norm = normalization.Normalizer.fit(source)
  assert norm.param_mean[2] != reference.param_mean[2]   # one fewer value, still a plain mean
  assert abs(norm.param_mean[2] - reference.param_mean[2]) < 0.1
  z, flags = norm.normalize_params(source[0]['params'], source[0]['params_missing'])
  assert z[2] == 0 and flags[2] == 1 and flags.sum() == 1
  z, flags = norm.normalize_params(source[1]['params'])
  assert z[5] == 0 and flags[5] == 1 and np.isfinite(z).all()


def test_json_round_trip_and_bad_json(tmp_path):
  norm = normalization.Normalizer.fit(_source())
  assert normalization.Normalizer.from_json(norm.to_json()) == norm
  path = str(tmp_path / 'sub' / 'normalizer.json')
  norm.save(path)
  assert normalization.Normalizer.load(path) == norm
  assert os.listdir(tmp_path / 'sub') == ['normalizer.json']
  d = json.loads(norm.to_json())
  del d['param_std']
  with pytest.raises(ValueError, match='param_std'):
    normalization.Normalizer.from_dict(d)
  d = json.loads(norm.to_json())
  d['parameter_names'][0] = 'temperature_c'
  with pytest.raises(ValueError, match='parameter_names'):
    normalization.Normalizer.from_dict(d)
  with pytest.raises(ValueError, match='param_std'):
    normalization.Normalizer(norm.param_mean, (0.0,) * 7, norm.field_mean, norm.field_std, 1)


def test_dataset_normalizer_reads_train_only(data_dir, tmp_path):
  reference = pipeline.fit_normalizer(NAME, data_dir, build_if_missing=False)
  # A copy of the build whose validation/test/ood records are replaced by garbage.
  copy = tmp_path / 'tfds'
  shutil.copytree(os.path.join(data_dir, 'dendrite_sim'), copy / 'dendrite_sim')
  folder = glob.glob(str(copy / 'dendrite_sim' / 'tiny' / '*'))[0]
  others = [f for f in os.listdir(folder)
            if '.array_record' in f and '-train.' not in f]
  assert others
  for f in others:
    with open(os.path.join(folder, f), 'wb') as fh:
      fh.write(b'not a record')
  assert pipeline.fit_normalizer(NAME, str(copy), build_if_missing=False) == reference
  train_files = [f for f in os.listdir(folder) if '-train.' in f]
  with open(os.path.join(folder, train_files[0]), 'wb') as fh:   # control: train does matter
    fh.write(b'not a record')
  with pytest.raises(Exception):
    pipeline.fit_normalizer(NAME, str(copy), build_if_missing=False)
