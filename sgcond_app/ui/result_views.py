"""What the page shows of a session's result: the maps and the overlay at display size, the relations
table, the legend of objects, the SBPC candidates, the before/after slider. Pure functions of a
session (`editing.session.Session`, None before the first result); every room shows through them."""

from __future__ import annotations

from dataclasses import replace

import gradio as gr
import numpy as np

from .. import pictures
from ..editing.session import Session, point_on
from ..graph import judge

UP = 4  # the page shows the 64 px maps at 256 px
DISPLAY = 64 * UP  # and every other picture at that size too (the 128 px image in 2x2 blocks)
MAP_HEIGHT = 220  # pixels on screen for the 64x64 maps
RELATION_HEADERS = ("subject", "predicate", "object", "holds on the map", "in the picture")
# A result's outputs (`outputs`): the segmentation, depth, sketch, image and overlay, report.json,
# the relations, and last the session.
SESSION = 7
N_OUTPUTS = 8


def overlay(image: np.ndarray, seg: np.ndarray, x: int | None = None, y: int | None = None,
            vocabulary=None) -> np.ndarray:
    """The image with the segmentation's colours (in `vocabulary`, the result's) over it; the object
    under (x, y), in map pixels, outlined."""
    outline = None
    if x is not None and y is not None and 0 <= x < seg.shape[1] and 0 <= y < seg.shape[0]:
        from ..editing import masks as ed

        m = ed.Masks.from_segmentation(seg, vocabulary=vocabulary)
        iid = int(m.instances[int(y), int(x)])
        if iid and not m.is_stuff(iid):
            outline = m.mask(iid)
    return pictures.overlay(image, seg, outline, vocabulary)


