"""Pictures in (`bench pictures`): held-out renders, given as JPEG (quality 90) at --size, read by the
tiny backend (segmenter, depth and sketch factors, derived graph, edit-friendly inversion), then
edited. What is measured on the *edited picture* is read back by the segmenter, not taken from the
edited map. An edit draws its region again until the segmenter reads it as the edited map (each
thing as its class, the graph's relations about the edited things as on the map; `Options.tries`,
as the studio and the CLI do); flips and relabels are also measured drawn once.

- reconstruction: PSNR of the picture regenerated from its edit-friendly inversion alone (8 steps), and
  (on the first `ddim_n`) from DDIM inversions of 8, 16 and 32 steps; and (on those too) the read
  segmentation inverted under its own factor and regenerated: the share of its pixels given back,
  edit-friendly (8 steps) and DDIM (8, 16, 32);
- picture -> graph: the render's true graph judged on the read maps (object recall, relations), and
  the things the derived graph holds that the render's does not (per picture; pictures with one),
  also as the segmenter's map gives them before its slivers of things are filled (`read` fills them
  in a picture no larger than the maps);
- move: the largest thing moved 6 map pixels sideways, the way that keeps it whole and apart
  from others of its class (`move_with_room`; the share of moves that could be so is reported);
  where the segmenter finds it in the edited picture against where it was asked to go; change
  outside the old and new places;
- flip: one left/right or above/below relation of the derived graph turned around (between two
  things of different classes where there are two, else a thing's left/right of stuff), applied
  by the graph edit; whether it holds on the edited map and, read back, on the edited picture,
  and the others too; change outside the moved object's old and new places;
- relabel: the largest thing made another thing of its kind; whether the segmenter reads the new
  class there;
- recolour: the largest colourable thing given another colour word in the graph; whether the colour
  read off the edited picture (`reading.colours`, on the segmenter's region of its class) is the one
  asked, whether the segmenter still reads its class there, change outside its place;
- remove a concept: `-LABEL` for the largest thing's class (every region of it taken away, the
  picture steered away from it at the default scale); whether the segmenter still finds the class
  anywhere in the edited picture; change outside its old places;
- seconds: read + invert + one edit (the move).
"""

from __future__ import annotations

import dataclasses
import io
import statistics
import time
from collections import Counter

import numpy as np

from ..world import classes

HELD_OUT_START = 50_000  # past the held-out seeds the other benches use
GROW = 4  # map pixels around the changed places left out of "change outside"
MOVE = 6
KINDS = ({"dog", "sheep", "cow", "horse", "elephant"}, {"car", "bus", "truck"}, {"tree", "bush"},
         {"house", "building"}, {"bird", "kite"})
FLIPS = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}


