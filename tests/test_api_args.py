"""The studio's API arguments, generated (hypothesis): whatever a client sends as a graph, a seed, a
count, an operation, a pixel, an amount, a paste source, a candidate or a canvas, the answer is a
result or one clear message (`gr.Error`, the client's AppError) — never an internal error.

The handlers are called as the API calls them (wrapped by `page.as_api`); a result is generated
once with the shipped models, and where valid arguments would run the chain, the run is replaced
by a marker so that hundreds of cases take seconds.
"""

from __future__ import annotations

import json

import gradio as gr
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sgcond_app.backends import RERUNS
from sgcond_app.editing.session import OPERATIONS, Session
from sgcond_app.ui import edit_room, generate_room, graph_room, running, sample_page
from sgcond_app.ui.page import as_api
from sgcond_app.ui.state import Studio
from sgcond_app.ui.wiring import bound

STUDIO = Studio()  # the page's backends, as the app factory makes them (the shipped tiny backend)

# Anything JSON can carry, and then some: what a client may send for a number or a name.
ANY = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["7", " 12 ", "1e300", "nan", "-1", "3.5", "0x10", "٣", "\ud800", "\x1b[31m"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
CASES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _clean(call) -> object:
    """call() -> its result; a gr.Error must be one short line that is not an internal error."""
    try:
        return call()
    except gr.Error as e:
        message = str(e.message)
        assert not message.startswith("internal error"), message
        assert "\n" not in message and len(message) < 600, message
        return e


@pytest.fixture(scope="module")
def session() -> Session:
    *_, made = list(generate_room.generate(STUDIO, "sky above grass; red car on grass; tree left of red car", 3, 3,
                                           None))[-1]
    assert isinstance(made, Session)
    return made


@pytest.fixture()
def no_chain(monkeypatch: pytest.MonkeyPatch) -> list:
    """The chain's run replaced by a marker: validation is what is tested."""
    ran: list = []

    def stream(*args, **kwargs):
        ran.append(args)
        yield ("ran",)

    monkeypatch.setattr(running, "stream_result", stream)
    return ran


@CASES
@given(operation=st.one_of(st.sampled_from(OPERATIONS), ANY), x=ANY, y=ANY, amount=ANY,
       source=st.one_of(st.sampled_from(["candidate 0", "candidate 2", "earlier result 1", ""]), ANY))
def test_edit_mask_answers_any_arguments(session, operation, x, y, amount, source) -> None:
    out = _clean(lambda: as_api(edit_room.edit_mask_api)(operation, x, y, amount, source, session))
    if not isinstance(out, gr.Error):
        seg, over, rows, nx, ny, new = out
        assert seg.shape == (64, 64, 3) and isinstance(new, Session)


@CASES
@given(x=st.integers(0, 63), y=st.integers(0, 63), op=st.sampled_from(OPERATIONS[:8]),
       amount=st.one_of(st.none(), st.integers(-100, 100), st.floats(0.1, 5)))
def test_edits_on_any_pixel_keep_the_map_whole(session, x, y, op, amount) -> None:
    """Every pixel and every move, flip or resize: a new map of the same size, or a message."""
    out = _clean(lambda: as_api(edit_room.edit_mask_api)(op, x, y, amount, "", session))
    if not isinstance(out, gr.Error):
        assert out[0].shape == (64, 64, 3) and out[-1].segmentation.shape == (64, 64)


@CASES
@given(graph=st.one_of(st.sampled_from(["sky above grass; dog on grass", "", "{", "[]", "5", "dog"]), ANY),
       seed=ANY, samples=ANY)
def test_generate_answers_any_arguments(no_chain, graph, seed, samples) -> None:
    out = _clean(lambda: list(as_api(bound(generate_room.generate, STUDIO))(graph, seed, samples, None)))
    if not isinstance(out, gr.Error):
        assert out == [("ran",)]  # only a valid graph, seed and count reach the chain


@CASES
@given(index=ANY, what=st.one_of(st.sampled_from(RERUNS), ANY))
def test_choose_and_rerun_answer_any_arguments(session, no_chain, index, what) -> None:
    choose, rerun = bound(generate_room.choose, STUDIO), bound(edit_room.rerun, STUDIO)
    for call in (lambda: list(as_api(choose)(index, session)),
                 lambda: list(as_api(rerun)(what, session))):
        out = _clean(call)
        assert isinstance(out, gr.Error) or out == [("ran",)]
    assert isinstance(_clean(lambda: list(as_api(choose)(index, None))), gr.Error)


@CASES
@given(text=st.one_of(st.text(max_size=200), ANY))
def test_export_and_the_graph_views_answer_any_text(text) -> None:
    out = _clean(lambda: as_api(graph_room.export_graph)(text))
    assert isinstance(out, gr.Error) or json.loads(open(out, encoding="utf-8").read())["objects"]
    _clean(lambda: as_api(bound(graph_room.from_text, STUDIO))(text, None, None))


@CASES
@given(value=st.one_of(
    st.text(max_size=100),
    st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
                 lambda inner: st.one_of(st.lists(inner, max_size=4),
                                         st.dictionaries(st.sampled_from(["objects", "relationships", "label",
                                                                          "attributes", "x", "y", "rev"]),
                                                         inner, max_size=4)),
                 max_leaves=20).map(json.dumps)))
def test_the_canvas_answers_any_value(value) -> None:
    _clean(lambda: as_api(bound(graph_room.from_canvas, STUDIO))(value, None))


class _Event:
    def __init__(self, data) -> None:
        self._data = data


@CASES
@given(data=st.one_of(ANY, st.fixed_dictionaries({"x": ANY, "y": ANY})))
def test_a_legend_click_answers_any_data(session, data) -> None:
    _clean(lambda: as_api(edit_room.pick_row)(_Event(data), session))


@settings(max_examples=60, deadline=None)
@given(seed=ANY, size=st.one_of(st.sampled_from([64, "64", 100]), ANY))
def test_the_tiny_world_sample_answers_any_arguments(seed, size) -> None:
    out = _clean(lambda: as_api(sample_page.show_sample)(seed, size))
    if not isinstance(out, gr.Error):
        assert isinstance(out[0], np.ndarray)
