"""How the page meets errors: a person's mistake is one message and the page keeps what it showed.

In Gradio an exception raised from an event marks every output of that event as failed (a red
"Error" badge over each map, table and text box, the one the person typed into included) and
leaves them so after the message has gone. So a page event never raises: `on_page` turns a
mistake (`BadInput`, `gr.Error`) into a warning, and an internal error into a logged record plus a
warning, and the event's outputs are skipped (left as they were). The API's events raise instead,
so that a `gradio_client` caller gets the message as an `AppError`.

`whole` and `number` check what a page or a client sent for a number (`raw_inputs` hands it over
unchecked) with one clear message.

`Page` is the gr.Blocks of the app: what a client sends is checked there before Gradio's own
processing or any handler sees it — as many values as the endpoint takes, text without lone
surrogates or control characters (such text once reached an answer that could not be encoded,
and the stream ended with no message), no file named by a URL (Gradio would fetch it), and what
Gradio's own processing refuses said in one line instead of its generic `{"error": null}`.
"""

from __future__ import annotations

import functools
import html
import inspect
import logging
import re
import reprlib

import gradio as gr

from ..errors import BadInput, one_line
from ..inputs import (
    check_texts,
    number,  # noqa: F401 - the page's checks of numbers
)
from ..inputs import whole_number as whole  # noqa: F401

log = logging.getLogger("sgcond_app.ui")

TITLE = "Not done"
SHORT = 120  # characters of a value the server's log quotes at most


def _short(value: object) -> str:
    """A value as the server's log quotes it, cut short."""
    r = reprlib.Repr()
    r.maxstring = r.maxother = SHORT
    return r.repr(value)


def message_of(e: BaseException, context: str) -> str:
    """What the person reads: their mistake as it was said; an internal error, logged with context."""
    if isinstance(e, BadInput):
        return str(e)
    if isinstance(e, gr.Error):
        return str(e.message)
    log.error("internal error in %s", context, exc_info=e)
    return (f"internal error ({type(e).__name__}); it is in the server's log, and the page keeps "
            "what it showed")


def refusal(message: str) -> gr.Error:
    """The error a client gets: its message, and no traceback in the server's log (a refusal is no
    fault of the server's; an internal error is logged by message_of, with its context)."""
    return gr.Error(message, print_exception=False)


def warn(message: str) -> None:
    """A warning in the page. Gradio draws a message as HTML: a person's words are escaped, and any
    control character they hold shown as an escape."""
    gr.Warning(html.escape(one_line(message), quote=False), title=TITLE)


def info(message: str) -> None:
    """A note in the page (what was done, what to do next), escaped as `warn` is."""
    gr.Info(html.escape(one_line(message), quote=False))


def _name(fn) -> str:
    return getattr(fn, "__name__", None) or getattr(getattr(fn, "func", None), "__name__", "handler")


def _context(fn, args: tuple) -> str:
    """The call as the server's log names it: the handler and its arguments, each cut short."""
    return f"{_name(fn)}({', '.join(_short(a) for a in args)})"


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
        raise refusal(message_of(e, _context(fn, args))) from None
    return _guard(fn, handle)


_SCHEME = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.\-]*:|^\s*//")


def _no_urls(value: object) -> None:
    """A file a client sends is one it uploaded to this server: a path, never a URL to fetch (Gradio
    fetches an http(s) path, looking its host up first) nor a data: URL decoded as it comes."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            path, url = v.get("path"), v.get("url")
            if (isinstance(path, str) and _SCHEME.match(path)) or (isinstance(url, str) and
                                                                   url.lstrip().lower().startswith("data:")):
                raise refusal("a file is sent by uploading it to this server (gradio_client's handle_file "
                               "does that); addresses and data: URLs are not fetched")
            stack.extend(v.values())
        elif isinstance(v, list | tuple):
            stack.extend(v)


def _is_file_object(value: object) -> bool:
    return isinstance(value, dict) and ("path" in value or "meta" in value)


# The components whose values are files (a client sends a file object for them, nothing else does).
_FILE_INPUTS = (gr.File, gr.UploadButton, gr.Image, gr.ImageEditor, gr.Gallery, gr.Audio, gr.Video)


class Page(gr.Blocks):
    """The app's gr.Blocks: every request's values are checked before Gradio processes them, and
    what Gradio's own processing refuses is one clear message (see the module's docstring)."""

    async def preprocess_data(self, block_fn, inputs, state, explicit_call: bool = False):
        name = block_fn.api_name or block_fn.name or "this endpoint"
        wanted = len(block_fn.inputs)
        if not isinstance(inputs, list) or len(inputs) != wanted:
            got = len(inputs) if isinstance(inputs, list) else "no list of"
            raise refusal(f"{name} takes {wanted} value{'s' if wanted != 1 else ''}, {got} were sent")
        try:
            check_texts(inputs, "a value sent", control=block_fn.api_visibility != "private")
        except BadInput as e:
            raise refusal(str(e)) from None
        _no_urls(inputs)
        for k, (block, value) in enumerate(zip(block_fn.inputs, inputs, strict=True)):
            if _is_file_object(value) and not isinstance(block, _FILE_INPUTS) and not block.stateful:
                what = getattr(block, "label", None) or type(block).__name__
                raise refusal(f"{name}: value {k + 1} ({what}) is text or a number, not a file")
        try:
            return await super().preprocess_data(block_fn, inputs, state, explicit_call)
        except gr.Error as e:  # a component's own check ("Value: ... is not in the list of choices") quotes the value
            raise refusal(one_line(str(e.message), 300)) from None
        except Exception as e:
            log.info("refused a request to %s: %s: %s", name, type(e).__name__, _short(str(e)))
            if type(e).__name__ == "InvalidPathError":
                raise refusal("a file is sent by uploading it to this server first (gradio_client's "
                               "handle_file does that); this one was not uploaded here") from None
            raise refusal(f"{name}: a value sent is not of the kind this endpoint takes "
                           f"({type(e.__cause__ or e).__name__}); see the API page for each value's type") from None
