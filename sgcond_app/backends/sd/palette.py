"""Our 27 classes in the colours the segmentation ControlNet reads: ADE20K's 150-class palette.

lllyasviel/control_v11p_sd15_seg was trained on segmentations drawn in the ADE20K palette of the
annotators it ships with (UniFormer / OneFormer on ADE20K), the palette MMSegmentation defines in
`mmseg/datasets/ade.py` (`ADE20KDataset.METAINFO["palette"]`, also the `ada_palette` of the model
card's example). The colours below are that list's entries, looked up by the ADE20K class index
(0-based, as in that list: 0 wall, 1 building, 2 sky, ...).

Where ADE20K has no class of its own for one of ours, the nearest is chosen (why, beside each).
Several of ours then share one ADE20K class, and so one colour: the ControlNet cannot tell them
apart, and the prompt (which names them in the person's words) does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import BadInput
from ...world import classes


@dataclass(frozen=True)
class ADEClass:
    index: int  # in ADE20K's 150 classes, 0-based (the palette list's order)
    name: str
    rgb: tuple[int, int, int]


# The ADE20K classes we use, with their palette entries (mmseg/datasets/ade.py).
SKY = ADEClass(2, "sky", (6, 230, 230))
TREE = ADEClass(4, "tree", (4, 200, 3))
ROAD = ADEClass(6, "road", (140, 140, 140))
GRASS = ADEClass(9, "grass", (4, 250, 7))
BUILDING = ADEClass(1, "building", (180, 120, 120))
PERSON = ADEClass(12, "person", (150, 5, 61))
EARTH = ADEClass(13, "earth", (120, 120, 70))
MOUNTAIN = ADEClass(16, "mountain", (143, 255, 140))
PLANT = ADEClass(17, "plant", (204, 255, 4))
CAR = ADEClass(20, "car", (0, 102, 200))
WATER = ADEClass(21, "water", (61, 230, 250))
HOUSE = ADEClass(25, "house", (255, 9, 224))
FENCE = ADEClass(32, "fence", (255, 184, 6))
ROCK = ADEClass(34, "rock", (255, 41, 10))
SAND = ADEClass(46, "sand", (160, 150, 20))
BOAT = ADEClass(76, "boat", (173, 255, 0))
BUS = ADEClass(80, "bus", (255, 0, 245))
TRUCK = ADEClass(83, "truck", (255, 0, 20))
ANIMAL = ADEClass(126, "animal", (255, 0, 122))
FLAG = ADEClass(149, "flag", (92, 0, 255))

TABLE: dict[str, ADEClass] = {
    "sky": SKY,
    # ADE20K annotates clouds and the sun as part of the sky (it has no class for either); a region
    # of its own in another class's colour would make the ControlNet draw some other object there.
    "cloud": SKY,
    "sun": SKY,
    "mountain": MOUNTAIN,
    "grass": GRASS,
    "water": WATER,
    "road": ROAD,
    "sand": SAND,
    # No snow class: "earth, ground" is the plain ground ADE20K gives open land, so the layout says
    # "ground here" and the prompt says what covers it.
    "snow": EARTH,
    "tree": TREE,
    # No bush or shrub: ADE20K labels them "plant, flora, plant life".
    "bush": PLANT,
    "house": HOUSE,
    "building": BUILDING,
    "car": CAR,
    "bus": BUS,
    "truck": TRUCK,
    "person": PERSON,
    # ADE20K has a single "animal" class for every animal.
    "dog": ANIMAL,
    "sheep": ANIMAL,
    "cow": ANIMAL,
    "horse": ANIMAL,
    "elephant": ANIMAL,
    "bird": ANIMAL,
    "boat": BOAT,
    "fence": FENCE,
    "rock": ROCK,
    # No kite: a flag is the nearest in look (a sheet of coloured cloth held up in the air on a
    # line); "plaything, toy" is nearer in meaning but ADE20K's are indoor toys on the floor.
    "kite": FLAG,
}

# (NUM_CLASSES, 3) uint8, indexed by our class id.
ADE_PALETTE = np.array([TABLE[name].rgb for name in classes.CLASS_NAMES], dtype=np.uint8)
UNKNOWN_RGB = (0, 0, 0)  # a void pixel: no ADE20K class (the palette has no black)


def ade_class(name: str) -> ADEClass:
    """The ADE20K class one of our classes is drawn as."""
    return TABLE[name]


def colorize(class_map: np.ndarray, vocabulary=None) -> np.ndarray:
    """(S, S) class ids -> (S, S, 3) uint8 in the ADE20K colours; void pixels black. `vocabulary`:
    what the ids are (default the tiny world's, drawn through `TABLE`); a map in ADE20K's own classes
    (a picture the extractors read) takes their palette as it is."""
    if vocabulary is not None and vocabulary.name not in ("tiny", "ade20k"):
        raise BadInput(f"the segmentation ControlNet reads ADE20K's classes; a map in {vocabulary.name}'s has "
                       "no colours it was trained on")
    palette = ADE_PALETTE if vocabulary is None or vocabulary.name == "tiny" else vocabulary.palette
    ids = np.asarray(class_map)
    out = np.zeros(ids.shape + (3,), dtype=np.uint8)
    out[...] = UNKNOWN_RGB
    valid = (ids >= 0) & (ids < len(palette))
    out[valid] = palette[ids[valid].astype(np.int64)]
    return out
