"""The pictures room ("Start from a picture"): a picture read into its maps and graph and inverted,
a generated result inverted, and edits of an inverted picture that redraw only what changed: by
graph (a relation turned around, a node relabelled or left out) or by concept (`-car`, `+sheep,-dog`).

The API's handlers return the maps at their own size; the page's (`*_from_page`) show them UP
times larger and the graph in every view. Each takes the `Studio` first (the wiring binds it)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import gradio as gr

from ..editing.session import MAX_EARLIER, Session
from ..errors import BadInput
from ..graph.scene_graph import SceneGraph
from ..graph.vocabularies import load as load_vocabulary
from ..inputs import check_seed
from . import graph_views as views
from . import running
from .edit_room import rerun
from .graph_room import graph_from_views, with_views
from .page import info, warn
from .result_views import SESSION
from .state import Studio, need, session_key

INVERSION_STEPS = 8  # edit-friendly inversion is exact at any count; 8 keeps a read and an edit quick


def _read(studio: Studio, path: str | None, seed: object, session: Session | None, progress, display: bool,
          request: gr.Request | None = None, choice: str | None = None):
    from ..graph.mapping import map_graph
    from ..reading.load import decode

    if not path:
        raise BadInput("choose a picture first (PNG, JPEG, WebP, BMP or GIF)")
    picture = decode(path)  # the limits are checked here, before any work: nothing on the page changes
    seed = check_seed(0 if seed is None else seed)
    b = studio.backend(choice)
    caps = b.capabilities
    if not caps.inverts:
        raise BadInput(f"the {caps.name} backend cannot read pictures")
    steps = {"depth": caps.default_steps.get("depth", 1), "sketch": caps.default_steps.get("sketch", 1),
             "inversion": INVERSION_STEPS}

    judged = b.familiarity(picture) if hasattr(b, "familiarity") else None
    if judged is not None and not judged["familiar"]:  # said before the maps arrive, and again with them
        # The page asks first: nothing changes, and the same picture read again is read anyway.
        if display and session_key(request) and not studio.asked_before(request, running.digest(picture)):
            raise BadInput(running.unfamiliar(judged, running.ASK_UNFAMILIAR))
        studio.forget_asked(request)
        warn(running.unfamiliar(judged, running.UNFAMILIAR))

    def job(on_step, on_map):
        return b.read(picture, seed, None, "ddpm", INVERSION_STEPS, on_step, on_map)

    earlier = session.earlier + [session.current] if session is not None else []
    yield from running.stream_result(
        studio, job, steps, progress,
        lambda r: Session(map_graph(r.graph, r.vocab), r, earlier=earlier[-MAX_EARLIER:], backend=choice or ""),
        display, f"read({Path(path).name}, seed={seed})", session, request, vocabulary=load_vocabulary(caps.reads_in))


def read_picture(studio: Studio, path: str | None, seed, session: Session | None, choice: str | None = None,
                 progress=gr.Progress()):
    """The API's read: a picture file -> its maps, its graph (in report.json) and its inversion."""
    yield from _read(studio, path, seed, session, progress, False, None, choice)


def read_from_page(studio: Studio, path: str | None, seed, canvas: str | None, session: Session | None,
                   choice: str | None = None, request: gr.Request = None, progress=gr.Progress()):
    """Start from a picture: its maps arrive one by one, then its graph is on the canvas."""
    def said(outs):
        for out in outs:
            new = out[SESSION]
            if isinstance(new, Session):
                info(f"Read {len(new.mapped.source.objects)} objects and {len(new.mapped.source.relations)} "
                     "relations. Edit the mask or the graph: only what you change is drawn again.")
            yield out

    yield from with_views(studio, said(_read(studio, path, seed, session, progress, True, request, choice)), canvas)


# --- edits of the graph and by concept ----------------------------------------------------------------


