"""`python -m sgcond_app bench clients`: many people at once, on one instance working in its own
process, and on a page whose backend is served by replicas on a local Ray Serve (`app.py --replicas K`).

50 clients (gradio_client, each its own session) share --n requests (default 500): each client
generates its own graph with its own seed (one candidate), moves its object (or, when the picture
lacks it, matches the graph to the mask) and reruns the image, over and over. Counted: requests
that failed, answers that belong to another client (a report whose graph or seed is not the
client's: cross-talk), requests a second, and the resident memory
of the app with everything it started (Ray's processes and the replicas) after the first 100
requests and at the end (flat: within 10 %)."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .app_process import AppProcess

LABELS = ["car", "bus", "truck", "house", "tree", "dog", "sheep", "cow", "horse", "boat"]
WARM = 100  # requests before the first memory reading


def _instance(replicas: int, requests: int, clients: int) -> dict:
    from gradio_client import Client

    work = Path(tempfile.mkdtemp(prefix="sgcond-bench-load-"))
    app = AppProcess(work, ("--replicas", str(replicas)) if replicas else ())
    url = app.url
    lock = threading.Lock()
    state = {"sent": 0, "done": 0, "failed": 0, "mixed": 0, "errors": [], "rss": []}

    def take() -> bool:
        with lock:
            if state["sent"] >= requests:
                return False
            state["sent"] += 1
            return True

    def finished(ok: bool, mixed: bool = False, error: str | None = None) -> None:
        with lock:
            state["done"] += 1
            state["failed"] += not ok
            state["mixed"] += mixed
            if error and len(state["errors"]) < 3:
                state["errors"].append(error)
            if state["done"] == WARM:
                state["rss"].append(app.rss_mb())

    def client(k: int) -> None:
        c = Client(url, verbose=False, download_files=str(work / f"c{k}"))
        label = LABELS[k % len(LABELS)]
        ground = "water" if label == "boat" else "grass"
        seed = 1000 + k
        while take():
            try:
                *_, report, _ = c.predict(f"sky above {ground}; {label} on {ground}", seed, 1, api_name="/generate")
                mine = label in report["graph"]["objects"] and report["seed"] == seed
                finished(True, not mine)
            except Exception as e:  # counted: the bench reports failures
                finished(False, error=f"generate: {type(e).__name__}: {str(e)[:200]}")
                continue
            at = None
            for step in ("move", "rerun"):
                if not take():
                    return
                try:
                    if step == "move":
                        at = _object_at(report)
                        if at is not None:
                            c.predict("move_right", *at, 4, "", api_name="/edit_mask")
                        else:  # the picture lacks the thing (recall below 1): nothing to move
                            c.predict(api_name="/match_graph")  # the graph then lacks it too
                        finished(True)
                    else:
                        *_, report2, _ = c.predict("image", api_name="/rerun")
                        # Every client has its own seed: another's seed is another's answer.
                        finished(True, report2["seed"] != seed or (at is not None and
                                                                   label not in report2["graph"]["objects"]))
                except Exception as e:
                    finished(False, error=f"{step}: {type(e).__name__}: {str(e)[:200]}")

    try:
        app.start()
        time.sleep(2)  # the warm-up's generation
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(client, range(clients)))
        wall = time.perf_counter() - start
        end_rss = app.rss_mb()
    finally:
        app.stop()
        shutil.rmtree(work, ignore_errors=True)
    first = state["rss"][0] if state["rss"] else float("nan")
    return {"requests": state["done"], "failed": state["failed"], "other_clients_answers": state["mixed"],
            "failures": state["errors"], "requests_per_second": state["done"] / wall, "wall_seconds": wall,
            f"rss_mb_after_{WARM}": first, "rss_mb_at_end": end_rss, "rss_growth": end_rss / first - 1}


def _object_at(report: dict) -> tuple[int, int] | None:
    """A pixel on the graph's thing (its first present object that is not stuff), from the report;
    None when the picture lacks it."""
    from ..world import classes

    for o in report["verdict"]["objects"]:
        if o.get("at") and not classes.is_stuff(o["label"]):
            return tuple(o["at"])
    return None


def run(requests: int = 500, clients: int = 50, replicas: tuple[int, ...] = (0, 1, 2)) -> dict:
    """One instance per entry of `replicas`: 0 works in its own process (no Ray), K on K replicas."""
    return {("one_process" if k == 0 else f"replicas_{k}"): _instance(k, requests, clients) for k in replicas}
