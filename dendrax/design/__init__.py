"""dendrax.design: charging protocols and electrolytes designed through the simulator and CNN-2."""
