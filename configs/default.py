r"""Default run: CNN-2 (FiLM UNet) on `dendrite_sim/small`, every key documented.

Variants (cnn1.py, cnn2.py, concat.py, tiny.py) import this file and override a few fields.

  python launch.py --config configs/default.py --workdir workdirs/default
  python launch.py --config configs/default.py --workdir workdirs/x --config.train.lr=3e-3
"""

import ml_collections
from ml_collections import config_dict


def get_config() -> ml_collections.ConfigDict:
  """The default config (CNN-2 on dendrite_sim/small)."""
  config = ml_collections.ConfigDict()
  config.seed = 0                        # seeds init, data order and augmentation
  config.model_name = 'cnn2'             # key of dendrax.models.MODELS: cnn1 | cnn2 | concat | cnext | fno

  # Keyword arguments of the model class (dendrax/models/unet.py).
  config.model = ml_collections.ConfigDict()
  config.model.features = (16, 32, 64, 96, 128)  # channels per level; 5 levels = 4 poolings
  config.model.film_hidden = (64, 64)    # hidden widths of the FiLM MLP (cnn2 only)
  config.model.film_init_scale = 0.1     # init scale of the FiLM MLP's last layer
  config.model.activation = 'gelu'       # relu | gelu | silu | leaky_relu
  config.model.output = 'logit_residual'  # logit_residual | residual | sigmoid
  config.model.xi_clip = 1e-3            # xi clipped to [c, 1-c] before the logit
  config.model.padding = 'zeros'         # zeros | physical (x periodic, y edge: the simulator's boundaries)

  config.data = ml_collections.ConfigDict()
  config.data.name = 'dendrite_sim/small'  # TFDS dataset (docs/interfaces.md); 'a+b' mixes datasets
  config.data.data_dir = config_dict.placeholder(str)  # TFDS dir; None: $DENDRAX_DATA_DIR or ~/tensorflow_datasets
  config.data.build_if_missing = True    # generate the dataset when it is not built yet
  config.data.train_split = 'train'      # TFDS split expression trained on; the normaliser is fitted on it
  config.data.validation_split = 'validation'  # TFDS split expression of validation, checkpoint selection and early stopping
  config.data.heldout_split = ''         # TFDS split expression of the 'heldout' rollout role ('' = none; CV folds)
  config.data.masked_parameters = ()     # PARAMETER_NAMES given as missing (z=0, flag 1) in every cond
  config.data.input_fields = ('xi',)     # model input channels; xi first (+ concentration, potential_v)
  config.data.augment = True             # mirror and periodic shift in x (dendrax/data/augmentation.py)
  config.data.prefetch_threads = 2       # threads reading and batching training examples
  config.data.in_memory = True           # decode every split into RAM once (small: ~80 MB); False streams array_record

  config.train = ml_collections.ConfigDict()
  config.train.batch_size = 32           # global batch (split over devices)
  config.train.num_steps = 2000          # optimiser steps (the cosine schedule spans them); ~13 min on 2 CPU cores
  config.train.unroll_steps = 1          # >1: train through k autoregressive 30 s steps (windows.py)
  config.train.optimizer = 'adamw'       # adam | adamw | lamb | sgd
  config.train.lr = 2e-3                 # peak learning rate
  config.train.warmup_steps = 100        # linear warmup from 0 to lr
  config.train.end_lr_factor = 0.01      # final lr = lr * end_lr_factor (cosine decay)
  config.train.weight_decay = 1e-4       # decoupled weight decay (adamw, lamb)
  config.train.grad_clip = 1.0           # clip by global norm; 0 disables
  config.train.ema_decay = 0.0           # >0: evaluate a moving average of the weights (state.py)
  config.train.num_devices = 0           # data-parallel devices; 0 = all of jax.devices()
  config.train.log_every_steps = 50      # progress line and train metrics every N steps
  # Extra loss terms (issue 11); both need batch fields that only the loop hook provides.
  config.train.derivative_weight = 0.0   # weight of the DINO term, dendrax/train/derivative_loss.py (0 = off)
  config.train.derivative_floor = 1e-2   # RMS tangent per pixel (xi per unit ln P) counted as insensitive
  config.train.derivative_share = 0.0    # share of each batch from trajectories with tangents (0 = as they come; pipeline.next_state_batches)
  config.train.physics_weight = 0.0      # weight of the Faraday term, dendrax/train/physics_loss.py (0 = off)
  config.train.physics_floor_px = 0.05   # deposit per jump (cells of thickness) counted as none

  config.loss = ml_collections.ConfigDict()
  config.loss.pixel = 'mse'              # mse | barron (Barron 2019 general robust loss)
  config.loss.pixel_weight = 1.0         # weight of the pixel loss
  config.loss.morph = 'bce'              # none | dice | dice_squared | bce (losses.py; bce keeps rollouts stable, 'dice' is biased: docs/training.md)
  config.loss.morph_weight = 0.1         # weight of the morphology term
  config.loss.length_weight = 0.0        # weight of the dendrite-length term (0 = off)
  config.loss.length_scale_um = 10.0     # length error that costs 1 in that term, um
  config.loss.barron_alpha = 1.0         # Barron shape alpha (2: L2, 1: pseudo-Huber, 0: Cauchy)
  config.loss.barron_scale = 0.05        # Barron scale c (xi units)

  config.eval = ml_collections.ConfigDict()
  config.eval.every_steps = 250          # validate and save a checkpoint every N steps (a kill loses at most N)
  config.eval.batch_size = 64            # batch of validation steps and rollouts
  config.eval.select_metric = 'rollout_length_mse'  # best checkpoint / early stopping, on validation: rollout_length_mse (210 s rollouts, um^2) | loss (one-step)
  config.eval.patience = 4               # early stop after N validations without improvement
  config.eval.min_delta = 0.0            # improvement smaller than this does not reset the patience
  config.eval.rollout_splits = ('train', 'validation', 'test', 'ood')  # final rollout metrics (+ 'heldout')
  config.eval.max_rollout_trajectories = 0  # per split; 0 = all
  config.eval.mask_threshold = 0.5       # deposit mask: xi > threshold
  config.eval.teacher_forcing = False    # True: feed the true non-xi input fields at every rollout step (labelled)
  config.eval.bootstrap_samples = 1000   # resamples of the trajectories for the 95 % intervals; 0 = none
  config.eval.bootstrap_seed = 0         # seed of those resamples (the same for every run: comparable intervals)

  config.checkpoint = ml_collections.ConfigDict()
  config.checkpoint.max_to_keep = 2      # newest checkpoints kept for resuming (orbax keeps the best as well)
  return config
