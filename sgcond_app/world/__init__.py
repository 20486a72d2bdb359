"""The tiny world: a procedural renderer of small outdoor scenes with pixel-aligned maps and graphs."""

from .render import Maps, Scene, Thing, rasterize
from .sample import Sample, render_sample

__all__ = ["Maps", "Sample", "Scene", "Thing", "rasterize", "render_sample"]
