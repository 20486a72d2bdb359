"""The graph drawing: a person reads the graph, and a judge's verdicts, off this picture."""

from __future__ import annotations

import numpy as np
import pytest

from sgcond_app.graph.draw import GREEN, RED, draw_graph
from sgcond_app.graph.scene_graph import SceneGraph

LABELS = ["tree", "house", "car", "dog", "person", "bus", "sheep", "cow", "horse", "rock", "bird", "kite",
          "cloud", "sun", "fence", "bush", "boat", "truck", "elephant", "building", "sand", "water",
          "grass", "road"]


def _count(img, colour: tuple[int, int, int], tol: int = 40) -> int:
    a = np.asarray(img).astype(int)
    return int((np.abs(a - np.array(colour)).max(axis=2) <= tol).sum())


@pytest.fixture
def street() -> SceneGraph:
    return SceneGraph.build([("car", ["red"]), ("tree", []), ("dog", [])],
                            [(0, "left of", 1), (2, "near", 0)])


@pytest.mark.parametrize("size", [(640, 420), (320, 240), (800, 600)])
def test_drawing_has_requested_size(street: SceneGraph, size: tuple[int, int]) -> None:
    img = draw_graph(street, size)
    assert img.size == size
    assert img.mode == "RGB"
    # Something is drawn: not a blank canvas.
    assert np.asarray(img).std() > 5


def test_same_graph_same_pixels(street: SceneGraph) -> None:
    assert np.array_equal(np.asarray(draw_graph(street)), np.asarray(draw_graph(street)))


def test_failing_relation_is_red_and_holding_one_green(street: SceneGraph) -> None:
    plain = draw_graph(street)
    fails = draw_graph(street, edge_status={0: False, 1: None})
    holds = draw_graph(street, edge_status={0: True, 1: None})
    assert _count(plain, RED) == 0
    # With verdicts a legend appears; beyond it, red comes from the failing relation alone.
    assert _count(fails, RED) > _count(holds, RED) + 100
    assert _count(holds, GREEN) > _count(fails, GREEN) + 100


def test_absent_object_is_red(street: SceneGraph) -> None:
    assert _count(draw_graph(street, object_status={0: True, 1: True, 2: True}), RED) == 0
    assert _count(draw_graph(street, object_status={2: False}), RED) > 50


def test_relations_between_the_same_pair_do_not_overlap() -> None:
    one = SceneGraph.build([("car", []), ("tree", [])], [(0, "left of", 1)])
    both = SceneGraph.build([("car", []), ("tree", [])], [(0, "left of", 1), (1, "right of", 0)])
    green_alone = _count(draw_graph(one, edge_status={0: True}), GREEN)
    # Drawn on top of each other, the red return edge would hide most of the green one.
    drawn = draw_graph(both, edge_status={0: True, 1: False})
    assert _count(drawn, GREEN) > 0.8 * green_alone
    assert _count(drawn, RED) > 0.8 * green_alone


def test_one_object() -> None:
    img = draw_graph(SceneGraph.build([("dog", ["brown"])]))
    assert img.size == (640, 420)
    assert np.asarray(img).std() > 1


def test_twenty_four_objects_with_long_labels() -> None:
    objects = [(label, ["large"] if i % 3 == 0 else []) for i, label in enumerate(LABELS)]
    objects[5] = ("a very long label that cannot fit in any box", ["enormous", "shiny"])
    relations = [(i, "left of", (i + 1) % 24) for i in range(24)]
    relations += [(i, "near", (i + 5) % 24) for i in range(0, 24, 2)]
    graph = SceneGraph.build(objects, relations)
    status = {k: (k % 3 == 0) if k % 3 != 2 else None for k in range(len(graph.relations))}
    img = draw_graph(graph, edge_status=status, object_status={3: False})
    assert img.size == (640, 420)
    assert _count(img, RED) > 100 and _count(img, GREEN) > 100


def test_twenty_four_unrelated_objects() -> None:
    img = draw_graph(SceneGraph.build([(label, []) for label in LABELS]), (400, 300))
    assert img.size == (400, 300)
