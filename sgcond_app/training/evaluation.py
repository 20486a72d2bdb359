"""Measurements of the trained models on held-out tiny-world renders (seeds >= 1,000,000,000).

Used by `bench retrieval|layout|segmenter` and by `train ... --export` for the model cards.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import torch

from ..graph import judge
from ..graph.scene_graph import SceneGraph, SGObject
from ..models.graph_encoder import SceneGraphEncoder, image_tensor, tensorize
from ..models.segmenter import picture_features
from ..models.words import HELD_OUT_SYNONYMS, WordTable
from ..world.boxes import draw_layout
from .data import held_out_samples, reversed_twin, swapped_twin

CHUNK = 256


@torch.no_grad()
def embed_graphs(model: SceneGraphEncoder, words: WordTable, graphs: list[SceneGraph]) -> torch.Tensor:
    device = next(model.parameters()).device
    out = [model.graph_embeddings(tensorize(graphs[i:i + CHUNK], words).to(device)).cpu()
           for i in range(0, len(graphs), CHUNK)]
    return torch.cat(out) if out else torch.zeros(0, model.config.dim)


@torch.no_grad()
def embed_images(model: SceneGraphEncoder, images: np.ndarray) -> torch.Tensor:
    device = next(model.parameters()).device
    return torch.cat([model.encode_images(image_tensor(images[i:i + CHUNK]).to(device)).cpu()
                      for i in range(0, len(images), CHUNK)])


def _ranks(scores: torch.Tensor) -> torch.Tensor:
    """Rank of the diagonal entry in each row (0 = best)."""
    return (scores > scores.diag().unsqueeze(1)).sum(1)


def with_synonyms(g: SceneGraph) -> SceneGraph | None:
    """The graph with every label that has a held-out synonym written as that synonym; None if none."""
    if not any(o.label in HELD_OUT_SYNONYMS for o in g.objects):
        return None
    return SceneGraph(tuple(SGObject(HELD_OUT_SYNONYMS.get(o.label, o.label), o.attributes) for o in g.objects),
                      g.relations)


def retrieval(model: SceneGraphEncoder, words: WordTable, n: int = 1000, size: int = 64) -> dict:
    samples = held_out_samples(n, size)
    graphs = [s.graph for s in samples]
    gi = embed_graphs(model, words, graphs)
    im = embed_images(model, np.stack([s.image for s in samples]))
    scores = gi @ im.T
    g2i, i2g = _ranks(scores), _ranks(scores.T)

    rng = np.random.default_rng(0)
    wins = {"reversed": [], "swapped": []}
    for kind, make in (("reversed", reversed_twin), ("swapped", swapped_twin)):
        twins = [(k, make(g, rng)) for k, g in enumerate(graphs)]
        twins = [(k, t) for k, t in twins if t is not None]
        if twins:
            te = embed_graphs(model, words, [t for _, t in twins])
            idx = torch.tensor([k for k, _ in twins])
            wins[kind] = ((te * im[idx]).sum(1) < scores[idx, idx]).tolist()

    syn = [(k, with_synonyms(g)) for k, g in enumerate(graphs)]
    syn = [(k, g) for k, g in syn if g is not None]
    se = embed_graphs(model, words, [g for _, g in syn])
    idx = torch.tensor([k for k, _ in syn])
    top_syn = (se @ im.T).argmax(1)
    top_canon = scores[idx].argmax(1)
    every = wins["reversed"] + wins["swapped"]
    return {
        "graph_to_image_r1": float((g2i == 0).float().mean()),
        "graph_to_image_r5": float((g2i < 5).float().mean()),
        "image_to_graph_r1": float((i2g == 0).float().mean()),
        "image_to_graph_r5": float((i2g < 5).float().mean()),
        "hard_negative_accuracy": float(np.mean(every)) if every else float("nan"),
        "hard_negative_reversed_accuracy": float(np.mean(wins["reversed"])) if wins["reversed"] else float("nan"),
        "hard_negative_swapped_accuracy": float(np.mean(wins["swapped"])) if wins["swapped"] else float("nan"),
        "hard_negatives": len(every),
        "synonym_agreement": float((top_syn == top_canon).float().mean()),
        "synonym_graph_to_image_r1": float((top_syn == idx).float().mean()),
        "synonym_graphs": len(syn),
        "distinct_graphs": len({g.to_json() for g in graphs}),
        "n": n,
    }


@torch.no_grad()
def predict_layouts(model: SceneGraphEncoder, words: WordTable, graphs: list[SceneGraph]
                    ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per graph: (boxes (O, 4), disparity (O,))."""
    device = next(model.parameters()).device
    result = []
    for i in range(0, len(graphs), CHUNK):
        batch = tensorize(graphs[i:i + CHUNK], words).to(device)
        out = model.graph(batch)
        for b, d in zip(out.boxes.cpu().split(batch.counts), out.disparity.cpu().split(batch.counts)):
            result.append((b.numpy(), d.numpy()))
    return result


