"""Pictures in: files read safely, inversion brings a picture back, an edit keeps what it did not
touch, a graph edit moves, deletes and relabels, the folder `read` writes is read back."""

import dataclasses
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sgcond_app.backends import Options, wire
from sgcond_app.errors import BadInput
from sgcond_app.fgdm import inversion
from sgcond_app.graph import judge, vocab
from sgcond_app.graph.scene_graph import SceneGraph
from sgcond_app.reading import load
from sgcond_app.reading.derive import graph_from_maps
from sgcond_app.reading.edit import apply_op, graph_edit, parse_op
from sgcond_app.world import classes
from tests.test_backends import tiny_random_backend

ROOT = Path(__file__).resolve().parents[1]


def _encoded(array: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt, **kw)
    return buf.getvalue()


def _picture(h=48, w=80) -> np.ndarray:
    rng = np.random.default_rng(0)
    arr = np.zeros((h, w, 3), np.uint8)
    arr[:, : w // 2] = (200, 30, 30)
    arr[:, w // 2:] = (30, 30, 200)
    return np.clip(arr.astype(int) + rng.integers(0, 5, arr.shape), 0, 255).astype(np.uint8)


# --- files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "BMP", "GIF"])
def test_every_format_reads_to_the_chains_size(fmt):
    out = load.load_picture(_encoded(_picture(), fmt), 32)
    assert out.shape == (32, 32, 3) and out.dtype == np.uint8
    # Centre crop of a wide picture: both halves still there, red left, blue right.
    assert out[16, 2, 0] > 150 and out[16, 29, 2] > 150


def test_modes_and_orientation():
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 0] = 255  # red, fully transparent: white after flattening
    assert (load.load_picture(_encoded(rgba, "PNG"), 20) == 255).all()
    grey = np.full((20, 20), 77, np.uint8)
    assert (load.load_picture(_encoded(grey, "PNG"), 20) == 77).all()
    pal = Image.fromarray(_picture(20, 20)).convert("P")
    buf = io.BytesIO()
    pal.save(buf, format="PNG")
    assert load.load_picture(buf.getvalue(), 20).shape == (20, 20, 3)
    deep = Image.fromarray(np.full((20, 20), 65535, np.uint16))
    buf = io.BytesIO()
    deep.save(buf, format="PNG")
    assert (load.load_picture(buf.getvalue(), 20) == 255).all()
    # EXIF orientation 6 (rotate 90 degrees clockwise to view): a tall picture shows wide.
    tall = np.zeros((40, 20, 3), np.uint8)
    tall[:10] = 255  # white at the top
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    Image.fromarray(tall).save(buf, format="JPEG", exif=exif, quality=95)
    upright = load.decode(buf.getvalue())
    assert upright.shape[:2] == (20, 40) and upright[:, -5:].mean() > 200 and upright[:, :5].mean() < 50


def test_what_is_not_a_picture_is_refused_with_one_line(tmp_path, monkeypatch):
    with pytest.raises(BadInput, match="not a picture"):
        load.decode(b"scene graphs are not pictures")
    with pytest.raises(BadInput, match="empty"):
        load.decode(b"")
    png = _encoded(_picture(64, 64), "PNG")
    with pytest.raises(BadInput, match="damaged or truncated|could not be read"):
        load.decode(png[: len(png) // 2])
    with pytest.raises(BadInput, match="at least 8 pixels"):
        load.decode(_encoded(np.zeros((4, 30, 3), np.uint8), "PNG"))
    with pytest.raises(BadInput, match="no picture at"):
        load.decode(tmp_path / "nothing.png")
    monkeypatch.setattr(load, "MAX_BYTES", 100)
    with pytest.raises(BadInput, match="at most 0 MB|MB"):
        load.decode(png)


def test_a_decompression_bomb_is_refused_from_its_header():
    # 8000 x 6000 of zeros: a few kB of PNG, 48 megapixels once decoded.
    big = Image.new("L", (8000, 6000))
    buf = io.BytesIO()
    big.save(buf, format="PNG")
    assert len(buf.getvalue()) < 200_000
    with pytest.raises(BadInput, match="megapixels"):
        load.decode(buf.getvalue())


# --- inversion ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    return tiny_random_backend()


def test_edit_friendly_inversion_brings_the_picture_back_exactly_and_ddim_nearly(tiny):
    from sgcond_app.fgdm.factors import picture_conditions
    from sgcond_app.fgdm.sampler import Guided

    model = tiny.chain.factors["image"]
    seg = torch.zeros(1, 64, 64, dtype=torch.long)
    seg[:, 32:] = classes.CLASS_ID["grass"]
    predict = Guided(model, picture_conditions(seg, None, None, 128), guidance=2.0)
    x0 = torch.rand(1, 3, 128, 128) * 2 - 1
    inv = inversion.invert(predict, "image", x0, "ddpm", 5, seed=3)
    back = inversion.regenerate(predict, "image", inv)
    assert (back - x0).abs().max() < 1e-4
    state = inversion.Inversion.from_state(inv.to_state())
    assert torch.equal(inversion.regenerate(predict, "image", state), back)
    ddim = inversion.invert(predict, "image", x0, "ddim", 5)
    assert ddim.noises is None and torch.isfinite(inversion.regenerate(predict, "image", ddim)).all()
    # A mask of zeros keeps the original everywhere; a mask changes only what it covers.
    mask = torch.zeros(1, 1, 128, 128)
    assert torch.allclose(inversion.regenerate(predict, "image", inv, x0, mask), x0, atol=1e-6)
    mask[..., 40:50, 60:70] = 1
    out = inversion.regenerate(predict, "image", inv, x0, mask)
    changed = (out - x0).abs().amax(1)[0] > 1e-5
    assert changed[40:50, 60:70].any() and not changed[:40].any() and not changed[:, :60].any()


def test_a_read_picture_edited_keeps_the_rest(tiny):
    picture = (np.random.default_rng(1).random((128, 128, 3)) * 255).astype(np.uint8)
    r = tiny.read(picture, seed=2, inversion="ddpm", steps=3)
    assert r.inverted and np.array_equal(r.image, picture) and len(r.graph.objects) >= 1
    assert np.array_equal(tiny.reconstruct(r), picture)
    same = tiny.rerun(r)  # nothing edited: the picture, exactly
    assert np.array_equal(same.image, picture)
    edited = r.segmentation.copy()
    edited[10:20, 10:20] = classes.CLASS_ID["dog"]
    after = tiny.rerun(r, edited)
    changed = np.kron(np.abs(after.image.astype(int) - picture).max(2) > 0, np.ones((1, 1)))
    ys, xs = np.nonzero(changed)
    assert len(ys) and ys.min() >= 2 * (10 - 4) and ys.max() < 2 * (20 + 4) and xs.min() >= 2 * (10 - 4)
    # The result crosses the wire with its inversion, and edits the same after.
    back = wire.from_bytes(wire.to_bytes(after))
    assert back.inverted and np.array_equal(tiny.rerun(back, edited).image, after.image)
    # Any size and shape of picture is fitted; a DDIM inversion of a generated result too.
    wide = tiny.read(np.zeros((30, 90, 3), np.uint8), steps=2)
    assert wide.image.shape == (128, 128, 3)
    assert tiny.invert(wide, "ddim", 2).inverted
    with pytest.raises(BadInput, match="inversion must be"):
        tiny.read(picture, inversion="sdedit")


def test_a_picture_no_larger_than_the_map_loses_the_segmenters_slivers_of_things(tiny, monkeypatch):
    from sgcond_app.fgdm import stages

    seg = np.full((64, 64), classes.CLASS_ID["sky"], np.uint8)
    seg[24:40] = classes.CLASS_ID["water"]
    seg[40:] = classes.CLASS_ID["grass"]
    seg[39, 5:40] = classes.CLASS_ID["fence"]  # a line along the water's edge: nowhere 3 px thick
    seg[44:46, 45:60] = classes.CLASS_ID["car"]  # 2 px thick: a sliver too
    seg[50:56, 10:16] = classes.CLASS_ID["dog"]  # a thing
    filled = stages.fill_slivers(seg)
    assert not np.isin(filled, [classes.CLASS_ID["fence"], classes.CLASS_ID["car"]]).any()
    assert np.array_equal(filled[50:56, 10:16], seg[50:56, 10:16])
    assert set(np.unique(filled[39, 5:40])) <= {classes.CLASS_ID["water"], classes.CLASS_ID["grass"]}
    assert (filled[44:46, 45:60] == classes.CLASS_ID["grass"]).all()  # what is nearest
    # Read: a 64 px picture (as small as the map) loses them; a 128 px one keeps them (a fence there
    # is seen, and may be thin).
    monkeypatch.setattr(tiny.chain.segmenter, "segment",
                        lambda picture, size=None, confidence=False: (seg.copy(), np.ones(seg.shape, np.float32)))
    small = tiny.read(np.zeros((64, 64, 3), np.uint8), steps=2)
    large = tiny.read(np.zeros((128, 128, 3), np.uint8), steps=2)
    assert "fence" not in small.graph.labels and (small.segmentation == classes.CLASS_ID["dog"]).sum() == 36
    assert np.array_equal(large.segmentation, seg)


def test_redraws_of_an_edit_keep_the_one_the_segmenter_reads_as_the_edit(tiny):
    from sgcond_app.fgdm.factors import picture_conditions
    from sgcond_app.fgdm.sampler import Guided

    model = tiny.chain.factors["image"]
    seg = torch.zeros(1, 64, 64, dtype=torch.long)
    x0 = torch.rand(1, 3, 128, 128) * 2 - 1
    inv = inversion.invert(Guided(model, picture_conditions(seg, None, None, 128)), "image", x0, "ddpm", 3, seed=5)
    mask = torch.zeros(1, 1, 128, 128)
    mask[..., 30:60, 30:60] = 1
    one = inversion.regenerate(Guided(model, picture_conditions(seg, None, None, 128)), "image", inv, x0, mask)
    three = inversion.regenerate(Guided(model, picture_conditions(seg.expand(3, -1, -1), None, None, 128), batch=3),
                                 "image", inv, x0, mask, variants=3)
    # The first draw is the single one; the others differ inside the mask only.
    assert three.shape[0] == 3 and torch.allclose(three[0], one[0], atol=1e-5)
    assert (three[1] - three[0]).abs()[..., 30:60, 30:60].mean() > 1e-3
    assert torch.equal(three[1][..., :30, :], three[0][..., :30, :])
    # Through the backend: an edit with redraws keeps a draw the segmenter reads closest to the map.
    picture = (np.random.default_rng(4).random((128, 128, 3)) * 255).astype(np.uint8)
    r = tiny.read(picture, seed=1, steps=2)
    edited = r.segmentation.copy()
    edited[20:40, 20:40] = classes.CLASS_ID["dog"]
    chain = tiny.chain
    scored = []
    real = chain._read_as_map

    def spy(images, *rest):
        scores = real(images, *rest)
        scored.append((images.copy(), scores))
        return scores

    chain._read_as_map = spy
    try:
        several = tiny.rerun(dataclasses.replace(r, options=dataclasses.replace(r.options, redraws=3, tries=1)),
                             edited)
        assert [len(images) for images, _ in scored] == [3] and several.options.redraws == 3
        images, scores = scored[0]
        assert np.array_equal(several.image, images[max(range(3), key=lambda i: (scores[i], -i))])
        # Tries: a dog the segmenter does not read on a noise picture is drawn again, from other noise,
        # as many times as asked, and the draw read best is kept.
        scored.clear()
        tried = tiny.rerun(dataclasses.replace(r, options=dataclasses.replace(r.options, tries=3)), edited)
    finally:
        chain._read_as_map = real
    assert [s[0][0] for _, s in scored] == [False, False, False] and tried.options.tries == 3
    draws = [images[0] for images, _ in scored]
    assert not np.array_equal(draws[0], draws[1]) and not np.array_equal(draws[1], draws[2])
    assert np.array_equal(tried.image, draws[max(range(3), key=lambda i: (scored[i][1][0], -i))])
    # ... and the person is told that no draw was read as the edit (in the result and its report,
    # across the wire too); an edit drawn once, unchecked, says nothing.
    assert len(tried.notes) == 1 and "in none of 3 draws" in tried.notes[0]
    assert wire.from_bytes(wire.to_bytes(tried)).notes == tried.notes
    assert bool(several.notes) == (not any(ok for ok, _ in scores))
    outside = np.ones((128, 128), bool)
    outside[30:90, 30:90] = False
    for out in (several, tried):
        assert np.array_equal(out.image[outside], picture[outside])
    with pytest.raises(BadInput, match="redraws"):
        tiny.rerun(r, edited, options=Options(redraws=9))
    with pytest.raises(BadInput, match="tries"):
        tiny.rerun(r, edited, options=Options(tries=0))


def test_a_draw_is_read_as_the_edit_only_where_the_edited_things_relations_hold_on_it(tiny):
    chain = tiny.chain
    before = _scene()  # a dog left of a tree
    edited = before.copy()
    edited[26:40, 8:18] = classes.CLASS_ID["sky"]
    edited[36:40, 8:18] = classes.CLASS_ID["grass"]
    edited[26:40, 54:64] = classes.CLASS_ID["dog"]  # moved right of the tree
    graph = SceneGraph.build([("sky", ()), ("grass", ()), ("dog", ()), ("tree", ())],
                             [(2, "right of", 3), (3, "above", 1)])
    # The segmenter reads the dog where it was drawn, but the tree (which the edit did not touch)
    # further right than the dog on the second draw: the dog is not right of it there.
    wrong = edited.copy()
    wrong[14:40, 40:52] = classes.CLASS_ID["sky"]
    wrong[4:26, 58:64] = classes.CLASS_ID["tree"]

    class Reads:
        def segment(self, images, size):
            return np.stack([edited, wrong])

    real, chain.segmenter = chain.segmenter, Reads()
    try:
        changed = edited != before
        pictures = np.zeros((2, 128, 128, 3), np.uint8)
        with_graph = chain._read_as_map(pictures, edited, before, changed, graph)
        classes_only = chain._read_as_map(pictures, edited, before, changed)
    finally:
        chain.segmenter = real
    assert [ok for ok, _ in with_graph] == [True, False]
    assert [ok for ok, _ in classes_only] == [True, True]
    # Only relations that hold on the edited map and name a thing the edit changed are asked.
    assert chain._edited_relations(graph, edited, None, changed) == [(2, "right of", 3)]


def test_a_relabelled_thing_gets_a_box_of_its_own_class_on_the_same_ground_line():
    from sgcond_app.reading.edit import _new_box

    seg = _scene()
    tree = seg == classes.CLASS_ID["tree"]  # rows 14..39, columns 40..51
    bush = _new_box(seg, tree, "bush")
    rows, cols = np.nonzero(bush.any(1))[0], np.nonzero(bush.any(0))[0]
    assert rows.max() == 39  # the same base line
    assert rows.size < 10 and cols.size > rows.size  # a bush is low (0.8 / 3.2 of a tree) and wide
    assert abs((cols.min() + cols.max()) / 2 - 45.5) <= 1  # the same centre
    dog = seg == classes.CLASS_ID["dog"]  # rows 26..39
    horse = _new_box(seg, dog, "horse")
    assert np.nonzero(horse.any(1))[0].size > 14 * 2  # 1.05 / 0.42 of the dog's height


def test_a_moved_or_mirrored_thing_is_found_and_keeps_its_own_pixels():
    old = np.full((8, 8), classes.CLASS_ID["grass"], np.uint8)
    old[2:5, 1:3] = classes.CLASS_ID["dog"]
    old[2, 1] = classes.CLASS_ID["grass"]  # not symmetric, so a mirror can be told from a shift
    picture = (np.arange(16 * 16 * 3) % 251).astype(np.uint8).reshape(16, 16, 3)
    moved = np.full_like(old, classes.CLASS_ID["grass"])
    moved[2:5, 5:7] = old[2:5, 1:3]  # three map pixels to the right
    changed = moved != old
    guide, where = inversion.transplants(old, moved, changed, picture)
    assert where.sum() == 4 * 5 and np.array_equal(guide[6:10, 10:14], picture[6:10, 2:6])
    assert np.array_equal(guide[~where], picture[~where])
    mirrored = old.copy()
    mirrored[2:5, 1:3] = old[2:5, 1:3][:, ::-1]
    guide, where = inversion.transplants(old, mirrored, mirrored != old, picture)
    assert np.array_equal(guide[6:10, 4:6], picture[6:10, 2:4][:, ::-1])
    assert inversion.transplants(old, old, np.zeros_like(changed), picture) is None  # nothing moved
    other = moved.copy()
    other[moved == classes.CLASS_ID["dog"]] = classes.CLASS_ID["sheep"]  # a new thing, not a moved one
    assert inversion.transplants(old, other, other != old, picture) is None


# --- the graph of a picture, and graph edits ----------------------------------------------------


def _scene() -> np.ndarray:
    seg = np.full((64, 64), classes.CLASS_ID["sky"], np.uint8)
    seg[36:] = classes.CLASS_ID["grass"]
    seg[26:40, 8:18] = classes.CLASS_ID["dog"]
    seg[14:40, 40:52] = classes.CLASS_ID["tree"]
    return seg


def test_the_graph_read_off_maps_holds_on_them():
    from sgcond_app.world.sample import render_sample

    for seed in range(5):
        s = render_sample(1_000_070_000 + seed, 64)
        g, regions = graph_from_maps(s.segmentation, s.depth)
        v = judge.judge(g.labels, g.triples(), s.segmentation, s.depth)
        assert v.object_recall == 1.0 and all(x.holds for x in v.relations)
        assert set(g.labels) <= set(classes.CLASS_NAMES) and len(g.relations) >= len(g.objects) - 1
        true = judge.judge(s.graph.labels, s.graph.triples(), s.segmentation, s.depth)
        assert {o.label for o in true.objects} <= set(g.labels)
    g, _ = graph_from_maps(_scene())
    assert g.labels == ["sky", "grass", "dog", "tree"]


def test_a_relation_turned_around_moves_the_subject_as_little_as_it_can():
    seg = _scene()
    old = SceneGraph.build([("sky", ()), ("grass", ()), ("dog", ()), ("tree", ())],
                           [(2, "left of", 3), (2, "on", 1), (0, "above", 1)])
    new = SceneGraph.build([(o.label, ()) for o in old.objects], [(2, "right of", 3), (2, "on", 1), (0, "above", 1)])
    out, said = graph_edit(seg, None, old, new)
    v = judge.judge(new.labels, new.triples(), out, None)
    assert all(x.holds for x in v.relations), said
    assert any("moved the dog" in line or "moved the tree" in line for line in said)
    moved = (out == classes.CLASS_ID["dog"]).sum()
    assert abs(int(moved) - 140) <= 10  # the dog kept its size (10 x 14)
    # Nothing to do: said so.
    same, said = graph_edit(seg, None, old, old)
    assert np.array_equal(same, seg) and "nothing to change" in said[0]


def test_a_moved_thing_does_not_hide_a_small_one_and_background_moves_where_no_thing_can():
    sky, grass = classes.CLASS_ID["sky"], classes.CLASS_ID["grass"]
    # A building whose shortest way right of the sun runs over the sun: it goes round it, or the
    # sun moves; either way the sun stays in sight.
    seg = np.full((64, 64), sky, np.uint8)
    seg[40:] = grass
    seg[10:40, 4:20] = classes.CLASS_ID["building"]
    seg[8:13, 26:31] = classes.CLASS_ID["sun"]
    labels = [("sky", ()), ("grass", ()), ("building", ()), ("sun", ())]
    old = SceneGraph.build(labels, [(2, "left of", 3)])
    new = SceneGraph.build(labels, [(2, "right of", 3)])
    out, said = graph_edit(seg, None, old, new)
    v = judge.judge(new.labels, new.triples(), out, None)
    assert all(o.present for o in v.objects) and all(x.holds for x in v.relations), said
    assert (out == classes.CLASS_ID["sun"]).sum() >= 0.75 * 25
    # A bus too long to pass a river at the map's right edge: the river moves left, behind it.
    water, bus = classes.CLASS_ID["water"], classes.CLASS_ID["bus"]
    seg = np.full((64, 64), sky, np.uint8)
    seg[30:] = grass
    seg[20:36, 2:54] = bus
    seg[38:, 50:62] = water
    labels = [("sky", ()), ("grass", ()), ("water", ()), ("bus", ())]
    old = SceneGraph.build(labels, [(3, "left of", 2), (3, "on", 1)])
    new = SceneGraph.build(labels, [(3, "right of", 2), (3, "on", 1)])
    out, said = graph_edit(seg, None, old, new)
    v = judge.judge(new.labels, new.triples(), out, None)
    assert all(x.holds for x in v.relations), said
    assert any("moved the water" in line for line in said), said
    assert np.array_equal(out == bus, seg == bus)  # the bus stays where it was
    assert (out == water).sum() >= 0.5 * (seg == water).sum()
    # Two pieces of background are not moved for each other.
    both = SceneGraph.build(labels, [(2, "above", 1)])
    _, said = graph_edit(seg, None, SceneGraph.build(labels, [(2, "below", 1)]), both)
    assert any("both are background" in line for line in said)


def test_delete_and_relabel_through_the_graph():
    seg = _scene()
    old = SceneGraph.build([("sky", ()), ("grass", ()), ("dog", ()), ("tree", ())], [(2, "left of", 3)])
    gone = SceneGraph.build([("sky", ()), ("grass", ()), ("tree", ())], [])
    out, said = graph_edit(seg, None, old, gone)
    assert not (out == classes.CLASS_ID["dog"]).any() and "deleted the dog" in said
    sheep = SceneGraph.build([("sky", ()), ("grass", ()), ("sheep", ()), ("tree", ())], [(2, "left of", 3)])
    out, said = graph_edit(seg, None, old, sheep)
    assert (out == classes.CLASS_ID["sheep"]).sum() == (seg == classes.CLASS_ID["dog"]).sum()
    more = SceneGraph.build([(o.label, ()) for o in old.objects] + [("car", ())], [])
    with pytest.raises(BadInput, match="more objects"):
        graph_edit(seg, None, old, more)
    with pytest.raises(BadInput, match="a thing can become another thing"):
        graph_edit(seg, None, old, SceneGraph.build([("sky", ()), ("grass", ()), ("sand", ()), ("tree", ())], []))
    with pytest.raises(BadInput, match="not a class of the tiny world"):
        graph_edit(seg, None, old, SceneGraph.build([("sky", ()), ("grass", ()), ("poodle", ()), ("tree", ())], []))


def test_a_relabel_draws_its_new_shape_again_until_the_new_class_is_drawn():
    from sgcond_app.reading.edit import RELABEL_DRAWS, relabel

    seg = _scene()
    tree = seg == classes.CLASS_ID["tree"]
    g = SceneGraph.build([("sky", ()), ("grass", ()), ("dog", ()), ("bush", ())], [(2, "left of", 3)])
    seeds: list[int] = []

    def redraw(graph, start, room, seed):  # the factor draws the bush only from the third noise on
        seeds.append(seed)
        return start if seed >= 2 else np.where(room & (start == classes.CLASS_ID["bush"]),
                                                classes.CLASS_ID["grass"], start).astype(start.dtype)

    out = relabel(seg, tree, "bush", g, redraw)
    assert seeds == [0, 1, 2]
    bush = out == classes.CLASS_ID["bush"]
    assert bush.any() and not (out == classes.CLASS_ID["tree"]).any()
    assert bush.sum() < tree.sum() / 2  # its own box, not the tree's outline
    seeds.clear()
    never = relabel(seg, tree, "bush", g, lambda graph, start, room, seed: seeds.append(seed) or seg)
    assert seeds == list(range(RELABEL_DRAWS))
    assert np.array_equal(never == classes.CLASS_ID["bush"], tree)  # none drew it: the old outline stays


def test_a_region_redrawn_by_the_segmentation_factor_keeps_the_rest(tiny):
    seg = _scene()
    region = np.zeros(seg.shape, bool)
    region[22:44, 4:22] = True
    g = SceneGraph.build([("sky", ()), ("grass", ()), ("sheep", ()), ("tree", ())], [(2, "left of", 3)])
    out = tiny.redraw(g, seg, region, seed=1)
    assert out.shape == seg.shape and np.array_equal(out[~region], seg[~region])
    named = set(classes.STUFF_IDS) | {classes.CLASS_ID["sheep"], classes.CLASS_ID["tree"]}
    assert set(np.unique(out[region]).tolist()) <= named  # no thing the graph does not name


def test_a_segmentation_inverted_under_its_own_factor_comes_back(tiny):
    """FG-DM's inversion of a map under its factor: edit-friendly, the map comes back pixel for pixel
    (random weights or trained); DDIM keeps only x_T (its figures on trained weights: bench pictures)."""
    seg = _scene()
    g = SceneGraph.build([("sky", ()), ("grass", ()), ("dog", ()), ("tree", ())], [(2, "left of", 3)])
    chain = tiny.chain
    inv = chain.invert_segmentation(g, seg, "ddpm", 6, seed=2)
    assert inv.noises.shape[0] == 6 and np.array_equal(chain.regenerate_segmentation(g, seg, inv), seg)
    again = inversion.Inversion.from_state(inv.to_state())
    assert np.array_equal(chain.regenerate_segmentation(g, seg, again), seg)
    ddim = chain.invert_segmentation(g, seg, "ddim", 6)
    assert ddim.noises is None and chain.regenerate_segmentation(g, seg, ddim).shape == seg.shape
    with pytest.raises(BadInput, match="64x64"):
        chain.invert_segmentation(g, seg[:10, :10])


def test_operations_are_parsed_and_refused_clearly():
    assert parse_op("move:1,2,3,4") == ("move", ["1", "2", "3", "4"])
    with pytest.raises(BadInput, match="unknown operation"):
        parse_op("rotate:1,2")
    with pytest.raises(BadInput, match="takes 2 numbers"):
        parse_op("delete:1")
    seg = _scene()
    out, line = apply_op(seg, None, "move:12,30,10,0")
    assert "moved the dog" in line and (out[26:40, 18:28] == classes.CLASS_ID["dog"]).all()


# --- concept edits ---------------------------------------------------------------------------


def test_concepts_are_parsed_mapped_and_refused_clearly():
    from sgcond_app.reading.concepts import DEFAULT_SCALE, parse_concepts

    cs = parse_concepts(" +lamb , -poodle:2.5")
    assert [(c.sign, c.label, c.scale) for c in cs] == [("+", "sheep", DEFAULT_SCALE), ("-", "dog", 2.5)]
    assert "dog" in cs[1].why  # a poodle is read as a kind of dog, and the reason is kept
    for text, message in (("", "give concepts"), ("car", "starts with \\+"), ("-car:9", "scale of car"),
                          ("-blorfing", "not a class"), ("-red", "attribute"), ("-car,-car", "named twice"),
                          ("-a,-b,-c,-d,-e", "at most 4")):
        with pytest.raises(BadInput, match=message):
            parse_concepts(text)


def test_a_concept_plan_takes_away_and_replaces_in_stages():
    from sgcond_app.reading.concepts import parse_concepts, plan

    seg = _scene()
    seg[44:54, 24:30] = classes.CLASS_ID["dog"]  # a second dog: both go
    old = SceneGraph.build([("sky", ()), ("grass", ()), ("dog", ()), ("tree", ()), ("dog", ())],
                           [(2, "left of", 3), (4, "below", 3)])
    p = plan(seg, None, old, parse_concepts("-dog"))
    assert len(p.segmentations) == 1 and not (p.segmentations[0] == classes.CLASS_ID["dog"]).any()
    assert p.graph.labels == ["sky", "grass", "tree"] and not p.graph.relations and "2 of them" in p.said[0]
    assert np.array_equal(p.segmentations[0][seg != classes.CLASS_ID["dog"]], seg[seg != classes.CLASS_ID["dog"]])
    p = plan(seg, None, old, parse_concepts("+sheep:2,-dog"))
    removed, replaced = p.segmentations
    assert not (removed == classes.CLASS_ID["sheep"]).any() and p.scales == [1.5, 2.0]
    assert np.array_equal(replaced == classes.CLASS_ID["sheep"], seg == classes.CLASS_ID["dog"])
    assert p.graph.labels == ["sky", "grass", "sheep", "tree", "sheep"] and len(p.graph.relations) == 2
    for text, message in (("+sheep", "needs one taken away"), ("-car", "no car"), ("+sand,-dog", "-WORD of stuff")):
        with pytest.raises(BadInput, match=message):
            plan(seg, None, old, parse_concepts(text))


def test_implicit_masks_keep_to_the_region_and_where_guidance_is_strong():
    region = torch.zeros(1, 1, 8, 8)
    region[..., 2:6, 2:6] = 1
    direction = torch.zeros(1, 3, 8, 8)
    direction[..., 2:4, 2:6] = 1.0  # strong in the top half of the region
    direction[..., 4:6, 2:6] = 0.01
    direction[..., 0, 0] = 5.0  # strongest of all, but outside the region
    m = inversion.implicit_mask(direction, region, 0.5)
    assert m[0, 0, 2:4, 2:6].eq(1).all() and m[0, 0, 4:6].eq(0).all() and m[0, 0, 0, 0] == 0
    assert torch.equal(inversion.implicit_mask(direction, region, 0.0), region)


def test_a_concept_taken_away_changes_only_its_place_and_crosses_the_wire(tiny):
    from sgcond_app.reading.concepts import parse_concepts, plan

    picture = (np.random.default_rng(4).random((128, 128, 3)) * 255).astype(np.uint8)
    r = tiny.read(picture, seed=1, steps=3)
    seg = _scene()
    r = tiny.invert(tiny.rerun(r, seg), "ddpm", 3)  # a picture whose segmentation holds a dog
    before = r.image
    graph = SceneGraph.build([("sky", ()), ("grass", ()), ("dog", ()), ("tree", ())], [(2, "left of", 3)])
    p = plan(r.segmentation, r.depth, graph, parse_concepts("-dog:2"))
    import dataclasses

    after = tiny.steer(dataclasses.replace(r, graph=p.graph), p.segmentations, p.scales)
    assert not (after.segmentation == classes.CLASS_ID["dog"]).any() and after.graph.labels == ["sky", "grass", "tree"]
    changed = np.abs(after.image.astype(int) - before).max(2) > 0
    ys, xs = np.nonzero(changed)
    assert len(ys) and ys.min() >= 2 * (26 - 4) and ys.max() < 2 * (40 + 4) and xs.max() < 2 * (18 + 4)
    back = wire.from_bytes(wire.to_bytes(r))
    assert np.array_equal(tiny.steer(back, p.segmentations, p.scales).image, after.image)
    with pytest.raises(BadInput, match="scale"):
        tiny.steer(r, p.segmentations, [0.0])
    with pytest.raises(BadInput, match="inverted"):
        tiny.steer(dataclasses.replace(r, state={"depth32": r.state["depth32"]}), p.segmentations, p.scales)


# --- colours: read off a picture, and painted through the graph -----------------------------------


def _painted_car(rgb) -> tuple[np.ndarray, np.ndarray]:
    """A 128 px picture of grass with a car of paint `rgb` (shaded top to bottom), a window and two
    wheels, and the car's map mask (64 px)."""
    picture = np.zeros((128, 128, 3), np.uint8)
    picture[:] = vocab.COLOURS["green"]
    shade = np.linspace(1.06, 0.9, 20)[:, None, None]
    picture[60:80, 30:70] = np.clip(shade * np.array(rgb, np.float32), 0, 255).astype(np.uint8)
    picture[62:68, 50:62] = (170, 210, 235)  # the window
    picture[76:80, 34:40] = picture[76:80, 58:64] = (25, 25, 25)  # the wheels
    mask = np.zeros((64, 64), bool)
    mask[30:40, 15:35] = True
    return picture, mask


def test_a_things_colour_is_read_from_its_paint_not_its_other_parts():
    from sgcond_app.reading import colours

    for name in ("red", "blue", "white", "black", "pink"):
        picture, mask = _painted_car(vocab.COLOURS[name])
        assert colours.read_colour(picture, mask, "car") == name
        paint = colours.body(picture, mask, "car", name)
        assert paint[70, 45] and not paint[64, 55] and not paint[78, 36] and not paint[10, 10]
    # A thing with too little of any named colour on it has none.
    picture, mask = _painted_car(vocab.COLOURS["red"])
    picture[60:80, 30:70] = (170, 210, 235)
    assert colours.read_colour(picture, mask, "car") is None


def test_recolouring_without_guidance_gives_the_picture_back_and_never_touches_the_outside(tiny):
    from sgcond_app.fgdm.factors import picture_conditions
    from sgcond_app.fgdm.sampler import Guided

    picture, mask = _painted_car(vocab.COLOURS["red"])
    seg = torch.full((1, 64, 64), classes.CLASS_ID["grass"], dtype=torch.long)
    seg[0][torch.from_numpy(mask)] = classes.CLASS_ID["car"]
    predict = Guided(tiny.chain.factors["image"], picture_conditions(seg, None, None, 128), guidance=2.0)
    x0 = torch.from_numpy(picture).permute(2, 0, 1).float().unsqueeze(0) / 127.5 - 1
    inv = inversion.invert(predict, "image", x0, "ddpm", 4, seed=5)
    where = inversion.soft_mask(inversion.grown(mask), 128)
    body = torch.zeros(1, 1, 128, 128)
    body[..., 60:76, 30:50] = 1
    same = inversion.recolour(predict, "image", inv, x0, where, [(body, vocab.COLOURS["blue"])], scale=0.0)
    assert (same - x0).abs().max() < 1e-4
    blue = inversion.recolour(predict, "image", inv, x0, where, [(body, vocab.COLOURS["blue"])])
    outside = (where == 0)[0, 0]
    assert torch.equal(blue[..., outside], x0[..., outside]) and not torch.equal(blue, x0)


def test_a_colour_named_in_the_graph_paints_the_thing_and_nothing_else():
    from sgcond_app.backends import get_backend
    from sgcond_app.editing import masks as ed
    from sgcond_app.reading import colours
    from sgcond_app.world.sample import render_sample

    backend = get_backend("tiny")
    s = render_sample(1_000_080_003, 128)
    r = backend.read(s.image)
    m = ed.Masks.from_segmentation(r.segmentation, r.depth)
    iid = max((int(m.mask(i).sum()), i) for i in m.things() if m.label_of(i) in classes.COLOURABLE)[1]
    label, mask = m.label_of(iid), m.mask(iid)
    have = colours.read_colour(r.image, mask, label)
    want = "blue" if have != "blue" else "yellow"
    index = next(o.index for o in r.verdict.objects if o.present and o.label == label
                 and (r.verdict.regions[o.region].mask & mask).any())
    new = SceneGraph.build([(o.label, [want] if j == index else o.attributes) for j, o in enumerate(r.graph.objects)],
                           r.graph.triples())
    seg, said = graph_edit(r.segmentation, r.depth, r.graph, new)
    assert np.array_equal(seg, r.segmentation) and f"the {label} is painted {want}" in said[0]
    out = backend.rerun(dataclasses.replace(r, graph=new), seg)
    assert colours.read_colour(out.image, mask, label) == want
    far = ~np.kron(inversion.grown(mask, 6), np.ones((2, 2), bool))
    assert np.array_equal(out.image[far], r.image[far])
    # Every edit of the picture after it keeps the paint (edits start from the inverted picture).
    assert np.array_equal(backend.rerun(dataclasses.replace(out, graph=new), seg).image, out.image)
    moved = ed.move(m, iid, 3, 0).segmentation
    assert colours.read_colour(backend.rerun(dataclasses.replace(out, graph=new), moved).image,
                               ed.move(m, iid, 3, 0).mask(iid), label) == want
    # Sizes, and colours of what the world does not paint, are said to be left alone.
    tree = SceneGraph.build([("sky", ()), ("tree", ())], [])
    _, said = graph_edit(np.zeros((64, 64), np.uint8), None, tree,
                         SceneGraph.build([("sky", ()), ("tree", ("red", "large"))], []))
    assert any("no colour of its own" in x for x in said) and any("size words" in x for x in said)
    # A backend told words (sd) takes colours by concept edit, and says so.
    car = SceneGraph.build([("sky", ()), ("car", ())], [])
    _, said = graph_edit(np.zeros((64, 64), np.uint8), None, car,
                         SceneGraph.build([("sky", ()), ("car", ("blue",))], []), paints=False)
    assert "+blue car,-COLOUR car" in said[0]


# --- the command line, with the shipped weights ---------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sgcond_app", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_read_then_edit_on_the_command_line(tmp_path, capsys):
    from sgcond_app.cli import main
    from sgcond_app.world.sample import render_sample

    s = render_sample(1_000_080_001, 256)
    Image.fromarray(s.image).save(tmp_path / "in.jpg", quality=90)
    p = _cli("read", str(tmp_path / "in.jpg"), "--out", str(tmp_path / "read"), "--steps", "4")
    assert p.returncode == 0, p.stderr
    names = {f.name for f in (tmp_path / "read").iterdir()}
    assert {"picture.png", "segmentation.png", "depth.png", "sketch.png", "graph.json", "reconstruction.png",
            "inversion.safetensors", "report.json"} <= names
    report = json.loads((tmp_path / "read" / "report.json").read_text())
    assert report["inversion"]["reconstruction_psnr_db"] >= 40 and report["source"]["width"] == 256
    graph = json.loads((tmp_path / "read" / "graph.json").read_text())
    flips = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
    k = next((i for i, r in enumerate(graph["relationships"]) if r[1] in flips), None)
    assert k is not None, graph
    graph["relationships"][k][1] = flips[graph["relationships"][k][1]]
    (tmp_path / "new.json").write_text(json.dumps(graph))
    p = _cli("edit", str(tmp_path / "read"), "--out", str(tmp_path / "edited"), "--graph", str(tmp_path / "new.json"))
    assert p.returncode == 0, p.stderr
    report = json.loads((tmp_path / "edited" / "report.json").read_text())
    assert report["edit"]["done"] and report["edit"]["mean_change_outside"] <= 4
    assert (tmp_path / "edited" / "image.png").is_file()
    # An edit continues from an edit's folder. (This edit and the next: the same command lines, from
    # `main` in this process, which starts no interpreter; the folders are the processes' above.)
    from sgcond_app.results import load_state

    seg = load_state(tmp_path / "edited").segmentation
    ys, xs = np.nonzero(~np.isin(seg, sorted(classes.STUFF_IDS)))
    assert main(["edit", str(tmp_path / "edited"), "--out", str(tmp_path / "again"), "--op",
                 f"flip_h:{xs[0]},{ys[0]}"]) == 0, capsys.readouterr().err
    assert {"image.png", "report.json"} <= {f.name for f in (tmp_path / "again").iterdir()}
    # By concept: the first thing's class taken away; a + word alone is one line, exit 2.
    thing = classes.CLASS_NAMES[int(seg[ys[0], xs[0]])]
    assert main(["edit", str(tmp_path / "read"), "--out", str(tmp_path / "gone"), "--concept", f"-{thing}"]) == 0, \
        capsys.readouterr().err
    report = json.loads((tmp_path / "gone" / "report.json").read_text())
    assert f"took away the {thing}" in report["edit"]["done"][0] and report["edit"]["mean_change_outside"] <= 6
    p = _cli("edit", str(tmp_path / "read"), "--out", str(tmp_path / "nope3"), "--concept", "+sheep")
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "taken away" in p.stderr
    # Mistakes: one line, exit code 2, nothing written.
    (tmp_path / "not.png").write_text("not a picture")
    p = _cli("read", str(tmp_path / "not.png"), "--out", str(tmp_path / "nope"))
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "not a picture" in p.stderr
    assert not (tmp_path / "nope").exists()
    p = _cli("edit", str(tmp_path / "nope"), "--out", str(tmp_path / "nope2"), "--op", "delete:1,1")
    assert p.returncode == 2 and "inversion.safetensors" in p.stderr
