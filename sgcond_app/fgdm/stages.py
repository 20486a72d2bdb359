"""The chain's four stages as functions on tensors, shared by the chain, the benches and training
evaluation. Every stage takes the seeds of its samples and draws its own initial noise from them."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import BadInput
from ..graph import vocabularies
from ..graph.scene_graph import SceneGraph
from ..models.denoiser import FactorDenoiser
from ..models.graph_encoder import SceneGraphEncoder, pad_objects, tensorize
from ..models.words import WordTable
from ..world.boxes import draw_layout, jitter_boxes, mends, separate_duplicates, unhidden
from .factors import (
    DEPTH_SIZE,
    FACTORS,
    MAP_SIZE,
    SEG_SIZE,
    depth_tensor,
    downsample_classes,
    onehot,
    picture_conditions,
)
from .sampler import sample, seeded_noise

SALT = {name: k + 1 for k, name in enumerate(FACTORS)}
# The shipped segmentation factor is distilled to 4 steps (its config says so; the sampler warns
# when it is sampled in others).
# The image factor predicts the clean picture (x0), so DPM-Solver++ reaches in 6 steps what DDIM
# reached in 16: on the chosen maps of outside.json and people.json (72 graphs, one draw each, read
# back by the segmenter) object recall 0.898 / relations 0.788 / mIoU 0.865 against DDIM-16's
# 0.897 / 0.773 / 0.862, at 0.375 of the network's calls (docs/history.md, 2026-12-07).
DEFAULT_STEPS = {"segmentation": 4, "depth": 8, "sketch": 10, "image": 6}
# Each factor's scheduler where a request names none (`Settings.scheduler` ""). The segmentation
# factor was distilled for DDIM's timesteps; depth and sketch were measured only under DDIM.
DEFAULT_SCHEDULERS = {"segmentation": "ddim", "depth": "ddim", "sketch": "ddim", "image": "dpm"}
SCHEDULERS = ("ddim", "dpm")


@torch.no_grad()
def graph_conditions(encoder: SceneGraphEncoder, words: WordTable, graph: SceneGraph, seeds: list[int],
                     jitter: float = 1.0, vocabulary: vocabularies.Vocabulary | None = None, tries: int = 1,
                     mend: bool = False):
    """For one graph and each seed: the object tokens (shared), and a layout drawn at SEG_SIZE from
    the encoder's boxes, jittered by the seed (jitter 0 = the boxes as predicted), with the boxes of
    two objects of one class moved apart (`separate_duplicates`); the labels are classes of
    `vocabulary` (default the tiny world's). `tries` (placement): up to this many jitters of each
    seed are drawn, each judged against the graph as a map (`layout_score`), and the first that
    scores best is kept; the first jitter is the one `tries=1` draws.
    -> tokens (N, O, D), pad (N, O), layouts (N, S, S) class ids."""
    batch = tensorize([graph], words)
    out = encoder.graph(batch)
    tokens, pad = pad_objects(out.objects.float(), batch.obj_graph, 1)
    boxes, disp = out.boxes.float().numpy(), out.disparity.float().numpy()
    layouts = [placed_layout(graph, boxes, disp, s, jitter, vocabulary, tries, mend)[0][0] for s in seeds]
    n = len(seeds)
    return tokens.expand(n, -1, -1), pad.expand(n, -1), torch.from_numpy(np.stack(layouts)).long()


def placed_layout(graph: SceneGraph, boxes: np.ndarray, disparity: np.ndarray, seed: int, jitter: float = 1.0,
                  vocabulary: vocabularies.Vocabulary | None = None, tries: int = 1, mend: bool = False):
    """One seed's layout (`graph_conditions`): the encoder's boxes jittered (the seed's first jitter,
    then others), duplicates parted, drawn at SEG_SIZE; with `tries` > 1 the first of the best
    judged (`layout_score`). -> (`draw_layout`'s (class ids, instances, disparity), its score or None
    where it was not judged)."""
    triples = graph.triples()
    best = None
    for t in range(max(1, tries) if jitter else 1):
        rng = np.random.default_rng([int(seed), 7] if t == 0 else [int(seed), 7, t])
        b = separate_duplicates(graph.labels, jitter_boxes(boxes, rng, 0.04 * jitter, 0.15 * jitter)
                                if jitter else boxes, triples)
        if mend:
            _, _, drawn, verdict = mend_layout(graph, b, disparity, vocabulary)
        else:
            drawn, verdict = draw_layout(graph.labels, b, disparity, SEG_SIZE, vocabulary), None
        if tries <= 1:
            return drawn, None
        score = verdict.compliance if verdict is not None else layout_score(graph, drawn, vocabulary)
        if best is None or score > best[1]:
            best = (drawn, score)
        if score == PERFECT:
            break
    return best


PERFECT = (1.0, 1.0)
# `mend_layout`: at most this many changes of a layout, each the best of its round's proposals.
MEND_ROUNDS = 4


def mend_layout(graph: SceneGraph, boxes: np.ndarray, disparity: np.ndarray,
                vocabulary: vocabularies.Vocabulary | None = None, rounds: int = MEND_ROUNDS) -> tuple:
    """The encoder's boxes mended where the drawn layout breaks the graph: each round, every object
    the drawing hides and every relation that fails proposes small changes (`world.boxes.mends`,
    `unhidden`), each drawn and judged as a map (`layout_score`); the best is kept if it is better
    than the layout before, else mending stops. -> (boxes, disparity, the drawn layout, its verdict)."""
    v = vocabularies.or_tiny(vocabulary)
    stuff = [v.is_stuff(lab) for lab in graph.labels]

    def drawn_of(b, d):
        return draw_layout(graph.labels, b, d, SEG_SIZE, v)

    drawn = drawn_of(boxes, disparity)
    verdict = layout_verdict(graph, drawn, v)
    for _ in range(rounds):
        score = verdict.compliance
        if score == PERFECT:
            break
        proposals = [p for o in verdict.objects if not o.present for p in unhidden(o.index, boxes, disparity)]
        proposals += [p for r in verdict.relations if r.holds is False
                      for p in mends(r.predicate, r.subject, r.object, boxes, disparity, stuff)]
        best = None
        for b, d in proposals:
            dr = drawn_of(b, d)
            vd = layout_verdict(graph, dr, v)
            if vd.compliance > (best[3].compliance if best else score):
                best = (b, d, dr, vd)
        if best is None:
            break
        boxes, disparity, drawn, verdict = best
    return boxes, disparity, drawn, verdict


def layout_score(graph: SceneGraph, drawn: tuple, vocabulary: vocabularies.Vocabulary | None = None
                 ) -> tuple[float, float]:
    """A drawn layout (`draw_layout`'s class map, instances, disparity) judged against the graph as a
    map is: (object recall, relation accuracy; 1 where nothing can be judged)."""
    return layout_verdict(graph, drawn, vocabulary).compliance


def layout_verdict(graph: SceneGraph, drawn: tuple, vocabulary: vocabularies.Vocabulary | None = None):
    """The judge's verdict on a drawn layout (`draw_layout`'s class map, instances, disparity)."""
    from ..graph import judge

    seg, inst, depth = drawn
    return judge.judge(graph.labels, graph.triples(), seg, depth, instances=inst,
                       vocabulary=vocabularies.or_tiny(vocabulary))


def named_classes(labels: list[str] | tuple[str, ...],
                  vocabulary: vocabularies.Vocabulary | None = None) -> torch.Tensor:
    """(classes of `vocabulary`,) bool: every stuff class (a picture always has a background, named or
    not) and the thing classes among `labels`. A render of the tiny world shows no thing its graph
    does not name, so the segmentation factor sampled under this restriction draws what the graph asks."""
    v = vocabularies.or_tiny(vocabulary)
    allowed = torch.zeros(len(v), dtype=torch.bool)
    allowed[sorted(v.stuff_positions)] = True
    for label in labels:
        allowed[v.position(label)] = True
    return allowed


def segmentation(model: FactorDenoiser, tokens, pad, layouts: torch.Tensor, seeds: list[int], steps: int = 10,
                 guidance: float = 1.0, scheduler: str = "ddim", on_step=None,
                 allowed: torch.Tensor | None = None) -> torch.Tensor:
    """-> class ids (N, SEG_SIZE, SEG_SIZE). `allowed`: the classes the maps may hold (`named_classes`);
    None: any."""
    noise = seeded_noise(seeds, (model.config.out_channels, SEG_SIZE, SEG_SIZE), SALT["segmentation"])
    conds = [onehot(layouts, model.config.cond_channels[0])]
    logits = sample(model, noise, conds, tokens, pad, steps, guidance, scheduler, on_step, allowed)
    return logits.argmax(1).cpu()


def depth(model: FactorDenoiser, seg: torch.Tensor, seeds: list[int], steps: int = 8, guidance: float = 1.0,
          scheduler: str = "ddim", on_step=None) -> torch.Tensor:
    """seg (N, 64, 64) class ids -> disparity (N, 32, 32) in [0, 1]."""
    noise = seeded_noise(seeds, (1, DEPTH_SIZE, DEPTH_SIZE), SALT["depth"])
    n = model.config.cond_channels[0]
    small = downsample_classes(seg, SEG_SIZE // DEPTH_SIZE, n)
    out = sample(model, noise, [onehot(small, n)], steps=steps, guidance=guidance, scheduler=scheduler, on_step=on_step)
    return ((out.clamp(-1, 1) + 1) / 2).squeeze(1).cpu()


def upsampled(seg: torch.Tensor, disparity: torch.Tensor | None, n: int | None = None
              ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The sketch factor's conditions at the maps' size: one-hot segmentation (n classes) and depth
    (bilinear); None stays None (a null condition)."""
    return onehot(seg, n), depth_tensor(disparity, MAP_SIZE) if disparity is not None else None


def sketch(model: FactorDenoiser, seg: torch.Tensor, disparity: torch.Tensor | None, seeds: list[int], steps: int = 10,
           guidance: float = 1.0, scheduler: str = "ddim", on_step=None) -> torch.Tensor:
    """-> uint8 (N, 64, 64), 255 on edges."""
    seg64, depth64 = upsampled(seg, disparity, model.config.cond_channels[0])
    noise = seeded_noise(seeds, (1, MAP_SIZE, MAP_SIZE), SALT["sketch"])
    out = sample(model, noise, [seg64, depth64], steps=steps, guidance=guidance, scheduler=scheduler,
                 on_step=on_step)
    return ((out > 0).squeeze(1) * 255).to(torch.uint8).cpu()


def image(model: FactorDenoiser, seg: torch.Tensor, disparity: torch.Tensor | None, edges: torch.Tensor | None,
          seeds: list[int], steps: int = 16, guidance: float = 1.0, scheduler: str = "ddim",
          on_step=None) -> torch.Tensor:
    """-> (N, 3, P, P) in [-1, 1], P the factor's size (128 shipped). A depth or sketch of None is a
    null condition (the factor was trained with them dropped): an image from the segmentation alone."""
    size = model.config.size
    noise = seeded_noise(seeds, (3, size, size), SALT["image"])
    conds = picture_conditions(seg, disparity, edges, size, model.config.cond_channels[0])
    return sample(model, noise, conds, steps=steps, guidance=guidance, scheduler=scheduler, on_step=on_step).cpu()


def images_of_requests(jobs: list) -> list:
    """The image stage (`image`) of several requests as one forward pass where they share the model,
    steps, guidance and scheduler (the rest each alone). A job: (model, seg, disparity, edges, seeds,
    steps, guidance, scheduler, on_step). -> each request's pictures, or the exception its own progress
    callback raised (its Stop: the others go on), or the error the batch met (logged here). A Ray
    Serve replica batches requests with it (`backends/serve.py`)."""
    import logging

    out: list = [None] * len(jobs)
    groups: dict[tuple, list[int]] = {}
    for k, (model, _, _, _, _, steps, guidance, scheduler, _) in enumerate(jobs):
        groups.setdefault((id(model), steps, guidance, scheduler), []).append(k)
    for members in groups.values():
        model, _, _, _, _, steps, guidance, scheduler, _ = jobs[members[0]]
        stopped: dict[int, BaseException] = {}

        def progress(i: int, n: int, members=members, stopped=stopped) -> None:
            for k in members:
                step = jobs[k][8]
                if step is not None and k not in stopped:
                    try:
                        step(i, n)
                    except BaseException as e:  # noqa: BLE001 - that request's own Stop
                        stopped[k] = e

        try:
            x = image(model, torch.cat([jobs[k][1] for k in members]), torch.cat([jobs[k][2] for k in members]),
                      torch.cat([jobs[k][3] for k in members]), [s for k in members for s in jobs[k][4]],
                      steps, guidance, scheduler, progress)
        except Exception as e:  # noqa: BLE001 - every request of the batch is told
            logging.getLogger(__name__).exception("a batch of %d pictures failed", len(members))
            for k in members:
                out[k] = e
            continue
        start = 0
        for k in members:
            n = len(jobs[k][4])
            out[k] = stopped.get(k, x[start:start + n])
            start += n
    return out


def to_image_size(seg: torch.Tensor, disparity: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Maps at the image's size for output and judging: class ids and disparity (bilinear)."""
    seg64 = seg.to(torch.uint8).numpy()
    d = F.interpolate(disparity.unsqueeze(1).float(), size=MAP_SIZE, mode="bilinear", align_corners=False)
    return seg64, (d.squeeze(1).clamp(0, 1).numpy() * 255).round().astype(np.float32) / 255


def clean_segmentation(seg: np.ndarray, min_pixels: int = 6) -> np.ndarray:
    """Islands smaller than min_pixels (8-connected, per class) take the most common class around
    them: sampling leaves a few stray pixels that no judge counts and no image factor draws."""
    from scipy import ndimage

    out = np.array(seg, copy=True)
    eight = np.ones((3, 3), bool)
    for cid in np.unique(out):
        labels, n = ndimage.label(out == cid, structure=eight)
        if n == 0:
            continue
        sizes = np.bincount(labels.ravel())
        for comp in np.nonzero(sizes[1:] < min_pixels)[0] + 1:
            mask = labels == comp
            ring = ndimage.binary_dilation(mask, structure=eight) & ~mask
            around = out[ring]
            around = around[around != cid]
            if around.size:
                out[mask] = np.bincount(around).argmax()
    return out


def fill_slivers(seg: np.ndarray, vocabulary: vocabularies.Vocabulary | None = None) -> np.ndarray:
    """Pieces of a thing class with no pixel whose four neighbours are of the piece too (nowhere
    three pixels thick) take the class of the nearest pixel outside them. The segmenter reads such
    slivers along the edges of stuff in a picture enlarged from a small JPEG (a fence at the water's
    edge where there was none), and no real thing it found in one was that thin; in a sharp picture
    a real fence can be (docs/history.md), so `Chain.read` fills them only in small pictures.
    The map holds classes of `vocabulary` (default the tiny world's)."""
    from scipy import ndimage

    v = vocabularies.or_tiny(vocabulary)
    eight, cross = np.ones((3, 3), bool), ndimage.generate_binary_structure(2, 1)
    thin = np.zeros(seg.shape, bool)
    for cid in np.unique(seg):
        if int(cid) in v.stuff_positions or int(cid) >= len(v):
            continue
        mine = seg == cid
        labels, _ = ndimage.label(mine, structure=eight)
        # A pixel whose four neighbours are of the class shares their 8-connected piece.
        thick = np.unique(labels[ndimage.binary_erosion(mine, structure=cross)])
        thin |= mine & ~np.isin(labels, thick)
    out = np.array(seg, copy=True)
    if thin.any() and not thin.all():
        _, (iy, ix) = ndimage.distance_transform_edt(thin, return_indices=True)
        out[thin] = seg[iy[thin], ix[thin]]
    return out


def edited_maps(depth: np.ndarray | None, sketch: np.ndarray | None, what: str
                ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """An edited depth (64, 64, disparity in [0, 1]) and sketch (64, 64, 0..255) for a rerun, checked
    against what reruns: a depth given is kept, so the depth is not sampled again; a sketch given
    is kept, so only the picture reruns."""
    if depth is not None:
        if what == "depth":
            raise BadInput("an edited depth map reruns the sketch and the picture: rerun from the sketch")
        depth = np.asarray(depth, np.float32)
        if depth.shape != (MAP_SIZE, MAP_SIZE) or not np.isfinite(depth).all():
            raise BadInput(f"an edited depth map must be {MAP_SIZE}x{MAP_SIZE} finite numbers, not {depth.shape}")
        depth = np.clip(depth, 0.0, 1.0)
    if sketch is not None:
        if what != "image":
            raise BadInput("an edited sketch reruns the picture alone: rerun the image")
        sketch = np.asarray(sketch)
        if sketch.shape != (MAP_SIZE, MAP_SIZE) or sketch.dtype.kind not in "uib" or (
                sketch.size and (sketch.min() < 0 or sketch.max() > 255)):
            raise BadInput(f"an edited sketch must be {MAP_SIZE}x{MAP_SIZE} bytes, not {sketch.shape} {sketch.dtype}")
        sketch = sketch.astype(np.uint8)
    return depth, sketch


def edited_where(result, depth: np.ndarray | None = None, sketch: np.ndarray | None = None) -> np.ndarray | None:
    """Where an edited depth map (by more than half a step of 1/255) or sketch differs from a
    result's own (bool, the maps' size); None where neither was edited."""
    diff = None
    if depth is not None:
        diff = np.abs(np.asarray(depth, np.float32) - np.asarray(result.depth, np.float32)) > 0.5 / 255
    if sketch is not None:
        moved = np.asarray(sketch) != np.asarray(result.sketch)
        diff = moved if diff is None else diff | moved
    return diff


def pooled_edit(depth32: torch.Tensor, before: np.ndarray, after: np.ndarray) -> torch.Tensor:
    """The factors' depth (32, 32) after an edit of the depth map (64, 64): moved by the edit's mean
    change over each 2x2 block, the same where the edit changed nothing."""
    delta = torch.from_numpy(np.asarray(after, np.float32) - np.asarray(before, np.float32))
    k = delta.shape[-1] // depth32.shape[-1]
    moved = F.avg_pool2d(delta[None, None], k)[0, 0]
    return (depth32.float() + moved).clamp(0, 1)
