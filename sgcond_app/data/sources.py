"""Datasets in: a source named `KIND:PATH` read as a stream of records (a picture, its class map and
instance map in the source's vocabulary, and its scene graph), one at a time, from a copy the person
points at (nothing is downloaded).

- `world:N` (or `world:N@SEED`): N renders of the tiny world from that seed on (default 0), their
  own graphs; the `tiny` vocabulary.
- `coco:INSTANCES.json` or `coco:INSTANCES.json+STUFF.json`: COCO 2017 instances (80 things) and
  COCO-Stuff's stuff annotations (91 stuff; "other" left out), RLE or polygons, through
  `pycocotools`; the `coco-stuff` vocabulary (COCO's ids). Graphs by sg2im's rules (`sg2im.py`); a
  picture sg2im would leave out (fewer than 3 or more than 8 objects) is skipped and counted.
  Pictures: `--images DIR`, else the split's folder beside `annotations/` (`val2017/`).
- `coco-panoptic:PANOPTIC.json`: COCO panoptic (a PNG per picture in the folder of the same name,
  segment ids as R + 256 G + 256² B); the vocabulary of its categories (a file this app wrote names
  its vocabulary and keeps each picture's graph; another's graphs are sg2im's).
- `ade20k:DIR` (or `ade20k:DIR@training`): ADE20K SceneParsing (`ADEChallengeData2016`:
  `images/SPLIT/*.jpg`, `annotations/SPLIT/*.png` with 0 for "other" and 1-150 the classes; the
  validation split by default); the `ade20k` vocabulary; graphs read off the maps by the judge's rules.
- `vg:DIR` (or `vg:DIR@K`): Visual Genome 1.2 (`image_data.json`, `objects.json`,
  `relationships.json`, `attributes.json` where it is there; pictures in `VG_100K*/` or `--images`):
  its own graphs, in the words of its K most frequent object names (178 by default, as many as sg2im
  kept), up to 10 objects a picture (the largest) and their relations among them, a picture with
  fewer than 3 such objects or no relation skipped. Visual Genome has boxes, not masks: the class
  and instance maps are its boxes drawn largest first, a layout, not a segmentation.
- `folder:DIR`: `DIR/images/*` with `DIR/masks/NAME.png` (one channel, the class's index in
  `DIR/classes.txt`; 255 none) and `DIR/classes.txt` (a class a line, `NAME` or `NAME stuff`).
  Graphs read off the maps by the judge's rules (`reading/derive.py`).

A file that is missing or broken is reported (`Problems`, with its path) and skipped: a dataset is
never read as a crash.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import BadInput
from ..graph import vocabularies
from ..graph.parse import graph_from_json
from ..graph.scene_graph import SceneGraph
from ..graph.vocabularies import Vocabulary
from . import sg2im

log = logging.getLogger(__name__)

KINDS = ("world", "coco", "coco-panoptic", "ade20k", "vg", "folder")
PICTURES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
MAX_WORLD = 10_000_000


@dataclass
class Record:
    key: str  # unique in its source; names the picture's file where there is one
    segmentation: np.ndarray  # (H, W) uint8: positions in `vocabulary` (255: none)
    instances: np.ndarray  # (H, W) int32: 1.. a region each (stuff one per class), 0 none
    graph: SceneGraph  # in the vocabulary's words
    vocabulary: Vocabulary
    picture_path: Path | None = None
    picture_array: np.ndarray | None = None  # the picture where it has no file (the tiny world)
    # Where the source has them (the tiny world's renders): its depth (H, W) float32 in [0, 1], near is
    # 1, and its sketch (H, W) uint8. Elsewhere training makes them by rule (`reading/maps.py`).
    depth: np.ndarray | None = None
    sketch: np.ndarray | None = None

    def picture(self) -> np.ndarray:
        """(H, W, 3) uint8: the picture, read from its file where it has one."""
        if self.picture_array is not None:
            return self.picture_array
        from ..world.io import open_picture

        return np.asarray(open_picture(self.picture_path).convert("RGB"))


@dataclass
class Problems:
    """What could not be read, a line each with its path; the stream goes on without it."""

    lines: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # why -> how many records

    def report(self, path: object, message: str) -> None:
        line = f"{path}: {message}"
        log.warning("skipped %s", line)
        self.lines.append(line)

    def skip(self, why: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1


class Source:
    kind: str
    name: str  # KIND:PATH as given
    vocabulary: Vocabulary

    def records(self, problems: Problems | None = None, limit: int | None = None) -> Iterator[Record]:
        raise NotImplementedError


def parse(text: str, images: str | None = None, size: int = 64) -> Source:
    """A source by its name, `KIND:PATH`, checked (the path exists) before anything is read."""
    kind, sep, path = str(text).partition(":")
    if not sep or kind not in KINDS or not path:
        raise BadInput(f"a source is KIND:PATH with KIND one of {', '.join(KINDS)} (e.g. coco:annotations/"
                       f"instances_val2017.json, world:1000), not {str(text)[:80]!r}")
    if kind == "world":
        return WorldSource(text, path, size)
    if kind == "coco":
        return CocoSource(text, path, images)
    if kind == "coco-panoptic":
        return PanopticSource(text, path, images)
    if kind == "ade20k":
        return Ade20kSource(text, path)
    if kind == "vg":
        return VisualGenomeSource(text, path, images)
    return FolderSource(text, path)


def _existing(path: str, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise BadInput(f"{path}: no such {what}")
    return p


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadInput(f"{path}: not a JSON file this can read ({type(e).__name__})") from None


def instances_of(seg: np.ndarray, vocabulary: Vocabulary) -> np.ndarray:
    """Regions as the judge reads them: a stuff class one region, a thing each 8-connected piece."""
    from ..editing.masks import Masks

    return Masks.from_segmentation(seg, vocabulary=vocabulary).instances


def regions(seg: np.ndarray, inst: np.ndarray) -> Iterator[tuple[int, np.ndarray, int]]:
    """(instance id, its mask, the class most of its pixels hold) of each region of an instance map."""
    for iid in np.unique(inst):
        if iid != 0:
            mask = inst == iid
            yield int(iid), mask, int(np.bincount(seg[mask]).argmax())


def graph_by_sg2im(seg: np.ndarray, inst: np.ndarray, vocabulary: Vocabulary, seed: int,
                   skip: frozenset[str] = frozenset()) -> SceneGraph | None:
    """sg2im's graph of the regions of an instance map (None: sg2im leaves the picture out)."""
    things = []
    for _, mask, cid in regions(seg, inst):
        if cid >= len(vocabulary) or vocabulary.classes[cid] in skip:
            continue
        t = sg2im.thing_of(vocabulary.classes[cid], mask)
        if t is not None:
            things.append(t)
    made = sg2im.graph_of(things, seed)
    if made is None:
        return None
    objects, relations = made
    return SceneGraph.build([(t.label, ()) for t in objects], relations)


