r"""Fault injection: kill, corrupt, fill and freeze runs; check that nothing is lost.

  python -m benchmarks.fault_injection                     # every kind, >= 50 injections
  python -m benchmarks.fault_injection --kinds=train_kill,save_kill --seed=1
  python -m benchmarks.fault_injection --sample            # a few of each (CI, ~2 min)

Each injection runs a real child process (`child` below) on tiny settings and compares what it
finally produces with an uninterrupted run in the same invocation:

  train_kill      SIGKILL of training at a random moment; restarted until it finishes.
  save_kill       SIGKILL the moment an orbax checkpoint folder is being written.
  build_kill      SIGKILL of a `dendrite_sim/tiny` dataset build at a random moment.
  ckpt_corrupt    latest checkpoint damaged (array file truncated, `_METADATA` deleted or
                  emptied, a JSON item emptied), then the run resumed.
  chunk_corrupt   a cached simulation chunk truncated, emptied or overwritten, then rebuilt.
  disk_full       training / a dataset build on a tmpfs too small for it; then the disk is
                  enlarged and the same command run again.
  read_only       the workdir is read-only at the start, or becomes read-only mid-run; then
                  writable again and the same command run again.

Training uses the synthetic dendrites of tests/train (no simulator); dataset builds use the
real `dendrite_sim` builder, chunk cache and TFDS writer, with the physics replaced by a
deterministic stand-in (`fake_chunk`), so an injection costs seconds. An injection counts as
*recovered* when the final result is identical (every parameter bit for bit, every metrics
row; every dataset record) to the uninterrupted run's, the resumed run started from the newest
checkpoint complete at the kill, and failures were clear (one message, no traceback for a full
disk; an error naming the workdir for a read-only one). Otherwise it is *lost*. disk_full and
read_only mount a tmpfs and need root; without it they are reported as skipped.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEADLINE = float('inf')   # `--budget_s`: no new injection starts after this time
KINDS = ('train_kill', 'save_kill', 'build_kill', 'ckpt_corrupt', 'chunk_corrupt', 'disk_full',
         'read_only')
FULL = {'train_kill': 16, 'save_kill': 10, 'build_kill': 10, 'ckpt_corrupt': 6,
        'chunk_corrupt': 4, 'disk_full': 4, 'read_only': 4}
SAMPLE = {'train_kill': 1, 'save_kill': 1, 'build_kill': 1, 'ckpt_corrupt': 1,
          'chunk_corrupt': 1, 'disk_full': 1, 'read_only': 1}


# ---- Children: the runs faults are injected into --------------------------------------------

def fake_chunk(chunk, simulation, seed):
  """Deterministic arrays of the `simulate_chunk` format (stand-in for the physics)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from dendrax.data import schema  # pylint: disable=g-import-not-at-top
  time.sleep(0.4)                   # so a kill can land while chunks are being produced
  n, size = len(chunk.trajectory_ids), int(simulation['nx'])
  rng = np.random.default_rng([seed] + [int(i) for i in chunk.trajectory_ids])
  frames = (n, schema.NUM_FRAMES, size, size)
  xi = rng.uniform(size=frames).astype(np.float32)
  out = {'xi': xi, 'concentration': 1 - xi, 'potential_v': 0.1 * xi,
         'time_s': np.tile(np.arange(schema.NUM_FRAMES, dtype=np.float32) * 30, (n, 1)),
         'stage': np.ones(frames[:2], np.int32),
         'pixel_size_um': np.ones(n, np.float32), 'electrode_height_um': np.ones(n, np.float32),
         'trajectory_id': np.asarray(chunk.trajectory_ids, np.int64)}
  for k in schema.OBSERVABLE_KEYS:
    out[k] = rng.uniform(size=frames[:2]).astype(np.float32)
  return out


def child(kind: str, path: str) -> None:
  """Runs one tiny training (`train`, workdir `path`) or dataset build (`build`, data dir)."""
  import jax  # pylint: disable=g-import-not-at-top
  jax.config.update('jax_compilation_cache_dir', os.path.join(ROOT, '.jax_cache'))
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.5)
  from absl import logging  # pylint: disable=g-import-not-at-top
  logging.set_verbosity(logging.WARNING)
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  from dendrax.train import disk_errors  # pylint: disable=g-import-not-at-top
  if kind == 'train':
    from dendrax.train import loop  # pylint: disable=g-import-not-at-top
    from tests.train import test_train_loop as base  # pylint: disable=g-import-not-at-top
    pipeline.load_source = base.fake_load_source
    config = base.make_config()          # tiny: seconds of training, most of a run is start-up
    config.model.features = (4, 8)
    config.model.film_hidden = (4,)
    config.train.batch_size = 4
    config.train.num_steps = 12
    config.train.warmup_steps = 2
    config.train.log_every_steps = 3     # train rows average whole windows between checkpoints
    config.eval.every_steps = 3          # a checkpoint at every validation
    config.eval.select_metric = 'loss'
    config.eval.rollout_splits = ('validation',)
    config.eval.max_rollout_trajectories = 2
    config.checkpoint.max_to_keep = 2
    with disk_errors.exit_cleanly_when_full(path):
      loop.train_and_evaluate(config, path)
  else:
    from data_builders.dendrite_sim import generation  # pylint: disable=g-import-not-at-top
    generation.simulate_chunk = fake_chunk
    with disk_errors.exit_cleanly_when_full(path):
      pipeline.load_source('dendrite_sim/tiny', 'train', path)


