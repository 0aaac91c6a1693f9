"""Training of the surrogates: state and optimiser, losses, data-parallel steps, checkpoints,
metric logging, rollout evaluation and `loop.train_and_evaluate` (called by launch.py)."""
