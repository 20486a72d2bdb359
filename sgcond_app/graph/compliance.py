"""Judge a person's graph (in their own words) against maps: mapping, then the judge, reported in
the graph's original indices. The one entry point of `check`, of `synth --graph` reports, and later
of the UI's per-edge pass/fail."""

from __future__ import annotations

import numpy as np

from . import judge, vocabularies
from .mapping import MappedGraph


def check(mapped: MappedGraph, seg: np.ndarray, depth: np.ndarray | None = None,
          instances: np.ndarray | None = None) -> dict:
    """The `check --json` contract: objects and relations of the source graph with verdicts.

    The maps are in the mapped graph's vocabulary. Objects it does not know have `present: null`;
    relations that cannot be judged (unknown object, semantic predicate, depth relation without a
    depth map) have `holds: null` and a `reason`. Recall and relation accuracy count judged items only.
    """
    src = mapped.source
    verdict = None
    if mapped.graph is not None:
        verdict = judge.judge(mapped.graph.labels, mapped.graph.triples(), seg, depth, instances,
                              vocabulary=vocabularies.load(mapped.vocabulary))
    objects = []
    for i, o in enumerate(src.objects):
        j = mapped.source_to_graph[i]
        present = None if j is None or verdict is None else verdict.objects[j].present
        objects.append({"index": i, "label": o.label,
                        "mapped_to": None if j is None else mapped.graph.objects[j].label,
                        "present": present})
    by_triple = {(r.subject, r.predicate, r.object): r for r in verdict.relations} if verdict else {}
    relations = []
    for k, r in enumerate(src.relations):
        triple = mapped.relation_map[k]
        entry = {"subject": r.subject, "predicate": r.predicate, "object": r.object}
        if triple is None or verdict is None:
            entry.update(holds=None, reason="an object is not known to the tiny world" if mapped.vocabulary == "tiny"
                         else f"an object is not a class of {mapped.vocabulary}")
        else:
            v = by_triple[triple]
            entry.update(checked_as=triple[1], holds=v.holds)
            if v.reason:
                entry["reason"] = v.reason
        relations.append(entry)
    return {
        "objects": objects,
        "relations": relations,
        "object_recall": verdict.object_recall if verdict else None,
        "relation_accuracy": verdict.relation_accuracy if verdict else None,
    }
