"""How the page meets errors: a person's mistake is one message and the page keeps what it showed.

In Gradio an exception raised from an event marks every output of that event as failed (a red
"Error" badge over each map, table and text box, the one the person typed into included) and
leaves them so after the message has gone. So a page event never raises: `on_page` turns a
mistake (`BadInput`, `gr.Error`) into a warning, and an internal error into a logged record plus a
warning, and the event's outputs are skipped (left as they were). The API's events raise instead,
so that a `gradio_client` caller gets the message as an `AppError`.

`whole` and `number` check what a page or a client sent for a number (`raw_inputs` hands it over
unchecked) with one clear message.
"""

from __future__ import annotations

import functools
import html
import inspect
import logging
import reprlib

import gradio as gr

from ..errors import BadInput
from ..inputs import number  # noqa: F401 - the page's checks of numbers
from ..inputs import whole_number as whole  # noqa: F401

log = logging.getLogger("sgcond_app.ui")

TITLE = "Not done"
_short = reprlib.Repr()
_short.maxstring = _short.maxother = 120


def message_of(e: BaseException, context: str) -> str:
    """What the person reads: their mistake as it was said; an internal error, logged with context."""
    if isinstance(e, BadInput):
        return str(e)
    if isinstance(e, gr.Error):
        return str(e.message)
    log.error("internal error in %s", context, exc_info=e)
    return (f"internal error ({type(e).__name__}); it is in the server's log, and the page keeps "
            "what it showed")


def warn(message: str) -> None:
    """A warning in the page. Gradio draws a message as HTML: a person's words are escaped."""
    gr.Warning(html.escape(message, quote=False), title=TITLE)


def info(message: str) -> None:
    """A note in the page (what was done, what to do next), escaped as `warn` is."""
    gr.Info(html.escape(message, quote=False))


def _name(fn) -> str:
    return getattr(fn, "__name__", None) or getattr(getattr(fn, "func", None), "__name__", "handler")


def _context(fn, args: tuple) -> str:
    """The call as the server's log names it: the handler and its arguments, each cut short."""
    return f"{_name(fn)}({', '.join(_short.repr(a) for a in args)})"


def _guard(fn, handle):
    """fn (a function or a generator function, as Gradio tells them apart) with any exception handed
    to handle(e, args): what handle returns is the answer instead (a generator yields it once)."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def stream(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as e:  # GeneratorExit (Stop) is not an Exception: it passes
                yield handle(e, args)
        return stream

    @functools.wraps(fn)
    def plain(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            return handle(e, args)
    return plain


def on_page(n_outputs: int):
    """Decorate a page event's handler (a function or a generator) with n_outputs outputs: any
    exception it raises becomes one message, and every output keeps what it showed."""
    keep = gr.skip() if n_outputs == 1 else tuple(gr.skip() for _ in range(n_outputs))

    def wrap(fn):
        def handle(e: Exception, args: tuple):
            warn(message_of(e, _context(fn, args)))
            return keep
        return _guard(fn, handle)

    return wrap


def as_api(fn):
    """Decorate an API event's handler: a person's mistake raises gr.Error with its message (the
    client's AppError); anything else is logged and raised as an internal error."""
    def handle(e: Exception, args: tuple):
        if isinstance(e, gr.Error):
            raise e
        raise gr.Error(message_of(e, _context(fn, args))) from None
    return _guard(fn, handle)


