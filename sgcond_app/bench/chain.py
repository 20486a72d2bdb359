"""Benches of the chain (`python -m sgcond_app bench compliance|sbpc|fidelity|diversity|latency|edit`).

All of them run on graphs from a file (default: assets/graphs/people.json, written by people, not
derived from renders), mapped onto the tiny world first. "On the image" means: the segmenter reads
the generated image and the judge checks that reading (depth relations with the chain's depth).
"""

from __future__ import annotations

import itertools
import statistics
import time

import numpy as np

from ..fgdm.chain import Chain, Result, Settings
from ..fgdm.factors import MAP_SIZE
from ..graph import judge
from ..graph.scene_graph import SceneGraph
from ..training.evaluation import miou
from .registry import DEFAULT_GRAPHS


def _graphs(path: str | None, limit: int | None = None) -> list[SceneGraph]:
    from ..graph.mapping import map_graph
    from ..graph.parse import load_graphs

    graphs = [g for g in (map_graph(x).graph for x in load_graphs(path or DEFAULT_GRAPHS)) if g is not None]
    return graphs[:limit] if limit else graphs


def image_verdict(chain: Chain, graph: SceneGraph, image: np.ndarray, depth: np.ndarray) -> judge.Verdict:
    return judge.judge(graph.labels, graph.triples(), chain.segmenter.segment(image, size=MAP_SIZE), depth)


def _accuracy(verdicts: list[judge.Verdict]) -> float:
    held = [r.holds for v in verdicts for r in v.relations if r.holds is not None]
    return float(np.mean(held)) if held else float("nan")


def _by_predicate(verdicts: list[judge.Verdict]) -> dict[str, str]:
    """Each predicate's relations that hold, as "held/judged", the most failed first."""
    counts: dict[str, list[int]] = {}
    for v in verdicts:
        for r in v.relations:
            if r.holds is not None:
                c = counts.setdefault(r.predicate, [0, 0])
                c[0] += bool(r.holds)
                c[1] += 1
    order = sorted(counts, key=lambda p: (counts[p][0] - counts[p][1], p))
    return {p: f"{counts[p][0]}/{counts[p][1]}" for p in order}


def compliance(path: str | None = None, samples: int = 8, limit: int | None = None, weights: str | None = None,
               seed: int = 0, any_class: bool = False, picture_draws: int | None = None,
               layout_tries: int | None = None, map_draws: int | None = None, mend_layout: bool = True) -> dict:
    """The chain on each graph (seed + its index); the chosen segmentation judged, and the picture
    through the segmenter. Precision: the share of graphs whose chosen segmentation holds a thing
    the graph did not ask for, those things per graph, and the share of pixels of classes the
    graph never names (stuff included). `any_class`: the segmentation factor samples every class
    (`Settings.only_named` off), which measures the factor's own precision."""
    chain = Chain.from_pretrained(weights)
    graphs = _graphs(path, limit)
    seg_v, img_v, unnamed, draws, seconds = [], [], [], [], []
    start = time.perf_counter()
    for k, g in enumerate(graphs):
        s = Settings(samples=samples, only_named=not any_class, mend_layout=mend_layout)
        if picture_draws is not None:
            s.picture_draws = picture_draws
        if layout_tries is not None:
            s.layout_tries = layout_tries
        if map_draws is not None:
            s.map_draws = map_draws
        r = chain.generate(g, seed=seed + k, settings=s)
        seg_v.append(r.verdict)
        img_v.append(image_verdict(chain, g, r.image, r.depth))
        unnamed.append(judge.unnamed_fraction(g.labels, r.segmentation))
        draws.append(r.picture_draws)
        seconds.append(r.seconds["total"])
    return {"object_recall": float(np.mean([v.object_recall for v in seg_v])),
            "relation_accuracy": _accuracy(seg_v),
            "graphs_with_extra_things": float(np.mean([bool(v.extras) for v in seg_v])),
            "extra_things_per_graph": float(np.mean([len(v.extras) for v in seg_v])),
            "unnamed_pixels": float(np.mean(unnamed)),
            "image_object_recall": float(np.mean([v.object_recall for v in img_v])),
            "image_relation_accuracy": _accuracy(img_v),
            "image_graphs_with_extra_things": float(np.mean([bool(v.extras) for v in img_v])),
            "all_objects_present": float(np.mean([v.object_recall == 1.0 for v in seg_v])),
            "relations_by_predicate": _by_predicate(seg_v), "image_relations_by_predicate": _by_predicate(img_v),
            "layout_tries": s.layout_tries, "mend_layout": s.mend_layout,
            "map_draws": s.map_draws, "picture_draws": s.picture_draws,
            "picture_draws_per_graph": float(np.mean(draws)),
            "graphs_drawn_again": float(np.mean([d > 1 for d in draws])),
            "chain_seconds_median": float(np.median(seconds)), "chain_seconds_mean": float(np.mean(seconds)),
            "samples": samples, "seconds_per_graph": (time.perf_counter() - start) / len(graphs), "n": len(graphs)}


