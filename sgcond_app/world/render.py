"""Rasterise a `Scene` of the tiny world into pixel-aligned maps at any resolution.

A scene is resolution-free (positions are fractions of the image side), so the same scene renders
at 32 or 256 px. Things are painted far to near, which gives occlusion by depth. Depth is the
ground plane's disparity: 0 at the horizon and in the sky, 1 at the bottom edge (near = bright).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..graph import vocab
from . import classes
from .shapes import ASPECT, ROLE_COLOURS, shape

MOUNTAIN_DEPTH = 0.012


@dataclass
class Thing:
    """One countable object. For ground things (x, base) is the contact point on the ground; for
    sky things it is the centre. `height` is the apparent height as a fraction of the image."""

    label: str
    x: float
    base: float
    height: float
    depth: float
    colour: str | None = None
    size: str | None = None
    flip: bool = False
    variant: int = 0
    width: float = 1.0  # fence panels
    rides: int | None = None  # index of the thing it stands on (a rider on a horse)

    @property
    def in_sky(self) -> bool:
        return self.label in classes.SKY_THINGS

    def box(self) -> tuple[float, float, float, float]:
        """Approximate (x0, y0, x1, y1) in image fractions."""
        w = ASPECT[self.label] * self.height * (self.width if self.label == "fence" else 1.0) / 2
        if self.in_sky:
            return self.x - w, self.base - self.height / 2, self.x + w, self.base + self.height / 2
        return self.x - w, self.base - self.height, self.x + w, self.base


@dataclass
class Ground:
    """Stuff below (and on) the horizon. Optional regions are drawn over the base stuff."""

    base: str = "grass"  # grass | sand | snow
    water: str | None = None  # None | sea | lake | river
    water_params: tuple[float, ...] = ()
    road: str | None = None  # None | straight | cross
    road_params: tuple[float, ...] = ()
    beach: bool = False  # a sand strip along a sea
    # An island: a sand ellipse (cx, ct, rx, rt) in (x, ground t) drawn over the water. Only the layout
    # sampler of written graphs (`layout.render_graph`, "water surrounding sand") sets it; random
    # scenes never do.
    island: tuple[float, ...] = ()


@dataclass
class Scene:
    horizon: float
    ground: Ground
    things: list[Thing] = field(default_factory=list)
    mountains: list[tuple[float, float, float]] = field(default_factory=list)  # (x, half width, height)
    snow_caps: bool = False  # the mountains' caps are snow (a region of their own), not mountain
    sky_tone: float = 0.0  # 0 day .. 1 dusk
    seed: int = 0


@dataclass
class Maps:
    image: np.ndarray  # (H, W, 3) uint8
    segmentation: np.ndarray  # (H, W) uint8 class ids
    instances: np.ndarray  # (H, W) uint8 instance ids, 1.. (every pixel belongs to one)
    depth: np.ndarray  # (H, W) float32 in [0, 1], quantised to 1/255 so that a PNG round-trips
    sketch: np.ndarray  # (H, W) uint8, 255 on edges
    instance_labels: dict[int, str]  # instance id -> class name
    thing_instance: list[int]  # scene.things[i] was drawn as instance thing_instance[i]


# --- ground regions as functions of pixel coordinates (fractions) ------------------------------


def ground_labels(scene: Scene, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Class name index (into classes.CLASS_NAMES) of the ground at points below the horizon."""
    g, h = scene.ground, scene.horizon
    t = np.clip((ys - h) / (1 - h), 0, 1)  # 0 at the horizon, 1 at the bottom
    out = np.full(np.broadcast(xs, ys).shape, classes.CLASS_ID[g.base], dtype=np.uint8)
    if g.water == "sea":
        (depth_t,) = g.water_params[:1]
        out[t < depth_t] = classes.CLASS_ID["water"]
        if g.beach:
            out[(t >= depth_t) & (t < depth_t + 0.12)] = classes.CLASS_ID["sand"]
    elif g.water == "lake":
        cx, ct, rx, rt = g.water_params
        out[((xs - cx) / rx) ** 2 + ((t - ct) / rt) ** 2 <= 1] = classes.CLASS_ID["water"]
    elif g.water == "river":
        x0, slope, w0 = g.water_params
        centre = x0 + slope * t + 0.04 * np.sin(6 * t)
        out[np.abs(xs - centre) <= w0 * (0.1 + t)] = classes.CLASS_ID["water"]
    if g.island:
        cx, ct, rx, rt = g.island
        out[((xs - cx) / rx) ** 2 + ((t - ct) / rt) ** 2 <= 1] = classes.CLASS_ID["sand"]
    if g.road == "straight":
        x0, slope, w0 = g.road_params
        out[np.abs(xs - (x0 + slope * t)) <= w0 * (0.05 + t)] = classes.CLASS_ID["road"]
    elif g.road == "cross":
        t0, t1 = g.road_params
        out[(t >= t0) & (t < t1)] = classes.CLASS_ID["road"]
    return out


