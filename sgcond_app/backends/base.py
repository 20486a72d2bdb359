"""The boundary between what people use (the studio, the CLI) and what makes the pictures.

A backend turns a scene graph (in the tiny world's words) into a segmentation, a depth map, a
sketch and a picture, judged against the graph; it reruns what follows an edited segmentation and
switches to another SBPC candidate. Everything that crosses this boundary is a plain value: numpy
arrays, seeds, dictionaries of numbers, the judge's verdicts, and an opaque `state` of arrays the
backend needs to repeat its noise (the tiny backend keeps its 32 px depth there). Results
serialize (`wire.py`), so a backend may run in another process or on another machine.

Nothing below this package (the chain, the models) knows about it.

Long work reports through two callbacks: `on_step(factor, step, steps)` after each denoising step
and `on_map(name, array)` as each map is ready. An exception raised by either (the studio's Stop)
ends the work at that point and propagates to the caller: that is how work is cancelled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import BadInput, shown
from ..graph import judge
from ..graph.scene_graph import SceneGraph
from ..inputs import MAX_SEED, check_text, number, whole_number

Progress = Callable[[str, int, int], None]  # (factor, step, steps)
# (name, map) as each is ready: the chosen segmentation (class ids), its depth ([0, 1]), the sketch
# (uint8); the image comes with the result.
MapReady = Callable[[str, np.ndarray], None]
RERUNS = ("depth", "sketch", "image")  # what a rerun starts from; everything after it reruns too
INVERSIONS = ("ddpm", "ddim")  # edit-friendly DDPM inversion (exact), DDIM inversion (approximate)


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, for the page and the CLI to shape their controls."""

    name: str  # "tiny", or a remote's address
    device: str  # "cpu", "cuda", or where a remote runs
    map_size: int  # the segmentation, depth and sketch a result gives out, and an edit takes
    picture_size: int
    factors: tuple[str, ...]  # in the chain's order; the last is the picture
    default_steps: dict[str, int]
    max_samples: int  # SBPC candidates per request
    max_steps: int
    schedulers: tuple[str, ...]
    inverts: bool = False  # can it take a picture from outside (issue 13)
    prompts: bool = False  # is the picture told words (a prompt; concepts may be any words)
    remote: bool = False
    reads_in: str = "tiny"  # the vocabulary of a picture's maps as `read` gives them (`graph/vocabularies`)
    draws_in: str = "tiny"  # the vocabulary a graph to generate is mapped into, and its maps are drawn in
    # The tables of the vocabularies above that are not shipped (a model trained on a dataset), as
    # `Vocabulary.to_json`: a page calling this backend from elsewhere learns them from here.
    vocabularies: tuple[dict, ...] = ()

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> Capabilities:
        d = dict(d)
        d["factors"], d["schedulers"] = tuple(d["factors"]), tuple(d["schedulers"])
        d["vocabularies"] = tuple(d.get("vocabularies", ()))
        return cls(**d)

    def register_vocabularies(self) -> None:
        """Make the vocabularies this backend brought known in this process (`vocabularies.register`)."""
        from ..graph import vocabularies

        for table in self.vocabularies:
            vocabularies.register(vocabularies.from_json(table, f"the {self.name} backend's vocabulary"))

    def steps_after(self, what: str) -> dict[str, int]:
        """The factors a rerun from `what` runs, with their default steps (for a progress bar)."""
        names = self.factors[self.factors.index(what):]
        return {f: self.default_steps.get(f, 1) for f in names}


