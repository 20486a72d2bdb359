"""The graph room: one scene graph in three views kept in step (the node-link canvas, the triples
table, the text or sg2im JSON), the examples, importing a graph file and exporting sg2im JSON.

Every handler here answers with the four views (`VIEWS`: canvas, text, table, notes); the canvas
draws its edges judged when the session was generated from that very graph. Handlers that need
the page's backends take the `Studio` first (the wiring binds it)."""

from __future__ import annotations

import functools
from pathlib import Path

import gradio as gr
import numpy as np

from ..editing.session import Session
from ..errors import BadInput
from ..graph.scene_graph import SceneGraph
from . import graph_views as views
from .page import info
from .result_views import SESSION
from .state import Studio

EXAMPLE = "sky above grass\nred car on grass\ntree left of red car\nhouse behind tree"
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "graphs"
MAX_OFFERED = 24  # graphs of an imported file shown to pick from
VIEWS = 4  # canvas, text, table, notes


def graph_views(studio: Studio, graph: SceneGraph | None, positions, session: Session | None = None,
                rev: int | None = None) -> tuple:
    """canvas, text, table, notes for a graph; its edges judged on the session's map when the
    session was generated from this very graph."""
    u = views.understand(graph, session.result.vocab if session is not None else studio.drawn_vocabulary())
    verdict = None
    ours = session is not None and graph is not None and graph == session.mapped.source
    # A picture the reading model does not know: its graph's edges are not drawn as passing or failing.
    if ours and session.result.trusted:
        from ..graph.compliance import check

        verdict = check(session.mapped, session.current, session.result.depth)
    if ours and len(session.result.confidence) == len(graph.objects):  # a graph read off a picture
        u.object_notes = [f"{note}; " * bool(note) + f"read with {c:.0%} confidence"
                          for note, c in zip(u.object_notes, session.result.confidence, strict=True)]
    return (views.canvas_value(graph, positions, u, verdict, rev), views.to_text(graph), views.to_table(graph),
            views.notes_markdown(graph, u))


def positions_for(graph: SceneGraph | None, canvas: str | None) -> list:
    """Where the canvas draws a graph that comes from another view: where its nodes are now when the
    objects are the same ones (only the edges changed), else laid out afresh, so that a typed or
    imported graph is not drawn tangled on the places of another."""
    try:
        old, positions = views.read_canvas(canvas)
    except BadInput:
        return []
    if old is None or graph is None or old.objects != graph.objects:
        return []
    return positions


def shown(studio: Studio, graph: SceneGraph | None, canvas: str | None, session: Session | None = None) -> tuple:
    """The views of a graph that comes from elsewhere (a file, an example, a result), on the canvas's places."""
    return graph_views(studio, graph, positions_for(graph, canvas), session)


def with_views(studio: Studio, outs, canvas: str | None):
    """A result's outputs as they stream (`running.stream_result`), each followed by the four views:
    skipped while the maps arrive, and with the new session, its graph (the canvas with its edges judged)."""
    for out in outs:
        new = out[SESSION]
        if isinstance(new, Session):
            yield (*out, *shown(studio, new.mapped.source, canvas, new))
        else:
            yield (*out, *(gr.skip() for _ in range(VIEWS)))


# --- the views kept in step --------------------------------------------------------------------------


def from_canvas(studio: Studio, value: str | None, session: Session | None) -> tuple:
    graph, positions = views.read_canvas(value)
    return graph_views(studio, graph, positions, session, views.canvas_rev(value))


def from_text(studio: Studio, text: str | None, canvas: str | None, session: Session | None) -> tuple:
    return shown(studio, views.read_text(text), canvas, session)


def _rows(rows) -> list:
    return rows.values.tolist() if hasattr(rows, "values") else rows  # a pandas DataFrame, or lists


def from_table(studio: Studio, rows, canvas: str | None, session: Session | None) -> tuple:
    return shown(studio, views.read_table(_rows(rows)), canvas, session)