def _baseline(chain: Chain, graph: SceneGraph, seed: int, samples: int) -> tuple[judge.Verdict, float]:
    """The whole chain once per seed; the N final images judged through the segmenter; best kept."""
    start = time.perf_counter()
    verdicts = []
    for k in range(samples):
        # Each chain draws its picture once: the baseline's own choice is among its N pictures.
        r = chain.generate(graph, seed=seed + k, settings=Settings(samples=1, picture_draws=1))
        verdicts.append(image_verdict(chain, graph, r.image, r.depth))
    best = max(verdicts, key=lambda v: (v.object_recall or 0, v.relation_accuracy or 0))
    return best, time.perf_counter() - start


def _baseline_batched(chain: Chain, graph: SceneGraph, seed: int, samples: int, read: bool = True) -> float:
    """The same N full chains, but each factor run on the N samples as one batch (with the chain's
    steps, guidance and scheduler), and (`read`) the N pictures read by the segmenter to judge them:
    wall time only."""
    import torch

    from ..fgdm import stages

    s = Settings(samples=samples)
    seeds = [seed + k for k in range(samples)]
    start = time.perf_counter()
    tokens, pad, layouts = stages.graph_conditions(chain.encoder, chain.words, graph, seeds, s.jitter,
                                                   tries=s.layout_tries)
    seg = stages.segmentation(chain.factors["segmentation"], tokens, pad, layouts, seeds, s.steps["segmentation"],
                              s.guidance["segmentation"], s.scheduler_of("segmentation"),
                              allowed=stages.named_classes(graph.labels) if s.only_named else None)
    disp = stages.depth(chain.factors["depth"], seg, seeds, s.steps["depth"], s.guidance["depth"],
                        s.scheduler_of("depth"))
    edges = stages.sketch(chain.factors["sketch"], seg, disp, seeds, s.steps["sketch"], s.guidance["sketch"],
                          s.scheduler_of("sketch"))
    with torch.no_grad():
        x = stages.image(chain.factors["image"], seg, disp, edges, seeds, s.steps["image"], s.guidance["image"],
                         s.scheduler_of("image"))
    from ..fgdm.factors import image_from_tensor

    pictures = image_from_tensor(x)
    if read:
        chain.segmenter.segment(pictures, size=MAP_SIZE)
    return time.perf_counter() - start


def sbpc(path: str | None = None, samples: int = 8, limit: int | None = None) -> dict:
    chain = Chain.from_pretrained()
    graphs = _graphs(path, limit)
    chain.generate(graphs[0], seed=0)  # warm-up
    fg_t, base_t, batch_t, fg_v, base_v = [], [], [], [], []
    for k, g in enumerate(graphs):
        start = time.perf_counter()
        r = chain.generate(g, seed=1000 * k, settings=Settings(samples=samples))
        fg_v.append(image_verdict(chain, g, r.image, r.depth))
        fg_t.append(time.perf_counter() - start)
        v, t = _baseline(chain, g, 1000 * k, samples)
        base_v.append(v)
        base_t.append(t)
        batch_t.append(_baseline_batched(chain, g, 1000 * k, samples))
    fgdm_seconds, baseline_seconds = float(np.mean(fg_t)), float(np.mean(base_t))
    return {"fgdm_seconds": fgdm_seconds, "baseline_seconds": baseline_seconds,
            "speedup": baseline_seconds / fgdm_seconds,
            "fgdm_recall": float(np.mean([v.object_recall for v in fg_v])),
            "baseline_recall": float(np.mean([v.object_recall for v in base_v])),
            "fgdm_relation_accuracy": _accuracy(fg_v), "baseline_relation_accuracy": _accuracy(base_v),
            "baseline_batched_seconds": float(np.mean(batch_t)),
            "speedup_vs_batched_baseline": float(np.mean(batch_t)) / fgdm_seconds,
            "samples": samples, "n": len(graphs)}


