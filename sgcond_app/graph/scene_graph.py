"""`SceneGraph`: the value every part of the system passes around, and its validation rules.

Validation policy (the same for every input format):
- refused (`BadInput`): no objects; more than `MAX_OBJECTS` objects or `MAX_RELATIONS` relations;
  an empty label or one longer than `MAX_LABEL_CHARS`; more than `MAX_ATTRIBUTES` attributes; a
  relation index that is not an integer or is out of range; an empty predicate; a label, attribute
  or predicate holding a character that is not plain text (see `unsafe_character`): such text would
  act on the terminal that prints it, or fail later in a tokenizer.
- normalised and reported in `notes`: labels, attributes and predicates are lower-cased with
  whitespace collapsed; a self-loop (`0 next to 0`) is dropped; a repeated edge is kept once;
  a repeated attribute is kept once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import networkx as nx

from ..errors import BadInput, shown

MAX_OBJECTS = 24
MAX_RELATIONS = 64
MAX_LABEL_CHARS = 48
MAX_ATTRIBUTES = 8


def normalise_word(text: str) -> str:
    """Lower case, underscores as spaces, whitespace collapsed."""
    return re.sub(r"\s+", " ", text.replace("_", " ")).strip().lower()


# Control characters (C0, DEL, C1), bidirectional embeddings, overrides and isolates (they reorder
# what a terminal shows), and the surrogate range (a lone surrogate is not text and cannot be encoded).
_NOT_PLAIN = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def unsafe_character(text: str) -> str | None:
    """The first character of `text` that is not plain text, or None. Whitespace (tabs, line
    breaks) is plain: it only separates words."""
    for m in _NOT_PLAIN.finditer(text):
        if not m.group().isspace():
            return m.group()
    return None


def check_plain(text: str, what: str) -> None:
    """Refuse `text` (a label, attribute, predicate, a line) if it holds a character that is not
    plain text; `what` names it in the message."""
    c = unsafe_character(text)
    if c is None:
        return
    kind = "a lone surrogate (not valid Unicode)" if "\ud800" <= c <= "\udfff" else f"the control character {c!r}"
    raise BadInput(f"{what} holds {kind}; only plain text is allowed")


@dataclass(frozen=True)
class SGObject:
    label: str
    attributes: tuple[str, ...] = ()

    def phrase(self) -> str:
        return " ".join((*self.attributes, self.label))


@dataclass(frozen=True)
class Relation:
    subject: int
    predicate: str
    object: int


@dataclass(frozen=True)
class SceneGraph:
    objects: tuple[SGObject, ...]
    relations: tuple[Relation, ...] = ()
    # What validation changed (dropped self-loops, duplicates); not part of the graph's identity.
    notes: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def build(cls, objects: Iterable[tuple[str, Iterable[str]] | SGObject],
              relations: Iterable[tuple[int, str, int] | Relation] = ()) -> SceneGraph:
        """Validate and normalise raw objects and relations (see the module docstring)."""
        notes: list[str] = []
        objs: list[SGObject] = []
        raw_objects = list(objects)
        if not raw_objects:
            raise BadInput("the graph has no objects")
        if len(raw_objects) > MAX_OBJECTS:
            raise BadInput(f"the graph has {len(raw_objects)} objects; at most {MAX_OBJECTS} are allowed")
        for i, item in enumerate(raw_objects):
            label, attrs = (item.label, item.attributes) if isinstance(item, SGObject) else item
            if not isinstance(label, str):
                raise BadInput(f"object {i}: the label must be a string, not {type(label).__name__}")
            check_plain(label, f"object {i}: the label {shown(label)}")
            label = normalise_word(label)
            if not label:
                raise BadInput(f"object {i}: the label is empty")
            if len(label) > MAX_LABEL_CHARS:
                raise BadInput(f"object {i}: the label has {len(label)} characters; "
                               f"at most {MAX_LABEL_CHARS} are allowed")
            clean: list[str] = []
            for a in attrs:
                if not isinstance(a, str):
                    raise BadInput(f"object {i} ({label}): attributes must be strings")
                check_plain(a, f"object {i} ({label}): the attribute {shown(a)}")
                a = normalise_word(a)
                if not a or len(a) > MAX_LABEL_CHARS:
                    raise BadInput(f"object {i} ({label}): an attribute is empty or longer than "
                                   f"{MAX_LABEL_CHARS} characters")
                if a in clean:
                    notes.append(f"object {i} ({label}): repeated attribute '{a}' kept once")
                    continue
                clean.append(a)
            if len(clean) > MAX_ATTRIBUTES:
                raise BadInput(f"object {i} ({label}) has {len(clean)} attributes; "
                               f"at most {MAX_ATTRIBUTES} are allowed")
            objs.append(SGObject(label, tuple(clean)))

        rels: list[Relation] = []
        raw_relations = list(relations)
        if len(raw_relations) > MAX_RELATIONS:
            raise BadInput(f"the graph has {len(raw_relations)} relations; "
                           f"at most {MAX_RELATIONS} are allowed")
        for k, item in enumerate(raw_relations):
            s, p, o = (item.subject, item.predicate, item.object) if isinstance(item, Relation) else item
            for name, idx in (("subject", s), ("object", o)):
                if isinstance(idx, bool) or not isinstance(idx, int):
                    raise BadInput(f"relation {k}: the {name} must be an object index, not {shown(idx)}")
                if not 0 <= idx < len(objs):
                    raise BadInput(f"relation {k}: {name} index {shown(idx)} is out of range "
                                   f"(the graph has {len(objs)} objects, 0 to {len(objs) - 1})")
            if not isinstance(p, str) or not normalise_word(p):
                raise BadInput(f"relation {k}: the predicate must be a non-empty string")
            check_plain(p, f"relation {k}: the predicate {shown(p)}")
            p = normalise_word(p)
            if len(p) > MAX_LABEL_CHARS:
                raise BadInput(f"relation {k}: the predicate is longer than {MAX_LABEL_CHARS} characters")
            rel = Relation(s, p, o)
            if s == o:
                notes.append(f"relation {k} ({objs[s].label} {p} itself) is a self-loop: dropped")
                continue
            if rel in rels:
                notes.append(f"relation {k} ({objs[s].label} {p} {objs[o].label}) repeats an "
                             "earlier one: kept once")
                continue
            rels.append(rel)
        return cls(tuple(objs), tuple(rels), tuple(notes))

    # --- views ----------------------------------------------------------------------------------

    @property
    def labels(self) -> list[str]:
        return [o.label for o in self.objects]

    def triples(self) -> list[tuple[int, str, int]]:
        return [(r.subject, r.predicate, r.object) for r in self.relations]

    def to_sg2im(self) -> dict:
        """sg2im JSON; objects with attributes use the `{"label", "attributes"}` extension."""
        objs = [o.label if not o.attributes else {"label": o.label, "attributes": list(o.attributes)}
                for o in self.objects]
        return {"objects": objs, "relationships": [[r.subject, r.predicate, r.object] for r in self.relations]}

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_sg2im(), indent=indent)

    def names(self) -> list[str]:
        """Each object as the text format writes it: attributes, label, and `#k` (the k-th of its
        label) where several objects share a label."""
        counts: dict[str, int] = {}
        for o in self.objects:
            counts[o.label] = counts.get(o.label, 0) + 1
        seen: dict[str, int] = {}
        names = []
        for o in self.objects:
            seen[o.label] = seen.get(o.label, 0) + 1
            tag = f"#{seen[o.label]}" if counts[o.label] > 1 else ""
            names.append(" ".join((*o.attributes, o.label + tag)))
        return names

    def to_text(self) -> str:
        """The text format: one line per relation, then objects that no relation mentions.

        Objects that share a label get `#k` suffixes so that the text parses back to this graph.
        """
        names = self.names()
        lines = [f"{names[r.subject]} {r.predicate} {names[r.object]}" for r in self.relations]
        used = {r.subject for r in self.relations} | {r.object for r in self.relations}
        lines += [names[i] for i in range(len(self.objects)) if i not in used]
        return "\n".join(lines)

    def to_networkx(self) -> nx.MultiDiGraph:
        g = nx.MultiDiGraph()
        for i, o in enumerate(self.objects):
            g.add_node(i, label=o.label, attributes=list(o.attributes))
        for r in self.relations:
            g.add_edge(r.subject, r.object, predicate=r.predicate)
        return g
