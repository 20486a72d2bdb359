"""The Studio tab: draw a scene graph, watch the chain's factors arrive, edit the mask, rerun.

API endpoints (every action a person takes in the page, for `gradio_client`):
- `generate(graph, seed, samples)`: the graph as text triples or sg2im JSON -> segmentation, depth,
  sketch, image, overlay, report, relations. The maps stream in the page as each factor finishes.
- `edit_mask(operation, x, y, amount, source)` on the last result of this session: `move_right`,
  `move_left`, `move_up`, `move_down` (amount: pixels, default 8), `flip_horizontal`,
  `flip_vertical`, `resize` (amount: scale, default 1.25), `delete`, `paste` (the object under (x, y)
  of `source`, "candidate K" or "earlier result K", at its place there), `undo`, `redo`. (x, y) are
  pixels of the 64x64 segmentation. -> the edited segmentation, the overlay, the relations judged
  again, and the point (x, y) that now lies on the edited object.
- `rerun(what)`: `depth` (depth, sketch and image), `sketch` (sketch and image) or `image`, from
  the edited segmentation with the same seeds.
- `choose(index)`: another SBPC candidate (0..N-1); depth, sketch and image follow it.
- `match_graph()`: rewrite the graph to describe the edited mask -> its text.
- `download()`: a zip of graph.json, the maps (the segmentation as edited), image and report.json.
- `export_graph(graph)`: the graph (text triples or sg2im JSON) as an sg2im JSON file.

A session's graph, result and edits live in a `gr.State`; an error a person causes is one message
in the page and changes nothing. torch is imported on the first request, not with the page.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import gradio as gr
import numpy as np

from ..errors import BadInput
from ..graph import vocab
from ..graph.scene_graph import SceneGraph
from . import graph_views as views

log = logging.getLogger(__name__)

EXAMPLE = "sky above grass\nred car on grass\ntree left of red car\nhouse behind tree"
OPERATIONS = ("move_right", "move_left", "move_up", "move_down", "flip_horizontal", "flip_vertical", "resize",
              "delete", "paste", "undo", "redo")
RERUNS = ("depth", "sketch", "image")
RELATION_HEADERS = ["subject", "predicate", "object", "holds"]
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "graphs"
UP = 4  # the page shows the 64 px maps at 256 px
MAP_HEIGHT = 220  # pixels on screen for the 64x64 maps
PROGRESS_EVERY = 0.4  # seconds between progress updates within a factor
MAX_EARLIER = 8  # earlier results kept per session as paste sources


def _env_int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit() or not low <= int(raw) <= high:
        raise SystemExit(f"{name} must be a whole number from {low} to {high}, not {raw!r}")
    return int(raw)


MAX_SAMPLES = _env_int("SGCOND_MAX_SAMPLES", 16, 1, 32)  # candidates per request
# The page's default: on 2 cores, 4 candidates put the segmentation on screen in about 1.0 s and
# the image in 2.4 s, 8 in 1.5 s and 2.7 s (docs/benchmarks.md). The API's default stays 8.
DEFAULT_SAMPLES = min(4, MAX_SAMPLES)

_chain = None
_lock = threading.Lock()


def chain():
    global _chain
    with _lock:
        if _chain is None:
            from ..fgdm.chain import Chain

            _chain = Chain()
    return _chain


def warm_up() -> None:
    """Load the models and run one small generation, so that the first click is as fast as the rest."""
    from ..graph.parse import parse_text

    chain().generate(parse_text("sky above grass; dog on grass"), seed=0,
                     settings=_settings(1))


def _settings(samples: int):
    from ..fgdm.chain import Settings

    return Settings(samples=samples)


class Stopped(Exception):
    """The person pressed Stop."""


@dataclass
class Session:
    mapped: object  # MappedGraph of the graph that was generated
    result: object  # fgdm.chain.Result of the last (re)run
    history: list = field(default_factory=list)  # segmentations before each edit, for undo
    segmentation: np.ndarray | None = None  # the edited one (None: the result's)
    future: list = field(default_factory=list)  # segmentations undone, for redo
    earlier: list = field(default_factory=list)  # segmentations of earlier results, newest last

    @property
    def current(self) -> np.ndarray:
        return self.result.segmentation if self.segmentation is None else self.segmentation

    def after(self, result) -> Session:
        """The session with a new result; the one it replaces becomes a paste source."""
        earlier = [*self.earlier, self.current][-MAX_EARLIER:]
        return Session(self.mapped, result, self.history, None, [], earlier)


# --- pictures ---------------------------------------------------------------------------------------


def overlay(image: np.ndarray, seg: np.ndarray, x: int | None = None, y: int | None = None) -> np.ndarray:
    """The image with the segmentation's colours over it; the object under (x, y) outlined."""
    from scipy import ndimage

    out = (0.55 * image.astype(np.float32) + 0.45 * vocab.colorize(seg).astype(np.float32)).round().astype(np.uint8)
    if x is not None and y is not None and 0 <= x < seg.shape[1] and 0 <= y < seg.shape[0]:
        from ..editing import masks as ed

        m = ed.Masks.from_segmentation(seg)
        iid = int(m.instances[int(y), int(x)])
        if iid and not m.is_stuff(iid):
            mask = m.mask(iid)
            edge = mask & ~ndimage.binary_erosion(mask)
            out[edge] = (255, 255, 255)
    return out