def layout(model: SceneGraphEncoder, words: WordTable, graphs: list[SceneGraph] | None = None,
           n: int = 500, size: int = 64) -> dict:
    """Predicted boxes drawn as a segmentation (and depth), judged against the graph; and the same
    boxes mended where the drawing breaks the graph (`stages.mend_layout`, as the chain draws them)."""
    from ..fgdm.stages import mend_layout

    source = "held-out renders"
    if graphs is None:
        graphs = [s.graph for s in held_out_samples(n, size)]
    else:
        source = "given graphs"
    held = judged = matched = mended_held = 0
    recalls, mended_recalls = [], []
    for g, (boxes, disp) in zip(graphs, predict_layouts(model, words, graphs)):
        seg, inst, depth = draw_layout(g.labels, boxes, disp, size)
        v = judge.judge(g.labels, g.triples(), seg, depth, instances=inst)
        recalls.append(v.object_recall)
        present = {o.index for o in v.objects if o.present}
        verdicts = [r.holds for r in v.relations if r.holds is not None]
        held += sum(verdicts)
        judged += len(verdicts)
        matched += sum(r.subject in present and r.object in present for r in v.relations if r.holds is not None)
        m = mend_layout(g, boxes, disp)[3]
        mended_recalls.append(m.object_recall)
        mended_held += sum(bool(r.holds) for r in m.relations if r.holds is not None)
    # relation_accuracy is the judge's: a relation whose object the layout lost counts as failed;
    # the matched figure counts relations between objects the layout kept only (older reports).
    return {"relation_accuracy": held / max(judged, 1), "relation_accuracy_matched": held / max(matched, 1),
            "object_recall": float(np.mean(recalls)),
            "mended_relation_accuracy": mended_held / max(judged, 1),
            "mended_object_recall": float(np.mean(mended_recalls)),
            "relations": judged, "n": len(graphs), "graphs": source}


def segmenter_miou(model, n: int = 500, size: int = 64) -> dict:
    samples = held_out_samples(n, size)
    pred = model.segment(np.stack([s.image for s in samples]))
    return {**_miou(pred, np.stack([s.segmentation for s in samples])), "n": n, "size": size}


def segmenter_small_jpeg_miou(model, n: int = 500, side: int = 64, picture: int = 128, quality: int = 90) -> dict:
    """The segmenter reading small pictures from outside, as `read` gives them: held-out renders drawn
    at `side` px, saved as JPEG (`quality`), enlarged to the chain's `picture` size and read into a
    map of `side` px (class probabilities averaged over each block), against the render's map."""
    from ..reading.load import small_jpeg

    samples = held_out_samples(n, side)
    pred = model.segment(np.stack([small_jpeg(s.image, picture, quality) for s in samples]), size=side)
    return {**_miou(pred, np.stack([s.segmentation for s in samples])), "n": n, "side": side, "quality": quality}


def _miou(pred: np.ndarray, truth: np.ndarray) -> dict:
    """mIoU over the classes present, pixel accuracy and each class's IoU of maps against the truth."""
    from ..world import classes

    conf, iou, present = _class_iou(pred, truth)
    per_class = {classes.CLASS_NAMES[k]: round(float(v), 4) for k, v in zip(np.nonzero(present)[0], iou)}
    return {"miou": float(iou.mean()), "pixel_accuracy": float(np.diag(conf).sum() / conf.sum()),
            "per_class_iou": per_class}


# --- the chain's factors, each from its true conditions --------------------------------------


