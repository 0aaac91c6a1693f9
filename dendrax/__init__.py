"""dendrax: differentiable phase-field electrodeposition and CNN surrogates of dendrite growth."""
