"""`bench sentences`: descriptions in sentences read into graphs, against the graphs they meant.

A file is a JSON list of {"text", "objects": [label or {"label", "attributes"}], "relationships":
[[i, predicate, j], ...]}, the meant graph in the tiny world's words. Each text is read as the
command line and the page read it (`parse.parse_graph_text`, which tells sentences from triples,
then `mapping.map_graph`), and compared:

- objects: the meant objects and the ones read, each a (label, attributes) pair, matched as
  multisets (two sheep are two); precision, recall and F1 over the whole file, and the same by label
  alone.
- relations found: the share of meant relations (subject label, predicate, object label) that the
  graph read holds, each meant one matched to a different one read (two sheep on grass need two
  relations). A relation read the other way round by the inverse predicate (`sky above grass` for
  `grass below sky`) is the same relation to the judge, and is counted. Also the share of relations
  read that were meant (precision).
- texts that gave no graph (refused, or nothing the tiny world draws), milliseconds per text to parse
  (the sentence parser: pure Python) and to parse and map (the mapping embeds words no table or
  WordNet kind knows), both after a first pass over the file that warms WordNet's tables and the
  embedding (its seconds are printed too), and every failing case: the text, the graph meant and
  the graph read.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

from ..errors import BadInput

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FILE = ROOT / "assets" / "sentences" / "heldout.json"


def _meant(item: dict, where: str) -> tuple[list[tuple[str, frozenset]], list[tuple[str, str, str]]]:
    if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not isinstance(item.get("objects"), list):
        raise BadInput(f"{where}: expected {{\"text\", \"objects\", \"relationships\"}}")
    objects = []
    for o in item["objects"]:
        if isinstance(o, str):
            objects.append((o, frozenset()))
        elif isinstance(o, dict) and isinstance(o.get("label"), str):
            objects.append((o["label"], frozenset(o.get("attributes", []))))
        else:
            raise BadInput(f"{where}: an object must be a label or {{\"label\", \"attributes\"}}")
    relations = []
    for r in item.get("relationships", []):
        if not (isinstance(r, list) and len(r) == 3 and all(isinstance(r[k], int) and 0 <= r[k] < len(objects)
                                                             for k in (0, 2))):
            raise BadInput(f"{where}: a relationship must be [subject index, predicate, object index]")
        relations.append((objects[r[0]][0], r[1], objects[r[2]][0]))
    return objects, relations


def _read(text: str):
    """(objects, relations, (seconds to parse, seconds to parse and map), error) of the graph read from
    `text`; None objects where none came."""
    from ..graph.mapping import map_graph
    from ..graph.parse import parse_graph_text

    start = time.perf_counter()
    parsed = start
    try:
        graphs = parse_graph_text(text)
        parsed = time.perf_counter()
        mapped = map_graph(graphs[0])
    except BadInput as e:
        now = time.perf_counter()
        return None, [], (parsed - start if parsed > start else now - start, now - start), str(e)
    seconds = (parsed - start, time.perf_counter() - start)
    g = mapped.graph
    if g is None:
        return None, [], seconds, "no object the tiny world draws"
    objects = [(o.label, frozenset(o.attributes)) for o in g.objects]
    relations = [(g.objects[r.subject].label, r.predicate, g.objects[r.object].label) for r in g.relations]
    return objects, relations, seconds, ""


def _matched(meant: list, got: list) -> int:
    return sum((Counter(meant) & Counter(got)).values())


def _found(meant: list[tuple[str, str, str]], got: list[tuple[str, str, str]]) -> int:
    """Meant relations matched one to one to relations read (the inverse predicate turned round counts)."""
    from ..graph.vocab import INVERSE

    left = Counter(got)
    found = 0
    for s, p, o in meant:
        for key in ((s, p, o), (o, INVERSE.get(p), s)):
            if left[key] > 0:
                left[key] -= 1
                found += 1
                break
    return found


def _f1(tp: int, n_got: int, n_meant: int) -> tuple[float, float, float]:
    p = tp / n_got if n_got else 0.0
    r = tp / n_meant if n_meant else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _show(objects, relations) -> str:
    objs = ", ".join(" ".join((*sorted(a), lab)) for lab, a in objects)
    rels = "; ".join(f"{s} {p} {o}" for s, p, o in relations)
    return f"[{objs}] {{{rels}}}"


def run(path: str | None = None) -> dict:
    path = Path(path) if path else DEFAULT_FILE
    if not path.is_file():
        raise BadInput(f"bench sentences: {path}: no such file (a JSON list of {{text, objects, relationships}})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadInput(f"bench sentences: {path.name}: not JSON ({e})") from None
    if not isinstance(data, list) or not data:
        raise BadInput(f"bench sentences: {path.name}: expected a non-empty list of descriptions")
    cases = [(item["text"], *_meant(item, f"{path.name}: item {k}")) for k, item in enumerate(data)]
    first = time.perf_counter()
    for text, _, _ in cases:  # warm-up: WordNet's tables, the word caches, the embedding of unknown words
        _read(text)
    first = time.perf_counter() - first
    tp = tp_label = n_got = n_meant = 0
    rel_found = rel_meant = rel_got = rel_right = 0
    no_graph = 0
    seconds = []
    failures = {}
    for k, (text, meant_objects, meant_relations) in enumerate(cases):
        objects, relations, s, error = _read(text)
        seconds.append(s)
        n_meant += len(meant_objects)
        rel_meant += len(meant_relations)
        if objects is None:
            no_graph += 1
            failures[f"{k:03d}"] = f"{text!r} || meant {_show(meant_objects, meant_relations)} || got nothing: {error}"
            continue
        n_got += len(objects)
        hit = _matched(meant_objects, objects)
        tp += hit
        tp_label += _matched([lab for lab, _ in meant_objects], [lab for lab, _ in objects])
        found = _found(meant_relations, relations)
        rel_found += found
        rel_got += len(relations)
        rel_right += _found(relations, meant_relations)
        if hit != len(meant_objects) or hit != len(objects) or found != len(meant_relations):
            failures[f"{k:03d}"] = (f"{text!r} || meant {_show(meant_objects, meant_relations)} || got "
                                    f"{_show(objects, relations)}")
    p, r, f1 = _f1(tp, n_got, n_meant)
    lp, lr, lf1 = _f1(tp_label, n_got, n_meant)
    parse = sorted(1000 * p for p, _ in seconds)
    total = sorted(1000 * t for _, t in seconds)
    return {
        "file": str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
        "texts": len(cases),
        "objects_precision": p, "objects_recall": r, "objects_f1": f1,
        "labels_precision": lp, "labels_recall": lr, "labels_f1": lf1,
        "relations_found": rel_found / rel_meant if rel_meant else 0.0,
        "relations_precision": rel_right / rel_got if rel_got else 0.0,
        "relations_meant": rel_meant,
        "no_graph": no_graph,
        "ms_parse_mean": sum(parse) / len(parse),
        "ms_parse_p95": parse[min(len(parse) - 1, int(0.95 * len(parse)))],
        "ms_parse_max": parse[-1],
        "ms_parse_and_map_mean": sum(total) / len(total),
        "ms_parse_and_map_max": total[-1],
        "seconds_first_pass": first,
        "failing": len(failures),
        "failures": failures,
    }
