"""Shared pytest setup: a persistent XLA compilation cache so repeated test runs compile once."""
import os

import jax

_CACHE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '.jax_cache')
jax.config.update('jax_compilation_cache_dir', _CACHE)
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.5)
