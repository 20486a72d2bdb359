"""Vocabularies as values (`graph/vocabularies`): the tiny world's 27 classes, ADE20K's 150 and
COCO-Stuff's 171, each with ids as its dataset numbers them, stuff or thing, a colour and its source;
`python -m sgcond_app vocab NAME --json` prints one."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sgcond_app.cli import main
from sgcond_app.errors import BadInput
from sgcond_app.graph import judge
from sgcond_app.graph.vocabularies import NAMES, load
from sgcond_app.world import classes

SIZES = {"tiny": (27, 7), "ade20k": (150, 50), "coco-stuff": (171, 91)}


@pytest.mark.parametrize("name", NAMES)
def test_each_vocabulary_is_a_whole_table(name):
    v = load(name)
    classes, stuff = SIZES[name]
    assert len(v) == len(v.ids) == len(v.stuff) == len(v.palette) == classes and sum(v.stuff) == stuff
    assert len(set(v.classes)) == classes and len(set(v.ids)) == classes
    assert v.palette.shape == (classes, 3) and v.source
    assert all(v.index(n) == k for k, n in enumerate(v.classes))
    assert all(v.aliases[a] in v.classes for a in v.aliases)


def test_the_published_ids_and_colours_are_kept():
    ade = load("ade20k")
    row = {n: (i, tuple(int(x) for x in rgb), s) for i, n, rgb, s in zip(ade.ids, ade.classes, ade.palette, ade.stuff)}
    assert row["wall"] == (1, (120, 120, 120), True) and row["sky"] == (3, (6, 230, 230), True)
    assert row["person"] == (13, (150, 5, 61), False) and row["flag"][0] == 150
    assert row["road"][1] == row["skyscraper"][1]  # as the published palette has it
    assert ade.index("tv") == ade.classes.index("television receiver")
    coco = load("coco-stuff")
    ids = dict(zip(coco.classes, coco.ids))
    assert ids["person"] == 1 and ids["toothbrush"] == 90 and ids["banner"] == 92 and ids["wood"] == 182
    assert 12 not in coco.ids and 183 not in coco.ids  # COCO's gaps
    assert len({tuple(c) for c in coco.palette}) == 171
    assert coco.index("sky") == coco.classes.index("sky-other") and coco.index("doughnut") == coco.index("donut")


def test_the_tiny_vocabulary_is_the_palette_the_maps_use(capsys):
    assert main(["vocab", "tiny", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["name"] == "tiny"
    assert [(c["id"], c["name"], c["rgb"], c["stuff"]) for c in printed["classes"]] == [
        (c.id, c.name, list(c.rgb), c.stuff) for c in classes.CLASSES]
    assert main(["palette", "--json"]) == 0  # the tiny backend's palette: the same table
    assert json.loads(capsys.readouterr().out)["classes"] == [{k: c[k] for k in ("id", "name", "rgb")}
                                                             for c in printed["classes"]]


def test_vocab_prints_each_and_refuses_an_unknown_one(capsys):
    for name in NAMES:
        assert main(["vocab", name, "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert {"name", "source", "classes"} <= set(data)
        assert set(data["classes"][0]) == {"id", "name", "stuff", "rgb"}
    assert main(["vocab", "pascal"]) == 2
    assert "invalid choice: 'pascal'" in capsys.readouterr().err


def test_output_cut_short_by_its_reader_is_not_an_error():
    proc = subprocess.run(f"{sys.executable} -m sgcond_app vocab ade20k | head -c 10", shell=True,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr and "internal error" not in proc.stderr


# --- the judge on each vocabulary (property tests over random maps) -----------------------------------

@st.composite
def scenes(draw):
    """A 64x64 map in a shipped vocabulary: a stuff background, and two things side by side (apart)."""
    v = load(draw(st.sampled_from(["ade20k", "coco-stuff", "tiny"])))
    stuff = [k for k in range(len(v)) if v.stuff[k]]
    things = [k for k in range(len(v)) if not v.stuff[k]]
    ground = draw(st.sampled_from(stuff))
    a, b = draw(st.lists(st.sampled_from(things), min_size=2, max_size=2, unique=True))
    w = draw(st.integers(6, 20))
    top, h = draw(st.integers(0, 30)), draw(st.integers(6, 30))
    gap = draw(st.integers(2, 64 - 2 * w - 2))
    seg = np.full((64, 64), ground, np.uint8)
    seg[top:top + h, 1:1 + w] = a
    seg[top:top + h, 1 + w + gap:1 + 2 * w + gap] = b
    return v, seg, ground, a, b


@settings(max_examples=120, deadline=None, derandomize=True)
@given(scenes())
def test_the_judge_reads_any_vocabulary_as_it_reads_the_tiny_worlds(scene):
    v, seg, ground, a, b = scene
    labels = [v.classes[a], v.classes[b], v.classes[ground]]
    verdict = judge.judge(labels, [(0, "left of", 1), (1, "left of", 0), (0, "on", 2)], seg, vocabulary=v)
    assert [o.present for o in verdict.objects] == [True, True, True]
    assert [r.holds for r in verdict.relations[:2]] == [True, False]
    # An unnamed thing is an extra; unnamed stuff is not.
    alone = judge.judge([v.classes[a]], [], seg, vocabulary=v)
    assert [alone.regions[i].label for i in alone.extras] == [v.classes[b]]
    # Two pieces of a thing are two objects; of stuff, one (unless the graph names it twice).
    seg2 = seg.copy()
    seg2[seg == b] = a
    regions = judge.extract_regions(seg2, vocabulary=v)
    assert sum(r.label == v.classes[a] for r in regions) == 2
    assert sum(r.label == v.classes[ground] for r in regions) == 1
    assert judge.unnamed_fraction(labels, seg, vocabulary=v) == 0.0


@settings(max_examples=60, deadline=None, derandomize=True)
@given(scenes())
def test_mapping_masks_drawing_and_the_check_take_any_vocabulary(scene):
    """A graph in a vocabulary's words maps onto its own classes (the tiny world's are not asked); a
    thing is picked, moved and deleted on a map of its classes, the hole taking the stuff behind it;
    the map is drawn in its palette; the check judges the mapped graph in that vocabulary."""
    from sgcond_app.editing import masks as ed
    from sgcond_app.graph.compliance import check
    from sgcond_app.graph.mapping import map_graph
    from sgcond_app.graph.scene_graph import SceneGraph

    v, seg, ground, a, b = scene
    graph = SceneGraph.build([(v.classes[a], ()), (v.classes[b], ()), (v.classes[ground], ())],
                             [(0, "left of", 1), (0, "on", 2)])
    mapped = map_graph(graph, v)
    assert mapped.vocabulary == v.name and mapped.graph.labels == graph.labels
    assert all(w.method == "exact" for w in mapped.words)
    report = check(mapped, seg)
    assert [o["present"] for o in report["objects"]] == [True, True, True]
    assert report["relations"][0]["holds"] is True

    m = ed.Masks.from_segmentation(seg, vocabulary=v)
    ys, xs = np.nonzero(seg == a)
    iid = ed.pick(m, int(xs[0]), int(ys[0]))
    assert m.label_of(iid) == v.classes[a] and not m.is_stuff(iid) and len(m.things()) == 2
    with pytest.raises(BadInput, match="not on an object"):
        ed.pick(m, 63, 63)  # the background
    moved = ed.move(m, iid, 0, 1)
    assert (moved.segmentation == a).sum() == (seg == a).sum() and (moved.segmentation[ys + 1, xs] == a).all()
    gone = ed.delete(m, iid).segmentation
    assert not (gone == a).any() and (gone[seg == a] == ground).all()

    rgb = v.colorize(seg)
    assert tuple(rgb[ys[0], xs[0]]) == v.rgb(v.classes[a]) == tuple(int(c) for c in v.palette[a])
    assert tuple(rgb[63, 63]) == v.rgb(v.classes[ground])


def test_the_tiny_vocabulary_is_the_judges_default():
    from sgcond_app.world.sample import render_sample

    s = render_sample(1_000_000_555, 64)
    g = s.graph
    default = judge.judge(g.labels, g.triples(), s.segmentation, s.depth)
    given_ = judge.judge(g.labels, g.triples(), s.segmentation, s.depth, vocabulary=load("tiny"))
    assert default.to_json() == given_.to_json()


@pytest.mark.parametrize("name, sky, ground, things", [("ade20k", "sky", "road", ("car", "person")),
                                                       ("coco-stuff", "sky-other", "grass", ("dog", "person"))])
def test_a_graph_is_read_off_a_map_in_its_own_vocabulary(name, sky, ground, things):
    """The world's own rules (objects large enough, relations that clearly hold and that a person
    would say) on a map in ADE20K's or COCO-Stuff's classes give a graph in their words."""
    from sgcond_app.reading.derive import graph_from_maps

    v = load(name)
    seg = np.full((64, 64), v.position(sky), np.uint8)
    seg[30:] = v.position(ground)
    seg[18:40, 6:20] = v.position(things[0])
    seg[10:40, 36:44] = v.position(things[1])
    graph, regions = graph_from_maps(seg, None, v)
    assert sorted(graph.labels) == sorted([sky, ground, *things])
    said = {(graph.labels[s], p, graph.labels[o]) for s, p, o in graph.triples()}
    assert {(things[0], "on", ground), (things[1], "on", ground)} <= said
    assert not any(p == "on" and s == sky for s, p, _ in said)
    verdict = judge.judge(graph.labels, graph.triples(), seg, vocabulary=v)
    assert verdict.object_recall == 1.0 and verdict.relation_accuracy == 1.0


def test_a_chain_in_a_vocabulary_a_dataset_brought_draws_judges_and_tells_a_remote_page():
    """A chain whose models know a folder's four classes (tiny random ones): its maps hold only them,
    the judge reads them by name, its capabilities carry the table, and a page elsewhere that reads
    the capabilities knows the vocabulary by name; another table under a known name is refused."""
    import torch

    from sgcond_app.backends.base import Capabilities, Options
    from sgcond_app.backends.tiny import TinyBackend
    from sgcond_app.fgdm.chain import Chain
    from sgcond_app.fgdm.factors import FACTORS, TOKEN_DIM, tiny_config
    from sgcond_app.graph import vocabularies
    from sgcond_app.graph.scene_graph import SceneGraph
    from sgcond_app.models.denoiser import FactorDenoiser
    from sgcond_app.models.graph_encoder import SceneGraphEncoder
    from sgcond_app.models.segmenter import Segmenter
    from sgcond_app.models.shipped import ENCODER_DIR
    from sgcond_app.models.words import WordTable

    farm = vocabularies.from_table("farm-test", "a test's folder", [(1, "sky", True), (2, "field", True),
                                                                     (3, "tractor", False), (4, "barn", False)],
                                   ground=("field",), sky=("sky",))
    torch.manual_seed(0)
    encoder = SceneGraphEncoder(SceneGraphEncoder.Config(dim=TOKEN_DIM, graph_layers=1, image_channels=(8, 8, 8),
                                                         image_layers=1, decoder_layers=1)).eval()
    factors = {f: FactorDenoiser(tiny_config(f, 4)).eval() for f in FACTORS}
    segmenter = Segmenter(Segmenter.Config(channels=(8, 16, 16, 16), num_classes=4)).eval()
    with pytest.raises(ValueError, match="27"):
        Chain(encoder, WordTable.load(ENCODER_DIR), factors, Segmenter(Segmenter.Config(channels=(8, 16, 16, 16))),
              vocabulary=farm)
    backend = TinyBackend(Chain(encoder, WordTable.load(ENCODER_DIR), factors, segmenter, vocabulary=farm))
    g = SceneGraph.build([("tractor", ()), ("field", ()), ("barn", ())], [(0, "on", 1), (0, "left of", 2)])
    r = backend.generate(g, 3, Options(samples=2, steps={f: 2 for f in FACTORS}))
    assert r.vocabulary == "farm-test" and int(np.asarray(r.segmentation).max()) < 4
    assert [o.label for o in r.verdict.objects] == ["tractor", "field", "barn"]
    caps = backend.capabilities
    assert caps.draws_in == caps.reads_in == "farm-test" and caps.vocabularies[0]["name"] == "farm-test"
    assert load("farm-test") is farm  # the process that loaded the chain knows it by name
    vocabularies._REGISTERED.pop("farm-test")  # as in a page's process elsewhere, which had not ...
    with pytest.raises(BadInput, match="no vocabulary 'farm-test'"):
        load("farm-test")
    Capabilities.from_json(json.loads(json.dumps(caps.to_json()))).register_vocabularies()
    assert load("farm-test").classes == farm.classes  # ... until it read what its backend brought
    assert r.judged(g).object_recall == r.verdict.object_recall
    with pytest.raises(BadInput, match="known already with other classes"):
        vocabularies.register(vocabularies.from_table("farm-test", "another", [(1, "sky", True)]))
    with pytest.raises(BadInput, match="known already with other classes"):
        vocabularies.register(vocabularies.from_table("tiny", "another", [(1, "sky", True)]))