def _map_records(pairs, vocabulary: Vocabulary, positions, problems: Problems,
                 limit: int | None) -> Iterator[Record]:
    """Records of (picture, class-map PNG) pairs: `positions(raw)` gives the class map in the
    vocabulary's positions, or a line saying why the PNG is not one; the graphs are read off the maps
    by the judge's rules (`reading/derive.py`)."""
    from ..reading.derive import graph_from_maps
    from ..world.io import open_picture

    made = 0
    for picture, mask in pairs:
        if limit is not None and made >= limit:
            return
        try:
            seg = positions(np.asarray(open_picture(mask)))
        except BadInput as e:
            problems.report(mask, str(e))
            continue
        if isinstance(seg, str):
            problems.report(mask, seg)
            continue
        if not (seg < len(vocabulary)).any():
            problems.report(mask, "the map holds no class")
            continue
        graph, _ = graph_from_maps(seg, None, vocabulary)
        made += 1
        yield Record(picture.stem, seg, instances_of(seg, vocabulary), graph, vocabulary, picture_path=picture)


# --- the tiny world ---------------------------------------------------------------------------------


class WorldSource(Source):
    kind = "world"

    def __init__(self, name: str, path: str, size: int) -> None:
        count, _, seed = path.partition("@")
        try:
            self.n, self.seed = int(count), int(seed or 0)
        except ValueError:
            raise BadInput(f"{name}: world:N or world:N@SEED, N and SEED whole numbers") from None
        if not 1 <= self.n <= MAX_WORLD or self.seed < 0:
            raise BadInput(f"{name}: N is 1 to {MAX_WORLD}, SEED 0 or more")
        self.name, self.size, self.vocabulary = name, size, vocabularies.load("tiny")

    def records(self, problems: Problems | None = None, limit: int | None = None) -> Iterator[Record]:
        from ..world import render_sample

        for k in range(min(self.n, limit or self.n)):
            s = render_sample(self.seed + k, self.size)
            yield Record(f"world-{self.seed + k:09d}", s.segmentation, s.instances.astype(np.int32), s.graph,
                         self.vocabulary, picture_array=s.image, depth=s.depth, sketch=s.sketch)


