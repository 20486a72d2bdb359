"""Scene graphs of annotated objects by sg2im's geometric rules (Johnson et al., "Image Generation
from Scene Graphs", 2018, and its COCO loader), as the field compares graphs made from COCO:

- the objects kept: each at least `MIN_OBJECT_SIZE` of the picture's area (by its box), COCO-Stuff's
  "other" left out; a picture with fewer than `MIN_OBJECTS` or more than `MAX_OBJECTS` such objects
  gives no graph (sg2im leaves it out of training);
- each object takes one other object (chosen at random, seeded by the picture), and which of the two
  is the subject is a coin flip; the predicate is read from their boxes and the centres of their
  masks: `surrounding` when the subject's box holds the other's strictly, `inside` the reverse,
  else by the angle of the vector from the object's centre to the subject's: `left of`, `above`,
  `right of`, `below` (y grows downwards, as in the picture).

sg2im adds an `__image__` node every object is `in`; it says nothing about the layout and is not
made here. The random choices use `random.Random(seed)`: the same picture gives the same graph.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

MIN_OBJECT_SIZE = 0.02
MIN_OBJECTS, MAX_OBJECTS = 3, 8
PREDICATES = ("left of", "right of", "above", "below", "inside", "surrounding")


@dataclass(frozen=True)
class Thing:
    label: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the picture's width and height
    centre: tuple[float, float]  # of its mask (of its box without one), as fractions


def thing_of(label: str, mask: np.ndarray) -> Thing | None:
    """A Thing from a boolean mask (H, W); None for an empty one."""
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return None
    h, w = mask.shape
    return Thing(label, (xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h),
                 (float(xs.mean() + 0.5) / w, float(ys.mean() + 0.5) / h))


def kept(things: list[Thing]) -> list[Thing]:
    """The objects sg2im keeps: big enough by their box, in their order."""
    return [t for t in things if (t.box[2] - t.box[0]) * (t.box[3] - t.box[1]) >= MIN_OBJECT_SIZE]


def predicate(s: Thing, o: Thing) -> str:
    """sg2im's predicate of subject s and object o."""
    sx0, sy0, sx1, sy1 = s.box
    ox0, oy0, ox1, oy1 = o.box
    if sx0 < ox0 and sx1 > ox1 and sy0 < oy0 and sy1 > oy1:
        return "surrounding"
    if sx0 > ox0 and sx1 < ox1 and sy0 > oy0 and sy1 < oy1:
        return "inside"
    theta = math.atan2(s.centre[1] - o.centre[1], s.centre[0] - o.centre[0])
    if theta >= 3 * math.pi / 4 or theta <= -3 * math.pi / 4:
        return "left of"
    if -3 * math.pi / 4 <= theta < -math.pi / 4:
        return "above"
    if -math.pi / 4 <= theta < math.pi / 4:
        return "right of"
    return "below"


def graph_of(things: list[Thing], seed: int) -> tuple[list[Thing], list[tuple[int, str, int]]] | None:
    """(the objects kept, the relations (subject, predicate, object) between them), or None where
    sg2im would leave the picture out (too few or too many objects)."""
    objects = kept(things)
    if not MIN_OBJECTS <= len(objects) <= MAX_OBJECTS:
        return None
    rng = random.Random(seed)
    relations = []
    for i in range(len(objects)):
        j = rng.choice([k for k in range(len(objects)) if k != i])
        s, o = (i, j) if rng.random() > 0.5 else (j, i)
        relations.append((s, predicate(objects[s], objects[o]), o))
    return objects, relations
