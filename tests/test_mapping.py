"""Open-vocabulary mapping onto the tiny world, on sg2im's own example graphs."""

from pathlib import Path

import pytest

from sgcond_app.errors import BadInput
from sgcond_app.graph.mapping import map_graph, map_label
from sgcond_app.graph.parse import load_graphs, parse_text

SG2IM = Path(__file__).resolve().parents[2] / "shared" / "external" / "sg2im"
FILES = sorted(SG2IM.glob("*.json"))


def test_the_sg2im_examples_are_here():
    assert len(FILES) == 4


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_sg2im_graph_loads_and_maps(path):
    graphs = load_graphs(path)
    assert graphs
    for g in graphs:
        m = map_graph(g)
        assert len(m.source_to_graph) == len(g.objects)
        # every source object is either mapped or reported as dropped
        for i in range(len(g.objects)):
            w = [w for w in m.words if w.kind == "label" and w.where == f"object {i}"]
            assert len(w) == 1 and (w[0].mapped is not None or "dropped" in w[0].line())


def test_known_sg2im_words_map_as_expected():
    words = {}
    for path in FILES:
        for g in load_graphs(path):
            for w in map_graph(g).words:
                words[(w.kind, w.original)] = w.mapped
    assert words[("label", "street")] == "road"
    assert words[("label", "clouds")] == "cloud"
    assert words[("label", "ocean")] == "water"
    assert words[("label", "man")] == "person"
    assert words[("label", "sky-other")] == "sky"
    assert words[("predicate", "riding")] == "on"
    assert words[("predicate", "standing on")] == "on"
    assert words[("label", "broccoli")] is None
    assert words[("label", "tie")] is None
    assert words[("predicate", "has")] == "has"  # kept, not checkable


def test_unknown_words_are_reported_with_a_score():
    m = map_graph(parse_text("broccoli left of car"))
    assert m.graph.labels == ["car"]
    (line,) = [x for x in m.lines() if "broccoli" in x and "not known" in x]
    assert "nearest" in line


def test_embedding_fallback_maps_a_word_outside_the_tables_and_wordnet():
    w = map_label("forest")  # WordNet's forest is land, not a kind of tree
    assert w.method == "embedding" and w.mapped == "tree" and w.score >= 0.7


def test_a_kind_of_a_class_maps_onto_it_with_the_reason():
    w = map_label("poodle", "object 0")
    assert (w.mapped, w.method, w.reason) == ("dog", "kind", "a kind of dog")
    assert w.line() == "object 0: 'poodle' → 'dog' (a kind of dog)"
    assert w.to_json()["reason"] == "a kind of dog"
    assert map_label("automobile").reason == "another word for car"
    assert map_label("lakes").mapped == "water"  # an alias, before WordNet
    m = map_graph(parse_text("beagle left of cottage; beagle on lawn"))
    assert m.graph.labels == ["dog", "house", "grass"]


def test_an_unreadable_predicate_is_refused():
    with pytest.raises(BadInput, match="xqzzt"):
        map_graph(parse_text("sky xqzzt grass"))


def test_stuff_named_twice_is_one_region():
    m = map_graph(parse_text("person on field; person on grass; sky above grass"))
    assert m.graph.labels.count("grass") == 1
    assert m.source_to_graph[1] == m.source_to_graph[2]