def _pad_tokens(parts: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(t.size(1) for t, _ in parts)
    tokens = torch.zeros(len(parts), width, parts[0][0].size(-1))
    pad = torch.ones(len(parts), width, dtype=torch.bool)
    for k, (t, p) in enumerate(parts):
        tokens[k, : t.size(1)] = t[0]
        pad[k, : p.size(1)] = p[0]
    return tokens, pad


def _class_iou(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(confusion matrix, IoU of each class present in the truth, which classes are present).
    VOID pixels of the truth are left out."""
    from ..world import classes

    c = classes.NUM_CLASSES
    valid = truth < c
    conf = np.bincount(truth[valid].astype(np.int64) * c + np.minimum(pred[valid], c - 1),
                       minlength=c * c).reshape(c, c)
    inter = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - inter
    present = conf.sum(1) > 0
    return conf, inter[present] / union[present], present


def miou(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(_class_iou(pred, truth)[1].mean())


@torch.no_grad()
def factor_metrics(factors: dict, n: int = 200, chunk: int = 50, encoder_dir=None,
                   steps: dict[str, int] | None = None) -> dict:
    """Each factor sampled from the true conditions of n held-out renders (one seed each); the
    segmentation factor from the graph, through the encoder in `encoder_dir` (default: the shipped
    one; it must be the one the factor was trained with). `factors` maps names to models (any subset);
    `steps` the sampling steps of some of them (default: the steps a distilled factor was made for,
    else each stage's own)."""
    from ..fgdm import stages
    from ..fgdm.factors import DEPTH_SIZE, MAP_SIZE, depth_tensor, image_from_tensor
    from ..models.shipped import load_encoder, shipped_encoder, shipped_segmenter
    from ..world.render import rasterize

    samples = held_out_samples(n)
    seeds = list(range(n))
    seg64 = torch.from_numpy(np.stack([s.segmentation for s in samples])).long()
    depth32 = (depth_tensor(torch.from_numpy(np.stack([s.depth for s in samples])), DEPTH_SIZE).squeeze(1) + 1) / 2
    sketch64 = torch.from_numpy(np.stack([s.sketch for s in samples]))
    result: dict = {"n": n}
    acc: dict[str, list] = defaultdict(list)  # per chunk, summed up below
    distilled = {name: m.config.steps for name, m in factors.items() if getattr(m.config, "steps", 0)}
    kw = {name: {"steps": k} for name, k in {**distilled, **(steps or {})}.items()}
    for a in range(0, n, chunk):
        sl = slice(a, a + chunk)
        part = seeds[sl]
        if "segmentation" in factors:
            encoder, words = shipped_encoder() if encoder_dir is None else load_encoder(encoder_dir)
            conds = [stages.graph_conditions(encoder, words, s.graph, [k]) for s, k in zip(samples[sl], part)]
            tokens, pad = _pad_tokens([(c[0], c[1]) for c in conds])
            layouts = torch.cat([c[2] for c in conds])
            seg = stages.segmentation(factors["segmentation"], tokens, pad, layouts, part,
                                      **kw.get("segmentation", {}))
            for s, m in zip(samples[sl], seg.numpy()):
                v = judge.judge(s.graph.labels, s.graph.triples(), m)
                acc["recall"].append(v.object_recall)
                acc["held"].extend(r.holds for r in v.relations if r.holds is not None)
        if "depth" in factors:
            d = stages.depth(factors["depth"], seg64[sl], part, **kw.get("depth", {}))
            acc["depth_err"].append(float((d - depth32[sl]).abs().mean()) * len(part))
        if "sketch" in factors:
            e = stages.sketch(factors["sketch"], seg64[sl], depth32[sl], part, **kw.get("sketch", {})) > 0
            t = sketch64[sl] > 0
            near_t = torch.nn.functional.max_pool2d(t[:, None].float(), 3, 1, 1)[:, 0] > 0
            near_e = torch.nn.functional.max_pool2d(e[:, None].float(), 3, 1, 1)[:, 0] > 0
            acc["edge"].append(((e & near_t).sum().item(), e.sum().item(),
                                                   (t & near_e).sum().item(), t.sum().item()))
        if "image" in factors:
            x = stages.image(factors["image"], seg64[sl], depth32[sl], sketch64[sl], part, **kw.get("image", {}))
            rgb = image_from_tensor(x)
            read = shipped_segmenter().segment(rgb, size=MAP_SIZE)
            acc["fid"].append((read, seg64[sl].numpy()))
            size = rgb.shape[1]
            truth = np.stack([s.image if size == s.image.shape[0] else rasterize(s.scene, size).image
                              for s in samples[sl]])
            acc["pix"].append(float(np.abs(rgb.astype(np.float32) - truth).mean()) * len(part))
            reader = shipped_segmenter()
            acc["feat"].append(picture_features(reader, rgb, FRECHET_SIZE))
            acc["feat_true"].append(picture_features(reader, truth if size == FRECHET_SIZE else np.stack(
                [rasterize(s.scene, FRECHET_SIZE).image for s in samples[sl]]), FRECHET_SIZE))
    if acc["recall"]:
        result["segmentation_object_recall"] = float(np.mean(acc["recall"]))
        held = acc["held"]
        result["segmentation_relation_accuracy"] = float(np.mean(held)) if held else float("nan")
    if acc["depth_err"]:
        result["depth_mean_abs_error"] = sum(acc["depth_err"]) / n
    if acc["edge"]:
        tp_e, n_e, tp_t, n_t = np.sum(acc["edge"], axis=0)
        precision, recall = tp_e / max(n_e, 1), tp_t / max(n_t, 1)
        result["sketch_edge_f1"] = float(2 * precision * recall / max(precision + recall, 1e-9))
    if acc["fid"]:
        pairs = acc["fid"]
        result["image_fidelity_miou"] = miou(np.concatenate([p for p, _ in pairs]),
                                             np.concatenate([t for _, t in pairs]))
        result["image_mean_abs_error"] = sum(acc["pix"]) / n
        true = np.concatenate(acc["feat_true"])
        result["image_frechet_distance"] = frechet_distance(np.concatenate(acc["feat"]), true)
        # What the measure gives two independent sets of n renders: its floor at this n.
        others = [rasterize(s.scene, FRECHET_SIZE).image for s in held_out_samples(n, start=n)]
        result["image_frechet_renders_vs_renders"] = frechet_distance(
            picture_features(shipped_segmenter(), np.stack(others), FRECHET_SIZE), true)
    return result


FRECHET_SIZE = 128  # pictures are compared at this size; smaller ones are enlarged first


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to two feature sets (N, D), as FID computes it."""
    from scipy import linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = np.real(linalg.sqrtm(cov_a @ cov_b))
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))
