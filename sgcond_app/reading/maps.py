"""The maps a dataset does not have, made for training the chain on it: a depth by rule, a sketch from
the picture and its instances, each graph object's box and disparity.

Published datasets (COCO, ADE20K, a folder of class maps) bring pictures, class maps and instances,
not depth and not sketches. The chain's depth and sketch factors still need targets:

- **Depth: a ground-plane rule, not a measurement.** The camera looks along a ground that recedes
  towards the horizon: a pixel of ground-like stuff (the vocabulary's `ground`, or any stuff below
  the horizon) is nearer the lower it is in the picture; sky is farthest; a thing stands where its
  lowest pixel meets the ground, and is one disparity throughout (Hoiem, Efros and Hebert's "putting
  objects in perspective" reading of a picture). The tiny world's renders are drawn so; a real photo
  is only roughly so. A model card of a depth factor trained on it says so.
- **Sketch: the instances' outlines and the picture's strong edges** (Canny on the picture at the map
  size), as the tiny world's sketch holds silhouettes and part boundaries.
"""

from __future__ import annotations

import numpy as np

from ..graph import judge
from ..graph.scene_graph import SceneGraph
from ..graph.vocabularies import Vocabulary

FAR = 0.05  # the disparity of the horizon and above it (sky is 0)
NEAR = 0.95  # the disparity of the picture's bottom row


def ground_depth(seg: np.ndarray, inst: np.ndarray, vocabulary: Vocabulary) -> np.ndarray:
    """(H, W) disparity in [0, 1] (near is 1) by the ground-plane rule: stuff by its row (the horizon
    at the top of the highest ground-like stuff, or a third of the way down where there is none), sky
    0, each thing the disparity of the ground at its lowest row. `seg` holds positions in the
    vocabulary (255: none, which is taken as stuff), `inst` one id per region (0: none)."""
    h, w = seg.shape
    rows = np.arange(h, dtype=np.float32)
    def positions(names) -> list[int]:
        return [k for k in map(vocabulary.position, names) if k is not None]

    ground = np.isin(seg, positions(vocabulary.ground))
    horizon = int(np.nonzero(ground.any(1))[0].min()) if ground.any() else h // 3
    horizon = min(horizon, h - 2)
    by_row = np.where(rows <= horizon, FAR, FAR + (NEAR - FAR) * (rows - horizon) / max(1, h - 1 - horizon))
    depth = np.repeat(by_row[:, None], w, axis=1).astype(np.float32)
    sky = np.isin(seg, positions(vocabulary.sky))
    depth[sky] = 0.0
    stuff = np.array(list(vocabulary.stuff) + [True] * (256 - len(vocabulary)), bool)
    for iid in np.unique(inst):
        if iid == 0:
            continue
        mask = inst == iid
        cls = int(np.bincount(seg[mask]).argmax())
        if stuff[cls]:
            continue
        bottom = int(np.nonzero(mask.any(1))[0].max())
        depth[mask] = by_row[bottom]
    return depth


def boundaries(labels: np.ndarray) -> np.ndarray:
    """(H, W) uint8, 255 where a pixel's label (a class, an instance) differs from a neighbour's
    (4-connected). Also the sd backend's soft-edge condition inside an edit of a map no sketch
    factor knows."""
    labels = np.asarray(labels)
    edge = np.zeros(labels.shape, bool)
    edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    edge[1:, :] |= labels[1:, :] != labels[:-1, :]
    return edge.astype(np.uint8) * 255


def sketch_of(picture: np.ndarray, inst: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """(H, W) uint8, 255 on edges: where an instance meets another (`boundaries`) and where the picture
    (H, W, 3), at the same size, has a strong edge (Canny)."""
    from skimage.feature import canny

    grey = np.asarray(picture, np.float32).mean(-1) / 255.0
    edge = (boundaries(inst) > 0) | canny(grey, sigma=sigma, low_threshold=0.1, high_threshold=0.2)
    return edge.astype(np.uint8) * 255


def object_layout(graph: SceneGraph, seg: np.ndarray, depth: np.ndarray,
                  vocabulary: Vocabulary) -> tuple[SceneGraph, np.ndarray, np.ndarray]:
    """Each object of `graph` (in the vocabulary's words) matched to a region of the map by the judge:
    -> (the graph of the objects found, their boxes (O, 4) as fractions x0, y0, x1, y1, their median
    disparity (O,)). Objects the map does not show are left out with their relations."""
    from ..graph.scene_graph import Relation

    verdict = judge.judge(graph.labels, graph.triples(), seg, depth, vocabulary=vocabulary)
    h, w = seg.shape
    found = {o.index: verdict.regions[o.region] for o in verdict.objects if o.region is not None}
    keep = sorted(found)
    index = {k: j for j, k in enumerate(keep)}
    boxes = np.zeros((len(keep), 4), np.float32)
    disparity = np.zeros(len(keep), np.float32)
    for j, k in enumerate(keep):
        x0, y0, x1, y1 = found[k].box
        boxes[j] = (x0 / w, y0 / h, (x1 + 1) / w, (y1 + 1) / h)
        disparity[j] = float(np.median(depth[found[k].mask]))
    relations = tuple(Relation(index[r.subject], r.predicate, index[r.object]) for r in graph.relations
                      if r.subject in index and r.object in index)
    return SceneGraph(tuple(graph.objects[k] for k in keep), relations), boxes, disparity
