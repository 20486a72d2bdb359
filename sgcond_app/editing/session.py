"""A person's editing session on one result: the segmentation as edited, undo and redo, the
earlier results an object can be pasted from, and the mask operations with their arguments
checked once. Plain Python and numpy: the page wraps it, the tests use it without Gradio."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import BadInput
from ..inputs import number, whole_number
from . import masks as ed

OPERATIONS = ("move_right", "move_left", "move_up", "move_down", "flip_horizontal", "flip_vertical", "resize",
              "delete", "paste", "undo", "redo")
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


@dataclass
class Session:
    mapped: object  # MappedGraph of the graph that was generated
    result: object  # backends.Result of the last (re)run
    history: list = field(default_factory=list)  # segmentations before each edit, for undo
    segmentation: np.ndarray | None = None  # the edited one (None: the result's)
    future: list = field(default_factory=list)  # segmentations undone, for redo
    earlier: list = field(default_factory=list)  # segmentations of earlier results, newest last
    backend: str = ""  # the page's name of the backend that made the result ("": the page's first)

    @property
    def current(self) -> np.ndarray:
        return self.result.segmentation if self.segmentation is None else self.segmentation

    def after(self, result) -> Session:
        """The session with a new result; the one it replaces becomes a paste source (where both are in
        one vocabulary: a thing of the tiny world's map cannot be pasted into a photo's ADE20K map)."""
        earlier = [*self.earlier, self.current][-MAX_EARLIER:]
        if getattr(result, "vocabulary", "tiny") != getattr(self.result, "vocabulary", "tiny"):
            earlier = []
        return Session(self.mapped, result, self.history, None, [], earlier, self.backend)

    def sources(self) -> dict[str, np.ndarray]:
        """Maps an object can be pasted from: this result's candidates and earlier results."""
        out = {f"candidate {k}": c.segmentation for k, c in enumerate(self.result.candidates)}
        n = len(self.earlier)
        out.update({f"earlier result {n - k}": seg for k, seg in enumerate(self.earlier)})
        return out

    def with_map(self, segmentation: np.ndarray) -> Session:
        """An edited segmentation, the current one kept for undo; redo is forgotten."""
        return replace(self, history=[*self.history, self.current][-MAX_UNDO:], segmentation=segmentation,
                       future=[])

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
            return (replace(self, history=self.history[:-1], segmentation=self.history[-1],
                            future=[*self.future, self.current]), Edit(None, None, "Undone."))
        if operation == "redo":
            if not self.future:
                raise BadInput("nothing to redo")
            return (replace(self, history=[*self.history, self.current][-MAX_UNDO:], segmentation=self.future[-1],
                            future=self.future[:-1]), Edit(None, None, "Redone."))
        h, w = self.current.shape
        px, py = whole_number(x, "x", 0, w - 1), whole_number(y, "y", 0, h - 1)
        v = getattr(self.result, "vocab", None)  # the classes of the result's maps (None: the tiny world's)
        m = ed.Masks.from_segmentation(self.current, self.result.depth, v)
        expected = None
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
