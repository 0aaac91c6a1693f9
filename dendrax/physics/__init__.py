"""dendrax.physics: differentiable phase-field electrodeposition in pure JAX."""
from dendrax.physics.parameters import PhysicalParams, PARAMETER_NAMES, PARAMETER_SPECS