def _up(picture: np.ndarray, display: bool) -> np.ndarray:
    """The page shows the 64 px maps UP times larger, as blocks of pixels (Gradio's click position
    is only right for pictures drawn at their own size or smaller); the API returns them as they are."""
    return np.repeat(np.repeat(picture, UP, axis=0), UP, axis=1) if display else picture


def _map_rgb(name: str, arr: np.ndarray) -> np.ndarray:
    """A factor's map as a picture: class colours, a colour map for depth, the sketch in grey."""
    from .sample_page import depth_to_rgb, gray_to_rgb

    return {"segmentation": vocab.colorize, "depth": depth_to_rgb, "sketch": gray_to_rgb}.get(name, np.asarray)(arr)


def _maps(result, display: bool = False) -> tuple:
    return tuple(_up(_map_rgb(name, m), display) for name, m in (
        ("segmentation", result.segmentation), ("depth", result.depth), ("sketch", result.sketch),
        ("image", result.image)))


def _relations(session: Session, seg: np.ndarray | None = None) -> list[list[str]]:
    """One row per relation of the graph: judged on `seg`, or, without one, the result's own verdict."""
    from ..graph import judge

    g = session.mapped.graph
    v = session.result.verdict if seg is None else judge.judge(g.labels, g.triples(), seg, session.result.depth)
    rows = []
    for r in v.relations:
        holds = "n/a" if r.holds is None else ("yes" if r.holds else "NO")
        rows.append([f"{g.objects[r.subject].phrase()} #{r.subject}", r.predicate,
                     f"{g.objects[r.object].phrase()} #{r.object}", holds])
    return rows


def _source_verdict(session: Session) -> dict:
    from ..graph.compliance import check

    return check(session.mapped, session.current, session.result.depth)


