"""The backend's own API on a running app, for another app to use as its backend
(`app.py --backend http://HOST:PORT/`, `backends/remote.py`).

Stateless: a result travels as text (`backends.wire`: an .npz in base64) with each call, so the
serving side keeps nothing of a client's, and the person's graph, edits and results stay in the
page that called. The generate, rerun and choose endpoints stream JSON events as the work goes:
{"kind": "step", "factor", "step", "steps"} a few times a second, {"kind": "map", "name", "array"}
as each map is ready, and last {"kind": "done", "result"}.
"""

from __future__ import annotations

import json
import time

import gradio as gr

from ..backends import Options, wire
from ..errors import BadInput
from .page import as_api, whole
from .streaming import InternalError, run_streamed

STEP_EVERY = 0.25  # seconds between step events of one factor
PRIVATE = {"api_visibility": "private"}


def _graph(text: object):
    from ..graph.parse import parse_json

    if not isinstance(text, str) or len(text) > 100_000:
        raise BadInput("the graph must be sg2im JSON text")
    graphs = parse_json(text)
    if len(graphs) != 1:
        raise BadInput("send one graph")
    return graphs[0]


def _options(text: object) -> Options | None:
    if text in (None, ""):
        return None
    if not isinstance(text, str) or len(text) > 10_000:
        raise BadInput("options must be JSON text")
    try:
        return Options.from_json(json.loads(text))
    except json.JSONDecodeError as e:
        raise BadInput(f"options are not JSON ({e.msg})") from None
    except TypeError as e:
        raise BadInput(f"options: {e}"[:200]) from None


def _events(job, context: str):
    last: dict[str, float] = {}
    try:
        for kind, *rest in run_streamed(job, context):
            if kind == "step":
                factor, i, n = rest
                now = time.perf_counter()
                if i == n or now - last.get(factor, 0.0) >= STEP_EVERY:
                    last[factor] = now
                    yield {"kind": "step", "factor": factor, "step": i, "steps": n}
            elif kind == "map":
                yield {"kind": "map", "name": rest[0], "array": wire.array_to_text(rest[1])}
            else:
                yield {"kind": "done", "result": wire.to_text(wire.to_bytes(rest[0]))}
    except InternalError as e:
        raise gr.Error(f"internal error of the backend ({e}); it is in that server's log") from None


def backend_api(get_backend) -> None:
    """Register the endpoints inside the current gr.Blocks. `get_backend()`: the backend they call."""

    def capabilities() -> dict:
        return get_backend().capabilities.to_json()

    def generate(graph: str, seed, options: str | None):
        g, o = _graph(graph), _options(options)
        s = whole(seed, "the seed", 0, 2**32 - 1)
        yield from _events(lambda on_step, on_map: get_backend().generate(g, s, o, on_step, on_map),
                           f"backend generate(seed={s})")

    def rerun(result: str, segmentation: str | None, what: str, options: str | None):
        r = wire.from_bytes(wire.from_text(result))
        seg = None if segmentation in (None, "") else wire.array_from_text(segmentation, "the segmentation")
        o = _options(options)
        yield from _events(lambda on_step, on_map: get_backend().rerun(r, seg, what, o, on_step, on_map),
                           f"backend rerun({what})")

    def choose(result: str, index):
        r = wire.from_bytes(wire.from_text(result))
        k = whole(index, "the candidate", 0, 10_000)
        yield from _events(lambda on_step, on_map: get_backend().choose(r, k, on_step, on_map),
                           f"backend choose({k})")

    def read(picture: str, seed, options: str | None, inversion: str, steps):
        arr = wire.array_from_text(picture, "the picture")
        o = _options(options)
        s, k = whole(seed, "the seed", 0, 2**32 - 1), whole(steps, "the inversion steps", 1, 100)
        yield from _events(lambda on_step, on_map: get_backend().read(arr, s, o, inversion, k, on_step, on_map),
                           f"backend read({inversion}, {k})")

    def invert(result: str, inversion: str, steps):
        r = wire.from_bytes(wire.from_text(result))
        k = whole(steps, "the inversion steps", 1, 100)
        yield from _events(lambda on_step, on_map: get_backend().invert(r, inversion, k, on_step),
                           f"backend invert({inversion}, {k})")

    def steer(result: str, segmentations: str, scales: str, words: str | None = None):
        from ..reading.concepts import parse_concepts

        r = wire.from_bytes(wire.from_text(result))
        stack = wire.array_from_text(segmentations, "the segmentations")
        if stack.ndim != 3 and stack.size:
            raise BadInput("the segmentations must be a stack (K, S, S)")
        concepts = parse_concepts(words, free_words=True) if words and str(words).strip() else None
        try:
            k = [float(x) for x in str(scales).split(",") if x.strip()]
        except ValueError:
            raise BadInput("the scales must be numbers separated by commas") from None
        yield from _events(lambda on_step, on_map: get_backend().steer(r, list(stack) if stack.size else [], k,
                                                                          on_step, on_map, concepts=concepts),
                           f"backend steer({len(k)} stages)")

    text = gr.Textbox(visible=False)
    text2 = gr.Textbox(visible=False)
    text3 = gr.Textbox(visible=False)
    text4 = gr.Textbox(visible=False)
    text5 = gr.Textbox(visible=False)
    out = gr.JSON(visible=False)
    buttons = {name: gr.Button(visible=False) for name in ("capabilities", "generate", "rerun", "choose", "read",
                                                            "invert", "steer")}
    buttons["capabilities"].click(as_api(capabilities), None, out, api_name="backend_capabilities",
                                  concurrency_limit=None)
    buttons["generate"].click(as_api(generate), [text, text2, text3], out, api_name="backend_generate")
    buttons["rerun"].click(as_api(rerun), [text, text2, text3, text4], out, api_name="backend_rerun")
    buttons["choose"].click(as_api(choose), [text, text2], out, api_name="backend_choose")
    buttons["read"].click(as_api(read), [text, text2, text3, text4, text5], out, api_name="backend_read")
    buttons["invert"].click(as_api(invert), [text, text2, text3], out, api_name="backend_invert")
    buttons["steer"].click(as_api(steer), [text, text2, text3, text4], out, api_name="backend_steer")
