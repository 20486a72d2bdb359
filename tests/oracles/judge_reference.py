"""A second, independent implementation of the judge's lenient rules, used only to cross-check it:
a test oracle (tests/test_world.py; `bench judge` loads this file by its path in a source checkout).

It differs on purpose in everything but the definitions: it reads each object from the render's
instance map (no connected components, no matching), gets boxes from row/column projections,
centroids from image moments and touching from shifted copies of the masks.
"""

from __future__ import annotations

import numpy as np

NEAR_FRACTION = 0.15  # the definition of `near`, restated


def _stats(mask: np.ndarray) -> dict:
    rows, cols = mask.any(axis=1), mask.any(axis=0)
    y0, y1 = int(np.argmax(rows)), len(rows) - 1 - int(np.argmax(rows[::-1]))
    x0, x1 = int(np.argmax(cols)), len(cols) - 1 - int(np.argmax(cols[::-1]))
    m00 = float(mask.sum())
    yy, xx = np.indices(mask.shape)
    return {"box": (x0, y0, x1, y1), "cx": float((xx * mask).sum()) / m00,
            "cy": float((yy * mask).sum()) / m00}


def _touch(a: np.ndarray, b: np.ndarray) -> bool:
    h, w = a.shape
    pad = np.zeros((h + 2, w + 2), bool)
    pad[1:-1, 1:-1] = a
    grown = np.zeros_like(a)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            grown |= pad[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
    return bool((grown & b).any())


def reference_holds(predicate: str, a: np.ndarray, b: np.ndarray, depth: np.ndarray | None) -> bool | None:
    sa, sb = _stats(a), _stats(b)
    ax0, ay0, ax1, ay1 = sa["box"]
    bx0, by0, bx1, by1 = sb["box"]
    if predicate == "left of":
        return sa["cx"] < sb["cx"]
    if predicate == "right of":
        return sa["cx"] > sb["cx"]
    if predicate == "above":
        return sa["cy"] < sb["cy"]
    if predicate == "below":
        return sa["cy"] > sb["cy"]
    if predicate == "inside":
        return bx0 <= ax0 and ax1 <= bx1 and by0 <= ay0 and ay1 <= by1
    if predicate == "surrounding":
        return ax0 <= bx0 and bx1 <= ax1 and ay0 <= by0 and by1 <= ay1
    if predicate == "on":
        return sa["cy"] < sb["cy"] and _touch(a, b)
    if predicate == "near":
        gap = max(bx0 - ax1, ax0 - bx1, by0 - ay1, ay0 - by1, 0)
        return gap <= NEAR_FRACTION * max(a.shape)
    if predicate in ("in front of", "behind"):
        if depth is None:
            return None
        da, db = float(np.median(depth[a])), float(np.median(depth[b]))
        return da > db if predicate == "in front of" else da < db
    return None


def reference_relations(triples: list[tuple[int, str, int]], object_instances: list[int],
                        instances: np.ndarray, depth: np.ndarray | None) -> list[bool | None]:
    """Verdicts for each triple, reading graph object i as instance object_instances[i]."""
    masks = [instances == iid for iid in object_instances]
    return [reference_holds(p, masks[s], masks[o], depth) for s, p, o in triples]
