"""The judge: which graph objects a segmentation contains and which relations hold between them.

Pure functions of numpy arrays, no torch. One set of rules serves every use: deriving the graphs of
the tiny world, ranking SBPC candidates, the pass/fail shown in the UI and every compliance metric.

Conventions: a segmentation is an (H, W) uint8 array of class ids (`vocab.VOID` for unknown); an
instance map is (H, W) integer ids, 0 meaning none; a depth map is (H, W) with near = bright,
as float in [0, 1] or as 8/16-bit integers. Boxes are inclusive pixel bounds (x0, y0, x1, y1).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from . import vocab, vocabularies
from .vocabularies import Vocabulary

# An object is present when its region covers at least this share of the image (and MIN_PIXELS).
MIN_AREA_FRACTION = 0.0015
MIN_PIXELS = 3
# `near`: the gap between two boxes is at most this share of the image's longer side.
NEAR_FRACTION = 0.15
_EIGHT = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True, eq=False)
class Region:
    """One connected piece of the scene: a stuff class as a whole, or one thing instance."""

    label: str
    mask: np.ndarray  # (H, W) bool
    area: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 inclusive
    centroid: tuple[float, float]  # cx, cy in pixels
    depth: float | None = None  # median depth over the region, near = 1
    instance: int | None = None  # the instance id it came from, when an instance map was given


def _depth01(depth: np.ndarray | None) -> np.ndarray | None:
    if depth is None:
        return None
    depth = np.asarray(depth)
    if depth.ndim == 3:
        depth = depth[..., 0]
    if depth.dtype == np.uint8:
        return depth.astype(np.float32) / 255.0
    if depth.dtype == np.uint16:
        return depth.astype(np.float32) / 65535.0
    return depth.astype(np.float32)


def make_region(label: str, mask: np.ndarray, depth: np.ndarray | None = None,
                instance: int | None = None) -> Region:
    ys, xs = np.nonzero(mask)
    d = float(np.median(depth[ys, xs])) if depth is not None and len(ys) else None
    return Region(
        label=label, mask=mask, area=int(len(ys)),
        box=(int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())),
        centroid=(float(xs.mean()), float(ys.mean())), depth=d, instance=instance,
    )


def min_area(shape: tuple[int, int]) -> int:
    return max(MIN_PIXELS, int(math.ceil(MIN_AREA_FRACTION * shape[0] * shape[1])))


def extract_regions(seg: np.ndarray, depth: np.ndarray | None = None,
                    instances: np.ndarray | None = None, countable: frozenset[str] = frozenset(),
                    vocabulary: Vocabulary | None = None) -> list[Region]:
    """The regions a segmentation shows, large enough to count as present.

    Stuff classes give one region per class, except those in `countable` (stuff a graph names more
    than once: two mountains), which are read like things. Things give one region per instance when
    an instance map is given, else one per 8-connected component (so two touching sheep read as one).
    `vocabulary`: the classes the map's values name (default the tiny world's).
    """
    v = vocabularies.or_tiny(vocabulary)
    seg = np.asarray(seg)
    depth = _depth01(depth)
    threshold = min_area(seg.shape)
    regions: list[Region] = []
    present = np.bincount(seg.ravel(), minlength=256)
    for cid in np.nonzero(present[: len(v)] >= threshold)[0]:
        name = v.classes[cid]
        mask = seg == cid
        if cid in v.stuff_positions and name not in countable:
            regions.append(make_region(name, mask, depth))
            continue
        if instances is not None:
            for i in np.unique(instances[mask]):
                piece = (instances == i) & mask
                if i != 0 and piece.sum() >= threshold:
                    regions.append(make_region(name, piece, depth, int(i)))
            continue
        labels, n = ndimage.label(mask, structure=_EIGHT)
        if n == 0:
            continue
        sizes = np.bincount(labels.ravel(), minlength=n + 1)
        for i in np.nonzero(sizes[1:] >= threshold)[0] + 1:
            regions.append(make_region(name, labels == i, depth))
    return regions


def countable_stuff(labels: Sequence[str], vocabulary: Vocabulary | None = None) -> frozenset[str]:
    """Stuff a graph names more than once ("mountain left of mountain"): it is counted in pieces."""
    v = vocabularies.or_tiny(vocabulary)
    return frozenset(lab for lab, n in Counter(labels).items() if n > 1 and v.is_stuff(lab))


def point_on(region: Region) -> tuple[int, int]:
    """The pixel (x, y) of a region nearest its centroid: on the region even when it is not convex."""
    ys, xs = np.nonzero(region.mask)
    k = int(np.argmin((xs - region.centroid[0]) ** 2 + (ys - region.centroid[1]) ** 2))
    return int(xs[k]), int(ys[k])


# --- the rules --------------------------------------------------------------------------------


def box_inside(a: Region, b: Region) -> bool:
    """a's box lies within b's box."""
    return a.box[0] >= b.box[0] and a.box[1] >= b.box[1] and a.box[2] <= b.box[2] and a.box[3] <= b.box[3]


def box_gap(a: Region, b: Region) -> int:
    """Chebyshev distance between two boxes in pixels (0 when they touch or overlap)."""
    gx = max(b.box[0] - a.box[2], a.box[0] - b.box[2], 0)
    gy = max(b.box[1] - a.box[3], a.box[1] - b.box[3], 0)
    return max(gx, gy)


def touching(a: Region, b: Region) -> bool:
    """Some pixel of a is 8-adjacent to (or overlaps) some pixel of b."""
    if box_gap(a, b) > 1:
        return False
    h, w = a.mask.shape
    x0 = max(min(a.box[0], b.box[0]) - 1, 0)
    y0 = max(min(a.box[1], b.box[1]) - 1, 0)
    x1 = min(max(a.box[2], b.box[2]) + 2, w)
    y1 = min(max(a.box[3], b.box[3]) + 2, h)
    grown = ndimage.binary_dilation(a.mask[y0:y1, x0:x1], structure=_EIGHT)
    return bool((grown & b.mask[y0:y1, x0:x1]).any())


def holds(predicate: str, s: Region, o: Region, shape: tuple[int, int]) -> bool | None:
    """Whether `s predicate o` holds under the lenient rules; None where it cannot be judged."""
    (sx, sy), (ox, oy) = s.centroid, o.centroid
    if predicate == "left of":
        return sx < ox
    if predicate == "right of":
        return sx > ox
    if predicate == "above":
        return sy < oy
    if predicate == "below":
        return sy > oy
    if predicate == "inside":
        return box_inside(s, o)
    if predicate == "surrounding":
        return box_inside(o, s)
    if predicate == "on":
        return sy < oy and touching(s, o)
    if predicate == "near":
        return box_gap(s, o) <= NEAR_FRACTION * max(shape)
    if predicate in vocab.DEPTH_PREDICATES:
        if s.depth is None or o.depth is None:
            return None
        return s.depth > o.depth if predicate == "in front of" else s.depth < o.depth
    return None  # a semantic predicate ("has", "wearing"): not checkable


def clear_predicates(s: Region, o: Region, shape: tuple[int, int], margin: float = 0.04) -> list[str]:
    """The predicates that hold between s and o with a margin, so that they still hold after a
    resize or a small perturbation. The tiny world derives its graphs from these."""
    h, w = shape
    (sx, sy), (ox, oy) = s.centroid, o.centroid
    out = []
    if ox - sx >= margin * w:
        out.append("left of")
    if sx - ox >= margin * w:
        out.append("right of")
    if oy - sy >= margin * h:
        out.append("above")
    if sy - oy >= margin * h:
        out.append("below")
    inner = lambda a, b: (a.box[0] > b.box[0] and a.box[1] > b.box[1]  # noqa: E731
                          and a.box[2] < b.box[2] and a.box[3] < b.box[3])
    if inner(s, o):
        out.append("inside")
    if inner(o, s):
        out.append("surrounding")
    if oy - sy >= margin * h and touching(s, o):
        out.append("on")
    if box_gap(s, o) <= 0.5 * NEAR_FRACTION * max(shape):
        out.append("near")
    if s.depth is not None and o.depth is not None:
        if s.depth - o.depth >= margin:
            out.append("in front of")
        if o.depth - s.depth >= margin:
            out.append("behind")
    return out


# --- judging a graph --------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectVerdict:
    index: int
    label: str
    present: bool
    region: int | None = None  # index into Verdict.regions


@dataclass(frozen=True)
class RelationVerdict:
    subject: int
    predicate: str
    object: int
    holds: bool | None
    reason: str = ""  # why holds is None, or that an object of it is missing


@dataclass(frozen=True)
class Verdict:
    objects: tuple[ObjectVerdict, ...]
    relations: tuple[RelationVerdict, ...]
    regions: tuple[Region, ...] = field(repr=False, default=())
    # Things the graph did not ask for: regions of a thing class matched to no graph object (a
    # second car for one car, a tree nobody named), large enough to count as present. Stuff the
    # graph leaves out (the sky, the ground) is background and not counted.
    extras: tuple[int, ...] = ()  # indices into regions

    @property
    def extra_labels(self) -> list[str]:
        return [self.regions[i].label for i in self.extras]

    @property
    def object_recall(self) -> float | None:
        if not self.objects:
            return None
        return sum(o.present for o in self.objects) / len(self.objects)

    @property
    def relation_accuracy(self) -> float | None:
        judged = [r.holds for r in self.relations if r.holds is not None]
        return sum(judged) / len(judged) if judged else None

    @property
    def compliance(self) -> tuple[float, float]:
        """(object recall, relation accuracy) to rank maps by: 0 recall where there is no object, and
        accuracy 1 where no relation can be judged (nothing fails)."""
        accuracy = self.relation_accuracy
        return (self.object_recall or 0.0, accuracy if accuracy is not None else 1.0)

    def to_json(self) -> dict:
        """Objects (a present one with `at`: a pixel (x, y) on its region), relations, and scores."""
        return {
            "objects": [{"index": o.index, "label": o.label, "present": o.present,
                         **({"at": list(point_on(self.regions[o.region]))} if o.region is not None else {})}
                        for o in self.objects],
            "relations": [
                {"subject": r.subject, "predicate": r.predicate, "object": r.object, "holds": r.holds,
                 **({"reason": r.reason} if r.reason else {})}
                for r in self.relations
            ],
            "extras": [{"label": self.regions[i].label, "at": list(point_on(self.regions[i]))} for i in self.extras],
            "object_recall": self.object_recall,
            "relation_accuracy": self.relation_accuracy,
        }


# Above this many joint assignments, matching switches from exhaustive search to coordinate ascent.
_MAX_JOINT = 4096
_MAX_GROUP = 720


def _group_options(objs: list[int], regs: list[int]) -> list[tuple[tuple[int, int], ...]]:
    """All ways to match as many of `objs` one-to-one to `regs` as possible (capped)."""
    k = min(len(objs), len(regs))
    if k == 0:
        return [()]
    out = []
    for chosen in itertools.combinations(objs, k):
        for perm in itertools.permutations(regs, k):
            out.append(tuple(zip(chosen, perm)))
            if len(out) >= _MAX_GROUP:
                return out
    return out


def judge(labels: Sequence[str], relations: Sequence[tuple[int, str, int]], seg: np.ndarray,
          depth: np.ndarray | None = None, instances: np.ndarray | None = None,
          regions: Sequence[Region] | None = None, vocabulary: Vocabulary | None = None) -> Verdict:
    """Judge a graph against a segmentation (and depth), both in `vocabulary` (default the tiny
    world's; a map holds each class's position in it).

    `labels` are class names, `relations` (subject, predicate, object) with canonical predicates
    (semantic ones are left unjudged). Graph objects are matched one-to-one to regions of their
    class; among matchings that make the most objects present, the one under which the most
    relations hold is taken (the graph does not say which of two sheep is which).
    """
    v = vocabularies.or_tiny(vocabulary)
    seg = np.asarray(seg)
    shape = seg.shape[:2]
    if regions is None:
        regions = extract_regions(seg, depth, instances, countable_stuff(labels, v), v)
    regions = tuple(regions)
    by_class: dict[str, list[int]] = {}
    for ri, r in enumerate(regions):
        by_class.setdefault(r.label, []).append(ri)
    obj_groups: dict[str, list[int]] = {}
    for oi, lab in enumerate(labels):
        obj_groups.setdefault(lab, []).append(oi)

    cache: dict[tuple[str, int, int], bool | None] = {}

    def rule(pred: str, si: int, oi: int) -> bool | None:
        key = (pred, si, oi)
        if key not in cache:
            cache[key] = holds(pred, regions[si], regions[oi], shape)
        return cache[key]

    def score(assign: dict[int, int]) -> int:
        n = 0
        for s, p, o in relations:
            if s in assign and o in assign and rule(p, assign[s], assign[o]):
                n += 1
        return n

    groups = [(lab, objs, by_class.get(lab, [])) for lab, objs in obj_groups.items()]
    options = [_group_options(objs, regs) for _, objs, regs in groups]
    total = math.prod(len(opt) for opt in options)
    best: dict[int, int] = {}
    if total <= _MAX_JOINT:
        best_score = -1
        for combo in itertools.product(*options):
            assign = {o: r for part in combo for o, r in part}
            sc = score(assign)
            if sc > best_score:
                best, best_score = assign, sc
    else:
        current = [opt[0] for opt in options]
        for _ in range(3):
            changed = False
            for gi, opt in enumerate(options):
                if len(opt) == 1:
                    continue
                base = {o: r for j, part in enumerate(current) if j != gi for o, r in part}
                scores = [score({**base, **dict(choice)}) for choice in opt]
                pick = opt[int(np.argmax(scores))]
                if pick != current[gi]:
                    current[gi], changed = pick, True
            if not changed:
                break
        best = {o: r for part in current for o, r in part}

    objects = tuple(
        ObjectVerdict(i, lab, i in best, best.get(i)) for i, lab in enumerate(labels)
    )
    rels = []
    for s, p, o in relations:
        if p not in vocab.PREDICATES:
            rels.append(RelationVerdict(s, p, o, None, "not checkable"))
        elif s not in best or o not in best:
            # A relation of a missing object is not obeyed: the picture does not show it. Counting it
            # unjudged would let a candidate that drops an object score full marks on relations.
            missing = " and ".join(labels[i] for i in dict.fromkeys((s, o)) if i not in best)
            rels.append(RelationVerdict(s, p, o, False, f"{missing} missing"))
        else:
            h = rule(p, best[s], best[o])
            rels.append(RelationVerdict(s, p, o, h, "" if h is not None else "needs a depth map"))
    matched = set(best.values())
    extras = tuple(ri for ri, r in enumerate(regions) if ri not in matched and not v.is_stuff(r.label))
    return Verdict(objects, tuple(rels), regions, extras)


def unnamed_fraction(labels: Sequence[str], seg: np.ndarray, vocabulary: Vocabulary | None = None) -> float:
    """The share of pixels whose class the graph never names (stuff included: an unnamed sky counts)."""
    v = vocabularies.or_tiny(vocabulary)
    named = [v.position(lab) for lab in set(labels) if v.position(lab) is not None]
    seg = np.asarray(seg)
    return float(1.0 - np.isin(seg, named).mean())
