"""TFDS builder `dendrite_vasp` (VASP runs -> occupancy trajectories); importing registers it."""

from data_builders.dendrite_vasp.dendrite_vasp import (DendriteVasp, DendriteVaspConfig,
                                                       convert_runs, make_config, run_example)

__all__ = ['DendriteVasp', 'DendriteVaspConfig', 'convert_runs', 'make_config', 'run_example']
