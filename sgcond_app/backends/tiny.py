"""The tiny backend: the chain of this repository's own small models (`fgdm.chain.Chain`).

It loads the models on first use (or takes a chain built from components), and translates
between the boundary's plain values and the chain's own (its settings, its tensors)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ..errors import BadInput
from ..graph import vocabularies
from ..graph.scene_graph import SceneGraph
from ..graph.vocabularies import NAMES
from .base import INVERSIONS, RERUNS, Candidate, Capabilities, MapReady, Options, Progress, Result

NAME = "tiny"


class TinyBackend:
    """`TinyBackend()` loads the shipped weights when first needed; `TinyBackend.from_pretrained(folder)`
    another weights folder; `TinyBackend(chain)` a chain already built (tests build one from tiny
    random models)."""

    def __init__(self, chain=None, *, weights: str | Path | None = None, device: str = "cpu") -> None:
        self._chain, self._weights, self._device = chain, weights, device
        self._given_chain = chain is not None
        self._familiar = False  # not loaded yet
        self._vocabulary = None  # read from the weights' config when first asked
        self._lock = threading.Lock()

    @classmethod
    def from_pretrained(cls, weights: str | Path | None = None, device: str = "cpu") -> TinyBackend:
        backend = cls(weights=weights, device=device)
        backend.chain  # noqa: B018 - load now: a missing folder is reported at start, not on first use
        return backend

    @property
    def chain(self):
        with self._lock:
            if self._chain is None:
                from ..fgdm.chain import Chain

                self._chain = Chain.from_pretrained(self._weights, self._device)
        return self._chain

    @property
    def capabilities(self) -> Capabilities:
        from ..fgdm import chain as c
        from ..fgdm import stages
        from ..fgdm.factors import FACTORS, MAP_SIZE, PICTURE_SIZE

        picture = PICTURE_SIZE if self._chain is None else self._chain.factors["image"].config.size
        v = self.vocabulary
        tables = () if v.name in NAMES else (v.to_json(),)
        return Capabilities(NAME, self._device, MAP_SIZE, picture, FACTORS, dict(stages.DEFAULT_STEPS),
                            c.MAX_SAMPLES, c.MAX_STEPS, ("ddim", "dpm"), inverts=True, reads_in=v.name,
                            draws_in=v.name, vocabularies=tables)

    @property
    def vocabulary(self):
        """The classes the chain's maps hold and its graphs name: the tiny world's for the shipped
        weights, a dataset's for weights trained on one (read from their config, the models unloaded)."""
        if self._chain is not None:
            return self._chain.vocabulary
        if self._vocabulary is None:
            from ..models.pretrained import model_vocabulary
            from ..models.shipped import WEIGHTS

            folder = Path(self._weights or WEIGHTS) / "factors" / "segmentation"
            self._vocabulary = (model_vocabulary(folder) if (folder / "config.json").is_file()
                                else vocabularies.load("tiny"))
        return self._vocabulary

    def warm_up(self) -> None:
        from ..graph.parse import parse_text

        self.generate(parse_text("sky above grass; dog on grass"), 0, Options(samples=1))

    # --- the boundary's values <-> the chain's ---------------------------------------------------

    def settings(self, options: Options | None):
        """The chain's Settings for a request's options (defaults filled in), checked."""
        from ..fgdm.chain import Settings

        o = options or Options()
        s = Settings(samples=o.samples, scheduler=o.scheduler, only_named=o.only_named, redraws=o.redraws,
                     tries=o.tries, picture_draws=o.picture_draws, layout_tries=o.layout_tries,
                     map_draws=o.map_draws, picture_candidates=o.picture_candidates, mend_layout=o.mend_layout)
        for table, given in ((s.steps, o.steps), (s.guidance, o.guidance), (s.seed_offsets, o.seed_offsets)):
            unknown = sorted(set(given) - set(table))
            if unknown:
                raise BadInput(f"no factor {unknown[0]!r}; the factors are {', '.join(table)}"[:200])
            table.update(given)
        s.check()
        return s

    @staticmethod
    def _options(settings) -> Options:
        return Options(settings.samples, dict(settings.steps), dict(settings.guidance), settings.scheduler,
                       dict(settings.seed_offsets), settings.only_named, settings.redraws, tries=settings.tries,
                       picture_draws=settings.picture_draws, layout_tries=settings.layout_tries,
                       map_draws=settings.map_draws, picture_candidates=settings.picture_candidates,
                       mend_layout=settings.mend_layout)

    @property
    def familiar(self):
        """The segmenter's familiarity fit (`reading/familiar.py`), shipped beside it; None where
        there is none (a chain built from components)."""
        with self._lock:
            if self._familiar is False:
                from ..models.shipped import WEIGHTS
                from ..reading.familiar import Familiarity

                # A chain handed in (built from components) has its own segmenter: no shipped fit is its.
                self._familiar = None if self._given_chain else Familiarity.load(Path(self._weights or WEIGHTS) /
                                                                                 "segmenter")
        return self._familiar

    def familiarity(self, picture: np.ndarray) -> dict | None:
        """How familiar a picture (as a person gave it) is to the segmenter that reads it, before any
        work: {"score", "threshold", "familiar"}, or None where no fit is shipped."""
        from ..reading.load import from_array

        return self._familiarity_of(from_array(picture, self.capabilities.picture_size))

    def _familiarity_of(self, fitted: np.ndarray) -> dict | None:
        """`familiarity` of a picture already fitted to the chain's size."""
        fit, segmenter = self.familiar, self.chain.segmenter
        return None if fit is None or segmenter is None else fit.judge(segmenter, fitted)

    def _plain(self, r, familiarity: dict | None = None) -> Result:
        from ..fgdm.factors import DEPTH_SIZE, SEG_SIZE

        cands = tuple(Candidate(c.seed, c.segmentation, c.depth, c.verdict) for c in r.candidates)
        resolution = {"segmentation": SEG_SIZE, "depth": DEPTH_SIZE, "sketch": int(r.sketch.shape[0]),
                      "image": int(r.image.shape[0])}
        state = {"depth32": r.depth32.numpy().astype(np.float32)}
        if r.inverted is not None:
            state.update(r.inverted.to_state())
        return Result(NAME, r.graph, r.seed, self._options(r.settings), cands, r.chosen, r.segmentation, r.depth,
                      r.sketch, r.image, r.verdict, dict(r.seconds), resolution, state, tuple(r.notes), familiarity,
                      tuple(r.confidence), vocabulary=self.chain.vocabulary.name, picture_reading=r.picture_reading)

    def _chain_result(self, result: Result):
        import torch

        from ..fgdm import chain as c
        from ..fgdm.inversion import Inverted

        if result.backend != NAME or "depth32" not in result.state:
            raise BadInput(f"this result was made by the {result.backend!r} backend, not the tiny one: "
                           "generate it again here")
        cands = [c.Candidate(k.seed, k.segmentation, k.depth, k.verdict) for k in result.candidates]
        try:
            inverted = Inverted.from_state(result.state)
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise BadInput(f"the result's inversion is damaged ({type(e).__name__}): read the picture again") from None
        return c.Result(result.graph, result.seed, self.settings(result.options), cands, result.chosen,
                        torch.from_numpy(np.asarray(result.state["depth32"], np.float32)), result.segmentation,
                        result.depth, result.sketch, result.image, result.verdict, dict(result.seconds),
                        inverted)

    # --- the work --------------------------------------------------------------------------------

    def generate(self, graph: SceneGraph, seed: int = 0, options: Options | None = None,
                 on_step: Progress | None = None, on_map: MapReady | None = None) -> Result:
        s = self.settings(options)
        return self._plain(self.chain.generate(graph, seed, s, on_step, on_map))

    def rerun(self, result: Result, segmentation: np.ndarray | None = None, what: str = "depth",
              options: Options | None = None, on_step: Progress | None = None,
              on_map: MapReady | None = None, *, depth: np.ndarray | None = None,
              sketch: np.ndarray | None = None) -> Result:
        if what not in RERUNS:
            raise BadInput(f"rerun: what must be one of {', '.join(RERUNS)}, not {what!r}"[:200])
        settings = None if options is None else self.settings(options)
        return self._plain(self.chain.rerun(self._chain_result(result), segmentation, what, on_step, settings,
                                            on_map, depth=depth, sketch=sketch), result.familiarity)

    def choose(self, result: Result, index: int, on_step: Progress | None = None,
               on_map: MapReady | None = None) -> Result:
        return self._plain(self.chain.choose(self._chain_result(result), index, on_step, on_map), result.familiarity)


    def read(self, picture: np.ndarray, seed: int = 0, options: Options | None = None, inversion: str = "ddpm",
             steps: int = 8, on_step: Progress | None = None, on_map: MapReady | None = None) -> Result:
        from ..reading.load import from_array

        kind, k = _inversion(inversion, steps)
        fitted = from_array(picture, self.capabilities.picture_size)
        side = min(np.asarray(picture).shape[:2])
        return self._plain(self.chain.read(fitted, int(seed), self.settings(options), kind, k, on_step, on_map,
                                           source_side=side), self._familiarity_of(fitted))

    def invert(self, result: Result, inversion: str = "ddpm", steps: int = 8,
               on_step: Progress | None = None) -> Result:
        kind, k = _inversion(inversion, steps)
        return self._plain(self.chain.invert(self._chain_result(result), kind, k, on_step), result.familiarity)

    def steer(self, result: Result, segmentations: list[np.ndarray], scales: list[float],
              on_step: Progress | None = None, on_map: MapReady | None = None, *, concepts=None) -> Result:
        # `concepts` are not used: the image factor is not told words, the stages carry the edit.
        return self._plain(self.chain.steer(self._chain_result(result), [np.asarray(x) for x in segmentations],
                                            [float(x) for x in scales], on_step, on_map), result.familiarity)

    def redraw(self, graph: SceneGraph, segmentation: np.ndarray, region: np.ndarray, seed: int = 0) -> np.ndarray:
        """`region` of the segmentation drawn again by the segmentation factor for `graph`, the rest kept."""
        return self.chain.redraw(graph, np.asarray(segmentation), np.asarray(region, bool), seed)

    def reconstruct(self, result: Result, on_step: Progress | None = None) -> np.ndarray:
        """The picture regenerated from the result's inversion alone (how exactly it comes back)."""
        return self.chain.reconstruct(self._chain_result(result), on_step)


def _inversion(kind: str, steps: int) -> tuple[str, int]:
    from ..fgdm.chain import MAX_STEPS

    if kind not in INVERSIONS:
        raise BadInput(f"inversion must be one of {', '.join(INVERSIONS)}, not {str(kind)[:20]!r}")
    if not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise BadInput(f"inversion steps must be a whole number from 1 to {MAX_STEPS}")
    return kind, steps
