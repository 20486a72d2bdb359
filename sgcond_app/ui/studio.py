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

A session's graph, result and edits live in a `gr.State`. An error a person causes is one message
and changes nothing: the API raises it (the client's `AppError`), the page shows it and keeps every
output as it was (`page.on_page`). torch is imported on the first request, not with the page.
"""

from __future__ import annotations

import functools
import hashlib
import html
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

import gradio as gr
import numpy as np

from .. import pictures
from ..backends import RERUNS, Options
from ..editing.session import MAX_EARLIER, OPERATIONS, Session, picked_line, point_on
from ..errors import BadInput
from ..graph import judge
from ..graph.scene_graph import SceneGraph
from ..graph.vocabularies import load as load_vocabulary
from ..inputs import check_seed
from . import graph_views as views
from .config import StudioConfig
from .page import as_api, info, on_page, warn, whole
from .raw_inputs import RawNumber, RawSlider
from .streaming import InternalError, Stopped, run_streamed

log = logging.getLogger(__name__)

EXAMPLE = "sky above grass\nred car on grass\ntree left of red car\nhouse behind tree"
RELATION_HEADERS = ["subject", "predicate", "object", "holds on the map", "in the picture"]
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "assets" / "graphs"
UP = 4  # the page shows the 64 px maps at 256 px
DISPLAY = 64 * UP  # and every other picture at that size too (the 128 px image in 2x2 blocks)
MAP_HEIGHT = 220  # pixels on screen for the 64x64 maps
PROGRESS_EVERY = 0.4  # seconds between progress updates within a factor


_backend = None  # what configure() was given
_default = None  # the tiny backend, made once per process when none was given
_name = "tiny"  # the page's name for the configured backend
_others: dict[str, object] = {}  # the other backends the page offers: a backend, or a function loading one
_loaded: dict[str, object] = {}
_config = StudioConfig()
_lock = threading.Lock()
_loading = threading.RLock()  # one backend loads at a time (Stable Diffusion's first load downloads gigabytes)


def configure(backend=None, config: StudioConfig | None = None, *, name: str = "tiny",
              others: dict | None = None) -> None:
    """The backend the studio's handlers call (None: the tiny one, loaded on first use and kept for
    the process), its name in the page, and its limits (`create_demo` passes what `app.py` read).
    `others`: more backends the page offers in its Backend choice, by name, each a backend or a
    function that loads one (called on the first choice; a BadInput it raises is said in one line
    and the page stays on what it had)."""
    global _backend, _config, _name, _others
    with _lock:
        _backend, _name = backend, name
        _others = {k: v for k, v in (others or {}).items() if k != name}
        _loaded.clear()
        _config = config or StudioConfig()


def backend_names() -> list[str]:
    """The page's backend choice: the configured one first."""
    return [_name, *_others]


def backend(name: str | None = None):
    """The backend the page calls `name` (None or "": the configured one), loaded on first use."""
    global _default
    if name and name != _name:
        return _other(name)
    with _lock:
        if _backend is not None:
            return _backend
        if _default is None:
            from ..backends import get_backend

            _default = get_backend()
        return _default


def _other(name: str):
    if name not in _others:
        raise BadInput(f"this page offers the {' and '.join(backend_names())} backend(s), not {name!r}"[:300])
    with _loading:
        if name not in _loaded:
            make = _others[name]
            _loaded[name] = make if hasattr(make, "generate") else make()
        return _loaded[name]


def _for(session: Session):
    """The backend that made the session's result: its edits, reruns and inversions go back to it."""
    return backend(session.backend)


def max_samples() -> int:
    """The candidates a request may ask for: the app's limit, within what the backend can do (the
    app's alone while a remote backend cannot be reached: the page still comes up)."""
    try:
        return min(_config.max_samples, backend().capabilities.max_samples)
    except BadInput:
        return _config.max_samples


def warm_up() -> None:
    """Load the models and run one small generation, so that the first click is as fast as the rest."""
    backend().warm_up()


# --- pictures ---------------------------------------------------------------------------------------


def overlay(image: np.ndarray, seg: np.ndarray, x: int | None = None, y: int | None = None,
            vocabulary=None) -> np.ndarray:
    """The image with the segmentation's colours (in `vocabulary`, the result's) over it; the object
    under (x, y), in map pixels, outlined."""
    outline = None
    if x is not None and y is not None and 0 <= x < seg.shape[1] and 0 <= y < seg.shape[0]:
        from ..editing import masks as ed

        m = ed.Masks.from_segmentation(seg, vocabulary=vocabulary)
        iid = int(m.instances[int(y), int(x)])
        if iid and not m.is_stuff(iid):
            outline = m.mask(iid)
    return pictures.overlay(image, seg, outline, vocabulary)


