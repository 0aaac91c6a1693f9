r"""The morphology term's bias: 40 training steps on synthetic dendrites per `loss.morph`.

  python -m benchmarks.morph_loss_bias

From the identity init (the UNet's output convolution starts at zero), the small test UNet of
tests/conftest.py trains 40 steps on tests/train/synthetic_dendrites.py with each morphology
term, and the loss and one-step MSE on one fixed batch are printed before and after. The linear
soft Dice is not smallest at a soft target (dendrax/train/losses.py `soft_dice`), so with it the
loss falls while the MSE rises; the table is in docs/training.md. About 1 min on 2 CPU cores.
"""

import jax

from dendrax.data import normalization
from dendrax.data import pipeline
from dendrax.train import setup
from dendrax.train import steps
from tests.conftest import small_train_config
from tests.train import synthetic_dendrites


def before_and_after(morph: str, num_steps: int = 40) -> dict[str, tuple[float, float]]:
  config = small_train_config(train={'num_steps': num_steps, 'lr': 3e-3})
  config.loss.morph = morph
  source = synthetic_dendrites.source('train')
  normalizer = normalization.Normalizer.fit(source)
  batches = pipeline.next_state_batches(source, normalizer, batch_size=16, seed=0,
                                       num_epochs=None, augment=True)
  mesh = steps.make_mesh(1)
  model = setup.build_model(config)
  state = steps.replicate(setup.initial_state(config, jax.random.key(0)), mesh)
  train_fn, eval_fn = steps.compile_steps(mesh, model.apply, config.loss.to_dict())
  fixed = steps.shard_batch(next(batches), mesh)
  first = eval_fn(state.params, fixed)
  for _ in range(num_steps):
    state, _ = train_fn(state, steps.shard_batch(next(batches), mesh))
  last = eval_fn(state.params, fixed)
  return {k: (float(first[k]), float(last[k])) for k in ('loss', 'mse')}


def main():
  print('| loss.morph | loss, before -> after | one-step MSE, before -> after |')
  print('|---|---|---|')
  for morph in ('dice', 'dice_squared', 'none', 'bce'):
    r = before_and_after(morph)
    print(f"| {morph} | {r['loss'][0]:.3g} -> {r['loss'][1]:.3g} | "
          f"{r['mse'][0]:.3g} -> {r['mse'][1]:.3g} ({r['mse'][1] / r['mse'][0]:.2f}x) |")


if __name__ == '__main__':
  main()
