"""Draw a scene graph as a node-link PNG with PIL alone (no graphviz), for the page and reports.

Nodes are rounded boxes reading "attr attr label"; relations are arrows with the predicate at their
middle. A judge's verdicts colour the drawing: a relation that holds is green, one that fails red,
one that cannot be judged grey; an absent object is drawn dashed and red.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import networkx as nx
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .scene_graph import SceneGraph

# Everything is drawn at SUPERSAMPLE times the requested size and shrunk at the end: PIL draws
# lines and shapes without anti-aliasing, and shrinking smooths them.
SUPERSAMPLE = 2

BACKGROUND = (250, 250, 252)
NODE_FILL = (232, 240, 252)
NODE_OUTLINE = (60, 90, 140)
TEXT = (25, 30, 40)
EDGE_DEFAULT = (85, 95, 110)
GREEN = (30, 140, 60)
RED = (214, 39, 40)
GREY = (165, 165, 170)
PRESENT_FILL = (230, 246, 234)
ABSENT_FILL = (253, 236, 236)
LABEL_FILL = (255, 255, 255)

Point = tuple[float, float]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass
class _Box:
    """A node's box, centred at (x, y), in supersampled pixels."""

    text: str
    w: float
    h: float
    x: float = 0.0
    y: float = 0.0

    def rect(self, grow: float = 0.0) -> tuple[float, float, float, float]:
        return (self.x - self.w / 2 - grow, self.y - self.h / 2 - grow,
                self.x + self.w / 2 + grow, self.y + self.h / 2 + grow)

    def contains(self, p: Point, grow: float = 0.0) -> bool:
        x0, y0, x1, y1 = self.rect(grow)
        return x0 <= p[0] <= x1 and y0 <= p[1] <= y1


def draw_graph(graph: SceneGraph, size: tuple[int, int] = (640, 420),
               edge_status: dict[int, bool | None] | None = None,
               object_status: dict[int, bool | None] | None = None) -> Image.Image:
    """Draw `graph` as an RGB image of `size` (width, height).

    `edge_status[k]` colours relation k: True green, False red, None grey (missing keys are grey
    too). Without `edge_status` every relation is drawn in one neutral colour. `object_status[i]`
    False draws object i dashed and red (absent); True draws it green (present).
    The layout is deterministic: the same graph gives the same pixels.
    """
    width, height = int(size[0]), int(size[1])
    if width < 32 or height < 32:
        raise ValueError(f"a graph drawing needs at least 32x32 pixels, not {width}x{height}")
    s = SUPERSAMPLE
    W, H = width * s, height * s
    img = Image.new("RGB", (W, H), BACKGROUND)
    draw = ImageDraw.Draw(img)

    n = len(graph.objects)
    # Smaller text for crowded graphs and small canvases, never below what stays readable.
    shrink = min(1.0, max(0.7, min(width / 640, height / 420)))
    font_px = round((14 if n <= 8 else 12 if n <= 16 else 11) * shrink)
    font = _font(font_px * s)
    small = _font(max(9, font_px - 2) * s)
    pad_x, pad_y, margin = 7 * s, 4 * s, 8 * s

    legend_h = 0
    if edge_status is not None:
        legend_h = _draw_legend(draw, small, W, H, margin)
    area = (margin, margin, W - margin, H - margin - legend_h)

    boxes = _make_boxes(graph, font, pad_x, pad_y, area)
    _place(boxes, graph, area, gap=10 * s)

    _draw_edges(draw, graph, boxes, small, edge_status, s, max_label_w=min(110 * s, W / 5))
    for i, box in enumerate(boxes):
        status = None if object_status is None else object_status.get(i)
        _draw_node(draw, box, font, status, s)
    return img.resize((width, height), Image.Resampling.LANCZOS)


# --- text --------------------------------------------------------------------------------------------


def _font(px: int) -> Font:
    return ImageFont.load_default(size=px)


def _text_w(font: Font, text: str) -> float:
    return font.getlength(text)


def _truncate(font: Font, text: str, max_w: float) -> str:
    """Shorten `text` with an ellipsis so that it is at most `max_w` wide."""
    if _text_w(font, text) <= max_w:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits together with the ellipsis
        mid = (lo + hi + 1) // 2
        if _text_w(font, text[:mid].rstrip() + "…") <= max_w:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


