"""Edits of a read (or any) result's segmentation, from an operation or from a changed scene graph.

Operations are the studio's, written `move:X,Y,DX,DY`, `flip_h:X,Y`, `flip_v:X,Y`,
`resize:X,Y,SCALE`, `delete:X,Y` (map pixels) on the segmentation, `depth:X,Y,AMOUNT` (the thing
under X,Y nearer by AMOUNT of the depth range, or farther when it is negative; occlusion redone,
`editing.relief`), and `sketch:X0,Y0,X1,Y1[,...]` / `erase:X0,Y0,X1,Y1[,...]` (a polyline drawn on,
or cleared from, the sketch). A segmentation edit reruns depth, sketch and picture; a depth edit the
sketch and picture; a sketch edit the picture alone. A graph edit compares the result's graph with a new
one of the same objects, in any order (a node may be left out: deleted; a label changed):
- a deleted node's region is filled with what surrounds it;
- a relabelled node (dog -> sheep) keeps its region, now of the new class;
- a relation that does not hold moves its subject (a thing; else its object) by as few pixels as
  it can until every relation of the new graph between placed things holds, neither over another
  thing nor hiding a small one; where no place of the thing does it, the piece of background it is
  asked about moves, behind the things; when no place does, the move that satisfies the most is
  taken and the message says which still fail;
- a colour newly named on a colourable thing paints it when the picture reruns (guidance on the
  image factor's estimate, `reading.colours`); size words are reported as not applied.
Every step is said in plain words, and the returned segmentation is what the chain reruns from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..editing import masks as ed
from ..editing import relief
from ..errors import BadInput, shown
from ..graph import judge, vocab, vocabularies
from ..graph.scene_graph import SceneGraph
from ..inputs import number, whole_number

OPS = {"move": 4, "flip_h": 2, "flip_v": 2, "resize": 3, "delete": 2, "depth": 3}
STROKES = ("sketch", "erase")  # polylines: an even count of numbers, 4 or more
MAX_SHIFT = 48  # map pixels a relation edit may move an object
# Predicates a moved object must satisfy with the world's margin, not by a pixel.
CLEAR = frozenset({"left of", "right of", "above", "below", "in front of", "behind"})
MAX_COVER = 0.05  # of a moved object's pixels that may lie over another thing
MAX_COVERED = 0.25  # of another thing's pixels that a moved object may lie over (a sun behind a building)
STUFF_SHOWN = 0.5  # of a moved piece of background's pixels that must still show, not behind things
RELABEL_ROOM = 2  # map pixels around a relabelled thing that its new shape may take
# Draws (seeds 0, 1, ...) of a relabelled thing's shape until one draws enough of the new class. With
# one draw a small new thing (a bush for a tree) was often left undrawn, the old outline stayed and
# was read as the old class: relabels read as the new class went from 0.64 to 0.71 on 129 held-out
# renders (`bench pictures --n 200 --size 64`, docs/history.md).
RELABEL_DRAWS = 8


def parse_op(text: str) -> tuple[str, list[str]]:
    name, _, rest = str(text).partition(":")
    if name not in OPS and name not in STROKES:
        raise BadInput(f"unknown operation {shown(name)}; one of move:X,Y,DX,DY, flip_h:X,Y, flip_v:X,Y, "
                       "resize:X,Y,SCALE, delete:X,Y, depth:X,Y,AMOUNT, sketch:X0,Y0,X1,Y1[,...], "
                       "erase:X0,Y0,X1,Y1[,...]")
    args = [a.strip() for a in rest.split(",")] if rest else []
    if name in STROKES:
        if len(args) % 2 or not 4 <= len(args) <= 2 * relief.MAX_POINTS:
            raise BadInput(f"{name} takes 2 to {relief.MAX_POINTS} points X,Y after the colon (an even count of "
                           f"numbers), not {len(args)} numbers")
    elif len(args) != OPS[name]:
        raise BadInput(f"{name} takes {OPS[name]} numbers after the colon, not {len(args)}")
    return name, args


@dataclass(frozen=True)
class Edited:
    """One operation's maps: the segmentation, and the depth or sketch when the operation changed
    them (None: kept); where the chain reruns from (`depth`, `sketch` or `image`); what was done."""

    segmentation: np.ndarray
    depth: np.ndarray | None
    sketch: np.ndarray | None
    rerun: str
    message: str


def apply_op(seg: np.ndarray, depth: np.ndarray | None, text: str, vocabulary=None) -> tuple[np.ndarray, str]:
    """One operation on a segmentation (in `vocabulary`'s classes, default the tiny world's) -> the
    edited one and a line saying what was done."""
    name, args = parse_op(text)
    if name == "depth" or name in STROKES:
        raise BadInput(f"{name} edits the {'depth' if name == 'depth' else 'sketch'} map: give the result's maps")
    return _mask_op(seg, depth, name, args, vocabulary)


def apply_edit(seg: np.ndarray, depth: np.ndarray | None, sketch: np.ndarray | None, text: str,
               vocabulary=None) -> Edited:
    """Any operation on a result's maps (segmentation, depth and sketch at the maps' size)."""
    name, args = parse_op(text)
    h, w = seg.shape
    if name in STROKES:
        if sketch is None:
            raise BadInput("this result has no sketch to draw on")
        pts = relief.points(args, (h, w))
        drawn = (relief.stroke if name == "sketch" else relief.erase)(sketch, pts)
        verb = "drew a stroke" if name == "sketch" else "erased along a stroke"
        changed = int(np.count_nonzero(drawn != np.asarray(sketch)))
        return Edited(seg, None, drawn, "image", f"{verb} of {len(pts)} points on the sketch ({changed} pixels)")
    if name == "depth":
        x, y = whole_number(args[0], "x", 0, w - 1), whole_number(args[1], "y", 0, h - 1)
        m = ed.Masks.from_segmentation(seg, depth, vocabulary)
        out = relief.redepth(m, ed.pick(m, x, y), args[2])
        return Edited(out.segmentation, out.depth, None, "sketch", out.message)
    out, line = _mask_op(seg, depth, name, args, vocabulary)
    return Edited(out, None, None, "depth", line)


def _mask_op(seg: np.ndarray, depth: np.ndarray | None, name: str, args: list[str], vocabulary
             ) -> tuple[np.ndarray, str]:
    h, w = seg.shape
    x, y = whole_number(args[0], "x", 0, w - 1), whole_number(args[1], "y", 0, h - 1)
    m = ed.Masks.from_segmentation(seg, depth, vocabulary)
    iid = ed.pick(m, x, y)
    label = m.label_of(iid)
    if name == "move":
        dx, dy = whole_number(args[2], "dx", -(w - 1), w - 1), whole_number(args[3], "dy", -(h - 1), h - 1)
        return ed.move(m, iid, dx, dy).segmentation, f"moved the {label} by ({dx}, {dy})"
    if name in ("flip_h", "flip_v"):
        axis = "horizontal" if name == "flip_h" else "vertical"
        return ed.flip(m, iid, axis).segmentation, f"flipped the {label} ({axis})"
    if name == "resize":
        scale = number(args[2], "the scale", 1 / ed.MAX_SCALE, ed.MAX_SCALE)
        return ed.resize(m, iid, scale).segmentation, f"resized the {label} by {scale:g}"
    return ed.delete(m, iid).segmentation, f"deleted the {label}"


def relabel(seg: np.ndarray, region: np.ndarray, label: str, graph: SceneGraph, redraw=None,
            vocabulary=None) -> np.ndarray:
    """`region` (S, S bool) of the segmentation made class `label`; with `redraw` (a thing), drawn
    again by the segmentation factor for `graph`. The new thing gets a box of its own class's size
    and aspect where the old one stood (on the same ground line: a bush is lower and wider than the
    tree it replaces), and the factor draws its shape in that box and a little room around the old
    shape (kept only if the factor drew enough of the new class; else it draws again, from other
    noise, up to RELABEL_DRAWS times, then keeps the old silhouette). Without a box of its own the
    new class kept the old silhouette, and a horse in a sheep's outline was read as a sheep.
    `vocabulary`: the map's classes; in another than the tiny world's (whose segmentation factor alone
    can redraw) the region takes the new class as it is."""
    if vocabulary is not None and vocabulary.name != "tiny":
        out = np.array(seg, copy=True)
        out[region] = vocabulary.position(label)
        return out
    tiny = vocabularies.load("tiny")
    out = np.array(seg, copy=True)
    out[region] = tiny.position(label)
    if redraw is None or tiny.is_stuff(label) or not region.any():
        return out
    from scipy import ndimage

    others = ~np.isin(seg, sorted(tiny.stuff_positions)) & ~region
    box = _new_box(seg, region, label) & ~others
    room = (ndimage.binary_dilation(region, iterations=RELABEL_ROOM) | box) & ~others
    start = _stuff_under(seg, room)
    start[box] = tiny.position(label)
    # Enough: the new class over 30 % of its box (or of the old thing, if that is smaller).
    where = box if box.any() else room
    enough = 0.3 * min(int(region.sum()), int(where.sum()))
    for seed in range(RELABEL_DRAWS):
        drawn = redraw(graph, start, room, seed)
        if (drawn[where] == tiny.position(label)).sum() >= enough:
            return drawn
    return out


def _new_box(seg: np.ndarray, region: np.ndarray, label: str) -> np.ndarray:
    """(S, S) bool: the box a thing of class `label` takes where the thing in `region` stands. A
    ground thing keeps its base line and centre and takes its class's real height at that distance
    (the world's perspective: heights scale alike on one ground line) and its class's aspect; a
    sky thing keeps its height and centre."""
    from ..world.shapes import ASPECT, REAL_HEIGHT

    ys, xs = np.nonzero(region)
    old = vocabularies.load("tiny").classes[int(np.bincount(seg[region]).argmax())]
    height = ys.max() - ys.min() + 1
    if old in REAL_HEIGHT and label in REAL_HEIGHT:
        height = height * REAL_HEIGHT[label] / REAL_HEIGHT[old]
    width = height * ASPECT.get(label, 1.0)
    n = seg.shape[0]
    cx = (xs.min() + xs.max() + 1) / 2
    if label in REAL_HEIGHT:  # stands on the ground: the same base line
        y1 = ys.max() + 1
        y0 = y1 - height
    else:
        cy = (ys.min() + ys.max() + 1) / 2
        y0, y1 = cy - height / 2, cy + height / 2
    x0, x1 = cx - width / 2, cx + width / 2
    box = np.zeros_like(region)
    r0, r1 = int(np.clip(round(y0), 0, n - 1)), int(np.clip(round(y1), 1, n))
    c0, c1 = int(np.clip(round(x0), 0, n - 1)), int(np.clip(round(x1), 1, n))
    box[r0:max(r1, r0 + 1), c0:max(c1, c0 + 1)] = True
    return box


def _stuff_under(seg: np.ndarray, where: np.ndarray) -> np.ndarray:
    """The segmentation with `where` filled by the nearest stuff outside it (what a thing stood on)."""
    from scipy import ndimage

    stuff = np.isin(seg, sorted(vocabularies.load("tiny").stuff_positions)) & ~where
    out = np.array(seg, copy=True)
    if not stuff.any():
        return out
    _, (iy, ix) = ndimage.distance_transform_edt(~stuff, return_indices=True)
    out[where] = seg[iy[where], ix[where]]
    return out


# --- graph edits ---------------------------------------------------------------------------------


def _attribute_changes(a, b, paints: bool = True) -> list[str]:
    """What a change of a node's attributes does, in words: a colour newly named on a colourable
    thing paints it (the tiny chain does it when the picture reruns, `reading.colours`; a backend
    told words, `paints` False, takes colours by concept edit instead); sizes and the colour of a
    thing the world does not paint are not applied."""
    out = []
    old, new = vocab.colour_of(a.attributes), vocab.colour_of(b.attributes)
    if new != old:
        if not paints:
            out.append(f"the {b.label}'s colour is changed by a concept edit on this backend "
                       f"(+{new or 'COLOUR'} {b.label},-{old or 'COLOUR'} {b.label}), not by the graph")
        elif new is None:
            out.append(f"the {b.label}'s colour is no longer named: it keeps the one it has")
        elif b.label in vocabularies.load("tiny").colourable:
            out.append(f"the {b.label} is painted {new} (where the picture does not show it {new} already)")
        else:
            out.append(f"a {b.label} has no colour of its own in the tiny world: {new} not applied")
    if {x for x in a.attributes if x in vocab.SIZES} != {x for x in b.attributes if x in vocab.SIZES}:
        out.append(f"the {b.label}'s size words are not applied: resize it in the mask")
    return out


def _align(old: SceneGraph, new: SceneGraph) -> list[int]:
    """For each new object, the old one it is, whatever the order: the same label first (in order
    among equals); the objects left on both sides then pair in order (relabels). Old objects
    nobody pairs with are deleted; a new object nobody pairs with would have to be added."""
    if len(new.objects) > len(old.objects):
        raise BadInput("the new graph has more objects than the picture's; a picture edit can change, "
                       "relabel or delete objects, not add them (paste one in the studio)")
    out: list[int | None] = [None] * len(new.objects)
    free = list(range(len(old.objects)))
    for j, obj in enumerate(new.objects):
        k = next((k for k in free if old.objects[k].label == obj.label), None)
        if k is not None:
            out[j] = k
            free.remove(k)
    left = [j for j, k in enumerate(out) if k is None]
    for j, k in zip(left, free):
        out[j] = k
    return [int(k) for k in out]


def _shifted(region: judge.Region, dx: int, dy: int, depth: np.ndarray | None,
             things: np.ndarray | None = None) -> judge.Region | None:
    """`region` moved by (dx, dy); None where a tenth of it would leave the map. With `things` (a
    piece of background moving): it shows only where they do not stand, and at least STUFF_SHOWN."""
    mask = ed._shift(region.mask, dx, dy)
    if mask.sum() < 0.9 * region.area:
        return None
    if things is not None:
        mask &= ~things
        if mask.sum() < STUFF_SHOWN * region.area:
            return None
    return judge.make_region(region.label, mask, depth)


def move_stuff(seg: np.ndarray, depth: np.ndarray | None, mask: np.ndarray, dx: int, dy: int,
               vocabulary=None) -> np.ndarray:
    """The piece of background `mask` of `seg` moved by (dx, dy): its old place takes the background
    around it, and it is drawn at the new place only over background, behind the things there."""
    v = vocabularies.or_tiny(vocabulary)
    m = ed.Masks.from_segmentation(seg, depth, v)
    cid = int(seg[mask][0])
    out, _ = ed._fill(m.segmentation, m.instances, mask, depth, v)
    out[ed._shift(mask, dx, dy) & np.isin(out, list(v.stuff_positions))] = cid
    return out


def _satisfied(regions: dict[int, judge.Region], relations: list[tuple[int, str, int]], shape) -> int:
    ok = 0
    for s, p, o in relations:
        if s in regions and o in regions and judge.holds(p, regions[s], regions[o], shape) is not False:
            ok += 1
    return ok


def riders(who: int, regions: dict[int, judge.Region], relations: list[tuple[int, str, int]],
           vocabulary=None) -> list[int]:
    """`who` and the things the graph puts on it (a person on a horse moves with the horse)."""
    v = vocabularies.or_tiny(vocabulary)
    on = [s for s, p, o in relations if p == "on" and o == who and s in regions and s != who
          and not v.is_stuff(regions[s].label)]
    return [who, *dict.fromkeys(on)]


def _best_shift(who: int, target: tuple[int, str, int], regions: dict[int, judge.Region],
                relations: list[tuple[int, str, int]], shape, depth, v) -> tuple[int, int, tuple[int, int]]:
    """The smallest shift of region `who` (and what rides on it) that makes `target` hold and keeps
    the most of its other relations -> (dx, dy, (target holds, relations holding)). A piece of
    background (a river, a mountain) moves behind the things, which it may not hide."""
    group = riders(who, regions, relations, v)
    mine = [r for r in relations if r[0] in group or r[2] in group]

    s, p, o = target

    def score(regs) -> tuple[int, int]:
        if s not in regs or o not in regs:
            return 0, _satisfied(regs, mine, shape)
        clear = p in judge.clear_predicates(regs[s], regs[o], shape) if p in CLEAR else True
        ok = clear and judge.holds(p, regs[s], regs[o], shape) is not False
        return int(ok), _satisfied(regs, mine, shape)

    best = (0, 0, score(regions))
    if best[2] == (1, len(mine)):
        return best
    # A thing on the ground moving up or down floats or sinks: a vertical pixel costs it twice.
    wy = 1 if regions[who].label in v.airborne else 2
    shifts = sorted(((dx, dy) for dx in range(-MAX_SHIFT, MAX_SHIFT + 1) for dy in range(-MAX_SHIFT, MAX_SHIFT + 1)),
                    key=lambda d: (d[0] ** 2 + (wy * d[1]) ** 2, abs(d[1]), d))
    # Things the moved one may not cover (it would hide them, and their relations with them).
    others = [r.mask for k, r in regions.items() if k not in group and not v.is_stuff(r.label)]
    blocked = np.logical_or.reduce(others) if others else np.zeros(shape, bool)
    behind = {k: blocked if v.is_stuff(regions[k].label) else None for k in group}

    def covers(moved) -> bool:
        if any(m is None or (m.mask & blocked).sum() > MAX_COVER * m.area for m in moved.values()):
            return True
        over = np.logical_or.reduce([m.mask for m in moved.values()])
        return any((over & o).sum() > MAX_COVERED * o.sum() for o in others)

    for dx, dy in shifts[1:]:
        moved = {k: _shifted(regions[k], dx, dy, depth, behind[k]) for k in group}
        if covers(moved):
            continue
        got = score({**regions, **moved})
        if got > best[2]:
            best = (dx, dy, got)
            if got == (1, len(mine)):
                break
    return best


def graph_edit(seg: np.ndarray, depth: np.ndarray | None, old: SceneGraph, new: SceneGraph,
               redraw=None, paints: bool = True, vocabulary=None) -> tuple[np.ndarray, list[str]]:
    """The segmentation edited so that it shows `new` where `old` showed before -> (segmentation,
    what was done, a line each). `redraw(graph, segmentation, region)`: a relabelled region drawn
    again as its new class by the backend's segmentation factor (`TinyBackend.redraw`); without it
    the region keeps its shape. `paints`: whether the backend paints a colour the graph names (the
    tiny one does; one told words takes colours by concept edit). `vocabulary`: the classes of the map
    and the graphs (default the tiny world's)."""
    v = vocabularies.or_tiny(vocabulary)
    unknown = [label for label in new.labels if v.position(label) is None]
    if unknown:
        world = "the tiny world" if v.name == "tiny" else v.name
        raise BadInput(f"{shown(unknown[0])} is not a class of {world}; map the graph's words first "
                       "(`python -m sgcond_app parse`)")
    pairing = _align(old, new)
    verdict = judge.judge(old.labels, old.triples(), seg, depth, vocabulary=v)
    region_of = {o.index: verdict.regions[o.region] for o in verdict.objects if o.region is not None}
    m = ed.Masks.from_segmentation(seg, depth, v)
    out = np.array(seg, copy=True)
    said: list[str] = []

    def instance_of(region: judge.Region) -> int:
        ys, xs = np.nonzero(region.mask)
        ids, counts = np.unique(m.instances[ys, xs], return_counts=True)
        return int(ids[np.argmax(counts)])

    kept = set(pairing)
    for k, obj in enumerate(old.objects):
        if k in kept or k not in region_of:
            continue
        if v.is_stuff(obj.label):
            said.append(f"the {obj.label} is background: deleting it from the graph leaves it in the picture")
            continue
        m = ed.delete(m, instance_of(region_of[k]))
        said.append(f"deleted the {obj.label}")
    out = m.segmentation.copy()
    for j, k in enumerate(pairing):
        a, b = old.objects[k], new.objects[j]
        if a.label != b.label:
            if k not in region_of:
                said.append(f"the {a.label} is not in the picture, so it cannot become a {b.label}")
                continue
            if v.is_stuff(a.label) != v.is_stuff(b.label):
                raise BadInput(f"{a.label} -> {b.label}: a thing can become another thing and stuff other "
                               "stuff, not one the other")
            out = relabel(out, region_of[k].mask & (out == v.position(a.label)), b.label, new, redraw, v)
            said.append(f"the {a.label} is now a {b.label}")
        if set(a.attributes) != set(b.attributes):
            said.extend(_attribute_changes(a, b, paints))

    # Relations: the new graph's, on the regions after deletions and relabels.
    shape = out.shape
    verdict = judge.judge(new.labels, new.triples(), out, depth, vocabulary=v)
    regions = {o.index: verdict.regions[o.region] for o in verdict.objects if o.region is not None}
    found = set(regions)
    rels = list(new.triples())
    failing = [r for r in rels if r[0] in regions and r[2] in regions
               and judge.holds(r[1], regions[r[0]], regions[r[2]], shape) is False]
    moved: set[int] = set()
    for s, p, o in failing:
        if s not in regions or o not in regions:
            continue  # an earlier move hid one of them; said below if the relation fails
        if judge.holds(p, regions[s], regions[o], shape) is not False:
            continue  # an earlier move already satisfied it
        stuff = {i: v.is_stuff(new.objects[i].label) for i in (s, o)}
        order = [i for i in (s, o) if not stuff[i] and i not in moved]
        if not order:
            said.append(f"'{new.objects[s].label} {p} {new.objects[o].label}' cannot be made to hold by moving "
                        "a thing (both are background, or already moved)")
            continue
        tries = [(who, *_best_shift(who, (s, p, o), regions, rels, shape, depth, v)) for who in order]
        if not any(t[3][0] for t in tries):
            # No place of the thing does it (a bus too long to pass a river at the map's edge): the
            # background it is asked about moves instead, behind the things.
            tries += [(who, *_best_shift(who, (s, p, o), regions, rels, shape, depth, v)) for who in (s, o)
                      if stuff[who] and who not in moved]
        who, dx, dy, _ = max(tries, key=lambda t: (t[3], -(t[1] ** 2 + t[2] ** 2)))
        if (dx, dy) == (0, 0):
            continue
        group = riders(who, regions, rels, v)
        for k in group:  # each by its own pixels, so that one moved first does not carry the other's
            if v.is_stuff(regions[k].label):
                out = move_stuff(out, depth, regions[k].mask, dx, dy, v)
                continue
            m = ed.Masks.from_segmentation(out, depth, v)
            ys, xs = np.nonzero(regions[k].mask)
            out = ed.move(m, int(np.bincount(m.instances[ys, xs]).argmax()), dx, dy).segmentation
        verdict = judge.judge(new.labels, new.triples(), out, depth, vocabulary=v)
        regions = {o.index: verdict.regions[o.region] for o in verdict.objects if o.region is not None}
        moved.update(group)
        names = " and the ".join(new.objects[k].label for k in group)
        said.append(f"moved the {names} by ({dx}, {dy}) map pixels")
    verdict = judge.judge(new.labels, new.triples(), out, depth, vocabulary=v)
    lost = sorted(set(found) - {o.index for o in verdict.objects if o.region is not None})
    for k in lost:
        said.append(f"after the moves the {new.objects[k].label} is no longer found on its own in the map "
                    f"(it ran into another {new.objects[k].label}, or was covered)")
    still = [r for r in verdict.relations if r.holds is False]
    for r in still:
        said.append(f"no place found where '{new.objects[r.subject].label} {r.predicate} "
                    f"{new.objects[r.object].label}' holds with the others")
    if not said:
        said.append("the picture already shows this graph; nothing to change")
    return out, said