@dataclass
class Options:
    """A request's settings. Empty per-factor tables mean the backend's defaults."""

    samples: int = 8
    steps: dict[str, int] = field(default_factory=dict)
    guidance: dict[str, float] = field(default_factory=dict)
    scheduler: str = ""  # "": each factor's own (the backend's choice); "ddim" or "dpm": every factor
    seed_offsets: dict[str, int] = field(default_factory=dict)  # added to the seed a factor's noise comes from
    only_named: bool = True  # the segmentation holds no thing class the graph does not name
    redraws: int = 1  # draws of an edited region of an inverted picture; the one read as the edit is kept
    # Backends told words (capabilities.prompts: sd): the prompt (empty: composed from the graph),
    # the negative prompt (empty: the backend's) and each condition's scale (empty: the backend's).
    prompt: str = ""
    negative_prompt: str = ""
    condition_scales: dict[str, float] = field(default_factory=dict)
    # An edit of an inverted picture is read back (tiny backend): a thing of the edited map not read
    # as its class is drawn again from other noise, up to this many draws in all (1: once).
    tries: int = 4
    # A generated picture is read back (tiny backend); one that loses what its map holds is drawn again
    # from other noise, up to this many draws in all (1: once, unchecked).
    picture_draws: int = 5
    # Placement (tiny backend): each candidate's layout is the best of this many jitters of its boxes,
    # judged against the graph (1: the first, unjudged; more measured no better, docs/history.md).
    layout_tries: int = 1
    # Maps (tiny backend): while no candidate's map is judged perfect, `samples` more are drawn from the
    # next seeds, up to this many rounds in all, and the `samples` best kept (1: one round, as asked).
    map_draws: int = 3
    # Pictures (tiny backend): where every draw of the chosen candidate's picture loses what its map
    # holds, the next best candidates whose maps hold as many objects are drawn too, up to this many in all.
    picture_candidates: int = 2
    # Layouts (tiny backend): mended where, drawn, they break the graph (a box moved inside its
    # container, onto its support); False: the encoder's boxes as jittered.
    mend_layout: bool = True

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict | None) -> Options:
        if d is None:
            return cls()
        if not isinstance(d, dict):
            raise BadInput("options must be a JSON object")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise BadInput(f"unknown option {shown(unknown[0])}; options are {', '.join(sorted(names))}"[:300])
        return cls(**{k: _OPTION_CHECKS[k](v, k) for k, v in d.items()})


# What JSON from outside may hold for each option: its type and a bound on its size, checked before
# a backend sees it (the backend's own checks, of factor names and ranges, run after).
_FACTOR_NAMES = ("segmentation", "depth", "sketch", "image")


def _table(check):
    def table(value: object, name: str) -> dict:
        if not isinstance(value, dict) or len(value) > len(_FACTOR_NAMES):
            raise BadInput(f"option {name}: a table of at most {len(_FACTOR_NAMES)} factors")
        unknown = [k for k in value if k not in _FACTOR_NAMES]
        if unknown:
            raise BadInput(f"option {name}: {shown(unknown[0])} is no factor; factors are {', '.join(_FACTOR_NAMES)}")
        return {k: check(v, f"option {name}[{k}]") for k, v in value.items()}
    return table


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise BadInput(f"option {name}: true or false, not {shown(value, 24)}")
    return value


def _words(value: object, name: str) -> str:
    if not isinstance(value, str) or len(value) > 2000:
        raise BadInput(f"option {name}: text of at most 2000 characters")
    return check_text(value, f"option {name}")


def _scheduler(value: object, name: str) -> str:
    if value not in ("", "ddim", "dpm"):
        raise BadInput(f"option {name}: ddim, dpm or empty (each factor's own), not {shown(value, 24)}")
    return value


_OPTION_CHECKS = {
    "samples": lambda v, n: whole_number(v, f"option {n}", 1, 64),
    "steps": _table(lambda v, n: whole_number(v, n, 1, 1000)),
    "guidance": _table(lambda v, n: number(v, n, 0.0, 20.0)),
    "scheduler": _scheduler,
    "seed_offsets": _table(lambda v, n: whole_number(v, n, 0, MAX_SEED)),
    "only_named": _flag,
    "redraws": lambda v, n: whole_number(v, f"option {n}", 1, 64),
    "prompt": _words,
    "negative_prompt": _words,
    "condition_scales": _table(lambda v, n: number(v, n, 0.0, 10.0)),
    "tries": lambda v, n: whole_number(v, f"option {n}", 1, 64),
    "picture_draws": lambda v, n: whole_number(v, f"option {n}", 1, 64),
    "layout_tries": lambda v, n: whole_number(v, f"option {n}", 1, 64),
    "map_draws": lambda v, n: whole_number(v, f"option {n}", 1, 64),
    "picture_candidates": lambda v, n: whole_number(v, f"option {n}", 1, 64),
    "mend_layout": _flag,
}


