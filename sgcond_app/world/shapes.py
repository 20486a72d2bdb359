"""How each thing of the tiny world looks: a list of filled primitives in the thing's own frame.

Frame: `u` to the right and `v` up, both in units of the thing's height. Ground things stand on
v = 0 and reach v = 1; sky things (sun, cloud, bird, kite) are centred on v = 0. Each primitive
names a *role* (body, window, wheel, ...) that picks its colour; the segmentation never sees roles,
the image and the sketch do.

Primitives: ("e", cu, cv, ru, rv, role) ellipse; ("r", u0, v0, u1, v1, role) rectangle;
("p", ((u, v), ...), role) convex polygon.
"""

from __future__ import annotations

import math

import numpy as np

Prim = tuple

# Width of each class in units of its height (used for placement and overlap tests).
ASPECT = {
    "person": 0.45, "dog": 1.7, "sheep": 1.5, "cow": 1.7, "horse": 1.6, "elephant": 1.6,
    "car": 2.6, "bus": 3.2, "truck": 2.8, "house": 1.4, "building": 0.56, "tree": 0.7,
    "bush": 1.8, "fence": 5.0, "rock": 1.5, "boat": 2.4, "sun": 1.0, "cloud": 2.2, "bird": 1.6,
    "kite": 0.8,
}
# Real height in units of the camera's height above the ground (perspective scaling).
REAL_HEIGHT = {
    "person": 1.05, "dog": 0.42, "sheep": 0.55, "cow": 0.9, "horse": 1.05, "elephant": 1.9,
    "car": 0.9, "bus": 1.9, "truck": 1.8, "house": 3.2, "building": 8.0, "tree": 3.2, "bush": 0.8,
    "fence": 0.6, "rock": 0.45, "boat": 1.0,
}

# Base colours of roles per class (RGB); "body" of colourable classes follows the colour attribute.
ROLE_COLOURS: dict[str, dict[str, tuple[int, int, int]]] = {
    "person": {"body": (50, 90, 170), "legs": (40, 40, 60), "skin": (230, 180, 140), "hair": (60, 40, 20)},
    "dog": {"body": (150, 100, 50), "dark": (70, 45, 25)},
    "sheep": {"body": (235, 235, 225), "dark": (50, 45, 45)},
    "cow": {"body": (245, 245, 240), "patch": (40, 35, 35), "dark": (60, 50, 45)},
    "horse": {"body": (140, 85, 45), "dark": (50, 30, 20)},
    "elephant": {"body": (140, 140, 150), "ear": (120, 118, 128), "dark": (95, 95, 105)},
    "car": {"body": (200, 40, 40), "window": (170, 210, 235), "wheel": (25, 25, 25), "light": (250, 240, 170)},
    "bus": {"body": (240, 190, 40), "window": (160, 200, 230), "wheel": (25, 25, 25), "stripe": (60, 60, 70)},
    "truck": {"body": (235, 235, 235), "cab": (40, 90, 180), "window": (160, 200, 230), "wheel": (25, 25, 25)},
    "house": {"body": (225, 205, 170), "roof": (150, 50, 40), "door": (110, 70, 40), "window": (150, 200, 230)},
    "building": {"body": (150, 150, 160), "window": (190, 215, 240)},
    "tree": {"leaf": (40, 120, 40), "trunk": (100, 65, 35)},
    "bush": {"leaf": (70, 130, 45)},
    "fence": {"body": (180, 140, 90)},
    "rock": {"body": (125, 120, 115)},
    "boat": {"body": (245, 245, 245), "sail": (250, 250, 235), "mast": (90, 60, 40), "cabin": (200, 60, 50),
             "stripe": (40, 80, 160)},
    "sun": {"body": (255, 225, 80)},
    "cloud": {"body": (248, 248, 252)},
    "bird": {"body": (40, 40, 45)},
    "kite": {"body": (230, 40, 120), "tail": (250, 220, 40)},
}


def _legs(xs: list[float], top: float, width: float, role: str = "dark") -> list[Prim]:
    return [("r", x - width / 2, 0.0, x + width / 2, top, role) for x in xs]


