"""What the studio's handlers share, and what each session keeps.

A session's graph, result and edits live in its own `gr.State` (an `editing.session.Session`, None
before its first result): every handler takes it as an input and returns the new one. What the
sessions of one page share is the `Studio`, made by the app factory (`demo.create_demo`) and handed
to each handler by the wiring (`functools.partial(handler, studio)`): the backends the page offers,
its limits, and, by Gradio's session hash, the run that Stop ends and the unfamiliar picture a page
was already warned about. Nothing here is a module global: two pages in one process (tests, a
bench) each have their own. The one thing a process shares is the default tiny backend
(`default_backend`), so that it loads its models once.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import gradio as gr

from ..editing.session import Session
from ..errors import BadInput
from ..graph.vocabularies import load as load_vocabulary
from .config import StudioConfig

MAX_ASKED = 1000  # sessions remembered as warned about an unfamiliar picture; the oldest go first


@functools.cache
def default_backend():
    """The tiny backend, made once per process (its models load on first use)."""
    from ..backends import get_backend

    return get_backend()


def need(session: Session | None) -> Session:
    """The session's result, or one message: there is none yet."""
    if session is None:
        raise BadInput("generate a scene first (or read a picture)")
    return session


def session_key(request: gr.Request | None) -> str:
    """The session hash of a page's request ("" for a direct call, which has no session)."""
    return getattr(request, "session_hash", None) or ""


class Studio:
    """The page's backends and limits, and the few things kept across events by session.

    `backend`: what the handlers call (None: the tiny one, loaded on first use and kept for the
    process); `name`: its name in the page; `config`: the limits (`StudioConfig`, read from the
    environment by `app.py`); `others`: more backends the page offers in its Backend choice, by
    name, each a backend or a function that loads one (called on the first choice; a BadInput it
    raises is said in one line and the page stays on what it had)."""

    def __init__(self, backend=None, config: StudioConfig | None = None, *, name: str = "tiny",
                 others: dict | None = None) -> None:
        self.config = config or StudioConfig()
        self.name = name
        self._given = backend
        self._others = {k: v for k, v in (others or {}).items() if k != name}
        self._loaded: dict[str, object] = {}
        # One backend loads at a time (Stable Diffusion's first load downloads gigabytes).
        self.loading = threading.RLock()
        self._lock = threading.Lock()
        # Stop is ours, not Gradio's `cancels` (a cancelled event leaves every one of its outputs marked
        # "Error"): the Stop of each session's run in progress, by session hash.
        self._running: dict[str, threading.Event] = {}
        # Pages told their picture is unfamiliar, and of which picture: that picture read again is read anyway.
        self._asked: OrderedDict[str, str] = OrderedDict()

    # --- the backends ---------------------------------------------------------------------------------

    def names(self) -> list[str]:
        """The page's backend choice: the configured one first."""
        return [self.name, *self._others]

    def backend(self, name: str | None = None):
        """The backend the page calls `name` (None or "": the configured one), loaded on first use."""
        if name and name != self.name:
            return self._other(name)
        if self._given is not None:
            return self._given
        with self._lock:  # two first requests at once make one
            return default_backend()

    def _other(self, name: str):
        if name not in self._others:
            raise BadInput(f"this page offers the {' and '.join(self.names())} backend(s), not {name!r}"[:300])
        with self.loading:
            if name not in self._loaded:
                make = self._others[name]
                self._loaded[name] = make if hasattr(make, "generate") else make()
            return self._loaded[name]

    def loaded(self, name: str | None) -> bool:
        """Whether asking for the backend `name` loads nothing (the configured one, or one chosen before)."""
        return not name or name == self.name or name in self._loaded

    def made(self, session: Session):
        """The backend that made the session's result: its edits, reruns and inversions go back to it."""
        return self.backend(session.backend)

    def max_samples(self) -> int:
        """The candidates a request may ask for: the app's limit, within what the backend can do (the
        app's alone while a remote backend cannot be reached: the page still comes up)."""
        try:
            return min(self.config.max_samples, self.backend().capabilities.max_samples)
        except BadInput:
            return self.config.max_samples

    def warm_up(self) -> None:
        """Load the models and run one small generation, so that the first click is as fast as the rest."""
        self.backend().warm_up()

    def drawn_vocabulary(self, choice: str | None = None):
        """The vocabulary the backend `choice` (default the configured one) draws in; None (the tiny
        world's) where it cannot be said (a remote backend out of reach)."""
        try:
            return load_vocabulary(self.backend(choice).capabilities.draws_in)
        except BadInput:
            return None

    def prompts(self, name: str | None) -> bool:
        """Whether the backend `name` is told words (False for one not loaded yet: this loads nothing)."""
        if not self.loaded(name):
            return False
        try:
            return self.backend(name).capabilities.prompts
        except BadInput:
            return False

    # --- by session -----------------------------------------------------------------------------------

    @contextmanager
    def running(self, request: gr.Request | None) -> Iterator[threading.Event]:
        """The Stop of the session's run while it runs (a direct call, without a session, has its own)."""
        key, flag = session_key(request), threading.Event()
        if key:
            with self._lock:
                self._running[key] = flag
        try:
            yield flag
        finally:
            with self._lock:
                if key and self._running.get(key) is flag:
                    del self._running[key]

    def stop(self, request: gr.Request | None) -> bool:
        """Stop the session's run at its next step; False when nothing runs."""
        with self._lock:
            flag = self._running.get(session_key(request))
        if flag is None:
            return False
        flag.set()
        return True

    def asked_before(self, request: gr.Request | None, digest: str) -> bool:
        """Whether this page was warned about this very picture last; if not, it is now remembered so."""
        key = session_key(request)
        with self._lock:
            if self._asked.get(key) == digest:
                return True
            self._asked[key] = digest
            while len(self._asked) > MAX_ASKED:
                self._asked.popitem(last=False)
            return False

    def forget_asked(self, request: gr.Request | None) -> None:
        with self._lock:
            self._asked.pop(session_key(request), None)