def _node_texts(graph: SceneGraph, font: Font, max_w: float) -> list[str]:
    """Each object's phrase, fitted to `max_w`; repeated labels get `#k` to tell them apart.

    When the phrase is too long the attributes are shortened first: the label is what matters.
    """
    counts: dict[str, int] = defaultdict(int)
    for o in graph.objects:
        counts[o.label] += 1
    seen: dict[str, int] = defaultdict(int)
    texts = []
    for o in graph.objects:
        seen[o.label] += 1
        tag = f" #{seen[o.label]}" if counts[o.label] > 1 else ""
        name = _truncate(font, o.label, max_w - _text_w(font, tag)) + tag
        attrs = " ".join(o.attributes)
        text = f"{attrs} {name}" if attrs else name
        if attrs and _text_w(font, text) > max_w:
            room = max_w - _text_w(font, " " + name)
            short = _truncate(font, attrs, room) if room > _text_w(font, "ab…") else ""
            text = f"{short} {name}" if short and short != "…" else name
        texts.append(_truncate(font, text, max_w))
    return texts


# --- layout ------------------------------------------------------------------------------------------


def _make_boxes(graph: SceneGraph, font: Font, pad_x: float, pad_y: float,
                area: tuple[float, float, float, float]) -> list[_Box]:
    n = max(1, len(graph.objects))
    aw = area[2] - area[0]
    # Wide enough for a few words, narrow enough that a grid of all the boxes still fits.
    max_w = min(0.45 * aw, max(aw / (math.ceil(math.sqrt(n)) + 0.6), 50.0 * SUPERSAMPLE))
    h = font.size + 2 * pad_y if isinstance(font, ImageFont.FreeTypeFont) else 14 + 2 * pad_y
    boxes = []
    for text in _node_texts(graph, font, max_w - 2 * pad_x):
        boxes.append(_Box(text, _text_w(font, text) + 2 * pad_x, float(h)))
    return boxes


def unit_layout(graph: SceneGraph) -> np.ndarray:
    """Deterministic positions in [0, 1]^2, one row per object (before fitting to boxes)."""
    n = len(graph.objects)
    if n == 1:
        return np.array([[0.5, 0.5]])
    if n == 2:
        return np.array([[0.0, 0.5], [1.0, 0.5]])
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from((r.subject, r.object) for r in graph.relations if r.subject != r.object)
    # Kamada-Kawai with networkx's default distance for unconnected pairs (1e6) flings components
    # apart; one hop further than the graph's widest path keeps them near each other instead.
    hops = dict(nx.all_pairs_shortest_path_length(g))
    far = max((d for row in hops.values() for d in row.values()), default=0) + 1
    dist = {i: {j: hops[i].get(j, far) for j in range(n)} for i in range(n)}
    init = nx.circular_layout(g)  # fixed start: the layout depends on the graph alone
    pos = nx.kamada_kawai_layout(g, dist=dist, pos=init)
    xy = np.array([pos[i] for i in range(n)], dtype=float)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.where(hi - lo > 1e-9, hi - lo, 1.0)
    lin = (xy - lo) / span
    lin[:, hi - lo <= 1e-9] = 0.5
    # Half linear, half rank: one outlying node would otherwise squeeze all others into a corner,
    # and ranks spread a dense cluster over the canvas while keeping left/right and up/down order.
    ranks = np.argsort(np.argsort(xy + np.arange(n)[:, None] * 1e-9, axis=0, kind="stable"), axis=0)
    return 0.5 * lin + 0.5 * ranks / (n - 1)


def _place(boxes: list[_Box], graph: SceneGraph, area: tuple[float, float, float, float],
           gap: float) -> None:
    """Fit the layout to `area`, then push overlapping boxes apart; fall back to a grid if stuck."""
    if not boxes:
        return
    x0, y0, x1, y1 = area
    unit = unit_layout(graph)
    mw = max(b.w for b in boxes) / 2
    mh = max(b.h for b in boxes) / 2
    for b, (u, v) in zip(boxes, unit, strict=True):
        b.x = x0 + mw + u * max(0.0, (x1 - x0) - 2 * mw)
        b.y = y0 + mh + v * max(0.0, (y1 - y0) - 2 * mh)
    # Many unrelated objects read best in rows; otherwise the layout stands if boxes can be
    # separated.
    if (graph.relations or len(boxes) < 5) and _separate(boxes, area, gap):
        return
    _grid(boxes, area, gap, by_position=bool(graph.relations))


