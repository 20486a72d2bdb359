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

KINDS = ("world", "coco", "coco-panoptic", "folder")
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


def graph_by_sg2im(seg: np.ndarray, inst: np.ndarray, vocabulary: Vocabulary, seed: int,
                   skip: frozenset[str] = frozenset()) -> SceneGraph | None:
    """sg2im's graph of the regions of an instance map (None: sg2im leaves the picture out)."""
    things = []
    for iid in np.unique(inst):
        if iid == 0:
            continue
        mask = inst == iid
        cid = int(np.bincount(seg[mask]).argmax())
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
                         self.vocabulary, picture_array=s.image)


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
        from ..reading.derive import graph_from_maps
        from ..world.io import open_picture

        problems = problems if problems is not None else Problems()
        made = 0
        pictures = sorted(p for p in (self.root / "images").glob("*") if p.suffix.lower() in PICTURES)
        for picture in pictures:
            if limit is not None and made >= limit:
                return
            mask = self.root / "masks" / f"{picture.stem}.png"
            try:
                seg = np.asarray(open_picture(mask))
            except BadInput as e:
                problems.report(mask, str(e))
                continue
            if seg.ndim != 2 or seg.dtype != np.uint8:
                problems.report(mask, "a class map is one channel of 8 bits (the class's line in classes.txt, 0 first)")
                continue
            seg = np.where(seg < len(self.vocabulary), seg, 255).astype(np.uint8)
            graph, _ = graph_from_maps(seg, None, self.vocabulary)
            made += 1
            yield Record(picture.stem, seg, instances_of(seg, self.vocabulary), graph, self.vocabulary,
                         picture_path=picture)
