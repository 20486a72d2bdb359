"""Concept edits, LEDITS++-style, for a picture read (or a result inverted): towards or away from words.

`-car` takes every car away; `+sheep,-dog` makes the dogs sheep; each concept may carry its own
scale (`-car:2`). Words go through the same mapping as a graph's (`poodle` is a dog). The tiny image
factor is conditioned on maps, not on words, so a concept's "cross-attention" is its class's pixels
in the segmentation the picture was inverted under, and its guidance is the difference the edited
maps make to the factor's estimate (`fgdm.inversion.steer`). A concept towards a word needs one
taken away to say where: a tiny world's segmentation has no free place that means "add a sheep"
(add it to the graph instead).

`plan` turns the concepts into the edit's stages, each a segmentation (removals first, in order, then
what each removal's place becomes), and the graph the edited picture should show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..editing import masks as ed
from ..errors import BadInput, shown
from ..graph import vocabularies
from ..graph.mapping import map_attribute, map_label
from ..graph.scene_graph import SceneGraph, check_plain
from ..inputs import check_text, number
from .edit import relabel

DEFAULT_SCALE = 1.5
MAX_SCALE = 5.0
MAX_CONCEPTS = 4


@dataclass(frozen=True)
class Concept:
    sign: str  # "+" towards, "-" away
    word: str  # as the person wrote it
    label: str  # the class of the maps' vocabulary it names ("": none, a free word)
    scale: float
    why: str = ""  # how the word was read, when not as written

    def text(self) -> str:
        return f"{self.sign}{self.word}" + (f":{self.scale:g}" if self.scale != DEFAULT_SCALE else "")


@dataclass
class Plan:
    segmentations: list[np.ndarray]
    scales: list[float]
    graph: SceneGraph
    said: list[str]


def parse_concepts(text: object, free_words: bool = False, vocabulary=None) -> list[Concept]:
    """"+sheep,-dog:2" -> concepts. One clear message for anything a person can get wrong.
    `free_words`: any plain word passes (for a backend told words, as Stable Diffusion is: "+blue
    car,-red car"); a word that names no class of the tiny world gets the label "", and what may
    not be named twice with the same sign is the word (not its class). `vocabulary`: the classes of the
    maps edited (default the tiny world's)."""
    v = vocabularies.or_tiny(vocabulary)
    world = "the tiny world" if v.name == "tiny" else v.name
    if text is not None and not isinstance(text, str):
        raise BadInput("concepts are text: +WORD or -WORD, separated by commas")
    if len(text or "") > 2000:
        raise BadInput(f"concepts: {len(text)} characters; at most 2000")
    check_text(text or "", "the concepts")
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    if not parts:
        raise BadInput("give concepts as +WORD or -WORD, separated by commas (e.g. -car, or +sheep,-dog)")
    if len(parts) > MAX_CONCEPTS:
        raise BadInput(f"at most {MAX_CONCEPTS} concepts at once, not {len(parts)}")
    out: list[Concept] = []
    for part in parts:
        sign, body = part[0], part[1:].strip()
        if sign not in "+-" or not body:
            raise BadInput(f"{shown(part)}: a concept starts with + (towards) or - (away), e.g. -car")
        word, _, scale_text = body.partition(":")
        word = word.strip().lower()
        scale = number(scale_text, f"the scale of {word}", 0.1, MAX_SCALE) if scale_text.strip() else DEFAULT_SCALE
        if free_words:
            if not word:
                raise BadInput(f"{shown(part)}: a concept names a word, e.g. -car or +blue car")
            check_plain(word, f"the concept {shown(word)}")
        m = map_label(word, vocabulary=v)
        if free_words:
            if any(c.word == word and c.sign == sign for c in out):
                raise BadInput(f"{shown(word)} is named twice with the same sign")
            why = "" if m.mapped is None or m.method == "exact" else m.why
            out.append(Concept(sign, word, m.mapped or "", float(scale), why))
            continue
        if m.mapped is None:
            if map_attribute(word).mapped is not None:
                raise BadInput(f"{shown(word)} is an attribute, not a concept of the tiny backend: name the colour "
                               "on the thing in the graph instead (blue car)")
            near = f" (nearest: {m.best})" if m.best else ""
            raise BadInput(f"{shown(word)} is not a class of {world}{near}")
        if any(c.label == m.mapped and c.sign == sign for c in out):
            raise BadInput(f"{m.mapped} is named twice with the same sign")
        out.append(Concept(sign, word, m.mapped, float(scale), "" if m.method == "exact" else m.why))
    return out


def concept_edit(seg: np.ndarray, depth: np.ndarray | None, graph: SceneGraph, text: object, redraw=None,
                 words: bool = False, vocabulary=None) -> tuple[Plan, list[Concept] | None]:
    """A concept edit as the CLI and the studio apply it: its plan on the maps and, for a backend told
    words (`capabilities.prompts`), the concepts as written (pass them to `steer(concepts=...)`). There
    words the maps cannot show (an attribute, a thing of no class) change the picture alone: the plan
    is then empty and the maps stay."""
    free = parse_concepts(text, free_words=True, vocabulary=vocabulary) if words else None
    # One class both towards and away ("+blue car,-red car"): what changes is not the class.
    same_class = free is not None and bool({c.label for c in free if c.sign == "+"}
                                           & {c.label for c in free if c.sign == "-"} - {""})
    try:
        if not same_class:
            return plan(seg, depth, graph, parse_concepts(text, vocabulary=vocabulary), redraw, vocabulary), free
    except BadInput:
        if free is None:
            raise
    return Plan([], [], graph, [f"steered {', '.join(c.text() for c in free)} (the maps stay)"]), free


def plan(seg: np.ndarray, depth: np.ndarray | None, graph: SceneGraph, concepts: list[Concept],
         redraw=None, vocabulary=None) -> Plan:
    """The edit's stages on a segmentation (S, S): each `-` concept takes every region of its class
    away (filled with what is behind it), in order; then each `+` concept draws its class where the
    `-` concept it is paired with (the first of the same sort, thing or stuff) took one away, with
    `redraw` giving the new class its own shape (as a graph relabel does). The map is in `vocabulary`'s
    classes (default the tiny world's)."""
    v = vocabularies.or_tiny(vocabulary)
    away = [c for c in concepts if c.sign == "-"]
    towards = [c for c in concepts if c.sign == "+"]
    if not away:
        raise BadInput("a concept towards a word needs one taken away to say where (e.g. +sheep,-dog); "
                       "to add a thing, add it to the graph")
    pairs: dict[int, Concept] = {}
    for c in towards:
        k = next((i for i, a in enumerate(away) if i not in pairs
                  and v.is_stuff(a.label) == v.is_stuff(c.label)), None)
        if k is None:
            sort = "stuff" if v.is_stuff(c.label) else "a thing"
            raise BadInput(f"+{c.word} needs a -WORD of {sort} beside it to say what becomes {c.label}")
        pairs[k] = c
    current = np.array(seg, copy=True)
    stages: list[np.ndarray] = []
    scales: list[float] = []
    said: list[str] = []
    taken: dict[int, np.ndarray] = {}
    for k, c in enumerate(away):
        cid = v.position(c.label)
        region = current == cid
        if not region.any():
            raise BadInput(f"there is no {c.label} in the picture to take away")
        m = ed.Masks.from_segmentation(current, depth, vocabulary)
        ids = sorted({int(i) for i in np.unique(m.instances[region])})
        for iid in ids:
            m = ed.delete(m, iid)
        if (m.segmentation == cid).any():
            raise BadInput(f"the {c.label} fills the picture: there is nothing to put in its place")
        current, taken[k] = m.segmentation.copy(), region
        stages.append(current.copy())
        scales.append(c.scale)
        said.append(f"took away the {c.label}" + (f" ({len(ids)} of them)" if len(ids) > 1 else "")
                    + (f" ('{c.word}': {c.why})" if c.why else ""))
    new = _edited_graph(graph, {a.label: (pairs[k].label if k in pairs else None) for k, a in enumerate(away)})
    for k, c in pairs.items():
        current = relabel(current, taken[k], c.label, new, redraw, vocabulary)
        stages.append(current.copy())
        scales.append(c.scale)
        said.append(f"the {away[k].label} is now a {c.label}" + (f" ('{c.word}': {c.why})" if c.why else ""))
    return Plan(stages, scales, new, said)


def _edited_graph(graph: SceneGraph, changes: dict[str, str | None]) -> SceneGraph:
    """The graph with each class in `changes` relabelled (to a class) or left out (None), with the
    relations of what was left out."""
    keep = [k for k, o in enumerate(graph.objects) if changes.get(o.label, o.label) is not None]
    index = {k: j for j, k in enumerate(keep)}
    objects = [(changes.get(graph.objects[k].label) or graph.objects[k].label, graph.objects[k].attributes)
               for k in keep]
    relations = [(index[s], p, index[o]) for s, p, o in graph.triples() if s in index and o in index]
    return SceneGraph.build(objects, relations)
