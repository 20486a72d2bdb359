"""Mask operations: pure functions on a segmentation (class ids) and an instance map.

Every operation returns a new `Masks` and leaves its input untouched, so an editor can keep the
states for undo and redo. A generated segmentation has no instance map: `Masks.from_segmentation`
reads one off it the way the judge does (stuff: one region per class; things: 8-connected
components). Things can be picked, moved, flipped, resized, deleted and pasted; the hole a thing
leaves is filled with what is behind it, nearest to each of its pixels: the stuff (sky above the
horizon, the ground below) and, given a depth map, the things it touched that are farther away
(a house the car stood in front of continues where the car was).

Amounts are a person's: a pixel (x, y) must be a whole number on the map; a move or paste offset a
finite number of pixels no larger than the map (farther can only be a mistake, and no object stays
in the picture); a scale a finite number in [1/MAX_SCALE, MAX_SCALE]. Anything else is `BadInput`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from scipy import ndimage

from ..errors import BadInput, shown
from ..graph import vocabularies
from ..graph.vocabularies import Vocabulary

_EIGHT = np.ones((3, 3), bool)
MAX_SCALE = 4.0


@dataclass(frozen=True)
class Masks:
    segmentation: np.ndarray  # (H, W) uint8 class ids
    instances: np.ndarray  # (H, W) int32, 1.. for every region (stuff and things)
    depth: np.ndarray | None = None  # (H, W) disparity, near = 1, of the map before any edit
    vocabulary: Vocabulary | None = None  # the classes the map holds (None: the tiny world's)

    @property
    def vocab(self) -> Vocabulary:
        return vocabularies.or_tiny(self.vocabulary)

    @classmethod
    def from_segmentation(cls, seg: np.ndarray, depth: np.ndarray | None = None,
                          vocabulary: Vocabulary | None = None) -> Masks:
        v = vocabularies.or_tiny(vocabulary)
        seg = np.asarray(seg, dtype=np.uint8)
        inst = np.zeros(seg.shape, np.int32)
        next_id = 1
        for cid in np.unique(seg):
            mask = seg == cid
            if cid in v.stuff_positions or cid >= len(v):
                inst[mask] = next_id
                next_id += 1
                continue
            labels, n = ndimage.label(mask, structure=_EIGHT)
            inst[mask] = labels[mask] + next_id - 1
            next_id += n
        return cls(seg, inst, None if depth is None else np.asarray(depth, dtype=np.float32), vocabulary)

    @property
    def shape(self) -> tuple[int, int]:
        return self.segmentation.shape

    def label_of(self, iid: int) -> str:
        cid = int(self.segmentation[self.mask(iid)][0])
        return self.vocab.classes[cid] if cid < len(self.vocab) else "void"

    def things(self) -> list[int]:
        """Instance ids of things, largest first."""
        ids, counts = np.unique(self.instances, return_counts=True)
        out = [(int(c), int(i)) for i, c in zip(ids, counts) if i and not self.is_stuff(int(i))]
        return [i for _, i in sorted(out, reverse=True)]

    def is_stuff(self, iid: int) -> bool:
        cid = int(self.segmentation[self.mask(iid)][0])
        return cid in self.vocab.stuff_positions or cid >= len(self.vocab)

    def mask(self, iid: int) -> np.ndarray:
        m = self.instances == iid
        if not m.any():
            raise BadInput(f"object {iid} is not in this segmentation")
        return m


def _number(value: object, name: str) -> float | int:
    """`value` if it is a finite real number (not a bool); else BadInput naming it."""
    if isinstance(value, bool) or not isinstance(value, Real) or (
            not isinstance(value, Integral) and not math.isfinite(value)):
        raise BadInput(f"{name} must be a finite number, not {shown(value)}")
    return value


def _offset(value: object, name: str, extent: int) -> int:
    """A move or paste offset in whole pixels (a fraction is cut off), at most the map's extent."""
    value = _number(value, name)
    if abs(value) > extent:
        raise BadInput(f"{name} = {shown(value)} pixels is farther than the map is {extent} pixels across")
    return int(value)


def pick(masks: Masks, x: int, y: int) -> int:
    """The thing under pixel (x, y). A click on stuff or outside the map is a person's mistake."""
    h, w = masks.shape
    x, y = _number(x, "x"), _number(y, "y")
    if x != int(x) or y != int(y):
        raise BadInput(f"({shown(x)}, {shown(y)}) is not a pixel: x and y are whole numbers")
    x, y = int(x), int(y)
    if not (0 <= x < w and 0 <= y < h):
        raise BadInput(f"({x}, {y}) is outside the {w}x{h} segmentation")
    iid = int(masks.instances[y, x])
    if masks.is_stuff(iid):
        raise BadInput(f"({x}, {y}) is on {masks.label_of(iid)}, not on an object: click a thing to edit it")
    return iid


BEHIND = 0.03  # how much farther (in disparity) a thing must be to show through a hole


