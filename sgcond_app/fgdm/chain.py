"""The chain: graph -> N segmentations -> SBPC -> depth, sketch, image; and reruns after an edit.

Sampling-based prompt compliance (FG-DM): N segmentations (one per seed) are sampled together
with their depth maps (at 32 px, cheap), each is judged against the graph (object recall first, then
relation accuracy), and only the best goes through the sketch and image factors. Every candidate
and its score stay in the result. A result also keeps the seeds and the low-resolution maps, so
`rerun` can take an edited map and run only the factors after it with the same noise.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import inputs
from ..errors import BadInput
from ..graph import judge, vocab, vocabularies
from ..graph.scene_graph import SceneGraph
from ..models.denoiser import FactorDenoiser
from ..models.graph_encoder import image_tensor
from ..models.pretrained import from_pretrained, model_vocabulary
from ..models.shipped import WEIGHTS, load_encoder, load_segmenter
from . import stages
from .factors import FACTORS, SEG_SIZE, image_from_tensor, onehot, picture_conditions
from .inversion import DEFAULT_STEPS as INVERSION_STEPS
from .inversion import Inverted, grown, invert, recolour, regenerate, soft_mask, steer, transplants
from .sampler import Guided

MAX_SAMPLES = 32
LEGIBLE_AREA = 40  # pixels of a 64x64 map
MAX_STEPS = 100
# SBPC: a thing the graph did not ask for costs a candidate as much as a quarter of its relations.
EXTRA_PENALTY = 0.25
MAX_CONCEPT_STAGES = 8
MAX_CONCEPT_SCALE = 5.0
REDRAWS = 1
# A region of a segmentation drawn again (a relabel) follows its layout box with guidance 2: on 23
# relabels of held-out renders the new class was read in 16 with it, 14 with 1 and 13 with 3 (3
# overfills the box; `tools/edit_variants.py`).
REDRAW_GUIDANCE = 2.0
MAX_REDRAWS = 8
# An edit of an inverted picture is read back by the segmenter; while a thing of the edited map is
# not read as its class on its changed pixels, the region is drawn again from other noise, up to
# this many draws in all. Measured by `bench pictures` (relabels and flips, drawn once and checked;
# docs/history.md). It costs more only where the first draw fails.
TRIES = 4
MAX_TRIES = 8
READ_AS_MAP = 0.5  # of a thing's changed pixels the segmenter must read as its class
MIN_CHECKED = 8  # pixels of a thing in the changed region below which it is not checked
# A generated picture is read back by the segmenter and judged against the graph as its map was;
# where it loses what the map holds (a thing not read, a relation that held on the map fails on the
# picture), it is drawn again from other noise on the same maps, up to this many draws in all, and
# the draw judged best is kept. On outside.json at N = 8 the best of 1, 2, 3 and 5 draws kept
# object recall 0.86, 0.89, 0.91 and 0.93 of the pictures against the maps' 0.95 (docs/history.md).
# With the image drawn in 6 DPM-Solver++ steps (2026-12-07), outside.json's pictures kept recall
# 0.875 / relations 0.731 with up to 3 draws, 0.898 / 0.779 with 5 (1.9 draws a graph) and the same
# with 8 (2.5 draws): 5 is the default.
PICTURE_DRAWS = 5
# A generated picture whose graph names colours is painted from its own inversion (`_recolour`): this
# many steps of the edit-friendly inversion and as many of the regeneration.
PAINT_STEPS = INVERSION_STEPS
MAX_PICTURE_DRAWS = 8
# Judging jitters of the layout changed nothing downstream: over 336 (graph, seed) pairs of the three
# graph files people wrote, 1 and 8 tries gave the chosen map recall 0.946 and 0.947, relations 0.873
# and 0.876 (docs/history.md): the segmentation factor, not the layout, loses what is lost.
LAYOUT_TRIES = 1
MAX_LAYOUT_TRIES = 64
# SBPC draws N maps; while none of them obeys the graph wholly, N more from the next seeds, up to
# this many rounds. At N = 8 on outside.json, 1 and 3 rounds gave the chosen map recall 0.941 and
# 0.965, relations 0.846 and 0.923, scenes with a thing not asked for 22.5 % and 10 % (docs/history.md,
# 2026-12-07): the segmentation factor, not the layout, loses what is lost, and another draw finds it.
MAP_DRAWS = 3
MAX_MAP_DRAWS = 8
# Where every draw of the chosen candidate's picture loses what its map holds, the next best
# candidates whose maps hold as many objects are drawn too (depth, sketch and up to `picture_draws`
# pictures each), up to this many candidates in all, and the picture judged best of all is kept.
PICTURE_CANDIDATES = 2
MAX_PICTURE_CANDIDATES = 8
DRAW_STRIDE = 1_000_003  # a redraw's noise: the image factor's seed offset moved by this (a prime)


# Guidance 2 on the image factor: the segmenter's reading of the image agreed with the map it was
# conditioned on at 0.67 mIoU without guidance and 0.74 with it (docs/history.md).
GUIDANCE = {**{f: 1.0 for f in FACTORS}, "image": 2.0}


@dataclass
class Settings:
    samples: int = 8
    steps: dict[str, int] = field(default_factory=lambda: dict(stages.DEFAULT_STEPS))
    guidance: dict[str, float] = field(default_factory=lambda: dict(GUIDANCE))
    # "": each factor's own (`stages.DEFAULT_SCHEDULERS`: DPM-Solver++ for the image, DDIM for the
    # maps); "ddim" or "dpm": that one for every factor.
    scheduler: str = ""
    jitter: float = 1.0  # how much each seed moves the encoder's boxes (0: all seeds share them)
    clean_pixels: int = 8  # islands of a sampled segmentation smaller than this are filled
    # The segmentation factor samples only stuff and the thing classes the graph names (a render
    # of the world shows no thing its graph does not name); False: every class (docs/history.md).
    only_named: bool = True
    # Per factor, added to the seed its noise is drawn from: another image for the same maps, say.
    seed_offsets: dict[str, int] = field(default_factory=lambda: {f: 0 for f in FACTORS})
    # An edit of an inverted picture draws its changed region this many times, from different
    # noise, and keeps the draw the segmenter reads closest to the edited map (docs/history.md).
    redraws: int = REDRAWS
    # ... and draws it again, from other noise, until the segmenter reads each thing of the edited
    # map as its class there, at most this many times in all (1: once, unchecked).
    tries: int = TRIES
    # A thing the graph names with a colour (red car) is painted it where the picture does not
    # show it (`Chain._recolour`; the image factor is not told colours). False: left as drawn.
    paint: bool = True
    # A generated picture that loses what its map holds (read back by the segmenter) is drawn again
    # from other noise, up to this many draws in all (1: drawn once, unchecked); the kept draw's
    # noise becomes the image factor's seed offset, so a rerun starts from it.
    picture_draws: int = PICTURE_DRAWS
    # Placement: each candidate's layout is the best of up to this many jitters of its seed's boxes,
    # judged against the graph as a map (`stages.graph_conditions`; 1, the default: the first jitter).
    layout_tries: int = LAYOUT_TRIES
    # Each layout is mended where, drawn, it breaks the graph (a cow's box outside its fence's, a boat
    # off the water): small moves of boxes kept where the drawn layout judges better
    # (`stages.mend_layout`). False: the encoder's boxes as jittered.
    mend_layout: bool = True
    # While none of the N maps drawn obeys the graph wholly, N more are drawn from the next seeds, up
    # to this many rounds; the N best are kept (`Chain.candidates`; 1: N maps, as drawn).
    map_draws: int = MAP_DRAWS
    # Where no draw of the chosen candidate's picture keeps what its map holds, the next best candidates
    # whose maps hold as many objects are drawn as well, up to this many in all (1: the chosen one alone).
    picture_candidates: int = PICTURE_CANDIDATES

    def scheduler_of(self, factor: str) -> str:
        return self.scheduler or stages.DEFAULT_SCHEDULERS[factor]

    def seeds(self, factor: str, seeds: list[int]) -> list[int]:
        return [s + int(self.seed_offsets.get(factor, 0)) for s in seeds]

    def check(self) -> None:
        if not 1 <= self.samples <= MAX_SAMPLES:
            raise BadInput(f"samples must be between 1 and {MAX_SAMPLES}")
        for f, k in self.steps.items():
            if f not in FACTORS or not 1 <= int(k) <= MAX_STEPS:
                raise BadInput(f"steps for {f}: must be a factor name and 1..{MAX_STEPS}")
        for f, g in self.guidance.items():
            if f not in FACTORS or not 0.0 <= float(g) <= 20.0:
                raise BadInput(f"guidance for {f}: must be a factor name and 0..20")
        if any(f not in FACTORS for f in self.seed_offsets):
            raise BadInput(f"seed offsets: factors are {', '.join(FACTORS)}")
        if not isinstance(self.redraws, int) or not 1 <= self.redraws <= MAX_REDRAWS:
            raise BadInput(f"redraws must be a whole number from 1 to {MAX_REDRAWS}")
        if not isinstance(self.tries, int) or not 1 <= self.tries <= MAX_TRIES:
            raise BadInput(f"tries must be a whole number from 1 to {MAX_TRIES}")
        if not isinstance(self.layout_tries, int) or not 1 <= self.layout_tries <= MAX_LAYOUT_TRIES:
            raise BadInput(f"layout tries must be a whole number from 1 to {MAX_LAYOUT_TRIES}")
        if not isinstance(self.map_draws, int) or not 1 <= self.map_draws <= MAX_MAP_DRAWS:
            raise BadInput(f"map draws must be a whole number from 1 to {MAX_MAP_DRAWS}")
        if not isinstance(self.picture_draws, int) or not 1 <= self.picture_draws <= MAX_PICTURE_DRAWS:
            raise BadInput(f"picture draws must be a whole number from 1 to {MAX_PICTURE_DRAWS}")
        if (not isinstance(self.picture_candidates, int)
                or not 1 <= self.picture_candidates <= MAX_PICTURE_CANDIDATES):
            raise BadInput(f"picture candidates must be a whole number from 1 to {MAX_PICTURE_CANDIDATES}")
        if self.scheduler not in ("", *stages.SCHEDULERS):
            raise BadInput("scheduler must be ddim or dpm (or empty: each factor's own)")


@dataclass
class Candidate:
    seed: int
    segmentation: np.ndarray  # (64, 64) class ids
    depth: np.ndarray | None  # (64, 64) disparity (upsampled from 32); None: not sampled (no depth relation)
    verdict: judge.Verdict

    @property
    def legibility(self) -> int:
        """The area in pixels of the smallest object found, capped at LEGIBLE_AREA: among equally
        compliant candidates, one whose objects are all large enough to be drawn clearly is safer."""
        areas = [self.verdict.regions[o.region].area for o in self.verdict.objects if o.region is not None]
        return min([LEGIBLE_AREA, *areas])

    @property
    def score(self) -> tuple[float, float, int]:
        """Object recall; then relation accuracy less EXTRA_PENALTY for each thing nobody asked for;
        then legibility."""
        v = self.verdict
        recall, relations = v.compliance
        return (recall, relations - EXTRA_PENALTY * len(v.extras), self.legibility)


@dataclass
class Result:
    graph: SceneGraph  # in the words of the chain's vocabulary
    seed: int
    settings: Settings
    candidates: list[Candidate]
    chosen: int
    depth32: torch.Tensor  # (32, 32) the depth factor's output, which the later factors saw
    segmentation: np.ndarray  # (64, 64) class ids
    depth: np.ndarray  # (64, 64) disparity in [0, 1]
    sketch: np.ndarray  # (64, 64) uint8
    image: np.ndarray  # (64, 64, 3) uint8
    verdict: judge.Verdict  # of the chosen segmentation with its depth
    seconds: dict[str, float]
    # A picture read in (or inverted): an edit regenerates only where the maps changed, from its noise.
    inverted: Inverted | None = None
    # What a check after the run found that the person should know, a line each (an edit whose
    # redrawn region the segmenter did not read as the edited map in any draw).
    notes: tuple[str, ...] = ()
    # A picture read in: the segmenter's confidence in each object of the derived graph (by index).
    confidence: tuple[float, ...] = ()
    # The picture read back by the segmenter, at the maps' size (class ids), and the judge's verdict
    # on that reading (with the result's depth); None: not read (a chain without a segmenter).
    picture_reading: np.ndarray | None = None
    picture_verdict: judge.Verdict | None = None
    picture_draws: int = 1  # how many times the picture was drawn (`Settings.picture_draws`)

    @property
    def factor_seed(self) -> int:
        return self.candidates[self.chosen].seed


Progress = Callable[[str, int, int], None]  # (factor, step, steps)
# (factor, map) as each factor's output is ready: the chosen segmentation (64, 64) class ids, its
# depth (64, 64) in [0, 1], the sketch (64, 64) uint8; the image comes with the result.
MapReady = Callable[[str, np.ndarray], None]


class Chain:
    """The tiny backend's chain, built from its models in memory: the graph encoder and its word
    table, the four factors and the segmenter (which reads pictures back). `Chain.from_pretrained`
    loads them from a weights folder (the shipped one by default), as a diffusers pipeline does."""

    def __init__(self, encoder, words, factors: dict[str, FactorDenoiser], segmenter=None,
                 device: str = "cpu", vocabulary: vocabularies.Vocabulary | None = None) -> None:
        missing = [f for f in FACTORS if f not in factors]
        if missing:
            raise ValueError(f"the chain needs every factor; missing: {', '.join(missing)}")
        self.encoder, self.words, self.factors, self.segmenter = encoder, words, dict(factors), segmenter
        self.device = device
        # The image stage (`stages.image`'s signature); a server replaces it with one that batches
        # the pictures of several requests into one forward pass (`backends/serve.py`).
        self.image_sampler = stages.image
        # The classes its maps hold and its graphs name (the tiny world's, or a dataset's, which is
        # made known by name to the process that loads the chain: its results are judged and shown in it).
        self.vocabulary = vocabularies.register(vocabularies.or_tiny(vocabulary))
        n = len(self.vocabulary)
        shapes = {name: m.config.cond_channels[0] for name, m in self.factors.items()}
        shapes["segmentation (drawn)"] = self.factors["segmentation"].config.out_channels
        if segmenter is not None:
            shapes["segmenter"] = segmenter.config.num_classes
        wrong = {k: v for k, v in shapes.items() if v != n}
        if wrong:
            raise ValueError(f"the {self.vocabulary.name} vocabulary has {n} classes, but "
                             + ", ".join(f"the {k} {v}" for k, v in wrong.items()))

    @classmethod
    def from_pretrained(cls, weights: str | Path | None = None, device: str = "cpu") -> Chain:
        root = Path(weights) if weights else WEIGHTS
        encoder, words = load_encoder(root / "encoder", device)
        segmenter = load_segmenter(root / "segmenter", device)
        factors: dict[str, FactorDenoiser] = {}
        for name in FACTORS:
            path = root / "factors" / name
            if not (path / "config.json").is_file():
                raise BadInput(f"no weights for the {name} factor in {path}: train them with "
                               f"`python -m sgcond_app train factors --export {root / 'factors'}`")
            factors[name] = from_pretrained(path, FactorDenoiser, device)
        folders = [root / "factors" / name for name in FACTORS] + [root / "segmenter"]
        found = {str(f): model_vocabulary(f) for f in folders if (f / "config.json").is_file()}
        names = sorted({v.name for v in found.values()})
        if len(names) > 1:
            raise BadInput(f"{root}: its models were trained on different vocabularies ({', '.join(names)}): "
                           "a chain's factors and segmenter share one")
        vocabulary = next(iter(found.values()))
        try:
            return cls(encoder, words, factors, segmenter, device, vocabulary)
        except ValueError as e:
            raise BadInput(f"{root}: {e}") from None

    def _verdict(self, graph: SceneGraph, segmentation: np.ndarray,
                 depth: np.ndarray | None = None) -> judge.Verdict:
        """The judge's verdict on a map in this chain's vocabulary."""
        return judge.judge(graph.labels, graph.triples(), segmentation, depth, vocabulary=self.vocabulary)

    # --- the stages, timed ---------------------------------------------------------------------

    def _progress(self, on_step: Progress | None, name: str):
        return (lambda i, n: on_step(name, i, n)) if on_step else None

    def candidates(self, graph: SceneGraph, seed: int, s: Settings, seconds: dict,
                   on_step: Progress | None = None) -> tuple[list[Candidate], torch.Tensor, torch.Tensor | None]:
        """N segmentations, judged. Their depth maps (N at once) only when a relation of the graph is
        about depth; otherwise depth waits for the chosen one (the same noise: the same map). While
        none of those drawn obeys the graph wholly (every object, every relation, nothing it did not
        ask for), N more are drawn from the next N seeds, up to `map_draws` rounds in all, and the N
        best of all drawn are kept, in the order they were drawn."""
        n = s.samples
        allowed = stages.named_classes(graph.labels, self.vocabulary) if s.only_named else None
        depth_relation = any(r.predicate in vocab.DEPTH_PREDICATES for r in graph.relations)
        cands: list[Candidate] = []
        segs, disps = [], []
        for key in ("segmentation", "judge", *(("depth",) if depth_relation else ())):
            seconds[key] = 0.0
        for round_ in range(s.map_draws):
            seeds = [seed + round_ * n + k for k in range(n)]
            start = time.perf_counter()
            seg_seeds = s.seeds("segmentation", seeds)
            tokens, pad, layouts = stages.graph_conditions(self.encoder, self.words, graph, seg_seeds, s.jitter,
                                                           self.vocabulary, s.layout_tries, s.mend_layout)
            seg = stages.segmentation(self.factors["segmentation"], tokens, pad, layouts, seg_seeds,
                                      s.steps["segmentation"], s.guidance["segmentation"],
                                      s.scheduler_of("segmentation"), self._progress(on_step, "segmentation"),
                                      allowed)
            if s.clean_pixels > 1:
                seg = torch.from_numpy(np.stack([stages.clean_segmentation(m, s.clean_pixels) for m in seg.numpy()]))
            seconds["segmentation"] += time.perf_counter() - start
            disp = None
            if depth_relation:
                # A depth relation: every candidate needs its depth to be judged.
                took = {}
                disp = self.sample_depth(seg, s.seeds("depth", seeds), s, took, on_step)
                seconds["depth"] += took["depth"]
                disps.append(disp)
            start = time.perf_counter()
            seg64 = seg.to(torch.uint8).numpy()
            depth64 = [None] * n if disp is None else stages.to_image_size(seg, disp)[1]
            drawn = [Candidate(sd, seg64[k], depth64[k], self._verdict(graph, seg64[k], depth64[k]))
                     for k, sd in enumerate(seeds)]
            seconds["judge"] += time.perf_counter() - start
            cands += drawn
            segs.append(seg)
            if any(c.score[:2] == stages.PERFECT for c in drawn):  # nothing missing, wrong or unasked
                break
        seg = torch.cat(segs)
        disp = torch.cat(disps) if disps else None
        if len(cands) > n:
            keep = sorted(ranked(cands)[:n])
            cands, seg = [cands[k] for k in keep], seg[keep]
            disp = None if disp is None else disp[keep]
        return cands, seg, disp

    def sample_depth(self, seg: torch.Tensor, seeds: list[int], s: Settings, seconds: dict,
                     on_step: Progress | None) -> torch.Tensor:
        """seg (B, 64, 64) class ids -> disparity (B, 32, 32), the depth factor's (timed: seconds["depth"])."""
        start = time.perf_counter()
        disp = stages.depth(self.factors["depth"], seg.long(), seeds, s.steps["depth"], s.guidance["depth"],
                            s.scheduler_of("depth"), self._progress(on_step, "depth"))
        seconds["depth"] = time.perf_counter() - start
        return disp

    def sample_sketch(self, seg: torch.Tensor, disp: torch.Tensor, seeds: list[int], s: Settings, seconds: dict,
                      on_step: Progress | None) -> torch.Tensor:
        """seg (B, 64, 64) and disparity (B, 32, 32) -> the sketch (B, 64, 64) uint8, the sketch factor's
        (timed: seconds["sketch"])."""
        start = time.perf_counter()
        edges = stages.sketch(self.factors["sketch"], seg, disp, seeds, s.steps["sketch"], s.guidance["sketch"],
                              s.scheduler_of("sketch"), self._progress(on_step, "sketch"))
        seconds["sketch"] = time.perf_counter() - start
        return edges

    def finish(self, graph: SceneGraph, seed: int, s: Settings, cands: list[Candidate], chosen: int,
               seg64: torch.Tensor, depth32: torch.Tensor, seconds: dict, on_step: Progress | None = None,
               sketch: np.ndarray | None = None, on_map: MapReady | None = None,
               inverted: Inverted | None = None, depth_map: np.ndarray | None = None,
               edited: tuple[bool, bool] = (False, False)) -> Result:
        """Sketch (unless given) and image for one segmentation (64, 64) and depth (32, 32). With
        `inverted`, only where the maps differ from the inverted ones is drawn anew (depth and
        sketch too), from the inversion's noise; the rest is the inverted picture's. `depth_map`: the
        kept (or edited) depth at the maps' size, given out as it is (`depth32` is its pooling);
        `edited` (depth, sketch): where the depth or the sketch was edited counts as changed too."""
        fseed = [cands[chosen].seed]
        seg, disp = seg64.long().unsqueeze(0), depth32.unsqueeze(0)
        changed = None
        if inverted is not None:
            changed = inverted.changed(seg64.numpy(), depth32.numpy() if edited[0] else None,
                                       sketch if edited[1] else None)
        if sketch is None:
            edges = self.sample_sketch(seg, disp, s.seeds("sketch", fseed), s, seconds, on_step)
        else:
            edges = torch.from_numpy(np.asarray(sketch, dtype=np.uint8)).unsqueeze(0)
            seconds["sketch"] = 0.0
        if inverted is not None:
            kept_depth, kept_sketch = inverted.keep_outside(changed, disp[0], edges[0].numpy())
            disp, edges = kept_depth.unsqueeze(0), torch.from_numpy(kept_sketch).unsqueeze(0)
            depth32 = disp[0]
        if sketch is None and on_map:
            on_map("sketch", edges[0].numpy())
        seg_map, upsampled = stages.to_image_size(seg, disp)
        depth_map = upsampled if depth_map is None else np.asarray(depth_map, np.float32)[None]
        verdict = self._verdict(graph, seg_map[0], depth_map[0])
        start = time.perf_counter()
        read, draws = None, 1
        if inverted is None:
            def paint(picture: np.ndarray) -> np.ndarray:
                if not s.paint:
                    return picture
                return self._recolour(graph, verdict, seg, disp, edges, picture, s.guidance["image"], None, fseed[0],
                                      on_step)

            image, s, read, notes, draws = self._drawn_picture(graph, verdict, seg, disp, edges, depth_map[0], s,
                                                               fseed[0], on_step, paint)
        else:
            image, notes = self._regenerate(inverted, seg, disp, edges, changed, on_step, s.redraws,
                                            int(s.seed_offsets.get("image", 0)), s.tries, graph, depth_map[0])
            if s.paint:
                # The stored inversion holds while the maps are the inverted ones; else the picture is inverted afresh.
                kept = inverted.inversion if not changed.any() else None
                image = self._recolour(graph, verdict, seg, disp, edges, image, inverted.inversion.guidance, kept,
                                       fseed[0], on_step)
        seconds["image"] = time.perf_counter() - start
        if read is None and self.segmenter is not None:
            read = self._read_picture(graph, image, depth_map[0])
        reading, picture_verdict = read if read is not None else (None, None)
        return Result(graph, seed, s, cands, chosen, depth32, seg_map[0], depth_map[0], edges[0].numpy(),
                      image, verdict, seconds, inverted, notes, picture_reading=reading,
                      picture_verdict=picture_verdict, picture_draws=draws)

    def _read_picture(self, graph: SceneGraph, image: np.ndarray,
                      depth: np.ndarray) -> tuple[np.ndarray, judge.Verdict]:
        """The picture read back by the segmenter at the maps' size, and the judge's verdict on that
        reading (with the map's depth: the picture has none of its own)."""
        reading = self.segmenter.segment(image, size=depth.shape[0])
        return reading, self._verdict(graph, reading, depth)

    def _drawn_picture(self, graph: SceneGraph, verdict: judge.Verdict, seg, disp, edges, depth: np.ndarray,
                       s: Settings, seed: int, on_step: Progress | None, paint: Callable[[np.ndarray], np.ndarray]):
        """The image factor's picture of the maps, read back and judged: while the best draw so far
        loses what the map holds (`lost`), the picture is drawn again from other noise, up to
        `s.picture_draws` draws, and the one judged best kept (`picture_score`). Painting (`paint`:
        the colours the graph names, an inversion and a regeneration) is paid only for a draw that
        keeps what the map holds unpainted, and that draw is judged painted (painting can lose a
        thing); where none did, the best is painted at the end and read again, so that the verdict
        is always the shown picture's. -> (the picture, the settings with the kept draw's seed
        offset, (its reading, its verdict) or None where it was not read, notes for the person, the
        draws made)."""
        first = int(s.seed_offsets.get("image", 0))

        def draw(offset: int) -> np.ndarray:
            x = self.image_sampler(self.factors["image"], seg, disp, edges, [seed + offset], s.steps["image"],
                                   s.guidance["image"], s.scheduler_of("image"), self._progress(on_step, "image"))
            return image_from_tensor(x)[0]

        if self.segmenter is None or s.picture_draws <= 1:
            return paint(draw(first)), s, None, (), 1
        drawn_from = seg[0].numpy()

        def painted(image: np.ndarray, read: tuple) -> tuple:
            """The picture painted, and read again where painting changed it."""
            out = paint(image)
            return (image, read) if out is image else (out, self._read_picture(graph, out, depth))

        def judged(k: int, offset: int) -> tuple:
            image = draw(offset)
            read = self._read_picture(graph, image, depth)
            finished = not lost(graph, verdict, read[1])
            if finished:
                image, read = painted(image, read)
            return picture_score(read[1], read[0], drawn_from), k, offset, image, read, finished

        best = judged(0, first)
        first_lost = lost(graph, verdict, best[4][1])
        k = 1
        while k < s.picture_draws and lost(graph, verdict, best[4][1]):
            offset = (first + k * DRAW_STRIDE) % (inputs.MAX_SEED + 1)
            one = judged(k, offset)
            if one[0] > best[0]:
                best = one
            k += 1
        _, kept, offset, image, read, finished = best
        if not finished:
            image, read = painted(image, read)
        notes: tuple[str, ...] = ()
        still = lost(graph, verdict, read[1])
        if still:
            notes = (f"the picture loses what its map holds ({'; '.join(still)}) in each of {k} draws, read back "
                     "by the segmenter: the draw judged best is shown; another image seed offset draws it again",)
        elif kept:
            notes = (f"the first draw of the picture lost what its map holds ({'; '.join(first_lost)}); draw "
                     f"{kept + 1} of {k}, which keeps it, is shown",)
        if offset != first:
            s = dataclasses.replace(s, seed_offsets={**s.seed_offsets, "image": offset})
        return image, s, read, notes, k

    def _image_predictor(self, seg: torch.Tensor, disp: torch.Tensor, edges: torch.Tensor, guidance: float) -> Guided:
        model = self.factors["image"]
        conds = picture_conditions(seg, disp, edges, model.config.size, len(self.vocabulary))
        return Guided(model, conds, guidance=guidance)

    def _regenerate(self, inverted: Inverted, seg, disp, edges, changed: np.ndarray | None,
                    on_step: Progress | None, redraws: int = 1, first: int = 0, tries: int = 1,
                    graph: SceneGraph | None = None, depth: np.ndarray | None = None
                    ) -> tuple[np.ndarray, tuple[str, ...]]:
        """The inverted picture with the changed region drawn anew from its noise (the picture
        itself when nothing changed; everything when `changed` is None). `redraws`: draws of the
        changed region at once, of which the one the segmenter reads closest to the edited map is
        kept. `tries`: while no draw is read as the edited map (`_read_as_map`), the region is
        drawn again from other noise, up to `tries` times; the draw read best is kept. With `graph`,
        a draw is read as the map only where the relations of the graph about the edited things that
        hold on the map (with `depth`, its disparity at the map's size) also hold on it. `first`:
        the draw the noise starts at (the image factor's seed offset). -> (the picture, a note where
        no draw was read as the map)."""
        if changed is not None and not changed.any():
            if on_step:
                on_step("image", inverted.inversion.steps, inverted.inversion.steps)
            return inverted.picture.copy(), ()
        model = self.factors["image"]
        size = model.config.size
        mask = None if changed is None else soft_mask(changed, size)
        # The whole picture is sampled, not a window around the change: the factor's GroupNorm
        # statistics over a crop differ from the picture's, and a crop drew washed-out objects.
        checked = changed is not None and self.segmenter is not None
        k = max(1, int(redraws)) if checked else 1
        conds = picture_conditions(seg.expand(k, -1, -1), disp.expand(k, -1, -1), edges.expand(k, -1, -1), size,
                                   len(self.vocabulary))
        predict = Guided(model, conds, guidance=inverted.inversion.guidance, batch=k)
        guide = None
        if changed is not None:
            # A thing the edit moved or mirrored starts from its own pixels at its new place.
            found = transplants(inverted.segmentation, seg[0].numpy(), changed, inverted.picture, self.vocabulary)
            if found is not None:
                guide = (image_tensor(found[0]), torch.from_numpy(found[1]).float()[None, None])
        best, best_score = None, None
        tries = max(1, int(tries)) if checked else 1
        for attempt in range(tries):
            x = regenerate(predict, "image", inverted.inversion, inverted.picture_tensor(), mask,
                           self._progress(on_step, "image"), guide, variants=k, first=first + attempt * k)
            images = image_from_tensor(x)
            if k == 1 and tries == 1:
                return images[0], ()  # nothing to choose between
            scores = self._read_as_map(images, seg[0].numpy(), inverted.segmentation, changed, graph, depth)
            j = max(range(len(scores)), key=lambda i: (scores[i], -i))
            if best_score is None or scores[j] > best_score:
                best, best_score = images[j], scores[j]
            if best_score[0]:
                break
        if best_score is not None and not best_score[0]:
            draws = tries * k
            return best, (f"in none of {draws} draw{'s' if draws > 1 else ''} does the segmenter read the edited "
                          "region as the edited map (a thing not read as its class, or a relation of the graph "
                          "not holding on the picture): the draw read closest is shown; another image seed "
                          "offset draws it again",)
        return best, ()

    def _read_as_map(self, images: np.ndarray, segmentation: np.ndarray, before: np.ndarray,
                     changed: np.ndarray, graph: SceneGraph | None = None,
                     depth: np.ndarray | None = None) -> list[tuple[bool, float]]:
        """How the segmenter reads draws of an edited region -> for each draw, (whether every thing of
        the edited map is read as its class on READ_AS_MAP of its pixels the edit changed, and with
        `graph` whether the relations of the graph that hold on the edited map between things one of
        which the edit changed hold on the draw; the share of the changed region read as the map)."""
        read = self.segmenter.segment(images, size=segmentation.shape[0])
        diff = segmentation != before
        things = [c for c in np.unique(segmentation[diff]) if int(c) not in self.vocabulary.stuff_positions
                  and (diff & (segmentation == c)).sum() >= MIN_CHECKED]
        wanted = self._edited_relations(graph, segmentation, depth, diff) if graph is not None else []
        out = []
        for r in read:
            ok = all((r[diff & (segmentation == c)] == c).mean() >= READ_AS_MAP for c in things)
            if ok and wanted:
                held = {(x.subject, x.predicate, x.object) for x in
                        self._verdict(graph, r, depth).relations if x.holds is True}
                ok = all(t in held for t in wanted)
            out.append((bool(ok), float((r[changed] == segmentation[changed]).mean())))
        return out

    def _edited_relations(self, graph: SceneGraph, segmentation: np.ndarray, depth: np.ndarray | None,
                          diff: np.ndarray) -> list[tuple[int, str, int]]:
        """The relations of `graph` that hold on the edited map and name a thing the edit changed
        (its region there meets `diff`)."""
        verdict = self._verdict(graph, segmentation, depth)
        region = {o.index: verdict.regions[o.region] for o in verdict.objects if o.region is not None}
        touched = {k for k, r in region.items() if not self.vocabulary.is_stuff(r.label) and (r.mask & diff).any()}
        return [(x.subject, x.predicate, x.object) for x in verdict.relations
                if x.holds is True and (x.subject in touched or x.object in touched)]

    def _recolour(self, graph: SceneGraph, verdict: judge.Verdict, seg, disp, edges, image: np.ndarray,
                  guidance: float, inversion, seed: int, on_step: Progress | None) -> np.ndarray:
        """The picture with each thing whose colour the graph names (its region: `verdict`'s) and the
        picture does not show painted that colour (`inversion.recolour`: guidance, as the image factor is not told
        colours), from the picture's own inverted noise: `inversion` where it is the picture's, else
        the picture inverted here under its maps (a generated picture; a thing moved, then painted)."""
        from ..reading import colours

        asked = colours.wanted(graph, verdict, image, self.vocabulary)
        if not asked:
            return image
        model = self.factors["image"]
        size = model.config.size
        bodies = [(torch.from_numpy(colours.body(image, mask, label, have)).float()[None, None], vocab.COLOURS[want])
                  for mask, label, have, want in asked]
        where = soft_mask(grown(np.logical_or.reduce([mask for mask, *_ in asked])), size)
        predict = Guided(model, picture_conditions(seg, disp, edges, size, len(self.vocabulary)), guidance=guidance)
        start = image_tensor(image)
        if inversion is None:
            inversion = invert(predict, "image", start, "ddpm", PAINT_STEPS, seed)
        x = recolour(predict, "image", inversion, start, where, bodies, on_step=self._progress(on_step, "image"))
        return image_from_tensor(x)[0]

    def invert(self, result: Result, kind: str = "ddpm", steps: int = INVERSION_STEPS,
               on_step: Progress | None = None) -> Result:
        """The result's picture inverted under the image factor given its maps, so that an edit
        keeps what it did not touch."""
        seg = torch.from_numpy(result.segmentation.astype(np.int64)).unsqueeze(0)
        disp = result.depth32.float().unsqueeze(0)
        edges = torch.from_numpy(result.sketch.astype(np.uint8)).unsqueeze(0)
        guidance = result.settings.guidance["image"]
        predict = self._image_predictor(seg, disp, edges, guidance)
        x0 = image_tensor(result.image)
        start = time.perf_counter()
        inv = invert(predict, "image", x0, kind, steps, result.factor_seed, self._progress(on_step, "inversion"))
        seconds = {**result.seconds, "inversion": time.perf_counter() - start}
        inverted = Inverted(inv, result.image.copy(), result.segmentation.astype(np.uint8),
                            result.depth32.float().numpy(), result.sketch.astype(np.uint8))
        return dataclasses.replace(result, inverted=inverted, seconds=seconds)

    def reconstruct(self, result: Result, on_step: Progress | None = None) -> np.ndarray:
        """The picture regenerated from the result's inversion under its own maps, nothing kept
        from the picture itself: how exactly the inversion brings it back."""
        if result.inverted is None:
            raise BadInput("this result has not been inverted")
        inv = result.inverted
        seg = torch.from_numpy(inv.segmentation.astype(np.int64)).unsqueeze(0)
        disp = torch.from_numpy(inv.depth32).unsqueeze(0)
        edges = torch.from_numpy(inv.sketch).unsqueeze(0)
        return self._regenerate(inv, seg, disp, edges, None, on_step)[0]

    def _segmentation_predictor(self, graph: SceneGraph, segmentation: np.ndarray, seed: int,
                                guidance: float) -> Guided:
        """The segmentation factor conditioned on `graph` and on the layout of the objects' boxes as
        they are in `segmentation` (a region's box for each object the judge finds)."""
        from ..world.boxes import draw_layout

        verdict = self._verdict(graph, segmentation)
        boxes = np.zeros((len(graph.objects), 4), np.float32)
        disp = np.zeros(len(graph.objects), np.float32)
        n = segmentation.shape[0]
        for o in verdict.objects:
            if o.region is not None:
                x0, y0, x1, y1 = verdict.regions[o.region].box
                boxes[o.index] = (x0 / n, y0 / n, (x1 + 1) / n, (y1 + 1) / n)
                disp[o.index] = 0.0 if self.vocabulary.is_stuff(o.label) else 0.5
        tokens, pad, _ = stages.graph_conditions(self.encoder, self.words, graph, [seed], 0.0, self.vocabulary)
        layout = draw_layout(graph.labels, boxes, disp, SEG_SIZE, self.vocabulary)[0]
        layout = torch.from_numpy(layout.astype(np.int64)).unsqueeze(0)
        return Guided(self.factors["segmentation"], [onehot(layout, len(self.vocabulary))], tokens, pad, guidance)

    def redraw(self, graph: SceneGraph, segmentation: np.ndarray, region: np.ndarray, seed: int = 0,
               steps: int | None = None) -> np.ndarray:
        """The segmentation (S, S) with `region` (S, S bool) drawn again by the segmentation factor
        for `graph`, the rest kept (inpainting), conditioned on the layout the segmentation shows."""
        from .inversion import inpaint

        model = self.factors["segmentation"]
        predict = self._segmentation_predictor(graph, segmentation, seed, REDRAW_GUIDANCE)
        noise = stages.seeded_noise([seed], (model.config.out_channels, SEG_SIZE, SEG_SIZE),
                                    stages.SALT["segmentation"])
        known = onehot(torch.from_numpy(segmentation.astype(np.int64)).unsqueeze(0), len(self.vocabulary))
        mask = torch.from_numpy(region).float()[None, None]
        banned = (~stages.named_classes(graph.labels, self.vocabulary)).view(1, -1, 1, 1)
        k = steps or getattr(model.config, "steps", 0) or stages.DEFAULT_STEPS["segmentation"]
        logits = inpaint(predict, "segmentation", known, mask, noise, k, banned)
        drawn = logits.argmax(1)[0].numpy().astype(segmentation.dtype)
        return np.where(region, drawn, segmentation)

    def invert_segmentation(self, graph: SceneGraph, segmentation: np.ndarray, kind: str = "ddpm",
                            steps: int = INVERSION_STEPS, seed: int = 0, on_step: Progress | None = None):
        """A segmentation (S, S) inverted under its own factor (FG-DM's inversion of a map), given
        `graph` and the layout the segmentation shows: `regenerate_segmentation` with the same
        graph gives it back (edit-friendly: exactly; DDIM: approximately, `bench pictures`).
        -> `inversion.Inversion`."""

        seg = np.asarray(segmentation)
        if seg.shape != (SEG_SIZE, SEG_SIZE):
            raise BadInput(f"a segmentation to invert must be {SEG_SIZE}x{SEG_SIZE}, not {seg.shape}")
        predict = self._segmentation_predictor(graph, seg, seed, 1.0)
        x0 = onehot(torch.from_numpy(seg.astype(np.int64)).unsqueeze(0), len(self.vocabulary))
        return invert(predict, "segmentation", x0, kind, steps, seed, self._progress(on_step, "inversion"))

    def regenerate_segmentation(self, graph: SceneGraph, segmentation: np.ndarray, inversion,
                                on_step: Progress | None = None) -> np.ndarray:
        """The segmentation (S, S) sampled from a segmentation's inversion, conditioned on `graph`
        and the layout `segmentation` shows (the inverted one's: its reconstruction)."""
        predict = self._segmentation_predictor(graph, np.asarray(segmentation), inversion.seed, inversion.guidance)
        x = regenerate(predict, "segmentation", inversion, on_step=self._progress(on_step, "segmentation"))
        return x.argmax(1)[0].numpy().astype(np.uint8)

    def steer(self, result: Result, segmentations: list[np.ndarray], scales: list[float],
              on_step: Progress | None = None, on_map: MapReady | None = None) -> Result:
        """Concept edits of an inverted result (LEDITS++-style): `segmentations` are the stages of the
        edit, each the one before with one concept applied (a class taken away, a class drawn where
        one was taken away), the last the edit's whole segmentation. Each stage's maps (depth and
        sketch from their factors, the inverted ones outside what changed) condition the image
        factor, and the picture is regenerated from the inversion with each stage's guidance at its
        own scale inside its implicit mask (`inversion.steer`); the rest stays the picture's."""
        inv = result.inverted
        if inv is None:
            raise BadInput("a concept edit needs an inverted picture: read a picture or invert the result first")
        if not segmentations or len(segmentations) != len(scales) or len(segmentations) > MAX_CONCEPT_STAGES:
            raise BadInput(f"a concept edit takes 1 to {MAX_CONCEPT_STAGES} stages, each with a scale")
        for scale in scales:
            if not isinstance(scale, (int, float)) or not 0 < float(scale) <= MAX_CONCEPT_SCALE:
                raise BadInput(f"a concept's scale must be above 0 and at most {MAX_CONCEPT_SCALE:g}")
        segs = [np.asarray(x) for x in segmentations]
        if any(x.shape != (SEG_SIZE, SEG_SIZE) for x in segs):
            raise BadInput(f"an edited segmentation must be {SEG_SIZE}x{SEG_SIZE}")
        s = result.settings
        fseed = [result.factor_seed]
        seconds: dict[str, float] = {}
        start = time.perf_counter()
        model = self.factors["image"]
        size = model.config.size
        guidance = inv.inversion.guidance
        maps, stages_, before, union = [], [], inv.segmentation, np.zeros((SEG_SIZE, SEG_SIZE), bool)
        for k, seg_np in enumerate(segs):
            seg = torch.from_numpy(seg_np.astype(np.int64)).unsqueeze(0)
            last = on_step if k == len(segs) - 1 else None  # progress for the last stage's maps
            disp = self.sample_depth(seg, s.seeds("depth", fseed), s, seconds, last)
            edges = self.sample_sketch(seg, disp, s.seeds("sketch", fseed), s, seconds, last)
            changed = inv.changed(seg_np)
            kept_depth, kept_sketch = inv.keep_outside(changed, disp[0], edges[0].numpy())
            disp, edges = kept_depth.unsqueeze(0), torch.from_numpy(kept_sketch).unsqueeze(0)
            maps.append((seg, disp, edges))
            step_change = changed if k == 0 else grown(seg_np != before)
            before, union = seg_np, union | changed | step_change
            predict = Guided(model, picture_conditions(seg, disp, edges, size, len(self.vocabulary)), guidance=guidance)
            stages_.append((predict, float(scales[k]), soft_mask(step_change, size)))
        seg, disp, edges = maps[-1]
        if on_map:
            on_map("segmentation", segs[-1].astype(np.uint8))
            on_map("depth", stages.to_image_size(seg, disp)[1][0])
            on_map("sketch", edges[0].numpy())
        began = time.perf_counter()
        base = Guided(model, picture_conditions(torch.from_numpy(inv.segmentation.astype(np.int64)).unsqueeze(0),
                                                torch.from_numpy(inv.depth32).unsqueeze(0),
                                                torch.from_numpy(inv.sketch).unsqueeze(0), size, len(self.vocabulary)),
                      guidance=guidance)
        x = steer(base, "image", stages_, inv.inversion, inv.picture_tensor(), soft_mask(union, size),
                  self._progress(on_step, "image"))
        image = image_from_tensor(x)[0]
        seconds["image"] = time.perf_counter() - began
        seg_map, depth_map = stages.to_image_size(seg, disp)
        graph = result.graph
        verdict = self._verdict(graph, seg_map[0], depth_map[0])
        seconds["total"] = time.perf_counter() - start
        return Result(graph, result.seed, s, result.candidates, result.chosen, disp[0], seg_map[0], depth_map[0],
                      edges[0].numpy(), image, verdict, seconds, inv)

    def read(self, picture: np.ndarray, seed: int = 0, settings: Settings | None = None, kind: str = "ddpm",
             steps: int = INVERSION_STEPS, on_step: Progress | None = None, on_map: MapReady | None = None,
             source_side: int | None = None) -> Result:
        """A picture (P, P, 3) uint8 at the image factor's size, read into a result: its segmentation
        (the segmenter's), depth and sketch (their factors', given the segmentation), the scene graph
        the maps show, and its inversion under the image factor. `source_side`: the short side of the
        picture it was fitted from; one of no more pixels than the map loses the segmenter's slivers
        of things (`stages.fill_slivers`: such a picture cannot show a thing one map pixel thin)."""
        from ..reading.derive import graph_from_maps

        size = self.factors["image"].config.size
        if picture.shape != (size, size, 3) or picture.dtype != np.uint8:
            raise BadInput(f"a picture to read must be {size}x{size} RGB (uint8), not {picture.shape}")
        if self.segmenter is None:
            raise BadInput("this chain has no segmenter, so it cannot read pictures")
        s = dataclasses.replace(settings or Settings(), samples=1)
        s.check()
        seconds: dict[str, float] = {}
        start = began = time.perf_counter()
        seg_np, sure = self.segmenter.segment(picture, size=SEG_SIZE, confidence=True)
        if s.clean_pixels > 1:
            seg_np = stages.clean_segmentation(seg_np, s.clean_pixels)
        if source_side is not None and source_side <= SEG_SIZE:
            seg_np = stages.fill_slivers(seg_np, self.vocabulary)
        seg = torch.from_numpy(seg_np.astype(np.int64)).unsqueeze(0)
        seconds["segmentation"] = time.perf_counter() - start
        if on_map:
            on_map("segmentation", seg_np.astype(np.uint8))
        disp = self.sample_depth(seg, s.seeds("depth", [seed]), s, seconds, on_step)
        seg_map, depth_map = stages.to_image_size(seg, disp)
        if on_map:
            on_map("depth", depth_map[0])
        edges = self.sample_sketch(seg, disp, s.seeds("sketch", [seed]), s, seconds, on_step)
        if on_map:
            on_map("sketch", edges[0].numpy())
        start = time.perf_counter()
        graph, regions = graph_from_maps(seg_map[0], depth_map[0], self.vocabulary)
        verdict = self._verdict(graph, seg_map[0], depth_map[0])
        cand = Candidate(seed, seg_map[0], depth_map[0], verdict)
        seconds["graph"] = time.perf_counter() - start
        result = Result(graph, seed, s, [cand], 0, disp[0], seg_map[0], depth_map[0], edges[0].numpy(),
                        picture.copy(), verdict, seconds)
        result = self.invert(result, kind, steps, on_step)
        # How sure the segmenter was of each object of the derived graph: its mean probability of the
        # class it read, over the object's pixels.
        result.confidence = tuple(round(float(sure[r.mask].mean()), 3) if r.mask.any() else 0.0 for r in regions)
        result.seconds["total"] = time.perf_counter() - began
        return result

    def generate(self, graph: SceneGraph, seed: int = 0, settings: Settings | None = None,
                 on_step: Progress | None = None, on_map: MapReady | None = None) -> Result:
        s = settings or Settings()
        s.check()
        seconds: dict[str, float] = {}
        start = time.perf_counter()
        cands, seg, disp = self.candidates(graph, seed, s, seconds, on_step)
        chosen = best_candidate(cands)

        def finished(k: int, seconds: dict, on_map: MapReady | None) -> Result:
            """Candidate k's depth (unless drawn with it), sketch and picture."""
            if on_map:
                on_map("segmentation", cands[k].segmentation)
            if disp is None:
                one = self.sample_depth(seg[k:k + 1], s.seeds("depth", [cands[k].seed]), s, seconds, on_step)[0]
                cands[k].depth = stages.to_image_size(seg[k:k + 1], one.unsqueeze(0))[1][0]
            else:
                one = disp[k]
            if on_map:
                on_map("depth", cands[k].depth)
            return self.finish(graph, seed, s, cands, k, seg[k], one, seconds, on_step, on_map=on_map)

        result = finished(chosen, seconds, on_map)
        result = self._next_candidates(graph, result, s, finished, on_map)
        result.seconds["total"] = time.perf_counter() - start
        return result

    def _next_candidates(self, graph: SceneGraph, result: Result, s: Settings,
                         finished: Callable[[int, dict, MapReady | None], Result], on_map: MapReady | None) -> Result:
        """Where every draw of the chosen candidate's picture loses what its map holds, the next best
        candidates whose maps hold as many of the graph's objects (and no more things it did not ask
        for) are drawn too, in the order SBPC ranks them, up to `s.picture_candidates` in all, until
        one's picture keeps its map; the picture judged best against the graph (`picture_score`:
        recall first) is kept, with its candidate's maps."""
        if s.picture_draws <= 1:  # a picture drawn once is not checked
            return result
        cands = result.candidates
        top, extras = cands[result.chosen].score[0], len(cands[result.chosen].verdict.extras)
        others = [k for k in ranked(cands) if k != result.chosen and cands[k].score[0] >= top
                  and len(cands[k].verdict.extras) <= extras]
        tried = [result]
        for k in others[:s.picture_candidates - 1]:
            if result.picture_verdict is None or not lost(graph, result.verdict, result.picture_verdict):
                break
            seconds = {**result.seconds, "depth": 0.0, "sketch": 0.0, "image": 0.0}
            other = finished(k, seconds, None)
            for key in ("depth", "sketch", "image"):  # the time of every candidate drawn
                seconds[key] += result.seconds.get(key, 0.0)
            tried.append(other)
            if _kept_picture_score(other) > _kept_picture_score(result):
                result = other
            result = dataclasses.replace(result, seconds=seconds,
                                         picture_draws=sum(r.picture_draws for r in tried))
        if len(tried) == 1:
            return result
        first = tried[0]

        def name(r: Result) -> str:  # as the page's candidates are captioned
            return f"#{r.chosen} (seed {cands[r.chosen].seed})"

        if result.chosen != first.chosen:
            if on_map:
                on_map("segmentation", result.segmentation)
                on_map("depth", result.depth)
                on_map("sketch", result.sketch)
            note = (f"no draw of candidate {name(first)}'s picture kept what its map holds "
                    f"({'; '.join(lost(graph, first.verdict, first.picture_verdict))}); candidate "
                    f"{name(result)}, the next best map, is shown"
                    + ("" if not result.notes else f", though its picture too loses some: {result.notes[0]}"))
        else:
            note = (f"the next best map{'s' if len(tried) > 2 else ''} ({', '.join(name(r) for r in tried[1:])}) "
                    f"drawn too kept no more, so candidate {name(first)} is shown")
            note = f"{result.notes[0]}; {note}" if result.notes else note
        return dataclasses.replace(result, notes=(note,))

    def choose(self, result: Result, index: int, on_step: Progress | None = None,
               on_map: MapReady | None = None) -> Result:
        """Another SBPC candidate: its segmentation and depth, then sketch and image with its seed."""
        if not 0 <= index < len(result.candidates):
            raise BadInput(f"candidate {index} does not exist (0..{len(result.candidates) - 1})")
        return self.rerun(dataclasses.replace(result, chosen=index), result.candidates[index].segmentation,
                          "depth", on_step, on_map=on_map)

    def rerun(self, result: Result, segmentation: np.ndarray | None = None, what: str = "depth",
              on_step: Progress | None = None, settings: Settings | None = None,
              on_map: MapReady | None = None, *, depth: np.ndarray | None = None,
              sketch: np.ndarray | None = None) -> Result:
        """Run the factors after an edit, with the result's seed and so its noise. `segmentation`: an
        edited (64, 64) class map (default: the result's). what: "depth" reruns depth, sketch and
        image; "sketch" keeps the depth; "image" keeps depth and sketch and reruns the image alone.
        `depth`: an edited depth map (64, 64, disparity), kept as it is (what is "sketch" or
        "image"); `sketch`: an edited sketch (64, 64, 0 or 255) (what is "image").
        `settings` replaces the result's (other steps, guidance or seed offsets for what reruns)."""
        if what not in ("depth", "sketch", "image"):
            raise BadInput("rerun: what must be depth, sketch or image")
        seg_np = result.segmentation if segmentation is None else np.asarray(segmentation)
        if seg_np.shape != (SEG_SIZE, SEG_SIZE):
            raise BadInput(f"an edited segmentation must be {SEG_SIZE}x{SEG_SIZE}, not {seg_np.shape}")
        depth, sketch = stages.edited_maps(depth, sketch, what)
        seg = torch.from_numpy(seg_np.astype(np.int64))
        s = settings or result.settings
        s.check()
        seconds: dict[str, float] = {}
        start = time.perf_counter()
        disp = result.depth32
        if what == "depth":
            disp = self.sample_depth(seg.unsqueeze(0), s.seeds("depth", [result.factor_seed]), s, seconds, on_step)[0]
        elif depth is not None:
            disp = stages.pooled_edit(result.depth32, result.depth, depth)
        if on_map:
            on_map("segmentation", seg_np)
            on_map("depth", depth if depth is not None else
                   stages.to_image_size(seg.unsqueeze(0), disp.unsqueeze(0))[1][0])
        edited = (depth is not None, sketch is not None)
        if sketch is None and what == "image":
            sketch = result.sketch
        if depth is None and what != "depth":
            depth = result.depth  # kept as it was: an edited depth stays exact through later reruns
        out = self.finish(result.graph, result.seed, s, result.candidates, result.chosen, seg, disp, seconds,
                          on_step, sketch, on_map, result.inverted, depth, edited)
        seconds["total"] = time.perf_counter() - start
        return out


