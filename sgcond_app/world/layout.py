"""Render a given scene graph: a constraint-satisfying layout sampler over the tiny world.

Objects are placed where their class lives (boats on water, kites in the sky), then the
relations repair the proposal (swap x for left/right, distance for in front/behind, move close
for near, stack for `on` another thing); each try is rendered and judged, the best kept. This is
the non-learned baseline of the project and a way to test the judge on graphs people write.

What holds things together across those moves is a plan (`_Plan`): a rider (`person on horse`, a
perched `bird on rock`) is seated on its mount; things inside another (`cow inside fence`, `car
surrounding person`) are drawn side by side in front of it, within its box, in the order the graph's
left of / right of ask, the container grown (a fence) or its contents shrunk to fit; a thing inside
ground stuff (`rock inside water`, `water surrounding rock`) has all of its box in it; `water
surrounding sand` is an island (`Ground.island`); a ground thing inside the sky is up in it. The
repairs move a thing by its anchor (its mount, its container) and keep it on the stuff it stands on.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..errors import BadInput
from ..graph import judge, vocab
from ..graph.scene_graph import SceneGraph
from . import classes
from .render import Ground, Maps, Scene, Thing, ground_label_at, ground_labels, rasterize
from .sample import ground_thing, rider_on, sky_thing
from .shapes import ASPECT, REAL_HEIGHT

GROUND_BASES = ("grass", "sand", "snow")
GROUND_STUFF = ("water", "road", *GROUND_BASES)
PERCHERS = ("bird", "kite")  # airborne things that sit on a thing the graph puts them `on`
# A bird (thin wings) shorter than this many pixels covers too few of them for the judge to count it.
MIN_BIRD_PX = 5.5
MIN_THING_PX = 5  # nor is a thing shrunk (to fit in a road, a lake) below this many pixels tall
POLISH = 60  # small moves tried on the best layout where it misses something (`render_graph`)


@dataclass
class GraphRender:
    maps: Maps
    scene: Scene
    verdict: judge.Verdict
    object_instances: list[int]  # graph object i was drawn as instance object_instances[i]
    tries: int


def _snow_on_mountain(graph: SceneGraph) -> bool:
    return any(graph.objects[r.subject].label == "snow" and r.predicate in ("on", "above")
               and graph.objects[r.object].label == "mountain" for r in graph.relations)


def _stuff_scene(graph: SceneGraph, rng: np.random.Generator, seed: int) -> Scene:
    labels = set(graph.labels)
    caps = _snow_on_mountain(graph)  # the snow is the mountains' caps, not the ground
    island = _island(graph)  # the sand is an island in the water, not the ground
    base = next((b for b in GROUND_BASES if b in labels and not (caps and b == "snow")
                 and not (island and b == "sand")), "grass")
    ground = Ground(base=base)
    if island:
        if rng.random() < 0.5:
            depth_t = float(rng.uniform(0.4, 0.6))
            ground.water, ground.water_params = "sea", (depth_t,)
            ground.island = (float(rng.uniform(0.3, 0.7)), depth_t * float(rng.uniform(0.45, 0.6)),
                             float(rng.uniform(0.12, 0.25)), depth_t * float(rng.uniform(0.22, 0.32)))
        else:
            cx, ct = float(rng.uniform(0.35, 0.65)), float(rng.uniform(0.35, 0.5))
            rx, rt = float(rng.uniform(0.25, 0.35)), float(rng.uniform(0.22, 0.3))
            ground.water, ground.water_params = "lake", (cx, ct, rx, rt)
            ground.island = (cx + rx * float(rng.uniform(-0.25, 0.25)), ct + rt * float(rng.uniform(-0.15, 0.15)),
                             rx * float(rng.uniform(0.4, 0.55)), rt * float(rng.uniform(0.4, 0.55)))
    elif "water" in labels:
        kind = str(rng.choice(["sea", "lake", "river"], p=[0.5, 0.3, 0.2]))
        ground.water = kind
        if kind == "sea":
            ground.water_params = (float(rng.uniform(0.3, 0.5)),)
            ground.beach = base != "sand" and "sand" in labels
        elif kind == "lake":
            ground.water_params = (float(rng.uniform(0.25, 0.75)), float(rng.uniform(0.3, 0.5)),
                                   float(rng.uniform(0.2, 0.3)), float(rng.uniform(0.15, 0.25)))
        else:
            ground.water_params = (float(rng.uniform(0.25, 0.75)), float(rng.uniform(-0.3, 0.3)),
                                   float(rng.uniform(0.08, 0.12)))
    if "sand" in labels and base != "sand" and not ground.beach and not island:
        ground.water, ground.water_params, ground.beach = "sea", (float(rng.uniform(0.2, 0.35)),), True
    if "road" in labels:
        if rng.random() < 0.6:
            ground.road = "straight"
            ground.road_params = (float(rng.uniform(0.3, 0.7)), float(rng.uniform(-0.4, 0.4)),
                                  float(rng.uniform(0.15, 0.25)))
        else:
            t0 = float(rng.uniform(0.45, 0.7))
            ground.road, ground.road_params = "cross", (t0, t0 + float(rng.uniform(0.15, 0.25)))
    horizon = float(rng.uniform(0.38, 0.52))
    scene = Scene(horizon=horizon, ground=ground, seed=seed)
    if "mountain" in labels:
        low = 0.16 if caps else 0.1  # caps of a low mountain are too small to see
        for _ in range(int(rng.integers(1, 3))):
            scene.mountains.append((float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.2, 0.35)),
                                    float(rng.uniform(low, max(low, min(0.22, horizon - 0.1))))))
        scene.snow_caps = caps
    return scene


def _support(graph: SceneGraph, i: int) -> tuple[str | None, bool]:
    """The stuff (or thing index, as a string) object i stands on or in, if the graph says, and whether
    its whole box must lie in that stuff (`rock inside water`, `water surrounding rock`) or only its
    base (`car on road`)."""
    for r in graph.relations:
        if r.subject == i and r.predicate in ("on", "inside"):
            lab = graph.objects[r.object].label
            if lab in GROUND_STUFF:
                return lab, r.predicate == "inside"
            if not classes.is_stuff(lab) and r.predicate == "on":
                return str(r.object), False
        if r.object == i and r.predicate == "surrounding" and graph.objects[r.subject].label in GROUND_STUFF:
            return graph.objects[r.subject].label, True
    return None, False


def _in_sky(graph: SceneGraph, i: int) -> bool:
    """Whether the graph puts object i (a ground thing) inside the sky: a person jumping, a flying car."""
    return any((r.subject == i and r.predicate == "inside" and graph.objects[r.object].label == "sky")
               or (r.object == i and r.predicate == "surrounding" and graph.objects[r.subject].label == "sky")
               for r in graph.relations)


def _left_to_right(graph: SceneGraph, members: list[int]) -> list[int]:
    """Graph objects in the order the graph's `left of` / `right of` between them ask (stable)."""
    inside = set(members)
    after: dict[int, set[int]] = {m: set() for m in members}  # m -> those that must come before m
    for r in graph.relations:
        if r.subject in inside and r.object in inside and r.subject != r.object:
            if r.predicate == "left of":
                after[r.object].add(r.subject)
            elif r.predicate == "right of":
                after[r.subject].add(r.object)
    out: list[int] = []
    left = list(members)
    while left:
        ready = next((m for m in left if not (after[m] - set(out))), left[0])  # a cycle: take the first
        out.append(ready)
        left.remove(ready)
    return out


