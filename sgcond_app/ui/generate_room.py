"""The generate room: the backend choice (with the classes it knows and, for a backend told words,
the prompt), Generate and Stop, the SBPC candidates to continue from, and the download of a result.

The API's handlers (`generate`, `choose`, `download`) take what a client sends and return the maps
at their own size; the page's (`generate_from_views`, `choose_selected`, ...) take the page's
views and show the maps UP times larger. Both run the same code on the same session. Handlers that
need the page's backends take the `Studio` first (the wiring binds it)."""

from __future__ import annotations

import html
import logging

import gradio as gr

from ..backends import Options
from ..editing.session import MAX_EARLIER, Session
from ..errors import BadInput
from ..graph.scene_graph import SceneGraph
from ..graph.vocabularies import load as load_vocabulary
from ..inputs import check_seed
from . import graph_views as views
from . import running
from .graph_room import graph_from_views, with_views
from .page import info, warn, whole
from .state import Studio, need

log = logging.getLogger(__name__)


def samples_of(studio: Studio, samples: object) -> int:
    """The candidates asked for, checked (None: the API's default)."""
    if samples is None:
        return min(studio.config.api_samples, studio.max_samples())
    return whole(samples, "candidates", 1, studio.max_samples())


def _generate(studio: Studio, graph: SceneGraph, seed: object, samples: object, session: Session | None, progress,
              display: bool, request: gr.Request | None = None, choice: str | None = None,
              prompt: str | None = None, negative: str | None = None):
    from ..graph.mapping import map_graph

    b = studio.backend(choice)
    v = load_vocabulary(b.capabilities.draws_in)  # the classes this backend's models draw
    mapped = map_graph(graph, v)
    if mapped.graph is None:
        raise BadInput(f"{mapped.lines()[-1]}: " + "; ".join(mapped.lines()[:3]))
    seed = check_seed(0 if seed is None else seed)
    samples = samples_of(studio, samples)
    options = Options(samples=samples)
    if b.capabilities.prompts:
        # The person's own words reach the picture (`broccoli`, which the tiny world drops): the
        # prompt composed from the graph unless the person wrote one.
        from ..backends.sd.prompt import for_request

        options.prompt, options.negative_prompt = for_request(mapped, prompt, negative, getattr(b, "prompt", None))
    elif (prompt or "").strip() or (negative or "").strip():
        raise BadInput(f"the {b.capabilities.name} backend is told no words: a prompt goes with a backend "
                       "that draws from words (sd)")

    def job(on_step, on_map):
        return b.generate(mapped.graph, seed=seed, options=options, on_step=on_step, on_map=on_map)

    earlier = session.earlier + [session.current] if session is not None else []
    yield from running.stream_result(
        studio, job, dict(b.capabilities.default_steps), progress,
        lambda r: Session(mapped, r, earlier=earlier[-MAX_EARLIER:], backend=choice or ""), display,
        f"generate(seed={seed}, samples={samples}, backend={choice or studio.name}, graph={graph.to_json()})",
        session, request, vocabulary=v)


def generate(studio: Studio, text: str | None, seed: float | int | None, samples: float | int | None,
             session: Session | None, choice: str | None = None, prompt: str | None = None,
             negative_prompt: str | None = None, progress=gr.Progress(), *, display: bool = False):
    """The API's generate: the graph as text triples or sg2im JSON; on a backend told words (sd), a
    prompt (empty: composed from the graph) and a negative prompt (empty: the backend's)."""
    yield from _generate(studio, views.read_text(text), seed, samples, session, progress, display, None, choice,
                         prompt, negative_prompt)


def generate_from_views(studio: Studio, text: str | None, rows, canvas: str | None, seed, samples,
                        session: Session | None, choice: str | None = None, prompt: str | None = None,
                        negative: str | None = None, request: gr.Request = None, progress=gr.Progress()):
    """The page's Generate: the graph of the view touched last (`graph_from_views`), on the backend
    chosen (the prompt boxes count only where it is told words). With the result, every view shows
    that graph (the canvas with its edges judged), wherever it came from."""
    graph = graph_from_views(text, rows, canvas)
    if not studio.backend(choice).capabilities.prompts:
        prompt = negative = None  # the boxes are hidden: what they held is for another backend
    yield from with_views(studio, _generate(studio, graph, seed, samples, session, progress, True, request, choice,
                                            prompt, negative), canvas)


def request_stop(studio: Studio, request: gr.Request = None) -> None:
    """Stop: the session's run ends at its next denoising step (see `running.stream_result`)."""
    if not studio.stop(request):
        info("Nothing is running.")