# ---- Parent: starting children, comparing results -------------------------------------------

def start(kind: str, path: str) -> subprocess.Popen:
  env = dict(os.environ, PYTHONPATH=ROOT, JAX_PLATFORMS='cpu')
  return subprocess.Popen([sys.executable, '-m', 'benchmarks.fault_injection', '--child', kind,
                           path], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def run(kind: str, path: str, timeout: float = 600) -> tuple[int, str]:
  proc = start(kind, path)
  out, _ = proc.communicate(timeout=timeout)
  return proc.returncode, out


def complete_steps(workdir: str) -> list[int]:
  d = os.path.join(workdir, 'checkpoints')        # one orbax manager: step folders here
  return sorted(int(n) for n in os.listdir(d) if n.isdigit()) if os.path.isdir(d) else []


def train_result(workdir: str) -> dict:
  """Every latest-checkpoint array (bytes) and every metrics row of a finished run."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  from dendrax.train import checkpointing  # pylint: disable=g-import-not-at-top
  _, params, _ = checkpointing.load_checkpoint(workdir, 'latest')
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    rows = sorted(f.read().splitlines())
  with open(os.path.join(workdir, 'metrics.json')) as f:
    final = json.load(f)
  return {'params': [np.asarray(x).tobytes() for x in jax.tree.leaves(params)], 'rows': rows,
          'splits': final['splits']}


def build_result(data_dir: str) -> list:
  """Every record of every split of a `dendrite_sim/tiny` build, as bytes."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  out = []
  for split in ('train', 'validation', 'test', 'ood'):
    src = pipeline.load_source('dendrite_sim/tiny', split, data_dir, build_if_missing=False)
    for i in range(len(src)):
      out.append({k: np.asarray(v).tobytes() for k, v in src[i].items()})
  return out


class Tally:
  """Injections tried / recovered / lost per kind, with a reason for each loss."""

  def __init__(self):
    self.rows: dict[str, list[int]] = {}
    self.notes: list[str] = []

  def add(self, kind: str, ok: bool, note: str = '') -> None:
    row = self.rows.setdefault(kind, [0, 0, 0])
    row[0] += 1
    row[1 if ok else 2] += 1
    if not ok:
      self.notes.append(f'{kind}: {note}')
    print(f'  {kind:14s} {"recovered" if ok else "LOST: " + note}', flush=True)

  def skip(self, kind: str, why: str) -> None:
    self.notes.append(f'{kind}: skipped ({why})')
    print(f'  {kind:14s} skipped ({why})', flush=True)

  def table(self) -> str:
    lines = ['| injection | tried | recovered | lost |', '|---|---:|---:|---:|']
    total = [0, 0, 0]
    for kind in KINDS:
      if kind in self.rows:
        r = self.rows[kind]
        total = [a + b for a, b in zip(total, r)]
        lines.append(f'| {kind} | {r[0]} | {r[1]} | {r[2]} |')
    lines.append(f'| **total** | **{total[0]}** | **{total[1]}** | **{total[2]}** |')
    return '\n'.join(lines + [f'\n{n}' for n in self.notes])

  @property
  def lost(self) -> int:
    return sum(r[2] for r in self.rows.values())


def finish(kind: str, path: str, reference, tally: Tally, count: int, note: str = '') -> None:
  """Runs the child to the end and adds `count` injections, recovered if the result matches."""
  rc, out = run(kind, path)
  if rc != 0:
    for _ in range(count):
      tally.add(kind_label(kind, note), False, f'final run failed: {out[-400:]}')
    return
  result = train_result(path) if kind == 'train' else build_result(path)
  same = result == reference
  for _ in range(count):
    tally.add(kind_label(kind, note), same, 'result differs from the uninterrupted run')


def kind_label(kind: str, note: str) -> str:
  return note or kind


def resumed_step(out: str) -> int:
  found = re.search(r'Resuming from step (\d+)', out)
  return int(found.group(1)) if found else 0


def kill_chain(kind: str, path: str, reference, tally: Tally, n: int, rng: random.Random, *,
               label: str, during_save: bool = False, window=(2.0, 9.0)) -> None:
  """Kills the child `n` times (at random moments, or the moment a save starts), restarting it
  each time, then lets it finish. Each kill is recovered if the final result equals the
  reference and (training) the next start resumed from the newest checkpoint complete at the
  kill."""
  kills, bad, expected = 0, [], 0
  n = n if time.time() < DEADLINE else 0

  def check_resume(out):
    nonlocal expected
    if kind == 'train' and 'model:' in out:          # got past the restore: where did it resume?
      if resumed_step(out) < expected:
        bad.append(f'resumed from step {resumed_step(out)}; step {expected} was complete')
      expected = 0

  while kills < n:
    proc = start(kind, path)
    deadline = time.time() + (120 if during_save else rng.uniform(*window))
    while proc.poll() is None and time.time() < deadline:
      if during_save and glob.glob(os.path.join(path, 'checkpoints', '*',
                                                '*.orbax-checkpoint-tmp*')):
        break
      time.sleep(0.002 if during_save else 0.05)
    if proc.poll() is not None:
      check_resume(proc.communicate()[0])
      break                                  # finished before the kill
    steps = complete_steps(path)
    proc.send_signal(signal.SIGKILL)
    check_resume(proc.communicate()[0])
    expected = max(steps) if steps else 0
    kills += 1
    if time.time() > DEADLINE:
      break
  if not kills:
    return
  rc, out = run(kind, path)
  check_resume(out)
  ok = rc == 0 and (train_result(path) if kind == 'train' else build_result(path)) == reference
  for _ in range(kills):
    tally.add(label, ok and not bad, '; '.join(bad) or f'final: rc={rc} {out[-300:]}')


# ---- Injection kinds ------------------------------------------------------------------------

def corrupt_checkpoint(workdir: str, mode: str) -> None:
  step = complete_steps(workdir)[-1]
  folder = os.path.join(workdir, 'checkpoints', str(step))
  if mode == 'truncate':
    for p in glob.glob(os.path.join(folder, 'state', 'd', '*')):
      with open(p, 'r+b') as f:
        f.truncate(os.path.getsize(p) // 2)
  elif mode == 'no_metadata':
    os.remove(os.path.join(folder, 'state', '_METADATA'))
  elif mode == 'empty_metadata':
    open(os.path.join(folder, 'state', '_METADATA'), 'w').close()
  else:
    open(os.path.join(folder, 'loop', 'metadata'), 'w').close()


def corrupt_file(path: str, mode: str) -> None:
  if mode == 'truncate':
    with open(path, 'r+b') as f:
      f.truncate(os.path.getsize(path) // 3)
  elif mode == 'empty':
    open(path, 'w').close()
  else:
    with open(path, 'r+b') as f:
      f.write(os.urandom(64))


def mount_tmpfs(path: str, size: str) -> bool:
  os.makedirs(path, exist_ok=True)
  return subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', path],
                        capture_output=True).returncode == 0


def remount(path: str, options: str) -> None:
  subprocess.run(['mount', '-o', f'remount,{options}', path], check=True, capture_output=True)


def umount(path: str) -> None:
  subprocess.run(['umount', path], capture_output=True)


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--child', nargs=2, metavar=('KIND', 'PATH'), help=argparse.SUPPRESS)
  parser.add_argument('--kinds', default=','.join(KINDS))
  parser.add_argument('--sample', action='store_true', help='one injection of each kind (CI)')
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--out', default=None, help='also write the table here (Markdown)')
  parser.add_argument('--budget_s', type=float, default=0,
                      help='start no new injection after this many seconds (0: no limit)')
  args = parser.parse_args()
  if args.child:
    child(*args.child)
    return 0
  counts = SAMPLE if args.sample else FULL
  kinds = [k for k in args.kinds.split(',') if k]
  rng = random.Random(args.seed)
  tally = Tally()
  tmp = tempfile.mkdtemp(prefix='fault_injection-')
  t0 = time.time()
  try:
    needs_train = set(kinds) & {'train_kill', 'save_kill', 'ckpt_corrupt', 'disk_full',
                                'read_only'}
    needs_build = set(kinds) & {'build_kill', 'chunk_corrupt', 'disk_full'}
    ref_train = ref_build = None
    if needs_train:
      rc, out = run('train', os.path.join(tmp, 'ref_train'))
      assert rc == 0, out[-3000:]
      ref_train = train_result(os.path.join(tmp, 'ref_train'))
    if needs_build:
      rc, out = run('build', os.path.join(tmp, 'ref_build'))
      assert rc == 0, out[-3000:]
      ref_build = build_result(os.path.join(tmp, 'ref_build'))
    print(f'uninterrupted reference runs: {time.time() - t0:.0f} s', flush=True)
    global DEADLINE  # pylint: disable=global-statement
    DEADLINE = t0 + args.budget_s if args.budget_s else float('inf')
    k = iter(range(10**6))
    new = lambda: os.path.join(tmp, f'i{next(k)}')   # pylint: disable=unnecessary-lambda-assignment
    if 'train_kill' in kinds:
      kill_chain('train', new(), ref_train, tally, counts['train_kill'], rng, label='train_kill')
    if 'save_kill' in kinds:
      kill_chain('train', new(), ref_train, tally, counts['save_kill'], rng, label='save_kill',
                 during_save=True)
    if 'build_kill' in kinds:
      kill_chain('build', new(), ref_build, tally, counts['build_kill'], rng, label='build_kill',
                 window=(4.0, 9.0))
    if 'ckpt_corrupt' in kinds:
      modes = ['truncate', 'no_metadata', 'empty_metadata', 'empty_json']
      for i in range(counts['ckpt_corrupt']):
        if time.time() > DEADLINE:
          break
        path = new()
        shutil.copytree(os.path.join(tmp, 'ref_train'), path)
        os.remove(os.path.join(path, 'metrics.json'))
        corrupt_checkpoint(path, modes[i % len(modes)])
        finish('train', path, ref_train, tally, 1, 'ckpt_corrupt')
    if 'chunk_corrupt' in kinds:
      modes = ['truncate', 'empty', 'garbage']
      for i in range(counts['chunk_corrupt']):
        if time.time() > DEADLINE:
          break
        path = new()
        shutil.copytree(os.path.join(tmp, 'ref_build', 'downloads'),
                        os.path.join(path, 'downloads'))
        chunks = sorted(glob.glob(os.path.join(path, 'downloads', '*', '*', '*.npz')))
        corrupt_file(rng.choice(chunks), modes[i % len(modes)])
        finish('build', path, ref_build, tally, 1, 'chunk_corrupt')
    if 'disk_full' in kinds:
      for i in range(counts['disk_full']):
        if time.time() > DEADLINE:
          break
        kind = 'train' if i % 2 == 0 else 'build'
        mnt = new()
        size = rng.choice(['200k', '400k', '700k']) if kind == 'train' else '300k'
        if not mount_tmpfs(mnt, size):
          tally.skip('disk_full', 'mounting a tmpfs needs root')
          break
        try:
          path = os.path.join(mnt, 'run')
          rc, out = run(kind, path)
          clean = rc == 0 or ('the disk is full' in out and 'Traceback' not in out)
          remount(mnt, 'size=256m')
          ref = ref_train if kind == 'train' else ref_build
          if not clean:
            tally.add('disk_full', False, f'unclear failure: {out[-600:]}')
          else:
            finish(kind, path, ref, tally, 1, 'disk_full')
        finally:
          umount(mnt)
    if 'read_only' in kinds:
      for i in range(counts['read_only']):
        if time.time() > DEADLINE:
          break
        mnt = new()
        if not mount_tmpfs(mnt, '256m'):
          tally.skip('read_only', 'mounting a tmpfs needs root')
          break
        try:
          path = os.path.join(mnt, 'run')
          if i % 2 == 0:                     # read-only from the start: refused at once
            os.makedirs(path)
            remount(mnt, 'ro')
            t = time.time()
            rc, out = run('train', path)
            clear = rc != 0 and 'not writable' in out and 'data:' not in out
          else:                              # becomes read-only after the first checkpoint
            proc = start('train', path)
            while proc.poll() is None and not complete_steps(path):
              time.sleep(0.05)
            remount(mnt, 'ro')
            out, _ = proc.communicate(timeout=600)
            clear = proc.returncode != 0 and 'Read-only file system' in out
          remount(mnt, 'rw')
          if not clear:
            tally.add('read_only', False, f'unclear failure: {out[-600:]}')
          else:
            finish('train', path, ref_train, tally, 1, 'read_only')
        finally:
          umount(mnt)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  table = tally.table()
  print(f'\nFault injection ({time.time() - t0:.0f} s, seed {args.seed}):\n{table}')
  if args.out:
    with open(args.out, 'w') as f:
      f.write(table + '\n')
  return 1 if tally.lost else 0


if __name__ == '__main__':
  sys.exit(main())
