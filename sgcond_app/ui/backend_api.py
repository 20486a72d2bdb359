"""The backend's own API on a running app, for another app to use as its backend
(`app.py --backend http://HOST:PORT/`, `backends/remote.py`).

Stateless: a result travels as text (`backends.wire`: an .npz in base64) with each call, so the
serving side keeps nothing of a client's, and the person's graph, edits and results stay in the
page that called. The generate, rerun and choose endpoints stream JSON events as the work goes:
{"kind": "step", "factor", "step", "steps"} a few times a second, {"kind": "map", "name", "array"}
as each map is ready, and last {"kind": "done", "result"}.

The endpoints are off unless the instance is started to serve as a backend (`app.py
--serve-backend`), and then every call must carry the shared token (`SGCOND_BACKEND_TOKEN`, set on
both sides) in the `X-SGCond-Token` header: a call without it is refused before any of its payload
is decoded, since a result is an .npz that a stranger could fill with arrays to unpack.
"""

from __future__ import annotations

import hmac
import math
import time

import gradio as gr

from ..backends import Options, wire
from ..backends.wire import TOKEN_ENV, TOKEN_HEADER
from ..errors import BadInput
from ..inputs import load_json
from .page import as_api, whole
from .streaming import InternalError, run_streamed

STEP_EVERY = 0.25  # seconds between step events of one factor
MAX_STAGES = 16  # a concept edit's stages (each a segmentation and a scale)


def _check_token(request: gr.Request | None, token: str) -> None:
    sent = "" if request is None else (request.headers.get(TOKEN_HEADER) or "")
    if not hmac.compare_digest(sent.encode("utf-8", "replace"), token.encode()):
        raise BadInput(f"this backend needs its token: set {TOKEN_ENV} on the calling page to the one this "
                       "instance was started with")


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
    data = load_json(text, "the options", max_chars=10_000)
    try:
        return Options.from_json(data)
    except (TypeError, ValueError, AttributeError) as e:
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


def _like(seg, like, what: str):
    """A map sent for a result's: of its shape and dtype, or one message."""
    if seg.shape != like.shape or seg.dtype != like.dtype:
        raise BadInput(f"{what} must be {like.shape[1]}x{like.shape[0]} {like.dtype}, as the result's map, "
                       f"not {seg.shape} {seg.dtype}"[:200])
    return seg


