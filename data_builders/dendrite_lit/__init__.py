"""TFDS builder `dendrite_lit` (literature dendrite images); importing registers it."""

from data_builders.dendrite_lit.dendrite_lit import (DendriteLit, DendriteLitConfig,
                                                     convert_manifest, make_config)

__all__ = ['DendriteLit', 'DendriteLitConfig', 'convert_manifest', 'make_config']
