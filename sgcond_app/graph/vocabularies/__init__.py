"""Vocabularies as values: the classes a model reads or draws, which of them are stuff, their palette
and their aliases, each table with its source named. A model's config and a result name theirs
(`"vocabulary": "tiny"`); the judge, the mapping, the drawing and the page are to take the value,
not a module global (the tiny world's is the default where none is given).

A segmentation array in a vocabulary holds each class's position in `classes` (0 .. C-1; 255 for
none), whatever ids its dataset's files use. `python -m sgcond_app vocab NAME --json` prints one:
`{"name", "source", "classes": [{"id", "name", "stuff", "rgb"}]}`, ids as the dataset's own class
maps number them.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import BadInput

NAMES = ("tiny", "ade20k", "coco-stuff")
_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Vocabulary:
    name: str
    source: str
    ids: tuple[int, ...]  # each class's id in the dataset's class maps, in the order of `classes`
    classes: tuple[str, ...]
    stuff: tuple[bool, ...]
    palette: np.ndarray  # (C, 3) uint8, in the order of `classes`
    aliases: dict[str, str]  # another word -> the class it names
    # For graphs read off its maps: the stuff things stand on ("on" the road), things that are in the
    # air (never "on" anything), and the classes that are the sky.
    ground: frozenset[str] = frozenset()
    airborne: frozenset[str] = frozenset()
    sky: frozenset[str] = frozenset()
    # Classes a model paints in the colour a graph names (the tiny world's renderer and image factor).
    colourable: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_position", {n: k for k, n in enumerate(self.classes)})
        object.__setattr__(self, "stuff_positions", frozenset(k for k, s in enumerate(self.stuff) if s))

    def __len__(self) -> int:
        return len(self.classes)

    def is_stuff(self, name: str) -> bool:
        k = self._position.get(name)
        return k is not None and self.stuff[k]

    def position(self, name: str) -> int | None:
        """Where a class (by its name) is in `classes`: the value a segmentation array holds for it."""
        return self._position.get(name)

    def index(self, word: str) -> int | None:
        """The position of the class a word names (its name or an alias), or None."""
        w = " ".join(str(word).lower().split())
        name = w if w in self.classes else self.aliases.get(w)
        return None if name is None else self.classes.index(name)

    def colorize(self, class_map: np.ndarray) -> np.ndarray:
        """(H, W) positions in `classes` -> (H, W, 3) uint8 in this vocabulary's palette; others black."""
        ids = np.asarray(class_map)
        out = np.zeros(ids.shape + (3,), np.uint8)
        valid = (ids >= 0) & (ids < len(self.classes))
        out[valid] = self.palette[ids[valid].astype(np.int64)]
        return out

    def rgb(self, name: str) -> tuple[int, int, int]:
        """A class's colour by its name (black for a name it does not hold)."""
        k = self._position.get(name)
        return (0, 0, 0) if k is None else tuple(int(c) for c in self.palette[k])

    def to_json(self) -> dict:
        return {"name": self.name, "source": self.source, "ground": sorted(self.ground),
                "airborne": sorted(self.airborne), "sky": sorted(self.sky),
                "classes": [{"id": i, "name": n, "stuff": s, "rgb": [int(v) for v in rgb]}
                            for i, n, s, rgb in zip(self.ids, self.classes, self.stuff, self.palette, strict=True)]}


def or_tiny(vocabulary: Vocabulary | None) -> Vocabulary:
    """The vocabulary given, or the tiny world's (what every map of the tiny backend is in)."""
    return vocabulary if vocabulary is not None else load("tiny")


# Vocabularies a dataset brought, by name: those of the models this process loaded (a model trained on
# a dataset keeps its table in `vocabulary.json`; `register` makes its name known here).
_REGISTERED: dict[str, Vocabulary] = {}


