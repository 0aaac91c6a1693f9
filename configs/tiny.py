r"""A CNN-2 run on dendrite_sim/tiny (32x32) that finishes in a few minutes; for tests and CI.

  python launch.py --config configs/tiny.py --workdir workdirs/tiny
"""

from configs import default


def get_config():
  config = default.get_config()
  config.model_name = 'cnn2'
  config.model.features = (8, 8, 16, 16, 16)
  config.model.film_hidden = (16,)
  config.data.name = 'dendrite_sim/tiny'
  config.train.batch_size = 16
  config.train.num_steps = 60
  config.train.warmup_steps = 5
  config.train.log_every_steps = 10
  config.eval.every_steps = 20
  config.eval.batch_size = 16
  config.eval.bootstrap_samples = 200
  return config
