"""SGCond Studio's entry point: `python app.py` locally, and the `app_file` of a Hugging Face Space.

Settings from the environment (flags win): SGCOND_HOST, SGCOND_PORT, SGCOND_CONCURRENCY (requests
that run at once per action, default 2), SGCOND_QUEUE_SIZE (requests that may wait, default 64),
SGCOND_MAX_SAMPLES (SBPC candidates a request may ask for, default 16), SGCOND_BACKEND (--backend;
default tiny), SGCOND_WEIGHTS (--weights), SGCOND_BACKENDS (--backends: the page's Backend choice),
SGCOND_REPLICAS (--replicas), RAY_ADDRESS (--ray-address), SGCOND_REPLICA_CPUS and
SGCOND_REPLICA_GPUS (each replica's share), SGCOND_SERVE_BACKEND (1: --serve-backend),
SGCOND_BACKEND_TOKEN (the secret a page calling this instance as its backend sends, and that a page
with --backend http://... sends to it), SGCOND_WARM_UP (1: load the models and run one small
generation before the first click; default 1), SGCOND_SESSIONS (sessions whose result and edits
the server keeps, the least recently used going first; default 300).
Temporary files (sgcond_app/ui/files.py): SGCOND_TMP (where; default the system's temporary
folder), SGCOND_TMP_MAX_AGE (seconds they live at least, default 3600), SGCOND_TMP_EVERY (seconds
between prunings, default 600).
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import signal
import threading

from sgcond_app.backends.sd.zerogpu import on_space  # imports neither torch nor diffusers

if on_space():
    # A ZeroGPU Space: `spaces` patches torch's CUDA before torch is imported (sd/zerogpu.py).
    import spaces  # noqa: F401

from sgcond_app.ui import body_limit, create_demo, files  # noqa: E402
from sgcond_app.ui.config import StudioConfig
from sgcond_app.ui.layout import CSS


def _positive(parser: argparse.ArgumentParser, name: str, default: str) -> int:
    raw = os.environ.get(name, default)
    if not raw.isdigit() or int(raw) < 1:
        parser.error(f"{name} must be a positive whole number, not {raw!r}")
    return int(raw)


def _warm_up(backend) -> None:
    try:
        backend.warm_up()
    except Exception:  # the page still serves; the first request loads the models and says what fails
        logging.getLogger("sgcond_app").exception("warm-up failed")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def settings(argv: list[str] | None = None) -> argparse.Namespace:
    """The flags and the environment, checked: host, port, share, concurrency, queue_size, sessions."""
    parser = argparse.ArgumentParser(description="Run the SGCond Studio web app.")
    # A Hugging Face Space tells Gradio where to listen through GRADIO_SERVER_NAME/PORT: honour them.
    env = os.environ
    parser.add_argument("--host", default=env.get("SGCOND_HOST") or env.get("GRADIO_SERVER_NAME") or "127.0.0.1",
                        help="address to listen on (env SGCOND_HOST or GRADIO_SERVER_NAME; default 127.0.0.1)")
    # String defaults go through `type` too, so a bad SGCOND_PORT gets argparse's one-line error.
    parser.add_argument("--port", type=int, default=env.get("SGCOND_PORT") or env.get("GRADIO_SERVER_PORT") or "7860",
                        help="port to listen on (env SGCOND_PORT or GRADIO_SERVER_PORT; default 7860)")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    parser.add_argument("--backend", default=env.get("SGCOND_BACKEND") or "tiny",
                        help="what makes the pictures (env SGCOND_BACKEND; default tiny: the repository's own "
                        "models in this process; http://HOST:PORT/: another running instance; "
                        "sd: Stable Diffusion 1.5 + ControlNets "
                        "on a GPU, the tiny backend where it cannot load)")
    parser.add_argument("--backends", default=env.get("SGCOND_BACKENDS"),
                        help="the page's Backend choice: comma-separated names (tiny, sd) offered beside "
                        "--backend, each loaded when first chosen (env SGCOND_BACKENDS; default: tiny beside "
                        "sd, and sd beside tiny where a CUDA GPU or ZeroGPU is present)")
    parser.add_argument("--weights", default=env.get("SGCOND_WEIGHTS") or None,
                        help="the tiny backend's weights folder (encoder/, factors/, segmenter/; env "
                        "SGCOND_WEIGHTS; default the shipped weights/): one trained on a dataset draws and "
                        "reads that dataset's classes, and the page says which")
    parser.add_argument("--replicas", default=env.get("SGCOND_REPLICAS") or None, metavar="K|MIN-MAX",
                        help="serve the backend from K replicas on Ray Serve (MIN-MAX: they autoscale between "
                        "the two), on a local Ray with this machine's cores unless --ray-address joins a cluster "
                        "(env SGCOND_REPLICAS; each replica's CPUs and GPUs: SGCOND_REPLICA_CPUS, default 1, and "
                        "SGCOND_REPLICA_GPUS, default 0, fractions allowed). Default: no Ray, the work in this "
                        "process")
    parser.add_argument("--ray-address", default=env.get("RAY_ADDRESS") or None,
                        help="a running Ray cluster to deploy the replicas on (env RAY_ADDRESS; with it, "
                        "--replicas defaults to 1)")
    parser.add_argument("--serve-backend", action="store_true",
                        default=env.get("SGCOND_SERVE_BACKEND", "") not in ("", "0"),
                        help="also serve this instance's backend to other pages (their --backend "
                        "http://HOST:PORT/), to callers that send SGCOND_BACKEND_TOKEN (env SGCOND_SERVE_BACKEND=1)")
    args = parser.parse_args(argv)
    args.backend_token = None
    if args.serve_backend:
        from sgcond_app.backends.wire import backend_token
        from sgcond_app.errors import BadInput

        try:
            args.backend_token = backend_token(env)
        except BadInput as e:
            parser.error(f"--serve-backend: {e}")
    offered = [n.strip() for n in (args.backends or "").split(",") if n.strip()]
    unknown = sorted(set(offered) - set(PAGE_BACKENDS))
    if unknown:
        parser.error(f"--backends: {unknown[0]!r} is not one of {', '.join(PAGE_BACKENDS)}")
    args.backends = offered if args.backends is not None else None
    if args.weights is not None:
        if args.backend.strip() != "tiny":
            parser.error("--weights is the tiny backend's: it goes without --backend")
        if not os.path.isdir(args.weights):
            parser.error(f"--weights: {args.weights} is not a folder")
    args.serve = None
    if args.replicas is not None or args.ray_address:
        from sgcond_app.backends.serve import ServeSettings
        from sgcond_app.errors import BadInput

        if args.backend.strip() not in ("tiny", "sd"):
            parser.error("--replicas serves the tiny or the sd backend on Ray Serve, not another instance")
        try:
            args.serve = ServeSettings.parse(args.replicas or "1", env, backend=args.backend.strip(),
                                             weights=args.weights)
        except BadInput as e:
            parser.error(str(e))
    # With replicas, the page lets two requests a replica (at most) run at once unless
    # SGCOND_CONCURRENCY says otherwise; Ray queues what the replicas cannot take yet.
    replicas = args.serve.max_replicas if args.serve is not None else 1
    args.concurrency = _positive(parser, "SGCOND_CONCURRENCY", str(2 * replicas))
    args.queue_size = _positive(parser, "SGCOND_QUEUE_SIZE", "64")
    args.sessions = _positive(parser, "SGCOND_SESSIONS", "300")
    args.studio = StudioConfig.from_env(env)
    return args


PAGE_BACKENDS = ("tiny", "sd")
MAX_UPLOAD = "24mb"


def _loader(name: str):
    """What loads a backend the page offers when a person first chooses it (a BadInput is said in
    the page in one line)."""
    from sgcond_app.backends import get_backend

    if name == "sd":
        from sgcond_app.backends.sd import SDBackend

        return SDBackend.from_pretrained
    return lambda: get_backend(name)


def _gpu_at_hand() -> bool:
    if on_space():
        return True
    import torch

    return torch.cuda.is_available()


def page_backends(name: str, offered: list[str] | None, local: bool = True) -> dict:
    """The page's other backends, by name: those --backends names, or by default tiny beside sd and
    sd beside tiny where there is a GPU. `local` False (Ray Serve replicas, another instance): none by default,
    and torch is not imported to look for a GPU (the page process stays without it)."""
    if offered is None:
        offered = ["tiny"] if name == "sd" else (["sd"] if name == "tiny" and local and _gpu_at_hand() else [])
    return {n: _loader(n) for n in offered if n != name}


def _sd_or_tiny():
    """The sd backend, loaded now; without a GPU, the weights or the Hub, one line says so and the
    page serves the tiny backend."""
    from sgcond_app.backends import get_backend
    from sgcond_app.backends.sd import SDBackend
    from sgcond_app.errors import BadInput

    try:
        return SDBackend.from_pretrained()
    except BadInput as e:
        logging.getLogger("sgcond").warning("the sd backend is not available (%s); serving the tiny backend", e)
        return get_backend("tiny")


def main(argv: list[str] | None = None) -> None:
    args = settings(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from sgcond_app.backends import get_backend
    from sgcond_app.errors import BadInput

    try:
        if args.serve is not None:
            from sgcond_app.backends import serve

            backend = serve.deploy(args.serve, args.ray_address)
            atexit.register(serve.shutdown)
            name = args.serve.backend
        elif args.backend.strip() == "sd":
            backend = _sd_or_tiny()
            name = backend.capabilities.name  # "tiny" where sd could not load
        elif args.weights is not None:
            from sgcond_app.backends.tiny import TinyBackend

            backend = TinyBackend.from_pretrained(args.weights)  # a folder that does not load is said now
            name = "tiny"
        else:
            backend = get_backend(args.backend)
            name = args.backend.strip()
    except BadInput as e:
        raise SystemExit(f"--backend: {e}") from None
    if os.environ.get("SGCOND_WARM_UP", "1") != "0":
        # The page is up at once; the models load beside it, so the first Generate is not the slow one.
        threading.Thread(target=_warm_up, args=(backend,), daemon=True, name="sgcond-warm-up").start()
    demo = create_demo(backend, args.studio, name=name, others=page_backends(name, args.backends,
                                                                  args.serve is None and name in PAGE_BACKENDS),
                       backend_token=args.backend_token)
    # Requests beyond this many per event wait in the queue: the tiny backend is CPU-bound.
    demo.queue(default_concurrency_limit=args.concurrency, max_size=args.queue_size)
    # allowed_paths: the app's temporary root when $SGCOND_TMP puts it outside the system's temp folder.
    # state_session_capacity: Gradio keeps each session's copy of the page's settings (~0.25 MiB) until
    # 10,000 sessions are held (a closed one's gr.State, the studio's result and edits, goes an hour
    # after it closed; the copy stays); beyond `sessions` the least recently used session goes. A
    # session held costs the server ~0.6 MiB (bench memory: 55 sessions held against 20, +20 MiB),
    # so 300 cost at most ~180 MiB: enough sessions that an idle person's result and edits are not
    # dropped for others on a busy page, and far from Gradio's 10,000 (~6 GiB). The bench's 500
    # requests in 55 sessions stay within 10 % (docs/benchmarks.md).
    # SIGTERM (docker stop, a Space restarting) stops the app as Ctrl-C does, so the temporary root
    # is removed at exit.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        # max_file_size: an upload is a picture (20 MB at most) or a graph file; a larger one is
        # refused by Gradio while it arrives, before it fills the disk.
        demo.launch(server_name=args.host, server_port=args.port, share=args.share, css=CSS,
                    allowed_paths=files.allowed_paths(), state_session_capacity=args.sessions,
                    max_file_size=MAX_UPLOAD, app_kwargs=body_limit.app_kwargs())
    except KeyboardInterrupt:  # before launch waits (it handles one itself then)
        demo.close()


if __name__ == "__main__":
    main()
