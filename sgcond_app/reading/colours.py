"""The colour of a thing in a picture, in the world's colour words, and the pixels that carry it.

The tiny world paints the "body" of a colourable thing (a car's paint, a person's shirt, a dog's
coat) in the colour its graph names (`vocab.COLOURS`), or in its class's own body colour; every
other part keeps its class's colour (windows, wheels, skin). So a thing's colour is read from the
pixels that look like no other part of its class: each pixel goes to the nearest of the named
colours and the class's other parts, and the named colour with the most pixels, if it holds enough
of them, is the thing's colour. Shading and texture move a pixel by less than the colours are apart.
"""

from __future__ import annotations

import numpy as np

from ..graph import vocab, vocabularies
from ..world.shapes import ROLE_COLOURS

NAMES = tuple(vocab.COLOURS)
_NAMED = np.array([vocab.COLOURS[c] for c in NAMES], np.float32)
# A thing's colour needs at least this share of its pixels (the rest: other parts, edges, blur).
MIN_SHARE = 0.2


def _parts(label: str) -> np.ndarray:
    """(K, 3) the colours of the class's parts other than its body."""
    roles = ROLE_COLOURS.get(label, {})
    other = [rgb for role, rgb in roles.items() if role != "body"]
    return np.array(other, np.float32).reshape(-1, 3)


def _nearest(pixels: np.ndarray, label: str) -> np.ndarray:
    """(N,) for each pixel (N, 3): the index of its nearest named colour, or -1 where one of the
    class's other parts is nearer."""
    parts = _parts(label)
    named = ((pixels[:, None, :] - _NAMED[None]) ** 2).sum(-1)
    best = named.argmin(1)
    if len(parts):
        other = ((pixels[:, None, :] - parts[None]) ** 2).sum(-1).min(1)
        best = np.where(other < named.min(1), -1, best)
    return best


def _pixels(picture: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mask (a map's size or the picture's) at the picture's size, and its pixels (N, 3) float."""
    picture = np.asarray(picture)
    mask = np.asarray(mask, bool)
    k = picture.shape[0] // mask.shape[0]
    if k > 1:
        mask = np.kron(mask, np.ones((k, k), bool))
    return mask, picture[mask].astype(np.float32)


def read_colour(picture: np.ndarray, mask: np.ndarray, label: str) -> str | None:
    """The colour word of the thing of class `label` at `mask` (S, S or P, P bool) in `picture`
    (P, P, 3 uint8), or None when no named colour holds MIN_SHARE of its pixels."""
    _, px = _pixels(picture, mask)
    if not len(px):
        return None
    best = _nearest(px, label)
    counts = np.bincount(best[best >= 0], minlength=len(NAMES))
    if counts.max() < MIN_SHARE * len(px):
        return None
    return NAMES[int(counts.argmax())]


def body(picture: np.ndarray, mask: np.ndarray, label: str, colour: str) -> np.ndarray:
    """(P, P) bool: the thing's pixels that read as `colour` (its body), at the picture's size."""
    full, px = _pixels(picture, mask)
    out = np.zeros(full.shape, bool)
    if len(px):
        out[full] = _nearest(px, label) == NAMES.index(colour)
    return out


def named(graph, verdict, vocabulary=None) -> list[tuple[np.ndarray, str, str]]:
    """The things of `graph` found in `verdict` (the judge's, of the graph on a segmentation) that
    the graph names with a colour a model of `vocabulary` (default the tiny world's) paints on them
    -> (map mask (S, S), class, colour) each."""
    colourable = vocabularies.or_tiny(vocabulary).colourable
    out = []
    for o in verdict.objects:
        obj = graph.objects[o.index]
        want = vocab.colour_of(obj.attributes)
        if o.region is not None and want is not None and obj.label in colourable:
            out.append((verdict.regions[o.region].mask, obj.label, want))
    return out


def wanted(graph, verdict, picture: np.ndarray, vocabulary=None) -> list[tuple[np.ndarray, str, str, str]]:
    """The things whose colour the graph names and the picture does not show -> (map mask (S, S),
    class, colour read, colour named) each. A thing whose colour cannot be read (no named colour
    holds enough of its pixels) is left alone."""
    out = []
    for mask, label, want in named(graph, verdict, vocabulary):
        have = read_colour(picture, mask, label)
        if have is not None and have != want:
            out.append((mask, label, have, want))
    return out
