"""The page's house rules, read from the source: no module of `sgcond_app/ui/` over 600 lines, and no
state at module level that two sessions (or two pages in one process) would share. What the
sessions of a page share is its `ui.state.Studio`, made by the app factory; what a session keeps is
its gr.State. Also: the handlers, bound to a Studio for the wiring, still show Gradio the
arguments it fills in (the request, the clicked item, the progress bar)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

UI = Path(__file__).resolve().parents[1] / "sgcond_app" / "ui"
MAX_LINES = 600

# Calls whose value cannot change: module constants may be made by them.
IMMUTABLE_CALLS = {"re.compile", "logging.getLogger", "Path", "Path.home", "str", "int", "float", "bool",
                   "typing.TypeVar", "TypeVar",
                   "_env_seconds"}  # files.py: a whole number of seconds read from the environment once
# Read-only whatever they wrap.
READ_ONLY = {"frozenset", "tuple", "MappingProxyType", "types.MappingProxyType"}
# The one exception, by (file, name): the process's temporary root in files.py (made on first use,
# removed at exit) and the prune threads' list of pages by cache. They belong to the process, as a
# logger does, and hold nothing of a page or a session.
ALLOWED = {("files.py", "_root"), ("files.py", "_root_pid"), ("files.py", "_lock"), ("files.py", "_pages")}


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None


def _immutable(node: ast.AST | None, frozen: set[str]) -> bool:
    """Whether an expression's value is one no code can change: a literal other than a list, dict or
    set, a tuple of such values, arithmetic, a type, a lambda, or a call in IMMUTABLE_CALLS (or of a
    frozen dataclass of the module)."""
    ok = lambda n: _immutable(n, frozen)  # noqa: E731
    if node is None or isinstance(node, ast.Constant | ast.JoinedStr | ast.Name | ast.Lambda):
        return True
    if isinstance(node, ast.Attribute):
        return ok(node.value)
    if isinstance(node, ast.Tuple):
        return all(map(ok, node.elts))
    if isinstance(node, ast.Starred):
        return ok(node.value)
    if isinstance(node, ast.BinOp):
        return ok(node.left) and ok(node.right)
    if isinstance(node, ast.UnaryOp):
        return ok(node.operand)
    if isinstance(node, ast.BoolOp | ast.Compare):
        return all(map(ok, node.values if isinstance(node, ast.BoolOp) else [node.left, *node.comparators]))
    if isinstance(node, ast.IfExp):
        return ok(node.test) and ok(node.body) and ok(node.orelse)
    if isinstance(node, ast.Subscript):
        return ok(node.value) and ok(node.slice)
    if isinstance(node, ast.Slice):
        return ok(node.lower) and ok(node.upper) and ok(node.step)
    if isinstance(node, ast.Call):
        name = _dotted(node.func)
        if name in READ_ONLY:
            return True
        args = all(map(ok, node.args)) and all(ok(k.value) for k in node.keywords)
        if name is None:  # a method of a value made here: Path(__file__).resolve()
            return isinstance(node.func, ast.Attribute) and ok(node.func.value) and args
        return (name in IMMUTABLE_CALLS or name in frozen) and args
    return False  # a list, a dict, a set, a comprehension


def _frozen_dataclasses(tree: ast.Module) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for d in node.decorator_list:
                if (isinstance(d, ast.Call) and _dotted(d.func) in ("dataclass", "dataclasses.dataclass")
                        and any(k.arg == "frozen" and getattr(k.value, "value", False) for k in d.keywords)):
                    out.add(node.name)
    return out


def _statements(body: list[ast.stmt]):
    """The statements that run when the module (or a class body) is executed, through if/try blocks."""
    for node in body:
        if isinstance(node, ast.If | ast.Try):
            yield from _statements(node.body + node.orelse + getattr(node, "finalbody", []) +
                                   [s for h in getattr(node, "handlers", []) for s in h.body])
        else:
            yield node


def module_state(source: str, filename: str = "module.py") -> list[str]:
    """What in a module's source holds state at module level (or in a class body): one line each."""
    tree = ast.parse(source, filename)
    frozen = _frozen_dataclasses(tree)
    found = []

    def bad(node: ast.AST, name: str, why: str) -> None:
        if (filename, name) not in ALLOWED:
            found.append(f"{filename}:{node.lineno}: {name}: {why}")

    def scan(body: list[ast.stmt], where: str) -> None:
        for node in _statements(body):
            if isinstance(node, ast.ClassDef):
                if node.name not in frozen:
                    scan(node.body, f"{node.name}.")
                continue
            if isinstance(node, ast.AugAssign):
                bad(node, ast.unparse(node.target), "changed at import")
                continue
            if isinstance(node, ast.Expr) and not isinstance(node.value, ast.Constant):
                bad(node, ast.unparse(node.value)[:60], "a call at import")
                continue
            if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names = target.elts if isinstance(target, ast.Tuple) else [target]
                for t in names:
                    if not isinstance(t, ast.Name):
                        bad(node, ast.unparse(t), "an attribute or item set at import")
                    elif not _immutable(node.value, frozen):
                        bad(node, where + t.id, f"a mutable value ({ast.unparse(node.value)[:60]})")

    scan(tree.body, "")
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            for name in node.names:
                bad(node, name, "rebound through `global`")
    return found