def _containment(graph: SceneGraph) -> dict[int, list[int]]:
    """Container -> contents (graph indices, left to right), from `inside` / `surrounding` between two
    things (`cow inside fence`, `car surrounding person`)."""
    content_of: dict[int, int] = {}
    groups: dict[int, list[int]] = {}
    for r in graph.relations:
        if r.predicate not in ("inside", "surrounding") or r.subject == r.object:
            continue
        inner, outer = (r.subject, r.object) if r.predicate == "inside" else (r.object, r.subject)
        if classes.is_stuff(graph.objects[inner].label) or classes.is_stuff(graph.objects[outer].label):
            continue
        if inner in content_of:
            continue
        k = outer
        while k in content_of and k != inner:  # no cycles: the container is not inside its content
            k = content_of[k]
        if k == inner:
            continue
        content_of[inner] = outer
        groups.setdefault(outer, []).append(inner)
    return {k: _left_to_right(graph, v) for k, v in groups.items()}


def _island(graph: SceneGraph) -> bool:
    """`water surrounding sand` / `sand inside water`: an island."""
    return any({graph.objects[r.subject].label, graph.objects[r.object].label} == {"water", "sand"}
               and (r.predicate, graph.objects[r.object].label) in (("surrounding", "sand"), ("inside", "water"))
               for r in graph.relations)


def _extent(t: Thing) -> tuple[float, float, float, float]:
    """A thing's (x0, y0, x1, y1) as drawn (`Thing.box` counts a fence's panels five times over)."""
    if t.label == "fence":
        w = t.width * t.height / 2
        return t.x - w, t.base - t.height, t.x + w, t.base
    return t.box()


