"""A scene graph read off a picture's maps, by the tiny world's own rules: the objects are the
regions the judge finds that are large enough to enter a graph (the share of the picture a render's
graph needs), stuff first, largest first, then things from left to right; the relations are
predicates that clearly hold between them (`judge.clear_predicates`, with the margin the world
uses) and that a person would say (`world.sample.sensible`). Every object gets a relation to
the nearest object it clearly relates to (the world's preference among predicates decides between
predicates); then more, nearest first, up to two per object."""

from __future__ import annotations

import numpy as np

from ..graph import judge, vocabularies
from ..graph.scene_graph import SceneGraph
from ..graph.vocabularies import Vocabulary
from ..world.sample import DERIVE_STUFF_FRACTION, DERIVE_THING_FRACTION, PREDICATE_WEIGHTS, sensible

MAX_DERIVED_OBJECTS = 12
MAX_DERIVED_RELATIONS = 16


def objects_of(seg: np.ndarray, depth: np.ndarray | None = None,
               vocabulary: Vocabulary | None = None) -> list[judge.Region]:
    """The regions that enter the graph, in the graph's order."""
    v = vocabularies.or_tiny(vocabulary)
    n = seg.shape[0] * seg.shape[1]
    regions = [r for r in judge.extract_regions(seg, depth, vocabulary=v)
               if r.area >= (DERIVE_STUFF_FRACTION if v.is_stuff(r.label) else DERIVE_THING_FRACTION) * n]
    stuff = sorted((r for r in regions if v.is_stuff(r.label)), key=lambda r: -r.area)
    things = sorted((r for r in regions if not v.is_stuff(r.label)), key=lambda r: -r.area)
    things = sorted(things[:max(0, MAX_DERIVED_OBJECTS - len(stuff))], key=lambda r: r.centroid[0])
    return (stuff + things)[:MAX_DERIVED_OBJECTS]


def relations_of(regions: list[judge.Region], seg: np.ndarray,
                 vocabulary: Vocabulary | None = None) -> list[tuple[int, str, int]]:
    v = vocabularies.or_tiny(vocabulary)
    shape = seg.shape
    options: dict[tuple[int, int], list[str]] = {}
    for a, ra in enumerate(regions):
        for b, rb in enumerate(regions):
            if a != b:
                preds = [p for p in judge.clear_predicates(ra, rb, shape) if sensible(p, ra, rb, seg, v)]
                if preds:
                    options[(a, b)] = sorted(preds, key=lambda p: -PREDICATE_WEIGHTS[p])

    def best(pairs):
        """The nearest pair, the one whose subject is a thing first, then the stronger predicate."""
        return min(pairs, key=lambda ab: (judge.box_gap(regions[ab[0]], regions[ab[1]]),
                                          v.is_stuff(regions[ab[0]].label),
                                          -PREDICATE_WEIGHTS[options[ab][0]], ab))

    used: set[frozenset[int]] = set()
    out: list[tuple[int, str, int]] = []
    count = [0] * len(regions)
    for rounds in (1, 2):
        for k in range(len(regions)):
            if count[k] >= rounds or len(out) >= MAX_DERIVED_RELATIONS:
                continue
            mine = [ab for ab in options if k in ab and frozenset(ab) not in used]
            if not mine:
                continue
            a, b = best(mine)
            out.append((a, options[(a, b)][0], b))
            used.add(frozenset((a, b)))
            count[a] += 1
            count[b] += 1
    return out


def graph_from_maps(seg: np.ndarray, depth: np.ndarray | None = None,
                    vocabulary: Vocabulary | None = None) -> tuple[SceneGraph, list[judge.Region]]:
    """The graph a segmentation (and its depth, [0, 1], near is 1) shows, and each object's region,
    in `vocabulary` (default the tiny world's: the map holds positions in its classes). A picture
    in which nothing is large enough gives the largest region alone."""
    v = vocabularies.or_tiny(vocabulary)
    regions = objects_of(seg, depth, v)
    if not regions:
        every = judge.extract_regions(seg, depth, vocabulary=v)
        if not every:
            ids, counts = np.unique(seg[seg < len(v)], return_counts=True)
            cid = int(ids[np.argmax(counts)]) if len(ids) else v.position(sorted(v.sky)[0]) if v.sky else 0
            every = [judge.make_region(v.classes[cid], seg == cid, depth)]
        regions = [max(every, key=lambda r: r.area)]
    relations = relations_of(regions, seg, v)
    return SceneGraph.build([(r.label, []) for r in regions], relations), regions
