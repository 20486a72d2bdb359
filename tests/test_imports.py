"""The package's import graph, read from the source with `ast` (every import statement: top-level,
relative and inside functions; those under `if TYPE_CHECKING:` never run and are left out): no
cycles among `sgcond_app` modules, no module importing the tests' oracles, and a command line whose
parser is built without the heavy libraries."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sgcond_app"


def _modules() -> dict[str, Path]:
    """Module name -> file, for every module of the package (a package is its __init__.py)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _import_nodes(tree: ast.AST):
    """Every Import and ImportFrom node, at any depth, except under `if TYPE_CHECKING:`."""
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        todo.extend(ast.iter_child_nodes(node))


def _imported(module: str, path: Path, known: dict[str, Path]) -> list[tuple[str, int]]:
    """(the full name a statement imports, its line) for each name an import statement brings in:
    `from .a import b` is module `pkg.a.b` where that is a module, else `pkg.a` (b is an attribute)."""
    out = []
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
            continue
        if node.level:
            base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            base = base[: len(base) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        for a in node.names:
            out.append((f"{target}.{a.name}" if f"{target}.{a.name}" in known else target, node.lineno))
    return out


def _graph() -> dict[str, dict[str, int]]:
    """module -> {package module it imports: the line of the first such import}."""
    known = _modules()
    edges: dict[str, dict[str, int]] = {m: {} for m in known}
    for module, path in known.items():
        for name, line in _imported(module, path, known):
            while name and name not in known:  # an attribute, or a module outside the package
                name = name.rpartition(".")[0]
            if name and name != module:
                edges[module].setdefault(name, line)
    return edges


def _cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(edges[w])))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_import_graph_is_read_from_the_source():
    """The reader itself: relative, function-local and attribute imports resolve as they should."""
    edges = _graph()
    assert "sgcond_app.bench.registry" in edges["sgcond_app.bench"]  # from .registry import ...
    assert "sgcond_app.bench.chain" in edges["sgcond_app.bench"]  # inside a runner: from . import chain
    assert "sgcond_app.bench.registry" in edges["sgcond_app.bench.world"]  # from .registry import DEFAULT_GRAPHS
    assert "sgcond_app.graph.judge" in edges["sgcond_app.bench.world"]  # from ..graph import judge (a module)
    assert "sgcond_app.errors" in edges["sgcond_app.cli"]
    assert _cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}) == [["a", "b", "c"]]


def test_no_import_cycles_among_the_package_modules():
    edges = _graph()
    cycles = _cycles(edges)
    described = ["; ".join(f"{a}:{line} -> {b}" for a in c for b, line in edges[a].items() if b in c)
                 for c in cycles]
    assert not cycles, "import cycles:\n" + "\n".join(described)


def _unit(module: str) -> str:
    """The package a module belongs to (`sgcond_app.fgdm.chain` -> `sgcond_app.fgdm`); a module
    directly in sgcond_app is its own unit (`sgcond_app.results`), the root package itself none."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else ""


def test_no_import_cycles_among_packages():
    """Packages, not only modules: no package imports one that imports it (the graph package imports
    nothing of the tiny world, which reads its class table from graph/vocabularies/tiny.json)."""
    edges: dict[str, dict[str, str]] = {}
    for module, imports in _graph().items():
        a = _unit(module)
        if not a:
            continue
        edges.setdefault(a, {})
        for name, line in imports.items():
            b = _unit(name)
            if b and b != a:
                edges[a].setdefault(b, f"{module}:{line} -> {name}")
    cycles = _cycles({a: dict.fromkeys(bs, 1) for a, bs in edges.items()})
    described = ["; ".join(edges[a][b] for a in c for b in edges[a] if b in c) for c in cycles]
    assert not cycles, "import cycles between packages:\n" + "\n".join(described)
    # The floors, from the bottom: what the chain and the backends use of `reading` imports neither;
    # result folders are written beside the command line (`results.py`), not under `reading`.
    assert "sgcond_app.world" not in edges["sgcond_app.graph"]
    for low, high in (("sgcond_app.reading", "sgcond_app.backends"), ("sgcond_app.reading", "sgcond_app.fgdm"),
                      ("sgcond_app.fgdm", "sgcond_app.backends"), ("sgcond_app.backends", "sgcond_app.data")):
        assert high not in edges[low], edges[low][high]


# The tiny world and what is trained on it or measures it: they may read its class table.
TINY_WORLD = ("sgcond_app.world", "sgcond_app.fgdm", "sgcond_app.models", "sgcond_app.training",
              "sgcond_app.bench", "sgcond_app.backends.tiny",
              # the sd backend draws the tiny chain's maps: their classes in ADE20K's colours, and the
              # words of a tiny random tokenizer
              "sgcond_app.backends.sd.palette", "sgcond_app.backends.sd.components")
TABLE = "sgcond_app.world.classes"


def test_outside_the_tiny_world_no_module_imports_its_class_list():
    """The judge, the mapping, the edits, the page, the CLI and the other backends take a vocabulary
    (`graph/vocabularies`); the tiny world's table is read by the tiny world, and once to make the
    `tiny` vocabulary."""
    edges = _graph()
    assert edges["sgcond_app.world.render"].get(TABLE)  # the reader sees `from . import classes` too
    allowed = {"sgcond_app.graph.vocabularies"}
    offending = [f"{m}:{edges[m][TABLE]}" for m in edges if TABLE in edges[m] and m not in allowed
                 and not any(m == p or m.startswith(p + ".") for p in TINY_WORLD)]
    assert not offending, "modules outside the tiny world import its class list: " + ", ".join(offending)
    for generic in ("sgcond_app.graph.judge", "sgcond_app.graph.mapping", "sgcond_app.editing.masks",
                    "sgcond_app.ui.graph_room", "sgcond_app.ui.generate_room", "sgcond_app.ui.pictures_room",
                    "sgcond_app.ui.edit_room", "sgcond_app.ui.result_views", "sgcond_app.cli",
                    "sgcond_app.reading.derive"):
        assert generic in edges and TABLE not in edges[generic]


def test_no_package_module_imports_the_tests_oracles():
    """The reference judge is a test oracle (tests/oracles); the runtime package never imports it
    (`bench judge` loads it by path in a source checkout, see sgcond_app/bench/world.py)."""
    known = _modules()
    offending = [f"{path.relative_to(ROOT)}:{line} imports {name}" for module, path in known.items()
                 for name, line in _imported(module, path, known)
                 if "judge_reference" in name or name.split(".")[0] in ("tests", "oracles")]
    assert not offending, offending
    assert not (PACKAGE / "graph" / "judge_reference.py").exists()


def test_building_the_command_line_imports_no_heavy_library():
    """`python -m sgcond_app bench --help` builds the parser with every bench's name and help from
    the registry, without numpy, torch or gradio."""
    code = ("import sys; from sgcond_app.cli import build_parser; build_parser(); "
            "print(' '.join(m for m in ('numpy', 'scipy', 'torch', 'gradio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
