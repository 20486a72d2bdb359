"""A person's editing session on one result: the segmentation, depth and sketch as edited, undo and
redo, the earlier results an object can be pasted from, and the operations with their arguments
checked once. Plain Python and numpy: the page wraps it, the tests use it without Gradio.

What a rerun starts from follows the edits (`Session.rerun`): an edited segmentation reruns the
depth, an edited depth the sketch (the depth kept as edited), an edited sketch the picture alone.
A depth edit belongs to the segmentation it was made on: when the segmentation is edited after it,
the depth is sampled again for the new one, and the rerun says that the depth edit was not kept."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import BadInput
from ..inputs import number, whole_number
from . import masks as ed
from . import relief

OPERATIONS = ("move_right", "move_left", "move_up", "move_down", "flip_horizontal", "flip_vertical", "resize",
              "delete", "paste", "depth", "undo", "redo")
STAGES = ("depth", "sketch", "image")  # what a rerun starts from, earliest first
MAX_EARLIER = 8  # earlier results kept per session as paste sources
MAX_UNDO = 100  # mask edits a session can undo (one map each)
DEFAULT_STEP = 8  # pixels a move takes when no amount is given
DEFAULT_SCALE = 1.25


@dataclass(frozen=True)
class Edit:
    """What an operation did: where the edited object is now (None after delete, undo and redo),
    a line for the person, and, when a move or a resize pushed the object past the edge, how many
    of its pixels were cut."""

    x: int | None
    y: int | None
    message: str
    cut: str | None = None


@dataclass(frozen=True)
class Maps:
    """The edited maps at one moment (None: the result's own), for undo and redo."""

    segmentation: np.ndarray | None
    depth: np.ndarray | None = None
    sketch: np.ndarray | None = None
    depth_for: np.ndarray | None = None  # the segmentation the edited depth was made on


@dataclass(frozen=True)
class Rerun:
    """What a rerun starts from and with: the stage, the edited maps to keep (None: the result's),
    and a line for the person when an edit could not be kept."""

    what: str
    segmentation: np.ndarray
    depth: np.ndarray | None
    sketch: np.ndarray | None
    note: str | None = None


@dataclass
class Session:
    mapped: object  # MappedGraph of the graph that was generated
    result: object  # backends.Result of the last (re)run
    history: list = field(default_factory=list)  # Maps before each edit, for undo
    segmentation: np.ndarray | None = None  # the edited one (None: the result's)
    future: list = field(default_factory=list)  # Maps undone, for redo
    earlier: list = field(default_factory=list)  # segmentations of earlier results, newest last
    backend: str = ""  # the page's name of the backend that made the result ("": the page's first)
    depth: np.ndarray | None = None  # the edited depth map (None: the result's)
    sketch: np.ndarray | None = None  # the edited sketch (None: the result's)
    depth_for: np.ndarray | None = None  # the segmentation the edited depth was made on

    @property
    def current(self) -> np.ndarray:
        return self.result.segmentation if self.segmentation is None else self.segmentation

    @property
    def current_depth(self) -> np.ndarray:
        return self.result.depth if self.depth is None else self.depth

    @property
    def current_sketch(self) -> np.ndarray:
        return self.result.sketch if self.sketch is None else self.sketch

    def _maps(self) -> Maps:
        """The maps now, for undo: the segmentation itself, the depth and sketch as edited (None: the
        result's; `after` makes them the old result's own when a rerun replaces it)."""
        return Maps(self.current, self.depth, self.sketch, self.depth_for)

    def _with(self, maps: Maps, history: list, future: list) -> Session:
        return replace(self, segmentation=maps.segmentation, depth=maps.depth, sketch=maps.sketch,
                       depth_for=maps.depth_for, history=history, future=future)

    def after(self, result) -> Session:
        """The session with a new result; the one it replaces becomes a paste source (where both are in
        one vocabulary: a thing of the tiny world's map cannot be pasted into a photo's ADE20K map)."""
        earlier = [*self.earlier, self.current][-MAX_EARLIER:]
        if getattr(result, "vocabulary", "tiny") != getattr(self.result, "vocabulary", "tiny"):
            earlier = []
        # What undo gives back after this: "the result's own" depth and sketch were the old result's.
        old_depth, old_sketch = getattr(self.result, "depth", None), getattr(self.result, "sketch", None)
        history = [m if m.depth is not None and m.sketch is not None else
                   Maps(m.segmentation, old_depth if m.depth is None else m.depth,
                        old_sketch if m.sketch is None else m.sketch,
                        self.result.segmentation if m.depth is None else m.depth_for) for m in self.history]
        return Session(self.mapped, result, history, None, [], earlier, self.backend)

    def rerun(self, asked: str = "depth") -> Rerun:
        """What a rerun asked to start from `asked` starts from, with the edits kept: an edited depth
        is kept (a rerun of the depth becomes one of the sketch) while the segmentation is the one it
        was made on; an edited sketch is kept by a rerun of the picture alone."""
        if asked not in STAGES:
            raise BadInput(f"rerun: what must be one of {', '.join(STAGES)}, not {str(asked)[:20]!r}")
        seg, depth, sketch, note = self.current, self.depth, self.sketch, None
        if depth is not None and not np.array_equal(self.depth_for, seg):
            depth, note = None, ("The segmentation changed after the depth was edited: the depth was sampled again "
                                 "for it. Edit the depth again to bring things nearer or farther.")
            asked = "depth"
        elif depth is not None and asked == "depth":
            asked = "sketch"
        if sketch is not None and asked != "image":
            sketch = None
            note = note or ("The sketch was drawn again, so its strokes were not kept: rerun the image alone to keep "
                            "them.")
        return Rerun(asked, seg, depth, sketch, note)

    def sources(self) -> dict[str, np.ndarray]:
        """Maps an object can be pasted from: this result's candidates and earlier results."""
        out = {f"candidate {k}": c.segmentation for k, c in enumerate(self.result.candidates)}
        n = len(self.earlier)
        out.update({f"earlier result {n - k}": seg for k, seg in enumerate(self.earlier)})
        return out

    def with_map(self, segmentation: np.ndarray) -> Session:
        """An edited segmentation, the current maps kept for undo; redo is forgotten."""
        return replace(self, history=[*self.history, self._maps()][-MAX_UNDO:], segmentation=segmentation,
                       future=[])

    def with_depth(self, segmentation: np.ndarray, depth: np.ndarray) -> Session:
        """An edited depth (with the segmentation its new order of occlusion made)."""
        return replace(self.with_map(segmentation), depth=depth, depth_for=segmentation)

    def with_sketch(self, sketch: np.ndarray) -> Session:
        """An edited sketch."""
        return replace(self, history=[*self.history, self._maps()][-MAX_UNDO:], sketch=sketch, future=[])

    def stroke(self, lines: np.ndarray, erase: bool = False) -> tuple[Session, Edit]:
        """Lines (a bool map at the sketch's size) drawn on the sketch, or the sketch cleared under
        them (grown by the eraser's width)."""
        sketch = np.asarray(self.current_sketch, np.uint8)
        lines = np.asarray(lines, bool)
        if lines.shape != sketch.shape:
            raise BadInput(f"a stroke is drawn on the {sketch.shape[1]}x{sketch.shape[0]} sketch, not on "
                           f"{'x'.join(map(str, lines.shape[::-1]))}"[:120])
        if not lines.any():
            raise BadInput("draw a stroke on the sketch first")
        out = relief.erased(sketch, lines) if erase else np.where(lines, np.uint8(255), sketch)
        changed = int(np.count_nonzero(out != sketch))
        if not changed:
            raise BadInput("nothing to erase there: no stroke of the sketch is under it" if erase
                           else "the stroke lies on the sketch's own lines: nothing changed")
        verb = "Erased" if erase else "Drew"
        return self.with_sketch(out.astype(np.uint8)), Edit(
            None, None, f"{verb} {changed} pixels of the sketch; rerun the image to see the picture follow.")

    def strokes(self, text: object, erase: bool = False) -> tuple[Session, Edit]:
        """A polyline X0,Y0,X1,Y1,... (map pixels) drawn on, or erased from, the sketch."""
        if not isinstance(text, str):
            raise BadInput("a stroke is points X0,Y0,X1,Y1,... as text")
        args = [a.strip() for a in text.split(",")] if text.strip() else []
        pts = relief.points(args, self.current_sketch.shape)
        return self.stroke(relief.line_pixels(pts, self.current_sketch.shape), erase)

    def apply(self, operation: str, x: object = None, y: object = None, amount: object = None,
              source: object = None) -> tuple[Session, Edit]:
        """One operation on the object under (x, y) (map pixels) -> the new session and what it did.
        `amount`: a move's pixels or a resize's scale (their defaults when empty); `source`: a paste's
        map (a key of `sources()`)."""
        if operation not in OPERATIONS:
            raise BadInput(f"unknown operation {operation!r}; one of {', '.join(OPERATIONS)}"[:300])
        if operation == "undo":
            if not self.history:
                raise BadInput("nothing to undo")
            return (self._with(self.history[-1], self.history[:-1], [*self.future, self._maps()]),
                    Edit(None, None, "Undone."))
        if operation == "redo":
            if not self.future:
                raise BadInput("nothing to redo")
            return (self._with(self.future[-1], [*self.history, self._maps()][-MAX_UNDO:], self.future[:-1]),
                    Edit(None, None, "Redone."))
        h, w = self.current.shape
        px, py = whole_number(x, "x", 0, w - 1), whole_number(y, "y", 0, h - 1)
        v = getattr(self.result, "vocab", None)  # the classes of the result's maps (None: the tiny world's)
        m = ed.Masks.from_segmentation(self.current, self.current_depth, v)
        expected = None
        if operation == "depth":
            iid = ed.pick(m, px, py)
            cid = int(self.current[py, px])
            out = relief.redepth(m, iid, amount)
            edited, line = self.with_depth(out.segmentation, out.depth), out.message[0].upper() + out.message[1:]
            still = m.mask(iid) & (out.segmentation == cid)  # where the thing still shows
            if not still.any():
                return edited, Edit(None, None, line + ".")
            if not still[py, px]:
                ys, xs = np.nonzero(still)
                k = int(np.argmin((xs - px) ** 2 + (ys - py) ** 2))
                px, py = int(xs[k]), int(ys[k])
            return edited, Edit(px, py, line + "; rerun to see the sketch and the picture follow.")
        if operation == "paste":
            sources = self.sources()
            if not isinstance(source, str) or source not in sources:
                raise BadInput(f"paste: choose a source ({', '.join(sources) or 'none yet'})")
            src = ed.Masks.from_segmentation(sources[source], vocabulary=v)
            out = ed.paste(m, src, ed.pick(src, px, py))
            iid = int(out.instances.max())
        else:
            iid = ed.pick(m, px, py)
            before = int(m.mask(iid).sum())
            if operation.startswith("move_"):
                step = DEFAULT_STEP if amount in (None, 0, "") else whole_number(amount, "the step", 1,
                                                                                   max(h, w) - 1)
                dx, dy = {"right": (step, 0), "left": (-step, 0), "up": (0, -step), "down": (0, step)}[
                    operation[5:]]
                out = ed.move(m, iid, dx, dy)
                px, py = px + dx, py + dy
                expected = before
            elif operation.startswith("flip_"):
                out = ed.flip(m, iid, operation[5:])
                expected = before
            elif operation == "resize":
                scale = (DEFAULT_SCALE if amount in (None, 0, "")
                         else number(amount, "the scale", 1 / ed.MAX_SCALE, ed.MAX_SCALE))
                out = ed.resize(m, iid, scale)
                expected = before * scale * scale
            else:
                out = ed.delete(m, iid)
                return self.with_map(out.segmentation), Edit(
                    None, None, f"Deleted the {m.label_of(iid)}; click another object to edit it.")
        cut = None
        if expected is not None:
            kept = int(out.mask(iid).sum())
            if kept < 0.9 * expected and kept < expected - 2:
                cut = (f"The {m.label_of(iid)} is partly outside the picture now: about {round(expected) - kept} "
                       f"of its {round(expected)} pixels were cut. Undo brings them back.")
        px, py = point_on(out, iid, px, py)
        return self.with_map(out.segmentation), Edit(px, py, picked_line(out.label_of(iid), px, py), cut)


def point_on(masks: ed.Masks, iid: int, x: float, y: float) -> tuple[int, int]:
    """The pixel of instance iid nearest (x, y): where the picked object is after an edit, or, from
    its centroid, a point on an object even when it is not convex."""
    ys, xs = np.nonzero(masks.mask(iid))
    k = int(np.argmin((xs - x) ** 2 + (ys - y) ** 2))
    return int(xs[k]), int(ys[k])


def picked_line(label: str, x: int, y: int) -> str:
    return f"Picked **{label}** at ({x}, {y}). Move, flip, resize or delete it below."
