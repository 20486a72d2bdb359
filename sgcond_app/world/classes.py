"""The tiny world's classes: their ids, names and palette, which are stuff, where they live, which
take a colour, and the words of scene-graph datasets that name them.

Everything the renderer can draw and the tiny backend's models are trained on is named once, in the
tiny vocabulary's table (`graph/vocabularies/tiny.json`), a value like ADE20K's or COCO-Stuff's; this
module gives the world its constants from it. Modules outside the tiny world (the judge, the
mapping, the edits, the page) take a `Vocabulary` and never import this list
(`tests/test_imports.py` checks it), and the graph package imports nothing of the world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..graph.vocab import VOID
from ..graph.vocabularies import load

_TABLE = load("tiny")


@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    rgb: tuple[int, int, int]
    stuff: bool  # stuff is one region per class (sky, grass); things are countable instances


# Order is the class id. Colours are the segmentation palette: distinct, and close to what the
# thing looks like so that a segmentation PNG is readable by a person.
CLASSES: tuple[ClassInfo, ...] = tuple(
    ClassInfo(i, name, tuple(int(c) for c in rgb), stuff)
    for i, name, stuff, rgb in zip(_TABLE.ids, _TABLE.classes, _TABLE.stuff, _TABLE.palette, strict=True)
)
CLASS_NAMES: tuple[str, ...] = tuple(c.name for c in CLASSES)
CLASS_ID: dict[str, int] = {c.name: c.id for c in CLASSES}
NUM_CLASSES = len(CLASSES)
STUFF_IDS = frozenset(c.id for c in CLASSES if c.stuff)
# Palette as an array (NUM_CLASSES, 3) uint8; index with a class map to colour it.
PALETTE = np.array([c.rgb for c in CLASSES], dtype=np.uint8)

# Where a class lives in the world; the layout sampler and the renderer follow it.
SKY_THINGS = _TABLE.airborne
GROUND_STUFF = _TABLE.ground

# Classes whose colour the renderer takes from a colour attribute.
COLOURABLE = _TABLE.colourable

# Common words of scene-graph datasets (COCO-Stuff, Visual Genome) for things the tiny world draws.
LABEL_ALIASES: dict[str, str] = dict(_TABLE.aliases)


def class_id(name: str) -> int:
    return CLASS_ID[name]


def is_stuff(name: str) -> bool:
    return CLASS_ID[name] in STUFF_IDS


def colorize(class_map: np.ndarray) -> np.ndarray:
    """(H, W) class ids -> (H, W, 3) uint8 palette colours; void pixels become black."""
    out = np.zeros(class_map.shape + (3,), dtype=np.uint8)
    valid = class_map < NUM_CLASSES
    out[valid] = PALETTE[class_map[valid]]
    return out


def decolorize(rgb: np.ndarray, tolerance: int = 0) -> np.ndarray:
    """(H, W, 3) palette image -> (H, W) class ids (uint8), `VOID` where no class colour matches.

    With `tolerance` > 0 a pixel takes the nearest palette colour within that L-inf distance, which
    reads segmentations that went through lossy resizing or compression.
    """
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError("a segmentation must be an RGB image")
    rgb = rgb[..., :3].astype(np.int32)
    key = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    pal = PALETTE.astype(np.int32)
    pal_key = (pal[:, 0] << 16) | (pal[:, 1] << 8) | pal[:, 2]
    order = np.argsort(pal_key)
    pos = np.clip(np.searchsorted(pal_key[order], key), 0, NUM_CLASSES - 1)
    hit = pal_key[order][pos] == key
    out = np.where(hit, order[pos], VOID).astype(np.uint8)
    if tolerance > 0 and not hit.all():
        # Each distinct colour once, a slice at a time: a noisy 2048x2048 map has millions of them,
        # and all pixels against all classes at once would take gigabytes.
        miss = ~hit
        colours, back = np.unique(key[miss], return_inverse=True)
        found = np.empty(len(colours), np.uint8)
        for start in range(0, len(colours), 65_536):
            part = colours[start:start + 65_536]
            c = np.stack([part >> 16, (part >> 8) & 255, part & 255], axis=1)
            d = np.abs(c[:, None, :] - pal[None, :, :]).max(axis=2)
            nearest = d.argmin(axis=1)
            ok = d[np.arange(len(nearest)), nearest] <= tolerance
            found[start:start + 65_536] = np.where(ok, nearest, VOID)
        out[miss] = found[back.ravel()]
    return out
