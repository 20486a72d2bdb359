"""The sd backend's seconds (`python -m sgcond_app bench sd [--tiny]`): generate (SBPC of the tiny
chain's maps, then Stable Diffusion 1.5 + three ControlNets), a mask edit and its rerun, a picture
read and inverted with LEDITS++, and one concept edit (`-CLASS`, the class taken away), each the
median of a few runs after a warm-up (and the picture read as a photo is, by the published extractors,
then edited: `photo_*`), with how much each edit changed the picture outside what the
backend redraws for it (the changed map region, grown, at the latents' resolution; mean absolute
change, 0..255), and inside the changed region against the unedited reconstruction.

Without `--tiny` it loads the real weights (ids from `SDSettings`: flags and `SGCOND_SD_*`) on the
GPU and measures at 512 px, 20 steps; without a GPU or the weights it says so in one line (exit 2).
With `--tiny` Stable Diffusion's parts are tiny random ones (`SDComponents.tiny_random`, 128 px) on
the CPU and the maps come from the shipped tiny chain: the seconds of the code path, not of a model.

Also runnable as `python -m sgcond_app.bench.sd [--tiny]` (the same figures).
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

GRAPH = "sky above grass; horse on grass; tree right of horse; cloud in sky"
STEPS = 20  # the picture's steps and the inversion's, as the issue measures them
REAL_SIZE = 512


def run(tiny: bool = False, samples: int = 8, repeats: int = 3, weights: str | None = None, chain=None,
        seed: int = 0, steps: int = STEPS, components=None) -> dict:
    """The figures. `chain`: a tiny chain (or TinyBackend) already built, instead of the shipped one;
    `steps`: the picture's and the inversion's (20 is what the issue measures; tests take fewer);
    `components`: Stable Diffusion's parts already built (`bench gpu`: random ones at full size)."""
    import torch

    from ..backends import Options
    from ..backends.sd import SDBackend, SDComponents, SDSettings
    from ..graph.parse import parse_text

    if components is not None:
        backend = SDBackend(components, chain, SDSettings(device=str(components.device), steps=steps, reader="tiny"),
                            weights=weights)
    elif tiny:
        backend = SDBackend(SDComponents.tiny_random(seed), chain, SDSettings(device="cpu", steps=steps, reader="tiny"),
                            weights=weights)
    else:
        settings = SDSettings.from_env(picture_size=REAL_SIZE, steps=steps, reader="tiny")
        backend = SDBackend.from_pretrained(settings, weights=weights)  # no GPU, no weights: one line
        if chain is not None:
            backend = SDBackend(backend.components, chain, settings)
    comps = backend.components
    cuda = str(comps.device).startswith("cuda")

    def timed(fn):
        if cuda:
            torch.cuda.synchronize()
        began = time.perf_counter()
        out = fn()
        if cuda:
            torch.cuda.synchronize()
        return out, time.perf_counter() - began

    def median(fn, n: int = repeats):
        runs = [timed(lambda k=k: fn(k)) for k in range(n)]
        return runs[-1][0], statistics.median(t for _, t in runs)

    graph = parse_text(GRAPH)
    options = Options(samples=samples)
    backend.generate(graph, seed, Options(samples=1))  # warm-up: first-call costs, not the model's
    result, generate_s = median(lambda k: backend.generate(graph, seed + k, options))

    # A mask edit: the largest thing taken away (filled with what is behind it), the picture rerun.
    edited, _ = _take_away(result.segmentation, result.depth, result.graph)
    rerun, rerun_s = median(lambda k: backend.rerun(result, edited))
    side = backend.picture_size // comps.vae_scale
    rerun_outside = _change_outside(result.image, rerun.image, result.segmentation != edited, side)

    # A picture from outside: the tiny world's render of the graph, read (by the tiny chain, reader "tiny":
    # the concept edit below takes away a tiny-world class) and inverted.
    picture = _render(graph, backend.picture_size, seed)
    read, read_s = median(lambda k: backend.read(picture, seed, Options(samples=1), "ddpm", steps))
    from ..backends.sd import ledits
    from ..backends.sd.backend import decode
    from ..results import psnr

    inv = ledits.Inversion.from_state(read.state)
    vae = decode(comps, torch.from_numpy(inv.x0).to(comps.device, comps.dtype))
    rebuilt, reconstruct_s = median(lambda k: backend.reconstruct(read))

    # A concept edit of the read picture: its largest thing class taken away (LEDITS++).
    import dataclasses

    from ..reading.concepts import parse_concepts, plan

    label = _largest_thing(read.segmentation)
    figures_steer: dict = {"steer_concept": f"-{label}" if label else "none"}
    if label is not None:
        p = plan(read.segmentation, read.depth, read.graph, parse_concepts(f"-{label}"))
        steered, steer_s = median(lambda k: backend.steer(dataclasses.replace(read, graph=p.graph),
                                                          p.segmentations, p.scales))
        changed = p.segmentations[-1] != read.segmentation
        figures_steer.update({"steer_seconds": steer_s,
                              "steer_change_outside": _change_outside(read.image, steered.image, changed, side),
                              "steer_change_inside": _change_inside(rebuilt, steered.image, changed)})
    figures_photo = _photo(backend, picture, seed, steps, median, tiny, components is not None)
    return {"device": str(comps.device), "tiny_random_parts": bool(tiny), "picture_size": backend.picture_size,
            "steps": steps, "samples": samples, "repeats": repeats, "generate_seconds": generate_s,
            "rerun_seconds": rerun_s, "rerun_change_outside": rerun_outside, "read_invert_seconds": read_s,
            "reconstruct_seconds": reconstruct_s, "reconstruction_psnr_vs_vae_db": psnr(rebuilt, vae),
            "vae_round_trip_psnr_db": psnr(vae, read.image), **figures_steer, **figures_photo}


