r"""Trains and evaluates a dendrite-growth surrogate: flags -> config -> train_and_evaluate.

  python launch.py --config configs/cnn2.py --workdir workdirs/cnn2
  python launch.py --config configs/cnn1.py --workdir workdirs/cnn1 --config.train.lr=1e-3

Builds the configured dataset if it is missing, trains with periodic checkpoints in --workdir,
evaluates rollouts of the best checkpoint and prints the test metrics. Running again with the
same --workdir resumes from the latest checkpoint. Several hosts: docs/training.md.
"""

import re
import sys

from absl import app
from absl import flags
from absl import logging
import jax
from ml_collections import config_flags

from dendrax.train import disk_errors
from dendrax.train import loop
from dendrax.train import setup

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'Directory for checkpoints, logs and metrics.json.')
flags.DEFINE_integer('cpu_devices', -1,
                     'Host CPU devices to expose when JAX runs on the CPU: -1 = one per usable '
                     'core (reduced to divide train.batch_size; data-parallel steps over them '
                     'ran about 2x faster than one device on a 2-core machine), 0 = JAX '
                     'default (1).')
flags.DEFINE_bool('distributed', False,
                  'Call jax.distributed.initialize() first (multi-host training).')
config_flags.DEFINE_config_file('config', None, 'Training configuration file.',
                                lock_config=True)
flags.mark_flags_as_required(['config', 'workdir'])


def parse_flags(argv):
  """absl parsing, with a one-line error naming an unknown `--config.<key>` override."""
  try:
    return FLAGS(argv)
  except (AttributeError, KeyError) as e:
    text = str(e).replace('\\n', '\n').replace("\\'", "'")
    found = re.search(r"'(\w+)'", text)
    name = found.group(1) if found else text
    hint = re.search(r'Did you mean[^\n\']*', text)
    overrides = [a[2:].split('=')[0] for a in argv if a.startswith('--config.')]
    culprits = [o for o in overrides if name in o.split('.')] or overrides
    sys.exit(f'launch.py: unknown config key {name!r} in --{", --".join(culprits)}'
             f'{" (" + hint.group(0) + ")" if hint else ""}; every key is listed in '
             'configs/default.py')


def configure_jax(cpu_devices: int, batch_size: int, distributed: bool = False) -> None:
  """Host devices and multi-host setup; must run before JAX creates its backends.

  The PRNG stays JAX's default (threefry), as in the tests and every other entry point, so a
  dataset built by launch.py is the one `load_source` builds anywhere else; the model's
  initialisation alone uses an explicit 'rbg' key (`setup.init_key`), the same everywhere.
  """
  if cpu_devices:
    # Only the CPU platform reads this; it must be set before JAX creates its backends.
    count = setup.host_device_count(batch_size) if cpu_devices < 0 else cpu_devices
    jax.config.update('jax_num_cpu_devices', count)
  if distributed:
    jax.distributed.initialize()


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected command-line arguments: {argv[1:]}')
  # orbax and grain log every save/restore at INFO; keep the console to progress and results.
  logging.set_verbosity(logging.WARNING)
  configure_jax(FLAGS.cpu_devices, FLAGS.config.train.batch_size, FLAGS.distributed)
  with disk_errors.exit_cleanly_when_full(FLAGS.workdir):   # one message, not 50 tracebacks
    loop.train_and_evaluate(FLAGS.config, FLAGS.workdir)


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
