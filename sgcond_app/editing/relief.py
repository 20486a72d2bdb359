"""Edits of the depth and sketch maps: bring a thing nearer or push it farther, draw and erase strokes.

Pure functions on numpy maps, like `masks.py`: every edit returns new maps and leaves its inputs
untouched, so an editor keeps the old ones for undo.

Depth (disparity, near = 1, far = 0, at the maps' size): `redepth` adds `amount` (a share of the
range, -1..1) to the depth of the picked thing's pixels and of no others, clipped to [0, 1]. When
that changes which of two overlapping things is nearer, occlusion is redone by the new order:
each thing's whole shape is guessed as the convex hull of what shows of it (a map keeps no hidden
parts), and where the hulls meet, the nearer one now shows. A car pushed behind a house loses to
the house the pixels inside the house's hull; a person brought in front of a tree takes the tree's
pixels inside the person's hull. Pixels that change hands take the depth of the nearest pixel of
the thing that now shows there. Stuff (sky, grass, water) is behind every thing and is not
reordered. The sketch and the picture follow when the chain reruns from the sketch.

Sketch (0 or 255 edges, the sketch factor's): `stroke` draws a polyline one pixel wide as the
sketch's own edges are; `erase` clears every edge within ERASER pixels of a polyline. The picture
follows when it reruns from the image.

Points are a person's: whole numbers on the map, at least two and at most MAX_POINTS of them.
Anything else is `BadInput`, with nothing changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..errors import BadInput
from ..inputs import number, whole_number
from .masks import Masks

MAX_POINTS = 64  # points of one polyline
ERASER = 1  # pixels either side of an erased line that are cleared too (a 3-pixel-wide eraser)
MIN_AMOUNT = 1 / 255  # a depth change smaller than the maps' step changes nothing


@dataclass(frozen=True)
class Redepthed:
    """What `redepth` made: the maps, a line for the person, and how many pixels changed hands."""

    segmentation: np.ndarray  # (H, W) uint8 class ids
    depth: np.ndarray  # (H, W) float32 disparity in [0, 1]
    message: str
    hidden: int  # pixels of the picked thing that a nearer thing now hides
    shown: int  # pixels of other things that the picked thing now hides


def hull(mask: np.ndarray) -> np.ndarray:
    """The filled convex hull of a mask's pixels (as squares): the guess at a thing's whole shape."""
    from scipy.spatial import ConvexHull, QhullError

    edge = mask & ~ndimage.binary_erosion(mask)
    ys, xs = np.nonzero(edge)
    if len(xs) == 0:
        return mask.copy()
    corners = np.concatenate([np.stack([xs + dx, ys + dy], 1) for dx in (0, 1) for dy in (0, 1)]).astype(float)
    try:
        eq = ConvexHull(corners).equations  # rows (a, b, c): a x + b y + c <= 0 inside
    except QhullError:
        return mask.copy()
    h, w = mask.shape
    gy, gx = np.mgrid[0:h, 0:w]
    centres = np.stack([gx.ravel() + 0.5, gy.ravel() + 0.5, np.ones(h * w)], 1)
    inside = (centres @ eq.T <= 1e-9).all(1).reshape(h, w)
    return inside | mask


def _nearest(values: np.ndarray, source: np.ndarray, where: np.ndarray) -> np.ndarray:
    """values at the pixels of `where`, each the value of the nearest pixel of `source`."""
    _, (iy, ix) = ndimage.distance_transform_edt(~source, return_indices=True)
    return values[iy[where], ix[where]]


def redepth(masks: Masks, iid: int, amount: object) -> Redepthed:
    """Thing `iid` nearer (amount > 0) or farther (amount < 0) by `amount` of the depth range."""
    if masks.depth is None:
        raise BadInput("this result has no depth map to edit")
    amount = float(number(amount, "the depth change", -1.0, 1.0))
    if abs(amount) < MIN_AMOUNT:
        raise BadInput("a depth change must be at least 1/255 of the range either way (-1..1, not 0)")
    depth = np.asarray(masks.depth, np.float32)
    own = masks.mask(iid)
    label = masks.label_of(iid)
    new = depth.copy()
    new[own] = np.clip(depth[own] + amount, 0.0, 1.0)
    clipped = int(np.count_nonzero(np.abs(new[own] - depth[own]) < abs(amount) - 1e-6))
    before, after = float(np.median(depth[own])), float(np.median(new[own]))
    seg, inst = masks.segmentation.copy(), masks.instances.copy()
    cid = int(seg[own][0])
    own_hull = hull(own)
    hidden = shown = 0
    by: list[str] = []
    for other_id in masks.things():
        if other_id == iid:
            continue
        other = masks.instances == other_id
        d = float(np.median(depth[other]))
        if before > d >= after:  # was in front, now behind: the other shows where its hull meets this one
            take = (inst == iid) & hull(other)
            if take.any():
                new[take] = _nearest(depth, other, take)
                seg[take], inst[take] = int(masks.segmentation[other][0]), other_id
                hidden += int(take.sum())
                by.append(masks.label_of(other_id))
        elif before <= d < after:  # was behind, now in front: this one shows inside its own hull
            take = (inst == other_id) & own_hull
            if take.any():
                new[take] = _nearest(new, own, take)
                seg[take], inst[take] = cid, iid
                shown += int(take.sum())
                by.append(masks.label_of(other_id))
    way = "brought the {} nearer" if amount > 0 else "pushed the {} farther"
    message = f"{way.format(label)} by {abs(amount):.2g} of the depth range (its depth {before:.2f} -> {after:.2f})"
    if clipped:
        message += f"; {clipped} of its pixels stopped at the {'nearest' if amount > 0 else 'farthest'} depth"
    if hidden:
        message += f"; the {', '.join(dict.fromkeys(by))} now hides {hidden} of its pixels"
    if shown:
        message += f"; it now hides {shown} pixels of the {', '.join(dict.fromkeys(by))}"
    if not (inst == iid).any():
        message += f"; the {label} is wholly hidden now (undo brings it back)"
    return Redepthed(seg, new, message, hidden, shown)


def points(args: list[str], shape: tuple[int, int]) -> list[tuple[int, int]]:
    """A polyline's points from X0,Y0,X1,Y1,... (map pixels)."""
    if len(args) % 2 or not 4 <= len(args) <= 2 * MAX_POINTS:
        raise BadInput(f"a stroke is 2 to {MAX_POINTS} points X,Y (an even count of 4 to {2 * MAX_POINTS} numbers), "
                       f"not {len(args)} numbers")
    h, w = shape
    return [(whole_number(args[k], "x", 0, w - 1), whole_number(args[k + 1], "y", 0, h - 1))
            for k in range(0, len(args), 2)]


