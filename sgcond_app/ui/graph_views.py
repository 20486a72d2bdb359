"""The three views of the person's graph, kept in step: the node-link canvas (graph_canvas.js), the
triple table, and the text box (text triples or sg2im JSON). Pure functions, no Gradio.

The graph is the person's own, in their words (`SceneGraph`); what the tiny world understood of
each word, and whether each relation holds in the last segmentation, are annotations drawn beside
the nodes and edges. Nothing here imports torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ..errors import BadInput
from ..graph import vocab
from ..graph.mapping import MappedGraph, WordMapping, map_graph, map_predicate
from ..graph.parse import mention, parse_graph_text
from ..graph.scene_graph import SceneGraph, normalise_word
from ..inputs import load_json

STATIC = Path(__file__).parent / "static"
TABLE_HEADERS = ("subject", "predicate", "object")
Position = tuple[float, float] | None


def canvas_js() -> str:
    return (STATIC / "graph_canvas.js").read_text(encoding="utf-8")


def canvas_css() -> str:
    return (STATIC / "graph_canvas.css").read_text(encoding="utf-8")


# --- reading each view ---------------------------------------------------------------------------


def _split_phrase(label: str, attributes: list[str]) -> tuple[str, list[str]]:
    """"red car" typed as a label -> ("car", ["red"]): leading known attributes move out."""
    words = normalise_word(label).split()
    attrs = list(attributes)
    while len(words) > 1 and words[0] in vocab.ATTRIBUTES:
        attrs.append(words.pop(0))
    return " ".join(words), attrs


def read_canvas(value: str | None) -> tuple[SceneGraph | None, list[Position]]:
    """The canvas's JSON -> the graph (None when the canvas is empty) and each node's position."""
    if value is not None and not isinstance(value, str):
        raise BadInput("the canvas sent something that is not a graph")
    try:
        data = load_json(value or "{}", "the canvas")
    except BadInput as e:
        raise BadInput(f"the canvas sent unreadable JSON ({e})") from None
    if not isinstance(data, dict):
        raise BadInput("the canvas sent something that is not a graph")
    objects, positions = [], []
    raw = data.get("objects") or []
    if not isinstance(raw, list):
        raise BadInput("the canvas's objects must be a list")
    for i, o in enumerate(raw):
        if not isinstance(o, dict) or not isinstance(o.get("label"), str):
            raise BadInput(f"object {i} of the canvas has no label")
        attrs = o.get("attributes") or []
        if not isinstance(attrs, list) or not all(isinstance(a, str) for a in attrs):
            raise BadInput(f"object {i} ({o['label'][:40]}): attributes must be a list of strings")
        objects.append(_split_phrase(o["label"], attrs))
        x, y = o.get("x"), o.get("y")
        positions.append((float(x), float(y)) if isinstance(x, int | float) and isinstance(y, int | float) else None)
    relations = data.get("relationships") or []
    if not isinstance(relations, list) or not all(isinstance(r, list) and len(r) == 3 for r in relations):
        raise BadInput("the canvas's relationships must be [subject, predicate, object] triples")
    if not objects:
        if relations:
            raise BadInput("the canvas has edges but no objects")
        return None, []
    return SceneGraph.build(objects, [tuple(r) for r in relations]), positions


def read_table(rows: list[list] | None) -> SceneGraph | None:
    """Rows of (subject, predicate, object); a row with only a subject is an object on its own.
    `car #2` in two rows is one object; the same phrase without a tag is one object too."""
    objects: list[tuple[str, tuple[str, ...]]] = []
    index: dict[object, int] = {}
    triples: list[tuple[int, str, int]] = []

    def resolve(cell: str, where: str) -> int:
        label, attrs, tag = mention(normalise_word(cell).split(), where)
        k = ("tag", tag) if tag is not None else ("phrase", label, attrs)
        if k not in index:
            index[k] = len(objects)
            objects.append((label, attrs))
        return index[k]

    if rows is not None and not isinstance(rows, list | tuple):
        raise BadInput("the table must be rows of (subject, predicate, object)")
    for n, row in enumerate(rows or []):
        if not isinstance(row, list | tuple):
            raise BadInput(f"table row {n + 1} is not a row of cells")
        cells = [("" if c is None else str(c)).strip() for c in (list(row) + ["", "", ""])[:3]]
        s, p, o = cells
        if not any(cells):
            continue
        where = f"table row {n + 1}"
        if not s:
            raise BadInput(f"{where}: the subject is empty")
        si = resolve(s, where)
        if p or o:
            if not (p and o):
                raise BadInput(f"{where}: a relation needs a predicate and an object (or leave both empty)")
            triples.append((si, p, resolve(o, where)))
    if not objects:
        return None
    return SceneGraph.build(objects, triples)


def read_text(text: str | None) -> SceneGraph:
    if text is not None and not isinstance(text, str):
        raise BadInput(f"the graph must be text (triples or sg2im JSON), not {type(text).__name__}")
    graphs = parse_graph_text(text or "")
    if len(graphs) != 1:
        raise BadInput(f"the text holds {len(graphs)} graphs; the studio takes one at a time")
    return graphs[0]


# --- writing each view ---------------------------------------------------------------------------


def to_text(graph: SceneGraph | None) -> str:
    """Text triples where they read back as the same graph, else sg2im JSON."""
    if graph is None:
        return ""
    text = graph.to_text()
    try:
        if parse_graph_text(text) == [graph]:  # read back as triples (a label like "the car" reads as a sentence)
            return text
    except BadInput:
        pass
    return graph.to_json(indent=1)


def to_table(graph: SceneGraph | None) -> list[list[str]]:
    if graph is None:
        return []
    names = graph.names()  # as the text format writes them: `car#2` tells two cars apart
    rows = [[names[r.subject], r.predicate, names[r.object]] for r in graph.relations]
    used = {r.subject for r in graph.relations} | {r.object for r in graph.relations}
    rows += [[names[i], "", ""] for i in range(len(graph.objects)) if i not in used]
    return rows


def _note(w: WordMapping | None) -> str:
    if w is None or w.method == "exact":
        return ""
    if w.mapped is None and w.reason:
        return f"{w.reason}, dropped"
    if w.mapped is None:
        return f"not known{f' (nearest {w.best} {w.score:.2f})' if w.best else ''}, dropped"
    if w.method == "semantic":
        return "kept, not checkable here"
    return f"→ {w.mapped}, {w.reason}" if w.reason else f"→ {w.mapped} {w.score:.2f}"


@dataclass
class Understood:
    """What the tiny world made of a graph, tolerant of unknown predicates (which `map_graph`
    refuses): those relations are noted and left out of `mapped`."""

    mapped: MappedGraph | None
    object_notes: list[str]
    known: list[bool]
    edge_notes: list[str]
    problems: list[str]


def understand(graph: SceneGraph | None, vocabulary=None) -> Understood:
    """How each word of a graph is read onto `vocabulary`'s classes (default the tiny world's: the
    page's session's, for a graph read off a photo in ADE20K's)."""
    if graph is None:
        return Understood(None, [], [], [], [])
    edge_notes, problems, keep = [], [], []
    for k, r in enumerate(graph.relations):
        m = map_predicate(r.predicate, f"relation {k}")
        if m.mapped is None:
            edge_notes.append(f"not known (nearest {m.best} {m.score:.2f})")
            problems.append(f"'{r.predicate}' ({graph.objects[r.subject].label} → {graph.objects[r.object].label}) "
                            f"is not a predicate the judge knows; nearest '{m.best}' ({m.score:.2f})")
        else:
            edge_notes.append(_note(m))
            keep.append(r)
    mapped = map_graph(SceneGraph(graph.objects, tuple(keep), graph.notes), vocabulary)
    labels = {w.where: w for w in mapped.words if w.kind == "label"}
    object_notes, known = [], []
    for i in range(len(graph.objects)):
        w = labels.get(f"object {i}")
        attrs = [f"{a.original} {_note(a)}" for a in mapped.words
                 if a.kind == "attribute" and a.where.startswith(f"object {i} (") and a.method != "exact"]
        object_notes.append("; ".join(x for x in [_note(w), *attrs] if x))
        known.append(mapped.source_to_graph[i] is not None)
    return Understood(mapped, object_notes, known, edge_notes, problems)