def _fits(scene: Scene, t: Thing, label: str, whole: bool, strict: bool = True) -> bool:
    """Whether t stands on `label`; whole: and its box lies in it, all four corners on it (strict) or
    within the stuff's bounding box, which is what the judge's `inside` asks (a car in a road that
    narrows into the distance)."""
    x0, y0, x1, y1 = _extent(t)
    if not whole:
        return ground_label_at(scene, t.x, min(t.base, 0.999)) == label
    if y0 <= scene.horizon:
        return False
    if not strict:
        if ground_label_at(scene, t.x, min(t.base, 0.999)) != label:
            return False
        box = _stuff_box(scene, label)
        return box is not None and box[0] <= x0 and box[1] <= y0 and x1 <= box[2] and y1 <= box[3]
    xs = np.array([x0, x1, x0, x1, t.x, t.x])
    ys = np.minimum(np.array([y0, y0, y1, y1, y1, y0]), 0.999)
    return bool((ground_labels(scene, xs, ys) == classes.CLASS_ID[label]).all())


def _grid(scene: Scene, label: str) -> tuple[np.ndarray, np.ndarray]:
    """Points (x, y) of a 48 x 48 grid over the ground that are the stuff `label`."""
    g = (np.arange(48, dtype=np.float64) + 0.5) / 48
    X, Y = np.meshgrid(g, g[(g > scene.horizon) & (g < 0.98)])
    hit = ground_labels(scene, X, Y) == classes.CLASS_ID[label]
    return X[hit], Y[hit]


def _stuff_box(scene: Scene, label: str) -> tuple[float, float, float, float] | None:
    """The stuff's bounding box (x0, y0, x1, y1), one grid step inside, or None where there is none."""
    xs, ys = _grid(scene, label)
    if not len(xs):
        return None
    d = 0.5 / 48
    return float(xs.min() + d), float(ys.min() + d), float(xs.max() - d), float(ys.max() - d)


def _spots(scene: Scene, label: str, rng: np.random.Generator, n: int) -> list[tuple[float, float]]:
    """Up to n random points (x, ground t) of the ground stuff `label`."""
    xs, ys = _grid(scene, label)
    if not len(xs):
        return []
    h = scene.horizon
    return [(float(xs[k] + rng.uniform(-0.01, 0.01)), float((ys[k] - h) / (1 - h)))
            for k in rng.integers(0, len(xs), n)]


def _on_ground(label: str, scene: Scene, rng: np.random.Generator, size: str | None, want: set[str] | None,
               whole: bool, pixels: int = 64) -> Thing:
    """A ground thing standing where the graph puts it (on `want`; whole: all of its box in it)."""
    goal = next(iter(want)) if want and len(want) == 1 else None
    loose = None  # where whole, the first that lies in the stuff's box without all its corners on it
    for _ in range(30):
        cand = ground_thing(label, scene, rng, size=size)
        if cand is None:
            continue
        if whole and goal is not None:
            if _fits(scene, cand, goal, True):
                return cand
            if loose is None and _fits(scene, cand, goal, True, strict=False):
                loose = cand
            continue
        under = ground_label_at(scene, cand.x, cand.base)
        if (under in want) if want else (under != "water" or label == "boat"):
            return cand
    if goal is not None:  # a small region (an island, a narrow river): stand it on a point of it,
        # the farthest first (a thing on a road near the camera would fill the picture)
        for x, t in sorted(_spots(scene, goal, rng, 20), key=lambda p: p[1]):
            cand = ground_thing(label, scene, rng, x=x, t=t, size=size)
            if cand is None:
                continue
            for shrink in (1.0, 0.8, 0.65, 0.5) if whole else (1.0,):
                trial = dataclasses.replace(cand, height=cand.height * shrink)
                if shrink < 1 and trial.height * pixels < MIN_THING_PX:
                    break
                if _fits(scene, trial, goal, whole):
                    return trial
                if whole and loose is None and _fits(scene, trial, goal, True, strict=False):
                    loose = trial
    return loose or ground_thing(label, scene, rng, t=0.6, size=size)


def _aloft(label: str, scene: Scene, rng: np.random.Generator, size: str | None) -> Thing:
    """A ground thing up in the sky (`person inside sky`): its whole box above the horizon."""
    h = scene.horizon
    thing = ground_thing(label, scene, rng, t=float(rng.uniform(0.3, 0.6)), size=size)
    thing.height = min(thing.height, max(h - 0.08, 0.03), 0.3)
    thing.base = float(rng.uniform(thing.height + 0.03, max(h - 0.03, thing.height + 0.03)))
    return thing


