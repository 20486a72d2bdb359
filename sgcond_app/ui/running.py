"""A run of the chain as the page sees it: the maps shown as each factor finishes, a progress bar
that follows the denoising steps, Stop, and a failure or a Stop after some maps were shown putting
back what the page showed before. Every handler that runs the chain (generate, choose, rerun, read,
invert, the graph and concept edits) streams through `stream_result`."""

from __future__ import annotations

import hashlib
import threading
import time

import gradio as gr
import numpy as np

from .. import pictures
from ..editing.session import Session
from .page import info, warn
from .result_views import N_OUTPUTS, outputs, up
from .state import Studio
from .streaming import InternalError, Stopped, run_streamed

PROGRESS_EVERY = 0.4  # seconds between progress updates within a factor
UNFAMILIAR = ", and its relations are not marked as holding or failing."
ASK_UNFAMILIAR = ". Nothing was read; read it again to read it anyway."


def unfamiliar(judged: dict, then: str) -> str:
    """What the page says of a picture the reading model does not know (`then`: UNFAMILIAR or ASK_UNFAMILIAR)."""
    from ..reading.familiar import unlike

    return f"This picture is {unlike(judged)}: its maps and graph are not to be trusted{then}"


def digest(picture: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(picture).tobytes()).hexdigest()


def _with_progress(job, steps: dict, progress, context: str, requested: threading.Event | None = None):
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


def stream_result(studio: Studio, job, steps: dict, progress, make_session, display: bool, context: str,
                  before: Session | None, request: gr.Request | None = None, vocabulary=None):
    """The outputs (`result_views.outputs`) as the maps arrive, then the whole result.
    job(on_step, on_map) runs the backend; make_session(result) is the session it leaves. Should the
    chain fail, or the person press Stop, after some maps were shown, the page gets back what
    `before` showed, so that maps and session agree."""
    slot = {"segmentation": 0, "depth": 1, "sketch": 2}
    shown_any = False
    with studio.running(request) as flag:
        try:
            for kind, *rest in _with_progress(job, steps, progress, context, flag):
                if kind == "map":
                    name, arr = rest
                    out = [gr.skip()] * N_OUTPUTS
                    if name == "segmentation":
                        # A new segmentation: what followed the old one is cleared until its own arrives.
                        out[2:5] = [None, None, None]
                    out[slot[name]] = up(pictures.map_rgb(name, arr, vocabulary), display)
                    shown_any = True
                    yield tuple(out)
                else:
                    for line in rest[0].notes:
                        warn(line)
                    if not rest[0].trusted:
                        warn(unfamiliar(rest[0].familiarity, UNFAMILIAR))
                    yield outputs(make_session(rest[0]), display)
        except Stopped:
            if display and shown_any:
                yield (*outputs(before, display)[:-1], gr.skip())
            info("Stopped. The page shows the last finished result." if before is not None else "Stopped.")
        except Exception:
            if display and shown_any:
                yield (*outputs(before, display)[:-1], gr.skip())
            raise