def canvas_value(graph: SceneGraph | None, positions: list[Position] | None = None,
                 understood: Understood | None = None, verdict: dict | None = None, rev: int | None = None) -> str:
    """The canvas's JSON for a graph: positions (by index; missing ones are placed by the canvas),
    word notes, and, given a `compliance.check` verdict of this graph, each edge's pass/fail. `rev`:
    the count of the canvas edit this answers (see `canvas_rev`); None for a graph from elsewhere."""
    extra = {} if rev is None else {"rev": rev}
    if graph is None:
        return json.dumps({"objects": [], "relationships": [], "edge_status": [], "edge_notes": [], **extra})
    u = understood or understand(graph)
    positions = list(positions or [])
    if not any(p is not None for p in positions):
        positions = initial_positions(graph)
    objects = []
    for i, o in enumerate(graph.objects):
        item: dict = {"label": o.label, "attributes": list(o.attributes), "note": u.object_notes[i],
                      "known": u.known[i]}
        if i < len(positions) and positions[i] is not None:
            item["x"], item["y"] = positions[i]
        if verdict is not None and verdict["objects"][i]["present"] is False:
            item["note"] = (item["note"] + "; " if item["note"] else "") + "missing in the map"
        objects.append(item)
    status = [None] * len(graph.relations)
    if verdict is not None:
        status = [r["holds"] for r in verdict["relations"]]
    return json.dumps({"objects": objects, "relationships": [list(t) for t in graph.triples()],
                       "edge_status": status, "edge_notes": u.edge_notes, **extra})