def _place(graph: SceneGraph, scene: Scene, rng: np.random.Generator, pixels: int = 64) -> list[int | None]:
    """Append one Thing per graph thing to scene.things; returns graph index -> thing index. `pixels`:
    the size it will be judged at (a bird is drawn big enough to be seen there)."""
    index: list[int | None] = [None] * len(graph.objects)
    riders = []
    for i, obj in enumerate(graph.objects):
        if classes.is_stuff(obj.label):
            continue
        colour = vocab.colour_of(obj.attributes)
        size = next((a for a in obj.attributes if a in vocab.SIZES), None)
        support, whole = _support(graph, i)
        sky = obj.label in classes.SKY_THINGS
        if support is not None and support.isdigit() and (not sky or obj.label in PERCHERS):
            riders.append((i, int(support), colour, size))
            continue
        if sky:
            thing = sky_thing(obj.label, scene, rng, size=size)
            if obj.label == "bird":
                thing.height = max(thing.height, MIN_BIRD_PX / pixels)
        elif _in_sky(graph, i):
            thing = _aloft(obj.label, scene, rng, size)
        else:
            want = {support} if support else ({"water"} if obj.label == "boat" else None)
            thing = _on_ground(obj.label, scene, rng, size, want, whole, pixels)
        thing.colour = colour if obj.label in classes.COLOURABLE else None
        index[i] = len(scene.things)
        scene.things.append(thing)
    for i, mount, colour, size in riders:
        label = graph.objects[i].label
        if index[mount] is None:  # on a stuff-less or sky thing: stand it near instead
            index[i] = len(scene.things)
            scene.things.append(sky_thing(label, scene, rng, size=size) if label in classes.SKY_THINGS
                                else ground_thing(label, scene, rng, t=0.6))
            continue
        if label == "person":
            rider = rider_on(index[mount], scene, rng)
        else:
            rider = Thing(label, 0.5, 0.5, 0.1, 0.5, size=size, rides=index[mount])
        rider.rides = index[mount]
        _seat(rider, scene.things[index[mount]])
        rider.colour = colour if label in classes.COLOURABLE else None
        index[i] = len(scene.things)
        scene.things.append(rider)
    return index


# Where a bird sits on a thing: the height (in the thing's heights) of its top near the middle.
TOPS = {"person": 1.0, "dog": 0.78, "sheep": 0.95, "cow": 0.88, "horse": 0.8, "elephant": 0.93, "car": 1.0,
        "bus": 1.0, "truck": 1.0, "house": 0.95, "building": 1.0, "tree": 0.97, "bush": 0.97, "fence": 0.78,
        "rock": 0.9}
# The lowest point of a perching thing below its centre, in its heights (shapes.py).
PERCH_FOOT = {"bird": 0.15, "kite": 0.45}


def _seat(rider: Thing, m: Thing, offset: float = 0.0, size: int = 64) -> None:
    """Put a rider on its mount: a person astride, a bird on top (`offset` to the right of its middle,
    where several sit on one thing), anything else on the back."""
    if rider.label == "person":  # as `sample.rider_on` seats one
        big = m.label == "elephant"
        rider.height = m.height * (0.5 if big else 0.75)
        rider.base = m.base - m.height * (0.85 if big else 0.7)
        rider.x = m.x - 0.05 * m.height * (-1 if m.flip else 1)
        rider.flip = m.flip
    elif rider.label in PERCHERS:
        mult = vocab.SIZES.get(rider.size, 1.0) if rider.size else 1.0
        rider.height = max(min(0.6 * m.height, 0.09) * mult, MIN_BIRD_PX / size if rider.label == "bird" else 0.05)
        if m.in_sky:
            top = m.base - 0.4 * m.height
        elif m.label == "boat":
            top = m.base - m.height * (0.95 if m.variant % 2 == 0 else 0.7)
        else:
            top = m.base - m.height * TOPS.get(m.label, 0.9)
        # its foot a little into the thing's top: drawn in front, the two touch
        rider.base = top - PERCH_FOOT[rider.label] * rider.height + 0.25 * rider.height
        rider.x = m.x + offset
    else:
        rider.x, rider.base, rider.height, rider.flip = m.x, m.base - m.height * 0.8, m.height * 0.4, m.flip
    rider.depth = min(m.depth + 1 / 255, 1.0)


# Where a thing holds what is inside it (`person inside car`, `cow inside fence`): (u0, u1, v0, v1) in
# its heights, u to its front (shapes.py's frame, before a flip), v up from its base (from its centre for
# an airborne one). What is inside stands at v0 and is drawn in front; the container stays one piece
# around it (over it or under it) and its box holds it. A fence's span is its width.
INTERIOR = {
    "car": (-0.42, 0.33, 0.3, 0.84), "bus": (-1.4, 1.4, 0.3, 0.9), "truck": (-1.25, 0.35, 0.3, 0.9),
    "boat": (-0.8, 0.8, 0.2, 0.88), "house": (-0.55, 0.55, 0.0, 0.5), "building": (-0.2, 0.2, 0.0, 0.85),
    "tree": (-0.2, 0.2, 0.45, 0.82), "bush": (-0.6, 0.6, 0.2, 0.75), "rock": (-0.45, 0.45, 0.2, 0.72),
    "fence": (0.0, 0.0, 0.0, 0.6), "cloud": (-0.6, 0.6, -0.2, 0.25),
}
GROWS = frozenset({"fence"})  # drawn taller and longer to hold what it surrounds (others shrink it)
MIN_CONTAINER_PX = 12  # a container is drawn at least this tall (pixels) so that what it holds shows