def ground_label_at(scene: Scene, x: float, y: float) -> str:
    if y <= scene.horizon:
        return "sky"
    return classes.CLASS_NAMES[int(ground_labels(scene, np.array(x), np.array(y)))]


# --- rasterisation -----------------------------------------------------------------------------


class _Canvas:
    def __init__(self, size: int) -> None:
        self.n = size
        self.seg = np.zeros((size, size), np.uint8)
        self.inst = np.zeros((size, size), np.uint8)
        self.part = np.zeros((size, size), np.int32)
        self.depth = np.zeros((size, size), np.float32)
        self.rgb = np.zeros((size, size, 3), np.float32)
        self.labels: dict[int, str] = {}
        self._next_part = 1

    def new_instance(self, label: str) -> int:
        iid = len(self.labels) + 1
        if iid > 255:
            raise ValueError("too many instances for an 8-bit instance map")
        self.labels[iid] = label
        return iid

    def part_id(self) -> int:
        self._next_part += 1
        return self._next_part


def _prim_mask(prim: tuple, x: float, base: float, scale: float, flip: bool, n: int):
    """Pixel mask of one primitive: (mask, y0, x0, local_u01, local_v01) over its pixel box."""
    kind = prim[0]
    sgn = -1.0 if flip else 1.0
    if kind == "e":
        _, cu, cv, ru, rv, _ = prim
        cx, cy, rx, ry = x + sgn * cu * scale, base - cv * scale, ru * scale, rv * scale
        bx0, bx1, by0, by1 = cx - rx, cx + rx, cy - ry, cy + ry
    elif kind == "r":
        _, u0, v0, u1, v1, _ = prim
        xa, xb = sorted((x + sgn * u0 * scale, x + sgn * u1 * scale))
        bx0, bx1, by0, by1 = xa, xb, base - v1 * scale, base - v0 * scale
    else:
        pts = np.array([(x + sgn * u * scale, base - v * scale) for u, v in prim[1]])
        bx0, by0 = pts.min(0)
        bx1, by1 = pts.max(0)
    px0, px1 = max(int(np.floor(bx0 * n - 0.5)), 0), min(int(np.ceil(bx1 * n + 0.5)), n)
    py0, py1 = max(int(np.floor(by0 * n - 0.5)), 0), min(int(np.ceil(by1 * n + 0.5)), n)
    if px1 <= px0 or py1 <= py0:
        return None
    gx = (np.arange(px0, px1, dtype=np.float32) + 0.5) / n
    gy = (np.arange(py0, py1, dtype=np.float32) + 0.5) / n
    X, Y = gx[None, :], gy[:, None]
    if kind == "e":
        dx, dy = (X - cx) / max(rx, 1e-6), (Y - cy) / max(ry, 1e-6)
        mask = dx * dx + dy * dy <= 1.0
        shade = 1.0 - 0.18 * (0.5 * dx + 0.8 * dy)
    else:
        if kind == "r":
            mask = (X >= bx0) & (X <= bx1) & (Y >= by0) & (Y <= by1)
        else:
            mask = np.ones((len(gy), len(gx)), bool)
            k = len(pts)
            area = sum(pts[i, 0] * pts[(i + 1) % k, 1] - pts[(i + 1) % k, 0] * pts[i, 1] for i in range(k))
            s = 1.0 if area > 0 else -1.0
            for i in range(k):
                (ax, ay), (bx, by) = pts[i], pts[(i + 1) % k]
                mask &= s * ((bx - ax) * (Y - ay) - (by - ay) * (X - ax)) >= 0
        shade = 1.08 - 0.2 * (Y - by0) / max(by1 - by0, 1e-6) + 0 * X
    if not mask.any():
        return None
    return mask, py0, px0, shade