def legend_html(session: Session | None) -> str:
    """One row per object of the current segmentation (class colour, label, where it is); a click on
    a row picks that object."""
    if session is None:
        return "<p class='sg-legend-empty'>Generate a scene to see its objects here.</p>"
    from ..editing import masks as ed
    from ..graph.judge import MIN_PIXELS

    m = ed.Masks.from_segmentation(session.current)
    rows = []
    for iid in range(1, int(m.instances.max()) + 1):
        mask = m.mask(iid)
        if mask.sum() < MIN_PIXELS:  # specks no judge counts
            continue
        label = m.label_of(iid)
        x, y = _point_on(m, iid, *ed.centroid(m, iid))
        r, g, b = vocab.colorize(np.array([[vocab.class_id(label)]]))[0, 0]
        kind = "stuff" if m.is_stuff(iid) else "object"
        rows.append(f"<tr data-x='{x}' data-y='{y}' class='sg-{kind}'>"
                    f"<td><span class='sg-swatch' style='background:rgb({r},{g},{b})'></span></td>"
                    f"<td>{label}</td><td>{kind}</td><td>({x}, {y})</td><td>{int(mask.sum())} px</td></tr>")
    return ("<table class='sg-legend'><thead><tr><th></th><th>class</th><th></th><th>at (x, y)</th>"
            "<th>area</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


LEGEND_JS = """
element.addEventListener('click', ev => {
  const row = ev.target.closest('tr[data-x]');
  if (row) trigger('pick', {x: Number(row.dataset.x), y: Number(row.dataset.y)});
});
"""


# --- the graph's three views ------------------------------------------------------------------------


def _graph_views(graph: SceneGraph | None, positions, session: Session | None = None,
                 rev: int | None = None) -> tuple:
    """canvas, text, table, notes for a graph; its edges judged on the session's map when the
    session was generated from this very graph."""
    u = views.understand(graph)
    verdict = None
    if session is not None and graph is not None and graph == session.mapped.source:
        verdict = _source_verdict(session)
    return (views.canvas_value(graph, positions, u, verdict, rev), views.to_text(graph), views.to_table(graph),
            views.notes_markdown(graph, u))


def _bad(e: BadInput):
    return gr.Error(str(e))


def from_canvas(value: str | None, session: Session | None) -> tuple:
    try:
        graph, positions = views.read_canvas(value)
        return _graph_views(graph, positions, session, views.canvas_rev(value))
    except BadInput as e:
        raise _bad(e) from e


def from_text(text: str | None, canvas: str | None, session: Session | None) -> tuple:
    try:
        return _graph_views(views.read_text(text), views.positions_of(canvas), session)
    except BadInput as e:
        raise _bad(e) from e


def from_table(rows, canvas: str | None, session: Session | None) -> tuple:
    try:
        if hasattr(rows, "values"):  # a pandas DataFrame
            rows = rows.values.tolist()
        return _graph_views(views.read_table(rows), views.positions_of(canvas), session)
    except BadInput as e:
        raise _bad(e) from e


@functools.lru_cache(maxsize=1)
def example_graphs() -> tuple[tuple[str, SceneGraph], ...]:
    from ..graph.parse import load_graphs

    out = []
    # The studio's own examples first (open-vocabulary words, one unknown), then the rest.
    for path in sorted(EXAMPLES_DIR.glob("*.json"), key=lambda p: (p.name != "studio.json", p.name)):
        out += [(f"{path.stem} {k}", g) for k, g in enumerate(load_graphs(path))]
    return tuple(out)


@functools.lru_cache(maxsize=1)
def example_gallery() -> list[tuple[np.ndarray, str]]:
    from ..graph.draw import draw_graph

    return [(np.asarray(draw_graph(g, (320, 200))), g.to_text().replace("\n", "; "))
            for _, g in example_graphs()[:12]]


def from_example(evt: gr.SelectData, session: Session | None) -> tuple:
    return _graph_views(example_graphs()[evt.index][1], [], session)


def import_graph(path: str | None, session: Session | None) -> tuple:
    """A graph file (sg2im JSON, one graph or a list, or text triples) into the views."""
    from ..graph.parse import load_graphs

    if not path:
        raise gr.Error("no file came with the upload")
    try:
        graphs = load_graphs(path)
    except BadInput as e:
        raise gr.Error(f"{Path(path).name}: {str(e).split(': ', 1)[-1]}") from e
    if len(graphs) > 1:
        gr.Info(f"{Path(path).name} holds {len(graphs)} graphs; the first is loaded")
    return _graph_views(graphs[0], [], session)  # a new graph: laid out afresh


def export_graph(text: str | None) -> str:
    import tempfile

    try:
        graph = views.read_text(text)
    except BadInput as e:
        raise _bad(e) from e
    path = Path(tempfile.mkdtemp(prefix="sgcond-")) / "graph.json"
    path.write_text(graph.to_json(indent=1) + "\n", encoding="utf-8")
    return str(path)


# --- running the chain, streamed ---------------------------------------------------------------------


def _run_streamed(job, steps: dict, progress, context: str):
    """Run job(on_step, on_map) in a thread. Yields ("map", name, array) as each factor's map is
    ready and finally ("done", result). The progress bar follows the factors' denoising steps; when
    the page stops listening (Stop), the chain stops at its next step. A person's mistake the chain
    finds is one message; anything else is logged with `context` and reported as internal."""
    q: queue.Queue = queue.Queue()
    stop = threading.Event()
    total = max(1, sum(steps.values()))
    finished: dict[str, int] = {}
    shown = ["", 0.0]  # the factor and time of the last progress update
    ended = False

    def on_step(factor: str, i: int, n: int) -> None:
        if stop.is_set():
            raise Stopped()
        q.put(("step", factor, i, n))

    def work() -> None:
        try:
            q.put(("done", job(on_step, lambda name, arr: q.put(("map", name, arr)))))
        except BaseException as e:  # handed to the page's thread
            q.put(("error", e))

    threading.Thread(target=work, daemon=True, name="sgcond-chain").start()
    try:
        while True:
            kind, *rest = q.get()
            if kind == "step":
                factor, i, n = rest
                finished[factor] = i
                # Each update re-renders the page's progress bars: on 2 cores, one per step cost the
                # browser a second of a 3-second run. A few a second are enough to watch.
                now = time.perf_counter()
                if factor != shown[0] or now - shown[1] >= PROGRESS_EVERY:
                    shown[:] = [factor, now]
                    progress(sum(finished.values()) / total, desc=f"{factor}: step {i} of {n}")
            elif kind == "map":
                yield ("map", *rest)
            elif kind == "done":
                ended = True
                yield ("done", rest[0])
                return
            else:
                ended = True
                error = rest[0]
                if isinstance(error, BadInput):
                    raise _bad(error)
                log.error("the chain failed on %s", context, exc_info=error)
                raise gr.Error(f"internal error ({type(error).__name__}); it is in the server's log, "
                               "and the page keeps what it showed")
    finally:
        if not ended:  # Stop, or the page went away: the chain stops at its next step
            log.info("stopped: %s", context)
        stop.set()


def _stream_result(job, steps: dict, progress, make_session, display: bool, context: str):
    """The outputs as the maps arrive, then the whole result."""
    from ..fgdm.chain import report

    slot = {"segmentation": 0, "depth": 1, "sketch": 2}
    for kind, *rest in _run_streamed(job, steps, progress, context):
        if kind == "map":
            name, arr = rest
            out = [gr.skip()] * 8
            if name == "segmentation":
                # A new segmentation: what followed the old one is cleared until its own arrives.
                out[2:5] = [None, None, None]
            out[slot[name]] = _up(_map_rgb(name, arr), display)
            yield tuple(out)
        else:
            result = rest[0]
            session = make_session(result)
            yield (*_maps(result, display), _up(overlay(result.image, result.segmentation), display),
                   report(result, session.mapped),
                   _relations(session), session)


def generate(text: str | None, seed: float | int | None, samples: float | int | None, session: Session | None,
             progress=gr.Progress(), *, display: bool = False):
    from ..graph.mapping import map_graph

    try:
        graph = views.read_text(text)
        mapped = map_graph(graph)
        if mapped.graph is None:
            raise BadInput("no object of this graph is known to the tiny world: " +
                           "; ".join(mapped.lines()[:3]))
        seed = int(seed or 0)
        if seed < 0:
            raise BadInput("the seed must be 0 or more")
        samples = int(samples or min(8, MAX_SAMPLES))
        if not 1 <= samples <= MAX_SAMPLES:
            raise BadInput(f"candidates must be between 1 and {MAX_SAMPLES}")
        settings = _settings(samples)
    except BadInput as e:
        raise _bad(e) from e

    def job(on_step, on_map):
        return chain().generate(mapped.graph, seed=seed, settings=settings, on_step=on_step, on_map=on_map)

    earlier = session.earlier + [session.current] if session is not None else []
    yield from _stream_result(job, dict(settings.steps), progress,
                              lambda r: Session(mapped, r, earlier=earlier[-MAX_EARLIER:]), display,
                              f"generate(seed={seed}, samples={samples}, graph={graph.to_json()})")


def _need(session: Session | None) -> Session:
    if session is None:
        raise gr.Error("generate a scene first")
    return session


def rerun(what: str, session: Session | None, progress=gr.Progress(), *, display: bool = False):
    session = _need(session)
    if what not in RERUNS:
        raise gr.Error(f"rerun: what must be one of {', '.join(RERUNS)}")
    s = session.result.settings
    steps = {f: s.steps[f] for f in {"depth": ("depth", "sketch", "image"), "sketch": ("sketch", "image"),
                                     "image": ("image",)}[what]}

    def job(on_step, on_map):
        return chain().rerun(session.result, session.current, what=what, on_step=on_step, on_map=on_map)

    yield from _stream_result(job, steps, progress,
                              session.after, display, f"rerun({what}) of {session.mapped.source.to_json()}")


def choose(index: float | int | None, session: Session | None, progress=gr.Progress(), *, display: bool = False):
    session = _need(session)
    index = int(index if index is not None else -1)
    if not 0 <= index < len(session.result.candidates):
        raise gr.Error(f"candidate {index} does not exist (0..{len(session.result.candidates) - 1})")
    s = session.result.settings
    steps = {f: s.steps[f] for f in ("depth", "sketch", "image")}

    def job(on_step, on_map):
        return chain().choose(session.result, index, on_step=on_step, on_map=on_map)

    yield from _stream_result(job, steps, progress, session.after, display,
                              f"choose({index}) of {session.mapped.source.to_json()}")


def _choose_selected(evt: gr.SelectData, session: Session | None, progress=gr.Progress()):
    yield from choose(evt.index, session, progress, display=True)


def candidates(session: Session | None) -> list[tuple[np.ndarray, str]]:
    if session is None:
        return []
    out = []
    for k, c in enumerate(session.result.candidates):
        rel = c.verdict.relation_accuracy
        out.append((vocab.colorize(c.segmentation),
                    f"#{k} seed {c.seed}: recall {c.verdict.object_recall:.2f}, relations "
                    f"{'n/a' if rel is None else f'{rel:.2f}'}{' (chosen)' if k == session.result.chosen else ''}"))
    return out


def _sources(session: Session | None) -> dict[str, np.ndarray]:
    """Maps an object can be pasted from: this result's candidates and earlier results."""
    if session is None:
        return {}
    out = {f"candidate {k}": c.segmentation for k, c in enumerate(session.result.candidates)}
    n = len(session.earlier)
    out.update({f"earlier result {n - k}": seg for k, seg in enumerate(session.earlier)})
    return out


# --- editing the mask -------------------------------------------------------------------------------


def _point_on(masks, iid: int, x: float, y: float) -> tuple[int, int]:
    """The pixel of instance iid nearest (x, y): where the picked object is after an edit, or, from
    its centroid, a point on an object even when it is not convex."""
    ys, xs = np.nonzero(masks.mask(iid))
    k = int(np.argmin((xs - x) ** 2 + (ys - y) ** 2))
    return int(xs[k]), int(ys[k])


def edit_mask(operation: str, x: float | int | None, y: float | int | None, amount: float | int | None,
              source: str | None, session: Session | None, *, display: bool = False):
    from ..editing import masks as ed

    session = _need(session)
    px, py = int(x if x is not None else -1), int(y if y is not None else -1)
    try:
        if operation not in OPERATIONS:
            raise BadInput(f"unknown operation {operation!r}; one of {', '.join(OPERATIONS)}")
        if operation == "undo":
            if not session.history:
                raise BadInput("nothing to undo")
            session = replace(session, history=session.history[:-1], segmentation=session.history[-1],
                              future=[*session.future, session.current])
        elif operation == "redo":
            if not session.future:
                raise BadInput("nothing to redo")
            session = replace(session, history=[*session.history, session.current],
                              segmentation=session.future[-1], future=session.future[:-1])
        else:
            m = ed.Masks.from_segmentation(session.current, session.result.depth)
            step = int(amount) if amount not in (None, 0) else 8
            if operation == "paste":
                sources = _sources(session)
                if source not in sources:
                    raise BadInput(f"paste: choose a source ({', '.join(sources) or 'none yet'})")
                src = ed.Masks.from_segmentation(sources[source])
                out = ed.paste(m, src, ed.pick(src, px, py))
                iid = int(out.instances.max())
            else:
                obj = ed.pick(m, px, py)
                if operation.startswith("move_"):
                    dx, dy = {"right": (step, 0), "left": (-step, 0), "up": (0, -step), "down": (0, step)}[
                        operation[5:]]
                    out = ed.move(m, obj, dx, dy)
                    px, py = px + dx, py + dy
                elif operation.startswith("flip_"):
                    out = ed.flip(m, obj, operation[5:])
                elif operation == "resize":
                    out = ed.resize(m, obj, float(amount or 1.25))
                else:
                    out = ed.delete(m, obj)
                iid = obj
            if operation != "delete":  # move, flip, resize and paste leave the object in the picture
                px, py = _point_on(out, iid, px, py)
            session = replace(session, history=[*session.history, session.current],
                              segmentation=out.segmentation, future=[])
    except BadInput as e:
        raise _bad(e) from e
    return (_up(vocab.colorize(session.current), display),
            _up(overlay(session.result.image, session.current, px, py), display),
            _relations(session, session.current), px, py, session)


def pick_point(x: int, y: int, session: Session | None) -> tuple:
    """A click on the segmentation, the overlay or a legend row: the object under (x, y) is picked."""
    from ..editing import masks as ed

    if session is None:
        return x, y, gr.skip(), "Generate a scene first, then click an object."
    m = ed.Masks.from_segmentation(session.current)
    try:
        iid = ed.pick(m, x, y)
    except BadInput as e:
        gr.Warning(str(e))
        return x, y, _up(overlay(session.result.image, session.current), True), f"({x}, {y}): {e}"
    return (x, y, _up(overlay(session.result.image, session.current, x, y), True),
            f"Picked **{m.label_of(iid)}** at ({x}, {y}). Move, flip, resize or delete it below.")


def _pick_selected(evt: gr.SelectData, session: Session | None) -> tuple:
    return pick_point(int(evt.index[0]) // UP, int(evt.index[1]) // UP, session)


def _pick_row(evt: gr.EventData, session: Session | None) -> tuple:
    return pick_point(int(evt._data["x"]), int(evt._data["y"]), session)


def match_graph(session: Session | None) -> str:
    """The graph rewritten to describe the edited mask; its text (the views follow from it)."""
    from ..editing.graph_sync import match_graph as rewrite
    from ..graph import judge
    from ..graph.mapping import map_graph

    session = _need(session)
    graph, changes = rewrite(session.mapped, session.current, session.result.depth)
    if not changes:
        gr.Info("Every relation already holds in the mask: the graph is unchanged.")
    else:
        gr.Info("Graph updated: " + "; ".join(changes))
    mapped = map_graph(graph)
    g = mapped.graph
    verdict = judge.judge(g.labels, g.triples(), session.current, session.result.depth)
    new = replace(session, mapped=mapped, result=replace(session.result, graph=g, verdict=verdict))
    return views.to_text(graph), _relations(new, session.current), new


def download(session: Session | None) -> str:
    """A zip of graph.json, the maps (the segmentation as edited) and report.json; returns its path.
    The files are those `generate` writes, by the same functions."""
    import tempfile
    import zipfile

    from ..fgdm.chain import report
    from ..world import io

    session = _need(session)
    r = session.result
    folder = Path(tempfile.mkdtemp(prefix="sgcond-"))
    files = folder / "files"
    io.save_maps(files, r.image, session.current, r.depth, r.sketch)
    io.write_json(files / "graph.json", session.mapped.source.to_sg2im())
    io.write_json(files / "report.json", report(r, session.mapped))
    path = folder / "sgcond_result.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(files.iterdir()):
            z.write(f, f.name)
    return str(path)


def after_result(canvas: str | None, session: Session | None) -> tuple:
    """What follows a new result or an edit, in the page only: the canvas's edges judged again,
    the legend, the candidates and the paste sources."""
    out_canvas = gr.skip()
    if session is not None:
        try:
            graph, positions = views.read_canvas(canvas)
        except BadInput:
            graph, positions = None, []
        if graph == session.mapped.source:
            out_canvas = _graph_views(graph, positions, session)[0]
    sources = list(_sources(session))
    return (out_canvas, legend_html(session), candidates(session),
            gr.update(choices=sources, value=sources[0] if sources else None))


# --- the page ----------------------------------------------------------------------------------------

# For launch(css=...): maps and candidates drawn larger than they are stay crisp pixels.
CSS = ".sg-map img { image-rendering: pixelated; }\n"
LEGEND_CSS = """
.sg-legend { border-collapse: collapse; font-size: 13px; width: 100%; }
.sg-legend td, .sg-legend th { padding: 2px 6px; text-align: left; }
.sg-legend tbody tr { cursor: pointer; }
.sg-legend tbody tr:hover { background: rgba(37, 99, 235, 0.12); }
.sg-legend tr.sg-stuff { color: var(--body-text-color-subdued); }
.sg-swatch { display: inline-block; width: 14px; height: 14px; border-radius: 3px; border: 1px solid #0004; }
"""


def studio_tab() -> None:
    session = gr.State(None)
    gr.Markdown("Draw a scene graph on the canvas (or type triples, or pick an example), then **Generate**: "
                "the segmentation, depth, sketch and image arrive one by one. Click an object in the "
                "segmentation, edit it, and rerun what follows. Maps are 64x64; so are the coordinates.")
    with gr.Row():
        with gr.Column(scale=3):
            canvas = gr.HTML(value=views.canvas_value(views.read_text(EXAMPLE)), html_template="<div></div>",
                             css_template=views.canvas_css(), js_on_load=views.canvas_js(),
                             elem_id="sg-canvas")
            with gr.Tab("Triples"):
                table = gr.Dataframe(value=views.to_table(views.read_text(EXAMPLE)), headers=views.TABLE_HEADERS,
                                     datatype="str", interactive=True, row_count=(1, "dynamic"),
                                     column_count=(3, "fixed"), label="One row per relation; a row with only "
                                     "a subject is an object on its own; 'car #2' tells two cars apart")
                use_table = gr.Button("Use the table", size="sm")
            with gr.Tab("Text / sg2im JSON"):
                text = gr.Textbox(value=EXAMPLE, lines=6, max_lines=30, show_label=False, elem_id="sg-text",
                                  placeholder="red car left of tree; dog near car — or paste sg2im JSON")
                with gr.Row():
                    use_text = gr.Button("Use the text", size="sm")
                    upload = gr.UploadButton("Import a file", size="sm", file_types=[".json", ".txt"],
                                             type="filepath")
                    export = gr.Button("Export as sg2im JSON", size="sm")
                exported = gr.File(label="graph.json", visible=False)
            with gr.Tab("Examples"):
                examples = gr.Gallery(value=example_gallery(), columns=4, height=300, allow_preview=False,
                                      object_fit="contain", elem_id="sg-examples",
                                      label="Click a graph to load it")
        with gr.Column(scale=2):
            notes = gr.Markdown(views.notes_markdown(views.read_text(EXAMPLE),
                                                     views.understand(views.read_text(EXAMPLE))),
                                elem_id="sg-notes")
            with gr.Row():
                seed = gr.Number(label="Seed", value=0, precision=0, minimum=0, elem_id="sg-seed")
                samples = gr.Slider(1, MAX_SAMPLES, value=DEFAULT_SAMPLES, step=1, label="Candidates (N, SBPC)",
                                    elem_id="sg-samples")
            with gr.Row():
                go = gr.Button("Generate", variant="primary", elem_id="sg-generate")
                stop = gr.Button("Stop", variant="stop", elem_id="sg-stop")
            relations = gr.Dataframe(label="Relations, judged on the segmentation", headers=RELATION_HEADERS,
                                     datatype="str", interactive=False, elem_id="sg-relations")
            match = gr.Button("Update the graph to match the mask", size="sm")
    with gr.Row(elem_classes="sg-maps"):
        seg = gr.Image(label="Segmentation (click an object)", format="png", interactive=False, height=MAP_HEIGHT,
                       elem_id="sg-seg", elem_classes="sg-map")
        depth = gr.Image(label="Depth (bright = near)", format="png", interactive=False, height=MAP_HEIGHT,
                         elem_id="sg-depth", elem_classes="sg-map")
        sketch = gr.Image(label="Sketch", format="png", interactive=False, height=MAP_HEIGHT, elem_id="sg-sketch",
                          elem_classes="sg-map")
        image = gr.Image(label="Image", format="png", interactive=False, height=MAP_HEIGHT, elem_id="sg-image",
                         elem_classes="sg-map")
        over = gr.Image(label="Overlay (picked object outlined)", format="png", interactive=False, height=MAP_HEIGHT,
                        elem_id="sg-overlay", elem_classes="sg-map")
    with gr.Row():
        with gr.Column(scale=2):
            legend = gr.HTML(legend_html(None), js_on_load=LEGEND_JS, css_template=LEGEND_CSS, elem_id="sg-legend")
            picked = gr.Markdown("Click an object in the segmentation or a row above.", elem_id="sg-picked")
        with gr.Column(scale=3):
            with gr.Row():
                x = gr.Number(label="x", value=32, precision=0, min_width=60)
                y = gr.Number(label="y", value=40, precision=0, min_width=60)
                step = gr.Number(label="Step (px)", value=8, precision=0, minimum=1, maximum=63, min_width=80)
            with gr.Row():
                buttons = {op: gr.Button(label, size="sm", elem_id=f"sg-{op}") for op, label in (
                    ("move_left", "←"), ("move_up", "↑"), ("move_down", "↓"), ("move_right", "→"),
                    ("flip_horizontal", "Flip ↔"), ("flip_vertical", "Flip ↕"), ("bigger", "Bigger"),
                    ("smaller", "Smaller"), ("delete", "Delete"), ("undo", "Undo"), ("redo", "Redo"))}
            with gr.Row():
                source = gr.Dropdown([], value="", label="Paste from", allow_custom_value=True, scale=2)
                paste = gr.Button("Paste the object under (x, y) of that map", size="sm", scale=2)
            with gr.Row():
                rerun_all = gr.Button("Rerun depth, sketch, image", variant="primary", elem_id="sg-rerun")
                rerun_image = gr.Button("Rerun the image only", elem_id="sg-rerun-image")
            with gr.Accordion("Edit by name (as the API does)", open=False):
                with gr.Row():
                    operation = gr.Dropdown(list(OPERATIONS), value="move_right", label="Operation")
                    amount = gr.Number(label="Pixels or scale", value=8)
                    apply = gr.Button("Apply")
                    what = gr.Dropdown(list(RERUNS), value="depth", label="Rerun from")
                    again = gr.Button("Rerun")
    with gr.Row():
        with gr.Column(scale=3):
            # As many columns as candidates (Gradio fits them to the count), in 3/5 of the width.
            gallery = gr.Gallery(label="SBPC candidates (click one to continue from it)", columns=8,
                                 height=240, object_fit="contain", allow_preview=False,
                                 elem_id="sg-candidates", elem_classes="sg-map")
        with gr.Column(scale=2):
            index = gr.Number(label="Candidate", value=0, precision=0, visible=False)
            zip_btn = gr.Button("Download zip")
            zip_file = gr.File(label="Result", visible=False)
            with gr.Accordion("report.json", open=False):
                report = gr.JSON()

    graph_out = [canvas, text, table, notes]
    canvas.edit(from_canvas, [canvas, session], graph_out, api_visibility="private")
    use_text.click(from_text, [text, canvas, session], graph_out, api_visibility="private")
    use_table.click(from_table, [table, canvas, session], graph_out, api_visibility="private")
    examples.select(from_example, [session], graph_out, api_visibility="private")
    upload.upload(import_graph, [upload, session], graph_out, api_visibility="private")
    show_file = dict(fn=lambda: gr.update(visible=True), inputs=None, api_visibility="private")
    export.click(export_graph, [text], [exported], api_name="export_graph").then(outputs=[exported], **show_file)

    # The page's events show the maps UP times larger; the API's events (on hidden buttons) return
    # them at their own 64 px, into hidden images. Both run the same handlers on the same session.
    raw = [gr.Image(format="png", visible=False) for _ in range(5)]
    api = {name: gr.Button(visible=False) for name in ("generate", "rerun", "choose", "edit_mask", "match_graph")}
    page_out = [seg, depth, sketch, image, over, report, relations, session]
    api_out = [*raw, report, relations, session]
    follow = dict(fn=after_result, inputs=[canvas, session], outputs=[canvas, legend, gallery, source],
                  api_visibility="private")
    shown = functools.partial
    running = [
        go.click(shown(generate, display=True), [text, seed, samples, session], page_out, api_visibility="private"),
        api["generate"].click(generate, [text, seed, samples, session], api_out, api_name="generate"),
        api["rerun"].click(rerun, [what, session], api_out, api_name="rerun"),
        api["choose"].click(choose, [index, session], api_out, api_name="choose"),
        again.click(shown(rerun, display=True), [what, session], page_out, api_visibility="private"),
        gallery.select(_choose_selected, [session], page_out, api_visibility="private"),
    ]
    for btn, w in ((rerun_all, "depth"), (rerun_image, "image")):
        running.append(btn.click(shown(rerun, w, display=True), [session], page_out, api_visibility="private"))
    for event in running:
        event.then(**follow)
    stop.click(None, None, None, cancels=running, api_visibility="private")

    page_edit = [seg, over, relations, x, y, session]
    api["edit_mask"].click(edit_mask, [operation, x, y, amount, source, session], [*raw[:2], relations, x, y, session],
                           api_name="edit_mask").then(**follow)
    apply.click(shown(edit_mask, display=True), [operation, x, y, amount, source, session], page_edit,
                api_visibility="private").then(**follow)
    for op, btn in buttons.items():
        if op in ("bigger", "smaller"):
            fn = shown(lambda scale, *a: edit_mask("resize", a[0], a[1], scale, None, a[3], display=True),
                       1.25 if op == "bigger" else 0.8)
        else:
            fn = shown(lambda name, *a: edit_mask(name, *a, display=True), op)
        btn.click(fn, [x, y, step, source, session], page_edit, api_visibility="private").then(**follow)
    paste.click(shown(edit_mask, "paste", display=True), [x, y, step, source, session], page_edit,
                api_visibility="private").then(**follow)

    for img in (seg, over):
        img.select(_pick_selected, [session], [x, y, over, picked], api_visibility="private")
    legend.pick(_pick_row, [session], [x, y, over, picked], api_visibility="private")

    match_out = [text, relations, session]
    match_fn = dict(fn=from_text, inputs=[text, canvas, session], outputs=graph_out, api_visibility="private")
    api["match_graph"].click(match_graph, [session], match_out, api_name="match_graph")
    match.click(match_graph, [session], match_out, api_visibility="private").then(**match_fn)
    zip_btn.click(download, [session], [zip_file], api_name="download").then(outputs=[zip_file], **show_file)