def _interior(k: Thing) -> tuple[float, float, float, float]:
    if k.label == "fence":
        half = k.width / 2 - 0.12
        return -half, half, 0.0, 0.6
    if k.label in INTERIOR:
        return INTERIOR[k.label]
    a = ASPECT[k.label] / 4
    return (-a, a, -0.25, 0.25) if k.in_sky else (-a, a, 0.3, 0.75)


def _natural_height(c: Thing, k: Thing, scene: Scene) -> float:
    """How tall c would be where its container stands (its own height if either is airborne)."""
    if c.in_sky or k.in_sky or c.label not in REAL_HEIGHT:
        return c.height
    mult = vocab.SIZES.get(c.size, 1.0) if c.size else 1.0
    return REAL_HEIGHT[c.label] * max(k.base - scene.horizon, 0.01) * mult


def _contain(scene: Scene, k: Thing, inner: list[Thing], size: int) -> None:
    """Draw the things `inner` inside k, side by side from left to right, in front of it."""
    px = 1 / size
    pad = 3 * px  # two things of a kind must not touch, or the segmentation merges them
    nat = [_natural_height(c, k, scene) for c in inner]
    aspect = [ASPECT[c.label] for c in inner]
    u0, u1, v0, v1 = _interior(k)
    if k.label in GROWS:
        need = (max(nat) + 2 * px) / (v1 - v0)
        k.height = float(np.clip(need, k.height, max(k.height, 0.45)))
        span = sum(a * h for a, h in zip(aspect, nat)) + pad * (len(inner) - 1) + 4 * px
        k.width = float(np.clip(span / k.height + 0.24, k.width, max(k.width, 0.94 / k.height)))
        u0, u1, v0, v1 = _interior(k)
    else:
        k.height = max(k.height, min(2 * k.height, MIN_CONTAINER_PX * px))
    H = k.height
    room_h = (v1 - v0) * H - 2 * px
    room_w = (u1 - u0) * H - 2 * px
    natural_w = sum(a * h for a, h in zip(aspect, nat))
    scale = min(1.0, room_h / max(nat), (min(room_w, 0.9) - pad * (len(inner) - 1)) / natural_w)
    scale = max(scale, 0.05)
    heights = [h * scale for h in nat]
    widths = [a * h for a, h in zip(aspect, heights)]
    used = sum(widths) + pad * (len(inner) - 1)
    if k.label == "fence":  # keep the whole fence in the picture where it fits
        half = k.width * H / 2
        if half < 0.48:
            k.x = float(np.clip(k.x, half + 0.02, 1 - half - 0.02))
    left = k.x + (-u1 if k.flip else u0) * H + px + max(room_w - used, 0) / 2
    # and what it holds, all of it: the container moves over where they would be cut by the edge
    shift = max(0.02 - left, 0.0) + min(0.98 - (left + used), 0.0)
    if used < 0.96:
        k.x += shift
        left += shift
    for c, h, w in zip(inner, heights, widths):
        c.height = h
        c.x = left + w / 2
        left += w + pad
        bottom = k.base - v0 * H - px / 2
        c.base = bottom - h / 2 if c.in_sky else bottom
        c.depth = min(k.depth + 1 / 255, 1.0)


@dataclass
class _Plan:
    """What holds things together across the moves of a layout: contents follow their container
    (outermost first), riders their mount; `aloft` ground things stay up in the sky; `grounds` the
    stuff a thing stands on (whole: all of it inside)."""

    groups: list[tuple[int, list[int]]] = field(default_factory=list)  # thing indices
    aloft: frozenset[int] = frozenset()
    grounds: dict[int, tuple[str, bool]] = field(default_factory=dict)
    size: int = 64

    def anchor(self, scene: Scene, k: int) -> int:
        """The thing that moves k: its mount's or container's anchor, or k itself."""
        container = {c: g for g, inner in self.groups for c in inner}
        seen = set()
        while k not in seen:
            seen.add(k)
            t = scene.things[k]
            if t.rides is not None:
                k = t.rides
            elif k in container:
                k = container[k]
            else:
                break
        return k

    def airborne(self, scene: Scene, k: int) -> bool:
        return scene.things[k].in_sky or k in self.aloft


