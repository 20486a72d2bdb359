"""The benches' registry: each bench registered once, by name, with a one-line help text and the
function that runs it; `run` dispatches through it and the command line takes its choices and its
help from it. Standard library only, so that building the command line's parser stays instant."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInput, shown

# Graphs written by people (not derived from renders): the default of the benches that take --graphs.
DEFAULT_GRAPHS = Path(__file__).resolve().parents[2] / "assets" / "graphs" / "people.json"


@dataclass(frozen=True)
class Options:
    """The command line's options, as every bench receives them; each bench reads those it uses."""

    n: int | None = None
    size: int = 64
    graphs: str | None = None
    weights: str | None = None
    samples: int = 8
    any_class: bool = False
    tiny: bool = False  # `bench sd --tiny`: tiny random Stable Diffusion parts on the CPU
    data: str | None = None  # `bench downstream`: a dataset source (KIND:PATH), e.g. one `dataset` wrote
    steps: int | None = None  # `bench downstream`: training steps of each model
    picture_draws: int | None = None  # compliance: `Settings.picture_draws` (None: the chain's default)
    layout_tries: int | None = None  # compliance: `Settings.layout_tries` (None: the chain's default)
    map_draws: int | None = None  # compliance: `Settings.map_draws` (None: the chain's default)
    mend_layout: bool = True  # compliance: `Settings.mend_layout` (`--no-mend`: the encoder's boxes as jittered)


Runner = Callable[[Options], dict]


@dataclass(frozen=True)
class Bench:
    name: str
    help: str  # one line, for `bench --help`
    run: Runner


REGISTRY: dict[str, Bench] = {}


def bench(name: str, help: str) -> Callable[[Runner], Runner]:
    """Register the decorated function as bench `name`; it takes the Options and returns the
    figures (a dict, printed one per line)."""
    if not help.strip() or "\n" in help:
        raise ValueError(f"bench {name!r}: the help text must be one line")

    def register(fn: Runner) -> Runner:
        if name in REGISTRY:
            raise ValueError(f"bench {name!r} is registered twice")
        REGISTRY[name] = Bench(name, help, fn)
        return fn

    return register


def run(what: str, **options) -> dict:
    """Run bench `what` with the command line's options (n, size, graphs, weights, samples,
    any_class, tiny, data, steps; those not given take the command line's defaults)."""
    entry = REGISTRY.get(what)
    if entry is None:
        raise BadInput(f"no bench is called {shown(what)} (benches: {', '.join(REGISTRY)})")
    return entry.run(Options(**options))