def fidelity(path: str | None = None, samples: int = 8, limit: int | None = None, weights: str | None = None) -> dict:
    """mIoU between the segmenter's reading of each generated image and the segmentation it was
    conditioned on, over all the graphs' results together (`weights`: a weights folder, default the
    shipped one)."""
    chain = Chain.from_pretrained(weights)
    read, cond = [], []
    for k, g in enumerate(_graphs(path, limit)):
        r = chain.generate(g, seed=k, settings=Settings(samples=samples))
        read.append(chain.segmenter.segment(r.image, size=MAP_SIZE))
        cond.append(r.segmentation)
    return {"miou": miou(np.stack(read), np.stack(cond)),
            "pixel_agreement": float(np.mean(np.stack(read) == np.stack(cond))), "n": len(read)}


def _pair_iou(a: np.ndarray, b: np.ndarray) -> float:
    classes = np.union1d(np.unique(a), np.unique(b))
    return float(np.mean([((a == c) & (b == c)).sum() / ((a == c) | (b == c)).sum() for c in classes]))


def diversity(path: str | None = None, samples: int = 8, limit: int | None = 8) -> dict:
    """For each graph: its N seeds' segmentations (pairwise IoU of class maps) and images (mean
    pairwise absolute pixel difference, 0..255), each seed a whole chain; averaged over graphs."""
    chain = Chain.from_pretrained()
    seg_iou, pix = [], []
    per_graph = []
    for k, g in enumerate(_graphs(path, limit)):
        results: list[Result] = [chain.generate(g, seed=100 * k + j, settings=Settings(samples=1))
                                 for j in range(samples)]
        ious = [_pair_iou(a.segmentation, b.segmentation) for a, b in itertools.combinations(results, 2)]
        dists = [float(np.abs(a.image.astype(np.float32) - b.image.astype(np.float32)).mean())
                 for a, b in itertools.combinations(results, 2)]
        seg_iou.append(np.mean(ious))
        pix.append(np.mean(dists))
        per_graph.append(round(float(np.mean(ious)), 3))
    return {"mean_pairwise_seg_iou": float(np.mean(seg_iou)), "mean_pairwise_pixel_distance": float(np.mean(pix)),
            "per_graph_seg_iou": per_graph, "samples": samples, "n": len(seg_iou)}


def latency(path: str | None = None, repeats: int = 5) -> dict:
    """Median seconds of the whole chain (and of each factor) at N=1 and N=8 on one graph."""
    chain = Chain.from_pretrained()
    g = _graphs(path, 1)[0]
    out: dict = {}
    for n in (1, 8):
        chain.generate(g, seed=0, settings=Settings(samples=n))  # warm-up
        runs = [chain.generate(g, seed=r, settings=Settings(samples=n)).seconds for r in range(repeats)]
        out[f"chain_n{n}_seconds"] = statistics.median(r["total"] for r in runs)
        for f in ("segmentation", "depth", "sketch", "image"):
            out[f"n{n}_{f}_seconds"] = statistics.median(r[f] for r in runs)
    import torch

    out["torch_threads"] = torch.get_num_threads()
    out["repeats"] = repeats
    return out


def move_effect(before, obj: int, moved, after_seg: np.ndarray, image_before: np.ndarray,
                image_after: np.ndarray) -> tuple[float, float, float]:
    """How a move of thing `obj` (Masks `before` -> `moved`) shows after a rerun: the shift in x of
    its centroid in the rerun's segmentation, and the mean image change (0..255) outside and inside
    the object's old and new places, dilated by 4 px."""
    from scipy import ndimage

    from ..editing import masks as ed

    after = ed.Masks.from_segmentation(after_seg)
    new_obj = int(np.bincount(after.instances[moved.mask(obj)]).argmax())
    shift = ed.centroid(after, new_obj)[0] - ed.centroid(before, obj)[0]
    diff = np.abs(image_after.astype(np.float32) - image_before.astype(np.float32)).mean(axis=2)
    near = ndimage.binary_dilation(before.mask(obj) | moved.mask(obj), iterations=4)
    k = diff.shape[0] // near.shape[0]  # the picture is drawn at a multiple of the maps' size
    near = near.repeat(k, axis=0).repeat(k, axis=1)
    return shift, float(diff[~near].mean()), float(diff[near].mean())


