"""`python -m sgcond_app bench memory [--n 500]`: the app's memory and temporary files under traffic.

`python app.py` runs in a child process on a free port of 127.0.0.1 (SGCOND_WARM_UP=1, a private
SGCOND_TMP, so that its temporary root and Gradio's cache, which lives in that root, are the bench's
alone; pruning every 30 s of what is older than 60 s, so that pruning happens within the run).
`gradio_client` drives it: WARM_UP requests, then n more, cycling through every API endpoint
(generate with 2 candidates, a move of an object of the result, undo, redo, rerun, choose,
match_graph, parse, sample, export_graph, download, an upload, and bad inputs that end in an error),
a new person (client, so a new Gradio session) every SESSION_EVERY requests. The server's resident
memory (VmRSS, its children's included) is read after the warm-up and every SAMPLE_EVERY requests,
with the count of entries (files and folders) under the temporary folder; after the last request
the bench waits for the prunings that follow, then stops the app with SIGTERM and counts what is
left.

It prints numbers; it is not a timed test.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from ..ui.files import GRACE_S
from .app_process import AppProcess, rss_mb

WARM_UP = 50
SAMPLE_EVERY = 50
SESSION_EVERY = 10  # requests per person (client, Gradio session)
SAMPLES = 2  # SBPC candidates per generate
PRUNE_EVERY_S, MAX_AGE_S = 30, 60
GRAPHS = ["sky above grass; red car on grass; tree left of red car", "sky above grass; dog on grass; house behind dog",
          "sky above water; boat on water", "sky above grass; sheep left of cow; tree behind sheep"]


def threads(pid: int) -> int:
    try:
        return len(list(Path(f"/proc/{pid}/task").iterdir()))
    except FileNotFoundError:
        return 0


def entries(folder: Path) -> int:
    """Files and folders under `folder`."""
    return sum(len(dirs) + len(names) for _, dirs, names in os.walk(folder))


def _png(path: str) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def _thing_pixel(seg_path: str) -> tuple[int, int] | None:
    """A pixel of the largest object of a returned segmentation, if it has one."""
    from ..editing.masks import Masks
    from ..world import classes

    m = Masks.from_segmentation(classes.decolorize(_png(seg_path)))
    if not m.things():
        return None
    ys, xs = np.nonzero(m.mask(m.things()[0]))
    return int(xs[len(xs) // 2]), int(ys[len(ys) // 2])


class Traffic:
    """The requests, in a fixed cycle; `step()` makes one and says whether it went as expected
    (an error for bad input, and for undo/redo/edits either way)."""

    def __init__(self, url: str, downloads: Path):
        self.url, self.downloads = url, downloads
        self.client = None
        self.k = 0  # requests made
        self.sessions = 0
        self.point: tuple[int, int] | None = None
        self.ops = [self.generate, self.move, self.rerun, self.parse, self.undo, self.export, self.redo,
                    self.download, self.bad, self.sample, self.choose, self.match, self.upload]

    def new_session(self) -> None:
        """The person before leaves (their client closes its heartbeat, as a closed tab does), a new one comes."""
        from gradio_client import Client

        self.close()
        self.client = Client(self.url, verbose=False, download_files=str(self.downloads / f"s{self.sessions}"))
        self.sessions += 1
        self.point = None

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def step(self) -> tuple[str, str | None]:
        """-> (the operation's name, None if it went as expected, else what happened)."""
        if self.client is None:
            self.new_session()
        op = self.ops[self.k % len(self.ops)]
        self.k += 1
        try:
            op()
        except Exception as e:  # AppError and the like: expected only for some operations
            if op.__name__ in ("bad", "undo", "redo", "move", "rerun", "choose", "match", "download"):
                return op.__name__, None
            return op.__name__, f"{type(e).__name__}: {str(e)[:200]}"
        if op.__name__ == "bad":
            return op.__name__, "bad input was accepted"
        return op.__name__, None

    def _graph(self) -> str:
        return GRAPHS[self.k // len(self.ops) % len(GRAPHS)]

    def generate(self) -> None:
        out = self.client.predict(self._graph(), self.k, SAMPLES, api_name="/generate")
        self.point = _thing_pixel(out[0])

    def move(self) -> None:
        if self.point is None:  # no object (or no result yet in this session): an edit that needs no pick
            self.undo()
        else:
            self.client.predict("move_right", *self.point, 4, "", api_name="/edit_mask")

    def undo(self) -> None:
        self.client.predict("undo", 0, 0, 0, "", api_name="/edit_mask")

    def redo(self) -> None:
        self.client.predict("redo", 0, 0, 0, "", api_name="/edit_mask")

    def rerun(self) -> None:
        self.client.predict("image", api_name="/rerun")

    def choose(self) -> None:
        self.client.predict(1, api_name="/choose")

    def match(self) -> None:
        self.client.predict(api_name="/match_graph")

    def parse(self) -> None:
        self.client.predict(self._graph(), api_name="/parse")

    def sample(self) -> None:
        self.client.predict(self.k, 64, api_name="/sample")

    def export(self) -> None:
        self.client.predict(self._graph(), api_name="/export_graph")

    def download(self) -> None:
        self.client.predict(api_name="/download")

    def upload(self) -> None:
        """A graph file through Gradio's upload route, as the page's "Import a file" sends it."""
        import httpx

        body = f'{{"objects": ["dog", "grass"], "relationships": [[0, "on", 1]], "n": {self.k}}}'
        r = httpx.post(f"{self.url}gradio_api/upload", files=[("files", ("graph.json", body, "application/json"))],
                       timeout=30)
        r.raise_for_status()

    def bad(self) -> None:
        """One of several mistakes, in turn; each must end in an error."""
        kind = self.k // len(self.ops) % 5
        if kind == 0:
            self.client.predict('{"objects": ["dog"', self.k, SAMPLES, api_name="/generate")
        elif kind == 1:
            self.client.predict("explode", 1, 1, 0, "", api_name="/edit_mask")
        elif kind == 2:
            self.client.predict("everything", api_name="/rerun")
        elif kind == 3:
            self.client.predict(99, api_name="/choose")
        else:
            self.client.predict(3, 7, api_name="/sample")


def run(n: int = 500) -> dict:
    work = Path(tempfile.mkdtemp(prefix="sgcond-bench-memory-"))
    downloads = work / "downloads"
    app = AppProcess(work, env={"SGCOND_TMP_EVERY": str(PRUNE_EVERY_S), "SGCOND_TMP_MAX_AGE": str(MAX_AGE_S)})
    tmp, url, log = app.tmp, app.url, app.log
    start = time.perf_counter()
    app.start()
    proc = app.proc
    try:
        traffic = Traffic(url, downloads)
        unexpected: list[str] = []
        counts: dict[str, int] = {}

        rss: list[float] = []
        files: list[int] = []
        nthreads: list[int] = []
        for made in range(WARM_UP + n):
            if made % SESSION_EVERY == 0:
                traffic.new_session()
            name, problem = traffic.step()
            counts[name] = counts.get(name, 0) + 1
            if problem is not None:
                unexpected.append(f"{name}: {problem}")
            after = made + 1 - WARM_UP  # requests after the warm-up
            if after >= 0 and (after % SAMPLE_EVERY == 0 or after == n):
                rss.append(rss_mb(proc.pid))
                files.append(entries(tmp))
                nthreads.append(threads(proc.pid))
        traffic_seconds = time.perf_counter() - start
        traffic.close()
        # Prunings after everything is old enough, and the folders Gradio emptied too (GRACE_S).
        time.sleep(MAX_AGE_S + GRACE_S + 2 * PRUNE_EVERY_S + 5)
        after_prune = entries(tmp)
        rss_idle = rss_mb(proc.pid)
    finally:
        app.stop()
    left = entries(tmp)
    server_log = log.read_text()
    shutil.rmtree(work, ignore_errors=True)
    return {
        "requests": n,
        "warm_up_requests": WARM_UP,
        "sessions": traffic.sessions,
        "requests_by_operation": counts,
        "unexpected": len(unexpected),
        "unexpected_first": unexpected[:5],
        "rss_after_warmup_mb": round(rss[0], 1),
        "rss_end_mb": round(rss[-1], 1),
        "rss_growth_percent": round(100 * (rss[-1] - rss[0]) / rss[0], 2),
        "rss_max_mb": round(max(rss), 1),
        "rss_every_50_mb": [round(r, 1) for r in rss],
        "rss_idle_after_prune_mb": round(rss_idle, 1),
        "threads_every_50": nthreads,
        "temp_entries_after_warmup": files[0],
        "temp_entries_end": files[-1],
        "temp_entries_max": max(files),
        "temp_entries_every_50": files,
        "temp_entries_after_prune": after_prune,
        "temp_entries_after_exit": left,
        "app_exit_code": proc.returncode,
        # Where it was stuck (faulthandler's dump on SIGABRT), when SIGTERM did not stop it in 60 s.
        "app_exit_log": server_log[server_log.find("Fatal Python error"):][:6000] if proc.returncode else "",
        "server_errors_logged": server_log.count(" ERROR "),
        "prune_every_seconds": PRUNE_EVERY_S,
        "max_age_seconds": MAX_AGE_S,
        "seconds": round(traffic_seconds, 1),
    }
