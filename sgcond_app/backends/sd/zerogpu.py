"""The sd backend on a ZeroGPU Space (`SPACES_ZERO_GPU` set by Hugging Face, the `spaces` package).

There CUDA exists only inside a function decorated with `spaces.GPU`, and such a function runs in a
worker process forked from the app, which receives the function's arguments pickled and sends its
result back pickled. So each of the backend's public methods (`on_gpu`) goes through one decorated
function, `_run`, that takes the backend's number (the worker, forked from the app, holds the
backend and its loaded parts) and the method's plain arguments: graphs, results, options, arrays.
The callbacks stay behind: they belong to the page's threads and do not pickle. On ZeroGPU the maps
therefore arrive with the result rather than one by one, and Stop takes effect when the call ends.

Outside ZeroGPU nothing changes (`spaces.GPU` is never called, the methods run as written).
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import os
import weakref

from ...errors import BadInput

ENV = "SPACES_ZERO_GPU"
SECONDS_ENV = "SGCOND_SD_GPU_SECONDS"
# The longest a call may hold the GPU. Public figures for SD 1.5 + ControlNet at 512 px and 20
# steps are about 2 s on an A100 (README); a read with its inversion and a concept edit are a few
# times that. ZeroGPU queues calls that ask for less sooner.
DEFAULT_SECONDS = 60
CALLBACKS = ("on_step", "on_map")

_backends: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_inside = contextvars.ContextVar("sgcond_zerogpu_inside", default=False)
_decorated = None


def on_space() -> bool:
    """On a ZeroGPU Space (as `spaces` reads its setting)."""
    return os.environ.get(ENV, "").strip().lower() in ("1", "t", "true")


def active() -> bool:
    """On a ZeroGPU Space, and not already inside the GPU function."""
    return on_space() and not _inside.get()


def seconds() -> int:
    raw = os.environ.get(SECONDS_ENV, str(DEFAULT_SECONDS)).strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 600:
        raise BadInput(f"{SECONDS_ENV} must be a whole number of seconds from 1 to 600, not {raw!r}"[:200])
    return int(raw)


def register(backend) -> int:
    """Keep the backend where the forked worker will find it (call before the first GPU call)."""
    _backends[id(backend)] = backend
    return id(backend)


def _run(key: int, name: str, args: tuple, kwargs: dict):
    """In the worker: the backend's method itself."""
    token = _inside.set(True)
    try:
        return getattr(_backends[key], name)(*args, **kwargs)
    finally:
        _inside.reset(token)


def _gpu():
    global _decorated
    if _decorated is None:
        try:
            import spaces
        except ImportError:
            raise BadInput(f"{ENV} is set, but the `spaces` package is not installed (pip install spaces): "
                           "the tiny backend still serves") from None
        _decorated = spaces.GPU(duration=seconds())(_run)
    return _decorated


def on_gpu(method):
    """A method of the sd backend that runs inside `spaces.GPU` on ZeroGPU (without its callbacks)."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if not active():
            return method(self, *args, **kwargs)
        bound = signature.bind(self, *args, **kwargs)
        for name in CALLBACKS:
            if name in bound.arguments:
                bound.arguments[name] = None
        return _gpu()(register(self), method.__name__, bound.args[1:], bound.kwargs)

    return wrapper
