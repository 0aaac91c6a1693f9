r"""How far two builds of a dendrite_sim config differ, trajectory by trajectory.

A new dataset version is built by new code, and the code of the old one is only in git, so this
runs in two steps: dump each build's per-trajectory numbers with the checkout that built it,
then compare the dumps (same design and seeds, so trajectories pair by split and index).

  # in a clone at the old commit, and again at the new one:
  PYTHONPATH=. python benchmarks/dataset_build_diff.py dump --data_dir D --out old.json
  python benchmarks/dataset_build_diff.py compare old.json new.json

`dump` writes, per split and trajectory, the last frame's dendrite length and the charge passed
(`dendrax.analysis.dataset_stats.trajectory_stats`: also mean current, c/c0 extremes in the
electrolyte); `compare` prints the largest and median absolute and relative differences of each
over the trajectories both builds kept (the physical-bound check may drop different ones: their
ids are printed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

KEYS = ('length_um', 'charge_mah_cm2', 'mean_current_ma_cm2', 'c_min', 'c_max')


def dump(dataset: str, data_dir: str, out: str) -> None:
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  from dendrax.analysis import dataset_stats  # pylint: disable=g-import-not-at-top
  rows = {}
  for split in dataset_stats.SPLITS:
    source = pipeline.load_source(dataset, split, data_dir, build_if_missing=False)
    for i in range(len(source)):
      example = source[i]
      stats = dataset_stats.trajectory_stats(example)
      rows[f"{split}/{example['trajectory_id']}"] = {k: stats[k] for k in KEYS}
  with open(out, 'w', encoding='utf-8') as f:
    json.dump(rows, f)


def compare(path_a: str, path_b: str) -> None:
  with open(path_a, encoding='utf-8') as f:
    a = json.load(f)
  with open(path_b, encoding='utf-8') as f:
    b = json.load(f)
  both = sorted(set(a) & set(b))
  print(f'{len(both)} trajectories in both; only in {path_a}: {sorted(set(a) - set(b))}; '
        f'only in {path_b}: {sorted(set(b) - set(a))}')
  for key in KEYS:
    va = np.array([a[t][key] for t in both], float)
    vb = np.array([b[t][key] for t in both], float)
    diff = np.abs(vb - va)
    rel = diff / np.maximum(np.abs(va), 1e-12)
    worst = both[int(np.argmax(diff))]
    print(f'{key:20s} max |diff| {diff.max():.3g} ({worst}: {a[worst][key]:.4g} -> '
          f'{b[worst][key]:.4g}), median {np.median(diff):.3g}; relative: max {rel.max():.3g}, '
          f'median {np.median(rel):.3g}')


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  sub = parser.add_subparsers(dest='command', required=True)
  d = sub.add_parser('dump')
  d.add_argument('--dataset', default='dendrite_sim/small')
  d.add_argument('--data_dir', required=True)
  d.add_argument('--out', required=True)
  c = sub.add_parser('compare')
  c.add_argument('a')
  c.add_argument('b')
  args = parser.parse_args()
  if args.command == 'dump':
    dump(args.dataset, args.data_dir, args.out)
  else:
    compare(args.a, args.b)


if __name__ == '__main__':
  main()
