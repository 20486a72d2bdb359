"""SGCond Studio's entry point: `python app.py` locally, and the `app_file` of a Hugging Face Space.

Limits come from the environment: SGCOND_HOST, SGCOND_PORT, SGCOND_CONCURRENCY.
"""

from __future__ import annotations

import argparse
import os

from sgcond_app.ui import create_demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the SGCond Studio web app.")
    parser.add_argument("--host", default=os.environ.get("SGCOND_HOST", "127.0.0.1"),
                        help="address to listen on (env SGCOND_HOST; default 127.0.0.1)")
    # String defaults go through `type` too, so a bad SGCOND_PORT gets argparse's one-line error.
    parser.add_argument("--port", type=int, default=os.environ.get("SGCOND_PORT", "7860"),
                        help="port to listen on (env SGCOND_PORT; default 7860)")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    args = parser.parse_args(argv)
    concurrency = os.environ.get("SGCOND_CONCURRENCY", "2")
    if not concurrency.isdigit() or int(concurrency) < 1:
        parser.error(f"SGCOND_CONCURRENCY must be a positive whole number, not {concurrency!r}")

    demo = create_demo()
    # Requests beyond this many per event wait in the queue: the tiny backend is CPU-bound.
    demo.queue(default_concurrency_limit=int(concurrency))
    demo.launch(server_name=args.host, server_port=args.port, share=args.share)


if __name__ == "__main__":
    main()