def line_pixels(pts: list[tuple[int, int]], shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the polyline through `pts`, one pixel wide and 8-connected."""
    out = np.zeros(shape, bool)
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        n = max(abs(x1 - x0), abs(y1 - y0)) + 1
        xs = np.rint(np.linspace(x0, x1, n)).astype(int)
        ys = np.rint(np.linspace(y0, y1, n)).astype(int)
        out[ys, xs] = True
    if len(pts) == 1:
        out[pts[0][1], pts[0][0]] = True
    return out


def stroke(sketch: np.ndarray, pts: list[tuple[int, int]]) -> np.ndarray:
    """The sketch with a polyline drawn on it."""
    out = np.asarray(sketch, np.uint8).copy()
    out[line_pixels(pts, out.shape)] = 255
    return out


def erase(sketch: np.ndarray, pts: list[tuple[int, int]]) -> np.ndarray:
    """The sketch with every edge within ERASER pixels of a polyline cleared."""
    return erased(sketch, line_pixels(pts, np.asarray(sketch).shape))


def erased(sketch: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """The sketch with every edge within ERASER pixels of `lines` (a bool map) cleared."""
    out = np.asarray(sketch, np.uint8).copy()
    out[ndimage.binary_dilation(np.asarray(lines, bool), iterations=ERASER, structure=np.ones((3, 3), bool))] = 0
    return out