def _thing_colour(t: Thing, role: str) -> np.ndarray:
    base = ROLE_COLOURS[t.label][role]
    if role == "body" and t.colour is not None:
        base = vocab.COLOURS[t.colour]
    elif role == "body" and t.label == "cloud":
        base = (248, 248, 252)
    return np.array(base, np.float32)


def _draw_thing(c: _Canvas, t: Thing, iid: int) -> None:
    cid = classes.CLASS_ID[t.label]
    roles: dict[str, int] = {}
    for prim in shape(t.label, t.variant, t.width):
        got = _prim_mask(prim, t.x, t.base, t.height, t.flip, c.n)
        if got is None:
            continue
        mask, y0, x0, shade = got
        h, w = mask.shape
        sl = (slice(y0, y0 + h), slice(x0, x0 + w))
        role = prim[-1]
        if role not in roles:
            roles[role] = c.part_id()
        c.seg[sl][mask] = cid
        c.inst[sl][mask] = iid
        c.part[sl][mask] = roles[role]
        c.depth[sl][mask] = t.depth
        colour = _thing_colour(t, role)
        c.rgb[sl][mask] = (np.broadcast_to(shade, mask.shape)[mask][:, None] * colour[None, :])


def _draw_background(c: _Canvas, scene: Scene, rng: np.random.Generator) -> None:
    n, h = c.n, scene.horizon
    ys = (np.arange(n, dtype=np.float32) + 0.5) / n
    xs = (np.arange(n, dtype=np.float32) + 0.5) / n
    Y, X = np.meshgrid(ys, xs, indexing="ij")
    sky = Y <= h
    # Sky: deeper blue at the top, paler at the horizon, warmer at dusk.
    tt = np.clip(Y / max(h, 1e-3), 0, 1)[..., None]
    dusk = scene.sky_tone
    top = np.array([60, 120, 210], np.float32) * (1 - dusk) + np.array([90, 90, 160], np.float32) * dusk
    low = np.array([175, 210, 240], np.float32) * (1 - dusk) + np.array([245, 170, 110], np.float32) * dusk
    c.rgb[:] = top * (1 - tt) + low * tt
    sky_id = c.new_instance("sky")
    c.seg[sky] = classes.CLASS_ID["sky"]
    c.inst[sky] = sky_id
    c.part[sky] = c.part_id()
    # Mountains: one stuff region on the horizon, with snow caps in the image.
    if scene.mountains:
        mid = c.new_instance("mountain")
        m = np.zeros((n, n), bool)
        cap = np.zeros((n, n), bool)
        for mx, hw, mh in scene.mountains:
            top_y = h - mh * (1 - np.abs(X - mx) / hw)
            inside = (np.abs(X - mx) <= hw) & (Y >= top_y) & (Y <= h + 0.5 / n)
            m |= inside
            cap |= inside & (Y < h - mh * 0.72 * (1 - np.abs(X - mx) / hw) - 0.0)
        c.seg[m] = classes.CLASS_ID["mountain"]
        c.inst[m] = mid
        c.part[m] = c.part_id()
        c.depth[m] = MOUNTAIN_DEPTH
        shade = (1.0 - 0.25 * (Y - (h - 0.3)) / 0.3)[..., None]
        c.rgb[m] = (np.array([110, 100, 125], np.float32) * np.clip(shade, 0.7, 1.2))[m]
        c.rgb[m & cap] = np.array([240, 240, 245], np.float32)
        c.part[m & cap] = c.part_id()
        if scene.snow_caps:  # "snow on the mountain": the caps are snow, one region of their own
            c.seg[m & cap] = classes.CLASS_ID["snow"]
            c.inst[m & cap] = c.new_instance("snow")
    # Ground.
    below = Y > h
    labels = ground_labels(scene, X, Y)
    t = np.clip((Y - h) / (1 - h), 0, 1)
    c.depth[below] = np.round(t[below] * 255) / 255
    noise = rng.standard_normal((n, n)).astype(np.float32)
    for cid in np.unique(labels[below]):
        name = classes.CLASS_NAMES[cid]
        region = below & (labels == cid)
        iid = c.new_instance(name)
        c.seg[region] = cid
        c.inst[region] = iid
        c.part[region] = c.part_id()
        base = np.array(_GROUND_COLOURS[name], np.float32)
        if name == "water":
            waves = 0.08 * np.sin(Y * n * 2.2 + 3 * np.sin(X * 9)) - 0.15 * (1 - t)
            tex = 1 + waves
        elif name == "grass":
            tex = 1 + 0.12 * np.sin(X * n * 1.7 + Y * 40) * (0.3 + t) + 0.1 * noise - 0.15 * (1 - t)
        elif name == "road":
            tex = 1 + 0.05 * noise
        else:
            tex = 1 + 0.06 * noise - 0.08 * (1 - t)
        c.rgb[region] = (base[None, None, :] * tex[..., None])[region]
    if scene.ground.road == "straight":
        x0, slope, w0 = scene.ground.road_params
        centre = x0 + slope * t
        dash = (np.sin(1 / np.maximum(t, 0.02) * 2.5) > 0.2)
        mark = below & (labels == classes.CLASS_ID["road"]) & (np.abs(X - centre) <= 0.012 * (0.1 + t)) & dash
        c.rgb[mark] = np.array([245, 235, 200], np.float32)
        c.part[mark] = c.part_id()