@dataclass(frozen=True)
class Candidate:
    """One SBPC candidate: its seed, segmentation, depth (None: not sampled) and verdict."""

    seed: int
    segmentation: np.ndarray
    depth: np.ndarray | None
    verdict: judge.Verdict

    def to_json(self) -> dict:
        v = self.verdict.to_json()
        areas = [self.verdict.regions[o.region].area for o in self.verdict.objects if o.region is not None]
        return {"seed": self.seed, "object_recall": self.verdict.object_recall,
                "relation_accuracy": self.verdict.relation_accuracy, "extra_things": len(self.verdict.extras),
                "smallest_object_pixels": min(areas, default=0), "objects": v["objects"], "extras": v["extras"]}


@dataclass(frozen=True)
class Result:
    """A generated (or rerun) scene, as plain values."""

    backend: str
    graph: SceneGraph  # in the tiny world's words
    seed: int
    options: Options  # as run: every factor's steps, guidance and seed offset filled in
    candidates: tuple[Candidate, ...]
    chosen: int
    segmentation: np.ndarray  # (S, S) class ids, S = map_size
    depth: np.ndarray  # (S, S) disparity in [0, 1], near is 1
    sketch: np.ndarray  # (S, S) uint8, 255 on edges
    image: np.ndarray  # (P, P, 3) uint8
    verdict: judge.Verdict  # of the segmentation with its depth
    seconds: dict[str, float]
    resolution: dict[str, int]  # each factor's own size
    state: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # the backend's, opaque
    # What a check after the run found that the person should know, a line each (an edit whose
    # redrawn region the segmenter did not read as the edited map in any draw).
    notes: tuple[str, ...] = ()
    # A picture read from outside: how familiar it is to the model that read it (`reading/familiar.py`:
    # {"score", "threshold", "familiar"}); familiar False: its maps and graph are not to be trusted.
    # None: not read from a picture, or a backend that does not score it. Edits of it carry it on.
    familiarity: dict | None = None
    # A picture read from outside: how sure the reading model was of each object of the graph it
    # derived (its mean probability of the class it read, over the object's pixels), by index; ().
    confidence: tuple[float, ...] = ()
    # The classes its maps and graph are in (`graph/vocabularies`): "tiny" for the tiny chain's, "ade20k"
    # for a picture the sd backend's extractors read. The judge, the edits and the page take it.
    vocabulary: str = "tiny"
    # The picture read back by the backend's reading model at the maps' size (class ids); None: not read.
    picture_reading: np.ndarray | None = None

    @property
    def picture_verdict(self) -> judge.Verdict | None:
        """The judge's verdict on the picture as read back (with the result's depth); None: not read."""
        if self.picture_reading is None:
            return None
        return judge.judge(self.graph.labels, self.graph.triples(), self.picture_reading, self.depth,
                           vocabulary=self.vocab)

    @property
    def vocab(self):
        from ..graph.vocabularies import load

        return load(self.vocabulary)

    @property
    def factor_seed(self) -> int:
        return self.candidates[self.chosen].seed

    @property
    def trusted(self) -> bool:
        """False for a picture the reading model does not know: its verdicts are not to be shown as facts."""
        return self.familiarity is None or bool(self.familiarity.get("familiar", True))

    @property
    def inverted(self) -> bool:
        """Whether the picture is inverted: an edit then redraws only what it changed."""
        return "inv_x_t" in self.state

    def judged(self, graph: SceneGraph, segmentation: np.ndarray | None = None) -> judge.Verdict:
        seg = self.segmentation if segmentation is None else segmentation
        return judge.judge(graph.labels, graph.triples(), seg, self.depth, vocabulary=self.vocab)