def _apply_graph(studio: Studio, graph: SceneGraph, session: Session | None, progress, display: bool,
                 request: gr.Request | None = None):
    """The result edited until it shows `graph`: a changed predicate moves the subject, a node left
    out is deleted, a new label redraws the region; then the factors rerun (a read picture keeps
    everything the edit did not touch)."""
    from ..graph.mapping import map_graph
    from ..reading.edit import graph_edit

    session = need(session)
    v = session.result.vocab
    mapped = map_graph(graph, v)
    if mapped.graph is None:
        raise BadInput(f"{mapped.lines()[-1]}: " + "; ".join(mapped.lines()[:3]))
    made_by = studio.made(session)
    seg, said = graph_edit(session.current, session.result.depth, session.mapped.graph, mapped.graph,
                           getattr(made_by, "redraw", None), not made_by.capabilities.prompts, v)
    info("; ".join(said)[:500])
    edited = replace(session, mapped=mapped, result=replace(session.result, graph=mapped.graph)).with_map(seg)
    yield from rerun(studio, "depth", edited, request, progress, display=display)


def apply_graph(studio: Studio, text: str | None, session: Session | None, progress=gr.Progress()):
    """The API's graph edit: the graph as text triples or sg2im JSON, the same objects in the same
    order (some may be left out: deleted, or relabelled)."""
    yield from _apply_graph(studio, views.read_text(text), session, progress, False)


def apply_graph_from_page(studio: Studio, text: str | None, rows, canvas: str | None, session: Session | None,
                          request: gr.Request = None, progress=gr.Progress()):
    """The page's graph edit; with the result, every view shows the graph, its edges judged."""
    yield from with_views(studio, _apply_graph(studio, graph_from_views(text, rows, canvas), session, progress,
                                               True, request), canvas)


def _apply_concepts(studio: Studio, text: str | None, session: Session | None, progress, display: bool,
                    request: gr.Request | None = None):
    """Concept edits (LEDITS++-style) of an inverted picture: `-car` takes the cars away, `+sheep,-dog`
    makes the dogs sheep, `WORD:SCALE` each with its own scale; the graph follows."""
    from ..graph.mapping import map_graph
    from ..reading.concepts import concept_edit, parse_concepts

    session = need(session)
    b = studio.made(session)
    words = b.capabilities.prompts
    v = session.result.vocab
    parse_concepts(text, free_words=words, vocabulary=v)  # a mistake in the words is said before anything else
    if not session.result.inverted:
        raise BadInput("a concept edit starts from an inverted picture: read a picture, or press "
                       "'Invert the result shown' first")
    p, concepts = concept_edit(session.current, session.result.depth, session.mapped.graph, text,
                               getattr(b, "redraw", None), words, v)
    info("; ".join(p.said)[:500])
    edited = replace(session, mapped=map_graph(p.graph, v), result=replace(session.result, graph=p.graph))
    if p.segmentations:
        edited = edited.with_map(p.segmentations[-1])
    steps = {f: session.result.options.steps.get(f, k) for f, k in b.capabilities.steps_after("depth").items()}
    kw = {"concepts": concepts} if concepts is not None else {}

    def job(on_step, on_map):
        return b.steer(edited.result, p.segmentations, p.scales, on_step, on_map, **kw)

    yield from running.stream_result(studio, job, steps, progress, edited.after, display,
                                     f"concepts({str(text)[:80]!r}) of {session.mapped.source.to_json()}", edited,
                                     request, session.result.vocab)


def apply_concepts(studio: Studio, text: str | None, session: Session | None, progress=gr.Progress()):
    """The API's concept edit: "+WORD,-WORD" (each may end in :SCALE)."""
    yield from _apply_concepts(studio, text, session, progress, False)


def apply_concepts_from_page(studio: Studio, text: str | None, canvas: str | None, session: Session | None,
                             request: gr.Request = None, progress=gr.Progress()):
    yield from with_views(studio, _apply_concepts(studio, text, session, progress, True, request), canvas)


def invert(studio: Studio, session: Session | None, request: gr.Request = None, progress=gr.Progress(), *,
           display: bool = False):
    """The result's picture inverted: from then on an edit redraws only what it changed."""
    session = need(session)
    if session.result.inverted:
        raise BadInput("this picture is inverted already: edits keep what they do not touch")
    b = studio.made(session)
    if not b.capabilities.inverts:
        raise BadInput(f"the {b.capabilities.name} backend cannot invert pictures")

    def job(on_step, on_map):
        return b.invert(session.result, "ddpm", INVERSION_STEPS, on_step)

    def keep(result) -> Session:
        info("Inverted: an edit now redraws only what it changes.")
        return replace(session, result=result)

    yield from running.stream_result(studio, job, {"inversion": INVERSION_STEPS}, progress, keep, display, "invert",
                                     session, request, session.result.vocab)
