"""The Gradio page: components and handlers. Nothing here imports torch; models sit behind backends."""

from __future__ import annotations

from .demo import build_demo, create_demo

__all__ = ("build_demo", "create_demo", "serve_locally")


def serve_locally(warm: bool = False, backend=None, config=None, **page):
    """The page served from this process on a free port of 127.0.0.1, queued and styled as `app.py`
    serves it (for tests, benches and screenshots). warm: load the models and run one small
    generation first, as app.py does beside the page. `backend`, `config`, `page` (name, others): as
    `create_demo`'s.
    -> (demo, url); stop it with demo.close()."""
    import socket

    from . import body_limit, files
    from .layout import CSS
    from .state import Studio

    studio = Studio(backend, config, **page)
    demo = build_demo(studio)
    if warm:
        studio.warm_up()
    demo.queue(default_concurrency_limit=2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, css=CSS,
                allowed_paths=files.allowed_paths(), app_kwargs=body_limit.app_kwargs())
    return demo, f"http://127.0.0.1:{port}/"