# --- COCO and COCO-Stuff ----------------------------------------------------------------------------


class CocoSource(Source):
    kind = "coco"
    OTHER, OTHER_ID = "other", 183  # COCO-Stuff's catch-all, not one of its 171 classes; sg2im leaves it out

    def __init__(self, name: str, path: str, images: str | None) -> None:
        self.name = name
        self.files = [_existing(p, "annotation file") for p in path.split("+")]
        first = self.files[0]
        head = _read_json(first)
        own = head.get("sgcond", {}).get("vocabulary") if isinstance(head, dict) else None
        self.vocabulary = vocabularies.load(own if own in vocabularies.NAMES else "coco-stuff")
        # COCO's own files number categories as COCO-Stuff does; a file this app wrote, by position + 1.
        self.category = (dict(zip(self.vocabulary.ids, range(len(self.vocabulary)))) if own is None
                         else {k + 1: k for k in range(len(self.vocabulary))})
        split = first.stem.split("_")[-1]  # instances_val2017 -> val2017
        if images:
            self.images = Path(images).expanduser()
        elif (first.parent / "images").is_dir():  # the layout `dataset` writes
            self.images = first.parent / "images"
        else:
            self.images = first.parent.parent / split

    def _apis(self):
        import contextlib
        import io

        from pycocotools.coco import COCO

        apis = []
        for f in self.files:
            with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
                try:
                    apis.append(COCO(str(f)))
                except Exception as e:  # a file that is no COCO annotation file
                    raise BadInput(f"{f}: not a COCO annotation file ({type(e).__name__}: {e})"[:300]) from None
        return apis

    def records(self, problems: Problems | None = None, limit: int | None = None) -> Iterator[Record]:
        problems = problems if problems is not None else Problems()
        apis = self._apis()
        position = self.category
        ids = sorted(set().union(*(a.getImgIds() for a in apis)))
        made = 0
        for image_id in ids:
            if limit is not None and made >= limit:
                return
            info = next(a.imgs[image_id] for a in apis if image_id in a.imgs)
            h, w = int(info["height"]), int(info["width"])
            anns = [(a, x) for a in apis for x in a.imgToAnns.get(image_id, [])]
            seg = np.full((h, w), 255, np.uint8)
            inst = np.zeros((h, w), np.int32)
            # Stuff first, then things, larger first: a small thing stays on top of what it is in front of.
            order = sorted(anns, key=lambda ax: (not self.vocabulary.stuff[position.get(ax[1]["category_id"], 0)],
                                                 -float(ax[1].get("area", 0))))
            try:
                for k, (api, ann) in enumerate(order, start=1):
                    cid = position.get(int(ann["category_id"]))
                    if cid is None and int(ann["category_id"]) == self.OTHER_ID:
                        continue  # COCO-Stuff's "other": no class, left out as sg2im leaves it
                    if cid is None:
                        problems.report(self.files[0], f"image {image_id}: category {ann['category_id']} is not "
                                                       "COCO-Stuff's")
                        continue
                    mask = api.annToMask(ann).astype(bool)
                    if mask.shape != (h, w):
                        raise ValueError(f"a mask of {mask.shape} on a {h}x{w} picture")
                    seg[mask] = cid
                    inst[mask] = k
            except Exception as e:  # a broken polygon or RLE: this picture is skipped
                problems.report(self.files[0], f"image {image_id}: its annotations cannot be drawn "
                                               f"({type(e).__name__}: {e})"[:300])
                continue
            if isinstance(info.get("graph"), dict):  # a file this app wrote: the graph it was made from
                graph = graph_from_json(info["graph"], f"image {image_id}'s graph")
            else:
                graph = graph_by_sg2im(seg, inst, self.vocabulary, image_id, frozenset({self.OTHER}))
            if graph is None:
                problems.skip("sg2im keeps 3 to 8 objects")
                continue
            picture = self.images / info["file_name"]
            if not picture.is_file():
                problems.report(picture, "the picture is missing")
                continue
            made += 1
            yield Record(Path(info["file_name"]).stem, seg, inst, graph, self.vocabulary, picture_path=picture)