def _plan(graph: SceneGraph, scene: Scene, index: list[int | None], size: int) -> _Plan:
    """The plan of a placed scene (graph index -> thing index `index`), judged at `size` pixels."""
    containment = _containment(graph)
    parent = {c: g for g, inner in containment.items() for c in inner}

    def nesting(i: int) -> int:
        n = 0
        while i in parent and n < len(parent):
            i, n = parent[i], n + 1
        return n

    groups = []
    for g, inner in sorted(containment.items(), key=lambda kv: nesting(kv[0])):  # outermost first
        ks = [index[c] for c in inner if index[c] is not None and scene.things[index[c]].rides is None]
        if index[g] is not None and ks:
            groups.append((index[g], ks))
    aloft = frozenset(index[i] for i in range(len(graph.objects))
                      if index[i] is not None and not scene.things[index[i]].in_sky and _in_sky(graph, i))
    grounds = {}
    for i in range(len(graph.objects)):
        sup, whole = _support(graph, i)
        if index[i] is not None and sup is not None and not sup.isdigit():
            grounds[index[i]] = (sup, whole)
    return _Plan(groups, aloft, grounds, size)


def _settle(scene: Scene, plan: _Plan) -> None:
    """Riders onto their mounts, contents into their containers (outermost first), riders again."""
    _follow_mounts(scene, plan.size)
    for k, inner in plan.groups:
        _contain(scene, scene.things[k], [scene.things[c] for c in inner], plan.size)
    if plan.groups:
        _follow_mounts(scene, plan.size)


def _onto(scene: Scene, t: Thing, label: str) -> None:
    """Move t sideways (the least) so that it stands on `label` again, where that is on its row."""
    y = min(t.base, 0.999)
    if ground_label_at(scene, t.x, y) == label:
        return
    xs = np.linspace(0.03, 0.97, 95)
    ok = np.nonzero(ground_labels(scene, xs, np.full_like(xs, y)) == classes.CLASS_ID[label])[0]
    if len(ok):
        t.x = float(xs[ok[np.argmin(np.abs(xs[ok] - t.x))]])


def _set_t(scene: Scene, thing: Thing, t: float) -> None:
    h = scene.horizon
    scale = thing.height / max(thing.base - h, 1e-3)
    thing.base = h + t * (1 - h)
    thing.height = scale * (thing.base - h)
    thing.depth = round(t * 255) / 255


def _repair(graph: SceneGraph, scene: Scene, index: list[int | None], rng: np.random.Generator,
            plan: _Plan | None = None) -> None:
    """Move things so that the graph's relations between things are likely to hold. A thing that rides
    another or is inside one moves by moving that one (its anchor)."""
    plan = plan or _Plan()
    h = scene.horizon
    things = scene.things
    ground = lambda k: k is not None and things[k].rides is None and not plan.airborne(scene, k)  # noqa: E731
    for _ in range(3):
        for r in graph.relations:
            a, b = index[r.subject], index[r.object]
            if a is None or b is None:
                continue
            a, b = plan.anchor(scene, a), plan.anchor(scene, b)
            if a == b:  # one rides the other or both are inside one thing: settled by the plan
                continue
            ta, tb = things[a], things[b]
            p = r.predicate
            if p in ("left of", "right of"):
                left, right = (ta, tb) if p == "left of" else (tb, ta)
                el, er = _extent(left), _extent(right)
                # two of a kind side by side must not touch (the segmentation would merge them)
                apart = ((el[2] - el[0] + er[2] - er[0]) / 2 + 3 / plan.size
                         if left.label == right.label and el[1] < er[3] and er[1] < el[3] else 0.0)
                if left.x >= right.x - max(0.08, min(apart, 0.8)):
                    lo, hi = sorted((left.x, right.x))
                    gap = max(0.15, hi - lo, min(apart, 0.8))
                    mid = min(max((lo + hi) / 2, 0.1 + gap / 2), 0.9 - gap / 2)
                    left.x, right.x = mid - gap / 2, mid + gap / 2
            elif p in ("in front of", "behind", "above", "below") and ground(a) and ground(b):
                # For two things on the ground, farther is both behind and higher in the image.
                near_, far_ = (ta, tb) if p in ("in front of", "below") else (tb, ta)
                tn, tf = (near_.base - h) / (1 - h), (far_.base - h) / (1 - h)
                if tn <= tf + 0.1:
                    hi_t, lo_t = min(max(tn, tf) + 0.15, 0.97), max(min(tn, tf) - 0.1, 0.15)
                    _set_t(scene, near_, hi_t)
                    _set_t(scene, far_, lo_t)
                    _stay_on(scene, plan, (a, b))
                far_k = b if near_ is ta else a
                _apart(near_, far_, far_k in plan.grounds, plan.size)
            elif p in ("above", "below") and (plan.airborne(scene, a) or plan.airborne(scene, b)):
                upper, lower = (a, b) if p == "above" else (b, a)
                tu, tl = things[upper], things[lower]
                if plan.airborne(scene, upper) and not plan.airborne(scene, lower):
                    top = _extent(tl)[1]
                    if tu.in_sky:
                        tu.base = min(tu.base, max(top - tu.height, tu.height / 2 + 0.02))
                    else:  # a ground thing up in the sky: its base is its bottom
                        tu.base = min(tu.base, max(top - 0.02, tu.height + 0.02))
                    tu.x = float(np.clip(tl.x + rng.uniform(-0.1, 0.1), 0.08, 0.92))
            elif p == "near" and ground(a) and ground(b):
                side = 1 if ta.x >= tb.x else -1
                ea, eb = _extent(ta), _extent(tb)
                span = (ea[2] - ea[0] + eb[2] - eb[0]) / 2
                ta.x = float(np.clip(tb.x + side * (span + 0.03), 0.05, 0.95))
                if ta.x == tb.x:
                    ta.x = float(np.clip(tb.x - side * (span + 0.03), 0.05, 0.95))
                _stay_on(scene, plan, (a,))
        _settle(scene, plan)  # riders follow their mounts, contents their containers