def shape(label: str, variant: int, width: float = 1.0) -> list[Prim]:
    """Primitives of one thing, back to front. `width` stretches fences (a count of panels)."""
    v = variant
    if label == "person":
        return [
            *_legs([-0.06, 0.06], 0.47, 0.09, "legs"),
            ("r", -0.14, 0.44, 0.14, 0.8, "body"),
            ("r", -0.22, 0.47, -0.13, 0.78, "body"), ("r", 0.13, 0.47, 0.22, 0.78, "body"),
            ("e", 0.0, 0.89, 0.1, 0.11, "skin"), ("e", 0.0, 0.95, 0.1, 0.06, "hair"),
        ]
    if label == "dog":
        return [
            *_legs([-0.55, -0.35, 0.3, 0.48], 0.5, 0.1, "body"),
            ("p", ((-0.6, 0.6), (-0.85, 0.95), (-0.76, 0.98), (-0.55, 0.7)), "dark"),
            ("e", -0.05, 0.58, 0.62, 0.2, "body"),
            ("e", 0.62, 0.78, 0.2, 0.17, "body"), ("e", 0.82, 0.72, 0.12, 0.07, "dark"),
            ("p", ((0.5, 0.9), (0.62, 0.92), (0.5, 0.62)), "dark"),
        ]
    if label == "sheep":
        return [
            *_legs([-0.45, -0.25, 0.25, 0.42], 0.45, 0.08),
            ("e", 0.0, 0.6, 0.62, 0.3, "body"), ("e", -0.3, 0.75, 0.3, 0.2, "body"),
            ("e", 0.15, 0.8, 0.32, 0.2, "body"), ("e", 0.62, 0.7, 0.14, 0.17, "dark"),
        ]
    if label == "cow":
        return [
            *_legs([-0.55, -0.35, 0.35, 0.55], 0.5, 0.11),
            ("r", -0.7, 0.42, 0.62, 0.88, "body"),
            ("e", -0.25, 0.7, 0.18, 0.12, "patch"), ("e", 0.25, 0.58, 0.14, 0.1, "patch"),
            ("e", 0.72, 0.78, 0.14, 0.17, "body"), ("e", 0.78, 0.68, 0.09, 0.07, "dark"),
            ("p", ((0.62, 0.92), (0.58, 1.0), (0.66, 0.94)), "dark"),
        ]
    if label == "horse":
        return [
            ("p", ((-0.62, 0.7), (-0.82, 0.25), (-0.72, 0.25), (-0.55, 0.62)), "dark"),
            *_legs([-0.45, -0.3, 0.3, 0.45], 0.55, 0.09, "body"),
            ("e", 0.0, 0.62, 0.58, 0.18, "body"),
            ("p", ((0.35, 0.55), (0.55, 0.6), (0.72, 0.95), (0.58, 1.0)), "body"),
            ("p", ((0.55, 1.0), (0.6, 0.92), (0.46, 0.7), (0.4, 0.72)), "dark"),
            ("e", 0.75, 0.9, 0.18, 0.08, "body"),
        ]
    if label == "elephant":
        return [
            *_legs([-0.45, -0.2, 0.22, 0.45], 0.45, 0.2),
            ("e", -0.05, 0.6, 0.6, 0.33, "body"),
            ("p", ((0.72, 0.65), (0.86, 0.65), (0.92, 0.05), (0.8, 0.05)), "body"),
            ("e", 0.62, 0.72, 0.24, 0.24, "body"), ("e", 0.5, 0.72, 0.17, 0.24, "ear"),
        ]
    if label == "car":
        return [
            ("p", ((-0.7, 0.55), (0.65, 0.55), (0.38, 1.0), (-0.48, 1.0)), "body"),
            ("p", ((-0.58, 0.6), (-0.08, 0.6), (-0.08, 0.92), (-0.42, 0.92)), "window"),
            ("p", ((0.02, 0.6), (0.52, 0.6), (0.32, 0.92), (0.02, 0.92)), "window"),
            ("r", -1.3, 0.16, 1.3, 0.6, "body"),
            ("r", 1.18, 0.4, 1.3, 0.52, "light"),
            ("e", -0.78, 0.2, 0.21, 0.21, "wheel"), ("e", 0.78, 0.2, 0.21, 0.21, "wheel"),
        ]
    if label == "bus":
        prims: list[Prim] = [("r", -1.6, 0.12, 1.6, 1.0, "body"), ("r", -1.6, 0.3, 1.6, 0.38, "stripe")]
        for i in range(5):
            x0 = -1.45 + i * 0.6
            prims.append(("r", x0, 0.55, x0 + 0.48, 0.88, "window"))
        prims += [("e", -1.05, 0.14, 0.16, 0.16, "wheel"), ("e", 1.05, 0.14, 0.16, 0.16, "wheel")]
        return prims
    if label == "truck":
        return [
            ("r", -1.4, 0.14, 0.5, 1.0, "body"), ("r", 0.55, 0.14, 1.4, 0.8, "cab"),
            ("r", 0.8, 0.48, 1.3, 0.74, "window"),
            ("e", -0.95, 0.15, 0.17, 0.17, "wheel"), ("e", -0.5, 0.15, 0.17, 0.17, "wheel"),
            ("e", 1.0, 0.15, 0.17, 0.17, "wheel"),
        ]
    if label == "house":
        roof = (("p", ((-0.8, 0.58), (0.8, 0.58), (0.0, 1.0)), "roof") if v % 2 == 0 else
                ("p", ((-0.8, 0.58), (0.8, 0.58), (0.55, 0.95), (-0.55, 0.95)), "roof"))
        return [
            ("r", -0.68, 0.0, 0.68, 0.6, "body"), roof, ("r", -0.12, 0.0, 0.12, 0.34, "door"),
            ("r", -0.52, 0.3, -0.26, 0.48, "window"), ("r", 0.26, 0.3, 0.52, 0.48, "window"),
        ]
    if label == "building":
        prims = [("r", -0.28, 0.0, 0.28, 1.0, "body")]
        for row in range(5):
            for col in (-0.15, 0.05):
                y0 = 0.12 + row * 0.17
                prims.append(("r", col, y0, col + 0.1, y0 + 0.09, "window"))
        return prims
    if label == "tree":
        if v % 2 == 0:
            return [("r", -0.06, 0.0, 0.06, 0.45, "trunk"), ("e", -0.17, 0.55, 0.2, 0.18, "leaf"),
                    ("e", 0.17, 0.55, 0.2, 0.18, "leaf"), ("e", 0.0, 0.7, 0.32, 0.3, "leaf")]
        return [("r", -0.05, 0.0, 0.05, 0.3, "trunk"),
                ("p", ((-0.35, 0.22), (0.35, 0.22), (0.0, 0.7)), "leaf"),
                ("p", ((-0.28, 0.45), (0.28, 0.45), (0.0, 1.0)), "leaf")]
    if label == "bush":
        return [("e", -0.45, 0.45, 0.45, 0.45, "leaf"), ("e", 0.45, 0.4, 0.45, 0.4, "leaf"),
                ("e", 0.0, 0.5, 0.55, 0.5, "leaf")]
    if label == "fence":
        half = width / 2
        posts = np.linspace(-half + 0.08, half - 0.08, max(2, int(round(width / 0.7))) + 1)
        return ([("r", -half, 0.3, half, 0.42, "body"), ("r", -half, 0.66, half, 0.78, "body")]
                + [("r", x - 0.07, 0.0, x + 0.07, 1.0, "body") for x in posts])
    if label == "rock":
        rng = np.random.default_rng(v)
        angles = np.sort(rng.uniform(0, 2 * math.pi, 7))
        pts = tuple((0.75 * math.cos(a) * rng.uniform(0.85, 1.0),
                     0.5 + 0.5 * math.sin(a) * rng.uniform(0.85, 1.0)) for a in angles)
        return [("p", pts, "body")]
    if label == "boat":
        hull = ("p", ((-1.2, 0.38), (1.2, 0.38), (0.9, 0.0), (-0.9, 0.0)), "body")
        stripe = ("r", -1.1, 0.25, 1.1, 0.31, "stripe")
        if v % 2 == 0:
            return [("r", -0.04, 0.38, 0.04, 1.0, "mast"),
                    ("p", ((0.08, 0.42), (0.08, 1.0), (0.85, 0.42)), "sail"),
                    ("p", ((-0.08, 0.45), (-0.08, 0.9), (-0.6, 0.45)), "sail"), hull, stripe]
        return [("r", -0.55, 0.36, 0.45, 0.7, "cabin"), hull, stripe]
    if label == "sun":
        return [("e", 0.0, 0.0, 0.5, 0.5, "body")]
    if label == "cloud":
        return [("e", -0.55, -0.05, 0.45, 0.3, "body"), ("e", 0.5, -0.02, 0.5, 0.32, "body"),
                ("e", 0.0, 0.12, 0.55, 0.42, "body"), ("r", -0.9, -0.3, 0.9, -0.05, "body")]
    if label == "bird":
        return [("p", ((-0.8, 0.35), (-0.6, 0.45), (0.0, 0.0), (-0.05, -0.12)), "body"),
                ("p", ((0.8, 0.35), (0.6, 0.45), (0.0, 0.0), (0.05, -0.12)), "body"),
                ("e", 0.0, -0.05, 0.18, 0.1, "body")]
    if label == "kite":
        return [("p", ((-0.02, -0.4), (0.02, -0.4), (0.06, -1.0), (0.02, -1.0)), "tail"),
                ("p", ((0.0, 0.5), (0.4, 0.05), (0.0, -0.45), (-0.4, 0.05)), "body")]
    raise KeyError(label)
