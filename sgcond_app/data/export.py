"""Labelled datasets out: pictures with their segmentation, instances, depth, sketch and graph, as
WebDataset shards, COCO panoptic annotations and a layout `datasets.load_dataset` reads.

    DIR/shards/shard-00000.tar   KEY.png, KEY.seg.png, KEY.inst.png, KEY.depth.png, KEY.sketch.png, KEY.json
    DIR/images/KEY.png           the pictures again, for COCO panoptic's readers
    DIR/panoptic/KEY.png         segment ids as R + 256 G + 256² B
    DIR/panoptic.json            COCO panoptic: images, annotations (with each picture's graph), categories
    DIR/instances.json           COCO instances of the same segments (RLE masks), as `pycocotools` reads them
    DIR/README.md                what it holds, how it was made, how to load it

All maps are at the picture's size (class and instance maps nearest, depth bilinear). A class map
holds each class's position in the vocabulary (`KEY.json` names it); a panoptic category's id is
that position + 1 (0 is "unlabeled" in panoptic PNGs). A shard is written whole or not at all (to a
temporary name, then renamed; its panoptic part last): a stopped run started again writes only the
shards that are missing, never one twice.

`dataset` makes the samples with the chain on Ray Data (`generate`): a shard is one task of
`map_batches` on a pool of actors that each load the chain once (a local Ray on this machine's
cores unless `--address` joins a cluster); `data export` writes a source's records the same way
(`write_shard` in this process).
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import BadInput
from ..graph.vocabularies import Vocabulary

SHARD = "shard-{:05d}"
DEFAULT_SHARD_SIZE = 100


@dataclass
class Sample:
    key: str  # letters, digits, - and _ (WebDataset splits a file's name at its first dot)
    picture: np.ndarray  # (P, P, 3) uint8
    segmentation: np.ndarray  # (H, W) uint8 positions in `vocabulary`, 255 none
    instances: np.ndarray  # (H, W) int: 1.. a region each, 0 none
    vocabulary: Vocabulary
    graph: dict  # sg2im JSON
    depth: np.ndarray | None = None  # (H, W) float in [0, 1], near is 1
    sketch: np.ndarray | None = None  # (H, W) uint8
    meta: dict = field(default_factory=dict)  # seed, verdict, ... (in KEY.json)


def graph_table(graph: dict) -> dict:
    """A graph's sg2im JSON in the form tables take (Arrow, `datasets`, which read a column's type off
    its first rows): every object a {"label", "attributes"} with its attributes as one text ("red
    small", "" for none), every relation a {"subject", "predicate", "object"}."""
    objects = [{"label": o, "attributes": ""} if isinstance(o, str) else
               {"label": o["label"], "attributes": " ".join(o.get("attributes", []))} for o in graph["objects"]]
    return {"objects": objects, "relations": [{"subject": int(s), "predicate": str(p), "object": int(o)}
                                              for s, p, o in graph["relationships"]]}


def _png(array: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _resized(array: np.ndarray, side: int, nearest: bool) -> np.ndarray:
    from PIL import Image

    if array.shape[0] == side and array.shape[1] == side:
        return array
    if nearest:
        ys = (np.arange(side) * array.shape[0] // side).clip(0, array.shape[0] - 1)
        xs = (np.arange(side) * array.shape[1] // side).clip(0, array.shape[1] - 1)
        return array[ys][:, xs]
    return np.asarray(Image.fromarray(array.astype(np.float32), mode="F").resize((side, side), Image.BILINEAR))


def _files(s: Sample) -> dict[str, bytes]:
    side = s.picture.shape[0]
    seg = _resized(s.segmentation, side, True).astype(np.uint8)
    inst = _resized(s.instances, side, True)
    out = {"png": _png(s.picture), "seg.png": _png(seg),
           "inst.png": _png(inst.astype(np.uint8) if inst.max() < 256 else inst.astype(np.uint16))}
    if s.depth is not None:
        d = _resized(np.asarray(s.depth, np.float32), side, False)
        out["depth.png"] = _png((np.clip(d, 0, 1) * 255).round().astype(np.uint8))
    if s.sketch is not None:
        out["sketch.png"] = _png(_resized(np.asarray(s.sketch, np.uint8), side, True))
    meta = {k: graph_table(v) if k.endswith("graph") and isinstance(v, dict) else v for k, v in s.meta.items()}
    out["json"] = json.dumps({"key": s.key, "vocabulary": s.vocabulary.name, "graph": graph_table(s.graph),
                              "size": side, **meta}).encode()
    return out


def _panoptic(s: Sample, image_id: int) -> tuple[np.ndarray, dict]:
    """(the panoptic PNG's RGB, its annotation) of a sample."""
    from .sources import id_to_rgb, regions

    side = s.picture.shape[0]
    seg = _resized(s.segmentation, side, True)
    inst = _resized(s.instances, side, True).astype(np.int64)
    segments = []
    for iid, mask, cid in list(regions(seg, inst)):
        if cid >= len(s.vocabulary):
            inst[mask] = 0
            continue
        ys, xs = np.nonzero(mask)
        segments.append({"id": int(iid), "category_id": cid + 1, "iscrowd": 0, "area": int(mask.sum()),
                         "bbox": [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1),
                                  int(ys.max() - ys.min() + 1)]})
    return id_to_rgb(inst), {"image_id": image_id, "file_name": f"{s.key}.png", "segments_info": segments,
                             "graph": s.graph}


def _instances(rgb_ids: np.ndarray, ann: dict) -> list[dict]:
    """COCO instance annotations (RLE masks) of a panoptic annotation's segments."""
    from pycocotools import mask as rle

    from .sources import rgb_to_id

    ids = rgb_to_id(rgb_ids)
    out = []
    for seg in ann["segments_info"]:
        m = rle.encode(np.asfortranarray((ids == seg["id"]).astype(np.uint8)))
        m["counts"] = m["counts"].decode("ascii")
        out.append({"id": ann["image_id"] * 1000 + seg["id"], "image_id": ann["image_id"],
                    "category_id": seg["category_id"], "segmentation": m, "area": seg["area"],
                    "bbox": seg["bbox"], "iscrowd": 0})
    return out


def shard_done(out: Path, shard: int) -> bool:
    return (out / "shards" / f"{SHARD.format(shard)}.tar").is_file() and \
        (out / "panoptic" / "parts" / f"{SHARD.format(shard)}.json").is_file()


def write_shard(samples: Iterable[Sample], out: Path, shard: int, first_image_id: int) -> dict:
    """One shard of samples: its tar, its pictures and panoptic PNGs, then its panoptic part (the mark
    that it is whole). -> {"shard", "samples", "vocabulary"}."""
    from PIL import Image

    name = SHARD.format(shard)
    for folder in ("shards", "images", "panoptic/parts"):
        (out / folder).mkdir(parents=True, exist_ok=True)
    tmp = out / "shards" / f".{name}.tar.part"
    images, annotations, instances, vocabulary = [], [], [], None
    with tarfile.open(tmp, "w") as tar:
        for k, s in enumerate(samples):
            if "." in s.key or "/" in s.key:
                raise ValueError(f"a sample key holds no dot or slash: {s.key!r}")
            vocabulary = s.vocabulary
            for ext, data in _files(s).items():
                info = tarfile.TarInfo(f"{s.key}.{ext}")
                info.size, info.mtime = len(data), 0
                tar.addfile(info, io.BytesIO(data))
            Image.fromarray(s.picture).save(out / "images" / f"{s.key}.png")
            rgb, ann = _panoptic(s, first_image_id + k)
            Image.fromarray(rgb).save(out / "panoptic" / f"{s.key}.png")
            side = s.picture.shape[0]
            images.append({"id": first_image_id + k, "file_name": f"{s.key}.png", "width": side, "height": side,
                           "graph": s.graph})
            annotations.append(ann)
            instances += _instances(rgb, ann)
    os.replace(tmp, out / "shards" / f"{name}.tar")
    part = out / "panoptic" / "parts" / f"{name}.json"
    body = {"images": images, "annotations": annotations, "instances": instances,
            "vocabulary": vocabulary.name if vocabulary else None}
    (part.parent / f".{name}.json.part").write_text(json.dumps(body))
    os.replace(part.parent / f".{name}.json.part", part)
    return {"shard": shard, "samples": len(images), "vocabulary": body["vocabulary"]}


def finish(out: Path, vocabulary: Vocabulary, made_by: str) -> dict:
    """panoptic.json from every whole shard's part, and README.md. -> counts."""
    parts = sorted((out / "panoptic" / "parts").glob("shard-*.json"))
    images, annotations, instances = [], [], []
    for p in parts:
        body = json.loads(p.read_text())
        images += body["images"]
        annotations += body["annotations"]
        instances += body["instances"]
    categories = [{"id": k + 1, "name": n, "isthing": int(not st), "color": [int(c) for c in rgb],
                   "supercategory": "stuff" if st else "thing"}
                  for k, (n, st, rgb) in enumerate(zip(vocabulary.classes, vocabulary.stuff, vocabulary.palette))]
    info = {"description": f"SGCond Studio: {made_by}", "date_created": time.strftime("%Y-%m-%d")}
    (out / "panoptic.json").write_text(json.dumps({
        "info": info, "sgcond": {"vocabulary": vocabulary.name},
        "images": images, "annotations": annotations, "categories": categories}))
    (out / "instances.json").write_text(json.dumps({
        "info": info, "sgcond": {"vocabulary": vocabulary.name},
        "images": images, "annotations": instances, "categories": categories}))
    shards = len(list((out / "shards").glob("shard-*.tar")))
    (out / "README.md").write_text(CARD.format(made_by=made_by, n=len(images), shards=shards,
                                               vocabulary=vocabulary.name, classes=len(vocabulary)))
    return {"samples": len(images), "shards": shards}


CARD = """---
configs:
- config_name: default
  data_files: "shards/*.tar"
---
# A labelled dataset made by SGCond Studio

- Made by: `{made_by}`
- {n} samples in {shards} WebDataset shards (`shards/`); the `{vocabulary}` vocabulary ({classes} classes).
- Each sample: `KEY.png` (the picture), `KEY.seg.png` (class map: each class's position in the
  vocabulary, 255 none), `KEY.inst.png` (instances, 0 none), `KEY.depth.png` (near is bright),
  `KEY.sketch.png` (edges), `KEY.json` (the graph as {{"objects": [{{"label", "attributes"}}], "relations":
  [{{"subject", "predicate", "object"}}]}}, attributes as one text, "red small"; the vocabulary; how it was
  made and judged).
- COCO panoptic: `panoptic.json` with `panoptic/` and `images/` (category id = class position + 1);
  COCO instances of the same segments (RLE): `instances.json`.

Load it with `datasets.load_dataset("webdataset", data_files="shards/*.tar")` (or this folder's
path), with `webdataset.WebDataset("shards/shard-{{00000..N}}.tar")`, or read `panoptic.json` with
`pycocotools` / `python -m sgcond_app data stats coco-panoptic:panoptic.json`.
"""


# --- made by the chain, on Ray Data -----------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    key: str
    graph: dict  # sg2im JSON of the graph to generate, in the tiny world's words
    source: dict  # the graph as the person wrote it
    seed: int


def jobs_for(mapped: list, per_graph: int, seed: int) -> list[Job]:
    """The samples to make: each graph (a `MappedGraph`; those with no known object are left out)
    `per_graph` times, each with its own seed."""
    kept = [m for m in mapped if m.graph is not None]
    return [Job(f"g{g:06d}-k{k:02d}", m.graph.to_sg2im(), m.source.to_sg2im(), seed + g * per_graph + k)
            for g, m in enumerate(kept) for k in range(per_graph)]


class ShardMaker:
    """A Ray actor's work: the chain loaded once; each call makes whole shards (generate each job's
    graph, judge it, keep it when it is compliant enough) and writes them."""

    def __init__(self, out: str, jobs: list[Job], shard_size: int, samples: int, min_recall: float,
                 weights: str | None = None) -> None:
        import torch

        from ..backends import Options
        from ..backends.tiny import TinyBackend

        torch.set_num_threads(1)  # one core per actor: actors, not threads, share the machine
        self.out, self.jobs, self.size, self.min_recall = Path(out), jobs, shard_size, min_recall
        self.backend = TinyBackend(weights=weights)
        self.options = Options(samples=samples)

    def _samples(self, shard: int):
        from ..editing.masks import Masks
        from ..graph.parse import graph_from_json

        for job in self.jobs[shard * self.size:(shard + 1) * self.size]:
            r = self.backend.generate(graph_from_json(job.graph), job.seed, self.options)
            if r.verdict.object_recall < self.min_recall:
                continue
            inst = Masks.from_segmentation(r.segmentation, vocabulary=r.vocab).instances
            yield Sample(job.key, r.image, r.segmentation, inst, r.vocab, r.graph.to_sg2im(), r.depth, r.sketch,
                         {"seed": job.seed, "source_graph": job.source, "object_recall": r.verdict.object_recall,
                          "relation_accuracy": r.verdict.relation_accuracy, "candidates": len(r.candidates)})

    def __call__(self, batch: dict) -> dict:
        rows = []
        for shard in np.asarray(batch["shard"]).tolist():
            began = time.perf_counter()
            n = self.size if (shard + 1) * self.size <= len(self.jobs) else len(self.jobs) - shard * self.size
            done = write_shard(self._samples(int(shard)), self.out, int(shard), int(shard) * self.size)
            rows.append({**done, "tried": n, "seconds": time.perf_counter() - began})
        return {k: np.array([r[k] for r in rows]) for k in ("shard", "samples", "tried", "seconds")}


def generate(jobs: list[Job], out: Path, shard_size: int = DEFAULT_SHARD_SIZE, workers: int | None = None,
             address: str | None = None, samples: int = 1, min_recall: float = 0.0, weights: str | None = None,
             made_by: str = "", on_shard=None) -> dict:
    """Make the samples of `jobs` on Ray Data into `out`; shards already whole are not made again.
    -> {"samples", "shards", "made_now", "seconds", "samples_per_second", "workers"}."""
    import logging

    import ray

    from ..graph.vocabularies import load


    if not jobs:
        raise BadInput("nothing to make: no graphs")
    out.mkdir(parents=True, exist_ok=True)
    shards = (len(jobs) + shard_size - 1) // shard_size
    todo = [k for k in range(shards) if not shard_done(out, k)]
    workers = workers or os.cpu_count() or 1
    began = time.perf_counter()
    made = tried = 0
    if todo:
        started = not ray.is_initialized()
        if started:
            ray.init(address=address, num_cpus=None if address else workers, include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
        try:
            import ray.data

            for name in ("ray", "ray.data"):  # progress is said per shard (on_shard), not in INFO lines
                logging.getLogger(name).setLevel(logging.WARNING)
            ctx = ray.data.DataContext.get_current()
            ctx.enable_progress_bars = on_shard is None
            ds = ray.data.from_items([{"shard": k} for k in todo], override_num_blocks=len(todo))
            pool = ray.data.ActorPoolStrategy(min_size=1, max_size=min(workers, len(todo)))
            with warnings.catch_warnings():
                # max_restarts=0 (an actor that cannot load the chain fails the run, it is not started
                # again and again) has no named parameter in Ray 2.60 and warns as a "remote arg".
                warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
                ds = ds.map_batches(ShardMaker, batch_size=1, num_cpus=1, compute=pool, max_restarts=0,
                                    fn_constructor_kwargs={"out": str(out), "jobs": jobs, "shard_size": shard_size,
                                                           "samples": samples, "min_recall": min_recall,
                                                           "weights": weights})
            for row in ds.iter_rows():
                made += int(row["samples"])
                tried += int(row["tried"])
                if on_shard:
                    on_shard(row)
        finally:
            if started:
                ray.shutdown()
    seconds = time.perf_counter() - began
    counts = finish(out, load("tiny"), made_by)
    return {**counts, "made_now": made, "tried_now": tried, "seconds": round(seconds, 2),
            "samples_per_second": round(tried / seconds, 3) if tried else None, "workers": workers,
            "shards_made_now": len(todo)}
