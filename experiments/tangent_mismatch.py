r"""How well does a surrogate's parameter derivative match the simulator's, frame by frame?

  python -m experiments.tangent_mismatch --checkpoint W --out D   # configs/tangent_mismatch.py

On every one-step pair (t -> t + 30 s) of the held-out trajectories that store tangents
(`dendrite_sim/small_tangents`), the surrogate's total derivative of the predicted frame along
each continuous parameter, d xi'/d ln P_k = (df/dx) . dx/d ln P_k + (df/dc) . dc/d ln P_k with the
simulator's tangent of the input frame (`derivative_loss.surrogate_tangents`, all six directions),
is compared with the simulator's stored tangent of the target frame. Per split and parameter,
pooled over pairs:

  * `relative_error`  sqrt(sum ||J - t||^2 / sum ||t||^2), 0 is perfect, 1 is as bad as J = 0;
  * `cosine`          sum <J, t> / sqrt(sum ||J||^2 sum ||t||^2), the direction alone;
  * `loss`            the derivative-informed loss term L_k (with `floor`, what training sees);
  * `rms_tangent`     the simulator's RMS tangent per pixel (how much the parameter acts).

A teacher-forced one-step measure (the input frame and its tangent are the simulator's); the
210 s elasticities of whole rollouts are `experiments.sensitivity_fidelity`'s. Writes
`D/tangent_mismatch.json` and prints the table.
"""

import os

from absl import app
from absl import flags
import jax
import jax.numpy as jnp
from ml_collections import config_flags
import numpy as np

from dendrax.physics import parameters
from experiments import common

_CONFIG = config_flags.DEFINE_config_file(
    'config', os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           'configs', 'tangent_mismatch.py'), 'Settings.', lock_config=True)
_CHECKPOINT = flags.DEFINE_string('checkpoint', None, 'CNN-2 (or concat) workdir.')
_OUT = flags.DEFINE_string('out', None, 'Output folder.')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data dir.')
flags.mark_flags_as_required(['checkpoint', 'out'])


def pairs_with_tangents(source, normalizer, input_fields):
  """All one-step pairs of the trajectories that store tangents, every direction at once:
  dicts of `inputs`, `cond`, `input_tangents` and `tangents` [6, H, W, 1]."""
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  out = []
  for i in range(len(source)):
    ex = source[i]
    if 'xi_tangent' not in ex:
      raise ValueError(f'the dataset has no xi_tangent feature (trajectory '
                       f'{int(ex["trajectory_id"])}); use one built with tangents')
    if not bool(ex['has_tangents']):
      continue
    tangent = np.asarray(ex['xi_tangent'], np.float32)                 # [T, 6, H, W]
    for t in range(len(ex['time_s']) - 1):
      pair = pipeline.make_pair(ex, t, 1, normalizer, input_fields)
      out.append({'inputs': pair['inputs'], 'cond': pair['cond'],
                  'input_tangents': tangent[t][..., None], 'tangents': tangent[t + 1][..., None]})
  return out


def score(surrogate, pairs, *, floor: float, batch_size: int) -> dict:
  """Per-parameter pooled relative error, cosine, loss term and RMS tangent (module docstring)."""
  from dendrax.train import derivative_loss as dl  # pylint: disable=g-import-not-at-top
  from dendrax.train import setup  # pylint: disable=g-import-not-at-top
  model = setup.build_model(surrogate.config)
  scaling = dl.scaling_from_normalizer(surrogate.normalizer)

  @jax.jit
  def sums(batch):
    dirs = dl.cond_directions(batch['cond'], scaling)
    _, j = dl.surrogate_tangents(model.apply, surrogate.params, batch['inputs'], batch['cond'],
                                 dirs, batch['input_tangents'])
    t = batch['tangents']
    red = lambda a: jnp.sum(a, axis=(0, 2, 3, 4))
    return {'err': red(jnp.square(j - t)), 'ref': red(jnp.square(t)), 'pred': red(jnp.square(j)),
            'dot': red(j * t), 'count': jnp.full(t.shape[1], t.shape[0] * np.prod(t.shape[2:]),
                                                 jnp.float32)}

  total = None
  for start in range(0, len(pairs), batch_size):
    chunk = pairs[start:start + batch_size]
    batch = {k: jnp.asarray(np.stack([p[k] for p in chunk])) for k in chunk[0]}
    s = jax.device_get(sums(batch))
    total = s if total is None else {k: total[k] + s[k] for k in s}
  out = {}
  for i, name in enumerate(parameters.CONTINUOUS_PARAMETERS):
    err, ref, pred, dot, n = (float(total[k][i]) for k in ('err', 'ref', 'pred', 'dot', 'count'))
    out[name] = {'relative_error': float(np.sqrt(err / ref)) if ref > 0 else float('nan'),
                 'cosine': dot / np.sqrt(pred * ref) if pred * ref > 0 else float('nan'),
                 'loss': err / (ref + floor**2 * n),
                 'rms_tangent': float(np.sqrt(ref / n))}
  return out


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  common.quiet()
  from dendrax.analysis import evaluation  # pylint: disable=g-import-not-at-top
  from dendrax.analysis import report  # pylint: disable=g-import-not-at-top
  from dendrax.data import pipeline  # pylint: disable=g-import-not-at-top
  c = _CONFIG.value
  surrogate = evaluation.load_surrogate(_CHECKPOINT.value)
  if tuple(surrogate.config.data.input_fields) != ('xi',):
    raise app.UsageError(f'--checkpoint {_CHECKPOINT.value}: input fields '
                         f'{tuple(surrogate.config.data.input_fields)}; tangents are stored for '
                         'xi only')
  results = {'settings': {**c.to_dict(), 'checkpoint': _CHECKPOINT.value,
                          'checkpoint_step': surrogate.step}, 'splits': {}}
  for split in c.splits:
    source = pipeline.load_source(c.dataset, split, _DATA_DIR.value, build_if_missing=False)
    pairs = pairs_with_tangents(source, surrogate.normalizer, ('xi',))
    print(f'{split}: {len(pairs)} pairs with tangents (checkpoint step {surrogate.step})')
    results['splits'][split] = {'pairs': len(pairs), 'parameters': {}}
    if not pairs:
      continue
    results['splits'][split]['parameters'] = score(surrogate, pairs, floor=c.floor,
                                                   batch_size=c.batch_size)
    print(f'  {"parameter":<40} {"rel. error":>10} {"cosine":>8} {"loss":>8} {"RMS tangent":>12}')
    for name, r in results['splits'][split]['parameters'].items():
      print(f'  {name:<40} {r["relative_error"]:10.3f} {r["cosine"]:8.3f} {r["loss"]:8.3f} '
            f'{r["rms_tangent"]:12.4g}')
  os.makedirs(_OUT.value, exist_ok=True)
  path = os.path.join(_OUT.value, 'tangent_mismatch.json')
  report.write_json(path, results)
  print(path)


if __name__ == '__main__':
  app.run(main)
