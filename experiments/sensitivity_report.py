r"""Gradient sensitivity report: exact d ln O / d ln P through the simulator and through CNN-2.

  python -m experiments.sensitivity_report --checkpoint workdirs/cnn2 --out reports/sensitivity
  python -m experiments.sensitivity_report --out reports/sens_physics   # simulator only

`--checkpoint` is a CNN-2 workdir of `launch.py` (the model must see the physical parameters;
CNN-1's elasticities are zero by construction). The simulation is the one that generated the
checkpoint's dataset (`SimulationConfig` from the dataset builder, with `--protocol` and
`--chemistry`), so both sides answer the same question. Without `--checkpoint` the simulation is
`SimulationConfig.for_dataset()` and only the physics side is reported.

Writes `<out>/sensitivity.html` (self-contained: bar charts per parameter and stage, physics vs
model, ranking table, Spearman agreement, finite-difference check, cost at equal accuracy,
settings), `<out>/sensitivities.csv` (long format) and `<out>/sensitivities.json`.
"""

from absl import app
from absl import flags
import jax

from dendrax.analysis import sensitivity_study
from dendrax.physics import parameters

_CHECKPOINT = flags.DEFINE_string('checkpoint', None, 'CNN-2 workdir (optional).')
_OUT = flags.DEFINE_string('out', None, 'Output folder.')
_PARAMS = flags.DEFINE_list(
    'params', ['300', '1.0', '2.25', '1000', '0.5', '316.2', '3'],
    'The seven physical parameters, in order: ' + ', '.join(parameters.PARAMETER_NAMES))
_CHEMISTRY = flags.DEFINE_enum('chemistry', 'Li', list(parameters.CHEMISTRIES), 'Chemistry.')
_PROTOCOL = flags.DEFINE_enum('protocol', 'three_stage', list(parameters.PROTOCOLS),
                              'Charging protocol (three_stage gives all three stages).')
_SEED = flags.DEFINE_integer('seed', 0, 'Noise key of the simulation (fixed for all runs).')
_FD_STEP = flags.DEFINE_float('fd_rel_step', 0.01, 'Relative step dP/P of the FD column.')
_FD_SCHEME = flags.DEFINE_enum('fd_scheme', 'forward', ['forward', 'central'],
                               "FD scheme of the reported column ('forward' = paper's formula).")
_ACCURACY_STEPS = flags.DEFINE_list('accuracy_steps', ['0.01', '0.001'],
                                    'Relative steps of the FD accuracy/cost comparison.')
_SIM = flags.DEFINE_multi_string('sim', [], 'SimulationConfig overrides, key=value '
                                 '(e.g. --sim nx=32 --sim ny=32 --sim t_end_s=60).')
_FLOAT64 = flags.DEFINE_bool('float64', True, 'Differentiate in float64 (clean FD checks).')
_REVERSE = flags.DEFINE_bool('time_reverse', True, 'Also time reverse mode (jax.vjp) for the '
                             'overall dendrite length alone.')
_DATA_DIR = flags.DEFINE_string('data_dir', None, 'TFDS data dir (for the dataset settings).')
flags.mark_flags_as_required(['out'])


def _overrides(items):
  out = {}
  for item in items:
    if '=' not in item:
      raise app.UsageError(f'--sim {item!r}: expected key=value')
    k, v = item.split('=', 1)
    out[k.strip()] = v.strip() if not _is_number(v) else float(v)
  return out


def _is_number(v: str) -> bool:
  try:
    float(v)
    return True
  except ValueError:
    return False


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  if _FLOAT64.value:
    jax.config.update('jax_enable_x64', True)
  values = [float(v) for v in _PARAMS.value]
  if len(values) != parameters.NUM_PARAMETERS:
    raise app.UsageError(f'--params needs {parameters.NUM_PARAMETERS} values '
                         f'({", ".join(parameters.PARAMETER_NAMES)}); got {len(values)}')
  parameters.validate_physical(dict(zip(parameters.PARAMETER_NAMES, values)))
  settings = sensitivity_study.StudySettings(
      params=tuple(values), chemistry=_CHEMISTRY.value, protocol=_PROTOCOL.value,
      seed=_SEED.value, fd_rel_step=_FD_STEP.value, fd_scheme=_FD_SCHEME.value,
      accuracy_steps=tuple(float(s) for s in _ACCURACY_STEPS.value),
      sim_overrides=_overrides(_SIM.value), float64=_FLOAT64.value,
      time_reverse=_REVERSE.value)
  results, used = sensitivity_study.run_study(settings, checkpoint=_CHECKPOINT.value,
                                              data_dir=_DATA_DIR.value)
  paths = sensitivity_study.write_report(_OUT.value, results, used)
  print('\n'.join(f'{k}: {v}' for k, v in paths.items()))
  for source, r in results.items():
    t = r['timing']
    print(f'{source}: one run {t["one_run_s"]:.3g} s, exact (6 params) {t["exact_all_params_s"]:.3g}'
          f' s, finite differences ({t["fd_runs"]} runs) {t["fd_all_params_s"]:.3g} s')
    for a in r['accuracy']:
      print(f'  FD {a["scheme"]} h={a["rel_step"]:g}: {a["simulations"]} runs {a["seconds"]:.3g} s, '
            f'max |error| {a["max_abs_error"]:.2g}')
    if r['reverse']:
      print(f'  reverse mode, {r["reverse"]["observable"]} {r["reverse"]["summary"]} only: '
            f'{r["reverse"]["seconds"]:.3g} s')


if __name__ == '__main__':
  app.run(main)