def edit(path: str | None = None, samples: int = 8, limit: int | None = None, dx: int = 8) -> dict:
    """Move each graph's largest object dx pixels right in the generated segmentation and rerun:
    how far the object's centroid moved, and how much the image changed outside the object's old
    and new places (dilated by 4 px) and inside them, in 0..255 units. Then the depth and sketch
    edits (`map_edits`) on the same results."""
    from ..editing import masks as ed

    chain = Chain.from_pretrained()
    out: dict = {}
    results = [chain.generate(g, seed=k, settings=Settings(samples=samples))
               for k, g in enumerate(_graphs(path, limit))]
    for what in ("depth", "image"):
        shifts, outside, inside = [], [], []
        for r in results:
            m = ed.Masks.from_segmentation(r.segmentation)
            things = m.things()
            if not things:
                continue
            obj = things[0]
            edited = ed.move(m, obj, dx, 0)
            r2 = chain.rerun(r, edited.segmentation, what=what)
            shift, out_change, in_change = move_effect(m, obj, edited, r2.segmentation, r.image, r2.image)
            shifts.append(shift)
            outside.append(out_change)
            inside.append(in_change)
        out[f"rerun_{what}_centroid_shift"] = float(np.mean(shifts))
        out[f"rerun_{what}_outside_change"] = float(np.mean(outside))
        out[f"rerun_{what}_outside_change_max"] = float(np.max(outside))
        out[f"rerun_{what}_inside_change"] = float(np.mean(inside))
        out["n"] = len(shifts)
    out["dx"] = dx
    out.update(map_edits(chain, results))
    return out


def _change_near(image_before: np.ndarray, image_after: np.ndarray, near: np.ndarray) -> tuple[float, float]:
    """Mean picture change (0..255) inside and outside `near` (a map-size bool region)."""
    diff = np.abs(image_after.astype(np.float32) - image_before.astype(np.float32)).mean(axis=2)
    k = diff.shape[0] // near.shape[0]
    near = near.repeat(k, axis=0).repeat(k, axis=1)
    return float(diff[near].mean()), float(diff[~near].mean())


def map_edits(chain: Chain, results: list, amount: float = 0.3) -> dict:
    """Depth and sketch edits on generated results. Depth: each result's largest thing brought
    `amount` nearer (pushed farther where it is too near for that), the sketch and picture rerun:
    the depth's change inside the thing (what still shows of it) and at most outside it and the
    pixels that changed hands, the picture's change near the thing (dilated 4 px) and away from it,
    and how many pixels changed hands by occlusion. Sketch: a stroke from (8, 8) to (56, 20) and on
    to (40, 40), the picture rerun: its change near the stroke (3 px) and away."""
    from scipy import ndimage

    from ..editing import masks as ed
    from ..editing import relief

    inside, outside_max, near_change, far_change, traded, flips = [], [], [], [], [], 0
    for r in results:
        m = ed.Masks.from_segmentation(r.segmentation, r.depth)
        if not m.things():
            continue
        obj = m.things()[0]
        mask = m.mask(obj)
        step = amount if float(np.median(r.depth[mask])) <= 1 - amount else -amount
        done = relief.redepth(m, obj, step)
        r2 = chain.rerun(r, done.segmentation, "sketch", depth=done.depth)
        kept = mask & (done.segmentation == r.segmentation)
        handed = done.segmentation != r.segmentation
        inside.append(float(np.mean(np.abs(r2.depth[kept] - r.depth[kept]))) if kept.any() else 0.0)
        away = ~(mask | handed)
        outside_max.append(float(np.abs(r2.depth[away] - r.depth[away]).max()))
        n, f = _change_near(r.image, r2.image, ndimage.binary_dilation(mask | handed, iterations=4))
        near_change.append(n)
        far_change.append(f)
        traded.append(done.hidden + done.shown)
        flips += int(done.hidden + done.shown > 0)
    line = relief.line_pixels([(8, 8), (56, 20), (40, 40)], (MAP_SIZE, MAP_SIZE))
    stroke_near, stroke_far = [], []
    for r in results:
        r3 = chain.rerun(r, None, "image", sketch=np.where(line, np.uint8(255), r.sketch))
        n, f = _change_near(r.image, r3.image, ndimage.binary_dilation(line, iterations=3))
        stroke_near.append(n)
        stroke_far.append(f)
    return {"depth_edits": len(inside), "depth_amount": amount,
            "depth_inside_change_mean": round(float(np.mean(inside)), 4),
            "depth_outside_change_max": round(float(np.max(outside_max)), 5),
            "depth_picture_change_near": round(float(np.mean(near_change)), 3),
            "depth_picture_change_away": round(float(np.mean(far_change)), 3),
            "depth_edits_that_reordered_occlusion": flips, "depth_pixels_handed_over_mean": float(np.mean(traded)),
            "sketch_edits": len(stroke_near),
            "sketch_picture_change_near": round(float(np.mean(stroke_near)), 3),
            "sketch_picture_change_away": round(float(np.mean(stroke_far)), 3)}


