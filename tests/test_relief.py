"""Depth and sketch edits: a thing brought nearer or pushed farther (occlusion redone by the new
order), strokes drawn on and erased from the sketch; on the maps alone, then through the chain
and the command line, where the picture follows."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

from sgcond_app.cli import main
from sgcond_app.editing import masks as ed
from sgcond_app.editing import relief
from sgcond_app.errors import BadInput
from sgcond_app.reading.edit import apply_edit, apply_op, parse_op
from sgcond_app.results import load_state
from sgcond_app.world.classes import CLASS_ID

SKY, GRASS, HOUSE, CAR, PERSON = (CLASS_ID[k] for k in ("sky", "grass", "house", "car", "person"))


def _street() -> tuple[np.ndarray, np.ndarray]:
    """A house (far, 0.2) with a car (near, 0.6) parked in front of its lower right corner, and a
    person (0.4) apart on the grass."""
    seg = np.full((64, 64), SKY, np.uint8)
    seg[32:] = GRASS
    depth = np.where(np.arange(64)[:, None] < 32, 0.0, 0.1).repeat(64, 1).astype(np.float32)
    seg[14:40, 10:36] = HOUSE
    depth[14:40, 10:36] = 0.2
    seg[30:46, 26:50] = CAR
    depth[30:46, 26:50] = 0.6
    seg[40:60, 54:60] = PERSON
    depth[40:60, 54:60] = 0.4
    return seg, depth


def test_pushing_a_thing_behind_another_hides_it_where_their_shapes_meet():
    seg, depth = _street()
    m = ed.Masks.from_segmentation(seg, depth)
    car = ed.pick(m, 45, 40)
    out = relief.redepth(m, car, -0.5)
    house_hull = relief.hull(seg == HOUSE)
    taken = (seg == CAR) & (out.segmentation == HOUSE)
    assert taken.any() and out.hidden == int(taken.sum())
    assert not (taken & ~house_hull).any()  # only where the house's guessed shape reaches
    assert (out.segmentation[seg == CAR][~taken[seg == CAR]] == CAR).all()
    np.testing.assert_allclose(out.depth[taken], 0.2)  # the house's depth where it shows now
    kept_car = out.segmentation == CAR
    np.testing.assert_allclose(out.depth[kept_car], 0.1, atol=1e-6)  # 0.6 - 0.5
    outside = (seg != CAR)
    assert np.array_equal(out.depth[outside], depth[outside]) and np.array_equal(out.segmentation[outside],
                                                                                 seg[outside])
    assert "pushed the car farther" in out.message and "house now hides" in out.message


def test_bringing_a_thing_forward_uncovers_it_inside_its_own_shape():
    seg, depth = _street()
    m = ed.Masks.from_segmentation(seg, depth)
    house = ed.pick(m, 12, 16)
    out = relief.redepth(m, house, 0.6)  # 0.2 -> 0.8: now nearer than the car (0.6)
    gained = (seg == CAR) & (out.segmentation == HOUSE)
    assert gained.any() and out.shown == int(gained.sum())
    assert not (gained & ~relief.hull(seg == HOUSE)).any()
    np.testing.assert_allclose(out.depth[out.segmentation == HOUSE], 0.8, atol=1e-6)
    untouched = (seg != HOUSE) & ~gained
    assert np.array_equal(out.depth[untouched], depth[untouched])
    # A thing that overlaps nothing moves in depth alone, and the depth stops at the range's ends.
    person = ed.pick(m, 56, 50)
    far = relief.redepth(m, person, -0.9)
    assert np.array_equal(far.segmentation, seg) and far.hidden == far.shown == 0
    assert (far.depth[seg == PERSON] == 0).all() and "stopped at the farthest depth" in far.message


def test_depth_edits_refuse_what_a_person_can_get_wrong():
    seg, depth = _street()
    m = ed.Masks.from_segmentation(seg, depth)
    car = ed.pick(m, 45, 40)
    for amount, message in ((0, "at least 1/255"), (1.5, "from -1 to 1"), ("near", "from -1 to 1"),
                            (float("nan"), "from -1 to 1")):
        with pytest.raises(BadInput, match=message):
            relief.redepth(m, car, amount)
    with pytest.raises(BadInput, match="no depth map"):
        relief.redepth(ed.Masks.from_segmentation(seg), car, 0.3)
    with pytest.raises(BadInput, match="not on an object"):
        apply_edit(seg, depth, np.zeros_like(seg), "depth:2,2,0.3")  # the sky
    with pytest.raises(BadInput, match="give the result's maps"):
        apply_op(seg, depth, "depth:45,40,0.3")


def test_strokes_are_drawn_one_pixel_wide_and_erased_three():
    sketch = np.zeros((64, 64), np.uint8)
    drawn = relief.stroke(sketch, [(0, 0), (10, 0), (10, 10)])
    assert drawn.dtype == np.uint8 and set(np.unique(drawn)) == {0, 255}
    assert (drawn[0, :11] == 255).all() and (drawn[:11, 10] == 255).all() and int((drawn > 0).sum()) == 21
    diagonal = relief.stroke(sketch, [(0, 63), (63, 0)])
    assert int((diagonal > 0).sum()) == 64 and all(diagonal[63 - k, k] for k in range(64))
    erased = relief.erase(drawn, [(0, 1), (5, 1)])
    assert not erased[0, :7].any() and (erased[0, 7:11] == 255).all()  # the row above the eraser's line too
    assert (sketch == 0).all()  # inputs are left as they were
    edited = apply_edit(np.zeros((64, 64), np.uint8), None, sketch, "sketch:1,2,30,2")
    assert edited.rerun == "image" and edited.depth is None and int((edited.sketch > 0).sum()) == 30
    assert "drew a stroke of 2 points" in edited.message


@pytest.mark.parametrize("op,message", [
    ("sketch:1,2,3", "an even count"), ("sketch:1,2", "an even count"), ("erase:" + ",".join(["1"] * 200),
                                                                          "an even count"),
    ("sketch:1,2,64,2", "x must be a whole number from 0 to 63"), ("sketch:1,2,3.5,2", "whole number"),
    ("depth:1,2", "takes 3 numbers"), ("pencil:1,2,3,4", "unknown operation")])
def test_new_operations_are_parsed_and_refused_clearly(op, message):
    with pytest.raises(BadInput, match=message):
        parse_op(op) if "whole" not in message else apply_edit(np.zeros((64, 64), np.uint8), None,
                                                                np.zeros((64, 64), np.uint8), op)


# --- through the chain and the command line --------------------------------------------------------


def _nearer_candidate(result) -> tuple[int, int, np.ndarray]:
    """A pixel on a thing the depth can bring 0.3 nearer without reaching the end of the range, and
    without passing in front of another thing (which would then change where it shows)."""
    m = ed.Masks.from_segmentation(result.segmentation, result.depth)
    median = {iid: float(np.median(result.depth[m.mask(iid)])) for iid in m.things()}
    for iid in m.things():
        mask = m.mask(iid)
        passes = any(median[iid] <= d < median[iid] + 0.3 for other, d in median.items() if other != iid)
        if float(result.depth[mask].max()) <= 0.65 and mask.sum() >= 20 and not passes:
            ys, xs = np.nonzero(mask)
            return int(xs[0]), int(ys[0]), mask
    raise AssertionError("no thing to bring nearer")


def test_depth_and_sketch_edits_on_the_command_line(capsys, tmp_path):
    (tmp_path / "g.txt").write_text("car on grass\nhouse behind car\nsky above grass\n", encoding="utf-8")
    assert main(["generate", str(tmp_path / "g.txt"), "--out", str(tmp_path / "gen"), "--seed", "3"]) in (0, None)
    first = load_state(tmp_path / "gen")
    x, y, mask = _nearer_candidate(first)
    assert main(["edit", str(tmp_path / "gen"), "--out", str(tmp_path / "near"), "--op", f"depth:{x},{y},0.3"]) \
        in (0, None)
    assert "nearer by 0.3" in capsys.readouterr().out
    near = load_state(tmp_path / "near")
    inside = near.depth[mask] - first.depth[mask]
    np.testing.assert_allclose(inside, 0.3, atol=1 / 255)  # about that share of the range, inside the thing
    assert np.abs(near.depth[~mask] - first.depth[~mask]).max() <= 1 / 255  # and the rest of the map kept
    assert np.array_equal(near.segmentation, first.segmentation)  # it overlapped nothing it could cover
    assert not np.array_equal(near.image, first.image)  # the picture follows
    report = json.loads((tmp_path / "near" / "report.json").read_text())
    assert report["edit"]["done"] and "nearer" in report["edit"]["done"][0]

    stroke = "sketch:4,4,40,4,40,20"
    assert main(["edit", str(tmp_path / "near"), "--out", str(tmp_path / "drawn"), "--op", stroke]) in (0, None)
    drawn = load_state(tmp_path / "drawn")
    line = relief.line_pixels([(4, 4), (40, 4), (40, 20)], (64, 64))
    assert (drawn.sketch[line] == 255).all() and np.array_equal(drawn.sketch[~line], near.sketch[~line])
    assert np.array_equal(drawn.depth, near.depth) and np.array_equal(drawn.segmentation, near.segmentation)
    changed = np.abs(drawn.image.astype(int) - near.image.astype(int)).sum(-1)
    k = drawn.image.shape[0] // 64
    near_line = np.kron(ndimage.binary_dilation(line, iterations=3), np.ones((k, k), bool))
    assert changed.any() and changed[near_line].mean() > changed[~near_line].mean()  # the picture follows the stroke

    assert main(["edit", str(tmp_path / "drawn"), "--out", str(tmp_path / "erased"), "--op",
                 "erase:4,4,40,4,40,20"]) in (0, None)
    erased = load_state(tmp_path / "erased")
    assert not erased.sketch[line].any()