def _fill(seg: np.ndarray, inst: np.ndarray, hole: np.ndarray, depth: np.ndarray | None = None,
          vocabulary: Vocabulary | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of `hole` take the class and instance of the nearest pixel outside it that is behind:
    stuff, and with `depth` the things touching the hole that are farther than what left it."""
    stuff = np.isin(seg, list(vocabularies.or_tiny(vocabulary).stuff_positions)) & ~hole
    if depth is not None and hole.any():
        gone = float(np.median(depth[hole]))
        ring = ndimage.binary_dilation(hole, structure=_EIGHT) & ~hole
        for iid in np.unique(inst[ring]):
            other = (inst == iid) & ~hole
            if other.any() and not stuff[other].any() and float(np.median(depth[other])) < gone - BEHIND:
                stuff |= other
    if not stuff.any():
        stuff = ~hole
    if not stuff.any():  # the hole is the whole map: nothing to fill it with
        return seg.copy(), inst.copy()
    _, (iy, ix) = ndimage.distance_transform_edt(~stuff, return_indices=True)
    seg, inst = seg.copy(), inst.copy()
    seg[hole] = seg[iy[hole], ix[hole]]
    inst[hole] = inst[iy[hole], ix[hole]]
    return seg, inst


def _place(masks: Masks, iid: int, shape_mask: np.ndarray, cid: int) -> Masks:
    """Remove instance iid (filling its hole), then draw `shape_mask` as instance iid of class cid."""
    seg, inst = _fill(masks.segmentation, masks.instances, masks.instances == iid, masks.depth, masks.vocabulary)
    seg[shape_mask] = cid
    inst[shape_mask] = iid
    return Masks(seg, inst, masks.depth, masks.vocabulary)


def _shift(mask: np.ndarray, dx: int, dy: int) -> np.ndarray:
    out = np.zeros_like(mask)
    h, w = mask.shape
    ys, xs = np.nonzero(mask)
    ys, xs = ys + dy, xs + dx
    keep = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
    out[ys[keep], xs[keep]] = True
    return out


def _class(masks: Masks, iid: int) -> int:
    return int(masks.segmentation[masks.mask(iid)][0])


def move(masks: Masks, iid: int, dx: int, dy: int) -> Masks:
    """Move a thing by (dx, dy) pixels; what leaves the map is cut off."""
    h, w = masks.shape
    moved = _shift(masks.mask(iid), _offset(dx, "move: dx", w), _offset(dy, "move: dy", h))
    if not moved.any():
        raise BadInput("that move would take the object out of the picture")
    return _place(masks, iid, moved, _class(masks, iid))


def flip(masks: Masks, iid: int, axis: str = "horizontal") -> Masks:
    """Mirror a thing within its bounding box (horizontal: left-right; vertical: upside down)."""
    if axis not in ("horizontal", "vertical"):
        raise BadInput("flip: axis must be horizontal or vertical")
    m = masks.mask(iid)
    ys, xs = np.nonzero(m)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    out = np.zeros_like(m)
    box = m[y0:y1, x0:x1]
    out[y0:y1, x0:x1] = box[:, ::-1] if axis == "horizontal" else box[::-1, :]
    return _place(masks, iid, out, _class(masks, iid))


def resize(masks: Masks, iid: int, scale: float) -> Masks:
    """Scale a thing about the middle of its bottom edge (where it stands), nearest neighbour."""
    scale = _number(scale, "resize: the scale")
    if not 1 / MAX_SCALE <= scale <= MAX_SCALE:
        raise BadInput(f"resize: the scale must be between {1 / MAX_SCALE:g} and {MAX_SCALE:g}, "
                       f"not {shown(scale)}")
    m = masks.mask(iid)
    h, w = m.shape
    ys, xs = np.nonzero(m)
    ax, ay = (xs.min() + xs.max() + 1) / 2, ys.max() + 1
    gy, gx = np.mgrid[0:h, 0:w]
    sy = np.floor((gy + 0.5 - ay) / scale + ay).astype(int)
    sx = np.floor((gx + 0.5 - ax) / scale + ax).astype(int)
    inside = (sy >= 0) & (sy < h) & (sx >= 0) & (sx < w)
    out = np.zeros_like(m)
    out[inside] = m[sy[inside], sx[inside]]
    if not out.any():
        raise BadInput("resize: the object would vanish at that scale")
    return _place(masks, iid, out, _class(masks, iid))


def delete(masks: Masks, iid: int) -> Masks:
    """Remove a thing; its pixels become what is behind it (see `_fill`)."""
    seg, inst = _fill(masks.segmentation, masks.instances, masks.mask(iid), masks.depth, masks.vocabulary)
    return Masks(seg, inst, masks.depth, masks.vocabulary)


def paste(masks: Masks, source: Masks, source_iid: int, dx: int = 0, dy: int = 0) -> Masks:
    """Copy a thing from another map (a candidate, an earlier result) into this one, shifted by
    (dx, dy); it becomes a new instance drawn over what is there."""
    if source.shape != masks.shape:
        raise BadInput(f"paste: the source map is {source.shape}, this one {masks.shape}")
    if source.vocab.name != masks.vocab.name:
        raise BadInput(f"paste: the source map is in {source.vocab.name}'s classes, this one in {masks.vocab.name}'s")
    if source.is_stuff(source_iid):
        raise BadInput("paste: only objects can be pasted, not stuff")
    h, w = masks.shape
    shape_mask = _shift(source.mask(source_iid), _offset(dx, "paste: dx", w), _offset(dy, "paste: dy", h))
    if not shape_mask.any():
        raise BadInput("paste: the object would land outside the picture")
    seg, inst = masks.segmentation.copy(), masks.instances.copy()
    new = int(inst.max()) + 1
    seg[shape_mask] = int(source.segmentation[source.mask(source_iid)][0])
    inst[shape_mask] = new
    return Masks(seg, inst, masks.depth, masks.vocabulary)


def centroid(masks: Masks, iid: int) -> tuple[float, float]:
    ys, xs = np.nonzero(masks.mask(iid))
    return float(xs.mean()), float(ys.mean())