# Lines of ui/studio.py as it stood before the studio was split into rooms (issue 34): the check
# must find each of them.
OLD_STUDIO = '''
import threading
from collections import OrderedDict

_backend = None
_others: dict[str, object] = {}
_loaded: dict[str, object] = {}
_config = StudioConfig()
_lock = threading.Lock()
_loading = threading.RLock()
_running: dict[str, threading.Event] = {}
_asked: OrderedDict[str, str] = OrderedDict()


def configure(backend=None, config=None):
    global _backend, _config
    _backend, _config = backend, config
'''


def test_the_module_state_check_finds_what_the_old_studio_held():
    found = module_state(OLD_STUDIO, "studio.py")
    for name in ("_others", "_loaded", "_config", "_lock", "_loading", "_running", "_asked", "_backend"):
        assert any(f": {name}: " in line for line in found), (name, found)
    assert not any(": _backend: a mutable" in line for line in found)  # None is no state until rebound
    # ... and lets constants be.
    assert module_state('''
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

@dataclass(frozen=True)
class Button:
    name: str
    amount: float | None = None

UP = 4
DISPLAY = 64 * UP
HEADERS = ("a", "b")
BUTTONS = (Button("bigger", 1.25), Button("delete"))
SCHEME = re.compile(r"^x")
HERE = Path(__file__).resolve().parents[2] / "assets"
DIRECTIONS = MappingProxyType({"left of": (-1, 0)})
Position = tuple[float, float] | None
''') == []
    for mutable in ("X = []", "X = {}", "X = set()", "X = [k for k in range(3)]", "X = dict(a=1)",
                    "X = SomeClass()", "X = (1, [2])", "X.y = 3", "X += 1", "X.append(1)",
                    "class A:\n    cache = {}"):
        assert module_state(mutable), mutable


@pytest.mark.parametrize("path", sorted(UI.glob("*.py")), ids=lambda p: p.name)
def test_no_module_state_in_the_page(path: Path):
    """Module constants only: what the sessions of a page share is its Studio (ui/state.py)."""
    assert module_state(path.read_text(encoding="utf-8"), path.name) == []


def test_no_module_of_the_page_is_over_600_lines():
    long = {p.name: n for p in UI.rglob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, long


def test_two_pages_in_one_process_keep_their_own_backends():
    """Two Studios (as two create_demo calls make): each calls its own backend, offers its own choice,
    and the default tiny backend is made once for the process."""
    from types import SimpleNamespace

    from sgcond_app.ui.config import StudioConfig
    from sgcond_app.ui.state import Studio

    caps = SimpleNamespace(max_samples=8, prompts=False)
    a, b = (SimpleNamespace(generate=None, capabilities=caps) for _ in range(2))
    one = Studio(a, StudioConfig(max_samples=4), name="tiny", others={"sd": b})
    two = Studio(b)
    assert one.backend() is a and two.backend() is b and one.backend("sd") is b
    assert one.names() == ["tiny", "sd"] and two.names() == ["tiny"]
    assert (one.max_samples(), two.max_samples()) == (4, 8)
    assert Studio().backend() is Studio().backend()


def test_bound_handlers_show_gradio_the_arguments_it_fills_in():
    """A handler bound to the Studio keeps its type hints, by which Gradio hands it the request (for
    Stop), the clicked item and the progress bar; a functools.partial would hide them."""
    import gradio as gr
    from gradio.helpers import special_args

    from sgcond_app.ui import edit_room, graph_room
    from sgcond_app.ui.page import on_page
    from sgcond_app.ui.state import Studio
    from sgcond_app.ui.wiring import bound

    request = gr.Request(session_hash="abc")
    rerun = on_page(8)(bound(edit_room.rerun, Studio(), "depth", display=True))
    inputs, progress, _, _ = special_args(rerun, [None], request=request)
    assert inputs[1] is request and progress == 2
    example = on_page(4)(bound(graph_room.from_example, Studio()))
    clicked = gr.EventData(None, {"index": 1, "value": "x"})
    inputs, _, event, _ = special_args(example, ["canvas", None], event_data=clicked)
    assert event == 0 and isinstance(inputs[0], gr.SelectData) and inputs[0].index == 1
