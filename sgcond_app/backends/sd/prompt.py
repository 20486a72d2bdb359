"""The prompt Stable Diffusion draws from: a scene graph in words, in the person's own words.

The segmentation ControlNet gets the layout, but only in ADE20K's classes (a sheep and a dog are one
"animal" colour, see `palette.py`), and the tiny world has dropped or mapped some of the person's
words ("broccoli": dropped, "sailboat" -> boat). So the prompt is composed from the graph as the
person wrote it (`MappedGraph.source`, when there is one): each object with its attributes, then
each relation ("the dog to the left of the red car"), then a few words of style.

CLIP reads at most 77 tokens, its start and end tokens included; what is beyond is cut off by the
pipeline without a word. So the composer counts (with the model's tokenizer when it has one, else
an estimate) and, while the prompt is too long, leaves out relations (the layout carries them
already), last first, then the style words, then objects, last first (stuff is listed last, so the
sky goes before the dog). What was left out is reported with the prompt.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ...errors import BadInput
from ...graph import vocabularies
from ...graph.mapping import MappedGraph
from ...graph.scene_graph import SceneGraph, check_plain

MAX_TOKENS = 77  # CLIP's context, start and end tokens included
MAX_CHARS = 2000  # a prompt a person typed: more is not a prompt
PREFIX = "a photograph of "
STYLE = "highly detailed, natural light"
NEGATIVE = ("lowres, blurry, low quality, jpeg artifacts, deformed, distorted, disfigured, cartoon, drawing, "
            "painting, text, watermark, signature")

Counter = Callable[[str], int]  # text -> its length in CLIP tokens, start and end tokens included

# Written as a phrase reads: "the dog to the left of the car", not "the dog left of the car".
_PREDICATE_WORDS = {"left of": "to the left of", "right of": "to the right of"}
# Nouns that take no article ("grass"), or "the" ("the sky": there is one).
_MASS = frozenset({"grass", "water", "sand", "snow", "dirt", "gravel", "mud", "ice", "fog", "smoke", "broccoli",
                   "asphalt", "pavement", "foliage", "vegetation", "ground"})
_UNIQUE = frozenset({"sky", "sun", "moon", "sea", "ocean", "horizon"})
_IRREGULAR = {"person": "people", "man": "men", "woman": "women", "child": "children", "sheep": "sheep",
              "deer": "deer", "fish": "fish", "mouse": "mice", "goose": "geese", "foot": "feet", "ox": "oxen",
              "cattle": "cattle", "people": "people", "leaf": "leaves", "knife": "knives", "wolf": "wolves"}
_NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


@dataclass(frozen=True)
class Prompt:
    text: str
    negative: str
    tokens: int  # of `text`, as counted (the tokenizer's, or the estimate)
    dropped: tuple[str, ...] = ()  # the phrases left out to stay within MAX_TOKENS

    def lines(self) -> list[str]:
        """For a person: what was left out, one line each."""
        return [f"left out of the prompt (CLIP reads {MAX_TOKENS} tokens): {d}" for d in self.dropped]


def estimate_tokens(text: str) -> int:
    """CLIP tokens of `text` without its tokenizer: a word or a punctuation mark each (CLIP's
    vocabulary holds most English words whole), plus the start and end tokens."""
    return len(re.findall(r"[^\W\d_]+|\d|[^\w\s]+", text.lower())) + 2


def token_counter(tokenizer) -> Counter:
    """The exact count from a CLIP tokenizer (transformers')."""
    return lambda text: len(tokenizer(text, truncation=False, verbose=False)["input_ids"])


def plural(noun: str) -> str:
    """The plural of the last word of `noun` ("red car" -> "red cars")."""
    head, _, last = noun.rpartition(" ")
    if last in _IRREGULAR:
        word = _IRREGULAR[last]
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        word = last + "es"
    elif len(last) > 1 and last.endswith("y") and last[-2] not in "aeiou":
        word = last[:-1] + "ies"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


def _with_article(phrase: str, label: str) -> str:
    if label in _UNIQUE:
        return f"the {phrase}"
    if label in _MASS:
        return phrase
    return f"{'an' if phrase[:1] in 'aeiou' else 'a'} {phrase}"


def _phrase(label: str, attributes: tuple[str, ...]) -> str:
    return " ".join((*attributes, label))


def _objects(graph: SceneGraph, stuff: list[bool]) -> list[str]:
    """The objects in words, things first, alike ones counted ("two white sheep")."""
    groups: dict[str, list[int]] = {}
    for i, o in enumerate(graph.objects):
        groups.setdefault(_phrase(o.label, o.attributes), []).append(i)
    things = [p for p, ix in groups.items() if not stuff[ix[0]]]
    rest = [p for p, ix in groups.items() if stuff[ix[0]]]
    out = []
    for phrase in things + rest:
        ix = groups[phrase]
        label = graph.objects[ix[0]].label
        if len(ix) == 1:
            out.append(_with_article(phrase, label))
        else:
            n = _NUMBERS[len(ix)] if len(ix) < len(_NUMBERS) else str(len(ix))
            out.append(f"{n} {plural(phrase)}")
    return out


def _relations(graph: SceneGraph) -> list[str]:
    out = []
    for r in graph.relations:
        s, o = graph.objects[r.subject], graph.objects[r.object]
        words = _PREDICATE_WORDS.get(r.predicate, r.predicate)
        out.append(f"the {_phrase(s.label, s.attributes)} {words} the {_phrase(o.label, o.attributes)}")
    return out


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _assemble(objects: list[str], relations: list[str], style: str) -> str:
    return PREFIX + ", ".join([_listed(objects), *relations, *([style] if style else [])])


def _stuff_flags(graph: SceneGraph, mapped: MappedGraph | None, vocabulary=None) -> list[bool]:
    """Whether each object is stuff (listed last), by the class it maps onto (in `vocabulary`, default
    the tiny world's, for a plain graph; a mapped graph's classes are the tiny world's)."""
    v = vocabularies.or_tiny(vocabulary if mapped is None else None)
    if mapped is None:
        return [v.is_stuff(o.label) for o in graph.objects]
    out = []
    for i, o in enumerate(graph.objects):
        j = mapped.source_to_graph[i] if i < len(mapped.source_to_graph) else None
        cls = mapped.graph.objects[j].label if j is not None and mapped.graph is not None else o.label
        out.append(v.is_stuff(cls))
    return out


def fit(text: str, count: Counter, limit: int = MAX_TOKENS) -> str:
    """`text` cut at a word boundary to at most `limit` tokens."""
    words = text.split(" ")
    while len(words) > 1 and count(" ".join(words)) > limit:
        words.pop()
    return " ".join(words).rstrip(",")


def checked(text, what: str) -> str | None:
    """A prompt a person gave, before any tokenizer sees it: plain text of at most MAX_CHARS
    characters, stripped (None stays None)."""
    if text is None:
        return None
    if not isinstance(text, str) or len(text) > MAX_CHARS:
        raise BadInput(f"{what} must be text of at most {MAX_CHARS} characters")
    check_plain(text, what)
    return text.strip()


def for_request(mapped: MappedGraph, prompt: str | None = None, negative: str | None = None,
                composer: Callable[[MappedGraph], Prompt] | None = None) -> tuple[str, str]:
    """A request's (prompt, negative prompt), as the CLI and the studio put them in `Options`: the
    person's own where they wrote one, else composed from the graph in their words and the default
    negative prompt. `composer`: the backend's own (`SDBackend.prompt`, which fits the prompt to
    CLIP's 77 tokens with the model's tokenizer); else `compose`, which estimates the tokens (a
    rare word, cut into several tokens by CLIP, may then be counted short)."""
    prompt, negative = checked(prompt, "the prompt"), checked(negative, "the negative prompt")
    composed = (composer or compose)(mapped)
    return (prompt or "").strip() or composed.text, (negative or "").strip() or composed.negative


def compose(graph: SceneGraph | MappedGraph, negative: str = NEGATIVE, count: Counter | None = None,
            limit: int = MAX_TOKENS, style: str = STYLE, vocabulary=None) -> Prompt:
    """The prompt for a graph: a `MappedGraph` (the person's words are used, the ones the tiny world
    dropped included), or a `SceneGraph` as it is, in `vocabulary`'s classes (default the tiny world's)."""
    count = count or estimate_tokens
    mapped = graph if isinstance(graph, MappedGraph) else None
    words = mapped.source if mapped is not None else graph
    objects = _objects(words, _stuff_flags(words, mapped, vocabulary))
    relations = _relations(words)
    dropped: list[str] = []
    text = _assemble(objects, relations, style)
    while count(text) > limit:
        if relations:
            dropped.append(relations.pop())
        elif style:
            dropped.append(style)
            style = ""
        elif len(objects) > 1:
            dropped.append(objects.pop())
        else:
            cut = fit(text, count, limit)
            dropped.append(text[len(cut):].strip(" ,"))
            text = cut
            break
        text = _assemble(objects, relations, style)
    negative = fit(negative, count, limit) if negative else ""
    return Prompt(text, negative, count(text), tuple(dropped))
