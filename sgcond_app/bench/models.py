"""Benches of the trained models one at a time, on held-out renders (`bench retrieval|layout|segmenter|
load|factors|quality`): the graph encoder, the segmenter and the four factors, each measured apart
from the chain. Torch and the model code are imported inside each bench (`load` times them)."""

from __future__ import annotations

import time
from pathlib import Path


def retrieval(n: int = 1000, size: int = 64, weights: str | None = None) -> dict:
    """Graph->image and image->graph retrieval, hard negatives and held-out synonyms (encoder)."""
    from ..models.shipped import load_encoder
    from ..training import evaluation

    model, words = load_encoder(weights)
    start = time.perf_counter()
    result = evaluation.retrieval(model, words, n=n, size=size)
    return {**result, "seconds": time.perf_counter() - start}


def encoder_layout(n: int = 500, size: int = 64, graphs: str | None = None, weights: str | None = None) -> dict:
    """The encoder's predicted boxes drawn as a segmentation and judged against the graph: on
    held-out renders' graphs, or on a graph file (mapped onto the tiny world first)."""
    from ..models.shipped import load_encoder
    from ..training.evaluation import layout

    model, words = load_encoder(weights)
    given = None
    if graphs:
        from ..graph.mapping import map_graph
        from ..graph.parse import load_graphs

        given = [g for g in (map_graph(x).graph for x in load_graphs(graphs)) if g is not None]
    return layout(model, words, graphs=given, n=n, size=size)


def segmenter(n: int = 500, size: int = 64, weights: str | None = None) -> dict:
    """mIoU on held-out renders at `size`, and on renders drawn at 64 px given as JPEG (quality 90)
    and enlarged to 128 px, as `read` sees a small picture from outside."""
    from ..models.shipped import load_segmenter
    from ..training.evaluation import segmenter_miou, segmenter_small_jpeg_miou

    start = time.perf_counter()
    model = load_segmenter(weights)
    load_seconds = time.perf_counter() - start
    result = segmenter_miou(model, n=n, size=size)
    small = segmenter_small_jpeg_miou(model, n=n)
    return {**result, "load_seconds": load_seconds, "small_jpeg_64_miou": small["miou"],
            "small_jpeg_64_pixel_accuracy": small["pixel_accuracy"],
            "small_jpeg_64_per_class_iou": small["per_class_iou"]}


def load(weights_encoder: str | None = None) -> dict:
    """Seconds to import torch, to import the model code (torch-geometric with it) and to load both
    shipped models. Meaningful as a fresh process (the command line is one)."""
    start = time.perf_counter()
    import torch  # noqa: F401

    torch_done = time.perf_counter()
    from ..models import graph_encoder as _encoder_code  # noqa: F401
    from ..models import segmenter as _segmenter_code  # noqa: F401
    from ..models.shipped import load_encoder, load_segmenter

    code_done = time.perf_counter()
    load_encoder(weights_encoder)
    load_segmenter()
    end = time.perf_counter()
    return {"import_torch_seconds": torch_done - start, "import_models_seconds": code_done - torch_done,
            "load_both_models_seconds": end - code_done}


def factors(n: int = 200, weights: str | None = None) -> dict:
    """Each factor sampled from the true conditions of held-out renders (guidance 1; the figures in
    the factors' model cards)."""
    from ..fgdm.factors import FACTORS
    from ..models.denoiser import FactorDenoiser
    from ..models.pretrained import from_pretrained
    from ..models.shipped import WEIGHTS
    from ..training.evaluation import factor_metrics

    root = Path(weights) if weights else WEIGHTS / "factors"
    return factor_metrics({f: from_pretrained(root / f, FactorDenoiser) for f in FACTORS}, n=n)


def quality(n: int = 500, weights: str | None = None) -> dict:
    """The image factor's pictures from the true maps of n held-out renders (one seed each, guidance
    1): the Fréchet distance to the renders on the shipped segmenter's features at 128 px (smaller
    pictures enlarged), and fidelity. Any --weights (a factors folder) is measured the same way."""
    from ..models.denoiser import FactorDenoiser
    from ..models.pretrained import from_pretrained
    from ..models.shipped import WEIGHTS
    from ..training.evaluation import factor_metrics

    root = Path(weights) if weights else WEIGHTS / "factors"
    image = from_pretrained(root / "image", FactorDenoiser)
    return {**factor_metrics({"image": image}, n=n), "picture_size": image.config.size}


def downstream(data: str, steps: int, n: int, size: int, batch: int = 16, seed: int = 0) -> dict:
    """Three segmenters from the same random start, `steps` steps of `batch` each: on the generated
    data alone, on renders alone, and on both (each batch half of one, half of the other), each
    measured on `n` held-out renders (seeds no training saw). -> their mIoU and the ratio FG-DM's
    claim is about (generated / renders)."""
    import tempfile
    from pathlib import Path

    import torch

    from ..data.sources import parse
    from ..models.segmenter import Segmenter
    from ..training.data import RenderStream, SourceStream, collate
    from ..training.evaluation import segmenter_miou
    from ..training.loop import TrainConfig, train
    from ..training.segmenter import SegmenterObjective, to_inputs

    if parse(data, None, size).vocabulary.name != "tiny":
        from ..errors import BadInput

        raise BadInput(f"{data}: the downstream bench compares with renders of the tiny world; the data must be "
                       "in its classes")

    class Both(torch.utils.data.IterableDataset):
        def __init__(self, start, rank, world):
            super().__init__()
            self.a = SourceStream([data], size, start // 2, rank, world)
            self.b = RenderStream(size=size, start=start // 2, graphs=False, rank=rank, world=world)

        def __iter__(self):
            for x, y in zip(self.a, self.b, strict=False):
                yield x
                yield y

    streams = {
        "generated": lambda start, rank, world: SourceStream([data], size, start, rank, world),
        "renders": lambda start, rank, world: RenderStream(size=size, start=start, graphs=False, rank=rank,
                                                           world=world),
        "both": Both,
    }
    out: dict = {"data": data, "steps": steps, "batch": batch, "size": size, "n": n}
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in streams.items():
            torch.manual_seed(seed)
            model = Segmenter(Segmenter.Config())
            objective = SegmenterObjective(model)
            cfg = TrainConfig(out=Path(tmp) / name, steps=steps, batch=batch, lr=1e-3, warmup=min(100, steps // 5),
                              workers=0, checkpoint_every=10 * steps, log_every=max(1, steps // 5), seed=seed)
            run = train(objective, make, collate, to_inputs, cfg)
            metrics = segmenter_miou(model.float().eval(), n=n, size=size)
            out[name] = {"miou": round(float(metrics["miou"]), 4), "seconds": run["seconds"]}
    out["generated_over_renders"] = round(out["generated"]["miou"] / max(out["renders"]["miou"], 1e-9), 4)
    return out
