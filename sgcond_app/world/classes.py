"""The tiny world's classes: their ids, names and palette, which are stuff, where they live, which
take a colour, and the words of scene-graph datasets that name them.

Everything the renderer can draw and the tiny backend's models are trained on is named here, once.
Other vocabularies (ADE20K, COCO-Stuff) are values (`graph/vocabularies`); the tiny world's is one
of them, built from this table. Modules outside the tiny world (the judge, the mapping, the edits,
the page) take a `Vocabulary` and never import this list (`tests/test_imports.py` checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..graph.vocab import VOID


@dataclass(frozen=True)
class ClassInfo:
    id: int
    name: str
    rgb: tuple[int, int, int]
    stuff: bool  # stuff is one region per class (sky, grass); things are countable instances


# Order is the class id. Colours are the segmentation palette: distinct, and close to what the
# thing looks like so that a segmentation PNG is readable by a person.
_CLASSES: tuple[tuple[str, tuple[int, int, int], bool], ...] = (
    ("sky", (110, 170, 235), True),
    ("cloud", (235, 235, 250), False),
    ("sun", (255, 215, 0), False),
    ("mountain", (120, 100, 140), True),
    ("grass", (60, 170, 60), True),
    ("water", (30, 80, 200), True),
    ("road", (90, 90, 90), True),
    ("sand", (220, 190, 120), True),
    ("snow", (200, 255, 255), True),
    ("tree", (0, 100, 0), False),
    ("bush", (110, 140, 30), False),
    ("house", (120, 0, 70), False),
    ("building", (150, 120, 90), False),
    ("car", (230, 30, 60), False),
    ("bus", (250, 160, 20), False),
    ("truck", (140, 40, 200), False),
    ("person", (255, 110, 180), False),
    ("dog", (160, 90, 20), False),
    ("sheep", (250, 250, 160), False),
    ("cow", (90, 50, 30), False),
    ("horse", (240, 150, 100), False),
    ("elephant", (60, 120, 150), False),
    ("boat", (0, 210, 210), False),
    ("fence", (170, 110, 110), False),
    ("rock", (120, 150, 130), False),
    ("bird", (20, 20, 20), False),
    ("kite", (255, 0, 255), False),
)

CLASSES: tuple[ClassInfo, ...] = tuple(
    ClassInfo(i, name, rgb, stuff) for i, (name, rgb, stuff) in enumerate(_CLASSES)
)
CLASS_NAMES: tuple[str, ...] = tuple(c.name for c in CLASSES)
CLASS_ID: dict[str, int] = {c.name: c.id for c in CLASSES}
NUM_CLASSES = len(CLASSES)
STUFF_IDS = frozenset(c.id for c in CLASSES if c.stuff)
# Palette as an array (NUM_CLASSES, 3) uint8; index with a class map to colour it.
PALETTE = np.array([c.rgb for c in CLASSES], dtype=np.uint8)

# Where a class lives in the world; the layout sampler and the renderer follow it.
SKY_THINGS = frozenset({"sun", "cloud", "bird", "kite"})
GROUND_STUFF = frozenset({"grass", "water", "road", "sand", "snow"})

# Classes whose colour the renderer takes from a colour attribute.
COLOURABLE = frozenset(
    {"car", "bus", "truck", "house", "building", "boat", "kite", "person", "bird", "fence", "dog",
     "horse", "cow", "sheep"}
)

# Common words of scene-graph datasets (COCO-Stuff, Visual Genome) for things the tiny world draws.
LABEL_ALIASES: dict[str, str] = {
    # sky and weather
    "sky-other": "sky", "skies": "sky", "clouds": "cloud", "cloudy sky": "sky", "sunshine": "sun",
    "sunlight": "sun", "moon": "sun",
    # landforms
    "hill": "mountain", "hills": "mountain", "mountains": "mountain", "mountainside": "mountain",
    "peak": "mountain", "cliff": "mountain", "hillside": "mountain",
    "field": "grass", "playingfield": "grass", "lawn": "grass", "meadow": "grass",
    "grass-merged": "grass", "pasture": "grass", "ground": "grass", "dirt": "sand",
    "gravel": "sand", "beach": "sand", "desert": "sand", "snowfield": "snow",
    # water
    "sea": "water", "ocean": "water", "river": "water", "lake": "water", "pond": "water",
    "waves": "water", "wave": "water", "water-other": "water", "harbor": "water",
    # roads
    "street": "road", "pavement": "road", "sidewalk": "road", "highway": "road", "asphalt": "road",
    "road-merged": "road", "railroad": "road", "path": "road", "runway": "road",
    # vegetation
    "trees": "tree", "tree-merged": "tree", "palm tree": "tree", "pine": "tree", "oak": "tree",
    "bushes": "bush", "shrub": "bush", "shrubs": "bush", "hedge": "bush", "plant": "bush",
    "plants": "bush", "flower": "bush", "flowers": "bush",
    # buildings
    "building-other": "building", "buildings": "building", "skyscraper": "building",
    "tower": "building", "church": "building", "houses": "house", "home": "house", "hut": "house",
    "cabin": "house", "barn": "house", "shed": "house", "cottage": "house",
    # vehicles
    "cars": "car", "taxi": "car", "van": "car", "suv": "car", "vehicle": "car", "jeep": "car",
    "buses": "bus", "trucks": "truck", "lorry": "truck", "pickup": "truck", "train": "bus",
    "tram": "bus", "boats": "boat", "ship": "boat", "sailboat": "boat", "canoe": "boat",
    "kayak": "boat", "yacht": "boat", "surfboard": "boat",
    # people
    "man": "person", "woman": "person", "men": "person", "women": "person", "boy": "person",
    "girl": "person", "child": "person", "kid": "person", "people": "person", "lady": "person",
    "guy": "person", "player": "person", "skier": "person", "surfer": "person",
    "rider": "person", "pedestrian": "person", "skateboarder": "person", "human": "person",
    # animals
    "puppy": "dog", "dogs": "dog", "lamb": "sheep", "cattle": "cow", "cows": "cow",
    "bull": "cow", "ox": "cow", "pony": "horse", "horses": "horse", "zebra": "horse",
    "giraffe": "horse", "elephants": "elephant", "birds": "bird", "seagull": "bird",
    "duck": "bird", "pigeon": "bird", "kites": "kite",
    # small things on the ground
    "stone": "rock", "stones": "rock", "rocks": "rock", "boulder": "rock", "railing": "fence",
    "fences": "fence", "wall": "fence",
}

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