def _into(scene: Scene, t: Thing, label: str, rng: np.random.Generator) -> None:
    """Move t (nearer or farther, sideways) to the nearest of some random spots of the stuff `label`
    where all of its box lies in that stuff."""
    h = scene.horizon
    here = (t.base - h) / (1 - h)
    spots = sorted(_spots(scene, label, rng, 24), key=lambda p: (p[0] - t.x) ** 2 + (p[1] - here) ** 2)
    for x, tt in spots:
        trial = copy.copy(t)
        trial.x = x
        _set_t(scene, trial, float(np.clip(tt, 0.02, 0.97)))
        if _fits(scene, trial, label, True):
            t.x, t.base, t.height, t.depth = trial.x, trial.base, trial.height, trial.depth
            return


def _stay_on(scene: Scene, plan: _Plan, ks: tuple[int, ...]) -> None:
    """After a move: each of ks back onto the stuff the graph stands it on (the road, the river)."""
    for k in ks:
        if k in plan.grounds:
            _onto(scene, scene.things[k], plan.grounds[k][0])


def _apart(near: Thing, far: Thing, stands: bool, size: int) -> None:
    """Move two things sideways, each its own way, so that the nearer does not hide the farther: two
    of a kind must not touch (the segmentation would merge them), another may cover the farther up to
    a little past its middle, and where the farther stands on stuff (`on road`) its foot stays in sight."""
    en, ef = _extent(near), _extent(far)
    if en[1] >= ef[3]:  # the nearer is all below the farther in the picture
        return
    side = 1.0 if near.x >= far.x else -1.0
    # how far the nearer's edge on the farther's side must be from the farther's centre
    if near.label == far.label:
        need = (ef[2] - ef[0]) / 2 + 3 / size
    else:
        need = -0.1 * (ef[2] - ef[0])
        if stands:
            need = max(need, 0.02)
    edge = en[0] if side > 0 else en[2]
    excess = need - side * (edge - far.x)
    if excess <= 0:
        return
    for t, sgn, share in ((far, -side, 0.5), (near, side, 1.0)):
        before = t.x
        t.x = float(np.clip(t.x + sgn * excess * share, 0.03, 0.97))
        excess -= abs(t.x - before)


def _follow_mounts(scene: Scene, size: int = 64) -> None:
    """Every rider onto its mount; birds that share a mount side by side along its top."""
    perched: dict[int, list[Thing]] = {}
    for t in scene.things:
        if t.rides is not None:
            _seat(t, scene.things[t.rides], size=size)
            if t.label in PERCHERS:
                perched.setdefault(t.rides, []).append(t)
    for birds in perched.values():
        if len(birds) > 1:
            widths = [_extent(b)[2] - _extent(b)[0] for b in birds]
            pad = 3 / size
            x = birds[0].x - (sum(widths) + pad * (len(birds) - 1)) / 2
            for b, w in zip(birds, widths):
                b.x = x + w / 2
                x += w + pad


def _at_fault(graph: SceneGraph, verdict: judge.Verdict) -> list[int]:
    """Graph objects a move might help: those not found, and those of a relation that fails."""
    out = [o.index for o in verdict.objects if not o.present]
    for r in verdict.relations:
        if r.holds is False:
            out += [r.subject, r.object]
    return out


