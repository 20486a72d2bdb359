"""The bridge between a backend's callbacks and a Gradio generator: the work runs in a thread, its
steps and maps come back through a queue, and when the listener goes away (Stop, a closed page, a
client that cancelled) the work stops at its next step."""

from __future__ import annotations

import logging
import queue
import threading

from ..errors import BadInput

log = logging.getLogger("sgcond_app.ui")


class Stopped(Exception):
    """The person pressed Stop, or nobody listens any more."""


class InternalError(Exception):
    """The work failed for a reason that is not the person's: logged with its context."""


def run_streamed(job, context: str, requested: threading.Event | None = None):
    """Run job(on_step, on_map) in a thread. Yields ("step", factor, i, n) after each denoising step,
    ("map", name, array) as each map is ready, and finally ("done", result). `requested` set (Stop)
    or the generator closed: the job stops at its next step. A person's mistake (BadInput) and
    Stopped are raised as they are; anything else is logged with `context` and raised as
    InternalError (naming only the exception's type)."""
    q: queue.Queue = queue.Queue()
    stop = threading.Event()
    ended = False

    def on_step(factor: str, i: int, n: int) -> None:
        if stop.is_set() or (requested is not None and requested.is_set()):
            raise Stopped()
        q.put(("step", factor, i, n))

    def work() -> None:
        try:
            q.put(("done", job(on_step, lambda name, arr: q.put(("map", name, arr)))))
        except BaseException as e:  # handed to the listener's thread
            q.put(("error", e))

    threading.Thread(target=work, daemon=True, name="sgcond-work").start()
    try:
        while True:
            kind, *rest = q.get()
            if kind in ("step", "map"):
                yield (kind, *rest)
            elif kind == "done":
                ended = True
                yield ("done", rest[0])
                return
            else:
                ended = True
                error = rest[0]
                if isinstance(error, Stopped):
                    log.info("stopped by Stop: %s", context)
                    raise error
                if isinstance(error, BadInput):
                    raise error
                log.error("the backend failed on %s", context, exc_info=error)
                raise InternalError(type(error).__name__)
    finally:
        if not ended:  # Stop, or the listener went away: the work stops at its next step
            log.info("stopped: %s", context)
        stop.set()
