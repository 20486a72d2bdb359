"""Benchmarks: functions that measure and return numbers (`python -m sgcond_app bench WHAT`)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .graph import judge
from .graph.judge_reference import reference_relations
from .world import render_sample

DEFAULT_GRAPHS = Path(__file__).resolve().parent.parent / "assets" / "graphs" / "people.json"


def bench_render(n: int = 500, size: int = 64) -> dict:
    """Samples a second, rendering and deriving the graph in memory, on one core."""
    try:
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(1)
    except ImportError:  # numpy's element-wise work is single-threaded anyway
        limit = None
    render_sample(0, size)  # warm caches
    start = time.perf_counter()
    for seed in range(n):
        render_sample(seed, size)
    seconds = time.perf_counter() - start
    if limit is not None:
        limit.unregister()
    return {"samples_per_second": n / seconds, "seconds": seconds, "n": n, "size": size}


def bench_judge(n: int = 120, size: int = 64) -> dict:
    """The judge on the tiny world's own samples, and its agreement with the reference rules."""
    recalls, held, judged, agree, compared = [], 0, 0, 0, 0
    for seed in range(n):
        s = render_sample(seed, size)
        v = judge.judge(s.graph.labels, s.graph.triples(), s.segmentation, s.depth)
        recalls.append(v.object_recall)
        verdicts = [r.holds for r in v.relations]
        held += sum(1 for h in verdicts if h)
        judged += sum(1 for h in verdicts if h is not None)
        ref = reference_relations(s.graph.triples(), s.object_instances, s.instances, s.depth)
        for a, b in zip(verdicts, ref):
            compared += 1
            agree += a == b
    return {"object_recall": float(np.mean(recalls)), "relation_accuracy": held / max(judged, 1),
            "reference_agreement": agree / max(compared, 1), "relations": compared, "n": n, "size": size}


def bench_placement(graphs: str | None = None, size: int = 64) -> dict:
    """`synth --graph` on graphs written by people: are their relations obeyed?"""
    from .graph.mapping import map_graph
    from .graph.parse import load_graphs
    from .world.layout import render_graph

    mapped = [map_graph(g).graph for g in load_graphs(graphs or DEFAULT_GRAPHS)]
    mapped = [g for g in mapped if g is not None]
    held = judged = all_present = 0
    recalls, tries = [], []
    start = time.perf_counter()
    for k, g in enumerate(mapped):
        r = render_graph(g, seed=k, size=size)
        recalls.append(r.verdict.object_recall)
        all_present += r.verdict.object_recall == 1.0
        tries.append(r.tries)
        verdicts = [x.holds for x in r.verdict.relations if x.holds is not None]
        held += sum(verdicts)
        judged += len(verdicts)
    return {"relation_accuracy": held / max(judged, 1), "object_recall": float(np.mean(recalls)),
            "all_objects_present": all_present / len(mapped), "mean_tries": float(np.mean(tries)),
            "seconds_per_graph": (time.perf_counter() - start) / len(mapped), "n": len(mapped),
            "size": size}


def bench_retrieval(n: int = 1000, size: int = 64, weights: str | None = None) -> dict:
    """Graph->image and image->graph retrieval, hard negatives and held-out synonyms (encoder)."""
    from .evaluation import retrieval
    from .models.shipped import load_encoder

    model, words = load_encoder(weights)
    start = time.perf_counter()
    result = retrieval(model, words, n=n, size=size)
    return {**result, "seconds": time.perf_counter() - start}


def bench_encoder_layout(n: int = 500, size: int = 64, graphs: str | None = None,
                         weights: str | None = None) -> dict:
    """The encoder's predicted boxes drawn as a segmentation and judged against the graph: on
    held-out renders' graphs, or on a graph file (mapped onto the tiny world first)."""
    from .evaluation import layout
    from .models.shipped import load_encoder

    model, words = load_encoder(weights)
    given = None
    if graphs:
        from .graph.mapping import map_graph
        from .graph.parse import load_graphs

        given = [g for g in (map_graph(x).graph for x in load_graphs(graphs)) if g is not None]
    return layout(model, words, graphs=given, n=n, size=size)


def bench_segmenter(n: int = 500, size: int = 64, weights: str | None = None) -> dict:
    from .evaluation import segmenter_miou
    from .models.shipped import load_segmenter

    start = time.perf_counter()
    model = load_segmenter(weights)
    load_seconds = time.perf_counter() - start
    result = segmenter_miou(model, n=n, size=size)
    return {**result, "load_seconds": load_seconds}