def _jpeg(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _outside(before: np.ndarray, after: np.ndarray, places: np.ndarray) -> float:
    """Mean absolute change (0..255) of a picture outside `places` (map-sized bool), grown by GROW."""
    from scipy import ndimage

    grown = ndimage.binary_dilation(places, iterations=GROW) if places.any() else places
    k = before.shape[0] // places.shape[0]
    keep = ~np.kron(grown, np.ones((k, k), bool))
    return float(np.abs(before.astype(np.int16) - after.astype(np.int16))[keep].mean()) if keep.any() else 0.0


def _things(labels) -> Counter:
    return Counter(label for label in labels if not classes.is_stuff(label))


def _psnr(a, b) -> float:
    from ..results import psnr

    return psnr(a, b)


def _largest_thing(seg: np.ndarray, depth):
    from ..editing import masks as ed

    m = ed.Masks.from_segmentation(seg, depth)
    things = [(int(m.mask(i).sum()), i) for i in m.things()]
    return (m, max(things)[1]) if things else (m, None)


def move_with_room(m, iid):
    """The thing `iid` of masks `m` moved MOVE map pixels sideways, the way a person would move it:
    right, or left, whichever keeps it whole and apart (not cut off by the frame, not run into
    another thing of its class, which the segmenter would read as one with it), right when neither
    does. -> (dx, the edited masks, whether it stayed whole and apart). Cut off or run together, its
    centroid cannot land at the asked place whatever the picture does."""
    from scipy import ndimage

    from ..editing import masks as ed

    area = int(m.mask(iid).sum())

    def apart(moved) -> bool:
        mine = moved.mask(iid)
        if int(mine.sum()) != area:
            return False
        same, _ = ndimage.label(moved.segmentation == moved.segmentation[mine][0], np.ones((3, 3), bool))
        return bool((same == same[mine][0]).sum() == area)

    tries = [(dx, ed.move(m, iid, dx, 0)) for dx in (MOVE, -MOVE)]
    good = [(dx, moved) for dx, moved in tries if apart(moved)]
    return (*good[0], True) if good else (*tries[0], False)


def _flippable(g):
    """The relation a person would turn around: between two things first, else a thing's left/right
    of stuff (a thing cannot go above the sky or below the ground it stands on); not between two of
    the same class."""
    stuff = [classes.is_stuff(label) for label in g.labels]
    # Two of a kind turned around show the same picture (the judge cannot tell them apart): left out.
    rels = [t for t in g.triples() if t[1] in FLIPS and g.labels[t[0]] != g.labels[t[2]]]
    return next((t for t in rels if not stuff[t[0]] and not stuff[t[2]]),
                next((t for t in rels if t[1] in ("left of", "right of") and not (stuff[t[0]] and stuff[t[2]])), None))


def _once(r):
    """The read result `r` as one that draws an edited region once, unchecked (`Options.tries` 1)."""
    return dataclasses.replace(r, options=dataclasses.replace(r.options, tries=1))


def flip_edit(backend, r, flip, segment, once: bool = False):
    """`flip` (a relation of the read result `r`'s graph) turned around by the graph edit, and the
    edited picture read back. -> (the edited map, the rerun's result, its verdict read off the
    picture, the relation turned around, and with `once` the verdict read off the picture drawn
    once, unchecked; else None)."""
    from ..graph import judge
    from ..graph.scene_graph import SceneGraph
    from ..reading.edit import graph_edit

    g = r.graph
    turned = (flip[0], FLIPS[flip[1]], flip[2])
    new = SceneGraph.build([(o.label, o.attributes) for o in g.objects],
                           [turned if t == flip else t for t in g.triples()])
    seg, _said = graph_edit(r.segmentation, r.depth, g, new)

    def verdict(out):
        return judge.judge(new.labels, new.triples(), segment(out.image), out.depth)

    out = backend.rerun(dataclasses.replace(r, graph=new), seg)
    first = verdict(backend.rerun(dataclasses.replace(_once(r), graph=new), seg)) if once else None
    return seg, out, verdict(out), turned, first


def relabel_edit(backend, r, masks, iid, k: int, segment, once: bool = False):
    """The thing `iid` of `masks` (the read result `r`'s) made another thing of its kind (the k-th
    other, in turn) through the graph: whether the segmenter reads the new class in its new region
    of the edited picture (with `once`, a pair: and in the picture drawn once, unchecked); None when
    the thing has no kind or is not in the graph."""
    from ..graph.scene_graph import SceneGraph
    from ..reading.edit import graph_edit

    g = r.graph
    label = masks.label_of(iid)
    kind = next((kd for kd in KINDS if label in kd), None)
    index = next((o.index for o in r.verdict.objects if o.present and o.label == label), None)
    if kind is None or index is None:
        return None
    other = sorted(kind - {label})[k % (len(kind) - 1)]
    new = SceneGraph.build([(other if j == index else o.label, o.attributes) for j, o in enumerate(g.objects)],
                           g.triples())
    seg, _said = graph_edit(r.segmentation, r.depth, g, new, backend.redraw)
    region = (seg == classes.CLASS_ID[other]) & (r.segmentation != seg)

    def read_as_new(result) -> bool:
        out = backend.rerun(dataclasses.replace(result, graph=new), seg)
        return bool(region.any() and (segment(out.image)[region] == classes.CLASS_ID[other]).mean() > 0.5)

    return (read_as_new(r), read_as_new(_once(r))) if once else read_as_new(r)


def recolour_edit(backend, r, masks, segment, k: int):
    """The largest colourable thing of the read result `r` (its `masks`) given another colour through
    the graph (the k-th other, in turn, of the colour read on it). -> None when there is no such
    thing or its colour cannot be read; else (whether the colour read off the edited picture, on the
    segmenter's region of its class there, is the one asked; whether the segmenter still reads its
    class on its place, as much as on the picture before; change outside its place)."""
    from ..graph.scene_graph import SceneGraph
    from ..reading import colours

    things = sorted(((int(masks.mask(i).sum()), i) for i in masks.things() if masks.label_of(i) in classes.COLOURABLE),
                    reverse=True)
    if not things:
        return None
    iid = things[0][1]
    label, mask = masks.label_of(iid), masks.mask(iid)
    have = colours.read_colour(r.image, mask, label)
    index = next((o.index for o in r.verdict.objects if o.present and o.label == label
                  and (r.verdict.regions[o.region].mask & mask).any()), None)
    if have is None or index is None:
        return None
    want = [c for c in colours.NAMES if c != have][k % (len(colours.NAMES) - 1)]
    g = r.graph
    new = SceneGraph.build([(o.label, [*o.attributes, want] if j == index else o.attributes)
                            for j, o in enumerate(g.objects)], g.triples())
    out = backend.rerun(dataclasses.replace(r, graph=new), r.segmentation)
    cid = classes.CLASS_ID[label]
    before, after = segment(r.image), segment(out.image)
    read = colours.read_colour(out.image, after == cid, label) if (after == cid).any() else None
    kept = (after[mask] == cid).mean() >= min(0.5, (before[mask] == cid).mean())
    return read == want, bool(kept), _outside(r.image, out.image, mask)


def run(n: int = 200, size: int = 64, ddim_n: int = 30) -> dict:
    import torch

    from ..backends import get_backend
    from ..editing import masks as ed
    from ..fgdm import stages
    from ..fgdm.chain import Settings
    from ..graph import judge
    from ..reading.concepts import parse_concepts, plan
    from ..reading.derive import graph_from_maps
    from ..reading.load import decode, fit
    from ..training.data import held_out_samples

    torch.manual_seed(0)
    backend = get_backend("tiny")
    chain = backend.chain
    segment = lambda picture: chain.segmenter.segment(picture, size=64)  # noqa: E731
    psize = backend.capabilities.picture_size
    counts = dict.fromkeys(("objects", "found", "relations", "held", "moves", "moves_within_2px", "flips",
                            "flip_holds", "flip_others", "flip_others_held", "relabels", "relabel_read",
                            "removals", "removal_gone", "flip_holds_on_map", "moves_whole", "extra_things",
                            "pictures_with_extra", "pictures", "extra_things_unfilled",
                            "pictures_with_extra_unfilled", "recolours", "recolour_read", "recolour_kept",
                            "flip_holds_once", "relabel_read_once"), 0)
    rec_ddpm, rec_ddim = [], {8: [], 16: [], 32: []}
    seg_rec: dict[tuple[str, int], list[float]] = {("ddpm", 8): [], ("ddim", 8): [], ("ddim", 16): [], ("ddim", 32): []}
    move_err, move_out, flip_out, seconds, removal_out, recolour_out = [], [], [], [], [], []
    backend.read(np.zeros((psize, psize, 3), np.uint8))  # warm-up
    for k, sample in enumerate(held_out_samples(n, size, HELD_OUT_START)):
        source = decode(_jpeg(sample.image))
        picture = fit(source, psize)
        start = time.perf_counter()
        r = backend.read(source)  # as `read` and the studio give it: at its own size
        read_seconds = time.perf_counter() - start
        # Picture -> graph: the render's own graph judged on the maps read off the picture.
        v = judge.judge(sample.graph.labels, sample.graph.triples(), r.segmentation, r.depth)
        counts["objects"] += len(v.objects)
        counts["found"] += sum(o.present for o in v.objects)
        judged = [x for x in v.relations if x.holds is not None]
        counts["relations"] += len(judged)
        counts["held"] += sum(x.holds for x in judged)
        # Things the derived graph holds that the render's does not (per class, counted); and so
        # without filling the segmenter's slivers of things (what `read` gave before it filled them).
        extra = sum((_things(r.graph.labels) - _things(sample.graph.labels)).values())
        unfilled, _ = graph_from_maps(stages.clean_segmentation(segment(picture), Settings().clean_pixels))
        extra_unfilled = sum((_things(unfilled.labels) - _things(sample.graph.labels)).values())
        counts["extra_things"] += extra
        counts["pictures_with_extra"] += int(extra > 0)
        counts["extra_things_unfilled"] += extra_unfilled
        counts["pictures_with_extra_unfilled"] += int(extra_unfilled > 0)
        counts["pictures"] += 1
        # Move the largest thing sideways.
        m, iid = _largest_thing(r.segmentation, r.depth)
        if iid is not None:
            cx, cy = ed.centroid(m, iid)
            dx, moved, whole = move_with_room(m, iid)
            counts["moves_whole"] += int(whole)
            start = time.perf_counter()
            r2 = backend.rerun(r, moved.segmentation)
            seconds.append(read_seconds + time.perf_counter() - start)
            label = m.label_of(iid)
            seen = judge.extract_regions(segment(r2.image))
            mine = [g for g in seen if g.label == label]
            counts["moves"] += 1
            if mine:
                err = min(np.hypot(g.centroid[0] - (cx + dx), g.centroid[1] - cy) for g in mine)
                move_err.append(float(err))
                counts["moves_within_2px"] += int(err <= 2.0)
            places = m.mask(iid) | moved.mask(iid)
            move_out.append(_outside(picture, r2.image, places))
        rec_ddpm.append(_psnr(backend.reconstruct(r), picture))
        if k < ddim_n:
            for steps in rec_ddim:
                rec_ddim[steps].append(_psnr(backend.reconstruct(backend.invert(r, "ddim", steps)), picture))
            for kind, steps in seg_rec:
                inv = chain.invert_segmentation(r.graph, r.segmentation, kind, steps)
                back = chain.regenerate_segmentation(r.graph, r.segmentation, inv)
                seg_rec[kind, steps].append(float((back == r.segmentation).mean()))
        # Flip one left/right or above/below relation of the derived graph.
        g = r.graph
        flip = _flippable(g)
        if flip is not None:
            seg, r3, v3, turned, v3_once = flip_edit(backend, r, flip, segment, once=True)
            planned = judge.judge(r3.graph.labels, r3.graph.triples(), seg, r.depth).relations
            counts["flip_holds_on_map"] += int(any((x.subject, x.predicate, x.object) == turned and x.holds is True
                                                   for x in planned))
            target = next(x for x in v3.relations if (x.subject, x.predicate, x.object) == turned)
            counts["flips"] += 1
            counts["flip_holds"] += int(target.holds is True)
            counts["flip_holds_once"] += int(any((x.subject, x.predicate, x.object) == turned and x.holds is True
                                                 for x in v3_once.relations))
            others = [x for x in v3.relations if x is not target and x.holds is not None]
            counts["flip_others"] += len(others)
            counts["flip_others_held"] += sum(x.holds for x in others)
            flip_out.append(_outside(picture, r3.image, seg != r.segmentation))
        # Relabel the largest thing as another of its kind.
        if iid is not None:
            label = m.label_of(iid)
            read_as_new = relabel_edit(backend, r, m, iid, k, segment, once=True)
            if read_as_new is not None:
                counts["relabels"] += 1
                counts["relabel_read"] += int(read_as_new[0])
                counts["relabel_read_once"] += int(read_as_new[1])

            # Give the largest colourable thing another colour through the graph.
            painted = recolour_edit(backend, r, m, segment, k)
            if painted is not None:
                counts["recolours"] += 1
                counts["recolour_read"] += int(painted[0])
                counts["recolour_kept"] += int(painted[1])
                recolour_out.append(painted[2])

            # Take the class away by concept.
            taken = plan(r.segmentation, r.depth, g, parse_concepts(f"-{label}"))
            r5 = backend.steer(dataclasses.replace(r, graph=taken.graph), taken.segmentations, taken.scales)
            counts["removals"] += 1
            counts["removal_gone"] += int(not any(x.label == label for x in judge.extract_regions(segment(r5.image))))
            removal_out.append(_outside(picture, r5.image, r.segmentation == classes.CLASS_ID[label]))

    def share(a: str, b: str) -> float | None:
        return round(counts[a] / counts[b], 4) if counts[b] else None

    return {
        "renders": n, "jpeg_size": size, "picture_size": psize,
        "reconstruction_psnr_ddpm_db_min": round(min(rec_ddpm), 2),
        "reconstruction_psnr_ddpm_db_mean": round(statistics.mean(rec_ddpm), 2),
        **{f"reconstruction_psnr_ddim_{s}_db_mean": round(statistics.mean(v), 2) for s, v in rec_ddim.items() if v},
        **{f"segmentation_inversion_{kind}_{steps}_pixels_back_mean": round(statistics.mean(v), 4)
           for (kind, steps), v in seg_rec.items() if v},
        "ddim_renders": min(n, ddim_n),
        "graph_object_recall": share("found", "objects"),
        "graph_relation_agreement": share("held", "relations"),
        "graph_extra_things_per_picture": share("extra_things", "pictures"),
        "graph_pictures_with_an_extra_thing": share("pictures_with_extra", "pictures"),
        "graph_extra_things_per_picture_slivers_kept": share("extra_things_unfilled", "pictures"),
        "graph_pictures_with_an_extra_thing_slivers_kept": share("pictures_with_extra_unfilled", "pictures"),
        "moves": counts["moves"],
        "move_found_within_2px": share("moves_within_2px", "moves"),
        "moves_whole_and_apart": share("moves_whole", "moves"),
        "move_centroid_error_px_median": round(statistics.median(move_err), 3) if move_err else None,
        "move_change_outside_mean": round(statistics.mean(move_out), 3) if move_out else None,
        "flips": counts["flips"],
        "flip_relation_holds_on_edited_map": share("flip_holds_on_map", "flips"),
        "flip_relation_holds": share("flip_holds", "flips"),
        "flip_relation_holds_drawn_once": share("flip_holds_once", "flips"),
        "flip_other_relations_hold": share("flip_others_held", "flip_others"),
        "flip_change_outside_mean": round(statistics.mean(flip_out), 3) if flip_out else None,
        "relabels": counts["relabels"],
        "relabel_read_as_new_class": share("relabel_read", "relabels"),
        "relabel_read_as_new_class_drawn_once": share("relabel_read_once", "relabels"),
        "recolours": counts["recolours"],
        "recolour_read_as_new_colour": share("recolour_read", "recolours"),
        "recolour_class_kept": share("recolour_kept", "recolours"),
        "recolour_change_outside_mean": round(statistics.mean(recolour_out), 3) if recolour_out else None,
        "removals": counts["removals"],
        "removal_class_gone": share("removal_gone", "removals"),
        "removal_change_outside_mean": round(statistics.mean(removal_out), 3) if removal_out else None,
        "read_invert_edit_seconds_median": round(statistics.median(seconds), 3) if seconds else None,
    }
