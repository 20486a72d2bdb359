"""Relabels and flips of read pictures under other edit settings: `python tools/edit_variants.py`.

The same edits as `bench pictures` (the largest thing relabelled as another of its kind; one
left/right or above/below relation of the derived graph turned around), on the first --n held-out
renders as 64 px JPEGs, for each of --redraws (draws of the edited region, the one the segmenter
reads closest to the edited map kept), --redraw-guidance (the segmentation factor's layout
guidance when a relabelled region is drawn again) and --relabel-draws (how many times a relabelled
thing's shape may be drawn until the new class fills enough of its box). It prints, per setting,
how many relabels the segmenter reads as the new class, how many flips hold on the picture, and
the median seconds of a flip's rerun. The figures are in docs/history.md; the chooser of
several redraws is the same segmenter that measures, so those counts are optimistic (the chooser
of relabel draws looks at the map alone).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="held-out renders (default 40)")
    parser.add_argument("--redraws", default="1,4", help="comma-separated draws per edit (default 1,4)")
    parser.add_argument("--redraw-guidance", default="2", help="comma-separated layout guidance of a "
                        "relabel's redraw (default 2, the chain's)")
    parser.add_argument("--relabel-draws", default="8", help="comma-separated draws of a relabelled thing's "
                        "shape (default 8, the chain's; 1: the first draw or the old outline)")
    args = parser.parse_args(argv)

    from sgcond_app.backends import get_backend
    from sgcond_app.bench.pictures import HELD_OUT_START, _flippable, _jpeg, _largest_thing, flip_edit, relabel_edit
    from sgcond_app.fgdm import chain as chain_module
    from sgcond_app.reading import edit as edit_module
    from sgcond_app.reading.load import decode
    from sgcond_app.training.data import held_out_samples

    backend = get_backend("tiny")
    segment = lambda picture: backend.chain.segmenter.segment(picture, size=64)  # noqa: E731
    settings = [(int(k), float(g), int(d)) for k in args.redraws.split(",") for g in args.redraw_guidance.split(",")
                for d in args.relabel_draws.split(",")]
    counts = {s: {"relabels": 0, "read": 0, "flips": 0, "hold": 0, "seconds": []} for s in settings}
    for k, sample in enumerate(held_out_samples(args.n, 64, HELD_OUT_START)):
        r = backend.read(decode(_jpeg(sample.image)))  # at its own size, as `bench pictures` reads it
        m, iid = _largest_thing(r.segmentation, r.depth)
        flip = _flippable(r.graph)
        for (redraws, guidance, draws), c in counts.items():
            chain_module.REDRAW_GUIDANCE = guidance
            edit_module.RELABEL_DRAWS = draws
            rr = dataclasses.replace(r, options=dataclasses.replace(r.options, redraws=redraws))
            if flip is not None:
                _seg, out, verdict, turned, _ = flip_edit(backend, rr, flip, segment)
                c["seconds"].append(out.seconds["total"])  # the rerun's own
                c["flips"] += 1
                c["hold"] += int(any((x.subject, x.predicate, x.object) == turned and x.holds is True
                                     for x in verdict.relations))
            read_as_new = relabel_edit(backend, rr, m, iid, k, segment) if iid is not None else None
            if read_as_new is not None:
                c["relabels"] += 1
                c["read"] += int(read_as_new)
    for (redraws, guidance, draws), c in counts.items():
        seconds = statistics.median(c["seconds"]) if c["seconds"] else float("nan")
        print(f"redraws {redraws}, redraw guidance {guidance:g}, relabel draws {draws}: relabels read as the "
              f"new class {c['read']}/{c['relabels']}; flips holding on the picture {c['hold']}/{c['flips']}; "
              f"a flip's rerun {seconds:.2f} s (median)")


if __name__ == "__main__":
    main()
