"""The judge's words: the predicates it checks and their aliases, the predicates kept as meaning
(not checkable), and the attributes (colours and sizes).

The classes are not here: each model's are a vocabulary (`graph/vocabularies`), and the tiny
world's own table is `world/classes.py`.
"""

from __future__ import annotations

VOID = 255  # class id of a pixel whose colour is not in the palette

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 40, 40),
    "blue": (40, 70, 200),
    "green": (40, 150, 60),
    "yellow": (235, 205, 40),
    "white": (240, 240, 240),
    "black": (30, 30, 30),
    "brown": (120, 75, 40),
    "gray": (128, 128, 128),
    "orange": (240, 130, 30),
    "pink": (240, 150, 190),
}
SIZES: dict[str, float] = {"small": 0.7, "large": 1.4}
ATTRIBUTES: tuple[str, ...] = tuple(COLOURS) + tuple(SIZES)

# The ten predicates the judge can check (DESIGN.md, "Scene graphs").
GEOMETRIC = ("left of", "right of", "above", "below", "inside", "surrounding")
PREDICATES: tuple[str, ...] = GEOMETRIC + ("on", "in front of", "behind", "near")
DEPTH_PREDICATES = frozenset({"in front of", "behind"})
INVERSE: dict[str, str] = {
    "left of": "right of", "right of": "left of", "above": "below", "below": "above",
    "inside": "surrounding", "surrounding": "inside", "in front of": "behind",
    "behind": "in front of", "near": "near",
}

# Predicates: words of scene-graph datasets that mean one of the checkable ten.
PREDICATE_ALIASES: dict[str, str] = {
    "to the left of": "left of", "left": "left of", "on the left of": "left of",
    "to the right of": "right of", "right": "right of", "on the right of": "right of",
    "over": "above", "higher than": "above", "flying above": "above", "flying over": "above",
    "hanging above": "above", "up": "above",
    "under": "below", "beneath": "below", "underneath": "below", "lower than": "below",
    "in": "inside", "within": "inside", "inside of": "inside", "flying in": "inside",
    "in the middle of": "inside", "contained in": "inside",
    "surrounds": "surrounding", "around": "surrounding", "encircling": "surrounding",
    "containing": "surrounding", "contains": "surrounding",
    "on top of": "on", "standing on": "on", "sitting on": "on", "parked on": "on",
    "riding": "on", "riding on": "on", "walking on": "on", "lying on": "on", "laying on": "on",
    "resting on": "on", "grazing on": "on", "driving on": "on", "floating on": "on",
    "sailing on": "on", "mounted on": "on", "upon": "on", "onto": "on", "running on": "on",
    "standing in": "on", "walking in": "on", "parked in": "on", "grazing in": "on",
    "in front": "in front of", "before": "in front of", "in front of the": "in front of",
    "behind the": "behind", "in back of": "behind", "at the back of": "behind",
    "next to": "near", "beside": "near", "by": "near", "close to": "near", "besides": "near",
    "alongside": "near", "along": "near", "against": "near", "adjacent to": "near",
    "near to": "near", "nearby": "near", "at": "near",
}

# Relations scene-graph datasets use often that are about meaning, not geometry. They are kept in
# the graph as the person wrote them and reported as "not checkable"; the judge leaves them null.
SEMANTIC_PREDICATES: frozenset[str] = frozenset({
    "has", "have", "with", "of", "wearing", "wears", "holding", "holds", "carrying", "eating",
    "looking at", "watching", "playing", "playing with", "using", "belonging to", "part of",
    "made of", "covered in", "covering", "attached to", "hanging from", "pulling", "chasing",
    "following", "facing", "touching", "flying", "walking", "crossing", "across", "casting",
    "reflected in", "drinking", "feeding", "leading", "pushing", "talking to", "throwing",
    "catching", "painted on", "printed on", "says", "and", "is",
})


def colour_of(attributes) -> str | None:
    """The first colour word among a node's attributes, if any (the colour the world paints it)."""
    return next((a for a in attributes if a in COLOURS), None)

