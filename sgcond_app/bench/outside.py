"""`python -m sgcond_app bench outside [--n 200]`: which pictures the tiny backend says it cannot
read (`reading/familiar.py`), on pictures its familiarity fit was not made from:

- held-out renders (seeds 1,000,000,000 on) given as JPEGs at 64 px and at 256 px, n of each;
- the chain's own pictures, generated from the graphs people wrote (assets/graphs/people.json and
  outside.json, and sg2im's graphs where ../shared is beside the checkout; --graphs: one file
  instead): a person reads and edits those, so they must be readable;
- real photos that ship inside scikit-image (its bundled sample data, and the 200 faces of its LFW
  subset; nothing is downloaded);
- made-up pictures that are no photo: noise, flat colours, gradients, checkerboards, pages of
  text, line drawings.

It prints the share refused of each, the AUROC of inside (renders and the chain's pictures)
against outside (photos and non-photos), and the threshold with how it was chosen.
"""

from __future__ import annotations

import time

import numpy as np

from .registry import DEFAULT_GRAPHS

PHOTOS = ("astronaut", "brick", "camera", "cat", "cell", "clock", "coffee", "coins", "grass", "gravel",
          "hubble_deep_field", "immunohistochemistry", "moon", "retina", "rocket", "stereo_motorcycle", "colorwheel")


def _uint8_rgb(a) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype == bool:
        a = a.astype(np.float64)
    if a.dtype != np.uint8:
        a = (255 * (a - a.min()) / (np.ptp(a) or 1.0)).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    return a[..., :3] if a.shape[2] >= 3 else np.repeat(a[..., :1], 3, axis=2)


def photos() -> list[tuple[str, np.ndarray]]:
    """Real photos bundled with scikit-image (no download): its sample pictures and LFW's faces."""
    import skimage.data as data

    out = []
    for name in PHOTOS:
        try:
            picture = getattr(data, name)()
        except (AttributeError, OSError, ValueError):  # a sample this version does not bundle
            continue
        out.append((name, _uint8_rgb(picture[0] if isinstance(picture, tuple) else picture)))
    faces = data.lfw_subset()
    out += [(f"lfw face {k}", _uint8_rgb(face)) for k, face in enumerate(faces)]
    return out