def graph_from_views(text: str | None, rows, canvas: str | None) -> SceneGraph:
    """The graph Generate draws: the one view the person changed without applying it, else the text.

    The server keeps the three views in step, so they agree until the person types in the text or
    the table (applied only with its button) or the canvas's answer is still on its way: the view
    that disagrees with the two others is the one touched last. (With two views changed at once, the
    text wins.) A view that cannot be read counts as changed, so its mistake is the one reported."""
    def read(kind: str):
        try:
            if kind == "canvas":
                return views.read_canvas(canvas)[0]
            return views.read_table(_rows(rows)) if kind == "table" else views.read_text(text)
        except BadInput as e:
            return e

    got = {kind: read(kind) for kind in ("text", "table", "canvas")}
    same = lambda a, b: not isinstance(a, BadInput) and a == b  # noqa: E731
    for kind, (a, b) in (("table", ("text", "canvas")), ("canvas", ("text", "table"))):
        if same(got[a], got[b]) and not same(got[kind], got[a]):
            graph = got[kind]
            break
    else:
        graph = got["text"]
    if isinstance(graph, BadInput):
        raise graph
    if graph is None:
        raise BadInput("the graph is empty: add an object on the canvas, type triples, or load an example")
    return graph


# --- examples, files --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def example_graphs() -> tuple[tuple[str, SceneGraph], ...]:
    from ..graph.parse import load_graphs

    out = []
    # The studio's own examples first (open-vocabulary words, one unknown), then the rest.
    for path in sorted(EXAMPLES_DIR.glob("*.json"), key=lambda p: (p.name != "studio.json", p.name)):
        out += [(f"{path.stem} {k}", g) for k, g in enumerate(load_graphs(path))]
    return tuple(out)


def _thumbnails(graphs) -> list[tuple[np.ndarray, str]]:
    from ..graph.draw import draw_graph

    return [(np.asarray(draw_graph(g, (320, 200))), g.to_text().replace("\n", "; ")) for g in graphs]


@functools.lru_cache(maxsize=1)
def example_gallery() -> list[tuple[np.ndarray, str]]:
    return _thumbnails([g for _, g in example_graphs()[:12]])


def from_example(studio: Studio, evt: gr.SelectData, canvas: str | None, session: Session | None) -> tuple:
    return shown(studio, example_graphs()[evt.index][1], canvas, session)


def import_graph(studio: Studio, path: str | None, canvas: str | None, session: Session | None) -> tuple:
    """A graph file (sg2im JSON, one graph or a list, or text triples) into the views. The first graph
    is loaded; a file of several offers the others, as the Examples do (the last two outputs)."""
    from ..graph.parse import load_graphs

    if not path:
        raise BadInput("no file came with the upload")
    name = Path(path).name
    try:
        graphs = load_graphs(path)
    except BadInput as e:
        raise BadInput(f"{name}: {str(e).split(': ', 1)[-1]}") from None
    offered = graphs[:MAX_OFFERED]
    if len(graphs) > 1:
        more = f" (the first {MAX_OFFERED} are shown)" if len(graphs) > MAX_OFFERED else ""
        info(f"{name} holds {len(graphs)} graphs: the first is loaded; click another under "
             f"'Graphs in the file' to load it{more}")
    gallery = gr.update(value=_thumbnails(offered) if len(graphs) > 1 else None, visible=len(graphs) > 1,
                        label=f"Graphs in {name} (click one to load it)")
    return (*shown(studio, graphs[0], canvas, session), gallery, list(offered))


def from_imported(studio: Studio, evt: gr.SelectData, graphs: list | None, canvas: str | None,
                  session: Session | None) -> tuple:
    if not graphs or not 0 <= evt.index < len(graphs):
        raise BadInput("import a file of graphs first")
    return shown(studio, graphs[evt.index], canvas, session)


# The graph (text triples or sg2im JSON) as an sg2im JSON file; its path. (No docstring: the API's
# description of export_graph is the docstring, and stays as it was.)
def export_graph(text: str | None) -> str:
    from .files import new_folder

    graph = views.read_text(text)
    path = new_folder("sgcond-export-") / "graph.json"
    path.write_text(graph.to_json(indent=1) + "\n", encoding="utf-8")
    return str(path)