def _nudged(graph: SceneGraph, scene: Scene, index: list[int | None], verdict: judge.Verdict,
            rng: np.random.Generator, plan: _Plan | None = None) -> Scene | None:
    """A copy of the scene with one thing at fault moved a little (sideways; a ground thing also nearer
    or farther), on the same ground as before; None where nothing at fault can move. A thing that
    rides another or is inside one moves with it."""
    plan = plan or _Plan()
    movable = sorted({plan.anchor(scene, index[i]) for i in _at_fault(graph, verdict) if index[i] is not None})
    if not movable:
        return None
    out = copy.deepcopy(scene)
    k = int(rng.choice(movable))
    t = out.things[k]
    h = out.horizon
    # It stays on the ground it stood on, or goes onto the ground the graph puts it on.
    sup, whole = plan.grounds.get(k, (None, False))
    airborne = plan.airborne(out, k)
    grounds = {ground_label_at(out, t.x, min(t.base, 0.999)), sup} if not airborne else set()
    if sup is not None and not airborne and not _fits(out, t, sup, whole) and rng.random() < 0.5:
        # off (or partly out of) the stuff the graph puts it on or in: back onto it, the nearest spot
        if whole:
            _into(out, t, sup, rng)
        else:
            _onto(out, t, sup)
        _settle(out, plan)
        return out
    for _ in range(10):
        x = float(np.clip(t.x + rng.normal(0, 0.15), 0.05, 0.95))
        if airborne:
            t.x = x
            break
        tt = float(np.clip((t.base - h) / (1 - h) + rng.normal(0, 0.08), 0.15, 0.97))
        trial = copy.copy(t)
        trial.x = x
        _set_t(out, trial, tt)
        if whole and sup is not None and not _fits(out, trial, sup, True):
            continue
        if ground_label_at(out, trial.x, min(trial.base, 0.999)) in grounds:
            t.x, t.base, t.height, t.depth = trial.x, trial.base, trial.height, trial.depth
            break
    _settle(out, plan)
    return out


def render_graph(graph: SceneGraph, seed: int = 0, size: int = 64, tries: int = 60,
                 polish: int = POLISH) -> GraphRender:
    """The best of up to `tries` layouts for a graph in the tiny world's words (see `mapping`); where
    the best still misses an object or a relation, up to `polish` small moves of the things at fault
    (`_nudged`), each kept where the judge scores it higher."""
    unknown = [o.label for o in graph.objects if o.label not in classes.CLASS_ID]
    if unknown:
        raise BadInput(f"not in the tiny world's vocabulary: {', '.join(unknown)} (map the graph first)")
    labels = graph.labels
    triples = graph.triples()
    best: GraphRender | None = None
    best_key = (-1.0, -1.0)
    best_index: list[int | None] = []
    best_plan = _Plan(size=size)

    def judged(scene: Scene) -> tuple[Maps, judge.Verdict, tuple[float, float]]:
        maps = rasterize(scene, size)
        verdict = judge.judge(labels, triples, maps.segmentation, maps.depth)
        return maps, verdict, verdict.compliance

    def kept(maps: Maps, scene: Scene, verdict: judge.Verdict, index: list[int | None], k: int) -> GraphRender:
        inst = []
        for i, o in enumerate(graph.objects):
            if index[i] is not None:
                inst.append(maps.thing_instance[index[i]])
            else:
                inst.append(next((iid for iid, lab in maps.instance_labels.items() if lab == o.label), 0))
        return GraphRender(maps, scene, verdict, inst, k)

    for k in range(tries):
        rng = np.random.default_rng([seed, k])
        scene = _stuff_scene(graph, rng, seed * 1000 + k)
        index = _place(graph, scene, rng, size)
        plan = _plan(graph, scene, index, size)
        _settle(scene, plan)
        _repair(graph, scene, index, rng, plan)
        maps, verdict, key = judged(scene)
        if key > best_key:
            best, best_key, best_index, best_plan = kept(maps, scene, verdict, index, k + 1), key, index, plan
            if key == (1.0, 1.0):
                break
    assert best is not None
    rng = np.random.default_rng([seed, tries, 1])
    for _ in range(polish if best_key < (1.0, 1.0) else 0):
        scene = _nudged(graph, best.scene, best_index, best.verdict, rng, best_plan)
        if scene is None:
            break
        maps, verdict, key = judged(scene)
        if key > best_key:
            best, best_key = kept(maps, scene, verdict, best_index, best.tries + 1), key
            if key == (1.0, 1.0):
                break
        else:
            best = dataclasses.replace(best, tries=best.tries + 1)
    return best