def bench_load(weights_encoder: str | None = None) -> dict:
    """Seconds to import torch, to import the model code (torch-geometric with it) and to load both
    shipped models. Meaningful as a fresh process (the command line is one)."""
    start = time.perf_counter()
    import torch  # noqa: F401

    torch_done = time.perf_counter()
    from .models import graph_encoder, segmenter  # noqa: F401
    from .models.shipped import load_encoder, load_segmenter

    code_done = time.perf_counter()
    load_encoder(weights_encoder)
    load_segmenter()
    end = time.perf_counter()
    return {"import_torch_seconds": torch_done - start, "import_models_seconds": code_done - torch_done,
            "load_both_models_seconds": end - code_done}


def bench_factors(n: int = 200, weights: str | None = None) -> dict:
    """Each factor sampled from the true conditions of held-out renders (guidance 1; the figures in
    the factors' model cards)."""
    from .evaluation import factor_metrics
    from .fgdm.factors import FACTORS
    from .models.denoiser import FactorDenoiser
    from .models.pretrained import from_pretrained
    from .models.shipped import WEIGHTS

    root = Path(weights) if weights else WEIGHTS / "factors"
    return factor_metrics({f: from_pretrained(root / f, FactorDenoiser) for f in FACTORS}, n=n)


WORD_LISTS = tuple(DEFAULT_GRAPHS.parent.parent / "words" / f for f in ("kinds.json", "kinds_heldout.json"))


def bench_words(lists: str | None = None) -> dict:
    """Object words that name kinds of classes, and words that name none, through the mapping."""
    import json

    from .graph.mapping import map_label

    out = {}
    for path in [Path(lists)] if lists else WORD_LISTS:
        data = json.loads(Path(path).read_text())
        kinds, unrelated = data["hyponyms"], data["unrelated"]
        start = time.perf_counter()
        hits = sum(map_label(w).mapped == c for w, c in kinds.items())
        taken = [w for w in unrelated if map_label(w).mapped is not None]
        seconds = time.perf_counter() - start
        out[Path(path).stem] = {"hyponyms_mapped": hits / len(kinds), "unrelated_refused":
                                1 - len(taken) / len(unrelated), "hyponyms": len(kinds),
                                "unrelated": len(unrelated), "ms_per_word": 1000 * seconds
                                / (len(kinds) + len(unrelated))}
    return out


def bench_quality(n: int = 500, weights: str | None = None) -> dict:
    """The image factor's pictures from the true maps of n held-out renders (one seed each, guidance
    1): the Fréchet distance to the renders on the shipped segmenter's features at 128 px (smaller
    pictures enlarged), and fidelity. Any --weights (a factors folder) is measured the same way."""
    from .evaluation import factor_metrics
    from .models.denoiser import FactorDenoiser
    from .models.pretrained import from_pretrained
    from .models.shipped import WEIGHTS

    root = Path(weights) if weights else WEIGHTS / "factors"
    image = from_pretrained(root / "image", FactorDenoiser)
    return {**factor_metrics({"image": image}, n=n), "picture_size": image.config.size}


CHAIN_BENCHES = ("compliance", "sbpc", "fidelity", "diversity", "latency", "edit")


def run(what: str, n: int | None = None, size: int = 64, graphs: str | None = None,
        weights: str | None = None, samples: int = 8) -> dict:
    if what == "render":
        return bench_render(n or 500, size)
    if what == "judge":
        return bench_judge(n or 120, size)
    if what == "placement":
        return bench_placement(graphs, size)
    if what == "retrieval":
        return bench_retrieval(n or 1000, size, weights)
    if what == "layout":
        return bench_encoder_layout(n or 500, size, graphs, weights)
    if what == "segmenter":
        return bench_segmenter(n or 500, size, weights)
    if what == "load":
        return bench_load(weights)
    if what == "words":
        return bench_words(graphs)
    if what == "factors":
        return bench_factors(n or 200, weights)
    if what == "quality":
        return bench_quality(n or 500, weights)
    if what == "memory":
        from . import bench_memory

        return bench_memory.run(n or 500)
    if what == "studio":
        from . import bench_studio

        return bench_studio.run(graphs, samples, n)
    if what in CHAIN_BENCHES:
        from . import bench_chain

        if what == "latency":
            return bench_chain.latency(graphs)
        if what == "compliance":
            return bench_chain.compliance(graphs, samples, n, weights)
        return getattr(bench_chain, what)(graphs, samples, n)
    raise ValueError(what)
