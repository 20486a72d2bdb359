"""What the remote hop adds: the same generate through the tiny backend in this process, and
through a `RemoteBackend` to a second instance (`python app.py`) on this machine. The difference of
the medians is the hop (the request, the JSON events, the result's bytes both ways, the polling);
the two never run at once, so they do not share the cores."""

from __future__ import annotations

import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from .app_process import AppProcess
from .chain import _graphs


def run(path: str | None = None, samples: int = 8, repeats: int = 5) -> dict:
    from ..backends import Options, get_backend
    from ..backends.remote import RemoteBackend

    g = _graphs(path, 1)[0]
    options = Options(samples=samples)
    work = Path(tempfile.mkdtemp(prefix="sgcond-bench-remote-"))
    token = secrets.token_urlsafe(24)  # the instance serves its backend to this bench alone
    with AppProcess(work, ("--serve-backend",), env={"SGCOND_BACKEND_TOKEN": token}) as app:
        out: dict = {"samples": samples, "repeats": repeats}
        for name, backend in (("local", get_backend("tiny")), ("remote", RemoteBackend(app.url, token=token))):
            backend.generate(g, seed=0, options=options)  # warm-up: models loaded, connection made
            times = []
            for r in range(repeats):
                start = time.perf_counter()
                backend.generate(g, seed=r + 1, options=options)
                times.append(time.perf_counter() - start)
            out[f"{name}_generate_seconds"] = statistics.median(times)
        out["hop_seconds"] = out["remote_generate_seconds"] - out["local_generate_seconds"]
    shutil.rmtree(work, ignore_errors=True)
    return out