def non_photos(seed: int = 0) -> list[tuple[str, np.ndarray]]:
    """Pictures that are no photo at all: noise, flat colours, gradients, checkerboards, text, drawings."""
    import skimage.data as data
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    out: list[tuple[str, np.ndarray]] = []
    for k in range(4):
        out.append((f"uniform noise {k}", rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)))
        grey = np.clip(rng.normal(128, 40, (256, 256, 1)), 0, 255).astype(np.uint8)
        out.append((f"grey noise {k}", np.repeat(grey, 3, axis=2)))
    for colour in ((0, 0, 0), (255, 255, 255), (128, 128, 128), (90, 160, 220), (40, 140, 60), (200, 40, 40),
                   (240, 220, 120), (20, 60, 140)):
        out.append((f"flat {colour}", np.full((256, 256, 3), colour, np.uint8)))
    ramp = np.linspace(0, 255, 256, dtype=np.float64)
    out.append(("gradient left-right", np.repeat(np.tile(ramp, (256, 1))[..., None], 3, axis=2).astype(np.uint8)))
    out.append(("gradient sky-like", np.stack([np.tile(ramp[:, None], (1, 256)) * f for f in (0.3, 0.6, 1.0)],
                                              axis=2).astype(np.uint8)))
    for cells in (2, 8, 32):
        board = (np.indices((256, 256)) // (256 // cells)).sum(0) % 2
        out.append((f"checkerboard {cells}", np.repeat((board * 255).astype(np.uint8)[..., None], 3, axis=2)))
    words = "the quick brown fox jumps over the lazy dog while a scene graph waits".split()
    for k in range(4):
        page = Image.new("RGB", (256, 256), "white")
        draw = ImageDraw.Draw(page)
        for line in range(18):
            draw.text((8, 6 + 14 * line), " ".join(rng.choice(words, 6)), fill=(0, 0, 0))
        out.append((f"page of text {k}", np.asarray(page)))
    for k in range(4):
        drawing = Image.new("RGB", (256, 256), "white")
        draw = ImageDraw.Draw(drawing)
        for _ in range(12):
            x0, y0, x1, y1 = (int(v) for v in rng.integers(0, 256, 4))
            shape = rng.integers(0, 3)
            box = (min(x0, x1), min(y0, y1), max(x0, x1) + 1, max(y0, y1) + 1)
            if shape == 0:
                draw.line((x0, y0, x1, y1), fill=(0, 0, 0), width=2)
            elif shape == 1:
                draw.ellipse(box, outline=(0, 0, 0), width=2)
            else:
                draw.rectangle(box, outline=(0, 0, 0), width=2)
        out.append((f"line drawing {k}", np.asarray(drawing)))
    for name in ("page", "text", "horse", "logo", "checkerboard", "shepp_logan_phantom", "binary_blobs"):
        try:
            out.append((f"scikit-image {name}", _uint8_rgb(getattr(data, name)())))
        except (AttributeError, OSError, ValueError):
            continue
    return out


def chain_pictures(graph_files: list[str], samples: int = 2, seed: int = 11) -> list[tuple[str, np.ndarray]]:
    """The chain's own picture for each graph of the files (the tiny backend, `samples` candidates)."""
    from ..backends import Options, get_backend
    from ..graph.mapping import map_graph
    from ..graph.parse import load_graphs

    backend = get_backend("tiny")
    out = []
    for path in graph_files:
        for k, g in enumerate(load_graphs(path)):
            m = map_graph(g)
            if m.graph is not None:
                out.append((f"{path} #{k}", backend.generate(m.graph, seed + k, Options(samples=samples)).image))
    return out


def run(n: int = 200, graphs: str | None = None) -> dict:
    from pathlib import Path

    from ..models.shipped import SEGMENTER_DIR, shipped_segmenter
    from ..reading import familiar

    start = time.perf_counter()
    fit = familiar.Familiarity.load(SEGMENTER_DIR)
    if fit is None:
        raise RuntimeError(f"no {familiar.FILE} in {SEGMENTER_DIR}: python -m sgcond_app train familiarity "
                           f"--out {SEGMENTER_DIR}")
    segmenter = shipped_segmenter().eval()

    def scores(pictures: list[np.ndarray]) -> np.ndarray:
        return fit.score_pictures(segmenter, pictures)

    seed = 1_000_000_000
    renders64 = fit.scores(familiar.features(segmenter, familiar.render_pictures(n, seed, ("jpeg64",))))
    renders256 = fit.scores(familiar.features(segmenter, familiar.render_pictures(n, seed + n, ("jpeg256",))))
    files = [graphs] if graphs else [str(DEFAULT_GRAPHS), str(DEFAULT_GRAPHS.parent / "outside.json")]
    outside_graphs = Path(__file__).resolve().parents[3] / "shared" / "external" / "sg2im"
    files += sorted(str(p) for p in outside_graphs.glob("*.json")) if graphs is None else []
    made = chain_pictures(files)
    chain = scores([p for _, p in made])
    real = photos()
    photo = scores([p for _, p in real])
    fake = non_photos()
    non = scores([p for _, p in fake])
    inside = np.concatenate([renders64, renders256, chain])
    outside = np.concatenate([photo, non])
    t = fit.threshold

    def refused(x: np.ndarray) -> float:
        return round(float((x > t).mean()), 4)

    return {
        "threshold": round(t, 3),
        "threshold_chosen_as": f"the {fit.meta.get('quantile')} quantile of the scores of {fit.meta.get('n')} "
                               f"calibration renders (seeds {fit.meta.get('seeds')}, as {fit.meta.get('forms')}), "
                               f"covariance shrunk by {fit.meta.get('alpha')}",
        "renders_jpeg64": {"n": len(renders64), "refused": refused(renders64)},
        "renders_jpeg256": {"n": len(renders256), "refused": refused(renders256)},
        "chain_pictures": {"n": len(chain), "refused": refused(chain), "graph_files": [Path(f).name for f in files],
                           "highest_scores": sorted(round(float(x), 2) for x in chain)[-3:]},
        "real_photos": {"n": len(photo), "refused": refused(photo),
                        "accepted": [name for (name, _), s in zip(real, photo, strict=True) if s <= t]},
        "non_photos": {"n": len(non), "refused": refused(non),
                       "accepted": [name for (name, _), s in zip(fake, non, strict=True) if s <= t]},
        "outside_refused": refused(outside),
        "auroc": round(familiar.auroc(inside, outside), 4),
        "score_medians": {"renders": round(float(np.median(np.concatenate([renders64, renders256]))), 2),
                          "chain_pictures": round(float(np.median(chain)), 2),
                          "real_photos": round(float(np.median(photo)), 2),
                          "non_photos": round(float(np.median(non)), 2)},
        "seconds": round(time.perf_counter() - start, 1),
    }
