"""Parsers: sg2im JSON (one graph or a list) and text triples, both into `SceneGraph`.

Text format: one triple or one object per line, or `;`-separated: `red car below sky; dog left of
car; tree`. Leading colour/size words are attributes. Mentions of the same label refer to the
same object unless their colours differ (`red car left of blue car`) or their `#k` tags differ
(`sheep#1 near sheep#2`; an untagged mention and a tagged one are different objects).
Lines starting with `#` are comments.

Sizes are refused before any parsing, so that a refusal takes milliseconds whatever the input: a
file over MAX_FILE_BYTES (a JSON file holds up to MAX_GRAPHS graphs), a text graph (one graph)
over MAX_TEXT_CHARS characters, MAX_CLAUSES clauses or MAX_CLAUSE_CHARS characters in a clause.
These are far above what the largest legal graph needs (24 objects, 64 relations, see
scene_graph.py), so only a wrong file or a paste gone wrong meets them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import BadInput, shown
from ..inputs import read_file
from . import sentences, vocab
from .scene_graph import MAX_LABEL_CHARS, MAX_OBJECTS, MAX_RELATIONS, SceneGraph, check_plain, normalise_word

MAX_FILE_BYTES = 2_000_000
MAX_GRAPHS = 1000
MAX_TEXT_CHARS = 50_000
MAX_CLAUSES = 200
MAX_CLAUSE_CHARS = 400

# Every predicate phrase the text parser recognises, longest first so `in front of` beats `in`.
_PREDICATE_PHRASES = sorted(
    set(vocab.PREDICATES) | set(vocab.PREDICATE_ALIASES) | set(vocab.SEMANTIC_PREDICATES),
    key=lambda p: (-len(p.split()), p),
)
# Each phrase's words -> its rank in that order: a clause is scanned once, not once per phrase.
_PHRASE_RANK = {tuple(p.split()): rank for rank, p in enumerate(_PREDICATE_PHRASES)}
_PHRASE_WORDS = max(len(words) for words in _PHRASE_RANK)


# --- sg2im JSON ---------------------------------------------------------------------------------


def _graph_from_dict(d: object, where: str) -> SceneGraph:
    if not isinstance(d, dict):
        raise BadInput(f"{where}: expected an object with \"objects\" and \"relationships\"")
    unknown = sorted(set(d) - {"objects", "relationships", "relations", "attributes", "instances", "image_id"})
    if "objects" not in d:
        raise BadInput(f"{where}: no \"objects\" list")
    raw_objs = d["objects"]
    if not isinstance(raw_objs, list):
        raise BadInput(f"{where}: \"objects\" must be a list")
    if len(raw_objs) > MAX_OBJECTS:
        raise BadInput(f"{where}: the graph has {len(raw_objs)} objects; at most {MAX_OBJECTS} are allowed")
    objects: list[tuple[str, list[str]]] = []
    for i, o in enumerate(raw_objs):
        if isinstance(o, str):
            objects.append((o, []))
        elif isinstance(o, dict) and isinstance(o.get("label", o.get("name")), str):
            attrs = o.get("attributes", [])
            if isinstance(attrs, str):
                attrs = [attrs]
            if not isinstance(attrs, list):
                raise BadInput(f"{where}: object {i}: \"attributes\" must be a list of strings")
            objects.append((o.get("label", o.get("name")), attrs))
        else:
            raise BadInput(f"{where}: object {i} must be a label string or {{\"label\": ..., \"attributes\": [...]}}")
    # sg2im keeps attributes apart as [[object, attribute], ...]; merge them in.
    extra = d.get("attributes", [])
    if isinstance(extra, list):
        for item in extra:
            if (isinstance(item, list) and len(item) == 2 and isinstance(item[0], int)
                    and isinstance(item[1], str) and 0 <= item[0] < len(objects)):
                objects[item[0]][1].append(item[1])
    rels = d.get("relationships", d.get("relations", []))
    if not isinstance(rels, list):
        raise BadInput(f"{where}: \"relationships\" must be a list of [subject, predicate, object]")
    if len(rels) > MAX_RELATIONS:
        raise BadInput(f"{where}: the graph has {len(rels)} relations; at most {MAX_RELATIONS} are allowed")
    triples = []
    for k, r in enumerate(rels):
        if isinstance(r, dict):
            r = [r.get("subject"), r.get("predicate"), r.get("object")]
        if not isinstance(r, list) or len(r) != 3:
            raise BadInput(f"{where}: relationship {k} must be [subject index, predicate, object index]")
        triples.append(tuple(r))
    try:
        graph = SceneGraph.build(objects, triples)
    except BadInput as e:
        raise BadInput(f"{where}: {e}") from None
    if unknown:
        graph = SceneGraph(graph.objects, graph.relations,
                           graph.notes + (f"ignored keys: {', '.join(shown(k, 24) for k in unknown[:8])}"
                                          f"{' ...' if len(unknown) > 8 else ''}",))
    return graph


def graph_from_json(d: object, where: str = "graph") -> SceneGraph:
    """One graph from its sg2im JSON value (a dict), checked as a file's graph is."""
    return _graph_from_dict(d, where)


