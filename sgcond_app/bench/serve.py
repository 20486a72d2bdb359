"""`python -m sgcond_app bench serve`: what batching the pictures of several requests into one forward
pass (`@serve.batch` in `backends/serve.py`) gives, on a local Ray Serve with one replica that has
this machine's cores, at 1, 4 and 16 concurrent users.

Each user sends requests one after another (a graph of its own, its own seed, SBPC N = 1, the
default steps), each request one whole chain. Printed per batch size and number of users: requests
a second, and the median and 90th percentile of a request's latency."""

from __future__ import annotations

import os
import threading
import time

import numpy as np

LABELS = ["dog", "car", "horse", "tree", "house", "sheep", "bus", "cow"]


def _users(backend, users: int, each: int) -> dict:
    from ..backends import Options
    from ..graph.parse import parse_text

    latencies: list[float] = []
    failed = [0]
    lock = threading.Lock()

    def user(k: int) -> None:
        g = parse_text(f"sky above grass; {LABELS[k % len(LABELS)]} on grass")
        for j in range(each):
            start = time.perf_counter()
            try:
                r = backend.generate(g, seed=1000 * k + j, options=Options(samples=1))
                ok = r.seed == 1000 * k + j
            except Exception:  # noqa: BLE001 - counted
                ok = False
            with lock:
                latencies.append(time.perf_counter() - start)
                failed[0] += not ok

    threads = [threading.Thread(target=user, args=(k,)) for k in range(users)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    return {"requests": len(latencies), "failed": failed[0], "requests_per_second": round(len(latencies) / wall, 3),
            "median_latency_s": round(float(np.median(latencies)), 2),
            "p90_latency_s": round(float(np.percentile(latencies, 90)), 2)}


def run(users: tuple[int, ...] = (1, 4, 16), batches: tuple[int, ...] = (1, 4), each: int = 4) -> dict:
    from ..backends import serve
    from ..graph.parse import parse_text

    cores = os.cpu_count() or 1  # `deploy` starts a local Ray with them
    out: dict = {"cores": cores, "requests_per_user": each}
    try:
        for b in batches:
            backend = serve.deploy(serve.ServeSettings(1, 1, cpus=float(cores), batch=b))
            backend.generate(parse_text("sky above grass; dog on grass"))  # the replica warm
            out[f"batch_{b}"] = {f"users_{u}": _users(backend, u, each) for u in users}
    finally:
        serve.shutdown()
    return out
