"""TFDS builder `dendrite_sim` (simulated dendrite growth); importing this registers it."""

from data_builders.dendrite_sim.dendrite_sim import DendriteSim, DendriteSimConfig, make_config

__all__ = ['DendriteSim', 'DendriteSimConfig', 'make_config']
