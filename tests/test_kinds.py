"""Words that name kinds of classes, read from WordNet (`graph.kinds`)."""

import json
from pathlib import Path

import pytest

from sgcond_app.graph import kinds
from sgcond_app.graph.mapping import map_label
from sgcond_app.world import classes

ROOT = Path(__file__).resolve().parent.parent


def cls(word):
    k = kinds.kind_of(word)
    return k.cls if k else None


def test_every_anchor_is_a_sense_wordnet_has_and_every_class_has_one():
    assert set(kinds.ANCHORS) == set(classes.CLASS_NAMES)
    h = kinds.hierarchy()
    for c, senses in kinds.ANCHORS.items():
        for lemma, number in senses:
            words, _, gloss, _ = h.synset(h.index[lemma][number - 1])
            assert lemma in [w.lower() for w in words], (c, lemma, gloss)


@pytest.mark.parametrize("word,expected", [
    ("poodle", "dog"), ("rottweiler", "dog"),  # a breed, capitalised in WordNet
    ("heron", "bird"),  # sense 1 is Hero of Alexandria, a proper name
    ("cottage", "house"),  # a house two steps up, a building three: the nearest anchor
    ("skyscraper", "building"), ("lake", "water"), ("pebbles", "rock"),  # a plural
    ("oak", "tree"),  # the wood first, then the tree: both plants
    ("foal", "horse"),  # no anchor above; its gloss is "a young horse"
    ("firetruck", "truck"),  # not in WordNet: its tail
    ("apple", None),  # the fruit; its tree sense is not read
    ("crab", None),  # an animal; "a quarrelsome grouch" is not read
    ("spoon", None), ("happiness", None), ("", None), ("xqzzt", None),
])
def test_kind_of(word, expected):
    assert cls(word) == expected


def test_the_word_lists_clear_the_floors():
    """The two lists were written by people who had not seen the tables (issue 11's floors)."""
    for name in ("kinds.json", "kinds_heldout.json"):
        data = json.loads((ROOT / "assets" / "words" / name).read_text())
        hits = sum(map_label(w).mapped == c for w, c in data["hyponyms"].items())
        refused = sum(map_label(w).mapped is None for w in data["unrelated"])
        assert hits >= 0.9 * len(data["hyponyms"]), name
        assert refused >= 0.95 * len(data["unrelated"]), name


def test_without_wordnet_kinds_are_not_read(monkeypatch):
    monkeypatch.setattr(kinds, "wordnet_dir", lambda: None)
    kinds.hierarchy.cache_clear()
    kinds.kind_of.cache_clear()
    try:
        assert kinds.kind_of("poodle") is None
    finally:
        kinds.hierarchy.cache_clear()
        kinds.kind_of.cache_clear()
        kinds._anchors.cache_clear()


def test_an_object_wordnet_knows_as_no_kind_is_dropped_with_what_it_is():
    w = map_label("skateboard", "object 2")  # the embedding put it near "skateboarder": a person
    assert w.mapped is None and w.reason == "a kind of board, which the tiny world does not draw"
    assert w.line() == "object 2: 'skateboard' is a kind of board, which the tiny world does not draw, dropped"
    assert map_label("forest").mapped == "tree"  # land in WordNet, not an object: the embedding reads it
