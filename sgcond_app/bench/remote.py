"""What the remote hop adds: the same generate through the tiny backend in this process, and
through a `RemoteBackend` to a second instance (`python app.py`) on this machine. The difference of
the medians is the hop (the request, the JSON events, the result's bytes both ways, the polling);
the two never run at once, so they do not share the cores."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .chain import _graphs
from .memory import ROOT, _free_port, _wait_until_up


def run(path: str | None = None, samples: int = 8, repeats: int = 5) -> dict:
    from ..backends import Options, get_backend

    g = _graphs(path, 1)[0]
    options = Options(samples=samples)
    work = Path(tempfile.mkdtemp(prefix="sgcond-bench-remote-"))
    log = work / "server.log"
    env = {**os.environ, "SGCOND_WARM_UP": "1", "SGCOND_TMP": str(work), "PYTHONUNBUFFERED": "1"}
    env.pop("GRADIO_TEMP_DIR", None)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(proc, url, log)
        out: dict = {"samples": samples, "repeats": repeats}
        for name, backend in (("local", get_backend("tiny")), ("remote", get_backend(url))):
            backend.generate(g, seed=0, options=options)  # warm-up: models loaded, connection made
            times = []
            for r in range(repeats):
                start = time.perf_counter()
                backend.generate(g, seed=r + 1, options=options)
                times.append(time.perf_counter() - start)
            out[f"{name}_generate_seconds"] = statistics.median(times)
        out["hop_seconds"] = out["remote_generate_seconds"] - out["local_generate_seconds"]
        return out
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