# --- the candidates ---------------------------------------------------------------------------------


# Another SBPC candidate (0..N-1): depth, sketch and image follow it. (No docstring: the API's
# description of choose is the docstring, and stays as it was.)
def choose(studio: Studio, index: float | int | None, session: Session | None, request: gr.Request = None,
           progress=gr.Progress(), *, display: bool = False):
    session = need(session)
    n = len(session.result.candidates)
    index = whole(index, "the candidate", 0, studio.max_samples() * 8)
    if index >= n:
        raise BadInput(f"candidate {index} does not exist (this result has {n}: 0 to {n - 1})")
    b = studio.made(session)
    steps = {f: session.result.options.steps.get(f, k) for f, k in b.capabilities.steps_after("depth").items()}

    def job(on_step, on_map):
        return b.choose(session.result, index, on_step=on_step, on_map=on_map)

    yield from running.stream_result(studio, job, steps, progress, session.after, display,
                                     f"choose({index}) of {session.mapped.source.to_json()}", session, request,
                                     session.result.vocab)


def choose_selected(studio: Studio, evt: gr.SelectData, session: Session | None, request: gr.Request = None,
                    progress=gr.Progress()):
    """A click on a candidate of the gallery."""
    yield from choose(studio, evt.index, session, request, progress, display=True)


def download(session: Session | None) -> str:
    """A zip of graph.json, the maps (the segmentation as edited) and report.json; returns its path.
    The files are those `generate` writes, by the same functions."""
    import zipfile

    from ..backends.output import write_result
    from .files import new_folder

    session = need(session)
    folder = new_folder("sgcond-download-")
    files = write_result(folder / "files", session.result, session.mapped, session.current)
    path = folder / "sgcond_result.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(files.rglob("*")):
            if f.is_file():
                z.write(f, f.relative_to(files).as_posix())
    return str(path)


# --- the backend choice ------------------------------------------------------------------------------


def pick_backend(studio: Studio, choice: str | None, progress=gr.Progress(track_tqdm=True)):
    """The page's Backend choice: the backend is loaded the first time it is chosen (Stable
    Diffusion's weights download once, their progress shown); where it cannot load, one line says
    why and the choice goes back to the configured backend. -> the choice, the prompt boxes, the
    classes it knows."""
    choice = choice or studio.name
    try:
        with studio.loading:  # the dropdown may report one choice twice, at once: it loads, and is said, once
            first = not studio.loaded(choice)
            caps = studio.backend(choice).capabilities
    except Exception as e:  # noqa: BLE001 -- whatever stops it loading, the page stays on what works
        if isinstance(e, BadInput):
            warn(str(e))
        else:
            log.exception("loading the %s backend", choice)
            warn(f"the {choice} backend could not load ({type(e).__name__}; the server's log has it): "
                 f"the {studio.name} backend still serves")
        return (gr.update(value=studio.name), gr.update(visible=studio.prompts(studio.name)),
                vocabulary_markdown(studio, studio.name))
    if first:
        info(f"The {choice} backend makes the pictures now ({caps.picture_size} px, on {caps.device}). "
             "What you generate or read is edited with it.")
    return gr.skip(), gr.update(visible=caps.prompts), vocabulary_markdown(studio, choice)


def vocabulary_markdown(studio: Studio, choice: str | None = None) -> str:
    """What the backend `choice` draws and reads, for the page: its vocabulary's name, where it comes
    from, and its classes, things and stuff apart (a model trained on a dataset knows that dataset's).
    Nothing is loaded for it but the backend's configuration."""
    name = choice or studio.name
    if not studio.loaded(name):
        return ""
    try:
        caps = studio.backend(name).capabilities
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


def negative_placeholder() -> str:
    """The negative prompt's placeholder: the one a backend told words uses when the box is empty."""
    from ..backends.sd.prompt import NEGATIVE

    return "Empty: " + NEGATIVE


def prompt_hint(studio: Studio, text: str | None, choice: str | None):
    """The prompt box's placeholder: the prompt the graph in the text box composes (used when the
    box is left empty); nothing to do where the backend is told no words."""
    from ..graph.mapping import map_graph

    if not studio.prompts(choice or studio.name):
        return gr.skip()
    try:
        mapped = map_graph(views.read_text(text))
    except BadInput:
        return gr.skip()
    if mapped.graph is None:
        return gr.skip()
    from ..backends.sd.prompt import compose

    return gr.update(placeholder=f"Empty: composed from the graph, {compose(mapped).text!r}"[:600])