def up(picture: np.ndarray, display: bool) -> np.ndarray:
    """The page shows every picture at UP times the maps' 64 px (a 64 px map in blocks of UP pixels,
    the 128 px image in blocks of UP / 2): Gradio's click position is only right for pictures drawn
    at their own size or smaller, and the same size everywhere lets a click anywhere mean the same
    map pixel. The API returns them as they are."""
    return pictures.blocks(picture, max(1, DISPLAY // picture.shape[0])) if display else picture


def map_picture(name: str, m: np.ndarray, vocabulary, display: bool) -> np.ndarray:
    """One map (segmentation, depth or sketch) as the page shows it."""
    return up(pictures.map_rgb(name, m, vocabulary), display)


def maps(result, display: bool = False) -> tuple:
    """The segmentation, depth, sketch and image of a result, as pictures."""
    return tuple(up(pictures.map_rgb(name, m, result.vocab), display) for name, m in (
        ("segmentation", result.segmentation), ("depth", result.depth), ("sketch", result.sketch),
        ("image", result.image)))


def relations(session: Session, seg: np.ndarray | None = None) -> list[list[str]]:
    """One row per relation of the graph: judged on `seg`, or, without one, the result's own verdict.
    A relation of a missing object fails and says which is missing; one that cannot be judged is n/a."""
    g = session.mapped.graph
    v = session.result.verdict if seg is None else judge.judge(g.labels, g.triples(), seg, session.current_depth,
                                                               vocabulary=session.result.vocab)
    # The picture, read back, belongs to the maps it was drawn from: after an edit, until the rerun, it has none.
    edited = seg is not None and (not np.array_equal(seg, session.result.segmentation) or session.depth is not None
                                  or session.sketch is not None)
    on_picture = None if edited else session.result.picture_verdict
    rows = []
    for k, r in enumerate(v.relations):
        rows.append([f"{g.objects[r.subject].phrase()} #{r.subject}", r.predicate,
                     f"{g.objects[r.object].phrase()} #{r.object}", _holds(r, session.result.trusted),
                     "rerun to see" if edited else ("not read" if on_picture is None
                                                    else _holds(on_picture.relations[k], session.result.trusted))])
    return rows


def _holds(r, trusted: bool) -> str:
    """A relation's verdict as the page's table shows it."""
    holds = "n/a" if r.holds is None else ("yes" if r.holds else "NO")
    if r.reason and r.holds is not None:
        holds += f" ({r.reason})"
    if not trusted:  # read off a picture the reading model does not know
        holds += " (not to be trusted: an unfamiliar picture)"
    return holds


def outputs(session: Session | None, display: bool) -> tuple:
    """What the maps, the overlay, the report and the relations show for a session, and the session
    (all empty before the first result)."""
    from ..backends import report

    if session is None:
        return (None,) * N_OUTPUTS
    r = session.result
    return (*maps(replace(r, segmentation=session.current), display),
            up(overlay(r.image, session.current, vocabulary=r.vocab), display), report(r, session.mapped),
            relations(session, None if session.segmentation is None else session.current), session)


def legend_html(session: Session | None) -> str:
    """One row per object of the current segmentation (class colour, label, where it is); a click on
    a row picks that object (LEGEND_JS)."""
    if session is None:
        return "<p class='sg-legend-empty'>Generate a scene to see its objects here.</p>"
    from ..editing import masks as ed
    from ..graph.judge import MIN_PIXELS

    v = session.result.vocab
    m = ed.Masks.from_segmentation(session.current, vocabulary=v)
    g = session.result.graph
    verdict = judge.judge(g.labels, g.triples(), session.current, session.result.depth, vocabulary=v)
    extra = np.zeros(session.current.shape, bool)
    for i in verdict.extras:
        extra |= verdict.regions[i].mask
    rows = []
    for iid in range(1, int(m.instances.max()) + 1):
        mask = m.mask(iid)
        if mask.sum() < MIN_PIXELS:  # specks no judge counts
            continue
        label = m.label_of(iid)
        x, y = point_on(m, iid, *ed.centroid(m, iid))
        r, g_, b = v.rgb(label)
        kind = "stuff" if m.is_stuff(iid) else "object"
        unasked = kind == "object" and bool((extra & mask).any())
        note = " <em class='sg-unasked' title='the graph did not ask for it'>not in the graph</em>" if unasked else ""
        rows.append(f"<tr data-x='{x}' data-y='{y}' class='sg-{kind}{' sg-extra' if unasked else ''}'>"
                    f"<td><span class='sg-swatch' style='background:rgb({r},{g_},{b})'></span></td>"
                    f"<td>{label}{note}</td><td>{kind}</td><td>({x}, {y})</td><td>{int(mask.sum())} px</td></tr>")
    return ("<table class='sg-legend'><thead><tr><th></th><th>class</th><th></th><th>at (x, y)</th>"
            "<th>area</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


LEGEND_JS = """
element.addEventListener('click', ev => {
  const row = ev.target.closest('tr[data-x]');
  if (row) trigger('pick', {x: Number(row.dataset.x), y: Number(row.dataset.y)});
});
"""


def candidates(session: Session | None) -> list[tuple[np.ndarray, str]]:
    """The SBPC candidates with their scores, for the gallery (none for a read picture)."""
    if session is None or session.result.inverted:  # a read picture has no candidates to choose from
        return []
    out = []
    for k, c in enumerate(session.result.candidates):
        rel = c.verdict.relation_accuracy
        n = len(c.verdict.extras)
        extra = f", {n} not asked for" if n else ""
        chosen = " (chosen)" if k == session.result.chosen else ""
        out.append((session.result.vocab.colorize(c.segmentation),
                    f"#{k} seed {c.seed}: recall {c.verdict.object_recall:.2f}, relations "
                    f"{'n/a' if rel is None else f'{rel:.2f}'}{extra}{chosen}"))
    return out


def paste_sources(session: Session | None) -> dict[str, np.ndarray]:
    """The maps an object can be pasted from, by the name the Paste from choice shows."""
    return {} if session is None else session.sources()


def before_after(session: Session | None):
    """The read picture and the picture now, for the comparison slider (hidden for generated ones)."""
    if session is None or not session.result.inverted:
        return gr.update(visible=False)
    before = np.asarray(session.result.state["inv_picture"], np.uint8)
    return gr.update(value=(up(before, True), up(session.result.image, True)), visible=True)
