"""The edit room: an object picked in the segmentation (a click on the map, the overlay or a legend
row), edited in the mask (moved, flipped, resized, deleted, pasted from another map; undo, redo),
what follows the edited map rerun with the same seeds, and the graph rewritten to match the mask.

An edit answers with `EDIT_OUTPUTS`: the segmentation, depth and sketch and the overlay (UP times
larger on the page), the relations judged again, the point (x, y) now on the edited object, the
line on what is picked, and the session. Besides the mask's operations: the picked object brought
nearer or pushed farther (`edit_depth`, the depth slider), and strokes drawn on or erased from the
sketch (`edit_sketch`: the points clicked on the sketch map, or typed). A rerun starts where the
edits ask (`Session.rerun`): after a depth edit from the sketch, after strokes the picture alone.

Adding an operation:
- a button that is one mask operation of `editing.session.Session.apply` is one row of MASK_BUTTONS
  (its layout and its event follow from the table);
- any other control (a slider, a pen on a map) gets its own row in `layout.edit_room`, a handler
  here that answers with EDIT_OUTPUTS (and, for a map other than the segmentation, that map
  too), and its events in the edit-room section of `wiring.wire`.
Handlers that need the page's backends take the `Studio` first (the wiring binds it)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import gradio as gr

from ..backends import RERUNS
from ..editing.session import DEFAULT_SCALE, Session, picked_line
from ..errors import BadInput
from . import graph_views as views
from . import running
from .graph_room import graph_views
from .page import info, warn, whole
from .result_views import UP, before_after, candidates, legend_html, map_picture, overlay, paste_sources, relations, up
from .state import Studio, need

EDIT_OUTPUTS = ("segmentation", "depth", "sketch", "overlay", "relations", "x", "y", "picked", "session")
STROKE_OUTPUTS = ("sketch", "stroke", "picked", "session")
PICK_OUTPUTS = ("x", "y", "overlay", "picked")


# --- mask operations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaskButton:
    """A button of the edit room that is one mask operation on the object under (x, y): its name (the
    button is `sg-{name}`), its label, the operation (`editing.session.OPERATIONS`; None: its name)
    and its amount (None: the Step box's pixels)."""

    name: str
    label: str
    operation: str | None = None
    amount: float | None = None

    @property
    def does(self) -> str:
        return self.operation or self.name


# In the order the page shows them.
MASK_BUTTONS = (
    MaskButton("move_left", "←"), MaskButton("move_up", "↑"), MaskButton("move_down", "↓"),
    MaskButton("move_right", "→"), MaskButton("flip_horizontal", "Flip ↔"), MaskButton("flip_vertical", "Flip ↕"),
    MaskButton("bigger", "Bigger", "resize", DEFAULT_SCALE), MaskButton("smaller", "Smaller", "resize", 0.8),
    MaskButton("delete", "Delete"), MaskButton("undo", "Undo"), MaskButton("redo", "Redo"),
)
PASTE = MaskButton("paste", "Paste the object under (x, y) of that map")


def edit_mask(operation: str, x: float | int | None, y: float | int | None, amount: float | int | None,
              source: str | None, session: Session | None, *, display: bool = False):
    """One mask operation on the session's segmentation -> EDIT_OUTPUTS. A move or a resize that
    pushes the object past the picture's edge says how much of it was cut."""
    session, done = need(session).apply(operation, x, y, amount, source)
    if done.cut:
        info(done.cut)
    picked = done.message if operation not in ("undo", "redo") else gr.skip()
    return _edited(session, done, picked, display)


def _edited(session: Session, done, picked, display: bool) -> tuple:
    """EDIT_OUTPUTS after an edit."""
    v = session.result.vocab
    return (map_picture("segmentation", session.current, v, display),
            map_picture("depth", session.current_depth, v, display),
            map_picture("sketch", session.current_sketch, v, display),
            up(overlay(session.result.image, session.current, done.x, done.y, v), display),
            relations(session, session.current),
            gr.skip() if done.x is None else done.x, gr.skip() if done.y is None else done.y, picked, session)


def edit_mask_api(operation: str, x, y, amount, source: str | None, session: Session | None) -> tuple:
    """The API's edit_mask: the segmentation, the overlay, the relations, x, y and the session."""
    seg, _depth, _sketch, over, rows, px, py, _picked_line, new = edit_mask(operation, x, y, amount, source, session)
    return seg, over, rows, px, py, new


def edit_depth(x, y, amount, session: Session | None, *, display: bool = False) -> tuple:
    """The object under (x, y) brought nearer (amount > 0) or pushed farther (amount < 0) by that share
    of the depth range; where it now passes in front of or behind an overlapping object, the
    segmentation shows the nearer one. -> EDIT_OUTPUTS (then rerun: the sketch and the picture follow)."""
    session, done = need(session).apply("depth", x, y, amount)
    return _edited(session, done, done.message, display)


def edit_depth_api(x, y, amount, session: Session | None) -> tuple:
    """The API's edit_depth: the segmentation, the depth, the relations, x, y and the session."""
    seg, depth, _sketch, _over, rows, px, py, _picked_line, new = edit_depth(x, y, amount, session)
    return seg, depth, rows, px, py, new


def edit_sketch(points: str | None, session: Session | None, *, erase: bool = False, display: bool = False) -> tuple:
    """A stroke through points "X0,Y0,X1,Y1,..." (map pixels) drawn on the sketch, or with `erase`
    the sketch's lines cleared along it. -> STROKE_OUTPUTS: the sketch, the points (emptied), the
    line on what was done, the session (then rerun the image: the picture follows)."""
    session, done = need(session).strokes(points or "", bool(erase))
    return (map_picture("sketch", session.current_sketch, session.result.vocab, display), "", done.message, session)


def edit_sketch_api(points: str | None, erase: bool, session: Session | None) -> tuple:
    """The API's edit_sketch: the sketch and the session."""
    if not isinstance(erase, bool):
        raise BadInput(f"erase must be true or false, not {str(erase)[:20]!r}")
    sketch, _points, _line, new = edit_sketch(points, session, erase=erase)
    return sketch, new


MAX_STROKE_POINTS = 64


def add_point(evt: gr.SelectData, points: str | None) -> str:
    """A click on the sketch map: one more point of the stroke (map pixels)."""
    x, y = int(evt.index[0]) // UP, int(evt.index[1]) // UP
    have = [p for p in (points or "").split(",") if p.strip()]
    if len(have) >= 2 * MAX_STROKE_POINTS:
        warn(f"a stroke has at most {MAX_STROKE_POINTS} points: draw this one, then start another")
        return points or ""
    return ",".join([*have, str(x), str(y)])


def press(button: MaskButton, x, y, step, source: str | None, session: Session | None) -> tuple:
    """A button of the page (MASK_BUTTONS, PASTE): its operation with its amount, else the Step box's."""
    return edit_mask(button.does, x, y, step if button.amount is None else button.amount, source, session,
                     display=True)


# --- picking an object --------------------------------------------------------------------------------


def pick_point(x: int, y: int, session: Session | None) -> tuple:
    """A click on the segmentation, the overlay or a legend row: the object under (x, y) is picked.
    -> PICK_OUTPUTS."""
    from ..editing import masks as ed

    if session is None:
        return x, y, gr.skip(), "Generate a scene first, then click an object."
    v = session.result.vocab
    m = ed.Masks.from_segmentation(session.current, vocabulary=v)
    try:
        iid = ed.pick(m, x, y)
    except BadInput as e:
        warn(str(e))
        return x, y, up(overlay(session.result.image, session.current, vocabulary=v), True), f"({x}, {y}): {e}"
    return x, y, up(overlay(session.result.image, session.current, x, y, v), True), picked_line(m.label_of(iid), x, y)


def pick_selected(evt: gr.SelectData, session: Session | None) -> tuple:
    """A click on a map shown UP times larger."""
    return pick_point(int(evt.index[0]) // UP, int(evt.index[1]) // UP, session)


def pick_row(evt: gr.EventData, session: Session | None) -> tuple:
    """A click on a row of the legend (`result_views.LEGEND_JS` sends its x and y)."""
    data = getattr(evt, "_data", None)
    data = data if isinstance(data, dict) else {}
    return pick_point(whole(data.get("x"), "x", 0, 255), whole(data.get("y"), "y", 0, 255), session)


# --- after an edit ---------------------------------------------------------------------------------------


# `depth` (depth, sketch and image), `sketch` (sketch and image) or `image`, from the edited segmentation
# with the same seeds. (No docstring: the API's description of rerun is the docstring, and stays as it was.)
def rerun(studio: Studio, what: str, session: Session | None, request: gr.Request = None, progress=gr.Progress(),
          *, display: bool = False):
    session = need(session)
    if what not in RERUNS:
        raise BadInput(f"rerun: what must be one of {', '.join(RERUNS)}, not {what!r}"[:200])
    b = studio.made(session)
    plan = session.rerun(what)  # an edited depth or sketch is kept, and where it cannot be, the person is told
    if plan.note:
        info(plan.note)
    steps = {f: session.result.options.steps.get(f, k) for f, k in b.capabilities.steps_after(plan.what).items()}
    edited = {k: m for k, m in (("depth", plan.depth), ("sketch", plan.sketch)) if m is not None}

    def job(on_step, on_map):
        return b.rerun(session.result, plan.segmentation, what=plan.what, on_step=on_step, on_map=on_map, **edited)

    yield from running.stream_result(studio, job, steps, progress, session.after, display,
                                     f"rerun({what}) of {session.mapped.source.to_json()}", session, request,
                                     session.result.vocab)


def match_graph(session: Session | None) -> tuple:
    """The graph rewritten to describe the edited mask; its text (the views follow from it)."""
    from ..editing.graph_sync import match_graph as rewrite
    from ..graph.mapping import map_graph

    session = need(session)
    graph, changes = rewrite(session.mapped, session.current, session.result.depth)
    if not changes:
        info("Every relation already holds in the mask: the graph is unchanged.")
    else:
        info("Graph updated: " + "; ".join(changes))
    mapped = map_graph(graph, session.result.vocab)
    # The result judged against the new graph on the edited mask (which is what the graph describes).
    result = replace(session.result, graph=mapped.graph, verdict=session.result.judged(mapped.graph, session.current))
    new = replace(session, mapped=mapped, result=result)
    return views.to_text(graph), relations(new, session.current), new


def after_result(studio: Studio, canvas: str | None, session: Session | None) -> tuple:
    """What follows a new result or an edit, in the page only: the canvas's edges judged again,
    the legend, the candidates, the paste sources and the before/after slider."""
    out_canvas = gr.skip()
    if session is not None:
        try:
            graph, positions = views.read_canvas(canvas)
        except BadInput:
            graph, positions = None, []
        if graph == session.mapped.source:
            out_canvas = graph_views(studio, graph, positions, session)[0]
    sources = list(paste_sources(session))
    return (out_canvas, legend_html(session), candidates(session),
            gr.update(choices=sources, value=sources[0] if sources else None), before_after(session))
