"""Random tiny-world scenes and the scene graph each render shows.

`render_sample(seed, size)` is the training data of every tiny model: a random scene, its maps,
and a graph derived from the segmentation and depth by the judge's own rules (with margins), so
every sample is compliant by construction.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..graph import judge, vocab
from ..graph.scene_graph import SceneGraph
from . import classes
from .render import Ground, Maps, Scene, Thing, ground_label_at, rasterize
from .shapes import REAL_HEIGHT

MIN_OBJECTS, MAX_OBJECTS = 3, 8
P_NO_THINGS = 0.1  # of the scenes with enough stuff to make a graph alone
# A thing enters a derived graph when it shows at least this share of the image.
DERIVE_THING_FRACTION = 0.004
DERIVE_STUFF_FRACTION = 0.01

# Apparent height range (fraction of the image) of each ground class at its normal size.
HEIGHT_RANGE = {
    "person": (0.12, 0.4), "dog": (0.08, 0.18), "sheep": (0.08, 0.2), "cow": (0.1, 0.24),
    "horse": (0.12, 0.3), "elephant": (0.16, 0.36), "car": (0.08, 0.2), "bus": (0.12, 0.28),
    "truck": (0.12, 0.28), "house": (0.16, 0.36), "building": (0.28, 0.55), "tree": (0.22, 0.5),
    "bush": (0.07, 0.16), "fence": (0.07, 0.13), "rock": (0.06, 0.13), "boat": (0.08, 0.2),
}
GROUND_CLASS_WEIGHTS = {
    "person": 3, "tree": 3, "car": 2, "house": 2, "dog": 1.5, "sheep": 1.5, "horse": 1.2, "cow": 1,
    "elephant": 0.8, "bus": 1, "truck": 1, "building": 1.2, "bush": 1.5, "fence": 1, "rock": 1.2,
    "boat": 1.5,
}
VEHICLES = frozenset({"car", "bus", "truck"})
# Preference among the predicates that hold when a derived graph picks its relations.
PREDICATE_WEIGHTS = {
    "on": 3.0, "inside": 1.5, "surrounding": 0.7, "in front of": 2.0, "behind": 2.0, "left of": 2.0,
    "right of": 2.0, "above": 1.5, "below": 1.5, "near": 1.0,
}


@dataclass
class Sample:
    image: np.ndarray
    segmentation: np.ndarray
    instances: np.ndarray
    depth: np.ndarray
    sketch: np.ndarray
    graph: SceneGraph
    object_instances: list[int]  # graph object i is instance object_instances[i]
    scene: Scene


# --- scene sampling ----------------------------------------------------------------------------


def _boxes_clash(a: Thing, b: Thing) -> bool:
    ax0, ay0, ax1, ay1 = a.box()
    bx0, by0, bx1, by1 = b.box()
    if a.label == b.label:  # same-class things must not touch, or the segmentation merges them
        pad = 0.03
        return ax0 - pad < bx1 and bx0 - pad < ax1 and ay0 - pad < by1 and by0 - pad < ay1
    iw, ih = min(ax1, bx1) - max(ax0, bx0), min(ay1, by1) - max(ay0, by0)
    if iw <= 0 or ih <= 0:
        return False
    smaller = min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))
    return iw * ih > 0.35 * smaller  # heavy occlusion hides the object


def ground_thing(label: str, scene: Scene, rng: np.random.Generator, x: float | None = None,
                 t: float | None = None, size: str | None = None) -> Thing | None:
    """A ground thing at a sampled (or given) position; None when it does not fit there."""
    h = scene.horizon
    lo, hi = HEIGHT_RANGE[label]
    mult = vocab.SIZES.get(size, 1.0) if size else 1.0
    if t is None:
        h0 = rng.uniform(lo, hi)
        y = h + h0 / REAL_HEIGHT[label]
    else:
        y = h + t * (1 - h)
        h0 = REAL_HEIGHT[label] * (y - h)
    if y > 0.985:
        return None
    height = h0 * mult
    if x is None:
        x = rng.uniform(0.08, 0.92)
    width = float(rng.integers(3, 8)) if label == "fence" else 1.0
    depth = round((y - h) / (1 - h) * 255) / 255
    return Thing(label, float(x), float(y), float(height), depth, size=size, flip=bool(rng.random() < 0.5),
                 variant=int(rng.integers(0, 4)), width=width)


def sky_thing(label: str, scene: Scene, rng: np.random.Generator, x: float | None = None,
              y: float | None = None, size: str | None = None) -> Thing:
    h = scene.horizon
    height = {"sun": rng.uniform(0.07, 0.12), "cloud": rng.uniform(0.06, 0.11),
              "bird": rng.uniform(0.06, 0.09), "kite": rng.uniform(0.07, 0.12)}[label]
    height *= vocab.SIZES.get(size, 1.0) if size else 1.0
    if x is None:
        x = rng.uniform(0.1, 0.9)
    if y is None:
        y = rng.uniform(0.04 + height / 2, max(h - height / 2 - 0.06, 0.06 + height / 2))
    depth = {"sun": 0.0, "cloud": 0.004}.get(label, round(rng.uniform(0.05, 0.3) * 255) / 255)
    return Thing(label, float(x), float(y), float(height), depth, size=size,
                 flip=bool(rng.random() < 0.5), variant=int(rng.integers(0, 4)))


def _allowed_ground(label: str) -> set[str]:
    if label == "boat":
        return {"water"}
    if label in VEHICLES:
        return {"road", "grass", "sand", "snow"}
    return {"grass", "sand", "snow"}


def sample_scene(seed: int) -> Scene:
    rng = np.random.default_rng(seed)
    horizon = float(rng.uniform(0.35, 0.55))
    base = str(rng.choice(["grass", "sand", "snow"], p=[0.65, 0.2, 0.15]))
    ground = Ground(base=base)
    water = rng.choice(["none", "sea", "lake", "river"], p=[0.45, 0.25, 0.15, 0.15])
    if water == "sea":
        ground.water, ground.water_params = "sea", (float(rng.uniform(0.15, 0.4)),)
        ground.beach = base != "sand" and rng.random() < 0.5
    elif water == "lake":
        ground.water = "lake"
        ground.water_params = (float(rng.uniform(0.2, 0.8)), float(rng.uniform(0.25, 0.5)),
                               float(rng.uniform(0.15, 0.3)), float(rng.uniform(0.12, 0.25)))
    elif water == "river":
        ground.water = "river"
        ground.water_params = (float(rng.uniform(0.2, 0.8)), float(rng.uniform(-0.4, 0.4)),
                               float(rng.uniform(0.06, 0.12)))
    road = rng.choice(["none", "straight", "cross"], p=[0.55, 0.3, 0.15])
    if road == "straight":
        ground.road = "straight"
        ground.road_params = (float(rng.uniform(0.3, 0.7)), float(rng.uniform(-0.5, 0.5)),
                              float(rng.uniform(0.12, 0.25)))
    elif road == "cross":
        t0 = float(rng.uniform(0.35, 0.7))
        ground.road, ground.road_params = "cross", (t0, t0 + float(rng.uniform(0.12, 0.22)))
    scene = Scene(horizon=horizon, ground=ground, seed=seed,
                  sky_tone=0.0 if rng.random() < 0.8 else float(rng.uniform(0.3, 0.8)))
    if rng.random() < 0.4:
        for _ in range(int(rng.integers(1, 4))):
            scene.mountains.append((float(rng.uniform(0, 1)), float(rng.uniform(0.15, 0.35)),
                                    float(rng.uniform(0.06, min(0.2, horizon - 0.08)))))
    # Snow-capped mountains (the caps a region of snow) in a quarter of the scenes that can show them;
    # drawn from a stream of its own so that every other choice of a seed stays as it was.
    if base != "snow" and scene.mountains and max(m[2] for m in scene.mountains) >= 0.14:
        scene.snow_caps = bool(np.random.default_rng([seed, 11]).random() < 0.25)
    n_stuff = (2 + (ground.water is not None) + (ground.road is not None) + bool(scene.mountains) + ground.beach
               + scene.snow_caps)
    n_things = int(rng.integers(max(1, MIN_OBJECTS - n_stuff), max(2, MAX_OBJECTS - n_stuff + 1)))
    # A landscape with no thing at all now and then (people write "sky above mountain; water below
    # mountain" and mean nothing else), from a stream of its own like the snow caps.
    if n_stuff >= MIN_OBJECTS and np.random.default_rng([seed, 13]).random() < P_NO_THINGS:
        n_things = 0
    for _ in range(n_things * 4):
        if len(scene.things) >= n_things:
            break
        if rng.random() < 0.25:
            label = str(rng.choice(["sun", "cloud", "bird", "kite"], p=[0.25, 0.4, 0.2, 0.15]))
            if label == "sun" and any(t.label == "sun" for t in scene.things):
                continue
            size = None
            thing = sky_thing(label, scene, rng)
        else:
            labels = list(GROUND_CLASS_WEIGHTS)
            w = np.array([GROUND_CLASS_WEIGHTS[k] for k in labels])
            label = str(rng.choice(labels, p=w / w.sum()))
            r = rng.random()
            size = "small" if r < 0.15 else "large" if r < 0.27 else None
            thing = None
            for _try in range(8):
                cand = ground_thing(label, scene, rng, size=size)
                if cand is not None and ground_label_at(scene, cand.x, cand.base) in _allowed_ground(label):
                    thing = cand
                    break
            if thing is None:
                continue
        if label in classes.COLOURABLE and rng.random() < 0.6:
            thing.colour = str(rng.choice(list(vocab.COLOURS)))
        if any(_boxes_clash(thing, other) for other in scene.things):
            continue
        scene.things.append(thing)
        # A rider now and then: a person on a horse, cow or elephant.
        if label in ("horse", "elephant", "cow") and rng.random() < 0.3 and len(scene.things) < n_things:
            scene.things.append(rider_on(len(scene.things) - 1, scene, rng))
    return scene


def rider_on(index: int, scene: Scene, rng: np.random.Generator) -> Thing:
    mount = scene.things[index]
    height = mount.height * (0.75 if mount.label != "elephant" else 0.5)
    base = mount.base - mount.height * (0.7 if mount.label != "elephant" else 0.85)
    colour = str(rng.choice(list(vocab.COLOURS))) if rng.random() < 0.6 else None
    return Thing("person", mount.x - 0.05 * mount.height * (-1 if mount.flip else 1), base, height,
                 min(mount.depth + 1 / 255, 1.0), colour=colour, flip=mount.flip, rides=index)


# --- the graph a render shows ------------------------------------------------------------------


def sensible(predicate: str, s: judge.Region, o: judge.Region, seg: np.ndarray, vocabulary=None) -> bool:
    """Whether a person would say it: the rules hold for "mountain on bus" too, but nobody writes
    that. Only what a derived graph states is filtered; the judge's rules stay as they are.
    `vocabulary`: the classes the map's values name (default the tiny world's)."""
    from ..graph import vocabularies

    v = vocabularies.or_tiny(vocabulary)
    s_stuff, o_stuff = v.is_stuff(s.label), v.is_stuff(o.label)
    wide = lambda r: r.box[2] - r.box[0] >= 0.9 * seg.shape[1]  # noqa: E731
    airborne = s.label in v.airborne or o.label in v.airborne
    sky = s.label in v.sky or o.label in v.sky
    if predicate == "on":
        if s_stuff or airborne or (o_stuff and o.label not in v.ground):
            return False
        if o_stuff:  # on the stuff it stands on, not on one it merely touches
            x, y = int(round(s.centroid[0])), min(s.box[3] + 1, seg.shape[0] - 1)
            return v.classes[seg[y, x]] == o.label if seg[y, x] < len(v) else False
        return True
    if predicate in ("inside", "surrounding"):
        inner, outer = (s, o) if predicate == "inside" else (o, s)
        return not v.is_stuff(inner.label) and v.is_stuff(outer.label)
    if predicate in ("left of", "right of"):
        return not wide(s) and not wide(o)
    if predicate in vocab.DEPTH_PREDICATES:
        return not sky and not (s_stuff and o_stuff) and not airborne
    if predicate in ("above", "below"):
        return not (sky and airborne)
    return True


def derive_graph(scene: Scene, maps: Maps, rng: np.random.Generator) -> tuple[SceneGraph, list[int]] | None:
    """Objects: every region the judge reads off the segmentation that is large enough; relations:
    a few of the predicates that clearly hold between them. None if the count is out of range."""
    n = maps.segmentation.shape[0]
    regions = judge.extract_regions(maps.segmentation, maps.depth)
    # Which instance each region is; an instance split by occlusion keeps its largest piece.
    chosen: dict[int, judge.Region] = {}
    for r in regions:
        ids, counts = np.unique(maps.instances[r.mask], return_counts=True)
        iid = int(ids[np.argmax(counts)])
        frac = DERIVE_STUFF_FRACTION if classes.is_stuff(r.label) else DERIVE_THING_FRACTION
        if r.area < frac * n * n:
            continue
        if iid not in chosen or chosen[iid].area < r.area:
            chosen[iid] = r
    if not MIN_OBJECTS <= len(chosen) <= MAX_OBJECTS:
        return None
    stuff = sorted((i for i in chosen if classes.is_stuff(chosen[i].label)), key=lambda i: -chosen[i].area)
    things = [i for i in chosen if not classes.is_stuff(chosen[i].label)]
    rng.shuffle(things)
    order = stuff + things
    regs = [chosen[i] for i in order]
    thing_of = {iid: k for k, iid in enumerate(maps.thing_instance)}

    objects = []
    for iid in order:
        attrs: list[str] = []
        if iid in thing_of:
            t = scene.things[thing_of[iid]]
            if t.colour and rng.random() < 0.7:
                attrs.append(t.colour)
            if t.size:
                attrs.append(t.size)
        objects.append((maps.instance_labels[iid], attrs))

    shape = maps.segmentation.shape
    cands: list[tuple[int, str, int]] = []
    for a in range(len(regs)):
        for b in range(len(regs)):
            if a != b:
                cands += [(a, p, b) for p in judge.clear_predicates(regs[a], regs[b], shape)
                          if sensible(p, regs[a], regs[b], maps.segmentation)]
    relations: list[tuple[int, str, int]] = []
    budget = min(12, int(rng.integers(len(regs) - 1, 2 * len(regs) + 1)))
    used_pairs: set[frozenset[int]] = set()
    # Every object gets a relation first (a connected-looking graph), then random extras.
    for k in rng.permutation(len(regs)):
        mine = [c for c in cands if k in (c[0], c[2]) and frozenset((c[0], c[2])) not in used_pairs]
        if not mine or len(relations) >= budget:
            continue
        w = np.array([PREDICATE_WEIGHTS[c[1]] for c in mine])
        pick = mine[int(rng.choice(len(mine), p=w / w.sum()))]
        relations.append(pick)
        used_pairs.add(frozenset((pick[0], pick[2])))
    rest = [c for c in cands if frozenset((c[0], c[2])) not in used_pairs]
    while rest and len(relations) < budget:
        w = np.array([PREDICATE_WEIGHTS[c[1]] for c in rest])
        pick = rest[int(rng.choice(len(rest), p=w / w.sum()))]
        relations.append(pick)
        used_pairs.add(frozenset((pick[0], pick[2])))
        rest = [c for c in rest if frozenset((c[0], c[2])) not in used_pairs]
    return SceneGraph.build(objects, relations), order


def without_things(scene: Scene, drop: set[int]) -> Scene:
    """The scene less the things at the indices `drop` (a rider whose mount goes stays, on foot)."""
    index = {}
    things = []
    for i, t in enumerate(scene.things):
        if i not in drop:
            index[i] = len(things)
            things.append(t)
    things = [dataclasses.replace(t, rides=index.get(t.rides)) if t.rides is not None else t for t in things]
    return dataclasses.replace(scene, things=things)


def _unnamed_things(maps: Maps, order: list[int]) -> set[int]:
    named = set(order)
    return {i for i, iid in enumerate(maps.thing_instance) if iid not in named}


def _split_things(maps: Maps, order: list[int]) -> bool:
    """Whether a named thing shows as two pieces that the judge would both count (one occluded
    through the middle): the graph names one, the picture would show two."""
    from scipy import ndimage

    n = maps.segmentation.shape[0]
    for iid in order:
        if classes.is_stuff(maps.instance_labels[iid]):
            continue
        labels, k = ndimage.label(maps.instances == iid, structure=np.ones((3, 3), bool))
        if k > 1 and (np.bincount(labels.ravel())[1:] >= DERIVE_THING_FRACTION * n * n).sum() > 1:
            return True
    return False


def render_sample(seed: int, size: int = 64) -> Sample:
    """A random tiny-world sample. Deterministic: the same seed and size give the same pixels.

    The picture shows no thing its graph does not name: a thing too small (or too hidden) to enter
    the graph is taken out of the scene and the scene drawn again. Models trained on these samples
    learn that every thing in a picture was asked for (stuff the graph leaves out, the sky or the
    ground, may still be there: every picture has a background)."""
    if not 16 <= size <= 1024:
        raise ValueError("size must be between 16 and 1024 pixels")
    for attempt in range(50):
        scene_seed = seed if attempt == 0 else seed * 7919 + attempt * 104729
        scene = sample_scene(scene_seed)
        rng = np.random.default_rng([seed, attempt, 1])
        for _pass in range(3):
            maps = rasterize(scene, size)
            got = derive_graph(scene, maps, rng)
            if got is None:
                break
            graph, order = got
            unnamed = _unnamed_things(maps, order)
            if not unnamed:
                if _split_things(maps, order):
                    break
                return Sample(maps.image, maps.segmentation, maps.instances, maps.depth, maps.sketch,
                              graph, order, scene)
            scene = without_things(scene, unnamed)
    raise RuntimeError(f"no scene with {MIN_OBJECTS} to {MAX_OBJECTS} objects for seed {seed}")


__all__ = ["Sample", "render_sample", "sample_scene", "derive_graph"]
