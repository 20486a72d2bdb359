"""SGCond Studio: scene graphs to images through a factor-graph diffusion chain."""

__version__ = "0.1.0"
