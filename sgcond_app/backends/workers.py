"""Local workers: K instances of the app (`python app.py`, each with the tiny backend) on free ports
of 127.0.0.1, started by a page that sends them its work through a `PooledBackend`
(`app.py --workers K`). They stop when the page stops."""

from __future__ import annotations

import atexit
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

from .remote import BackendUnavailable

ROOT = Path(__file__).resolve().parents[2]
MAX_WORKERS = 16
START_TIMEOUT_S = 300.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Workers:
    def __init__(self, count: int, env: dict | None = None) -> None:
        if not 1 <= count <= MAX_WORKERS:
            raise ValueError(f"workers: from 1 to {MAX_WORKERS}")
        base = {**os.environ, **(env or {})}
        base.pop("GRADIO_SERVER_PORT", None)
        base.pop("SGCOND_PORT", None)
        base["SGCOND_WORKERS"] = "0"  # a worker starts no workers of its own
        base["SGCOND_BACKEND"] = "tiny"
        # The workers serve their backend to this page alone: a token of this pool's, unless one is set.
        if len(base.get("SGCOND_BACKEND_TOKEN", "").strip()) < 16:
            base["SGCOND_BACKEND_TOKEN"] = secrets.token_urlsafe(24)
        self.token = base["SGCOND_BACKEND_TOKEN"].strip()
        # Each worker's torch takes its share of the cores, not all of them.
        base.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // count)))
        self.urls: list[str] = []
        self.procs: list[subprocess.Popen] = []
        for _ in range(count):
            port = _free_port()
            self.procs.append(subprocess.Popen(
                [sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port), "--serve-backend"],
                cwd=ROOT, env=base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            self.urls.append(f"http://127.0.0.1:{port}/")
        atexit.register(self.stop)

    def wait(self, timeout_s: float = START_TIMEOUT_S) -> None:
        import httpx

        end = time.monotonic() + timeout_s
        for proc, url in zip(self.procs, self.urls, strict=True):
            while True:
                if proc.poll() is not None:
                    raise BackendUnavailable(f"the worker at {url} exited ({proc.returncode})")
                try:
                    if httpx.get(url, timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > end:
                    raise BackendUnavailable(f"the worker at {url} did not start within {timeout_s:g} s")
                time.sleep(0.5)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
