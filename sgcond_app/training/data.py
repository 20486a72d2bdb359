"""Training data: an endless stream of tiny-world renders, seeds split between DataLoader workers.

Seeds below `HELD_OUT_SEED` are for training; every bench draws its samples from `HELD_OUT_SEED`
on, so no benchmark ever sees a training render.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ..errors import BadInput
from ..graph import vocab
from ..graph.scene_graph import Relation, SceneGraph, SGObject
from ..world import Sample, classes, render_sample
from ..world.render import rasterize

HELD_OUT_SEED = 1_000_000_000
ASYMMETRIC = tuple(p for p in vocab.PREDICATES if vocab.INVERSE.get(p) != p)  # all but "near"


def held_out_samples(n: int, size: int = 64, start: int = 0) -> list[Sample]:
    return [render_sample(HELD_OUT_SEED + start + i, size) for i in range(n)]


def object_boxes(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    """Per graph object: its instance's bounding box (x0, y0, x1, y1 as fractions) and median
    disparity (near is 1)."""
    h, w = sample.instances.shape
    boxes = np.zeros((len(sample.object_instances), 4), np.float32)
    disp = np.zeros(len(sample.object_instances), np.float32)
    for k, iid in enumerate(sample.object_instances):
        ys, xs = np.nonzero(sample.instances == iid)
        boxes[k] = (xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h)
        disp[k] = float(np.median(sample.depth[ys, xs]))
    return boxes, disp


# --- hard negatives (Structure-CLIP): the same graph with one fact made false ------------------


def reversed_twin(g: SceneGraph, rng: np.random.Generator) -> SceneGraph | None:
    """One asymmetric relation made false: its predicate replaced by the inverse (left of -> right
    of, above -> below, ...), or, for a predicate without one ("on"), subject and object exchanged."""
    choices = [k for k, r in enumerate(g.relations) if r.predicate in ASYMMETRIC]
    if not choices:
        return None
    k = int(rng.choice(choices))
    rels = list(g.relations)
    r = rels[k]
    inverse = vocab.INVERSE.get(r.predicate)
    flipped = Relation(r.subject, inverse, r.object) if inverse else Relation(r.object, r.predicate, r.subject)
    if flipped in rels:
        return None
    rels[k] = flipped
    return SceneGraph(g.objects, tuple(rels))


def swapped_twin(g: SceneGraph, rng: np.random.Generator) -> SceneGraph | None:
    """Two objects of different classes and different attributes exchange their attributes."""
    pairs = [(a, b) for a in range(len(g.objects)) for b in range(a + 1, len(g.objects))
             if g.objects[a].label != g.objects[b].label
             and set(g.objects[a].attributes) != set(g.objects[b].attributes)]
    if not pairs:
        return None
    a, b = pairs[int(rng.integers(len(pairs)))]
    objs = list(g.objects)
    objs[a], objs[b] = (SGObject(objs[a].label, g.objects[b].attributes),
                        SGObject(objs[b].label, g.objects[a].attributes))
    return SceneGraph(tuple(objs), g.relations)


def with_aliases(g: SceneGraph, labels: dict[str, list[str]], predicates: dict[str, list[str]],
                 p: float, rng: np.random.Generator) -> SceneGraph:
    """Each label and predicate replaced, with probability p, by one of its (training) aliases."""
    def swap(word: str, table: dict[str, list[str]]) -> str:
        options = table.get(word) or []
        return options[int(rng.integers(len(options)))] if options and rng.random() < p else word

    objs = tuple(SGObject(swap(o.label, labels), o.attributes) for o in g.objects)
    rels = tuple(Relation(r.subject, swap(r.predicate, predicates), r.object) for r in g.relations)
    return SceneGraph(objs, rels)


def without_stuff(g: SceneGraph, boxes: np.ndarray, disparity: np.ndarray, p: float,
                  rng: np.random.Generator, is_stuff=classes.is_stuff) -> tuple[SceneGraph, np.ndarray, np.ndarray]:
    """Each stuff object (sky, grass, a road...) left out of the graph with probability p, with its
    relations, box and disparity; the picture keeps it. People name the things in a picture and
    often leave its background unsaid: a model trained on graphs that always name it meets such a
    graph out of its distribution, and filled the gaps with things nobody asked for. At least one
    object stays. `is_stuff`: of a label (default the tiny world's classes)."""
    keep = [not (is_stuff(o.label) and rng.random() < p) for o in g.objects]
    if not any(keep) or all(keep):
        return g, boxes, disparity
    index = {}
    for k, kept in enumerate(keep):
        if kept:
            index[k] = len(index)
    objs = tuple(o for o, kept in zip(g.objects, keep, strict=True) if kept)
    rels = tuple(Relation(index[r.subject], r.predicate, index[r.object]) for r in g.relations
                 if r.subject in index and r.object in index)
    mask = np.array(keep)
    return SceneGraph(objs, rels), boxes[mask], disparity[mask]


def mirrored(g: SceneGraph) -> SceneGraph:
    """The graph of a picture's mirror image: left of and right of exchanged."""
    swap = {"left of": "right of", "right of": "left of"}
    return SceneGraph(g.objects, tuple(Relation(r.subject, swap.get(r.predicate, r.predicate), r.object)
                                       for r in g.relations))


def flip_horizontal(sample: Sample) -> Sample:
    """The mirror image, with left of / right of exchanged in the graph."""
    return Sample(sample.image[:, ::-1].copy(), sample.segmentation[:, ::-1].copy(),
                  sample.instances[:, ::-1].copy(), sample.depth[:, ::-1].copy(),
                  sample.sketch[:, ::-1].copy(), mirrored(sample.graph), sample.object_instances, sample.scene)


# --- the stream --------------------------------------------------------------------------------


@dataclass
class Item:
    image: np.ndarray  # (H, W, 3) uint8
    segmentation: np.ndarray  # (H, W) uint8
    graph: SceneGraph  # possibly in alias words
    labels: list[str]  # the objects' classes in the tiny world's words
    twins: list[SceneGraph]
    boxes: np.ndarray  # (O, 4)
    disparity: np.ndarray  # (O,)
    depth: np.ndarray | None = None  # (H, W) float32
    sketch: np.ndarray | None = None  # (H, W) uint8
    picture: np.ndarray | None = None  # (P, P, 3) uint8: the same scene drawn at the picture size


class RenderStream(IterableDataset):
    """Endless training items. Process `rank` of `world`, worker w of W, renders seeds
    start + (rank * W + w), then every (world * W)-th after it. Each render enters a small pool and
    `reuse` items are drawn from the pool per render, each with fresh augmentation (a horizontal
    flip; words replaced by aliases; new hard negatives): on a GPU the renderer is the bottleneck.
    `picture_size`: the scene is also drawn at that size (the image factor's picture); `drop_stuff`:
    the probability that a stuff object is left out of an item's graph (`without_stuff`)."""

    def __init__(self, size: int = 64, start: int = 0, graphs: bool = True, alias_p: float = 0.15,
                 flip: bool = True, reuse: int = 1, pool: int = 256, rank: int = 0, world: int = 1,
                 picture_size: int | None = None, drop_stuff: float = 0.0) -> None:
        super().__init__()
        self.size, self.start, self.graphs, self.alias_p, self.flip = size, start, graphs, alias_p, flip
        self.reuse, self.pool, self.rank, self.world = max(1, reuse), pool, rank, world
        self.picture_size, self.drop_stuff = picture_size, drop_stuff

    def __iter__(self):
        from ..models.words import training_aliases

        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        labels, predicates = training_aliases()
        stride = nw * self.world
        seed = self.start + self.rank * nw + wid
        rng = np.random.default_rng([self.start, self.rank, wid, 17])
        pool: list[tuple[Sample, np.ndarray, np.ndarray, np.ndarray | None]] = []
        while True:
            s = render_sample(seed % HELD_OUT_SEED, self.size)
            seed += stride
            picture = rasterize(s.scene, self.picture_size).image if self.picture_size else None
            entry = ((s, *object_boxes(s)) if self.graphs
                     else (s, np.zeros((0, 4), np.float32), np.zeros(0, np.float32))) + (picture,)
            if len(pool) < self.pool:
                pool.append(entry)
            else:
                pool[int(rng.integers(len(pool)))] = entry
            picks = [entry] + [pool[int(rng.integers(len(pool)))] for _ in range(self.reuse - 1)]
            for s, boxes, disp, picture in picks:
                if self.flip and rng.random() < 0.5:
                    s = flip_horizontal(s)
                    boxes = np.stack([1 - boxes[:, 2], boxes[:, 1], 1 - boxes[:, 0], boxes[:, 3]], axis=1)
                    picture = picture[:, ::-1].copy() if picture is not None else None
                if not self.graphs:
                    yield Item(s.image, s.segmentation, s.graph, s.graph.labels, [], boxes, disp, s.depth, s.sketch,
                               picture)
                    continue
                g = s.graph
                if self.drop_stuff:
                    g, boxes, disp = without_stuff(g, boxes, disp, self.drop_stuff, rng)
                labels_ = g.labels
                g = with_aliases(g, labels, predicates, self.alias_p, rng)
                twins = [t for t in (reversed_twin(g, rng), swapped_twin(g, rng)) if t is not None]
                yield Item(s.image, s.segmentation, g, labels_, twins, boxes, disp, s.depth, s.sketch, picture)


class SourceStream(IterableDataset):
    """Endless training items from dataset sources (`data/sources.py`, `KIND:PATH`), read one after
    another and again from the start at the end, never all in memory. Process `rank` of `world`, worker
    w of W, takes every (world * W)-th record; `start` records are passed over first (a resumed run).
    Pictures are centre-cropped to a square and resized to `size`, class maps the same way (nearest);
    255 in a class map is no class. `graphs=False`: items without graphs (as the segmenter takes);
    True: with each graph's objects matched to the map (their boxes and disparities), its hard
    negatives, the record's depth and sketch where it has them (the tiny world's) and else a depth by
    the ground-plane rule and a sketch (`reading/maps.py`), the picture also at `picture_size`, mirrored
    half the time (`flip`) and with stuff left out of the graph (`drop_stuff`) as `RenderStream` does.
    Records whose graph names nothing the map shows are passed over."""

    def __init__(self, names: list[str], size: int = 64, start: int = 0, rank: int = 0, world: int = 1,
                 images: str | None = None, graphs: bool = False, picture_size: int | None = None,
                 flip: bool = True, drop_stuff: float = 0.0) -> None:
        super().__init__()
        self.names, self.size, self.start, self.rank, self.world, self.images = names, size, start, rank, world, images
        self.graphs, self.picture_size, self.flip, self.drop_stuff = graphs, picture_size, flip, drop_stuff

    def _crop(self, record) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(picture square-cropped, not resized; class map, instances, and the depth and sketch where the
        record has them, cropped and resized to `size`)."""
        h, w = record.segmentation.shape
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        idx = (np.arange(self.size) * side // self.size).clip(0, side - 1)

        def cut(a: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(a[top:top + side, left:left + side][idx][:, idx])

        picture = record.picture()
        if picture.shape[:2] == (h, w):
            picture = picture[top:top + side, left:left + side]
        maps = [None if m is None or m.shape != (h, w) else cut(m) for m in (record.depth, record.sketch)]
        return picture, cut(record.segmentation), cut(record.instances), *maps

    def _fitted(self, record) -> tuple[np.ndarray, np.ndarray]:
        from ..reading.load import fit

        picture, seg, *_ = self._crop(record)
        return fit(picture, self.size), seg

    def _item(self, record, rng: np.random.Generator) -> Item | None:
        from ..reading.load import fit
        from ..reading.maps import ground_depth, object_layout, sketch_of

        v = record.vocabulary
        picture, seg, inst, depth, sketch = self._crop(record)
        image = fit(picture, self.size)
        big = fit(picture, self.picture_size) if self.picture_size and self.picture_size != self.size else None
        depth = ground_depth(seg, inst, v) if depth is None else depth.astype(np.float32)
        sketch = sketch_of(image, inst) if sketch is None else sketch
        graph = record.graph
        if self.flip and rng.random() < 0.5:
            image, seg, depth, sketch = (np.ascontiguousarray(a[:, ::-1]) for a in (image, seg, depth, sketch))
            big = np.ascontiguousarray(big[:, ::-1]) if big is not None else None
            graph = mirrored(graph)
        graph, boxes, disp = object_layout(graph, seg, depth, v)
        if not graph.objects:
            return None
        if self.drop_stuff:
            graph, boxes, disp = without_stuff(graph, boxes, disp, self.drop_stuff, rng, v.is_stuff)
        twins = [t for t in (reversed_twin(graph, rng), swapped_twin(graph, rng)) if t is not None]
        return Item(image, seg, graph, list(graph.labels), twins, boxes, disp, depth, sketch, big)

    def __iter__(self):
        from ..data.sources import parse

        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        stride, offset = nw * self.world, self.rank * nw + wid
        rng = np.random.default_rng([self.start, self.rank, wid, 29])
        sources = [parse(n, self.images, self.size) for n in self.names]
        k, none = 0, np.zeros((0, 4), np.float32)
        while True:
            before = k
            for source in sources:
                for record in source.records():
                    if k >= self.start and k % stride == offset:
                        if self.graphs:
                            item = self._item(record, rng)
                            if item is not None:
                                yield item
                        else:
                            image, seg = self._fitted(record)
                            yield Item(image, seg, record.graph, record.graph.labels, [], none,
                                       np.zeros(0, np.float32))
                    k += 1
            if k == before:
                raise BadInput(f"{', '.join(self.names)}: no record could be read")


def collate(items: list[Item]) -> dict:
    """Tensors that need no word table; graphs stay Python values (a collate built on this embeds them)."""
    return {
        "image": torch.from_numpy(np.stack([it.image for it in items])),
        "segmentation": torch.from_numpy(np.stack([it.segmentation for it in items])).long(),
        "graphs": [it.graph for it in items],
        "twins": [(k, t) for k, it in enumerate(items) for t in it.twins],
        "boxes": torch.from_numpy(np.concatenate([it.boxes for it in items])),
        "disparity": torch.from_numpy(np.concatenate([it.disparity for it in items])),
    }
