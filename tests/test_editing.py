"""Mask operations: pure, exact where they can be, and clear about a person's mistakes."""

import numpy as np
import pytest

from sgcond_app.editing import masks as ed
from sgcond_app.errors import BadInput
from sgcond_app.world import classes

SKY, GRASS, SHEEP, CAR = (classes.CLASS_ID[n] for n in ("sky", "grass", "sheep", "car"))


def scene() -> ed.Masks:
    seg = np.full((32, 32), GRASS, np.uint8)
    seg[:14] = SKY
    seg[18:22, 4:10] = SHEEP  # two sheep apart: two objects
    seg[18:22, 20:26] = SHEEP
    seg[24:28, 12:18] = CAR
    seg[24, 12] = GRASS  # an asymmetric car, to see flips
    return ed.Masks.from_segmentation(seg)


def test_instances_read_like_the_judge():
    m = scene()
    assert len(m.things()) == 3
    assert len(np.unique(m.instances[m.segmentation == SKY])) == 1
    a, b = m.instances[19, 5], m.instances[19, 21]
    assert a != b and m.label_of(int(a)) == "sheep"


def test_pick_a_thing_and_refuse_stuff_and_outside():
    m = scene()
    assert m.label_of(ed.pick(m, 14, 25)) == "car"
    with pytest.raises(BadInput, match="on sky"):
        ed.pick(m, 3, 3)
    with pytest.raises(BadInput, match="outside"):
        ed.pick(m, 40, 3)


def test_move_is_exact_and_fills_the_hole_with_stuff():
    m = scene()
    before = m.segmentation.copy()
    car = ed.pick(m, 14, 25)
    cx, cy = ed.centroid(m, car)
    out = ed.move(m, car, 6, -3)
    nx, ny = ed.centroid(out, car)
    assert (nx - cx, ny - cy) == pytest.approx((6, -3))
    assert out.mask(car).sum() == m.mask(car).sum()
    assert np.array_equal(m.segmentation, before)  # the input is untouched
    old_only = m.mask(car) & ~out.mask(car)
    assert (out.segmentation[old_only] == GRASS).all()


def test_move_off_the_picture_is_refused():
    m = scene()
    with pytest.raises(BadInput):
        ed.move(m, ed.pick(m, 14, 25), 100, 0)


def test_flip_twice_is_identity():
    m = scene()
    car = ed.pick(m, 14, 25)
    once = ed.flip(m, car, "horizontal")
    assert once.segmentation[24, 17] == GRASS and once.segmentation[24, 12] == CAR
    assert np.array_equal(ed.flip(once, car, "horizontal").segmentation, m.segmentation)
    assert ed.flip(m, car, "vertical").segmentation[27, 12] == GRASS
    with pytest.raises(BadInput):
        ed.flip(m, car, "diagonal")


def test_resize_keeps_the_object_standing():
    m = scene()
    car = ed.pick(m, 14, 25)
    big = ed.resize(m, car, 2.0)
    ys, _ = np.nonzero(big.mask(car))
    assert ys.max() == 27 and 3.0 < big.mask(car).sum() / m.mask(car).sum() < 5.0
    with pytest.raises(BadInput):
        ed.resize(m, car, 100)


def test_delete_leaves_what_is_behind():
    m = scene()
    sheep = int(m.instances[19, 5])
    out = ed.delete(m, sheep)
    assert (out.segmentation[18:22, 4:10] == GRASS).all()
    assert (out.segmentation[18:22, 20:26] == SHEEP).all()  # the other sheep stays


def test_with_depth_a_farther_thing_shows_through_the_hole():
    """A car in front of a house: deleted or moved away, the house continues where the car was
    (but only a thing that is farther; the nearer sheep is never grown into the hole)."""
    house = classes.CLASS_ID["house"]
    seg = np.full((32, 32), GRASS, np.uint8)
    seg[:12] = SKY
    seg[6:20, 4:20] = house
    seg[14:22, 8:16] = CAR  # covers the house's lower middle, and some grass
    seg[16:22, 16:22] = SHEEP  # touches the car, nearer than the car
    depth = np.full(seg.shape, 0.2, np.float32)
    depth[seg == house] = 0.3
    depth[seg == CAR] = 0.6
    depth[seg == SHEEP] = 0.8
    car = int(ed.Masks.from_segmentation(seg).instances[18, 10])
    flat = ed.delete(ed.Masks.from_segmentation(seg), car)
    assert not (flat.segmentation[14:20, 8:16] == house).any()  # no depth: the stuff only
    deep = ed.delete(ed.Masks.from_segmentation(seg, depth), car)
    assert (deep.segmentation[14:18, 9:15] == house).all()  # the house continues
    assert (deep.segmentation[21, 9:15] == GRASS).all()  # below the house: the ground
    assert not (deep.segmentation[14:22, 8:16] == SHEEP).any()
    assert deep.depth is not None
    moved = ed.move(ed.Masks.from_segmentation(seg, depth), car, 0, 8)
    assert (moved.segmentation[14:18, 9:15] == house).all()


def test_paste_from_another_map():
    m = scene()
    other = ed.delete(m, ed.pick(m, 14, 25))
    out = ed.paste(other, m, ed.pick(m, 14, 25), dx=-8)
    assert (out.segmentation[25:28, 4:10] == CAR).all()
    assert len(out.things()) == 3
    with pytest.raises(BadInput):
        ed.paste(other, m, int(m.instances[0, 0]))
