"""The command line contract: outputs, and exit code 2 with one clean line for bad input."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sgcond_app.graph import vocab
from sgcond_app.world import classes

ROOT = Path(__file__).resolve().parents[1]
SG2IM = ROOT.parent / "shared" / "external" / "sg2im"


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sgcond_app", *map(str, args)], cwd=cwd or ROOT,
                          capture_output=True, text=True, timeout=120)


def test_palette_json():
    out = json.loads(cli("palette", "--json").stdout)
    assert [c["name"] for c in out["classes"]] == list(classes.CLASS_NAMES)
    assert all(len(c["rgb"]) == 3 and c["id"] == i for i, c in enumerate(out["classes"]))


def test_synth_then_check_agrees(tmp_path):
    r = cli("synth", "--n", 3, "--seed", 10, "--size", 64, "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    for k in range(3):
        d = tmp_path / f"{k:05d}"
        assert {p.name for p in d.iterdir()} >= {"graph.json", "image.png", "segmentation.png",
                                                "instances.png", "depth.png", "sketch.png"}
        seg = np.asarray(Image.open(d / "segmentation.png").convert("RGB"))
        assert (classes.decolorize(seg) != vocab.VOID).all()
        res = json.loads(cli("check", d / "graph.json", d / "segmentation.png", "--depth", d / "depth.png",
                             "--json").stdout)
        assert res["object_recall"] == 1.0 and res["relation_accuracy"] == 1.0
        assert {"index", "label", "present"} <= set(res["objects"][0])
        assert {"subject", "predicate", "object", "holds"} <= set(res["relations"][0])


def test_check_without_depth_leaves_depth_relations_unjudged(tmp_path):
    graph = tmp_path / "g.txt"
    graph.write_text("tree behind sky\nsky above grass")
    seg = np.full((32, 32), classes.CLASS_ID["sky"], np.uint8)
    seg[16:] = classes.CLASS_ID["grass"]
    seg[6:16, 10:14] = classes.CLASS_ID["tree"]
    Image.fromarray(classes.colorize(seg)).save(tmp_path / "s.png")
    res = json.loads(cli("check", graph, tmp_path / "s.png", "--json").stdout)
    assert [r["holds"] for r in res["relations"]] == [None, True]


def test_synth_from_a_graph(tmp_path):
    graph = tmp_path / "g.json"
    graph.write_text(json.dumps({"objects": ["sky", "street", "car", "tree"],
                                 "relationships": [[2, "parked on", 1], [3, "left of", 2], [0, "above", 1]]}))
    r = cli("synth", "--graph", graph, "--seed", 2, "--size", 64, "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "out" / "00000" / "report.json").read_text())
    assert report["object_recall"] == 1.0 and report["relation_accuracy"] == 1.0


@pytest.mark.parametrize("path", sorted(SG2IM.glob("*.json")), ids=lambda p: p.name)
def test_parse_every_sg2im_file(path):
    r = cli("parse", path, "--json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["graphs"]) == len(json.loads(path.read_text()))


BAD = {
    "invalid.json": '{"objects": ["sky", ',
    "index.json": json.dumps({"objects": ["sky", "car"], "relationships": [[0, "above", 7]]}),
    "predicate.json": json.dumps({"objects": ["sky", "car"], "relationships": [[0, "xqzzt", 1]]}),
    "many.json": json.dumps({"objects": ["car"] * 10_000, "relationships": []}),
    "empty.json": "",
    "notjson.json": "[1, 2, 3]",
}


@pytest.mark.parametrize("name", [*BAD, "random.bin"])
def test_bad_input_exits_2_with_one_line(tmp_path, name):
    path = tmp_path / name
    if name == "random.bin":
        path.write_bytes(np.random.default_rng(0).bytes(4000))
    else:
        path.write_text(BAD[name])
    r = cli("parse", path)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert r.stdout == ""


def test_bad_segmentation_and_arguments(tmp_path):
    graph = tmp_path / "g.txt"
    graph.write_text("car on road")
    (tmp_path / "seg.png").write_bytes(b"not a png")
    for args in (("check", graph, tmp_path / "seg.png"), ("synth", "--size", 9999, "--out", tmp_path),
                 ("frobnicate",)):
        r = cli(*args)
        assert r.returncode == 2, args
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
