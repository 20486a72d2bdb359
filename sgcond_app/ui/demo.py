"""The whole page, made by the app factory `create_demo`: the Studio tab, the Tiny world and Parse a
graph tabs, and, when asked, the backend's own API. The factory makes the page's one `Studio` (its
backends and limits) and hands it to the studio's layout and wiring; nothing else is shared."""

from __future__ import annotations

import gradio as gr

from . import files
from .config import StudioConfig
from .layout import studio_tab
from .page import Page
from .sample_page import parse_tab, tiny_world_tab
from .state import Studio
from .wiring import wire


def create_demo(backend=None, config: StudioConfig | None = None, *, name: str = "tiny", others: dict | None = None,
                backend_token: str | None = None) -> gr.Blocks:
    """The whole page; the caller queues and launches it. `backend`: what the studio calls (default
    the tiny one, loaded on first use; see `sgcond_app.backends`), `name` its name in the page;
    `config`: the studio's limits (`ui.config.StudioConfig`, read from the environment by `app.py`);
    `others`: more backends for the page's Backend choice (`state.Studio`); `backend_token`:
    serve the backend's own API (`ui/backend_api.py`) to callers that send this token (None: it is
    not served)."""
    return build_demo(Studio(backend, config, name=name, others=others), backend_token)


def build_demo(studio: Studio, backend_token: str | None = None) -> gr.Blocks:
    """The whole page around a `Studio` made already (`create_demo` makes one; `serve_locally` warms
    it first)."""
    # Gradio keeps every upload and every output (each map of each request is a PNG) in its cache
    # and by default deletes nothing until the server stops. The cache is this process's own
    # (files.gradio_cache: in the app's temporary root, removed at exit, unless GRADIO_TEMP_DIR names
    # one). delete_cache=(600, 3600): every 10 min Gradio deletes the files of this page older than
    # 1 h (files.PRUNE_EVERY_S, files.MAX_AGE_S; SGCOND_TMP_EVERY, SGCOND_TMP_MAX_AGE), long enough
    # to download what the page shows, so the cache holds about an hour of traffic. Gradio misses
    # the outputs of components a handler updated (gr.skip, as the streamed maps do) and leaves the
    # emptied folders: files.start_pruning removes those on the same clock.
    files.gradio_cache()
    with Page(title="SGCond Studio", delete_cache=files.delete_cache()) as demo:
        gr.Markdown("# SGCond Studio\nScene graphs to images through a chain of conditions.")
        with gr.Tab("Studio"):
            wire(studio, studio_tab(studio))
        with gr.Tab("Tiny world"):
            tiny_world_tab(demo)
        with gr.Tab("Parse a graph"):
            parse_tab()
        if backend_token is not None:
            from .backend_api import backend_api

            backend_api(studio.backend, backend_token)
    files.start_pruning(demo)
    return demo