def _clamp(b: _Box, area: tuple[float, float, float, float]) -> None:
    x0, y0, x1, y1 = area
    b.x = min(max(b.x, x0 + b.w / 2), max(x0 + b.w / 2, x1 - b.w / 2))
    b.y = min(max(b.y, y0 + b.h / 2), max(y0 + b.h / 2, y1 - b.h / 2))


def _separate(boxes: list[_Box], area: tuple[float, float, float, float], gap: float,
              rounds: int = 200) -> bool:
    """Nudge boxes apart along the axis of least overlap; True when none overlap any more."""
    n = len(boxes)
    for _ in range(rounds):
        moved = False
        for i in range(n):
            a = boxes[i]
            for j in range(i + 1, n):
                b = boxes[j]
                ox = (a.w + b.w) / 2 + gap - abs(a.x - b.x)
                oy = (a.h + b.h) / 2 + gap / 2 - abs(a.y - b.y)
                if ox <= 0 or oy <= 0:
                    continue
                moved = True
                # Ties (identical centres) are broken by index so that the result is deterministic.
                if ox < oy * 2.5:  # boxes are wide: moving sideways costs more, so prefer up/down
                    sign = 1.0 if (a.x, i) <= (b.x, j) else -1.0
                    a.x -= sign * ox / 2 + 0.5
                    b.x += sign * ox / 2 + 0.5
                else:
                    sign = 1.0 if (a.y, i) <= (b.y, j) else -1.0
                    a.y -= sign * oy / 2 + 0.5
                    b.y += sign * oy / 2 + 0.5
        for b in boxes:
            _clamp(b, area)
        if not moved:
            return True
    return not _any_overlap(boxes)


def _any_overlap(boxes: list[_Box]) -> bool:
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if abs(a.x - b.x) < (a.w + b.w) / 2 and abs(a.y - b.y) < (a.h + b.h) / 2:
                return True
    return False