def throughput(path: str | None = None, batch: int = 64, repeats: int = 2) -> dict:
    """Whole chains batched: every factor run on `batch` samples of the first graph as one batch (the
    chain's steps, guidance and scheduler), without judging; pictures a second."""
    import torch

    chain = Chain.from_pretrained()
    g = _graphs(path, 1)[0]
    _baseline_batched(chain, g, 0, 2, read=False)  # warm-up
    runs = [_baseline_batched(chain, g, 1000 * (r + 1), batch, read=False) for r in range(repeats)]
    seconds = statistics.median(runs)
    return {"batch": batch, "seconds": seconds, "images_per_second": batch / seconds, "device": chain.device,
            "torch_threads": torch.get_num_threads(), "repeats": repeats}


def colours(path: str | None = None, samples: int = 8, limit: int | None = None, seed: int = 0) -> dict:
    """Things a graph names with a colour (red car), generated with and without painting them
    (`Settings.paint`), the same seed: the share shown in the colour named (read off the picture by
    `reading.colours` on the thing's region), the share the segmenter still reads as its class
    there, and the median seconds of a generate; and the colour reader alone on renders. Graphs:
    those of `path` (default assets/graphs/outside.json, written outside this repository) that name
    a colour, and the graphs of --n held-out renders that do (the world's own: 60 by default)."""
    from pathlib import Path

    from ..graph import vocab
    from ..reading import colours as col
    from ..reading.load import decode, fit
    from ..training.data import held_out_samples
    from ..world import classes
    from .pictures import _jpeg

    def coloured(g: SceneGraph) -> bool:
        return any(o.label in classes.COLOURABLE and vocab.colour_of(o.attributes) for o in g.objects)

    chain = Chain.from_pretrained()
    outside = Path(__file__).resolve().parents[2] / "assets" / "graphs" / "outside.json"
    graphs = [g for g in _graphs(str(path or outside)) if coloured(g)]
    n_file = len(graphs)
    renders = {px: held_out_samples(limit or 60, px, 70_000) for px in (64, 256)}
    graphs += [s.graph for s in renders[64] if coloured(s.graph)]
    out: dict = {"graphs_from_the_file": n_file, "graphs_of_renders": len(graphs) - n_file}
    # The reader itself, on renders whose graph names a thing's colour: JPEG (quality 90) at 64 and
    # 256 px, fitted to the picture's size, read on the thing's true region.
    for px, samples_at in renders.items():
        right = total = 0
        for s in samples_at:
            picture = fit(decode(_jpeg(s.image)), chain.factors["image"].config.size)
            for k, obj in enumerate(s.graph.objects):
                want = vocab.colour_of(obj.attributes)
                if want is None or obj.label not in classes.COLOURABLE:
                    continue
                mask = s.instances == s.object_instances[k]
                small = mask.reshape(MAP_SIZE, px // MAP_SIZE, MAP_SIZE, px // MAP_SIZE).mean((1, 3)) >= 0.5
                if not small.any():
                    continue
                total += 1
                right += col.read_colour(picture, small, obj.label) == want
        out[f"reader_on_renders_{px}px"] = round(right / total, 4) if total else None
        out[f"reader_things_{px}px"] = total
    for paint in (False, True):
        shown = kept = asked = 0
        seconds = []
        for k, g in enumerate(graphs):
            r = chain.generate(g, seed=seed + k, settings=Settings(samples=samples, paint=paint))
            seconds.append(r.seconds["total"])
            read = chain.segmenter.segment(r.image, size=MAP_SIZE)
            for mask, label, want in col.named(g, r.verdict):
                asked += 1
                shown += col.read_colour(r.image, mask, label) == want
                kept += (read[mask] == classes.CLASS_ID[label]).mean() >= 0.5
        key = "painted" if paint else "unpainted"
        out[f"things_named_with_a_colour_{key}"] = asked
        out[f"shown_in_the_colour_named_{key}"] = round(shown / asked, 4) if asked else None
        out[f"read_as_their_class_{key}"] = round(kept / asked, 4) if asked else None
        out[f"generate_seconds_median_{key}"] = round(statistics.median(seconds), 3)
    return out