def parse_json(text: str) -> list[SceneGraph]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise BadInput("invalid JSON: nested far too deeply for a graph") from None
    except ValueError:  # Python refuses to read integers of more than 4300 digits
        raise BadInput("invalid JSON: a number thousands of digits long") from None
    if isinstance(data, dict):
        return [_graph_from_dict(data, "graph")]
    if isinstance(data, list):
        if not data:
            raise BadInput("the file holds an empty list of graphs")
        if len(data) > MAX_GRAPHS:
            raise BadInput(f"the file holds {len(data)} graphs; at most {MAX_GRAPHS} are allowed")
        return [_graph_from_dict(d, f"graph {i}") for i, d in enumerate(data)]
    raise BadInput("the JSON must be a graph object or a list of graphs")


# --- text triples ------------------------------------------------------------------------------

# The tag of an object a relation's two equal mentions imply (`car left of car`): no word can be it.
_SECOND = "\x00second"


def mention(words: list[str], where: str) -> tuple[str, tuple[str, ...], str | None]:
    """`red small car#2` -> ("car", ("red", "small"), "2")."""
    attrs: list[str] = []
    i = 0
    while i < len(words) - 1 and words[i] in vocab.ATTRIBUTES:
        attrs.append(words[i])
        i += 1
    label = " ".join(words[i:])
    tag = None
    m = re.fullmatch(r"(.*?)\s*#\s*(\w+)", label)
    if m:
        label, tag = m.group(1), m.group(2)
    if not label:
        raise BadInput(f"{where}: an object has no label")
    if len(label) > MAX_LABEL_CHARS:  # refused here, not after every clause is read
        raise BadInput(f"{where}: the label {shown(label)} has {len(label)} characters; "
                       f"at most {MAX_LABEL_CHARS} are allowed")
    return label, tuple(attrs), tag


def _find_predicate(words: list[str]) -> tuple[int, int] | None:
    """Token span (i, j) of the longest known predicate phrase with words on both sides (of equal
    phrases, the first in `_PREDICATE_PHRASES` order, then the leftmost)."""
    best = None  # (rank, i, j)
    for i in range(1, len(words) - 1):
        for j in range(i + 1, min(i + _PHRASE_WORDS, len(words) - 1) + 1):
            rank = _PHRASE_RANK.get(tuple(words[i:j]))
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, i, j)
    return None if best is None else best[1:]


