"""A layout (one box and one disparity per object) drawn as a segmentation, instance map and depth.

Stuff is painted first, largest box first (so a road lies on the grass), then things from far to
near (so the nearer one occludes). Used to judge the encoder's layouts and as a spatial condition.
"""

from __future__ import annotations

import numpy as np

from ..graph import vocab, vocabularies


def paint_order(labels: list[str], boxes: np.ndarray, disparity: np.ndarray,
                vocabulary: vocabularies.Vocabulary | None = None) -> list[int]:
    v = vocabularies.or_tiny(vocabulary)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    stuff = sorted((i for i, lab in enumerate(labels) if v.is_stuff(lab)), key=lambda i: -area[i])
    things = sorted((i for i, lab in enumerate(labels) if not v.is_stuff(lab)), key=lambda i: disparity[i])
    return stuff + things


def draw_layout(labels: list[str], boxes: np.ndarray, disparity: np.ndarray, size: int,
                vocabulary: vocabularies.Vocabulary | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> (class ids (H, W) uint8, instance ids (H, W) uint8 where object i is i + 1, depth (H, W)
    float32), the labels being classes of `vocabulary` (default the tiny world's). Pixels no box covers
    are `vocab.VOID` in the segmentation and 0 elsewhere, so that nothing the layout did not put there
    can satisfy a relation."""
    v = vocabularies.or_tiny(vocabulary)
    seg = np.full((size, size), vocab.VOID, np.uint8)
    inst = np.zeros((size, size), np.uint8)
    depth = np.zeros((size, size), np.float32)
    for i in paint_order(labels, boxes, disparity, v):
        x0, y0, x1, y1 = np.clip(np.asarray(boxes[i], dtype=np.float64), 0, 1) * size
        c0, r0 = int(np.floor(x0)), int(np.floor(y0))
        c1, r1 = max(int(np.ceil(x1)), c0 + 1), max(int(np.ceil(y1)), r0 + 1)
        seg[r0:r1, c0:c1] = v.position(labels[i])
        inst[r0:r1, c0:c1] = i + 1
        depth[r0:r1, c0:c1] = float(disparity[i])
    return seg, inst, np.round(depth * 255) / 255


def jitter_boxes(boxes: np.ndarray, rng: np.random.Generator, shift: float = 0.04, scale: float = 0.15) -> np.ndarray:
    """Each box moved by N(0, shift) of the image and scaled by exp(N(0, scale)) about its centre:
    a layout is a suggestion, and seeds should not all draw the same one."""
    boxes = np.asarray(boxes, dtype=np.float32)
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2 + rng.normal(0, shift, (len(boxes), 2))
    half = (boxes[:, 2:] - boxes[:, :2]) / 2 * np.exp(rng.normal(0, scale, (len(boxes), 1)))
    return np.clip(np.concatenate([centre - half, centre + half], axis=1), 0, 1).astype(np.float32)


def separate_duplicates(labels: list[str], boxes: np.ndarray, relations=(), pad: float = 0.03,
                        rounds: int = 4) -> np.ndarray:
    """Boxes of two objects of one class moved apart until they no longer overlap (by `pad`).

    The graph encoder gives two cars with the same relations nearly the same box, and a layout that
    draws them as one box asks the segmentation factor for one car. They part along the axis a
    relation between them names (above/below: vertically; otherwise horizontally), in the order it
    names, else in the order of their centres; each moves half the way, kept inside the picture.
    `relations`: (subject, predicate, object) triples."""
    boxes = np.array(boxes, dtype=np.float32, copy=True)
    said = {(s, o): p for s, p, o in relations}
    groups: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        groups.setdefault(lab, []).append(i)
    pairs = [(a, b) for members in groups.values() if len(members) > 1
             for k, a in enumerate(members) for b in members[k + 1:]]
    for _ in range(rounds):
        moved = False
        for a, b in pairs:
            p = said.get((a, b)) or said.get((b, a))
            flip = (b, a) in said and (a, b) not in said
            vertical = p in ("above", "below")
            ax = 1 if vertical else 0
            # Which of the two comes first along the axis (left, or top).
            if p in ("left of", "above"):
                first, second = (b, a) if flip else (a, b)
            elif p in ("right of", "below"):
                first, second = (a, b) if flip else (b, a)
            else:
                ca, cb = boxes[a, ax] + boxes[a, ax + 2], boxes[b, ax] + boxes[b, ax + 2]
                first, second = (a, b) if ca <= cb else (b, a)
            ix = min(boxes[a, 2], boxes[b, 2]) - max(boxes[a, 0], boxes[b, 0])
            iy = min(boxes[a, 3], boxes[b, 3]) - max(boxes[a, 1], boxes[b, 1])
            if ix <= -pad or iy <= -pad:
                continue
            need = boxes[first, ax + 2] - boxes[second, ax] + pad
            if need <= 0:
                continue
            left = min(need / 2, boxes[first, ax])  # room before the picture's edge
            right = min(need - left, 1 - boxes[second, ax + 2])
            left = min(need - right, boxes[first, ax])
            boxes[first, [ax, ax + 2]] -= left
            boxes[second, [ax, ax + 2]] += right
            moved = True
        if not moved:
            break
    return boxes
