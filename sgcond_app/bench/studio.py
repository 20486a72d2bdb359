"""`python -m sgcond_app bench studio`: the studio measured through its API, as a script sees it.

The app runs in this process (the page, its queue and its API, as `python app.py` serves them) and
`gradio_client` drives it over HTTP, on held-out graphs (default: assets/graphs/people.json):
- per graph: generate (time until the first streamed map, the segmentation, and until the
  image), then move the largest object 8 px right and rerun the image alone: how far the object's
  centroid moved in the returned segmentation, and how much the image changed outside the
  object's old and new places (dilated 4 px) and inside them, in 0..255 units;
- 20 clients at once, each with its own graph: how many complete, how many fail, and whether
  any report holds another client's objects.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def _png(path: str) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def _generate_streamed(client, text: str, seed: int, samples: int) -> tuple[tuple, float, float]:
    """The final outputs, the seconds until the first streamed output (the segmentation), and the total."""
    start = time.perf_counter()
    job = client.submit(text, seed, samples, api_name="/generate")
    first = None
    while not job.done():
        if first is None and job.outputs():
            first = time.perf_counter() - start
        time.sleep(0.005)
    result = job.result()
    total = time.perf_counter() - start
    return result, first if first is not None else total, total


def run(path: str | None = None, samples: int = 8, limit: int | None = None, clients: int = 20,
        dx: int = 8) -> dict:
    from gradio_client import Client

    from ..editing import masks as ed
    from ..graph.parse import load_graphs
    from ..ui import serve_locally
    from ..world import classes
    from .chain import move_effect
    from .registry import DEFAULT_GRAPHS

    graphs = load_graphs(path or DEFAULT_GRAPHS)[:limit] if limit else load_graphs(path or DEFAULT_GRAPHS)
    demo, url = serve_locally(warm=True)
    downloads = tempfile.mkdtemp(prefix="sgcond-bench-")
    try:
        client = Client(url, verbose=False, download_files=downloads)
        first, total, shifts, outside, inside, clipped = [], [], [], [], [], []
        for k, g in enumerate(graphs):
            out, t_first, t_total = _generate_streamed(client, g.to_json(), k, samples)
            first.append(t_first)
            total.append(t_total)
            seg, image = _png(out[0]), _png(out[3])
            m = ed.Masks.from_segmentation(classes.decolorize(seg))
            if not m.things():
                continue
            obj = m.things()[0]
            ys, xs = np.nonzero(m.mask(obj))
            i = len(xs) // 2
            client.predict(f"move_{'right' if dx > 0 else 'left'}", int(xs[i]), int(ys[i]), abs(dx), "",
                           api_name="/edit_mask")
            seg2, _, _, image2, *_ = client.predict("image", api_name="/rerun")
            moved = ed.move(m, obj, dx, 0)
            shift, out_change, in_change = move_effect(m, obj, moved, classes.decolorize(_png(seg2)), image,
                                                       _png(image2))
            shifts.append(shift)
            outside.append(out_change)
            inside.append(in_change)
            clipped.append(int(moved.mask(obj).sum()) < int(m.mask(obj).sum()))

        labels = ["car", "bus", "truck", "house", "tree", "dog", "sheep", "cow", "horse", "boat"]

        def one(k: int) -> tuple[str, dict | None, str | None]:
            c = Client(url, verbose=False, download_files=f"{downloads}/c{k}")
            label = labels[k % len(labels)]
            ground = "water" if label == "boat" else "grass"
            try:
                *_, report, _ = c.predict(f"sky above {ground}; {label} on {ground}", k, 2, api_name="/generate")
                return label, report, None
            except Exception as e:  # counted, not raised: the bench reports failures
                return label, None, f"{type(e).__name__}: {e}"

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            results = list(pool.map(one, range(clients)))
        wall = time.perf_counter() - start
    finally:
        demo.close()
        shutil.rmtree(downloads, ignore_errors=True)
    failed = [e for _, r, e in results if r is None]
    mixed = [label for label, r, _ in results if r is not None and label not in r["graph"]["objects"]]
    return {
        "graphs": len(graphs),
        "samples": samples,
        "generate_first_map_seconds_median": statistics.median(first),
        "generate_seconds_median": statistics.median(total),
        "edited": len(shifts),
        "dx": dx,
        "centroid_shift_mean": float(np.mean(shifts)),
        "centroid_shift_min": float(np.min(shifts)),
        "centroid_shift_max": float(np.max(shifts)),
        # Outside 6..10: the object left the picture in part (less), or now touches another of its
        # class and the two read as one instance (more).
        "centroid_shift_within_6_10": float(np.mean([6 <= s <= 10 for s in shifts])),
        "moved_partly_out_of_the_picture": int(sum(clipped)),
        "outside_6_10_and_not_cut": int(sum(not 6 <= s <= 10 and not c for s, c in zip(shifts, clipped))),
        "outside_change_mean": float(np.mean(outside)),
        "outside_change_max": float(np.max(outside)),
        "inside_change_mean": float(np.mean(inside)),
        "concurrent_clients": clients,
        "concurrent_completed": clients - len(failed),
        "concurrent_failed": len(failed),
        "concurrent_failures": failed[:3],
        "concurrent_other_clients_objects": len(mixed),
        "concurrent_wall_seconds": wall,
    }
