"""SceneGraph, the parsers and the validation policy."""

import json

import pytest

from sgcond_app.errors import BadInput
from sgcond_app.graph.parse import parse_graph_text, parse_json, parse_text
from sgcond_app.graph.scene_graph import SceneGraph


def test_sg2im_json_with_attributes_round_trips():
    text = json.dumps({"objects": ["sky", {"label": "Car", "attributes": ["red", "small"]}],
                       "relationships": [[1, "below", 0]]})
    (g,) = parse_json(text)
    assert g.labels == ["sky", "car"]
    assert g.objects[1].attributes == ("red", "small")
    assert g.triples() == [(1, "below", 0)]
    assert parse_json(g.to_json()) == [g]


def test_list_of_graphs_and_sg2im_attribute_pairs():
    gs = parse_json(json.dumps([{"objects": ["dog"], "relationships": []},
                                {"objects": ["car", "road"], "relationships": [[0, "on", 1]],
                                 "attributes": [[0, "blue"]]}]))
    assert len(gs) == 2
    assert gs[1].objects[0].attributes == ("blue",)


def test_text_triples_share_objects_and_split_by_colour_and_tag():
    g = parse_text("red car below sky; dog left of car\nblue car right of red car; sheep#1 near sheep#2; tree")
    assert g.labels == ["car", "sky", "dog", "car", "sheep", "sheep", "tree"]
    assert g.objects[0].attributes == ("red",)
    assert (2, "left of", 0) in g.triples()
    assert (3, "right of", 0) in g.triples()
    assert (4, "near", 5) in g.triples()


def test_text_prefers_the_longest_predicate():
    g = parse_text("tree in front of house")
    assert g.triples() == [(0, "in front of", 1)]
    assert parse_text("boat in water").triples() == [(0, "in", 1)]


def test_text_round_trip_keeps_the_graph():
    g = parse_text("red car left of blue car; sheep#1 near sheep#2; sun")
    assert parse_text(g.to_text()) == g


def test_self_loops_and_duplicates_are_dropped_and_reported():
    g = SceneGraph.build([("building", []), ("bus", [])],
                         [(0, "next to", 0), (1, "near", 0), (1, "near", 0)])
    assert g.triples() == [(1, "near", 0)]
    assert any("self-loop" in n for n in g.notes)
    assert any("repeats" in n for n in g.notes)


def test_a_relation_between_two_mentions_of_one_word_is_two_things_and_says_so():
    """`car left of car` cannot be one car beside itself: a second car, with a note; the repeated
    edge is kept once, with a note; later mentions of `car` are the first car."""
    g = parse_text("car left of car; car on street; car on street; sky above street")
    assert [o.label for o in g.objects] == ["car", "car", "street", "sky"]
    assert g.triples() == [(0, "left of", 1), (0, "on", 2), (3, "above", 2)]
    assert any("two cars" in n for n in g.notes) and any("repeats" in n for n in g.notes)
    assert parse_text(g.to_text()) == g
    assert len(parse_text("car #1 left of car #2").objects) == 2  # tagged: as written, no note
    assert not parse_text("car #1 left of car #2").notes


@pytest.mark.parametrize("objects, relations, message", [
    ([], [], "no objects"),
    ([("car", [])] * 25, [], "at most 24"),
    ([("x" * 49, [])], [], "at most 48"),
    ([("car", [])], [(0, "near", 1)], "out of range"),
    ([("car", []), ("dog", [])], [(0, "", 1)], "predicate"),
    ([("car", []), ("dog", [])], [("0", "near", 1)], "object index"),
])
def test_refusals_say_what_is_wrong(objects, relations, message):
    with pytest.raises(BadInput, match=message):
        SceneGraph.build(objects, relations)


def test_bad_json_is_bad_input():
    with pytest.raises(BadInput, match="invalid JSON"):
        parse_graph_text('{"objects": [')
    with pytest.raises(BadInput):
        parse_graph_text("[]")
    with pytest.raises(BadInput):
        parse_graph_text("   ")


def test_networkx_view():
    g = parse_text("dog left of car; car on road")
    nxg = g.to_networkx()
    assert nxg.number_of_nodes() == 3
    assert [d["predicate"] for _, _, d in nxg.edges(data=True)] == ["left of", "on"]


def test_palette_colours_are_told_apart():
    """Each pair of class colours is at least 19 apart in CIELAB (house and car were 21, road and
    rock 10), so that a person reads a segmentation without a legend."""
    import itertools

    import numpy as np

    from sgcond_app.world import classes

    def lab(rgb):
        c = np.asarray(rgb, float) / 255
        c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
        xyz = c @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
        t = xyz / np.array([0.9505, 1.0, 1.089])
        f = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16 / 116)
        return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])

    gaps = {(a.name, b.name): float(np.linalg.norm(lab(a.rgb) - lab(b.rgb)))
            for a, b in itertools.combinations(classes.CLASSES, 2)}
    assert min(gaps.values()) >= 19, min(gaps, key=gaps.get)
    assert gaps[("house", "car")] >= 35