def _up(picture: np.ndarray, display: bool) -> np.ndarray:
    """The page shows every picture at UP times the maps' 64 px (a 64 px map in blocks of UP pixels,
    the 128 px image in blocks of UP / 2): Gradio's click position is only right for pictures drawn
    at their own size or smaller, and the same size everywhere lets a click anywhere mean the same
    map pixel. The API returns them as they are."""
    return pictures.blocks(picture, max(1, DISPLAY // picture.shape[0])) if display else picture


def _maps(result, display: bool = False) -> tuple:
    return tuple(_up(pictures.map_rgb(name, m, result.vocab), display) for name, m in (
        ("segmentation", result.segmentation), ("depth", result.depth), ("sketch", result.sketch),
        ("image", result.image)))


def _relations(session: Session, seg: np.ndarray | None = None) -> list[list[str]]:
    """One row per relation of the graph: judged on `seg`, or, without one, the result's own verdict.
    A relation of a missing object fails and says which is missing; one that cannot be judged is n/a."""

    g = session.mapped.graph
    v = session.result.verdict if seg is None else judge.judge(g.labels, g.triples(), seg, session.result.depth,
                                                               vocabulary=session.result.vocab)
    # The picture, read back, belongs to the map it was drawn from: after an edit, until the rerun, it has none.
    edited = seg is not None and not np.array_equal(seg, session.result.segmentation)
    on_picture = None if edited else session.result.picture_verdict
    rows = []
    for k, r in enumerate(v.relations):
        rows.append([f"{g.objects[r.subject].phrase()} #{r.subject}", r.predicate,
                     f"{g.objects[r.object].phrase()} #{r.object}", _holds(r, session.result.trusted),
                     "rerun to see" if edited else ("not read" if on_picture is None
                                                    else _holds(on_picture.relations[k], session.result.trusted))])
    return rows


def _holds(r, trusted: bool) -> str:
    """A relation's verdict as the page's table shows it."""
    holds = "n/a" if r.holds is None else ("yes" if r.holds else "NO")
    if r.reason and r.holds is not None:
        holds += f" ({r.reason})"
    if not trusted:  # read off a picture the reading model does not know
        holds += " (not to be trusted: an unfamiliar picture)"
    return holds


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

    v = session.result.vocab
    m = ed.Masks.from_segmentation(session.current, vocabulary=v)
    g = session.result.graph
    verdict = judge.judge(g.labels, g.triples(), session.current, session.result.depth, vocabulary=v)
    extra = np.zeros(session.current.shape, bool)
    for i in verdict.extras:
        extra |= verdict.regions[i].mask
    rows = []
    for iid in range(1, int(m.instances.max()) + 1):
        mask = m.mask(iid)
        if mask.sum() < MIN_PIXELS:  # specks no judge counts
            continue
        label = m.label_of(iid)
        x, y = point_on(m, iid, *ed.centroid(m, iid))
        r, g_, b = v.rgb(label)
        kind = "stuff" if m.is_stuff(iid) else "object"
        unasked = kind == "object" and bool((extra & mask).any())
        note = " <em class='sg-unasked' title='the graph did not ask for it'>not in the graph</em>" if unasked else ""
        rows.append(f"<tr data-x='{x}' data-y='{y}' class='sg-{kind}{' sg-extra' if unasked else ''}'>"
                    f"<td><span class='sg-swatch' style='background:rgb({r},{g_},{b})'></span></td>"
                    f"<td>{label}{note}</td><td>{kind}</td><td>({x}, {y})</td><td>{int(mask.sum())} px</td></tr>")
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
    u = views.understand(graph, session.result.vocab if session is not None else drawn_vocabulary())
    verdict = None
    ours = session is not None and graph is not None and graph == session.mapped.source
    # A picture the reading model does not know: its graph's edges are not drawn as passing or failing.
    if ours and session.result.trusted:
        verdict = _source_verdict(session)
    if ours and len(session.result.confidence) == len(graph.objects):  # a graph read off a picture
        u.object_notes = [f"{note}; " * bool(note) + f"read with {c:.0%} confidence"
                          for note, c in zip(u.object_notes, session.result.confidence, strict=True)]
    return (views.canvas_value(graph, positions, u, verdict, rev), views.to_text(graph), views.to_table(graph),
            views.notes_markdown(graph, u))


def _positions_for(graph: SceneGraph | None, canvas: str | None) -> list:
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


def from_canvas(value: str | None, session: Session | None) -> tuple:
    graph, positions = views.read_canvas(value)
    return _graph_views(graph, positions, session, views.canvas_rev(value))


def from_text(text: str | None, canvas: str | None, session: Session | None) -> tuple:
    graph = views.read_text(text)
    return _graph_views(graph, _positions_for(graph, canvas), session)


def _rows(rows) -> list:
    return rows.values.tolist() if hasattr(rows, "values") else rows  # a pandas DataFrame, or lists


def from_table(rows, canvas: str | None, session: Session | None) -> tuple:
    graph = views.read_table(_rows(rows))
    return _graph_views(graph, _positions_for(graph, canvas), session)


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


def from_example(evt: gr.SelectData, canvas: str | None, session: Session | None) -> tuple:
    graph = example_graphs()[evt.index][1]
    return _graph_views(graph, _positions_for(graph, canvas), session)


MAX_OFFERED = 24  # graphs of an imported file shown to pick from


def import_graph(path: str | None, canvas: str | None, session: Session | None) -> tuple:
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
    return (*_graph_views(graphs[0], _positions_for(graphs[0], canvas), session), gallery, list(offered))


def from_imported(evt: gr.SelectData, graphs: list | None, canvas: str | None, session: Session | None) -> tuple:
    if not graphs or not 0 <= evt.index < len(graphs):
        raise BadInput("import a file of graphs first")
    graph = graphs[evt.index]
    return _graph_views(graph, _positions_for(graph, canvas), session)


def export_graph(text: str | None) -> str:
    from .files import new_folder

    graph = views.read_text(text)
    path = new_folder("sgcond-export-") / "graph.json"
    path.write_text(graph.to_json(indent=1) + "\n", encoding="utf-8")
    return str(path)


# --- running the chain, streamed ---------------------------------------------------------------------


def _run_streamed(job, steps: dict, progress, context: str, requested: threading.Event | None = None):
    """`streaming.run_streamed` with the page's progress bar following the factors' denoising steps
    (a few updates a second), and an internal error as gr.Error. Yields ("map", name, array) and
    ("done", result)."""
    total = max(1, sum(steps.values()))
    finished: dict[str, int] = {}
    shown = ["", 0.0]  # the factor and time of the last progress update
    try:
        for kind, *rest in run_streamed(job, context, requested):
            if kind == "step":
                factor, i, n = rest
                finished[factor] = i
                # Each update re-renders the page's progress bars: on 2 cores, one per step cost the
                # browser a second of a 3-second run. A few a second are enough to watch.
                now = time.perf_counter()
                if factor != shown[0] or now - shown[1] >= PROGRESS_EVERY:
                    shown[:] = [factor, now]
                    progress(sum(finished.values()) / total, desc=f"{factor}: step {i} of {n}")
            else:
                yield (kind, *rest)
    except InternalError as e:
        raise gr.Error(f"internal error ({e}); it is in the server's log, and the page keeps what it showed") from None


def _outputs(session: Session | None, display: bool) -> tuple:
    """What the maps, the overlay, the report and the relations show for a session (all empty
    before the first result)."""
    from ..backends import report

    if session is None:
        return (None,) * 7 + (None,)
    r = session.result
    return (*_maps(replace(r, segmentation=session.current), display),
            _up(overlay(r.image, session.current, vocabulary=r.vocab), display), report(r, session.mapped),
            _relations(session, (
                None if session.segmentation is None else session.current)), session)


# The Stop of each session's run in progress, by Gradio's session hash. Stop is ours, not Gradio's
# `cancels`: a cancelled event leaves every one of its outputs marked "Error".
_running: dict[str, threading.Event] = {}


def request_stop(request: gr.Request = None) -> None:
    """Stop: the session's run ends at its next denoising step (see `_stream_result`)."""
    flag = _running.get(getattr(request, "session_hash", None) or "")
    if flag is None:
        info("Nothing is running.")
    else:
        flag.set()


# Pages that were told their picture is unfamiliar, by session, and of which picture: the same
# picture read again from that page is read anyway. The oldest go first past MAX_ASKED.
_asked: OrderedDict[str, str] = OrderedDict()
MAX_ASKED = 1000


def _digest(picture: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(picture).tobytes()).hexdigest()


def _unfamiliar(judged: dict, then: str) -> str:
    from ..reading.familiar import unlike

    return f"This picture is {unlike(judged)}: its maps and graph are not to be trusted{then}"


UNFAMILIAR = ", and its relations are not marked as holding or failing."
ASK_UNFAMILIAR = ". Nothing was read; read it again to read it anyway."


def _stream_result(job, steps: dict, progress, make_session, display: bool, context: str,
                   before: Session | None, request: gr.Request | None = None, vocabulary=None):
    """The outputs as the maps arrive, then the whole result. Should the chain fail, or the person
    press Stop, after some maps were shown, the page gets back what `before` showed, so that maps
    and session agree."""
    slot = {"segmentation": 0, "depth": 1, "sketch": 2}
    shown_any = False
    key, flag = getattr(request, "session_hash", None), threading.Event()
    if key:
        _running[key] = flag
    try:
        for kind, *rest in _run_streamed(job, steps, progress, context, flag):
            if kind == "map":
                name, arr = rest
                out = [gr.skip()] * 8
                if name == "segmentation":
                    # A new segmentation: what followed the old one is cleared until its own arrives.
                    out[2:5] = [None, None, None]
                out[slot[name]] = _up(pictures.map_rgb(name, arr, vocabulary), display)
                shown_any = True
                yield tuple(out)
            else:
                for line in rest[0].notes:
                    warn(line)
                if not rest[0].trusted:
                    warn(_unfamiliar(rest[0].familiarity, UNFAMILIAR))
                yield _outputs(make_session(rest[0]), display)
    except Stopped:
        if display and shown_any:
            yield (*_outputs(before, display)[:7], gr.skip())
        info("Stopped. The page shows the last finished result." if before is not None else "Stopped.")
    except Exception:
        if display and shown_any:
            yield (*_outputs(before, display)[:7], gr.skip())
        raise
    finally:
        if key and _running.get(key) is flag:
            del _running[key]


def _samples(samples: object) -> int:
    if samples is None:
        return min(_config.api_samples, max_samples())
    return whole(samples, "candidates", 1, max_samples())


def _generate(graph: SceneGraph, seed: object, samples: object, session: Session | None, progress,
              display: bool, request: gr.Request | None = None, choice: str | None = None,
              prompt: str | None = None, negative: str | None = None):
    from ..graph.mapping import map_graph

    b = backend(choice)
    v = load_vocabulary(b.capabilities.draws_in)  # the classes this backend's models draw
    mapped = map_graph(graph, v)
    if mapped.graph is None:
        raise BadInput(f"{mapped.lines()[-1]}: " + "; ".join(mapped.lines()[:3]))
    seed = check_seed(0 if seed is None else seed)
    samples = _samples(samples)
    options = Options(samples=samples)
    if b.capabilities.prompts:
        # The person's own words reach the picture (`broccoli`, which the tiny world drops): the
        # prompt composed from the graph unless the person wrote one.
        from ..backends.sd.prompt import for_request

        options.prompt, options.negative_prompt = for_request(mapped, prompt, negative,
                                                                    getattr(b, "prompt", None))
    elif (prompt or "").strip() or (negative or "").strip():
        raise BadInput(f"the {b.capabilities.name} backend is told no words: a prompt goes with a backend "
                       "that draws from words (sd)")

    def job(on_step, on_map):
        return b.generate(mapped.graph, seed=seed, options=options, on_step=on_step, on_map=on_map)

    earlier = session.earlier + [session.current] if session is not None else []
    yield from _stream_result(job, dict(b.capabilities.default_steps), progress,
                              lambda r: Session(mapped, r, earlier=earlier[-MAX_EARLIER:], backend=choice or ""),
                              display, f"generate(seed={seed}, samples={samples}, backend={choice or _name}, "
                              f"graph={graph.to_json()})", session, request, vocabulary=v)


def generate(text: str | None, seed: float | int | None, samples: float | int | None, session: Session | None,
             choice: str | None = None, prompt: str | None = None, negative_prompt: str | None = None,
             progress=gr.Progress(), *, display: bool = False):
    """The API's generate: the graph as text triples or sg2im JSON; on a backend told words (sd), a
    prompt (empty: composed from the graph) and a negative prompt (empty: the backend's)."""
    yield from _generate(views.read_text(text), seed, samples, session, progress, display, None, choice, prompt,
                         negative_prompt)


def generate_from_views(text: str | None, rows, canvas: str | None, seed, samples, session: Session | None,
                        choice: str | None = None, prompt: str | None = None, negative: str | None = None,
                        request: gr.Request = None, progress=gr.Progress()):
    """The page's Generate: the graph of the view touched last (`graph_from_views`), on the backend
    chosen (the prompt boxes count only where it is told words). With the result, every view shows
    that graph (the canvas with its edges judged), wherever it came from."""
    graph = graph_from_views(text, rows, canvas)
    if not backend(choice).capabilities.prompts:
        prompt = negative = None  # the boxes are hidden: what they held is for another backend
    for out in _generate(graph, seed, samples, session, progress, True, request, choice, prompt, negative):
        new = out[7]
        if isinstance(new, Session):
            yield (*out, *_graph_views(new.mapped.source, _positions_for(new.mapped.source, canvas), new))
        else:
            yield (*out, *(gr.skip() for _ in range(4)))


def pick_backend(choice: str | None, progress=gr.Progress(track_tqdm=True)):
    """The page's Backend choice: the backend is loaded the first time it is chosen (Stable
    Diffusion's weights download once, their progress shown); where it cannot load, one line says
    why and the choice goes back to the configured backend. -> the choice, the prompt boxes."""
    choice = choice or _name
    try:
        with _loading:  # the dropdown may report one choice twice, at once: it loads, and is said, once
            first = choice != _name and choice not in _loaded
            caps = backend(choice).capabilities
    except Exception as e:  # noqa: BLE001 -- whatever stops it loading, the page stays on what works
        if isinstance(e, BadInput):
            warn(str(e))
        else:
            log.exception("loading the %s backend", choice)
            warn(f"the {choice} backend could not load ({type(e).__name__}; the server's log has it): "
                 f"the {_name} backend still serves")
        return gr.update(value=_name), gr.update(visible=_prompts(_name)), vocabulary_markdown(_name)
    if first:
        info(f"The {choice} backend makes the pictures now ({caps.picture_size} px, on {caps.device}). "
             "What you generate or read is edited with it.")
    return gr.skip(), gr.update(visible=caps.prompts), vocabulary_markdown(choice)


def drawn_vocabulary(choice: str | None = None):
    """The vocabulary the backend `choice` (default the configured one) draws in; None (the tiny
    world's) where it cannot be said (a remote backend out of reach)."""
    try:
        return load_vocabulary(backend(choice).capabilities.draws_in)
    except BadInput:
        return None


def vocabulary_markdown(choice: str | None = None) -> str:
    """What the backend `choice` draws and reads, for the page: its vocabulary's name, where it comes
    from, and its classes, things and stuff apart (a model trained on a dataset knows that dataset's).
    Nothing is loaded for it but the backend's configuration."""
    name = choice or _name
    if name != _name and name not in _loaded:
        return ""
    try:
        caps = backend(name).capabilities
        v = load_vocabulary(caps.draws_in)
    except BadInput as e:
        return f"The classes of the {name} backend cannot be said: {e}"
    things = [c for c in v.classes if not v.is_stuff(c)]
    stuff = [c for c in v.classes if v.is_stuff(c)]
    out = (f"The **{name}** backend draws the **{v.name}** vocabulary: {len(v)} classes "
           f"({html.escape(v.source)}). A word of a graph outside them is mapped to the nearest one, or left out.")
    if caps.reads_in != caps.draws_in:
        out += f" A picture is read in the **{caps.reads_in}** vocabulary."
    out += f"\n\n**Things** ({len(things)}): {html.escape(', '.join(things)) or '-'}"
    out += f"\n\n**Stuff** ({len(stuff)}): {html.escape(', '.join(stuff)) or '-'}"
    return out


def _negative() -> str:
    from ..backends.sd.prompt import NEGATIVE

    return NEGATIVE


def _prompts(name: str) -> bool:
    """Whether the backend `name` is told words (False for one not loaded yet: this loads nothing)."""
    if name and name != _name and name not in _loaded:
        return False
    try:
        return backend(name).capabilities.prompts
    except BadInput:
        return False


def prompt_hint(text: str | None, choice: str | None):
    """The prompt box's placeholder: the prompt the graph in the text box composes (used when the
    box is left empty); nothing to do where the backend is told no words."""
    from ..graph.mapping import map_graph

    if not _prompts(choice or _name):
        return gr.skip()
    try:
        mapped = map_graph(views.read_text(text))
    except BadInput:
        return gr.skip()
    if mapped.graph is None:
        return gr.skip()
    from ..backends.sd.prompt import compose

    return gr.update(placeholder=f"Empty: composed from the graph, {compose(mapped).text!r}"[:600])


# --- pictures in --------------------------------------------------------------------------------------

INVERSION_STEPS = 8  # edit-friendly inversion is exact at any count; 8 keeps a read and an edit quick


def _read(path: str | None, seed: object, session: Session | None, progress, display: bool,
          request: gr.Request | None = None, choice: str | None = None):
    from ..graph.mapping import map_graph
    from ..reading.load import decode

    if not path:
        raise BadInput("choose a picture first (PNG, JPEG, WebP, BMP or GIF)")
    picture = decode(path)  # the limits are checked here, before any work: nothing on the page changes
    seed = check_seed(0 if seed is None else seed)
    b = backend(choice)
    caps = b.capabilities
    if not caps.inverts:
        raise BadInput(f"the {caps.name} backend cannot read pictures")
    steps = {"depth": caps.default_steps.get("depth", 1), "sketch": caps.default_steps.get("sketch", 1),
             "inversion": INVERSION_STEPS}

    judged = b.familiarity(picture) if hasattr(b, "familiarity") else None
    if judged is not None and not judged["familiar"]:  # said before the maps arrive, and again with them
        key = getattr(request, "session_hash", None)
        digest = _digest(picture) if display and key else None
        if digest is not None and _asked.get(key) != digest:
            # The page asks first: nothing changes, and the same picture read again is read anyway.
            _asked[key] = digest
            while len(_asked) > MAX_ASKED:
                _asked.popitem(last=False)
            raise BadInput(_unfamiliar(judged, ASK_UNFAMILIAR))
        _asked.pop(key or "", None)
        warn(_unfamiliar(judged, UNFAMILIAR))

    def job(on_step, on_map):
        return b.read(picture, seed, None, "ddpm", INVERSION_STEPS, on_step, on_map)

    earlier = session.earlier + [session.current] if session is not None else []
    yield from _stream_result(job, steps, progress,
                              lambda r: Session(map_graph(r.graph, r.vocab), r, earlier=earlier[-MAX_EARLIER:],
                                                backend=choice or ""),
                              display, f"read({Path(path).name}, seed={seed})", session, request,
                              vocabulary=load_vocabulary(caps.reads_in))


def read_picture(path: str | None, seed, session: Session | None, choice: str | None = None,
                 progress=gr.Progress()):
    """The API's read: a picture file -> its maps, its graph (in report.json) and its inversion."""
    yield from _read(path, seed, session, progress, False, None, choice)


def read_from_page(path: str | None, seed, canvas: str | None, session: Session | None, choice: str | None = None,
                   request: gr.Request = None, progress=gr.Progress()):
    """Start from a picture: its maps arrive one by one, then its graph is on the canvas."""
    for out in _read(path, seed, session, progress, True, request, choice):
        new = out[7]
        if isinstance(new, Session):
            info(f"Read {len(new.mapped.source.objects)} objects and {len(new.mapped.source.relations)} relations. "
                 "Edit the mask or the graph: only what you change is drawn again.")
            yield (*out, *_graph_views(new.mapped.source, _positions_for(new.mapped.source, canvas), new))
        else:
            yield (*out, *(gr.skip() for _ in range(4)))


def _apply_graph(graph: SceneGraph, session: Session | None, progress, display: bool,
                 request: gr.Request | None = None):
    """The result edited until it shows `graph`: a changed predicate moves the subject, a node left
    out is deleted, a new label redraws the region; then the factors rerun (a read picture keeps
    everything the edit did not touch)."""
    from ..graph.mapping import map_graph
    from ..reading.edit import graph_edit

    session = _need(session)
    v = session.result.vocab
    mapped = map_graph(graph, v)
    if mapped.graph is None:
        raise BadInput(f"{mapped.lines()[-1]}: " + "; ".join(mapped.lines()[:3]))
    made_by = _for(session)
    seg, said = graph_edit(session.current, session.result.depth, session.mapped.graph, mapped.graph,
                           getattr(made_by, "redraw", None), not made_by.capabilities.prompts, v)
    info("; ".join(said)[:500])
    edited = replace(session, mapped=mapped, result=replace(session.result, graph=mapped.graph)).with_map(seg)
    yield from rerun("depth", edited, request, progress, display=display)


def apply_graph(text: str | None, session: Session | None, progress=gr.Progress()):
    """The API's graph edit: the graph as text triples or sg2im JSON, the same objects in the same
    order (some may be left out: deleted, or relabelled)."""
    yield from _apply_graph(views.read_text(text), session, progress, False)


def apply_graph_from_page(text: str | None, rows, canvas: str | None, session: Session | None,
                          request: gr.Request = None, progress=gr.Progress()):
    """The page's graph edit; with the result, every view shows the graph, its edges judged."""
    for out in _apply_graph(graph_from_views(text, rows, canvas), session, progress, True, request):
        new = out[7]
        if isinstance(new, Session):
            yield (*out, *_graph_views(new.mapped.source, _positions_for(new.mapped.source, canvas), new))
        else:
            yield (*out, *(gr.skip() for _ in range(4)))


def _apply_concepts(text: str | None, session: Session | None, progress, display: bool,
                    request: gr.Request | None = None):
    """Concept edits (LEDITS++-style) of an inverted picture: `-car` takes the cars away, `+sheep,-dog`
    makes the dogs sheep, `WORD:SCALE` each with its own scale; the graph follows."""
    from ..graph.mapping import map_graph
    from ..reading.concepts import concept_edit, parse_concepts

    session = _need(session)
    b = _for(session)
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

    yield from _stream_result(job, steps, progress, edited.after, display,
                              f"concepts({str(text)[:80]!r}) of {session.mapped.source.to_json()}", edited, request,
                              session.result.vocab)


def apply_concepts(text: str | None, session: Session | None, progress=gr.Progress()):
    """The API's concept edit: "+WORD,-WORD" (each may end in :SCALE)."""
    yield from _apply_concepts(text, session, progress, False)


def apply_concepts_from_page(text: str | None, canvas: str | None, session: Session | None,
                             request: gr.Request = None, progress=gr.Progress()):
    for out in _apply_concepts(text, session, progress, True, request):
        new = out[7]
        if isinstance(new, Session):
            yield (*out, *_graph_views(new.mapped.source, _positions_for(new.mapped.source, canvas), new))
        else:
            yield (*out, *(gr.skip() for _ in range(4)))


def invert(session: Session | None, request: gr.Request = None, progress=gr.Progress(), *, display: bool = False):
    """The result's picture inverted: from then on an edit redraws only what it changed."""
    session = _need(session)
    if session.result.inverted:
        raise BadInput("this picture is inverted already: edits keep what they do not touch")
    b = _for(session)
    if not b.capabilities.inverts:
        raise BadInput(f"the {b.capabilities.name} backend cannot invert pictures")

    def job(on_step, on_map):
        return b.invert(session.result, "ddpm", INVERSION_STEPS, on_step)

    def keep(result) -> Session:
        info("Inverted: an edit now redraws only what it changes.")
        return replace(session, result=result)

    yield from _stream_result(job, {"inversion": INVERSION_STEPS}, progress, keep, display, "invert", session,
                              request, session.result.vocab)


def before_after(session: Session | None):
    """The read picture and the picture now, for the comparison slider (hidden for generated ones)."""
    if session is None or not session.result.inverted:
        return gr.update(visible=False)
    before = np.asarray(session.result.state["inv_picture"], np.uint8)
    return gr.update(value=(_up(before, True), _up(session.result.image, True)), visible=True)


def _need(session: Session | None) -> Session:
    if session is None:
        raise BadInput("generate a scene first (or read a picture)")
    return session


def rerun(what: str, session: Session | None, request: gr.Request = None, progress=gr.Progress(), *,
          display: bool = False):
    session = _need(session)
    if what not in RERUNS:
        raise BadInput(f"rerun: what must be one of {', '.join(RERUNS)}, not {what!r}"[:200])
    b = _for(session)
    steps = {f: session.result.options.steps.get(f, k) for f, k in b.capabilities.steps_after(what).items()}

    def job(on_step, on_map):
        return b.rerun(session.result, session.current, what=what, on_step=on_step, on_map=on_map)

    yield from _stream_result(job, steps, progress, session.after, display,
                              f"rerun({what}) of {session.mapped.source.to_json()}", session, request,
                              session.result.vocab)


def choose(index: float | int | None, session: Session | None, request: gr.Request = None, progress=gr.Progress(),
           *, display: bool = False):
    session = _need(session)
    n = len(session.result.candidates)
    index = whole(index, "the candidate", 0, max_samples() * 8)
    if index >= n:
        raise BadInput(f"candidate {index} does not exist (this result has {n}: 0 to {n - 1})")
    b = _for(session)
    steps = {f: session.result.options.steps.get(f, k) for f, k in b.capabilities.steps_after("depth").items()}

    def job(on_step, on_map):
        return b.choose(session.result, index, on_step=on_step, on_map=on_map)

    yield from _stream_result(job, steps, progress, session.after, display,
                              f"choose({index}) of {session.mapped.source.to_json()}", session, request,
                              session.result.vocab)


def _choose_selected(evt: gr.SelectData, session: Session | None, request: gr.Request = None,
                     progress=gr.Progress()):
    yield from choose(evt.index, session, request, progress, display=True)


def candidates(session: Session | None) -> list[tuple[np.ndarray, str]]:
    if session is None or session.result.inverted:  # a read picture has no candidates to choose from
        return []
    out = []
    for k, c in enumerate(session.result.candidates):
        rel = c.verdict.relation_accuracy
        n = len(c.verdict.extras)
        extra = f", {n} not asked for" if n else ""
        chosen = " (chosen)" if k == session.result.chosen else ""
        out.append((session.result.vocab.colorize(c.segmentation),
                    f"#{k} seed {c.seed}: recall {c.verdict.object_recall:.2f}, relations "
                    f"{'n/a' if rel is None else f'{rel:.2f}'}{extra}{chosen}"))
    return out


def _sources(session: Session | None) -> dict[str, np.ndarray]:
    return {} if session is None else session.sources()


# --- editing the mask -------------------------------------------------------------------------------


def edit_mask(operation: str, x: float | int | None, y: float | int | None, amount: float | int | None,
              source: str | None, session: Session | None, *, display: bool = False):
    """One mask operation on the session's segmentation -> segmentation, overlay, relations, x, y,
    what is picked, session. A move or a resize that pushes the object past the picture's edge says
    how much of it was cut."""
    session, done = _need(session).apply(operation, x, y, amount, source)
    if done.cut:
        info(done.cut)
    picked = done.message if operation not in ("undo", "redo") else gr.skip()
    return (_up(session.result.vocab.colorize(session.current), display),
            _up(overlay(session.result.image, session.current, done.x, done.y, session.result.vocab), display),
            _relations(session, session.current),
            gr.skip() if done.x is None else done.x, gr.skip() if done.y is None else done.y, picked, session)


def edit_mask_api(operation: str, x, y, amount, source: str | None, session: Session | None) -> tuple:
    """The API's edit_mask: as the page's, without the page's line on what is picked."""
    *maps, _picked_line, new = edit_mask(operation, x, y, amount, source, session)
    return (*maps, new)


def pick_point(x: int, y: int, session: Session | None) -> tuple:
    """A click on the segmentation, the overlay or a legend row: the object under (x, y) is picked."""
    from ..editing import masks as ed

    if session is None:
        return x, y, gr.skip(), "Generate a scene first, then click an object."
    m = ed.Masks.from_segmentation(session.current, vocabulary=session.result.vocab)
    try:
        iid = ed.pick(m, x, y)
    except BadInput as e:
        warn(str(e))
        return x, y, _up(overlay(session.result.image, session.current, vocabulary=session.result.vocab), True), \
            f"({x}, {y}): {e}"
    return x, y, _up(overlay(session.result.image, session.current, x, y, session.result.vocab), True), \
        picked_line(m.label_of(iid), x, y)


def _pick_selected(evt: gr.SelectData, session: Session | None) -> tuple:
    return pick_point(int(evt.index[0]) // UP, int(evt.index[1]) // UP, session)


def _pick_row(evt: gr.EventData, session: Session | None) -> tuple:
    data = getattr(evt, "_data", None)
    data = data if isinstance(data, dict) else {}
    return pick_point(whole(data.get("x"), "x", 0, 255), whole(data.get("y"), "y", 0, 255), session)


def match_graph(session: Session | None) -> tuple:
    """The graph rewritten to describe the edited mask; its text (the views follow from it)."""
    from ..editing.graph_sync import match_graph as rewrite
    from ..graph.mapping import map_graph

    session = _need(session)
    graph, changes = rewrite(session.mapped, session.current, session.result.depth)
    if not changes:
        info("Every relation already holds in the mask: the graph is unchanged.")
    else:
        info("Graph updated: " + "; ".join(changes))
    mapped = map_graph(graph, session.result.vocab)
    # The result judged against the new graph on the edited mask (which is what the graph describes).
    result = replace(session.result, graph=mapped.graph, verdict=session.result.judged(mapped.graph, session.current))
    new = replace(session, mapped=mapped, result=result)
    return views.to_text(graph), _relations(new, session.current), new


def download(session: Session | None) -> str:
    """A zip of graph.json, the maps (the segmentation as edited) and report.json; returns its path.
    The files are those `generate` writes, by the same functions."""
    import zipfile

    from ..backends.output import write_result
    from .files import new_folder

    session = _need(session)
    folder = new_folder("sgcond-download-")
    files = write_result(folder / "files", session.result, session.mapped, session.current)
    path = folder / "sgcond_result.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(files.rglob("*")):
            if f.is_file():
                z.write(f, f.relative_to(files).as_posix())
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
            gr.update(choices=sources, value=sources[0] if sources else None), before_after(session))


# --- the page ----------------------------------------------------------------------------------------

# For launch(css=...): maps and candidates drawn larger than they are stay crisp pixels.
CSS = ".sg-map img { image-rendering: pixelated; }\n"
LEGEND_CSS = """
.sg-legend { border-collapse: collapse; font-size: 13px; width: 100%; }
.sg-legend td, .sg-legend th { padding: 2px 6px; text-align: left; }
.sg-legend tbody tr { cursor: pointer; }
.sg-legend tbody tr:hover { background: rgba(37, 99, 235, 0.12); }
.sg-legend tr.sg-stuff { color: var(--body-text-color-subdued); }
.sg-legend .sg-unasked { color: #b45309; font-size: 12px; margin-left: 4px; }
.sg-swatch { display: inline-block; width: 14px; height: 14px; border-radius: 3px; border: 1px solid #0004; }
"""
# After Generate, once the new segmentation is on screen, the maps are scrolled into view (on a
# 1000 px high window they start below the fold); nothing moves when Generate was refused. It runs
# as the Generate event's own js (which hands the inputs on unchanged): a separate js-only listener
# ran only after the first map had arrived.
SCROLL_TO_MAPS_JS = """
(...inputs) => {
  const img = () => document.querySelector('#sg-seg img');
  const old = img() ? img().src : null, start = Date.now();
  const tick = () => {
    const now = img();
    if (now && now.src !== old) {
      document.getElementById('sg-maps').scrollIntoView({behavior: 'smooth', block: 'nearest'});
    } else if (Date.now() - start < 60000) setTimeout(tick, 100);
  };
  setTimeout(tick, 100);
  return inputs;
}
"""


def studio_tab() -> None:
    session = gr.State(None)
    imported = gr.State([])  # the graphs of the last imported file
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
                                     "a subject is an object on its own; 'car #2' tells two cars apart",
                                     elem_id="sg-table")
                use_table = gr.Button("Use the table", size="sm", elem_id="sg-use-table")
            with gr.Tab("Text / sg2im JSON"):
                text = gr.Textbox(value=EXAMPLE, lines=6, max_lines=30, show_label=False, elem_id="sg-text",
                                  placeholder="red car left of tree; dog near car — or paste sg2im JSON")
                with gr.Row():
                    use_text = gr.Button("Use the text", size="sm", elem_id="sg-use-text")
                    upload = gr.UploadButton("Import a file", size="sm", file_types=[".json", ".txt"],
                                             type="filepath", elem_id="sg-import")
                    export = gr.Button("Export as sg2im JSON", size="sm", elem_id="sg-export")
                exported = gr.File(label="graph.json", visible=False, elem_id="sg-exported")
                offered = gr.Gallery(visible=False, columns=4, height=260, allow_preview=False, object_fit="contain",
                                     label="Graphs in the file (click one to load it)", elem_id="sg-imported")
            with gr.Tab("Examples"):
                examples = gr.Gallery(value=example_gallery(), columns=4, height=300, allow_preview=False,
                                      object_fit="contain", elem_id="sg-examples",
                                      label="Click a graph to load it")
            with gr.Tab("Start from a picture", elem_id="sg-picture-tab"):
                # A file, not gr.Image: Gradio would decode an image itself, before our limits are checked.
                picture = gr.File(label="A picture (PNG, JPEG, WebP, BMP, GIF; up to 20 MB and 40 megapixels; "
                                  "centre-cropped)", file_types=[".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"],
                                  type="filepath", height=120, elem_id="sg-picture")
                with gr.Row():
                    read = gr.Button("Read the picture", variant="primary", elem_id="sg-read")
                    apply_to_picture = gr.Button("Apply the graph to the picture", elem_id="sg-apply-graph")
                    invert_btn = gr.Button("Invert the result shown", elem_id="sg-invert")
                with gr.Row():
                    concepts = gr.Textbox(label="Concepts", placeholder="-car   or   +sheep,-dog   (WORD:SCALE, "
                                          "default 1.5)", scale=3, elem_id="sg-concepts")
                    apply_concepts_btn = gr.Button("Apply the concepts", scale=1, elem_id="sg-apply-concepts")
                gr.Markdown("Reading finds the objects and relations and inverts the picture, so that an edit "
                            "(in the mask, or of the graph above: turn a relation around, relabel or delete "
                            "a node; or by concept: -car takes the cars away, +sheep,-dog makes the dogs "
                            "sheep) redraws only what changed. A generated result can be inverted too.",
                            elem_id="sg-picture-help")
        with gr.Column(scale=2):
            notes = gr.Markdown(views.notes_markdown(views.read_text(EXAMPLE),
                                                     views.understand(views.read_text(EXAMPLE),
                                                                      drawn_vocabulary())),
                                elem_id="sg-notes")
            with gr.Row():
                seed = RawNumber(label="Seed", value=0, precision=0, minimum=0, elem_id="sg-seed")
                samples = RawSlider(1, max_samples(), value=min(_config.page_samples, max_samples()), step=1,
                                        label="Candidates (N, SBPC)", elem_id="sg-samples")
            names = backend_names()
            choice = gr.Dropdown(names, value=names[0], label="Backend", visible=len(names) > 1,
                                 info="what makes the pictures (the first choice of another loads it)",
                                 elem_id="sg-backend")
            with gr.Accordion("Classes this backend knows", open=False, elem_id="sg-vocabulary-box"):
                vocabulary = gr.Markdown(vocabulary_markdown(names[0]), elem_id="sg-vocabulary")
            with gr.Accordion("Prompt (told to Stable Diffusion)", open=False, visible=_prompts(names[0]),
                              elem_id="sg-prompt-box") as prompt_box:
                prompt = gr.Textbox(label="Prompt", lines=2, max_lines=6, elem_id="sg-prompt",
                                    placeholder="Empty: composed from the graph (the objects, their attributes "
                                    "and the relations, in your words)")
                negative = gr.Textbox(label="Negative prompt", lines=1, max_lines=4, elem_id="sg-negative",
                                      placeholder="Empty: " + _negative())
            with gr.Row():
                go = gr.Button("Generate", variant="primary", elem_id="sg-generate")
                stop = gr.Button("Stop", variant="stop", elem_id="sg-stop")
            relations = gr.Dataframe(label="Relations, judged on the map and on the picture read back",
                                     headers=RELATION_HEADERS,
                                     datatype="str", interactive=False, elem_id="sg-relations")
            match = gr.Button("Update the graph to match the mask", size="sm", elem_id="sg-match")
    gr.Markdown("Click an object in the **segmentation** or the **overlay** to pick it. Depth: bright is "
                "near. The overlay outlines the picked object.", elem_id="sg-maps-help")
    with gr.Row(elem_classes="sg-maps", elem_id="sg-maps"):
        # Short titles: the maps' corner buttons cover long ones.
        seg, depth, sketch, image, over = (
            gr.Image(label=label, format="png", interactive=False, height=MAP_HEIGHT, elem_id=f"sg-{name}",
                     elem_classes="sg-map", buttons=["download"])
            for name, label in (("seg", "Segmentation"), ("depth", "Depth"), ("sketch", "Sketch"),
                                ("image", "Image"), ("overlay", "Overlay")))
    compare = gr.ImageSlider(label="The picture read, and now (drag to compare)", visible=False, format="png",
                             elem_id="sg-compare", elem_classes="sg-map", interactive=False, max_height=DISPLAY)
    with gr.Row():
        with gr.Column(scale=2):
            legend = gr.HTML(legend_html(None), js_on_load=LEGEND_JS, css_template=LEGEND_CSS, elem_id="sg-legend")
            picked = gr.Markdown("Click an object in the segmentation or a row above.", elem_id="sg-picked")
        with gr.Column(scale=3):
            with gr.Row():
                x = RawNumber(label="x", value=32, precision=0, min_width=60, elem_id="sg-x")
                y = RawNumber(label="y", value=40, precision=0, min_width=60, elem_id="sg-y")
                step = RawNumber(label="Step (px)", value=8, precision=0, minimum=1, maximum=63,
                                     min_width=80, elem_id="sg-step")
            with gr.Row():
                buttons = {op: gr.Button(label, size="sm", elem_id=f"sg-{op}") for op, label in (
                    ("move_left", "←"), ("move_up", "↑"), ("move_down", "↓"), ("move_right", "→"),
                    ("flip_horizontal", "Flip ↔"), ("flip_vertical", "Flip ↕"), ("bigger", "Bigger"),
                    ("smaller", "Smaller"), ("delete", "Delete"), ("undo", "Undo"), ("redo", "Redo"))}
            with gr.Row():
                source = gr.Dropdown([], value="", label="Paste from", allow_custom_value=True, scale=2,
                                     elem_id="sg-source")
                paste = gr.Button("Paste the object under (x, y) of that map", size="sm", scale=2,
                                  elem_id="sg-paste")
            with gr.Row():
                rerun_all = gr.Button("Rerun depth, sketch, image", variant="primary", elem_id="sg-rerun")
                rerun_image = gr.Button("Rerun the image only", elem_id="sg-rerun-image")
            with gr.Accordion("Edit by name (as the API does)", open=False, elem_id="sg-by-name"):
                with gr.Row():
                    operation = gr.Dropdown(list(OPERATIONS), value="move_right", label="Operation",
                                            elem_id="sg-operation")
                    amount = RawNumber(label="Pixels or scale", value=8, elem_id="sg-amount")
                    apply = gr.Button("Apply", elem_id="sg-apply")
                    what = gr.Dropdown(list(RERUNS), value="depth", label="Rerun from", elem_id="sg-what")
                    again = gr.Button("Rerun", elem_id="sg-again")
    with gr.Row():
        with gr.Column(scale=3):
            # As many columns as candidates (Gradio fits them to the count), in 3/5 of the width.
            gallery = gr.Gallery(label="SBPC candidates (click one to continue from it)", columns=8,
                                 height=240, object_fit="contain", allow_preview=False, format="png",
                                 elem_id="sg-candidates", elem_classes="sg-map")
        with gr.Column(scale=2):
            index = RawNumber(label="Candidate", value=0, precision=0, visible=False)
            zip_btn = gr.Button("Download zip", elem_id="sg-download")
            zip_file = gr.File(label="Result", visible=False, elem_id="sg-zip")
            with gr.Accordion("report.json", open=False, elem_id="sg-report"):
                report = gr.JSON()

    # Page events never raise (page.on_page: a mistake is a message, the outputs stay as they were);
    # the API's events, on hidden buttons, raise so that a client gets the message (page.as_api).
    private = dict(api_visibility="private")
    api = {name: gr.Button(visible=False) for name in ("generate", "rerun", "choose", "edit_mask", "match_graph",
                                                       "download", "export_graph", "read_picture",
                                                       "apply_graph", "invert", "apply_concepts")}
    # Gradio names a private event after its function too: the API's names are taken first.
    api["export_graph"].click(as_api(export_graph), [text], [exported], api_name="export_graph")
    api["download"].click(as_api(download), [session], [zip_file], api_name="download")
    graph_out = [canvas, text, table, notes]
    canvas.edit(on_page(4)(from_canvas), [canvas, session], graph_out, **private)
    use_text.click(on_page(4)(from_text), [text, canvas, session], graph_out, **private)
    use_table.click(on_page(4)(from_table), [table, canvas, session], graph_out, **private)
    examples.select(on_page(4)(from_example), [canvas, session], graph_out, **private)
    upload.upload(on_page(6)(import_graph), [upload, canvas, session], [*graph_out, offered, imported], **private)
    offered.select(on_page(4)(from_imported), [imported, canvas, session], graph_out, **private)
    show_file = dict(fn=lambda: gr.update(visible=True), inputs=None, **private)
    export.click(on_page(1)(export_graph), [text], [exported], **private).then(outputs=[exported], **show_file)

    # The page's events show the maps UP times larger; the API's events (on hidden buttons) return
    # them at their own 64 px, into hidden images. Both run the same handlers on the same session.
    hidden_maps = [gr.Image(format="png", visible=False) for _ in range(5)]
    page_out = [seg, depth, sketch, image, over, report, relations, session]
    api_out = [*hidden_maps, report, relations, session]
    follow = dict(fn=on_page(5)(after_result), inputs=[canvas, session],
                  outputs=[canvas, legend, gallery, source, compare], **private)
    shown = functools.partial
    page_generate = go.click(on_page(12)(generate_from_views), [text, table, canvas, seed, samples, session,
                                                                choice, prompt, negative],
                             [*page_out, *graph_out], js=SCROLL_TO_MAPS_JS, **private)
    running = [
        page_generate,
        api["generate"].click(as_api(generate), [text, seed, samples, session, choice, prompt, negative], api_out,
                              api_name="generate"),
        api["rerun"].click(as_api(rerun), [what, session], api_out, api_name="rerun"),
        api["choose"].click(as_api(choose), [index, session], api_out, api_name="choose"),
        again.click(on_page(8)(shown(rerun, display=True)), [what, session], page_out, **private),
        gallery.select(on_page(8)(_choose_selected), [session], page_out, **private),
        read.click(on_page(12)(read_from_page), [picture, seed, canvas, session, choice], [*page_out, *graph_out],
                   js=SCROLL_TO_MAPS_JS, **private),
        api["read_picture"].click(as_api(read_picture), [picture, seed, session, choice], api_out,
                                  api_name="read_picture"),
        apply_to_picture.click(on_page(12)(apply_graph_from_page), [text, table, canvas, session],
                               [*page_out, *graph_out], **private),
        api["apply_graph"].click(as_api(apply_graph), [text, session], api_out, api_name="apply_graph"),
        invert_btn.click(on_page(8)(shown(invert, display=True)), [session], page_out, **private),
        api["invert"].click(as_api(invert), [session], api_out, api_name="invert"),
        apply_concepts_btn.click(on_page(12)(apply_concepts_from_page), [concepts, canvas, session],
                                 [*page_out, *graph_out], **private),
        api["apply_concepts"].click(as_api(apply_concepts), [concepts, session], api_out, api_name="apply_concepts"),
    ]
    for btn, w in ((rerun_all, "depth"), (rerun_image, "image")):
        running.append(btn.click(on_page(8)(shown(rerun, w, display=True)), [session], page_out, **private))
    for event in running:
        event.then(**follow)
    stop.click(request_stop, None, None, concurrency_limit=None, **private)
    choice.input(on_page(3)(pick_backend), [choice], [choice, prompt_box, vocabulary], **private).then(
        on_page(1)(prompt_hint), [text, choice], [prompt], **private)
    text.change(on_page(1)(prompt_hint), [text, choice], [prompt], trigger_mode="always_last", **private)

    edit_in = [x, y, step, source, session]
    page_edit = [seg, over, relations, x, y, picked, session]
    api["edit_mask"].click(as_api(edit_mask_api), [operation, x, y, amount, source, session],
                           [*hidden_maps[:2], relations, x, y, session], api_name="edit_mask").then(**follow)
    apply.click(on_page(7)(shown(edit_mask, display=True)), [operation, x, y, amount, source, session], page_edit,
                **private).then(**follow)
    for op, btn in buttons.items():
        if op in ("bigger", "smaller"):
            scale = 1.25 if op == "bigger" else 0.8
            fn = lambda x, y, step, source, session, scale=scale: edit_mask(  # noqa: E731
                "resize", x, y, scale, source, session, display=True)
        else:
            fn = shown(edit_mask, op, display=True)
        btn.click(on_page(7)(fn), edit_in, page_edit, **private).then(**follow)
    paste.click(on_page(7)(shown(edit_mask, "paste", display=True)), edit_in, page_edit, **private).then(**follow)

    pick_out = [x, y, over, picked]
    for img in (seg, over):
        img.select(on_page(4)(_pick_selected), [session], pick_out, **private)
    legend.pick(on_page(4)(_pick_row), [session], pick_out, **private)

    match_out = [text, relations, session]
    api["match_graph"].click(as_api(match_graph), [session], match_out, api_name="match_graph")
    match.click(on_page(3)(match_graph), [session], match_out, **private).then(
        on_page(4)(from_text), [text, canvas, session], graph_out, **private)
    zip_btn.click(on_page(1)(download), [session], [zip_file], **private).then(outputs=[zip_file], **show_file)