def _grid(boxes: list[_Box], area: tuple[float, float, float, float], gap: float,
          by_position: bool) -> None:
    """Rows and columns: in the layout's reading order (`by_position`) or else in object order."""
    x0, y0, x1, y1 = area
    n = len(boxes)
    cell_w = max(b.w for b in boxes) + gap
    cols = max(1, min(n, int((x1 - x0) // cell_w)))
    rows = math.ceil(n / cols)
    order = sorted(range(n), key=lambda i: (boxes[i].y, boxes[i].x, i)) if by_position else list(range(n))
    for r in range(rows):
        row = order[r * cols:(r + 1) * cols]
        if by_position:
            row.sort(key=lambda i: (boxes[i].x, i))
        for c, i in enumerate(row):
            # Odd rows shift by half a cell so that edges between rows do not run along columns.
            shift = 0.5 if r % 2 and len(row) < cols else 0.0
            boxes[i].x = x0 + (x1 - x0) * (c + 0.5 + shift) / cols
            boxes[i].y = y0 + (y1 - y0) * (r + 0.5) / rows
            _clamp(boxes[i], area)


# --- edges -------------------------------------------------------------------------------------------


def _bezier(p0: Point, c: Point, p2: Point, steps: int = 48) -> list[Point]:
    pts = []
    for k in range(steps + 1):
        t = k / steps
        a, b, d = (1 - t) ** 2, 2 * (1 - t) * t, t * t
        pts.append((a * p0[0] + b * c[0] + d * p2[0], a * p0[1] + b * c[1] + d * p2[1]))
    return pts


def _edge_paths(graph: SceneGraph, boxes: list[_Box], spacing: float) -> dict[int, list[Point]]:
    """One polyline per relation, from the subject's box edge to the object's box edge.

    Relations between the same two objects (either direction) bow out by different amounts on
    either side of the straight line, so neither their lines nor their labels overlap.
    """
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for k, r in enumerate(graph.relations):
        groups[(min(r.subject, r.object), max(r.subject, r.object))].append(k)
    paths: dict[int, list[Point]] = {}
    for (a, b), ks in groups.items():
        if a == b:  # SceneGraph drops self-loops; draw one as a small loop above the box anyway
            for j, k in enumerate(ks):
                paths[k] = _self_loop(boxes[a], j, spacing)
            continue
        pa, pb = (boxes[a].x, boxes[a].y), (boxes[b].x, boxes[b].y)
        dx, dy = pb[0] - pa[0], pb[1] - pa[1]
        length = math.hypot(dx, dy) or 1.0
        # The normal is taken from the pair's canonical direction (a -> b), so that a -> b and
        # b -> a with the same offset would coincide and different offsets never do.
        nx_, ny_ = -dy / length, dx / length
        m = len(ks)
        for j, k in enumerate(ks):
            off = (j - (m - 1) / 2) * spacing
            r = graph.relations[k]
            p0, p2 = (pa, pb) if r.subject == a else (pb, pa)
            mid = ((pa[0] + pb[0]) / 2 + nx_ * off, (pa[1] + pb[1]) / 2 + ny_ * off)
            # A quadratic curve passes through mid at t = 0.5 when its control point is 2*mid - ends/2.
            ctrl = (2 * mid[0] - (p0[0] + p2[0]) / 2, 2 * mid[1] - (p0[1] + p2[1]) / 2)
            pts = _bezier(p0, ctrl, p2)
            src, dst = boxes[r.subject], boxes[r.object]
            start = next((i for i, p in enumerate(pts) if not src.contains(p, 2)), 0)
            end = next((i for i in range(len(pts) - 1, -1, -1) if not dst.contains(pts[i], 2)),
                       len(pts) - 1)
            paths[k] = pts[start:end + 1] if end > start else [pts[start], pts[min(start + 1, len(pts) - 1)]]
    return paths


def _self_loop(box: _Box, j: int, spacing: float) -> list[Point]:
    r = spacing * (0.6 + 0.4 * j)
    cx, cy = box.x + box.w / 4, box.y - box.h / 2
    pts = [(cx + r * math.cos(a), cy - r * math.sin(a))
           for a in np.linspace(math.radians(200), math.radians(-20), 32)]
    return [p for p in pts if not box.contains(p, 2)] or pts


def _draw_edges(draw: ImageDraw.ImageDraw, graph: SceneGraph, boxes: list[_Box], font: Font,
                edge_status: dict[int, bool | None] | None, s: int, max_label_w: float) -> None:
    spacing = (font.size if isinstance(font, ImageFont.FreeTypeFont) else 12) + 12 * s
    paths = _edge_paths(graph, boxes, spacing)
    colours = {}
    for k in paths:
        if edge_status is None:
            colours[k] = EDGE_DEFAULT
        else:
            st = edge_status.get(k)
            colours[k] = GREEN if st is True else RED if st is False else GREY
    # Lines first, then arrowheads, then labels: a label is never hidden under another line.
    for k, pts in paths.items():
        draw.line(pts, fill=colours[k], width=2 * s, joint="curve")
    for k, pts in paths.items():
        _arrowhead(draw, pts, colours[k], 6 * s)
    placed: list[tuple[float, float, float, float]] = []
    node_rects = [b.rect(1 * s) for b in boxes]
    for k, pts in paths.items():
        text = _truncate(font, graph.relations[k].predicate, max_label_w)
        _draw_label(draw, pts, text, font, colours[k], node_rects, placed, s)


def _arrowhead(draw: ImageDraw.ImageDraw, pts: list[Point], colour: tuple[int, int, int],
               size: float) -> None:
    tip = pts[-1]
    # Direction from a point a little way back along the curve: steadier than the last segment.
    back = pts[max(0, len(pts) - 4)]
    dx, dy = tip[0] - back[0], tip[1] - back[1]
    d = math.hypot(dx, dy)
    if d < 1e-6:
        return
    ux, uy = dx / d, dy / d
    left = (tip[0] - ux * size * 1.6 - uy * size, tip[1] - uy * size * 1.6 + ux * size)
    right = (tip[0] - ux * size * 1.6 + uy * size, tip[1] - uy * size * 1.6 - ux * size)
    draw.polygon([tip, left, right], fill=colour)


def _overlaps(r: tuple[float, float, float, float], others: list[tuple[float, float, float, float]]) -> bool:
    return any(r[0] < o[2] and o[0] < r[2] and r[1] < o[3] and o[1] < r[3] for o in others)


def _draw_label(draw: ImageDraw.ImageDraw, pts: list[Point], text: str, font: Font,
                colour: tuple[int, int, int], node_rects: list[tuple[float, float, float, float]],
                placed: list[tuple[float, float, float, float]], s: int) -> None:
    """The predicate near the middle of its curve, slid along it to avoid boxes and other labels."""
    tw = _text_w(font, text)
    th = font.size if isinstance(font, ImageFont.FreeTypeFont) else 12
    rect = (0.0, 0.0, 0.0, 0.0)
    for t in (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8):
        px, py = pts[round(t * (len(pts) - 1))]
        rect = (px - tw / 2 - 3 * s, py - th / 2 - 2 * s, px + tw / 2 + 3 * s, py + th / 2 + 2 * s)
        if not _overlaps(rect, node_rects) and not _overlaps(rect, placed):
            break
    else:
        px, py = pts[len(pts) // 2]
        rect = (px - tw / 2 - 3 * s, py - th / 2 - 2 * s, px + tw / 2 + 3 * s, py + th / 2 + 2 * s)
    placed.append(rect)
    draw.rounded_rectangle(rect, radius=3 * s, fill=LABEL_FILL, outline=colour, width=1 * s)
    draw.text(((rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2), text, font=font, fill=colour,
              anchor="mm")


# --- nodes -------------------------------------------------------------------------------------------


def _draw_node(draw: ImageDraw.ImageDraw, box: _Box, font: Font, status: bool | None, s: int) -> None:
    rect = box.rect()
    radius = min(box.h / 2, 8 * s)
    if status is False:
        draw.rounded_rectangle(rect, radius=radius, fill=ABSENT_FILL)
        _dashed(draw, _rounded_outline(rect, radius), RED, 2 * s, dash=6 * s, gap_len=4 * s)
        fill = RED
    else:
        outline = GREEN if status is True else NODE_OUTLINE
        bg = PRESENT_FILL if status is True else NODE_FILL
        draw.rounded_rectangle(rect, radius=radius, fill=bg, outline=outline, width=2 * s)
        fill = TEXT
    draw.text((box.x, box.y), box.text, font=font, fill=fill, anchor="mm")


def _rounded_outline(rect: tuple[float, float, float, float], r: float) -> list[Point]:
    """The perimeter of a rounded rectangle as a closed polyline (for dashing)."""
    x0, y0, x1, y1 = rect
    corners = ((x1 - r, y0 + r, -90.0), (x1 - r, y1 - r, 0.0),
               (x0 + r, y1 - r, 90.0), (x0 + r, y0 + r, 180.0))
    pts: list[Point] = []
    for cx, cy, a0 in corners:
        for a in np.linspace(a0, a0 + 90.0, 8):
            pts.append((cx + r * math.cos(math.radians(a)), cy + r * math.sin(math.radians(a))))
    pts.append(pts[0])
    return pts


def _dashed(draw: ImageDraw.ImageDraw, pts: list[Point], colour: tuple[int, int, int], width: int,
            dash: float, gap_len: float) -> None:
    """Draw a polyline as dashes of `dash` length separated by `gap_len`, measured along it."""
    period = dash + gap_len
    walked = 0.0
    for (ax, ay), (bx, by) in zip(pts, pts[1:], strict=False):
        seg = math.hypot(bx - ax, by - ay)
        pos = 0.0
        while pos < seg:
            phase = (walked + pos) % period
            run = (dash - phase) if phase < dash else (period - phase)
            end = min(seg, pos + run)
            if phase < dash:
                t0, t1 = pos / seg, end / seg
                draw.line([(ax + (bx - ax) * t0, ay + (by - ay) * t0),
                           (ax + (bx - ax) * t1, ay + (by - ay) * t1)], fill=colour, width=width)
            pos = end
        walked += seg


def _draw_legend(draw: ImageDraw.ImageDraw, font: Font, W: int, H: int, margin: float) -> int:
    """A one-line key at the bottom left; returns the height it takes."""
    th = font.size if isinstance(font, ImageFont.FreeTypeFont) else 12
    y = H - margin - th / 2
    x = margin
    for colour, text in ((GREEN, "holds"), (RED, "fails"), (GREY, "not judged")):
        draw.line([(x, y), (x + 3 * th / 2, y)], fill=colour, width=max(2, th // 5))
        x += 3 * th / 2 + th / 3
        draw.text((x, y), text, font=font, fill=TEXT, anchor="lm")
        x += _text_w(font, text) + th
    return int(th + margin / 2)