_GROUND_COLOURS = {
    "grass": (80, 160, 60), "water": (50, 110, 190), "road": (95, 95, 100), "sand": (215, 190, 135),
    "snow": (235, 240, 250),
}


def rasterize(scene: Scene, size: int) -> Maps:
    """All maps of a scene at `size` x `size` pixels. Deterministic for a given scene and size."""
    rng = np.random.default_rng([scene.seed, size])
    c = _Canvas(size)
    _draw_background(c, scene, rng)
    order = sorted(range(len(scene.things)), key=lambda i: (scene.things[i].depth, i))
    thing_instance = [0] * len(scene.things)
    for i in order:
        t = scene.things[i]
        iid = c.new_instance(t.label)
        thing_instance[i] = iid
        _draw_thing(c, t, iid)
    # Texture and light: multiplicative grain and a soft vignette, so the image is not a mask.
    grain = 1 + 0.05 * rng.standard_normal((size, size, 1)).astype(np.float32)
    yy = (np.arange(size, dtype=np.float32) + 0.5) / size
    vignette = 1.0 - 0.12 * ((yy[:, None] - 0.5) ** 2 + (yy[None, :] - 0.5) ** 2)
    image = np.clip(c.rgb * grain * vignette[..., None], 0, 255).astype(np.uint8)
    # Sketch: silhouettes and part boundaries (windows, wheels, road marks, snow caps).
    p = c.part
    edge = np.zeros((size, size), bool)
    edge[:, :-1] |= p[:, :-1] != p[:, 1:]
    edge[:-1, :] |= p[:-1, :] != p[1:, :]
    sketch = edge.astype(np.uint8) * 255
    depth = (np.round(np.clip(c.depth, 0, 1) * 255) / 255).astype(np.float32)
    return Maps(image, c.seg, c.inst, depth, sketch, dict(c.labels), thing_instance)
