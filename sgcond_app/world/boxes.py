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


# --- mending a layout -------------------------------------------------------------------------
# The graph encoder's boxes are a suggestion learnt from renders; for some relations (a cow inside a
# fence, a boat on the water, water surrounding the sand) they often break what the graph says.
# `mends` proposes small changes of the boxes (or disparities) that would make one relation hold;
# the caller keeps a change only where the drawn layout, judged against the graph, gets better.

GAP = 0.06  # how far past the other object a box is moved (share of the picture)
INNER = 0.12  # a box put inside another keeps this share of the outer box's size as a margin
SEAT = 0.2  # a thing put on another overlaps its top by this share of its own height


def _moved(boxes: np.ndarray, i: int, cx: float, cy: float, w: float | None = None,
           h: float | None = None) -> np.ndarray:
    """Box i centred on (cx, cy), `w` by `h` (default its own size), shifted to lie in the picture."""
    b = boxes.copy()
    w = float(b[i, 2] - b[i, 0]) if w is None else min(w, 1.0)
    h = float(b[i, 3] - b[i, 1]) if h is None else min(h, 1.0)
    cx = min(max(cx, w / 2), 1 - w / 2)
    cy = min(max(cy, h / 2), 1 - h / 2)
    b[i] = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    return b


def _size(b: np.ndarray) -> tuple[float, float]:
    return float(b[2] - b[0]), float(b[3] - b[1])


def _centre(b: np.ndarray) -> tuple[float, float]:
    return float(b[0] + b[2]) / 2, float(b[1] + b[3]) / 2


def _nearer(disparity: np.ndarray, s: int, o: int, step: float = 0.02) -> np.ndarray:
    """Disparities with s just nearer than o (painted over it), where it is not already."""
    d = disparity.copy()
    if d[s] <= d[o]:
        d[s] = min(float(d[o]) + step, 1.0)
    return d


def _into(boxes: np.ndarray, s: int, o: int) -> np.ndarray:
    """Box s moved (and shrunk where it must be) to lie inside box o, within a margin."""
    ow, oh = _size(boxes[o])
    x0, y0 = boxes[o, 0] + INNER * ow, boxes[o, 1] + INNER * oh
    iw, ih = (1 - 2 * INNER) * ow, (1 - 2 * INNER) * oh
    sw, sh = _size(boxes[s])
    k = min(1.0, iw / max(sw, 1e-6), ih / max(sh, 1e-6))
    w, h = sw * k, sh * k
    cx, cy = _centre(boxes[s])
    cx = min(max(cx, x0 + w / 2), x0 + iw - w / 2)
    cy = min(max(cy, y0 + h / 2), y0 + ih - h / 2)
    return _moved(boxes, s, cx, cy, w, h)


def _around(boxes: np.ndarray, s: int, o: int) -> np.ndarray:
    """Box o grown to hold box s within a margin."""
    b = boxes.copy()
    sw, sh = _size(b[s])
    m = INNER / (1 - 2 * INNER)
    b[o, 0] = max(0.0, min(b[o, 0], b[s, 0] - m * sw))
    b[o, 1] = max(0.0, min(b[o, 1], b[s, 1] - m * sh))
    b[o, 2] = min(1.0, max(b[o, 2], b[s, 2] + m * sw))
    b[o, 3] = min(1.0, max(b[o, 3], b[s, 3] + m * sh))
    return b


def _seated(boxes: np.ndarray, s: int, o: int) -> np.ndarray:
    """Box s set on box o: its bottom a little into o's top, its centre over o."""
    sw, sh = _size(boxes[s])
    ow, _ = _size(boxes[o])
    cx, _ = _centre(boxes[s])
    lo, hi = boxes[o, 0] + min(sw, ow) / 2, boxes[o, 2] - min(sw, ow) / 2
    cx = min(max(cx, lo), hi) if lo <= hi else _centre(boxes[o])[0]
    return _moved(boxes, s, cx, float(boxes[o, 1]) + SEAT * sh - sh / 2)


