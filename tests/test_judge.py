"""The judge's rules and matching on hand-made maps."""

import numpy as np

from sgcond_app.graph import judge, vocab
from sgcond_app.world import classes

SKY, GRASS, SHEEP, CAR = (classes.CLASS_ID[k] for k in ("sky", "grass", "sheep", "car"))


def scene():
    seg = np.full((40, 40), SKY, np.uint8)
    seg[20:] = GRASS
    seg[22:28, 4:10] = SHEEP   # sheep A, left and far
    seg[30:38, 26:34] = SHEEP  # sheep B, right and near
    depth = np.zeros((40, 40), np.float32)
    depth[20:] = np.linspace(0, 1, 20)[:, None]
    depth[22:28, 4:10] = 0.2
    depth[30:38, 26:34] = 0.8
    return seg, depth


def test_geometric_rules():
    seg, depth = scene()
    v = judge.judge(["sheep", "sheep", "sky", "grass"],
                    [(0, "left of", 1), (2, "above", 3), (0, "inside", 3), (3, "surrounding", 1),
                     (0, "near", 1), (1, "right of", 0), (2, "below", 3)], seg, depth)
    # the boxes are 17 px apart, more than 15% of 40 px: not near
    assert [r.holds for r in v.relations] == [True, True, True, True, False, True, False]
    assert v.object_recall == 1.0


def test_on_needs_touching():
    seg, _ = scene()
    seg[10:19, 18:22] = CAR  # floats above the horizon, not touching the grass
    v = judge.judge(["car", "grass"], [(0, "on", 1)], seg)
    assert v.relations[0].holds is False
    seg[10:20, 18:22] = CAR  # now its bottom row touches the grass
    v = judge.judge(["car", "grass"], [(0, "on", 1)], seg)
    assert v.relations[0].holds is True


def test_matching_picks_the_assignment_that_satisfies_the_graph():
    seg, depth = scene()
    # Written with the right-hand sheep first: the judge must not insist on reading order.
    v = judge.judge(["sheep", "sheep"], [(1, "left of", 0), (0, "in front of", 1)], seg, depth)
    assert [r.holds for r in v.relations] == [True, True]


def test_depth_relations_need_a_depth_map():
    seg, depth = scene()
    v = judge.judge(["sheep", "sheep"], [(0, "behind", 1)], seg)
    assert v.relations[0].holds is None and v.relations[0].reason
    assert v.relation_accuracy is None
    v = judge.judge(["sheep", "sheep"], [(0, "behind", 1)], seg, depth)
    assert v.relation_accuracy == 1.0


def test_missing_objects_lower_recall_and_fail_their_relations():
    seg, _ = scene()
    v = judge.judge(["sheep", "sheep", "sheep", "car"], [(3, "left of", 0), (0, "left of", 1)], seg)
    assert v.object_recall == 0.5
    assert v.relations[0].holds is False and v.relations[0].reason == "car missing"
    assert v.relation_accuracy == 0.5
    # A semantic predicate stays unjudged, missing object or not.
    v = judge.judge(["sheep", "car"], [(0, "has", 1)], seg)
    assert v.relations[0].holds is None and v.relation_accuracy is None


def test_specks_are_not_objects():
    seg, _ = scene()
    seg[2, 2] = CAR
    v = judge.judge(["car"], [], seg)
    assert v.object_recall == 0.0


def test_palette_round_trip_and_tolerance():
    ids = np.arange(classes.NUM_CLASSES, dtype=np.uint8).reshape(1, -1)
    rgb = classes.colorize(ids)
    assert (classes.decolorize(rgb) == ids).all()
    noisy = np.clip(rgb.astype(int) + 3, 0, 255).astype(np.uint8)
    assert (classes.decolorize(noisy) == vocab.VOID).any()
    assert (classes.decolorize(noisy, tolerance=8) == ids).all()


def test_things_the_graph_did_not_ask_for_are_counted():
    seg, depth = scene()
    # One sheep asked for, two drawn: the one not matched is an extra; the unnamed sky is not.
    v = judge.judge(["sheep", "grass"], [], seg, depth)
    assert v.object_recall == 1.0 and v.extra_labels == ["sheep"]
    assert v.to_json()["extras"][0]["label"] == "sheep"
    # Two asked for: none extra, whichever way they are matched.
    assert judge.judge(["sheep", "sheep"], [], seg, depth).extras == ()
    seg[4:8, 30:36] = CAR  # a car nobody named
    assert sorted(judge.judge(["sheep", "sheep"], [], seg).extra_labels) == ["car"]
    assert abs(judge.unnamed_fraction(["sheep"], seg) - (1 - (seg == SHEEP).mean())) < 1e-9


def test_stuff_named_twice_is_judged_in_pieces():
    mountain = classes.CLASS_ID["mountain"]
    seg = np.full((40, 40), SKY, np.uint8)
    seg[20:] = GRASS
    seg[12:20, 2:14] = mountain
    seg[10:20, 24:38] = mountain
    v = judge.judge(["mountain", "mountain"], [(0, "left of", 1)], seg)
    assert v.object_recall == 1.0 and v.relation_accuracy == 1.0
    # Named once, the two pieces are one region, as before.
    v = judge.judge(["mountain", "sky"], [], seg)
    assert v.object_recall == 1.0 and len([r for r in v.regions if r.label == "mountain"]) == 1
