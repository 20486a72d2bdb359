"""The "Generate" tab: a graph in, the chain's four maps out; then edit the segmentation and rerun.

Three API endpoints, so that a script can do what a person does:
- `generate(graph, seed, samples)` -> segmentation, depth, sketch, image, report;
- `edit_mask(operation, x, y, amount)` on the last result of this session: `move_right`,
  `move_left`, `move_up`, `move_down` (amount: pixels), `flip_horizontal`, `flip_vertical`,
  `resize` (amount: scale), `delete`, `undo`; the object is the one under (x, y) of the 64x64
  segmentation. Returns the edited segmentation and the relations judged again;
- `rerun(what)`: `depth` (depth, sketch and image), `sketch` (sketch and image) or `image`, from
  the edited segmentation with the same seed;
- `choose(index)`: another SBPC candidate (0..N-1), with depth, sketch and image rerun for it;
- `download()`: a zip of graph.json, the four maps (the segmentation as edited) and report.json.

A session's result and edits live in a `gr.State`; an error a person causes is one message and
changes nothing. torch is imported on the first request, not with the page.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

import gradio as gr
import numpy as np

from ..errors import BadInput
from ..graph import vocab
from ..graph.mapping import map_graph
from ..graph.parse import parse_graph_text

EXAMPLE = "sky above grass\nred car on grass\ntree left of red car\nhouse behind tree"
OPERATIONS = ("move_right", "move_left", "move_up", "move_down", "flip_horizontal", "flip_vertical", "resize",
              "delete", "undo", "redo")
RERUNS = ("depth", "sketch", "image")
RELATION_HEADERS = ["subject", "predicate", "object", "holds"]
MAX_SAMPLES = 16

_chain = None
_lock = threading.Lock()


def chain():
    global _chain
    with _lock:
        if _chain is None:
            from ..fgdm.chain import Chain

            _chain = Chain()
    return _chain


@dataclass
class Session:
    mapped: object  # MappedGraph
    result: object  # fgdm.chain.Result, of the last (re)run
    history: list = field(default_factory=list)  # segmentations before each edit, for undo
    segmentation: np.ndarray | None = None  # the edited one (None: the result's)
    future: list = field(default_factory=list)  # segmentations undone, for redo

    @property
    def current(self) -> np.ndarray:
        return self.result.segmentation if self.segmentation is None else self.segmentation


def _maps(result) -> tuple:
    from .sample_page import depth_to_rgb, gray_to_rgb

    return vocab.colorize(result.segmentation), depth_to_rgb(result.depth), gray_to_rgb(result.sketch), result.image


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


def generate(text: str | None, seed: float | int | None, samples: float | int | None, session: Session | None):
    from ..fgdm.chain import Settings, report

    try:
        graphs = parse_graph_text(text or "")
        if len(graphs) != 1:
            raise BadInput(f"the text holds {len(graphs)} graphs; generate takes one")
        mapped = map_graph(graphs[0])
        if mapped.graph is None:
            raise BadInput("no object of this graph is known to the tiny world")
        seed = int(seed or 0)
        samples = int(samples or 8)
        if not 1 <= samples <= MAX_SAMPLES:
            raise BadInput(f"samples must be between 1 and {MAX_SAMPLES}")
        result = chain().generate(mapped.graph, seed=seed, settings=Settings(samples=samples))
    except BadInput as e:
        raise gr.Error(str(e)) from e
    new = Session(mapped, result)
    return (*_maps(result), report(result, mapped), _relations(new), new)


def _need(session: Session | None) -> Session:
    if session is None:
        raise gr.Error("generate a scene first")
    return session


def edit_mask(operation: str, x: float | int | None, y: float | int | None, amount: float | int | None,
              session: Session | None):
    from ..editing import masks as ed

    session = _need(session)
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
            m = ed.Masks.from_segmentation(session.current)
            obj = ed.pick(m, int(x if x is not None else -1), int(y if y is not None else -1))
            step = int(amount) if amount not in (None, 0) else 8
            if operation.startswith("move_"):
                dx, dy = {"right": (step, 0), "left": (-step, 0), "up": (0, -step), "down": (0, step)}[
                    operation[5:]]
                out = ed.move(m, obj, dx, dy)
            elif operation.startswith("flip_"):
                out = ed.flip(m, obj, operation[5:])
            elif operation == "resize":
                out = ed.resize(m, obj, float(amount or 1.25))
            else:
                out = ed.delete(m, obj)
            session = replace(session, history=[*session.history, session.current],
                              segmentation=out.segmentation, future=[])
    except BadInput as e:
        raise gr.Error(str(e)) from e
    return vocab.colorize(session.current), _relations(session, session.current), session


def rerun(what: str, session: Session | None):
    from ..fgdm.chain import report

    session = _need(session)
    try:
        if what not in RERUNS:
            raise BadInput(f"rerun: what must be one of {', '.join(RERUNS)}")
        result = chain().rerun(session.result, session.current, what=what)
    except BadInput as e:
        raise gr.Error(str(e)) from e
    new = Session(session.mapped, result, session.history, None)
    return (*_maps(result), report(result, session.mapped), _relations(new), new)


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


def choose(index: float | int | None, session: Session | None):
    from ..fgdm.chain import report

    session = _need(session)
    try:
        result = chain().choose(session.result, int(index if index is not None else -1))
    except BadInput as e:
        raise gr.Error(str(e)) from e
    new = Session(session.mapped, result)
    return (*_maps(result), report(result, session.mapped), _relations(new), new)


def download(session: Session | None) -> str:
    """A zip of graph.json, the maps (the segmentation as edited) and report.json; returns its path.
    The files are those `generate` writes, by the same functions."""
    import tempfile
    import zipfile
    from pathlib import Path

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


def _choose_selected(evt: gr.SelectData, session: Session | None):
    return choose(evt.index, session)


def pick_point(evt: gr.SelectData) -> tuple[int, int]:
    x, y = evt.index
    return int(x), int(y)


def generate_tab() -> None:
    from .sample_page import map_images

    gr.Markdown("Write a scene graph, generate its segmentation, depth, sketch and image with the tiny "
                "backend (SBPC keeps the best of N segmentations), then click an object in the "
                "segmentation, edit it and rerun what follows. Coordinates are those of the 64x64 maps.")
    session = gr.State(None)
    with gr.Row():
        with gr.Column(scale=2):
            text = gr.Textbox(label="Scene graph", value=EXAMPLE, lines=6, max_lines=30)
            with gr.Row():
                seed = gr.Number(label="Seed", value=0, precision=0, minimum=0)
                samples = gr.Slider(1, MAX_SAMPLES, value=8, step=1, label="Candidates (N)")
            go = gr.Button("Generate", variant="primary")
        with gr.Column(scale=3):
            relations = gr.Dataframe(label="Relations, judged on the segmentation", headers=RELATION_HEADERS,
                                     datatype="str", interactive=False)
    with gr.Row():
        seg, depth, sketch, image = map_images("Segmentation (click an object)", "Depth", "Sketch", "Image")
    with gr.Row():
        x = gr.Number(label="x", value=32, precision=0)
        y = gr.Number(label="y", value=40, precision=0)
        operation = gr.Dropdown(list(OPERATIONS), value="move_right", label="Edit")
        amount = gr.Number(label="Pixels or scale", value=8)
        apply = gr.Button("Apply edit")
        what = gr.Dropdown(list(RERUNS), value="depth", label="Rerun from")
        again = gr.Button("Rerun", variant="primary")
    gallery = gr.Gallery(label="SBPC candidates (click one to continue from it)", columns=8, height=180,
                         allow_preview=False)
    with gr.Row():
        index = gr.Number(label="Candidate", value=0, precision=0, visible=False)
        choose_btn = gr.Button("Use candidate", visible=False)
        zip_btn = gr.Button("Download zip")
        zip_file = gr.File(label="Result")
    report = gr.JSON(label="report.json")
    maps = [seg, depth, sketch, image]
    result_outputs = [*maps, report, relations, session]
    go.click(generate, [text, seed, samples, session], result_outputs, api_name="generate").then(
        candidates, [session], [gallery], api_visibility="private")
    apply.click(edit_mask, [operation, x, y, amount, session], [seg, relations, session], api_name="edit_mask")
    again.click(rerun, [what, session], result_outputs, api_name="rerun")
    choose_btn.click(choose, [index, session], result_outputs, api_name="choose")
    gallery.select(_choose_selected, [session], result_outputs, api_visibility="private")
    zip_btn.click(download, [session], [zip_file], api_name="download")
    seg.select(pick_point, None, [x, y], api_visibility="private")