def report(result: Result, mapped=None) -> dict:
    """report.json: the graph as understood, mapping, verdicts, scores, seconds, seeds, candidates."""
    from ..graph.compliance import check

    out: dict = {
        "backend": result.backend,
        "vocabulary": result.vocabulary,
        "graph": result.graph.to_sg2im(),
        "seed": result.seed,
        "factor_seed": result.factor_seed,
        "settings": result.options.to_json(),
        "resolution": dict(result.resolution),
        "object_recall": result.verdict.object_recall,
        "relation_accuracy": result.verdict.relation_accuracy,
        "extra_things": len(result.verdict.extras),
        "verdict": result.verdict.to_json(),
        "seconds": {k: round(v, 4) for k, v in result.seconds.items()},
        **({"notes": list(result.notes)} if result.notes else {}),
        **({"familiarity": dict(result.familiarity)} if result.familiarity is not None else {}),
        **({"object_confidence": list(result.confidence)} if result.confidence else {}),
        **({"prompt": result.options.prompt, "negative_prompt": result.options.negative_prompt,
            "condition_scales": dict(result.options.condition_scales)} if result.options.prompt else {}),
        **({"picture": _picture_report(result)} if result.picture_reading is not None else {}),
        "chosen_candidate": result.chosen,
        "candidates": [c.to_json() for c in result.candidates],
    }
    if mapped is not None:
        out["mapping"] = mapped.to_json()
        out["source_verdict"] = check(mapped, result.segmentation, result.depth)
    return out


def _picture_report(result: Result) -> dict:
    """The picture's verdict, read back, beside the map's: what it keeps and what it loses."""
    v = result.picture_verdict
    return {"read_by": "the segmenter (the maps' classes, at the maps' size)",
            "object_recall": v.object_recall, "relation_accuracy": v.relation_accuracy,
            "extra_things": len(v.extras), "verdict": v.to_json()}


@runtime_checkable
class Backend(Protocol):
    """What the studio and the CLI call. A person's mistake is raised as `BadInput`; the callbacks'
    exceptions propagate (see the module's docstring)."""

    @property
    def capabilities(self) -> Capabilities: ...

    def warm_up(self) -> None:
        """Load what the first request would load, and run a small one."""

    def generate(self, graph: SceneGraph, seed: int = 0, options: Options | None = None,
                 on_step: Progress | None = None, on_map: MapReady | None = None) -> Result: ...

    def rerun(self, result: Result, segmentation: np.ndarray | None = None, what: str = "depth",
              options: Options | None = None, on_step: Progress | None = None,
              on_map: MapReady | None = None, *, depth: np.ndarray | None = None,
              sketch: np.ndarray | None = None) -> Result:
        """The factors from `what` on (depth, sketch or image), after an edited segmentation (the
        result's own when None), with the result's seeds, so what was not edited stays. `depth`: an
        edited depth map (the maps' size, disparity in [0, 1]), kept as it is (what is sketch or
        image); `sketch`: an edited sketch (0 or 255), kept as it is (what is image)."""

    def choose(self, result: Result, index: int, on_step: Progress | None = None,
               on_map: MapReady | None = None) -> Result:
        """Another SBPC candidate of the result, carried through the factors after it."""

    def read(self, picture: np.ndarray, seed: int = 0, options: Options | None = None, inversion: str = "ddpm",
             steps: int = 8, on_step: Progress | None = None, on_map: MapReady | None = None) -> Result:
        """A picture from outside (uint8 (H, W, 3), any size: centre-cropped and resized) as a result:
        its maps, the scene graph they show, and its inversion, so edits keep what they do not touch."""

    def invert(self, result: Result, inversion: str = "ddpm", steps: int = 8,
               on_step: Progress | None = None) -> Result:
        """The result with its picture inverted: from then on an edit redraws only what it changed."""

    def steer(self, result: Result, segmentations: list[np.ndarray], scales: list[float],
              on_step: Progress | None = None, on_map: MapReady | None = None, *, concepts=None) -> Result:
        """Concept edits of an inverted result: `segmentations` the edit's stages (each one concept
        further, `reading.concepts.plan`), each pulled towards by its scale inside its implicit mask.
        `concepts` (`parse_concepts(text, free_words=True)`): for a backend told words
        (`capabilities.prompts`), the words as written, steered towards or away from; others ignore
        them (their stages carry the edit)."""