def lost(graph: SceneGraph, on_map: judge.Verdict, on_picture: judge.Verdict) -> list[str]:
    """What the picture loses of what its map holds, a phrase each: objects present on the map and
    not read on the picture, then relations that hold on the map and fail on the picture."""
    labels = graph.labels

    def name(i: int) -> str:  # "car #2" where the graph has two cars
        return graph.objects[i].phrase() + (f" #{i}" if labels.count(labels[i]) > 1 else "")

    out = [f"no {name(o.index)}" for o, p in zip(on_map.objects, on_picture.objects) if o.present and not p.present]
    out += [f"{name(m.subject)} {m.predicate} {name(m.object)} fails"
            for m, p in zip(on_map.relations, on_picture.relations) if m.holds is True and p.holds is False]
    return out


def picture_score(verdict: judge.Verdict, reading: np.ndarray, segmentation: np.ndarray
                  ) -> tuple[float, float, int, float]:
    """How well a draw of the picture obeys the graph, read back: object recall, relation accuracy,
    fewer things nobody asked for, then the share of pixels read as the map holds them."""
    return (*verdict.compliance, -len(verdict.extras), float((reading == segmentation).mean()))


def _kept_picture_score(r: Result) -> tuple:
    """A finished result's picture judged against the graph (`picture_score`), read back."""
    return picture_score(r.picture_verdict, r.picture_reading, r.segmentation)


def best_candidate(cands: list[Candidate]) -> int:
    """SBPC: the highest object recall, then the highest relation accuracy less a penalty for each
    thing the graph did not ask for, then the largest smallest object (up to LEGIBLE_AREA); the
    first seed on ties."""
    return ranked(cands)[0]


def ranked(cands: list[Candidate]) -> list[int]:
    """The candidates' indices, best first in SBPC's order (`Candidate.score`; the first seed on ties)."""
    return sorted(range(len(cands)), key=lambda k: (cands[k].score, -k), reverse=True)

