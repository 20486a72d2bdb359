"""The editing session without Gradio: operations checked once, undo and redo, paste sources,
the cut warning, and the person's map never lost to a refused operation."""

from types import SimpleNamespace

import numpy as np
import pytest

from sgcond_app.editing.session import MAX_EARLIER, MAX_UNDO, Session
from sgcond_app.errors import BadInput
from sgcond_app.world import classes


def _session() -> Session:
    seg = np.full((64, 64), classes.class_id("sky"), np.uint8)
    seg[40:, :] = classes.class_id("grass")
    seg[30:44, 10:24] = classes.class_id("dog")
    other = seg.copy()
    other[10:20, 40:50] = classes.class_id("car")
    result = SimpleNamespace(segmentation=seg, depth=np.zeros((64, 64), np.float32),
                             candidates=[SimpleNamespace(segmentation=seg), SimpleNamespace(segmentation=other)])
    return Session(mapped=None, result=result)


def test_move_undo_redo():
    s = _session()
    moved, done = s.apply("move_right", 15, 35, 5)
    assert (moved.current[30:44, 15:29] == classes.class_id("dog")).all()
    assert done.x is not None and moved.current[done.y, done.x] == classes.class_id("dog")
    assert "dog" in done.message and done.cut is None
    back, _ = moved.apply("undo")
    assert np.array_equal(back.current, s.current)
    again, _ = back.apply("redo")
    assert np.array_equal(again.current, moved.current)
    with pytest.raises(BadInput, match="nothing to redo"):
        again.apply("redo")


def test_a_move_past_the_edge_says_what_was_cut():
    _, done = _session().apply("move_left", 15, 35, 20)
    assert done.cut and "partly outside" in done.cut


def test_paste_delete_and_sources():
    s = _session()
    assert list(s.sources()) == ["candidate 0", "candidate 1"]
    pasted, done = s.apply("paste", 45, 15, None, "candidate 1")
    assert (pasted.current[10:20, 40:50] == classes.class_id("car")).all()
    gone, done = pasted.apply("delete", 45, 15)
    assert done.x is None and "car" in done.message and not (gone.current == classes.class_id("car")).any()
    later = gone.after(SimpleNamespace(segmentation=s.current, candidates=[]))
    assert "earlier result 1" in later.sources() and later.segmentation is None


def test_refused_operations_change_nothing():
    s = _session()
    for args in (("spin", 1, 1), ("move_right", 3, 3), ("move_right", 99, 3), ("move_right", "x", 3),
                 ("resize", 15, 35, 100), ("paste", 45, 15, None, "candidate 9"), ("undo",)):
        with pytest.raises(BadInput):
            s.apply(*args)
    assert s.segmentation is None and not s.history


def test_history_and_earlier_are_bounded():
    s = _session()
    for _ in range(MAX_UNDO + 5):
        s, _ = s.apply("flip_horizontal", 15, 35)
    assert len(s.history) == MAX_UNDO
    for _ in range(MAX_EARLIER + 3):
        s = s.after(s.result)
    assert len(s.earlier) == MAX_EARLIER