def _photo(backend, picture: np.ndarray, seed: int, steps: int, median, tiny: bool, random_sizes: bool) -> dict:
    """The same picture read as a photo is (the published extractors: ADE20K maps, a graph in its
    words, the inversion), then one thing painted into its map and the picture rerun. The extractors
    are tiny random ones with `tiny`, random ones at their published sizes for `bench gpu`, else the
    settings' (downloaded)."""
    import dataclasses

    from ..backends import Options
    from ..backends.sd import SDBackend
    from ..backends.sd.extractors import Extractors

    device = str(backend.components.device)
    extractors = Extractors.tiny_random(seed) if tiny else Extractors.from_configs(device) if random_sizes else None
    photo = SDBackend(backend.components, backend.tiny, dataclasses.replace(backend.settings, reader="extractors"),
                      extractors=extractors)
    read, read_s = median(lambda k: photo.read(picture, seed, Options(samples=1), "ddpm", steps))
    v = read.vocab
    thing = next((k for k in range(len(v)) if not v.stuff[k] and k not in np.unique(read.segmentation)), None)
    edited = read.segmentation.copy()
    n = edited.shape[0]
    edited[n // 2:n // 2 + n // 6, n // 8:n // 8 + n // 4] = thing if thing is not None else edited[0, 0]
    _, edit_s = median(lambda k: photo.rerun(read, edited))
    return {"photo_vocabulary": read.vocabulary, "photo_objects": len(read.graph.objects),
            "photo_read_invert_seconds": read_s, "photo_edit_seconds": edit_s}


def _take_away(seg: np.ndarray, depth: np.ndarray, graph):
    """The segmentation with its largest thing taken away, as the concept plan does it."""
    from ..reading.concepts import parse_concepts, plan

    label = _largest_thing(seg)
    if label is None:
        edited = seg.copy()
        edited[: seg.shape[0] // 4, : seg.shape[1] // 4] = seg[0, -1]
        return edited, graph
    p = plan(seg, depth, graph, parse_concepts(f"-{label}"))
    return p.segmentations[-1], p.graph


def _largest_thing(seg: np.ndarray) -> str | None:
    from ..world import classes

    sizes = {classes.CLASS_NAMES[c]: int((seg == c).sum()) for c in np.unique(seg) if c < classes.NUM_CLASSES}
    things = {k: v for k, v in sizes.items() if not classes.is_stuff(k)}
    if not things or len(sizes) < 2:
        return None
    return max(things, key=things.get)


def _render(graph, size: int, seed: int) -> np.ndarray:
    from ..world.layout import render_graph

    return render_graph(graph, seed=seed, size=size).maps.image


def _redrawn(changed: np.ndarray, size: int, side: int) -> np.ndarray:
    """What the sd backend redraws for an edit that changed `changed` (S, S): the changed map region
    grown as the backend grows it, at the latents' resolution (`side`), at the picture's size."""
    from ..backends.sd.backend import CHANGE_DILATION, latent_mask
    from ..fgdm.inversion import grown

    region = grown(changed, CHANGE_DILATION)
    latent = latent_mask(region, side)
    return np.kron(latent, np.ones((size // side, size // side), bool))


def _change_outside(before: np.ndarray, after: np.ndarray, changed: np.ndarray, side: int) -> float:
    keep = ~_redrawn(changed, before.shape[0], side)
    diff = np.abs(before.astype(np.float64) - after.astype(np.float64)).mean(2)
    return float(diff[keep].mean()) if keep.any() else float("nan")


def _change_inside(before: np.ndarray, after: np.ndarray, changed: np.ndarray) -> float:
    k = before.shape[0] // changed.shape[0]
    inside = np.kron(changed, np.ones((k, k), bool))
    diff = np.abs(before.astype(np.float64) - after.astype(np.float64)).mean(2)
    return float(diff[inside].mean()) if inside.any() else float("nan")


def main(argv: list[str] | None = None) -> int:
    import argparse

    from ..errors import BadInput

    parser = argparse.ArgumentParser(prog="python -m sgcond_app.bench.sd", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="tiny random Stable Diffusion parts on the CPU")
    parser.add_argument("--samples", type=int, default=8, help="SBPC candidates")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each (the median is given)")
    args = parser.parse_args(argv)
    try:
        figures = run(args.tiny, max(1, min(args.samples, 32)), max(1, min(args.repeats, 20)))
    except BadInput as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for key, value in figures.items():
        print(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
