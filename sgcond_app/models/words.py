"""Sentence-embedding vectors of words, cached in a table shipped beside the encoder's weights.

The graph encoder reads labels and predicates as all-MiniLM-L6-v2 vectors (384-d, unit norm)
through a learned projection, so a word it never saw in training lands near its meaning. Loading
MiniLM takes seconds, so the vectors of every word the tiny world knows (class names, predicates
and all their aliases) are computed once and shipped in `words.safetensors`; MiniLM is loaded only
for a word outside that table, and its vector is then kept for the rest of the process.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from ..graph import vocab
from ..graph.mapping import ATTRIBUTE_ALIASES
from ..world import classes

WORD_DIM = 384
TABLE_FILE = "words.safetensors"

# Synonyms the retrieval bench uses to test the open vocabulary. They are never shown to the encoder
# in training (the alias augmentation leaves them out), so the bench measures real generalisation.
HELD_OUT_SYNONYMS: dict[str, str] = {"dog": "puppy", "road": "street", "water": "ocean", "person": "man"}


def known_words() -> list[str]:
    """Every label and predicate word (with aliases) the table holds, sorted."""
    words = set(classes.CLASS_NAMES) | set(classes.LABEL_ALIASES) | set(vocab.PREDICATES)
    words |= set(vocab.PREDICATE_ALIASES) | set(vocab.SEMANTIC_PREDICATES)
    words |= set(vocab.ATTRIBUTES) | set(ATTRIBUTE_ALIASES) | set(HELD_OUT_SYNONYMS.values())
    return sorted(words)


def training_aliases() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(label -> aliases, predicate -> aliases) usable for augmentation: held-out synonyms excluded."""
    held = set(HELD_OUT_SYNONYMS.values())
    labels: dict[str, list[str]] = {c: [] for c in classes.CLASS_NAMES}
    for alias, target in classes.LABEL_ALIASES.items():
        if alias not in held and "-" not in alias:
            labels[target].append(alias)
    predicates: dict[str, list[str]] = {p: [] for p in vocab.PREDICATES}
    for alias, target in vocab.PREDICATE_ALIASES.items():
        predicates[target].append(alias)
    return labels, predicates


class WordTable:
    """word -> vector. Thread-safe; falls back to the embedding model for unknown words."""

    def __init__(self, words: list[str], vectors: torch.Tensor) -> None:
        if vectors.shape != (len(words), WORD_DIM):
            raise ValueError(f"word table: {len(words)} words but vectors of shape {tuple(vectors.shape)}")
        self._index = {w: i for i, w in enumerate(words)}
        self._rows = list(vectors.float().unbind(0))
        self._lock = threading.Lock()

    @classmethod
    def build(cls, words: list[str] | None = None) -> WordTable:
        from ..graph.mapping import get_embedder

        words = words or known_words()
        return cls(words, torch.from_numpy(get_embedder().embed(words)))

    @classmethod
    def load(cls, path: str | Path) -> WordTable:
        path = Path(path)
        if path.is_dir():
            path = path / TABLE_FILE
        data = load_file(str(path))
        words = path.with_suffix(".txt").read_text().split("\n")
        return cls(words, data["vectors"])

    def save(self, path: str | Path) -> None:
        path = Path(path)
        if path.is_dir():
            path = path / TABLE_FILE
        words = sorted(self._index, key=self._index.get)
        save_file({"vectors": torch.stack(self._rows).to(torch.float16).contiguous()}, str(path))
        path.with_suffix(".txt").write_text("\n".join(words))

    def __contains__(self, word: str) -> bool:
        return word in self._index

    def __len__(self) -> int:
        return len(self._index)

    def vectors(self, words: list[str]) -> torch.Tensor:
        """(len(words), 384) float32."""
        missing = sorted({w for w in words if w not in self._index})
        if missing:
            from ..graph.mapping import get_embedder

            new = get_embedder().embed(missing)
            with self._lock:
                for w, v in zip(missing, new):
                    if w not in self._index:
                        self._index[w] = len(self._rows)
                        self._rows.append(torch.from_numpy(np.asarray(v, dtype=np.float32)))
        if not words:
            return torch.zeros(0, WORD_DIM)
        return torch.stack([self._rows[self._index[w]] for w in words])