def backend_api(get_backend, token: str) -> None:
    """Register the endpoints inside the current gr.Blocks. `get_backend()`: the backend they call;
    `token`: what each call must send in its X-SGCond-Token header (`wire.backend_token()`)."""

    def capabilities(request: gr.Request) -> dict:
        _check_token(request, token)
        return get_backend().capabilities.to_json()

    def generate(graph: str, seed, options: str | None, request: gr.Request):
        _check_token(request, token)
        g, o = _graph(graph), _options(options)
        s = whole(seed, "the seed", 0, 2**32 - 1)
        yield from _events(lambda on_step, on_map: get_backend().generate(g, s, o, on_step, on_map),
                           f"backend generate(seed={s})")

    def rerun(result: str, segmentation: str | None, what: str, options: str | None, depth: str | None,
              sketch: str | None, request: gr.Request):
        _check_token(request, token)
        r = wire.from_bytes(wire.from_text(result))
        seg = None if segmentation in (None, "") else _like(wire.array_from_text(segmentation, "the segmentation"),
                                                              r.segmentation, "the segmentation")
        o = _options(options)
        edited = {name: _like(wire.array_from_text(text, f"the {name}"), like, f"the edited {name}")
                  for name, text, like in (("depth", depth, r.depth), ("sketch", sketch, r.sketch))
                  if text not in (None, "")}
        yield from _events(lambda on_step, on_map: get_backend().rerun(r, seg, what, o, on_step, on_map, **edited),
                           f"backend rerun({what}{', edited ' + ' and '.join(edited) if edited else ''})")

    def choose(result: str, index, request: gr.Request):
        _check_token(request, token)
        r = wire.from_bytes(wire.from_text(result))
        k = whole(index, "the candidate", 0, 10_000)
        yield from _events(lambda on_step, on_map: get_backend().choose(r, k, on_step, on_map),
                           f"backend choose({k})")

    def read(picture: str, seed, options: str | None, inversion: str, steps, request: gr.Request):
        _check_token(request, token)
        arr = wire.array_from_text(picture, "the picture")
        if arr.dtype != "uint8" or arr.ndim != 3 or arr.shape[2] not in (3, 4) or max(arr.shape) > wire.MAX_MAP_SIDE:
            raise BadInput(f"the picture must be (H, W, 3) uint8 of at most {wire.MAX_MAP_SIDE} pixels a side "
                           "(a page's remote backend sends it so)")
        o = _options(options)
        s, k = whole(seed, "the seed", 0, 2**32 - 1), whole(steps, "the inversion steps", 1, 100)
        yield from _events(lambda on_step, on_map: get_backend().read(arr, s, o, inversion, k, on_step, on_map),
                           f"backend read({inversion}, {k})")

    def invert(result: str, inversion: str, steps, request: gr.Request):
        _check_token(request, token)
        r = wire.from_bytes(wire.from_text(result))
        k = whole(steps, "the inversion steps", 1, 100)
        yield from _events(lambda on_step, on_map: get_backend().invert(r, inversion, k, on_step),
                           f"backend invert({inversion}, {k})")

    def steer(result: str, segmentations: str, scales: str, words: str | None, request: gr.Request):
        from ..reading.concepts import parse_concepts

        _check_token(request, token)
        r = wire.from_bytes(wire.from_text(result))
        stack = wire.array_from_text(segmentations, "the segmentations")
        if stack.size and (stack.ndim != 3 or len(stack) > MAX_STAGES):
            raise BadInput(f"the segmentations must be a stack (K, S, S) of at most {MAX_STAGES}")
        for seg in stack if stack.size else ():
            _like(seg, r.segmentation, "each segmentation")
        concepts = parse_concepts(words, free_words=True) if words and str(words).strip() else None
        if not isinstance(scales, str) or len(scales) > 1000:
            raise BadInput("the scales must be text: numbers separated by commas")
        try:
            k = [float(x) for x in scales.split(",") if x.strip()]
        except ValueError:
            raise BadInput("the scales must be numbers separated by commas") from None
        if len(k) > MAX_STAGES or not all(math.isfinite(x) for x in k):
            raise BadInput(f"the scales: at most {MAX_STAGES} finite numbers")
        yield from _events(lambda on_step, on_map: get_backend().steer(r, list(stack) if stack.size else [], k,
                                                                          on_step, on_map, concepts=concepts),
                           f"backend steer({len(k)} stages)")

    text = gr.Textbox(visible=False)
    text2 = gr.Textbox(visible=False)
    text3 = gr.Textbox(visible=False)
    text4 = gr.Textbox(visible=False)
    text5 = gr.Textbox(visible=False)
    text6 = gr.Textbox(visible=False)
    out = gr.JSON(visible=False)
    buttons = {name: gr.Button(visible=False) for name in ("capabilities", "generate", "rerun", "choose", "read",
                                                            "invert", "steer")}
    buttons["capabilities"].click(as_api(capabilities), None, out, api_name="backend_capabilities",
                                  concurrency_limit=None)
    buttons["generate"].click(as_api(generate), [text, text2, text3], out, api_name="backend_generate")
    buttons["rerun"].click(as_api(rerun), [text, text2, text3, text4, text5, text6], out, api_name="backend_rerun")
    buttons["choose"].click(as_api(choose), [text, text2], out, api_name="backend_choose")
    buttons["read"].click(as_api(read), [text, text2, text3, text4, text5], out, api_name="backend_read")
    buttons["invert"].click(as_api(invert), [text, text2, text3], out, api_name="backend_invert")
    buttons["steer"].click(as_api(steer), [text, text2, text3, text4], out, api_name="backend_steer")
