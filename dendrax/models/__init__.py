"""Surrogate models: the UNet of Zhao et al., its conditioning variants, and the architecture
ablation (ConvNeXt UNet, FNO).

`MODELS` maps a config's `model_name` to the module class; the class is built with the keyword
arguments of `config.model` (`build_model`). Every model is called as
`apply(variables, inputs [B, H, W, C], cond [B, K]) -> xi' [B, H, W, 1]` and has a `min_side`
property (a frame side it accepts, used to initialise parameters on a small frame).
"""

from __future__ import annotations

from typing import Any, Mapping

import flax.linen as nn

from dendrax.models.cnext import CNextUNet
from dendrax.models.fno import FNO
from dendrax.models.unet import CNN1, CNN2, ConcatUNet, UNet

# config.model_name -> module class. An explicit table: grep finds every model.
MODELS: dict[str, type[nn.Module]] = {
    'cnn1': CNN1,
    'cnn2': CNN2,
    'concat': ConcatUNet,
    'cnext': CNextUNet,
    'fno': FNO,
}


def build_model(model_name: str, model_kwargs: Mapping[str, Any]) -> nn.Module:
  """`MODELS[model_name](**model_kwargs)`, with errors naming the bad config key.

  Lists (as configs come back from JSON) are turned into tuples so the module stays hashable.
  """
  if model_name not in MODELS:
    raise ValueError(f'model_name={model_name!r} is not one of {sorted(MODELS)}')
  cls = MODELS[model_name]
  fields = set(cls.__dataclass_fields__) - {'parent', 'name'}
  unknown = sorted(set(model_kwargs) - fields)
  if unknown:
    raise ValueError(f'unknown key(s) config.model.{unknown[0]} (all unknown: {unknown}); '
                     f'{cls.__name__} takes {sorted(fields)}')
  kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in model_kwargs.items()}
  return cls(**kwargs)


__all__ = ['MODELS', 'build_model', 'UNet', 'CNN1', 'CNN2', 'ConcatUNet', 'CNextUNet', 'FNO']
