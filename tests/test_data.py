"""Datasets in and out (`sgcond_app/data`): published formats read from a copy on disk, sg2im's
graphs of COCO, the tiny world written out and read back in each format, broken files reported and
skipped, and a labelled dataset made by the chain on Ray Data (one small local Ray for the module)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sgcond_app.data import export, sources
from sgcond_app.errors import BadInput
from sgcond_app.graph import vocabularies
from sgcond_app.graph.vocabularies import load

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "sgcond_app", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


# --- sg2im's rules, written out again here from the paper's loader, to check ours against ---------


def sg2im_predicate(s_box, o_box, s_centre, o_centre):
    sx0, sy0, sx1, sy1 = s_box
    ox0, oy0, ox1, oy1 = o_box
    if sx0 < ox0 and sx1 > ox1 and sy0 < oy0 and sy1 > oy1:
        return "surrounding"
    if sx0 > ox0 and sx1 < ox1 and sy0 > oy0 and sy1 < oy1:
        return "inside"
    angle = math.degrees(math.atan2(s_centre[1] - o_centre[1], s_centre[0] - o_centre[0]))
    if angle >= 135 or angle <= -135:
        return "left of"
    if angle < -45:
        return "above"
    if angle < 45:
        return "right of"
    return "below"


def _polygon(x0, y0, x1, y1):
    return [[x0, y0, x1, y0, x1, y1, x0, y1]]


@pytest.fixture(scope="module")
def coco(tmp_path_factory):
    """A COCO 2017 copy in miniature: annotations/instances_val2017.json (polygons and an RLE),
    annotations/stuff_val2017.json (sky, grass, "other"), val2017/*.jpg; one picture with a broken
    polygon, one with its file missing, one with two objects only."""
    from pycocotools import mask as rle

    root = tmp_path_factory.mktemp("coco")
    (root / "annotations").mkdir()
    (root / "val2017").mkdir()
    coco_stuff = load("coco-stuff")
    cat = {n: coco_stuff.ids[coco_stuff.position(n)] for n in ("person", "dog", "car", "sky-other", "grass")}
    cat["other"] = 183  # COCO-Stuff's catch-all: not a class of its 171
    images, things, stuff = [], [], []

    def add_image(image_id, w=80, h=60, write=True):
        images.append({"id": image_id, "file_name": f"{image_id:012d}.jpg", "width": w, "height": h})
        if write:
            Image.new("RGB", (w, h), (90, 120, 200)).save(root / "val2017" / f"{image_id:012d}.jpg")

    def thing(image_id, name, box, as_rle=False, **extra):
        x0, y0, x1, y1 = box
        ann = {"id": len(things) + 1, "image_id": image_id, "category_id": cat[name], "iscrowd": 0,
               "area": float((x1 - x0) * (y1 - y0)), "bbox": [x0, y0, x1 - x0, y1 - y0], **extra}
        if as_rle:
            m = np.zeros((60, 80), np.uint8)
            m[y0:y1, x0:x1] = 1
            enc = rle.encode(np.asfortranarray(m))
            ann["segmentation"] = {"size": enc["size"], "counts": enc["counts"].decode("ascii")}
        elif "segmentation" not in ann:
            ann["segmentation"] = _polygon(x0, y0, x1, y1)
        things.append(ann)

    def stuff_ann(image_id, name, box):
        x0, y0, x1, y1 = box
        stuff.append({"id": 10_000 + len(stuff), "image_id": image_id, "category_id": cat[name], "iscrowd": 0,
                      "area": float((x1 - x0) * (y1 - y0)), "bbox": [x0, y0, x1 - x0, y1 - y0],
                      "segmentation": _polygon(x0, y0, x1, y1)})

    add_image(1)  # a person left of a dog, a car inside the sky, the sky above grass
    stuff_ann(1, "sky-other", (0, 0, 80, 30))
    stuff_ann(1, "grass", (0, 30, 80, 60))
    stuff_ann(1, "other", (70, 50, 80, 60))
    thing(1, "person", (5, 20, 20, 55))
    thing(1, "dog", (40, 38, 60, 55), as_rle=True)
    thing(1, "car", (30, 5, 50, 15))
    add_image(2)  # three things; sg2im keeps it
    thing(2, "person", (2, 2, 30, 58))
    thing(2, "car", (40, 30, 78, 58))
    thing(2, "dog", (50, 5, 70, 20))
    add_image(3)  # two objects: sg2im leaves it out
    thing(3, "person", (2, 2, 30, 58))
    thing(3, "dog", (50, 5, 70, 20))
    add_image(4)  # a broken polygon
    thing(4, "person", (2, 2, 30, 58), segmentation=[[1, 2, "x"]])
    thing(4, "dog", (50, 5, 70, 20))
    thing(4, "car", (40, 30, 78, 58))
    add_image(5, write=False)  # its picture is missing
    thing(5, "person", (2, 2, 30, 58))
    thing(5, "car", (40, 30, 78, 58))
    thing(5, "dog", (50, 5, 70, 20))
    categories = [{"id": cat[n], "name": n, "supercategory": "x"} for n in ("person", "dog", "car")]
    stuff_cats = [{"id": cat[n], "name": n, "supercategory": "x"} for n in ("sky-other", "grass", "other")]
    (root / "annotations" / "instances_val2017.json").write_text(json.dumps(
        {"images": images, "annotations": things, "categories": categories}))
    (root / "annotations" / "stuff_val2017.json").write_text(json.dumps(
        {"images": images, "annotations": stuff, "categories": stuff_cats}))
    return root


def test_coco_is_read_with_sg2ims_graphs_and_broken_files_are_reported(coco):
    src = sources.parse(f"coco:{coco}/annotations/instances_val2017.json+{coco}/annotations/stuff_val2017.json")
    problems = sources.Problems()
    records = list(src.records(problems))
    assert [r.key for r in records] == ["000000000001", "000000000002"]
    assert problems.skipped == {"sg2im keeps 3 to 8 objects": 1}
    assert len(problems.lines) == 2 and "image 4" in problems.lines[0] and "000000000005.jpg" in problems.lines[1]
    v = load("coco-stuff")
    first = records[0]
    assert first.vocabulary.name == "coco-stuff" and first.picture().shape == (60, 80, 3)
    assert first.segmentation[50, 10] == v.position("person") and first.segmentation[45, 50] == v.position("dog")
    assert first.segmentation[2, 2] == v.position("sky-other") and first.segmentation[58, 30] == v.position("grass")
    assert first.segmentation[55, 75] == v.position("grass")  # "other" is left out, as sg2im does
    # The graph is sg2im's: the objects big enough, each with one partner, predicates by the rules
    # written out above.
    for r in records:
        objects = {}
        for iid in np.unique(r.instances):
            if iid == 0:
                continue
            mask = r.instances == iid
            label = v.classes[int(np.bincount(r.segmentation[mask]).argmax())]
            ys, xs = np.nonzero(mask)
            box = (xs.min() / 80, ys.min() / 60, (xs.max() + 1) / 80, (ys.max() + 1) / 60)
            if label != "other" and (box[2] - box[0]) * (box[3] - box[1]) >= 0.02:
                objects[len(objects)] = (label, box, ((xs.mean() + 0.5) / 80, (ys.mean() + 0.5) / 60))
        assert sorted(r.graph.labels) == sorted(o[0] for o in objects.values())
        assert 1 <= len(r.graph.relations) <= len(objects)  # one a object; a repeated one is kept once
        for rel in r.graph.relations:
            s, o = objects[rel.subject], objects[rel.object]
            assert r.graph.labels[rel.subject] == s[0]
            assert rel.predicate == sg2im_predicate(s[1], o[1], s[2], o[2])
    # Seeded by the picture: read again, the same graphs.
    again = list(src.records())
    assert [r.graph.to_sg2im() for r in again] == [r.graph.to_sg2im() for r in records]
    # The command line says the same, with exit 2 for `check` where files are broken.
    r = cli("data", "check", f"coco:{coco}/annotations/instances_val2017.json")
    assert r.returncode == 2 and "000000000005.jpg: the picture is missing" in r.stderr
    out = coco / "graphs.json"
    r = cli("data", "graphs", f"coco:{coco}/annotations/instances_val2017.json", "--out", out)
    assert r.returncode == 0, r.stderr
    graphs = json.loads(out.read_text())
    assert [g["image"] for g in graphs] == ["000000000001.jpg", "000000000002.jpg"]
    assert "skipped" in r.stdout


def test_what_a_source_refuses():
    for text, said in (("nonsense", "KIND:PATH"), ("cityscapes:/x", "KIND:PATH"), ("world:abc", "whole numbers"),
                       ("vg:/no/such", "no such folder"), ("ade20k:/tmp", "no images/validation"),
                       ("world:0", "1 to"), ("coco:/no/such.json", "no such annotation file"),
                       ("folder:/no/such", "no such folder")):
        with pytest.raises(BadInput, match=said):
            sources.parse(text)


def _world_sources(tmp_path, n=7):
    out = tmp_path / "exported"
    r = cli("data", "export", f"world:{n}@3", "--out", out, "--shard-size", 3)
    assert r.returncode == 0, r.stderr
    return out


def test_the_tiny_world_round_trips_through_each_format(tmp_path):
    """Renders written as WebDataset shards, COCO panoptic and COCO instances, read back by our readers
    and by webdataset, datasets and pycocotools: the same classes, masks and graphs."""
    import datasets
    import webdataset as wds
    from pycocotools.coco import COCO

    from sgcond_app.world import render_sample

    out = _world_sources(tmp_path)
    truth = {f"world-{3 + k:09d}": render_sample(3 + k, 64) for k in range(7)}
    tiny = load("tiny")
    for name in ("coco-panoptic:panoptic.json", "coco:instances.json"):
        kind, _, file = name.partition(":")
        records = list(sources.parse(f"{kind}:{out / file}").records())
        assert [r.key for r in records] == sorted(truth)
        for r in records:
            s = truth[r.key]
            assert r.vocabulary is tiny and np.array_equal(r.segmentation, s.segmentation), (name, r.key)
            assert np.array_equal(r.picture(), s.image)
            assert r.graph.to_sg2im() == s.graph.to_sg2im()
            # The same regions: each instance of the render is one of the read map's, and back.
            pairs = {(int(a), int(b)) for a, b in zip(s.instances.ravel(), r.instances.ravel())}
            assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})
    shards = sorted(str(p) for p in (out / "shards").glob("*.tar"))
    assert len(shards) == 3
    seen = {}
    for sample in wds.WebDataset(shards, shardshuffle=False).decode("l8"):
        seen[sample["__key__"]] = sample
    assert sorted(seen) == sorted(truth)
    for key, sample in seen.items():
        assert np.array_equal(np.asarray(sample["seg.png"]), truth[key].segmentation)
        assert sample["json"]["graph"] == export.graph_table(truth[key].graph.to_sg2im())
        assert sample["json"]["vocabulary"] == "tiny"
    hf = datasets.load_dataset("webdataset", data_files=shards, split="train")
    assert len(hf) == 7 and {"png", "seg.png", "inst.png", "json"} <= set(hf.column_names)
    api = COCO(str(out / "instances.json"))
    assert len(api.getImgIds()) == 7 and len(api.getCatIds()) == 27
    first = api.imgToAnns[api.getImgIds()[0]]
    assert all(api.annToMask(a).sum() == a["area"] for a in first)


def _folder(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "classes.txt").write_text("sky stuff sky\nfield stuff ground\ntractor\nbarn\n")
    seg = np.zeros((64, 64), np.uint8)
    seg[32:] = 1
    seg[24:44, 6:26] = 2
    seg[10:40, 36:60] = 3
    Image.fromarray(seg).save(root / "masks" / "a.png")
    Image.new("RGB", (64, 64)).save(root / "images" / "a.jpg")
    return root


def test_a_segmenter_trains_on_a_dataset_and_keeps_its_vocabulary(tmp_path, capsys):
    from sgcond_app.cli import main
    from sgcond_app.models.pretrained import from_pretrained
    from sgcond_app.models.segmenter import Segmenter

    root = _folder(tmp_path / "mine")
    half = np.zeros((64, 64), np.uint8)
    half[:, 32:] = 255  # no class on the right: in neither loss
    Image.fromarray(half).save(root / "masks" / "b.png")
    Image.fromarray(np.full((64, 64), 255, np.uint8)).save(root / "masks" / "c.png")  # no class at all: skipped
    for name in ("b", "c"):
        Image.new("RGB", (64, 64)).save(root / "images" / f"{name}.jpg")
    problems = sources.Problems()
    assert [r.key for r in sources.parse(f"folder:{root}").records(problems)] == ["a", "b"]
    assert "c.png: the map holds no class" in problems.lines[0]
    common = ["train", "segmenter", "--out", tmp_path / "run", "--batch", 2, "--tiny", "--workers", 0,
              "--warmup", 1, "--log-every", 1, "--size", 32]
    r = cli(*common, "--data", f"folder:{root}", "--steps", 2)
    assert r.returncode == 0, r.stderr
    r = cli(*common, "--data", f"folder:{root}", "--steps", 3, "--export", tmp_path / "w")
    assert r.returncode == 0 and "resumed from" in r.stdout + r.stderr, r.stderr
    log = [json.loads(x) for x in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == [1, 2, 3] and all(np.isfinite(row["loss"]) for row in log)
    model = from_pretrained(tmp_path / "w", Segmenter)
    assert model.config.num_classes == 4
    assert json.loads((tmp_path / "w" / "config.json").read_text())["vocabulary"] == "folder:mine"
    table = json.loads((tmp_path / "w" / "vocabulary.json").read_text())
    assert [c["name"] for c in table["classes"]] == ["sky", "field", "tractor", "barn"] and table["ground"] == ["field"]
    (tmp_path / "w" / "vocabulary.json").unlink()
    vocabularies._REGISTERED.pop("folder:mine")  # as in a process that has loaded no model in it
    with pytest.raises(BadInput, match="no vocabulary.json"):
        from_pretrained(tmp_path / "w", Segmenter)
    # Refused before any training: the same command line, from `main` in this process.
    code = main([*map(str, common[:3]), str(tmp_path / "run2"), *map(str, common[4:]), "--data",
                 f"folder:{root},world:3", "--steps", "1"])
    assert code == 2 and "different vocabularies" in capsys.readouterr().err


def test_the_downstream_bench_trains_three_segmenters_the_same_steps(tmp_path):
    from sgcond_app import bench

    out = _world_sources(tmp_path, n=4)
    figures = bench.run("downstream", n=4, data=f"coco-panoptic:{out / 'panoptic.json'}", steps=2)
    assert figures["steps"] == 2 and set(figures) >= {"generated", "renders", "both", "generated_over_renders"}
    assert all(0.0 <= figures[k]["miou"] <= 1.0 for k in ("generated", "renders", "both"))
    with pytest.raises(BadInput, match="--data names the generated dataset"):
        bench.run("downstream", n=4, steps=2)
    root = _folder(tmp_path / "mine")
    with pytest.raises(BadInput, match="in its classes"):
        bench.run("downstream", n=4, data=f"folder:{root}", steps=2)


def test_a_folder_of_pictures_and_class_maps(tmp_path):
    root = _folder(tmp_path / "mine")
    Image.new("RGB", (64, 64)).save(root / "images" / "b.jpg")  # no class map
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(root / "masks" / "c.png")  # three channels
    Image.new("RGB", (64, 64)).save(root / "images" / "c.png")
    problems = sources.Problems()
    records = list(sources.parse(f"folder:{root}").records(problems))
    assert [r.key for r in records] == ["a"]
    v = records[0].vocabulary
    assert v.classes == ("sky", "field", "tractor", "barn") and v.stuff == (True, True, False, False)
    assert sorted(records[0].graph.labels) == ["barn", "field", "sky", "tractor"]
    assert ("tractor", "on", "field") in {(records[0].graph.labels[r.subject], r.predicate,
                                          records[0].graph.labels[r.object]) for r in records[0].graph.relations}
    assert len(problems.lines) == 2 and "b.png" in problems.lines[0] and "one channel" in problems.lines[1]


def test_ade20k_scene_parsing_and_visual_genome(tmp_path):
    # ADE20K: class k of 150 is k in the PNG (0: other), position k - 1 in the vocabulary.
    ade = tmp_path / "ADEChallengeData2016"
    for d in ("images/validation", "annotations/validation"):
        (ade / d).mkdir(parents=True)
    v = load("ade20k")
    raw = np.zeros((48, 64), np.uint8)
    raw[:20] = v.ids[v.position("sky")]
    raw[20:] = v.ids[v.position("road")]
    raw[14:40, 10:30] = v.ids[v.position("car")]
    raw[0:4, 0:4] = 0  # other
    Image.fromarray(raw).save(ade / "annotations/validation/ADE_val_00000001.png")
    Image.new("RGB", (64, 48)).save(ade / "images/validation/ADE_val_00000001.jpg")
    Image.new("RGB", (64, 48)).save(ade / "images/validation/ADE_val_00000002.jpg")  # no annotation
    problems = sources.Problems()
    (r,) = list(sources.parse(f"ade20k:{ade}").records(problems))
    assert r.segmentation[30, 20] == v.position("car") and r.segmentation[1, 1] == 255
    assert sorted(r.graph.labels) == ["car", "road", "sky"] and "ADE_val_00000002.png" in problems.lines[0]
    assert ("car", "on", "road") in {(r.graph.labels[x.subject], x.predicate, r.graph.labels[x.object])
                                     for x in r.graph.relations}

    # Visual Genome: its own graph, in its most frequent object names.
    vg = tmp_path / "vg"
    (vg / "VG_100K").mkdir(parents=True)
    info = [{"image_id": 1, "width": 100, "height": 80, "url": "https://x/VG_100K/1.jpg"},
            {"image_id": 2, "width": 100, "height": 80, "url": "https://x/VG_100K/2.jpg"}]
    Image.new("RGB", (100, 80)).save(vg / "VG_100K" / "1.jpg")
    Image.new("RGB", (100, 80)).save(vg / "VG_100K" / "2.jpg")

    def obj(i, name, x, y, w, h):
        return {"object_id": i, "names": [name], "x": x, "y": y, "w": w, "h": h}

    objects = [{"image_id": 1, "objects": [obj(1, "Man", 10, 10, 30, 60), obj(2, "horse", 5, 30, 60, 45),
                                           obj(3, "tree", 70, 0, 30, 70), obj(4, "unicorn", 0, 0, 5, 5)]},
               {"image_id": 2, "objects": [obj(5, "man", 10, 10, 30, 60), obj(6, "horse", 5, 30, 60, 45)]}]
    relationships = [{"image_id": 1, "relationships": [
        {"predicate": "riding", "subject": {"object_id": 1}, "object": {"object_id": 2}},
        {"predicate": "next to", "subject": {"object_id": 3}, "object": {"object_id": 2}}]},
        {"image_id": 2, "relationships": []}]
    attributes = [{"image_id": 1, "attributes": [{"object_id": 2, "attributes": ["brown ", "Brown", "tall"]}]}]
    for name, data in (("image_data", info), ("objects", objects), ("relationships", relationships),
                       ("attributes", attributes)):
        (vg / f"{name}.json").write_text(json.dumps(data))
    src = sources.parse(f"vg:{vg}@3")
    assert src.vocabulary.classes == ("horse", "man", "tree")  # the 3 most frequent; unicorn is not
    problems = sources.Problems()
    (r,) = list(src.records(problems))
    assert problems.skipped == {"fewer than 3 known objects or no relation among them": 1}
    assert r.graph.labels == ["horse", "tree", "man"]  # the largest first
    assert r.graph.objects[0].attributes == ("brown", "tall")
    assert {(r.graph.labels[x.subject], x.predicate, r.graph.labels[x.object]) for x in r.graph.relations} == {
        ("man", "riding", "horse"), ("tree", "next to", "horse")}
    assert r.segmentation[20, 20] == src.vocabulary.position("man") and r.instances.max() == 3


# --- made by the chain on Ray Data --------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_ray():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_a_dataset_is_made_on_ray_data_and_a_stopped_run_resumes(local_ray, tmp_path):
    from sgcond_app.graph.mapping import map_graph
    from sgcond_app.graph.parse import parse_text

    graphs = [map_graph(parse_text(t)) for t in ("sky above grass; dog on grass", "car left of tree; sky above road",
                                                 "broccoli near sheep; sheep on grass")]
    jobs = export.jobs_for(graphs, 2, 5)
    assert len(jobs) == 6 and len({j.seed for j in jobs}) == 6
    out = tmp_path / "made"
    seen = []
    r = export.generate(jobs, out, shard_size=4, workers=2, made_by="test", on_shard=seen.append)
    assert r["samples"] == 6 and r["shards"] == 2 and r["shards_made_now"] == 2 and len(seen) == 2
    names = sorted(p.name for p in (out / "shards").iterdir())
    assert names == ["shard-00000.tar", "shard-00001.tar"]  # no temporary file left
    with tarfile.open(out / "shards" / "shard-00000.tar") as tar:
        members = tar.getnames()
        meta = json.loads(tar.extractfile("g000000-k00.json").read())
    assert {"g000000-k00.png", "g000000-k00.seg.png", "g000000-k00.inst.png", "g000000-k00.depth.png",
            "g000000-k00.sketch.png", "g000000-k00.json"} <= set(members)
    assert meta["vocabulary"] == "tiny" and meta["seed"] == 5 and 0 <= meta["object_recall"] <= 1
    assert meta["source_graph"]["objects"][0]["label"] == "sky"
    src = list(sources.parse(f"coco-panoptic:{out / 'panoptic.json'}").records())
    assert len(src) == 6 and export.graph_table(src[0].graph.to_sg2im()) == meta["graph"]
    # Stopped after the first shard: started again, only the missing one is made.
    first = (out / "shards" / "shard-00000.tar").stat().st_mtime_ns
    (out / "shards" / "shard-00001.tar").unlink()
    again = export.generate(jobs, out, shard_size=4, workers=2, made_by="test")
    assert again["shards_made_now"] == 1 and again["samples"] == 6
    assert (out / "shards" / "shard-00000.tar").stat().st_mtime_ns == first
    # Keeping only compliant samples: a recall no sample reaches keeps none, and says so.
    strict = export.generate(jobs[:1], tmp_path / "strict", shard_size=4, workers=1, min_recall=1.01, made_by="t")
    assert strict["samples"] == 0 and strict["tried_now"] == 1


def test_the_chain_trains_on_a_coco_copy_and_the_studio_draws_its_classes(coco, tmp_path):
    """Encoder, factors and segmenter trained (tiny, a few steps) on COCO's format, put together as a
    weights folder, loaded by `generate --weights` and by the studio, which draw and say COCO-Stuff's
    classes; the shipped backend's vocabulary is untouched."""
    from sgcond_app.backends.tiny import TinyBackend
    from sgcond_app.ui.generate_room import generate, vocabulary_markdown
    from sgcond_app.ui.result_views import legend_html
    from sgcond_app.ui.state import Studio

    source = f"coco:{coco / 'annotations' / 'instances_val2017.json'}+{coco / 'annotations' / 'stuff_val2017.json'}"
    w = tmp_path / "w"
    common = ["--data", source, "--tiny", "--steps", 2, "--batch", 2, "--workers", 0, "--warmup", 1,
              "--log-every", 1]
    r = cli("train", "encoder", "--out", tmp_path / "enc", "--dim", 128, "--export", w / "encoder", *common)
    assert r.returncode == 0, r.stderr
    r = cli("train", "factors", "--out", tmp_path / "fac", "--encoder", w / "encoder", "--export", w / "factors",
            *common)
    assert r.returncode == 0, r.stderr
    r = cli("train", "segmenter", "--out", tmp_path / "seg", "--export", w / "segmenter", *common)
    assert r.returncode == 0, r.stderr
    for folder in ("encoder", "factors/segmentation", "factors/image", "segmenter"):
        config = json.loads((w / folder / "config.json").read_text())
        assert config["vocabulary"] == "coco-stuff" and (w / folder / "vocabulary.json").is_file(), folder
        assert config["training"]["data"] == [source]
    card = (w / "factors" / "depth" / "README.md").read_text()
    assert "ground-plane" in card and "coco-stuff" in card

    graph = tmp_path / "g.txt"
    graph.write_text("person left of dog\nsky above grass\n")
    r = cli("generate", graph, "--weights", w, "--out", tmp_path / "out", "--samples", 2, "--steps", 2)
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["vocabulary"] == "coco-stuff"
    assert {"person", "dog", "grass"} <= set(report["mapping"]["graph"]["objects"])

    backend = TinyBackend.from_pretrained(w)
    caps = backend.capabilities
    assert caps.draws_in == caps.reads_in == "coco-stuff" and caps.vocabularies == ()
    studio = Studio(backend)  # the page's backends, as create_demo(backend) makes them
    said = vocabulary_markdown(studio)
    assert "coco-stuff" in said and "171 classes" in said and "person" in said
    out = list(generate(studio, "person left of dog\nsky above grass", 0, 2, None))
    session = out[-1][7]
    assert session.result.vocabulary == "coco-stuff"
    assert np.asarray(session.result.segmentation).max() < 171
    named = re.findall(r"</span></td><td>([^<]+)</td>", legend_html(session))
    assert named and set(named) <= set(load("coco-stuff").classes), named  # the legend speaks its classes
    assert TinyBackend().capabilities.draws_in == "tiny"


def test_training_items_from_sources_carry_depth_sketch_and_boxes(tmp_path):
    """`SourceStream(graphs=True)`: the tiny world's items keep the renders' own depth and sketch; a
    folder's get the ground-plane depth (sky 0, a thing one disparity, that of the ground it stands
    on) and a sketch on its outlines; each graph object has its box on the map."""
    from scipy.stats import spearmanr

    from sgcond_app.reading.maps import ground_depth
    from sgcond_app.training.data import SourceStream
    from sgcond_app.world import render_sample

    world = next(iter(SourceStream(["world:2@5"], graphs=True, picture_size=128, flip=False)))
    render = render_sample(5, 64)
    assert np.array_equal(world.depth, render.depth) and np.array_equal(world.sketch, render.sketch)
    assert world.picture.shape == (128, 128, 3) and len(world.boxes) == len(world.graph.objects) > 0
    assert ((world.boxes >= 0) & (world.boxes <= 1)).all() and (world.boxes[:, 2:] > world.boxes[:, :2]).all()

    root = _folder(tmp_path / "mine")
    item = next(iter(SourceStream([f"folder:{root}"], graphs=True, flip=False)))
    seg, depth = item.segmentation, item.depth
    assert (depth[seg == 0] == 0).all()  # sky
    for thing in (2, 3):
        assert len(np.unique(depth[seg == thing])) == 1
    assert depth[seg == 2].max() > depth[seg == 3].max()  # the tractor stands lower: nearer than the barn
    field = depth[seg == 1]
    assert field.min() > 0 and depth[63, 0] > depth[33, 0]  # the ground nears towards the bottom
    assert item.sketch[24, 6:26].any() and set(item.graph.labels) == {"sky", "field", "tractor", "barn"}

    # The tiny world is drawn by the same rule: on its renders the rule orders depth as the renderer does.
    v = load("tiny")
    rho = [spearmanr(ground_depth(s.segmentation, s.instances.astype(np.int32), v).ravel(), s.depth.ravel()).statistic
           for s in (render_sample(1_000_000_000 + k, 64) for k in range(20))]
    assert np.median(rho) > 0.95
