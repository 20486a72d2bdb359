"""Update a person's graph to match an edited mask: the other way round from rerunning.

After a move, a flip or a delete some relations of the graph no longer hold in the segmentation.
`match_graph` rewrites the graph, in the person's own words where they still apply, so that it
describes the mask: a relation that fails takes a predicate of the same kind that clearly holds
(left of -> right of, above -> below, behind -> in front of), objects that are gone are removed with
their relations, and objects pasted in (regions no graph object claims, as large as a thing the tiny
world's graphs would name) are added.
"""

from __future__ import annotations

from ..graph import judge, vocabularies
from ..graph.mapping import MappedGraph
from ..graph.scene_graph import SceneGraph, SGObject
from ..world.sample import DERIVE_THING_FRACTION as NEW_OBJECT_FRACTION

# Predicates of one kind: a failing relation is rewritten within its kind first.
FAMILIES = (
    ("left of", "right of"),
    ("above", "below", "on"),
    ("in front of", "behind"),
    ("inside", "surrounding"),
)


def _family(predicate: str) -> tuple[str, ...]:
    return next((f for f in FAMILIES if predicate in f), ())


def match_graph(mapped: MappedGraph, seg, depth=None) -> tuple[SceneGraph, list[str]]:
    """The source graph rewritten to hold in `seg`, and one line per change (empty: it already did)."""
    src = mapped.source
    if mapped.graph is None:
        return src, []
    g = mapped.graph
    v = vocabularies.load(mapped.vocabulary)  # the classes of the map and of the mapped graph
    verdict = judge.judge(g.labels, g.triples(), seg, depth, vocabulary=v)
    by_triple = {(r.subject, r.predicate, r.object): r for r in verdict.relations}
    changes: list[str] = []
    # Objects the map no longer shows (deleted, or moved off the picture).
    gone = {i for i, j in enumerate(mapped.source_to_graph)
            if j is not None and not verdict.objects[j].present}
    for i in sorted(gone):
        changes.append(f"removed {src.objects[i].phrase()} (not in the map any more)")
    relations = []
    for k, r in enumerate(src.relations):
        if r.subject in gone or r.object in gone:
            continue
        triple = mapped.relation_map[k]
        rv = by_triple.get(triple) if triple is not None else None
        predicate = r.predicate
        if rv is not None and rv.holds is False:
            s_reg = verdict.regions[verdict.objects[triple[0]].region]
            o_reg = verdict.regions[verdict.objects[triple[2]].region]
            clear = judge.clear_predicates(s_reg, o_reg, seg.shape)
            fam = _family(triple[1])
            options = [p for p in fam if p in clear] or [p for p in clear if p != "near"]
            name = f"{src.objects[r.subject].phrase()} {r.predicate} {src.objects[r.object].phrase()}"
            if options:
                predicate = options[0]
                changes.append(f"{name} → {predicate}")
            else:
                changes.append(f"{name}: no predicate clearly holds; removed")
                continue
        relations.append((r.subject, predicate, r.object))
    keep = [i for i in range(len(src.objects)) if i not in gone]
    new_index = {old: new for new, old in enumerate(keep)}
    objects = [src.objects[i] for i in keep]
    # Regions of things that no graph object claims: pasted in, or drawn unasked. Only those large
    # enough for the tiny world's own graphs to name them: a few stray pixels are not a new object.
    claimed = {o.region for o in verdict.objects if o.present}
    least = NEW_OBJECT_FRACTION * seg.shape[0] * seg.shape[1]
    for ri, region in enumerate(verdict.regions):
        if ri not in claimed and not v.is_stuff(region.label) and region.area >= least:
            objects.append(SGObject(region.label))
            changes.append(f"added {region.label} (in the map, not in the graph)")
    triples = [(new_index[s], p, new_index[o]) for s, p, o in relations]
    if not objects:
        return src, ["the map has no object of the graph left; the graph is kept as it was"]
    return SceneGraph.build(objects, triples), changes