def register(vocabulary: Vocabulary) -> Vocabulary:
    """Make a dataset's vocabulary known by its name (to `load`, and so to results, the judge and the
    page). The same table again is a no-op; another table under a name already known is refused."""
    known = _REGISTERED.get(vocabulary.name) or (_shipped(vocabulary.name) if vocabulary.name in NAMES else None)
    if known is not None:
        if known.classes != vocabulary.classes or known.stuff != vocabulary.stuff:
            raise BadInput(f"a vocabulary named {vocabulary.name[:40]!r} is known already with other classes: "
                           "name the dataset's vocabulary another way")
        return known
    _REGISTERED[vocabulary.name] = vocabulary
    return vocabulary


def known() -> tuple[str, ...]:
    """The names `load` takes: the shipped vocabularies and those registered in this process."""
    return NAMES + tuple(n for n in _REGISTERED if n not in NAMES)


def load(name: str) -> Vocabulary:
    """A vocabulary by name: a shipped one (tiny, ade20k, coco-stuff; one value each, shared), or one
    a loaded model brought (`register`)."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name not in NAMES:
        raise BadInput(f"no vocabulary {str(name)[:40]!r}; the vocabularies known here are {', '.join(known())} "
                       "(one a dataset brought is known once a model trained on it is loaded)")
    return _shipped(name)


@functools.cache
def _shipped(name: str) -> Vocabulary:
    """A shipped table (`NAME.json` here). The tiny world's is one of them: the world (`world/classes.py`)
    reads its classes from it, and nothing here reads the world."""
    data = json.loads((_HERE / f"{name}.json").read_text())
    classes = data["classes"]
    aliases = {a: c["name"] for c in classes for a in c.get("aliases", ())}
    return Vocabulary(data["name"], data["source"], tuple(int(c["id"]) for c in classes),
                      tuple(c["name"] for c in classes), tuple(bool(c["stuff"]) for c in classes),
                      np.array([c["rgb"] for c in classes], np.uint8), aliases, frozenset(data.get("ground", ())),
                      frozenset(data.get("airborne", ())), frozenset(data.get("sky", ())),
                      frozenset(data.get("colourable", ())))


def from_table(name: str, source: str, rows, ground=(), airborne=(), sky=()) -> Vocabulary:
    """A vocabulary a dataset brings (a COCO panoptic file's categories, a folder's class list): rows
    of (id, name, stuff, rgb or None). A class without a colour gets one of its own, far from the
    others' (hues around the colour wheel by the golden ratio)."""
    import colorsys

    rows = list(rows)
    names = [str(r[1]) for r in rows]
    if len(set(names)) != len(names):
        raise BadInput(f"{source}: a class is named twice")
    palette = []
    for k, r in enumerate(rows):
        rgb = r[3] if len(r) > 3 else None
        if rgb is None:
            rgb = [round(255 * c) for c in colorsys.hsv_to_rgb((k * 0.618034) % 1.0, 0.65, 0.9)]
        palette.append([int(c) for c in rgb])
    return Vocabulary(name, source, tuple(int(r[0]) for r in rows), tuple(names), tuple(bool(r[2]) for r in rows),
                      np.array(palette, np.uint8).reshape(-1, 3), {}, frozenset(ground), frozenset(airborne),
                      frozenset(sky))


def from_json(data: dict, where: str = "a vocabulary") -> Vocabulary:
    """A vocabulary from what `to_json` wrote (`vocabulary.json` beside a model trained on a dataset)."""
    try:
        rows = [(int(c["id"]), str(c["name"]), bool(c["stuff"]), [int(x) for x in c["rgb"]]) for c in data["classes"]]
        return from_table(str(data["name"]), str(data.get("source", where)), rows, data.get("ground", ()),
                          data.get("airborne", ()), data.get("sky", ()))
    except (KeyError, TypeError, ValueError):
        raise BadInput(f"{where}: not a vocabulary (name, classes with id, name, stuff, rgb)") from None