def parse_text(text: str) -> SceneGraph:
    if len(text) > MAX_TEXT_CHARS:
        raise BadInput(f"the graph text is {len(text)} characters; a text graph is at most {MAX_TEXT_CHARS}")
    lines = text.splitlines()
    for n, line in enumerate(lines):
        check_plain(line, f"line {n + 1}")
    clauses = [c.strip() for line in lines for c in line.split(";")]
    clauses = [c for c in clauses if c and not c.startswith("#")]
    if not clauses:
        raise BadInput("the graph text is empty")
    if len(clauses) > MAX_CLAUSES:
        raise BadInput(f"the graph text has {len(clauses)} clauses (triples or objects); "
                       f"at most {MAX_CLAUSES} are allowed")
    for n, clause in enumerate(clauses):
        if len(clause) > MAX_CLAUSE_CHARS:
            raise BadInput(f"line/clause {n + 1} has {len(clause)} characters; at most {MAX_CLAUSE_CHARS} "
                           "are allowed (separate triples with ; or new lines)")
    objects: list[list] = []  # [label, attrs, tag]
    triples: list[tuple[int, str, int]] = []
    notes: list[str] = []

    def resolve(label: str, attrs: tuple[str, ...], tag: str | None) -> int:
        for i, (lab, known, t) in enumerate(objects):
            if lab != label or t != tag:
                continue
            colours = {x for x in attrs if x in vocab.COLOURS}
            had = {x for x in known if x in vocab.COLOURS}
            if colours and had and colours != had:
                continue  # "red car" and "blue car" are two cars
            objects[i][1] = (*known, *(x for x in attrs if x not in known))
            return i
        if len(objects) >= MAX_OBJECTS:
            raise BadInput(f"the graph has more than {MAX_OBJECTS} objects; at most {MAX_OBJECTS} are allowed")
        objects.append([label, attrs, tag])
        return len(objects) - 1

    for n, clause in enumerate(clauses):
        where = f"line/clause {n + 1} ('{clause[:40]}')"
        words = normalise_word(clause).split()
        span = _find_predicate(words)
        if span is None and len(words) >= 3 and not all(w in vocab.ATTRIBUTES for w in words[:-1]):
            # Unknown predicate: attributes and one word for each side, the rest is the predicate.
            i = 0
            while i < len(words) - 2 and words[i] in vocab.ATTRIBUTES:
                i += 1
            j = len(words) - 1
            while j > i + 1 and words[j - 1] in vocab.ATTRIBUTES:
                j -= 1
            if j - (i + 1) >= 1:
                span = (i + 1, j)
        if span is None:
            resolve(*mention(words, where))
            continue
        i, j = span
        # Refused at the first clause too many or too long, not after every clause is read.
        if len(triples) == MAX_RELATIONS:
            raise BadInput(f"the graph has more than {MAX_RELATIONS} relations; at most {MAX_RELATIONS} are allowed")
        if len(" ".join(words[i:j])) > MAX_LABEL_CHARS:
            raise BadInput(f"{where}: the predicate {shown(' '.join(words[i:j]))} is longer than "
                           f"{MAX_LABEL_CHARS} characters")
        s = resolve(*mention(words[:i], where))
        label, attrs, tag = mention(words[j:], where)
        o = resolve(label, attrs, tag)
        if o == s and tag is None:
            # "car left of car" cannot mean one car beside itself: a second car is meant.
            o = len(objects)
            objects.append([label, attrs, f"{_SECOND}{o}"])
            notes.append(f"{where}: '{label} ... {label}' reads as two {label}s; later mentions of "
                         f"'{label}' are the first (write {label}#1 and {label}#2 to say which)")
        triples.append((s, " ".join(words[i:j]), o))
    if not any(c.isalpha() for lab, _, _ in objects for c in lab):
        raise BadInput("no object has a name: the labels have no letters (is this a graph?)")
    graph = SceneGraph.build([(lab, attrs) for lab, attrs, _ in objects], triples)
    return SceneGraph(graph.objects, graph.relations, tuple(notes) + graph.notes)


# --- entry points ------------------------------------------------------------------------------


def parse_graph_text(text: str) -> list[SceneGraph]:
    """JSON (starts with `{` or `[`), a description in sentences (`sentences.looks_like_sentences`:
    an article or a count before a word, or a final full stop; no `#`, and a `;` only before a final
    full stop) or text triples ->
    one or more graphs. A description's graph carries, in its notes, what each phrase became."""
    if len(text) > MAX_FILE_BYTES:
        raise BadInput(f"the graph text is {len(text)} characters; at most {MAX_FILE_BYTES} are allowed")
    stripped = text.lstrip("\ufeff").strip()  # a byte order mark is no part of the graph
    if not stripped:
        raise BadInput("the graph is empty")
    if stripped[0] in "{[":
        return parse_json(stripped)
    if sentences.looks_like_sentences(stripped):
        return [sentences.parse_sentences(stripped)]
    return [parse_text(stripped)]


def describe(text: str) -> sentences.Description:
    """A text box's contents as the page shows them: `parse_graph_text`'s graphs, whether they were
    read as sentences, each phrase and what it became ("two sheep" -> "sheep #1, sheep #2"), and the
    other notes (what was dropped and why, the attachment rule)."""
    return sentences.describe_graphs(parse_graph_text(text))


def load_graphs(path: str | Path) -> list[SceneGraph]:
    """Read a graph file: a `.json` file is always JSON; another is JSON if it starts with `{` or
    `[`, else text (triples or sentences, `parse_graph_text`). Raises BadInput for anything a person can get wrong."""
    path = Path(path)
    raw = read_file(path, MAX_FILE_BYTES, "graph files are")
    if not raw.strip():
        raise BadInput(f"{path}: the file is empty")
    try:
        text = raw.decode("utf-8-sig")  # a byte order mark (Windows editors write one) is dropped
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not a text file (it is not valid UTF-8)") from None
    if "\x00" in text:
        raise BadInput(f"{path}: not a text file (it contains NUL bytes)")
    try:
        if path.suffix.lower() == ".json":
            return parse_json(text)
        return parse_graph_text(text)
    except BadInput as e:
        raise BadInput(f"{path.name}: {e}") from None
