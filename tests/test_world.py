"""The tiny world: determinism, aligned maps, graphs that hold by construction, given-graph renders."""

from pathlib import Path

import numpy as np
import pytest

from sgcond_app.graph import judge, vocab
from sgcond_app.graph.mapping import map_graph
from sgcond_app.graph.parse import load_graphs, parse_text
from sgcond_app.world import classes, render_sample
from sgcond_app.world.layout import render_graph
from tests.oracles.judge_reference import reference_relations

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "graphs"


def test_same_seed_same_pixels_and_other_seed_other_scene():
    a, b, c = render_sample(7, 64), render_sample(7, 64), render_sample(8, 64)
    for name in ("image", "segmentation", "instances", "depth", "sketch"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert a.graph == b.graph
    assert not np.array_equal(a.segmentation, c.segmentation)


@pytest.mark.parametrize("size", [32, 64, 128, 256])
def test_maps_are_aligned_and_use_the_palette(size):
    s = render_sample(3, size)
    assert s.image.shape == (size, size, 3) and s.image.dtype == np.uint8
    for m in (s.segmentation, s.instances, s.depth, s.sketch):
        assert m.shape == (size, size)
    assert s.segmentation.max() < classes.NUM_CLASSES
    assert 0.0 <= s.depth.min() and s.depth.max() <= 1.0
    # each instance is one class
    for iid in np.unique(s.instances):
        assert len(np.unique(s.segmentation[s.instances == iid])) == 1


def test_the_image_is_not_a_recoloured_mask():
    s = render_sample(11, 64)
    flat = classes.colorize(s.segmentation)
    assert np.abs(s.image.astype(int) - flat.astype(int)).mean() > 10
    # texture: pixels of one class are not one colour
    sky = s.segmentation == classes.CLASS_ID["sky"]
    assert s.image[sky].std(axis=0).mean() > 3
    assert s.sketch.any()


def test_depth_is_near_bright_and_the_sky_far():
    s = render_sample(5, 64)
    sky = s.segmentation == classes.CLASS_ID["sky"]
    assert s.depth[sky].max() == 0.0
    assert s.depth[-1].mean() > 0.9


def test_same_scene_at_two_resolutions():
    small, large = render_sample(21, 64), render_sample(21, 128)
    down = large.segmentation[::2, ::2]
    assert (down == small.segmentation).mean() > 0.9


def test_derived_graphs_hold_and_agree_with_the_reference_rules():
    total = agree = 0
    for seed in range(40):
        s = render_sample(seed, 64)
        assert 3 <= len(s.graph.objects) <= 8
        v = judge.judge(s.graph.labels, s.graph.triples(), s.segmentation, s.depth)
        assert v.object_recall == 1.0
        assert v.relation_accuracy in (None, 1.0), (seed, s.graph.to_text())
        ref = reference_relations(s.graph.triples(), s.object_instances, s.instances, s.depth)
        total += len(ref)
        agree += sum(r.holds == x for r, x in zip(v.relations, ref))
    assert agree / total >= 0.97


def test_derived_graphs_use_depth_relations_and_attributes():
    preds, attrs = set(), set()
    for seed in range(60):
        g = render_sample(seed, 64).graph
        preds |= {r.predicate for r in g.relations}
        attrs |= {a for o in g.objects for a in o.attributes}
    assert {"in front of", "behind", "on", "left of", "above"} <= preds
    assert attrs & set(vocab.COLOURS) and attrs & set(vocab.SIZES)


def test_render_a_written_graph():
    g = map_graph(parse_text("blue car left of red car; red car on road; tree behind red car; sky above road")).graph
    r = render_graph(g, seed=1, size=64)
    assert r.verdict.object_recall == 1.0
    assert r.verdict.relation_accuracy == 1.0
    # the colour attribute reaches the image: the car on the left is bluer than the one on the right
    left, right = (r.verdict.regions[r.verdict.objects[i].region] for i in (0, 1))
    img = r.maps.image.astype(int)
    assert img[left.mask][:, 2].mean() > img[right.mask][:, 2].mean()


def test_snow_on_a_mountain_is_its_cap():
    g = map_graph(parse_text("snow on mountain; sky above mountain; tree on grass")).graph
    r = render_graph(g, seed=3, size=64)
    assert r.verdict.object_recall == 1.0 and r.verdict.relation_accuracy == 1.0
    snow = r.maps.segmentation == classes.CLASS_ID["snow"]
    assert r.scene.snow_caps and r.scene.ground.base == "grass"
    assert np.nonzero(snow)[0].max() < r.scene.horizon * 64 + 1  # all of the snow is on the mountains
    # the world draws snow caps in some random scenes too (and names them where they are big enough)
    capped = [s for s in (render_sample(seed, 64) for seed in range(120)) if s.scene.snow_caps]
    assert capped and any("snow" in s.graph.labels for s in capped)


def test_some_random_scenes_have_no_thing():
    """Landscapes alone are in the training data, so a graph of stuff only is a scene people know."""
    graphs = [render_sample(seed, 64).graph for seed in range(150)]
    assert sum(all(classes.is_stuff(label) for label in g.labels) for g in graphs) >= 5


def test_people_graphs_render_compliant():
    graphs = [map_graph(g).graph for g in load_graphs(ASSETS / "people.json")]
    held = judged = 0
    for k, g in enumerate(graphs):
        assert 3 <= len(g.objects) <= 6
        r = render_graph(g, seed=k, size=64)
        assert r.verdict.object_recall == 1.0, g.to_text()
        js = [x.holds for x in r.verdict.relations if x.holds is not None]
        held, judged = held + sum(js), judged + len(js)
    assert held / judged >= 0.95


def test_a_render_shows_no_thing_its_graph_does_not_name():
    for seed in range(40):
        s = render_sample(seed, 64)
        named = set(s.object_instances)
        for iid, label in _instance_labels(s).items():
            if iid and iid not in named:  # an unnamed instance may only be stuff (background)
                assert classes.is_stuff(label), (seed, label)
        v = judge.judge(s.graph.labels, s.graph.triples(), s.segmentation, s.depth)
        assert v.extras == (), seed


def _instance_labels(s):
    return {int(i): classes.CLASS_NAMES[int(np.bincount(s.segmentation[s.instances == i]).argmax())]
            for i in np.unique(s.instances)}


def test_separate_duplicates_parts_boxes_in_the_order_the_graph_says():
    from sgcond_app.world.boxes import separate_duplicates

    boxes = np.array([[0.4, 0.5, 0.6, 0.7], [0.42, 0.5, 0.62, 0.7], [0, 0.6, 1, 1]], np.float32)
    out = separate_duplicates(["car", "car", "road"], boxes, [(1, "left of", 0)])
    assert out[1, 2] + 0.03 <= out[0, 0] + 1e-6  # car 1 now wholly left of car 0
    assert np.allclose(out[2], boxes[2])  # the road, alone of its class, stays
    out = separate_duplicates(["cloud", "cloud"], boxes[:2], [(0, "above", 1)])
    assert out[0, 3] + 0.03 <= out[1, 1] + 1e-6
    edge = np.array([[0, 0.5, 0.2, 0.7], [0, 0.5, 0.2, 0.7]], np.float32)
    out = separate_duplicates(["car", "car"], edge)
    assert out.min() >= 0 and out.max() <= 1 and out[0, 2] + 0.03 <= out[1, 0] + 1e-6


def test_layouts_of_graphs_with_two_of_a_kind_keep_every_object():
    """Graphs written for issue 33 by someone who did not see the outputs, those with two or more
    of a kind: every object is drawn. The small moves after the random tries are what does it
    (without them, 2 of the 20 lose a thing hidden behind another)."""
    from sgcond_app.graph.mapping import map_graph
    from sgcond_app.graph.parse import load_graphs

    path = Path(__file__).resolve().parents[1] / "assets" / "graphs" / "strangers.json"
    graphs = [g for g in (map_graph(x).graph for x in load_graphs(str(path))) if len(set(g.labels)) < len(g.labels)]
    assert len(graphs) >= 12
    recall = [render_graph(g, seed=k, size=64).verdict.object_recall for k, g in enumerate(graphs)]
    assert all(r == 1.0 for r in recall)
    # With one random try, the small moves after it find what the try missed now and then, and never
    # make it worse (they keep only what the judge scores higher).
    one = [render_graph(g, seed=k, size=64, tries=1, polish=0).verdict.compliance for k, g in enumerate(graphs)]
    polished = [render_graph(g, seed=k, size=64, tries=1).verdict.compliance for k, g in enumerate(graphs)]
    assert all(b >= a for a, b in zip(one, polished))
    assert any(b > a for a, b in zip(one, polished))


# Graphs of strangers.json and outside.json that `render_graph` failed (issue: inside / surrounding
# between things and stuff, an island, a bird on a thing, a bus on a road with cars around it).
WRITTEN_BEFORE_FAILING = [
    "fence surrounding brown cow#1; black cow#2 inside fence; brown cow#1 left of black cow#2; horse near fence;"
    " grass",
    "brown horse#1 inside fence; white horse#2 inside fence; brown horse#1 left of white horse#2;"
    " person near fence; mountain behind fence; grass",
    "water surrounding sand; tree on sand; sky above water",
    "person inside car; dog near car",
    "water surrounding rock; bird on rock; grass near water",
    "car#1 in front of red bus; black car#2 behind red bus; red bus on road",
    "person#1 inside yellow boat; yellow boat on water; small person#2 near water",
]


def _holds_fully(r) -> bool:
    return r.verdict.object_recall == 1.0 and r.verdict.relation_accuracy == 1.0


@pytest.mark.parametrize("text", WRITTEN_BEFORE_FAILING)
def test_graphs_with_inside_surrounding_and_perches_render_compliant(text):
    g = map_graph(parse_text(text)).graph
    for seed in range(3):
        r = render_graph(g, seed=seed, size=64)
        assert _holds_fully(r), (seed, [x for x in r.verdict.relations if x.holds is False])


def test_two_of_a_kind_inside_one_thing_stand_apart_in_the_graphs_order():
    """Things inside a thing are drawn within its box, in front of it, side by side as left of / right of
    say, apart enough that the segmentation keeps them two; the fence grows to hold them."""
    cases = [("cow#1 inside fence; cow#2 inside fence; cow#2 left of cow#1", ["cow", "cow"], [1, 0]),
             ("fence surrounding sheep#1; fence surrounding sheep#2; fence surrounding sheep#3;"
              " sheep#3 left of sheep#1; sheep#1 left of sheep#2", ["sheep"] * 3, [2, 0, 1]),
             ("person#1 inside bus; person#2 inside bus; person#1 right of person#2; bus on road",
              ["person", "person"], [1, 0])]
    for text, inner, order in cases:
        g = map_graph(parse_text(text)).graph
        outer = next(i for i, o in enumerate(g.objects) if o.label not in ("road",) and o.label not in inner)
        kind = [i for i, o in enumerate(g.objects) if o.label == inner[0]]  # #1, #2, ... in the graph
        order = [kind[k] for k in order]
        for seed in range(3):
            r = render_graph(g, seed=seed, size=64, polish=0)  # the layout itself, not the small moves
            assert _holds_fully(r), (text, seed)
            regions = [r.verdict.regions[o.region] for o in r.verdict.objects]
            xs = [regions[i].box[0] for i in order]
            assert xs == sorted(xs), (text, seed)
            for i in order:
                assert judge.box_inside(regions[i], regions[outer])
    fence = render_graph(map_graph(parse_text("cow#1 inside fence; cow#2 inside fence")).graph, seed=0).scene
    cows = [t for t in fence.things if t.label == "cow"]
    f = next(t for t in fence.things if t.label == "fence")
    assert f.height > max(c.height for c in cows) and all(c.depth > f.depth for c in cows)


def test_a_thing_in_water_is_all_in_it_and_water_around_sand_is_an_island():
    g = map_graph(parse_text("rock inside water; water surrounding boat; person on sand; sky above water")).graph
    for seed in range(3):
        r = render_graph(g, seed=seed, size=64)
        assert _holds_fully(r), seed
        assert not r.scene.ground.island  # sand beside the water here is a beach, not an island
    g = map_graph(parse_text("water surrounding sand; tree on sand; person on sand; tree left of person")).graph
    for seed in range(3):
        r = render_graph(g, seed=seed, size=64)
        assert _holds_fully(r), seed
        ground = r.scene.ground
        assert ground.island and ground.base != "sand" and ground.water in ("sea", "lake") and not ground.beach
        sand = r.maps.segmentation == classes.CLASS_ID["sand"]
        water = r.maps.segmentation == classes.CLASS_ID["water"]
        ys, xs = np.nonzero(sand)
        wy, wx = np.nonzero(water)
        assert wy.min() < ys.min() and ys.max() < wy.max() and wx.min() < xs.min() and xs.max() < wx.max()


def test_birds_perch_on_things():
    """`bird on rock` (fence, car): the bird sits on top of the thing, drawn in front, and moves with it."""
    for text in ("water surrounding rock; bird on rock", "bird#1 on fence; bird#2 on fence; cow behind fence",
                 "bird on car; car on road; car left of tree", "kite on tree; person near tree"):
        g = map_graph(parse_text(text)).graph
        for seed in range(3):
            r = render_graph(g, seed=seed, size=64)
            assert _holds_fully(r), (text, seed)
            for t in r.scene.things:
                if t.label in ("bird", "kite"):
                    mount = r.scene.things[t.rides]
                    assert t.depth > mount.depth and t.base < mount.base


def test_a_ground_thing_inside_the_sky_is_up_in_it():
    g = map_graph(parse_text("person inside sky; person above tree; tree on grass")).graph
    r = render_graph(g, seed=0, size=64)
    assert _holds_fully(r)
    person = next(t for t in r.scene.things if t.label == "person")
    assert person.base < r.scene.horizon


def test_graphs_written_for_the_layout_with_two_of_a_kind():
    """Graphs made up for this layout (not the failing ones above): things inside things and stuff,
    perches, two and three of a kind."""
    texts = [
        "person inside red car; red car on road; tree behind red car",
        "brown dog#1 inside fence; black dog#2 inside fence; dog#1 right of dog#2; house behind fence",
        "fence surrounding horse; person on horse; tree near fence",
        "person#1 inside yellow bus; small person#2 inside yellow bus; bus on road; person#1 left of person#2",
        "water surrounding white boat; person inside boat; sky above water",
        "rock#1 inside water; rock#2 inside water; bird on rock#1",
        "sand inside water; person on sand; tree on sand; boat on water",
        "bird#1 on house; bird#2 on tree; house left of tree",
        "person inside house; dog near house; tree right of house",
        "cow#1 inside fence; cow#2 inside fence; cow#1 left of cow#2; horse near fence; fence in front of horse",
        "person#1 inside car#1; person#2 inside car#2; car#1 left of car#2; car#1 on road; car#2 on road",
        "horse#1 inside fence; horse#2 inside fence; person#1 on horse#1; person#2 on horse#2",
        "dog inside truck; truck on road",
    ]
    held = judged = 0
    for k, text in enumerate(texts):
        g = map_graph(parse_text(text)).graph
        r = render_graph(g, seed=k, size=64)
        assert r.verdict.object_recall == 1.0, text
        js = [x.holds for x in r.verdict.relations if x.holds is not None]
        held, judged = held + sum(js), judged + len(js)
    assert held / judged >= 0.98


# A digest of the world's random renders (class, instance and depth maps and the derived graphs of
# seeds 0..11 at 64 px): the training data of every tiny model. The layout sampler's additions to the
# renderer (`Ground.island`) are opt-in and must not change it.
WORLD_DIGEST = "b0467b05bc6c0309d9a303f5a0557b303f9f4f729c20f43075797db87074ed85"


def test_the_worlds_random_renders_are_unchanged():
    import hashlib

    from sgcond_app.world.render import Ground
    from sgcond_app.world.sample import sample_scene

    h = hashlib.sha256()
    for seed in range(12):
        s = render_sample(seed, 64)
        for m in (s.segmentation, s.instances, s.depth):
            h.update(m.tobytes())
        h.update(s.graph.to_text().encode())
    assert h.hexdigest() == WORLD_DIGEST, "the world's random renders changed: the training data would too"
    assert Ground().island == () and not any(sample_scene(seed).ground.island for seed in range(200))
