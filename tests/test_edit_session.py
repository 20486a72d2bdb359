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


# --- depth and sketch edits in a session ---------------------------------------------------------------


def _with_maps() -> Session:
    s = _session()
    depth = np.where(s.current == classes.class_id("dog"), 0.5, 0.1).astype(np.float32)
    s.result.depth, s.result.sketch = depth, np.zeros((64, 64), np.uint8)
    return s


def test_a_depth_edit_is_undone_and_reruns_from_the_sketch_with_its_depth():
    s = _with_maps()
    near, done = s.apply("depth", 15, 35, 0.25)
    assert "nearer" in done.message and (done.x, done.y) == (15, 35)
    dog = s.current == classes.class_id("dog")
    np.testing.assert_allclose(near.current_depth[dog], 0.75)
    assert np.array_equal(near.current_depth[~dog], s.current_depth[~dog]) and s.depth is None
    plan = near.rerun("depth")
    assert plan.what == "sketch" and plan.depth is near.depth and plan.note is None
    back, _ = near.apply("undo")
    assert back.depth is None and back.rerun("depth").what == "depth"
    again, _ = back.apply("redo")
    assert np.array_equal(again.current_depth, near.current_depth)
    # The segmentation edited after the depth: the depth follows the new map, and the person is told.
    moved, _ = near.apply("move_right", 15, 35, 5)
    plan = moved.rerun("depth")
    assert plan.what == "depth" and plan.depth is None and "depth was sampled again" in plan.note


def test_strokes_on_the_sketch_are_kept_by_a_rerun_of_the_picture():
    s = _with_maps()
    drawn, done = s.strokes("2,2,20,2")
    assert "Drew 19 pixels" in done.message and int((drawn.current_sketch > 0).sum()) == 19
    plan = drawn.rerun("image")
    assert plan.what == "image" and np.array_equal(plan.sketch, drawn.sketch)
    assert drawn.rerun("depth").sketch is None and "strokes were not kept" in drawn.rerun("depth").note
    erased, done = drawn.strokes("2,3,10,3", erase=True)
    assert "Erased" in done.message and not erased.current_sketch[2, :12].any() and erased.current_sketch[2, 15]
    with pytest.raises(BadInput, match="nothing to erase"):
        s.strokes("2,2,20,2", erase=True)
    for bad in ("2,2", "2,2,99,2", None, ""):
        with pytest.raises(BadInput):
            s.strokes(bad)
    undone, _ = erased.apply("undo")
    assert np.array_equal(undone.current_sketch, drawn.current_sketch)


def test_undo_after_a_rerun_gives_back_the_maps_before_the_edit():
    s = _with_maps()
    drawn, _ = s.strokes("2,2,20,2")
    rerun = SimpleNamespace(segmentation=s.current, depth=s.current_depth, sketch=drawn.current_sketch,
                            candidates=[])  # a rerun keeps the stroke: the new result's own sketch has it
    later = drawn.after(rerun)
    back, _ = later.apply("undo")
    assert not back.current_sketch.any()  # the sketch before the stroke, not the new result's
    plan = back.rerun("depth")  # the old result's depth belongs to its map: kept, so the sketch reruns
    assert plan.what == "sketch" and np.array_equal(plan.depth, s.current_depth)