CANVAS_W, CANVAS_H = 640, 320  # graph_canvas.js's drawing units


# Where a relation puts its subject against its object, in picture directions (x right, y down).
_DIRECTIONS = MappingProxyType({"left of": (-1, 0), "right of": (1, 0), "above": (0, -1), "below": (0, 1),
                                "on": (0, -1), "on top of": (0, -1), "standing on": (0, -1), "under": (0, 1),
                                "beneath": (0, 1)})


def initial_positions(graph: SceneGraph) -> list[Position]:
    """Where the canvas puts a graph that comes without positions: the drawings' layout, pulled so
    that spatial relations read as they would in the picture (sky above grass: sky drawn higher),
    then spread so that no two nodes sit on each other."""
    from ..graph.draw import unit_layout

    pos = unit_layout(graph).astype(float)
    n = len(pos)
    wanted = [(r.subject, r.object, _DIRECTIONS[r.predicate]) for r in graph.relations
              if r.predicate in _DIRECTIONS]
    for _ in range(60):
        for s, o, d in wanted:
            for axis in (0, 1):
                if d[axis]:
                    short = 0.3 - d[axis] * (pos[s, axis] - pos[o, axis])
                    if short > 0:
                        pos[s, axis] += d[axis] * short / 2
                        pos[o, axis] -= d[axis] * short / 2
        for i in range(n):
            for j in range(i + 1, n):
                dx, dy = (pos[j] - pos[i]) / (0.3, 0.16)
                if dx * dx + dy * dy < 1:  # too close for two labels: apart, sideways first
                    side = 1.0 if dx >= 0 else -1.0
                    pos[i, 0] -= 0.03 * side
                    pos[j, 0] += 0.03 * side
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    pos = (pos - lo) / np.where(hi - lo > 1e-9, hi - lo, 1.0) if n > 1 else np.full((1, 2), 0.5)
    return [(round(90 + u * (CANVAS_W - 180)), round(35 + v * (CANVAS_H - 80))) for u, v in pos]


def notes_markdown(graph: SceneGraph | None, u: Understood) -> str:
    if graph is None:
        return "The graph is empty: add an object on the canvas, type triples, or load an example."
    lines = [f"- {p}" for p in u.problems]
    if u.mapped is not None:
        lines += [f"- {line}" for line in u.mapped.lines()]
    head = (f"**{len(graph.objects)} objects, {len(graph.relations)} relations.** ")
    if not lines:
        return head + "Every word is known to the tiny world."
    return head + "How the tiny world understood it:\n\n" + "\n".join(lines)


def canvas_rev(value: str | None) -> int | None:
    """The canvas's count of what it sent, to carry back in the answer (it ignores stale answers)."""
    try:
        rev = load_json(value or "{}", "the canvas").get("rev")
    except (BadInput, AttributeError):
        return None
    return rev if isinstance(rev, int) and not isinstance(rev, bool) else None


def positions_of(value: str | None) -> list[Position]:
    """Node positions of a canvas value, by index; unreadable values give none."""
    try:
        return read_canvas(value)[1]
    except BadInput:
        return []