# --- COCO panoptic ------------------------------------------------------------------------------------


def rgb_to_id(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.int64)
    return rgb[..., 0] + 256 * rgb[..., 1] + 256 * 256 * rgb[..., 2]


def id_to_rgb(ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(ids, np.int64)
    return np.stack([ids % 256, ids // 256 % 256, ids // 65536 % 256], axis=-1).astype(np.uint8)


class PanopticSource(Source):
    kind = "coco-panoptic"

    def __init__(self, name: str, path: str, images: str | None) -> None:
        self.name = name
        self.file = _existing(path, "panoptic JSON")
        self.data = _read_json(self.file)
        if not isinstance(self.data, dict) or not {"annotations", "categories"} <= set(self.data):
            raise BadInput(f"{self.file}: not a COCO panoptic file (it has no annotations and categories)")
        self.pngs = self.file.with_suffix("")
        cats = sorted(self.data["categories"], key=lambda c: int(c["id"]))
        own = self.data.get("sgcond", {}).get("vocabulary")
        if own in vocabularies.NAMES:
            self.vocabulary = vocabularies.load(own)
            self.position = {int(c["id"]): self.vocabulary.position(c["name"]) for c in cats}
        else:
            self.vocabulary = vocabularies.from_table(
                f"coco-panoptic:{self.file.stem}", str(self.file),
                [(int(c["id"]), c["name"], not c.get("isthing", 1), c.get("color")) for c in cats])
            self.position = {int(c["id"]): k for k, c in enumerate(cats)}
        split = self.file.stem.split("_")[-1]  # panoptic_val2017 -> val2017 (COCO's layout)
        if images:
            self.images = Path(images).expanduser()
        elif (self.file.parent / "images").is_dir():  # the layout `dataset` writes
            self.images = self.file.parent / "images"
        else:
            self.images = self.file.parent.parent / split
        self.image_info = {im["id"]: im for im in self.data.get("images", [])}

    def records(self, problems: Problems | None = None, limit: int | None = None) -> Iterator[Record]:
        from ..world.io import open_picture

        problems = problems if problems is not None else Problems()
        made = 0
        for k, ann in enumerate(self.data["annotations"]):
            if limit is not None and made >= limit:
                return
            png = self.pngs / str(ann.get("file_name", ""))
            try:
                ids = rgb_to_id(np.asarray(open_picture(png).convert("RGB")))
            except BadInput as e:
                problems.report(png, str(e))
                continue
            seg = np.full(ids.shape, 255, np.uint8)
            inst = np.zeros(ids.shape, np.int32)
            for j, s in enumerate(ann.get("segments_info", []), start=1):
                cid = self.position.get(int(s["category_id"]))
                if cid is None:
                    problems.report(self.file, f"annotation {k}: category {s['category_id']} is not among its "
                                               "categories")
                    continue
                mask = ids == int(s["id"])
                seg[mask], inst[mask] = cid, j
            info = self.image_info.get(ann.get("image_id"), {})
            if isinstance(ann.get("graph"), dict):  # a file this app wrote: the graph it was made from
                try:
                    graph = graph_from_json(ann["graph"], f"annotation {k}'s graph")
                except BadInput as e:
                    problems.report(self.file, str(e))
                    continue
            else:
                graph = graph_by_sg2im(seg, inst, self.vocabulary, int(ann.get("image_id", k)))
                if graph is None:
                    problems.skip("sg2im keeps 3 to 8 objects")
                    continue
            picture = self.images / info["file_name"] if "file_name" in info else None
            if picture is None or not picture.is_file():
                problems.report(picture or png, "the picture is missing")
                continue
            made += 1
            yield Record(Path(str(ann.get("file_name", k))).stem, seg, inst, graph, self.vocabulary,
                         picture_path=picture)


# --- a folder of pictures and class-index PNGs ---------------------------------------------------------


class FolderSource(Source):
    kind = "folder"
    # Words after a class's name in classes.txt: stuff (one region, not counted), ground (things stand
    # "on" it), sky, airborne (a thing in the air, never "on" anything). Graphs read off the maps use them.
    FLAGS = ("stuff", "ground", "sky", "airborne")

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.root = _existing(path, "folder")
        listing = self.root / "classes.txt"
        if not listing.is_file():
            raise BadInput(f"{listing}: a folder source lists its classes there, one a line (NAME or NAME stuff)")
        rows, marks = [], {flag: set() for flag in self.FLAGS}
        for line in listing.read_text().splitlines():
            words = line.split()
            flags = []
            while len(words) > 1 and words[-1] in self.FLAGS:
                flags.append(words.pop())
            if words:
                name = " ".join(words)
                rows.append((len(rows), name, "stuff" in flags, None))
                for flag in flags:
                    marks[flag].add(name)
        if not rows or len(rows) > 255:
            raise BadInput(f"{listing}: 1 to 255 classes")
        self.vocabulary = vocabularies.from_table(f"folder:{self.root.name}", str(listing), rows, marks["ground"],
                                                  marks["airborne"], marks["sky"])

    def records(self, problems: Problems | None = None, limit: int | None = None) -> Iterator[Record]:
        def positions(raw: np.ndarray) -> np.ndarray | str:
            if raw.ndim != 2 or raw.dtype != np.uint8:
                return "a class map is one channel of 8 bits (the class's line in classes.txt, 0 first)"
            return np.where(raw < len(self.vocabulary), raw, 255).astype(np.uint8)

        pictures = sorted(p for p in (self.root / "images").glob("*") if p.suffix.lower() in PICTURES)
        yield from _map_records([(p, self.root / "masks" / f"{p.stem}.png") for p in pictures], self.vocabulary,
                                positions, problems if problems is not None else Problems(), limit)


# --- ADE20K SceneParsing ------------------------------------------------------------------------------


class Ade20kSource(Source):
    kind = "ade20k"

    def __init__(self, name: str, path: str) -> None:
        root, _, split = path.partition("@")
        self.name, self.root, self.split = name, _existing(root, "folder"), split or "validation"
        if not (self.root / "images" / self.split).is_dir():
            raise BadInput(f"{self.root}: no images/{self.split}/ (an ADEChallengeData2016 folder holds "
                           "images/ and annotations/, each with training/ and validation/)")
        self.vocabulary = vocabularies.load("ade20k")

    def records(self, problems: Problems | None = None, limit: int | None = None) -> Iterator[Record]:
        def positions(raw: np.ndarray) -> np.ndarray | str:
            if raw.ndim != 2 or raw.max(initial=0) > len(self.vocabulary):
                return f"an annotation is one channel of 0 (other) to {len(self.vocabulary)}"
            return np.where(raw > 0, raw.astype(np.int16) - 1, 255).astype(np.uint8)  # class k: position k - 1

        pictures = sorted((self.root / "images" / self.split).glob("*.jpg"))
        yield from _map_records([(p, self.root / "annotations" / self.split / f"{p.stem}.png") for p in pictures],
                                self.vocabulary, positions, problems if problems is not None else Problems(), limit)


# --- Visual Genome --------------------------------------------------------------------------------------


class VisualGenomeSource(Source):
    kind = "vg"
    TOP = 178  # object names sg2im kept (those seen at least 2,000 times)
    MAX_OBJECTS, MIN_OBJECTS = 10, 3

    def __init__(self, name: str, path: str, images: str | None) -> None:
        root, _, top = path.partition("@")
        self.name, self.root = name, _existing(root, "folder")
        try:
            self.top = int(top or self.TOP)
        except ValueError:
            raise BadInput(f"{name}: vg:DIR@K, K a whole number") from None
        if not 1 <= self.top <= 255:
            raise BadInput(f"{name}: K is 1 to 255 object names")
        for f in ("image_data.json", "objects.json", "relationships.json"):
            if not (self.root / f).is_file():
                raise BadInput(f"{self.root / f}: missing (a Visual Genome folder holds image_data.json, "
                               "objects.json, relationships.json)")
        self.images = Path(images).expanduser() if images else None
        self._objects = _read_json(self.root / "objects.json")
        counts: dict[str, int] = {}
        for im in self._objects:
            for o in im.get("objects", []):
                n = _vg_name(o)
                if n:
                    counts[n] = counts.get(n, 0) + 1
        names = sorted(counts, key=lambda n: (-counts[n], n))[:self.top]
        self.vocabulary = vocabularies.from_table(f"vg-{len(names)}", str(self.root / "objects.json"),
                                                  [(k, n, False, None) for k, n in enumerate(names)])

    def _picture(self, info: dict) -> Path | None:
        name = Path(str(info.get("url", ""))).name or f"{info.get('image_id', info.get('id'))}.jpg"
        folders = [self.images] if self.images else sorted(self.root.glob("VG_100K*")) or [self.root / "images"]
        return next((f / name for f in folders if (f / name).is_file()), None)

    def records(self, problems: Problems | None = None, limit: int | None = None) -> Iterator[Record]:
        problems = problems if problems is not None else Problems()
        infos = {int(i.get("image_id", i.get("id"))): i for i in _read_json(self.root / "image_data.json")}
        relationships = {int(r["image_id"]): r.get("relationships", [])
                         for r in _read_json(self.root / "relationships.json")}
        attributes = {}
        if (self.root / "attributes.json").is_file():
            for im in _read_json(self.root / "attributes.json"):
                for o in im.get("attributes", []):
                    attributes[o.get("object_id")] = [a.strip().lower() for a in o.get("attributes") or []]
        made = 0
        for im in self._objects:
            if limit is not None and made >= limit:
                return
            image_id = int(im.get("image_id", im.get("id", -1)))
            info = infos.get(image_id)
            if info is None:
                problems.report(self.root / "image_data.json", f"image {image_id} is not listed")
                continue
            w, h = int(info["width"]), int(info["height"])
            known = [o for o in im.get("objects", []) if self.vocabulary.position(_vg_name(o)) is not None
                     and o.get("w", 0) > 0 and o.get("h", 0) > 0]
            known = sorted(known, key=lambda o: -o["w"] * o["h"])[:self.MAX_OBJECTS]
            index = {o["object_id"]: k for k, o in enumerate(known)}
            rels = []
            for r in relationships.get(image_id, []):
                s, o = index.get(r["subject"].get("object_id")), index.get(r["object"].get("object_id"))
                pred = " ".join(str(r.get("predicate", "")).lower().split())
                if s is not None and o is not None and s != o and pred and (s, pred, o) not in rels:
                    rels.append((s, pred, o))
            if len(known) < self.MIN_OBJECTS or not rels:
                problems.skip("fewer than 3 known objects or no relation among them")
                continue
            seg = np.full((h, w), 255, np.uint8)
            inst = np.zeros((h, w), np.int32)
            for k, o in enumerate(known):  # largest first: smaller boxes are drawn over larger ones
                x0, y0 = max(0, int(o["x"])), max(0, int(o["y"]))
                x1, y1 = min(w, int(o["x"] + o["w"])), min(h, int(o["y"] + o["h"]))
                seg[y0:y1, x0:x1] = self.vocabulary.position(_vg_name(o))
                inst[y0:y1, x0:x1] = k + 1
            try:
                graph = SceneGraph.build([(_vg_name(o), tuple(dict.fromkeys(attributes.get(o["object_id"], [])))[:3])
                                          for o in known], rels)
            except BadInput as e:
                problems.report(self.root / "objects.json", f"image {image_id}: {e}")
                continue
            picture = self._picture(info)
            if picture is None:
                problems.report(self.root / f"VG_100K/{image_id}.jpg", "the picture is missing")
                continue
            made += 1
            yield Record(str(image_id), seg, inst, graph, self.vocabulary, picture_path=picture)


def _vg_name(o: dict) -> str:
    names = o.get("names") or ([o["name"]] if o.get("name") else [])
    return " ".join(str(names[0]).lower().split()) if names else ""
