r"""Evaluates a design problem's objective at given points: a virtual test of chosen protocols.

  python -m experiments.design_points --config configs/design/multistep_resolved.py \
      --points '[{"step8_current_ma_cm2": 50}, {}]' --out D [--grad]

Each point names some of the problem's variables in physical units (`configs/design`); the rest
sit at the box's lower bound (`--fill=low`, default), centre or upper bound. Writes
`D/points.json`: per point its values, the length at the charge Q (the design objective), the
reported observables at Q (time, voltage, current, tip height, interface length) and, with
`--grad`, the gradient in unit-box coordinates (as the design methods see it). Values outside the
bounds stop with an error that names the variable.
"""

import json
import os

from absl import app
from absl import flags
from ml_collections import config_flags

from experiments import common

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Design config (configs/design/).',
                                          lock_config=True)
_POINTS = flags.DEFINE_string('points', None, 'JSON list of {variable: value} (physical units).')
_FILL = flags.DEFINE_enum('fill', 'low', ['low', 'centre', 'high'],
                          'Where the variables a point does not name sit in the box.')
_GRAD = flags.DEFINE_bool('grad', False, 'Also the gradient (one value-and-grad run per point).')
_OUT = flags.DEFINE_string('out', None, 'Output folder.')
flags.mark_flags_as_required(['config', 'points', 'out'])

_FILL_U = {'low': 0.0, 'centre': 0.5, 'high': 1.0}


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments {argv[1:]}')
  common.quiet()
  from dendrax.design import methods  # pylint: disable=g-import-not-at-top
  from dendrax.design import problem as problem_lib  # pylint: disable=g-import-not-at-top
  from dendrax.design import simulator_adapter as sa  # pylint: disable=g-import-not-at-top
  from dendrax.design import study  # pylint: disable=g-import-not-at-top
  config = _CONFIG.value
  try:
    points = json.loads(_POINTS.value)
  except json.JSONDecodeError as e:
    raise app.UsageError(f'--points is not JSON: {e}') from None
  if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
    raise app.UsageError('--points must be a JSON list of {variable: value} objects')
  settings = study.simulator_settings(config)
  problem = problem_lib.make_problem(config.problem, settings)
  simulator = sa.make_simulator(settings, problem.protocol, problem.fixed)
  objective, _ = methods.make_objective(problem, simulator.observe)
  rows = []
  for point, u in zip(points, problem_lib.points_in_box(problem, points, _FILL_U[_FILL.value])):
    if _GRAD.value:
      value, grad, aux = objective.value_and_grad(u)
    else:
      (value, aux), grad = objective.forward(u), None
    values = {k: float(v) for k, v in problem.decode(u).items()}
    problem_lib.check_evaluation(problem, values, aux, grad)
    rows.append({'point': point, 'values': values, problem_lib.OBJECTIVE: value, 'at_charge': aux,
                 'grad_unit_box': None if grad is None else [float(g) for g in grad]})
    print(f'{json.dumps(point)}: {value:.4f} um at Q (t = {aux["time_at_charge_s"]:.1f} s)',
          flush=True)
  os.makedirs(_OUT.value, exist_ok=True)
  from dendrax.analysis import report as report_lib  # pylint: disable=g-import-not-at-top
  report_lib.write_json(os.path.join(_OUT.value, 'points.json'),
                        {'problem': problem.name, 'fill': _FILL.value, 'points': rows})


if __name__ == '__main__':
  app.run(main)