def _under(boxes: np.ndarray, s: int, o: int) -> np.ndarray:
    """Box o moved under box s, its top a little above s's bottom (s sits on it)."""
    sw, sh = _size(boxes[s])
    ow, oh = _size(boxes[o])
    cx, _ = _centre(boxes[o])
    lo, hi = boxes[s, 0] - ow / 2 + min(sw, ow) / 2, boxes[s, 2] + ow / 2 - min(sw, ow) / 2
    return _moved(boxes, o, min(max(cx, lo), hi), float(boxes[s, 3]) - SEAT * sh + oh / 2)


def _past(boxes: np.ndarray, s: int, o: int, axis: int, sign: int) -> list[np.ndarray]:
    """s moved to the side of o that `sign` names along `axis` (0: x, 1: y; -1: left or up), or o
    moved to the other side of s."""
    def where(a: int, b: int, sg: int) -> np.ndarray:
        c = list(_centre(boxes[a]))
        reach = (_size(boxes[a])[axis] + _size(boxes[b])[axis]) / 4 + GAP / 2
        c[axis] = _centre(boxes[b])[axis] + sg * reach
        return _moved(boxes, a, c[0], c[1])
    return [where(s, o, sign), where(o, s, -sign)]


def _toward(boxes: np.ndarray, s: int, o: int, share: float) -> np.ndarray:
    (sx, sy), (ox, oy) = _centre(boxes[s]), _centre(boxes[o])
    return _moved(boxes, s, sx + share * (ox - sx), sy + share * (oy - sy))


def mends(predicate: str, s: int, o: int, boxes: np.ndarray, disparity: np.ndarray,
          stuff: list[bool]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Changed (boxes, disparity) that would make `s predicate o` hold in a drawn layout; boxes are
    (O, 4) in [0, 1], `stuff[i]` says whether object i is stuff (painted first, largest first)."""
    d = disparity
    out: list[tuple[np.ndarray, np.ndarray]] = []
    if predicate in ("inside", "surrounding"):
        inner, outer = (s, o) if predicate == "inside" else (o, s)
        over = _nearer(d, inner, outer) if not stuff[outer] and not stuff[inner] else d
        # A thing holds its contents as the world draws it (a fence grown round the cows); a thing goes
        # into stuff (a rock into the water, the sun into the sky). Where both mend it, the first is kept.
        moves = [_around(boxes, inner, outer), _into(boxes, inner, outer)]
        out += [(b, over) for b in (moves if not stuff[outer] else moves[::-1])]
    elif predicate == "on":
        over = _nearer(d, s, o) if not stuff[o] and not stuff[s] else d
        out += [(_seated(boxes, s, o), over), (_under(boxes, s, o), over)]
    elif predicate in ("above", "below", "left of", "right of"):
        axis = 1 if predicate in ("above", "below") else 0
        sign = -1 if predicate in ("above", "left of") else 1
        out += [(b, d) for b in _past(boxes, s, o, axis, sign)]
    elif predicate == "near":
        out += [(_toward(boxes, s, o, k), d) for k in (0.5, 0.8)]
    elif predicate in ("in front of", "behind"):
        front, back = (s, o) if predicate == "in front of" else (o, s)
        for moved, to in ((front, min(float(d[back]) + 0.06, 1.0)), (back, max(float(d[front]) - 0.06, 0.0))):
            e = d.copy()
            e[moved] = to
            out.append((boxes, e))
    return out


def unhidden(i: int, boxes: np.ndarray, disparity: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Changes that may let object i, hidden in a drawn layout, show: drawn nearer than all, or moved
    by most of its size up, left or right."""
    d = disparity.copy()
    d[i] = min(float(disparity.max()) + 0.02, 1.0)
    w, h = _size(boxes[i])
    cx, cy = _centre(boxes[i])
    return [(boxes, d), *((_moved(boxes, i, cx + dx, cy + dy), disparity)
                          for dx, dy in ((0, -0.7 * h), (-0.7 * w, 0), (0.7 * w, 0)))]
