"""Inverting a picture under a factor, and regenerating it from the inverted noise after an edit.

Two inversions of a clean sample x0 under fixed conditions, on the DDIM timesteps the chain samples with:

- **Edit-friendly DDPM inversion** (Huberman-Spiegelglas, Kulikov and Michaeli, 2024; the inversion
  LEDITS++ builds on). Every noisy state x_t is drawn independently from q(x_t | x0) with its own
  seeded noise; then, stepping down with a stochastic DDIM step (eta = 1), the noise map z_t that
  carries x_t exactly onto the next state is solved for. Sampling from x_T with those noise maps
  gives x0 back exactly (up to float error), whatever the network predicts. The last step of the
  schedule goes to alpha = 1 where a DDIM step has no noise: its "noise map" is the residual
  between x0 and the network's last estimate.
- **DDIM inversion**: the deterministic DDIM step run backwards (the noise the network sees at one
  timestep taken as the noise at the next). Cheaper to keep (only x_T) but approximate: the
  reconstruction is measured (`bench inversion`).

An edit regenerates with the edited conditions. Where the edit changed nothing (outside `mask`,
a soft map in [0, 1] of where the conditions changed), every intermediate state is replaced by the
picture's own noisy state at that timestep (blended sampling), so the rest of the picture stays as
it was, pixel for pixel. Inside the mask the region starts from fresh noise and is sampled with
deterministic DDIM steps: the inverted noise there still carries what was there before (a moved
sheep left its legs behind), and at 8 steps the stochastic steps the noise maps belong to drew
washed-out objects. So the noise maps give the exact reconstruction; an edit keeps the rest of the
picture through the picture's own noisy states.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .factors import alphas_cumprod, make_scheduler, to_x0
from .sampler import Guided

KINDS = ("ddpm", "ddim")
DEFAULT_STEPS = 8  # edit-friendly inversion is exact at any count; 8 keeps read + edit under 2 s here
NOISE_SALT = 97  # the seeded noise of the states x_t (edit-friendly) and of blended sampling


@dataclass
class Inversion:
    """What regenerates a picture: the kind, the steps (and so the timesteps), the guidance the
    factor ran with, the seed of the states' noise, x_T, and for edit-friendly inversion the noise
    maps (steps, B, C, S, S)."""

    kind: str
    steps: int
    guidance: float
    seed: int
    x_t: torch.Tensor  # (B, C, S, S), the first state
    noises: torch.Tensor | None  # (steps, B, C, S, S) for "ddpm"

    def to_state(self) -> dict[str, np.ndarray]:
        out = {"inv_kind": np.array(KINDS.index(self.kind), np.int64),
               "inv_steps": np.array(self.steps, np.int64), "inv_guidance": np.array(self.guidance, np.float64),
               "inv_seed": np.array(self.seed, np.int64), "inv_x_t": self.x_t.numpy().astype(np.float32)}
        if self.noises is not None:
            out["inv_noises"] = self.noises.numpy().astype(np.float32)
        return out

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> Inversion | None:
        if "inv_x_t" not in state:
            return None
        noises = state.get("inv_noises")

        def one(key: str):
            return np.asarray(state[key]).reshape(-1)[0].item()  # 0-d here, (1,) after some file formats

        x_t = torch.from_numpy(np.asarray(state["inv_x_t"], np.float32))
        maps = None if noises is None else torch.from_numpy(np.asarray(noises, np.float32))
        return cls(KINDS[int(one("inv_kind"))], int(one("inv_steps")), float(one("inv_guidance")), int(one("inv_seed")),
                   x_t, maps)


def schedule(steps: int) -> list[tuple[int, float, float]]:
    """(timestep, alpha-bar at it, alpha-bar at the next, lower one) for each step, as DDIM samples."""
    sched = make_scheduler("ddim")
    sched.set_timesteps(steps)
    ac = alphas_cumprod()
    ratio = sched.config.num_train_timesteps // steps
    out = []
    for t in sched.timesteps.tolist():
        prev = t - ratio
        out.append((int(t), float(ac[t]), float(ac[prev]) if prev >= 0 else 1.0))
    return out


def _step(x0: torch.Tensor, x: torch.Tensor, a_t: float, a_prev: float, eta: float) -> tuple[torch.Tensor, float]:
    """A DDIM step's mean and the standard deviation of its noise (eta 0: deterministic DDIM,
    1: the DDPM posterior's)."""
    eps = (x - a_t ** 0.5 * x0) / (1 - a_t) ** 0.5
    sigma = eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)) ** 0.5
    mean = a_prev ** 0.5 * x0 + max(1 - a_prev - sigma ** 2, 0.0) ** 0.5 * eps
    return mean, sigma


def _noisy_states(x0: torch.Tensor, sched: list[tuple[int, float, float]], seed: int) -> list[torch.Tensor]:
    """x_t ~ q(x_t | x0) at every timestep, each with its own seeded noise."""
    g = torch.Generator().manual_seed((int(seed) * 1_000_003 + NOISE_SALT) % (2 ** 63))
    return [a ** 0.5 * x0 + (1 - a) ** 0.5 * torch.randn(x0.shape, generator=g) for _, a, _ in sched]


@torch.no_grad()
def invert(predict: Guided, name: str, x0: torch.Tensor, kind: str = "ddpm", steps: int = DEFAULT_STEPS,
           seed: int = 0, on_step: Callable[[int, int], None] | None = None) -> Inversion:
    """x0 (B, C, S, S) in [-1, 1] under the conditions `predict` holds."""
    if kind not in KINDS:
        raise ValueError(f"inversion must be one of {', '.join(KINDS)}")
    sched = schedule(steps)
    x0 = x0.float().cpu()
    if kind == "ddpm":
        states = _noisy_states(x0, sched, seed)
        noises = []
        for k, (t, a_t, a_prev) in enumerate(sched):
            est = to_x0(name, predict(states[k], torch.tensor(t))).cpu()
            mean, sigma = _step(est, states[k], a_t, a_prev, 1.0)
            target = states[k + 1] if k + 1 < len(sched) else x0
            noises.append((target - mean) / (sigma if sigma > 0 else 1.0))
            if on_step:
                on_step(k + 1, steps)
        return Inversion(kind, steps, predict.guidance, seed, states[0], torch.stack(noises))
    # DDIM backwards, from x0 up through the timesteps. At each level the network's estimate gives the
    # noise, which carries the state to the next level up; x0 itself has no timestep, so its noise is
    # read as if it were the state at the lowest one (the usual approximation).
    x = x0
    up = list(reversed(sched))
    for k, (t_high, a_high, _) in enumerate(up):
        t_eval, a_eval = (t_high, a_high) if k == 0 else (up[k - 1][0], up[k - 1][1])
        est = to_x0(name, predict(x, torch.tensor(t_eval))).cpu()
        eps = (x - a_eval ** 0.5 * est) / (1 - a_eval) ** 0.5
        x = a_high ** 0.5 * est + (1 - a_high) ** 0.5 * eps
        if on_step:
            on_step(k + 1, steps)
    return Inversion(kind, steps, predict.guidance, seed, x, None)


@torch.no_grad()
def regenerate(predict: Guided, name: str, inv: Inversion, original: torch.Tensor | None = None,
               mask: torch.Tensor | None = None, on_step: Callable[[int, int], None] | None = None,
               guide: tuple[torch.Tensor, torch.Tensor] | None = None, variants: int = 1,
               first: int = 0) -> torch.Tensor:
    """The clean sample (B, C, S, S) from the inversion's noise under `predict`'s conditions.
    `mask` (B, 1, S, S) in [0, 1] with `original` (the inverted picture): outside the mask every
    state is the original's own noisy state, and the result is the original there. `guide` (a
    picture, its mask (B, 1, S, S)): inside its mask the first TRANSPLANT_STEPS (a share) of the
    steps take the guide's noisy states (a moved thing's own pixels at its new place); any after
    them are free to fit it to its surroundings. `variants` (with a mask): that many draws of the
    masked region, each from its own fresh noise (B = variants; `predict` must be built for that
    batch), the first the same as a single draw. `first`: the draws are draws first, first + 1, ...
    (draw k comes from the same noise whatever batch it is drawn in)."""
    sched = schedule(inv.steps)
    x = inv.x_t.clone()
    blend = mask is not None and original is not None
    states = _noisy_states(original.float().cpu(), sched, inv.seed) if blend else None
    guided_steps = round(TRANSPLANT_STEPS * len(sched)) if blend and guide is not None else 0
    if guided_steps:
        guide_states = _noisy_states(guide[0].float().cpu(), sched, inv.seed)
        guide_mask = guide[1].float().cpu()
    noises = inv.noises
    if blend:
        # Inside the edit the inverted noise still carries what was there (a ghost of a moved
        # object): the region starts from fresh noise instead and is sampled by DDIM (at a few
        # steps far sharper than the stochastic steps the noise maps belong to).
        fresh = []
        for k in range(int(first), int(first) + max(1, int(variants))):
            g = torch.Generator().manual_seed((int(inv.seed) * 1_000_003 + NOISE_SALT + 1 + 7919 * k) % (2 ** 63))
            fresh.append(torch.randn(x.shape, generator=g))
        inside = (mask > 0).float()
        x = inside * torch.cat(fresh) + (1 - inside) * x
        if guided_steps:
            x = guide_mask * guide_states[0] + (1 - guide_mask) * x
    for k, (t, a_t, a_prev) in enumerate(sched):
        est = to_x0(name, predict(x, torch.tensor(t))).cpu()
        if inv.kind == "ddpm" and not blend:
            mean, sigma = _step(est, x, a_t, a_prev, 1.0)
            x = mean + (sigma if sigma > 0 else 1.0) * noises[k]
        else:
            x, _ = _step(est, x, a_t, a_prev, 0.0)
        if blend:
            keep = states[k + 1] if k + 1 < len(sched) else original.float().cpu()
            x = mask * x + (1 - mask) * keep
            if k + 1 < guided_steps:
                x = guide_mask * guide_states[k + 1] + (1 - guide_mask) * x
        if on_step:
            on_step(k + 1, inv.steps)
    return x


TRANSPLANT_IOU = 0.6  # a thing in an edited map counts as moved if an old one, shifted (or mirrored), covers it so
# Of the steps during which a moved thing keeps its own (noised) pixels: all of them. On 200 held-out
# renders as 64 px JPEGs, 3/4 (the earlier choice, made on 40) left a moved thing's last steps free
# to redraw it after a map read off a blurred picture, and part of it came out another thing: moves
# found within 2 px 0.878 with 3/4, 0.939 with all; flips holding on the picture 0.818 / 0.851.
TRANSPLANT_STEPS = 1.0


def transplants(old: np.ndarray, new: np.ndarray, changed: np.ndarray, picture: np.ndarray,
                vocabulary=None) -> tuple[np.ndarray, np.ndarray] | None:
    """Things an edit moved or mirrored, found by their shapes: each connected region of a thing's
    class in the new segmentation (S, S) that the edit touched, matched to a region of the same
    class in the old one of the same shape once shifted (and perhaps mirrored). -> (the picture
    (P, P, 3) with each such thing's old pixels at its new place, where (P, P) bool), or None. The
    maps hold classes of `vocabulary` (default the tiny world's)."""
    from scipy import ndimage

    from ..graph import vocabularies

    stuff = vocabularies.or_tiny(vocabulary).stuff_positions

    size, n = picture.shape[0], old.shape[0]
    k = size // n
    guide, where = picture.copy(), np.zeros((size, size), bool)
    eight = np.ones((3, 3), bool)
    for cid in np.unique(new[changed]):
        if int(cid) in stuff:
            continue
        new_lab, nn = ndimage.label(new == cid, eight)
        old_lab, no = ndimage.label(old == cid, eight)
        sources = [old_lab == j for j in range(1, no + 1)]
        for i in range(1, nn + 1):
            target = new_lab == i
            if not (target & changed).any():
                continue
            best = _match(target, sources)
            if best is None:
                continue
            source, (dy, dx), flip = best
            ty, tx = np.nonzero(np.kron(target, np.ones((k, k), bool)))
            sy, sx = ty - dy * k, tx - dx * k
            ys, xs = np.nonzero(source)
            if flip == "h":
                sx = (xs.min() * k + (xs.max() + 1) * k - 1) - sx
            elif flip == "v":
                sy = (ys.min() * k + (ys.max() + 1) * k - 1) - sy
            inside = (sy >= 0) & (sy < size) & (sx >= 0) & (sx < size)
            ty, tx, sy, sx = ty[inside], tx[inside], sy[inside], sx[inside]
            ok = source[sy // k, sx // k]
            guide[ty[ok], tx[ok]] = picture[sy[ok], sx[ok]]
            where[ty[ok], tx[ok]] = True
    return (guide, where) if where.any() else None


def _match(target: np.ndarray, sources: list[np.ndarray]):
    """The old region (of `sources`) that, shifted and perhaps mirrored, best covers `target` ->
    (source, (dy, dx), "" | "h" | "v"), or None when none does (IoU under TRANSPLANT_IOU) or the best
    is the target itself, unmoved."""
    ty, tx = np.nonzero(target)
    best, best_iou = None, TRANSPLANT_IOU
    for source in sources:
        if not 0.7 <= source.sum() / target.sum() <= 1.4:
            continue
        ys, xs = np.nonzero(source)
        y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
        for flip in ("", "h", "v"):
            fy = y0 + y1 - ys if flip == "v" else ys
            fx = x0 + x1 - xs if flip == "h" else xs
            dy, dx = int(round(ty.mean() - fy.mean())), int(round(tx.mean() - fx.mean()))
            py, px = fy + dy, fx + dx
            keep = (py >= 0) & (py < target.shape[0]) & (px >= 0) & (px < target.shape[1])
            placed = np.zeros_like(target)
            placed[py[keep], px[keep]] = True
            iou = (placed & target).sum() / (placed | target).sum()
            if iou > best_iou:
                best, best_iou = (source, (dy, dx), flip), iou
    if best is None or (best[1] == (0, 0) and best[2] == ""):
        return None
    return best


IMPLICIT_QUANTILE = 0.2  # of a concept's region where its guidance is weakest, left out of its implicit mask


def implicit_mask(direction: torch.Tensor, region: torch.Tensor, quantile: float = IMPLICIT_QUANTILE) -> torch.Tensor:
    """LEDITS++'s implicit mask for one concept at one step: where its guidance `direction` (B, C, S, S)
    is strongest (above the `quantile` of its magnitude within the region), inside `region` (B, 1, S, S,
    soft), which plays the part of the concept's cross-attention map: the pixels of its class."""
    magnitude = direction.abs().mean(1, keepdim=True)
    inside = region > 0
    if not inside.any() or quantile <= 0:
        return region
    threshold = torch.quantile(magnitude[inside], quantile)
    return region * (magnitude >= threshold).float()


@torch.no_grad()
def steer(base: Guided, name: str, stages: list[tuple[Guided, float, torch.Tensor]], inv: Inversion,
          original: torch.Tensor, mask: torch.Tensor, on_step: Callable[[int, int], None] | None = None,
          quantile: float | None = None) -> torch.Tensor:
    """Concept edits as guidance (LEDITS++'s edit guidance, for a factor conditioned on maps): stage k
    (its conditions' predictor, its scale, its region) pulls the estimate from the previous stage's
    conditions towards its own, `scale` times, inside its implicit mask:
    x0 = x0(base) + sum_k scale_k * M_k * (x0(stage k) - x0(stage k-1)). With every scale 1 and full
    masks this is the last stage's conditions alone; a larger scale pushes further away from what
    was there. Outside `mask` (B, 1, S, S) every state is the original's own noisy state, as in
    `regenerate`, so the rest of the picture stays; inside, fresh noise and DDIM steps."""
    quantile = IMPLICIT_QUANTILE if quantile is None else quantile
    sched = schedule(inv.steps)
    original = original.float().cpu()
    states = _noisy_states(original, sched, inv.seed)
    g = torch.Generator().manual_seed((int(inv.seed) * 1_000_003 + NOISE_SALT + 1) % (2 ** 63))
    inside = (mask > 0).float()
    x = inside * torch.randn(inv.x_t.shape, generator=g) + (1 - inside) * inv.x_t
    for k, (t, a_t, a_prev) in enumerate(sched):
        tt = torch.tensor(t)
        before = to_x0(name, base(x, tt)).cpu()
        est = before.clone()
        for predict, scale, region in stages:
            now = to_x0(name, predict(x, tt)).cpu()
            direction = now - before
            est = est + scale * implicit_mask(direction, region, quantile) * direction
            before = now
        x, _ = _step(est.clamp(-1, 1), x, a_t, a_prev, 0.0)
        keep = states[k + 1] if k + 1 < len(sched) else original
        x = mask * x + (1 - mask) * keep
        if on_step:
            on_step(k + 1, inv.steps)
    return x


_LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
SHADE_RANGE = (0.6, 1.4)  # how much darker or lighter than its body's mean a recoloured pixel may stay


@torch.no_grad()
def recolour(predict: Guided, name: str, inv: Inversion, original: torch.Tensor, mask: torch.Tensor,
             bodies: list[tuple[torch.Tensor, tuple[int, int, int]]], scale: float = 1.0,
             on_step: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """Things given another colour. The image factor is not told colours, so this is guidance on its
    estimate, as a concept edit is: the picture is regenerated from its own inverted noise
    (edit-friendly: each step's noise map; DDIM: the deterministic path), and at every step the
    estimate's pixels on each body (a (1, 1, S, S) mask: a thing's paint) are pulled, `scale` of the
    way, towards its new colour (RGB 0-255) at the brightness each pixel has against the body's mean
    brightness, so that the factor's shading and texture stay. Outside `mask` (1, 1, S, S) every
    state is `original`'s own noisy state. Without guidance (scale 0) the picture comes back."""
    sched = schedule(inv.steps)
    original = original.float().cpu()
    states = _noisy_states(original, sched, inv.seed)
    x = inv.x_t.clone()
    for k, (t, a_t, a_prev) in enumerate(sched):
        est = to_x0(name, predict(x, torch.tensor(t))).cpu()
        luma = ((est + 1) / 2 * _LUMA).sum(1, keepdim=True)
        for where, rgb in bodies:
            mean = (luma * where).sum() / where.sum().clamp_min(1.0)
            shade = (luma / mean.clamp_min(0.02)).clamp(*SHADE_RANGE)
            goal = (torch.tensor(rgb, dtype=torch.float32).view(1, 3, 1, 1) / 255 * shade).clamp(0, 1) * 2 - 1
            est = est + scale * where * (goal - est)
        if inv.kind == "ddpm":
            mean_x, sigma = _step(est, x, a_t, a_prev, 1.0)
            x = mean_x + (sigma if sigma > 0 else 1.0) * inv.noises[k]
        else:
            x, _ = _step(est, x, a_t, a_prev, 0.0)
        keep = states[k + 1] if k + 1 < len(sched) else original
        x = mask * x + (1 - mask) * keep
        if on_step:
            on_step(k + 1, inv.steps)
    return x


# --- a picture inverted under the image factor, with the maps it was inverted under -------------

CHANGE_DILATION = 1  # map pixels around a changed region that are regenerated with it


def grown(diff: np.ndarray, iterations: int = CHANGE_DILATION) -> np.ndarray:
    """(S, S) bool: where the maps changed, grown by `iterations` pixels (what an edit redraws)."""
    from scipy import ndimage

    return ndimage.binary_dilation(diff, iterations=iterations) if diff.any() and iterations else diff


def depth_kept_outside(changed: np.ndarray, fresh: torch.Tensor, old: np.ndarray) -> torch.Tensor:
    """The depth (32, 32) sampled for an edit inside the changed region (S, S, pooled to the
    depth's size), the old depth outside it."""
    import torch.nn.functional as F

    small = F.adaptive_max_pool2d(torch.from_numpy(changed).float()[None, None], fresh.shape[-1])[0, 0] > 0
    return torch.where(small, fresh.float(), torch.from_numpy(np.asarray(old, np.float32)))


@dataclass
class Inverted:
    """A picture (P, P, 3) uint8 inverted under the image factor given its segmentation (S, S),
    depth (32, 32) and sketch (S, S): an edit regenerates where the maps changed, from this noise."""

    inversion: Inversion
    picture: np.ndarray
    segmentation: np.ndarray
    depth32: np.ndarray
    sketch: np.ndarray

    def to_state(self) -> dict[str, np.ndarray]:
        return {**self.inversion.to_state(), "inv_picture": self.picture,
                "inv_segmentation": self.segmentation.astype(np.uint8),
                "inv_depth32": np.asarray(self.depth32, np.float32), "inv_sketch": self.sketch.astype(np.uint8)}

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> Inverted | None:
        inv = Inversion.from_state(state)
        if inv is None:
            return None
        return cls(inv, np.asarray(state["inv_picture"], np.uint8), np.asarray(state["inv_segmentation"], np.uint8),
                   np.asarray(state["inv_depth32"], np.float32), np.asarray(state["inv_sketch"], np.uint8))

    def changed(self, segmentation: np.ndarray, depth32: np.ndarray | None = None,
                sketch: np.ndarray | None = None) -> np.ndarray:
        """(S, S) bool: where a segmentation differs from the inverted one, and where an edited depth
        (32, 32) or sketch (S, S) does when given, dilated."""
        diff = np.asarray(segmentation) != self.segmentation
        if depth32 is not None:
            k = diff.shape[0] // np.asarray(depth32).shape[0]
            moved = np.abs(np.asarray(depth32, np.float32) - np.asarray(self.depth32, np.float32)) > 0.5 / 255
            diff |= np.kron(moved, np.ones((k, k), bool))
        if sketch is not None:
            diff |= np.asarray(sketch) != self.sketch
        return grown(diff)

    def keep_outside(self, changed: np.ndarray, depth32: torch.Tensor, sketch: np.ndarray
                     ) -> tuple[torch.Tensor, np.ndarray]:
        """Depth and sketch sampled for an edit, the inverted ones outside the changed region."""
        depth = depth_kept_outside(changed, depth32, self.depth32)
        return depth, np.where(changed, sketch, self.sketch).astype(np.uint8)

    def picture_tensor(self) -> torch.Tensor:
        from ..models.graph_encoder import image_tensor

        return image_tensor(self.picture)


def soft_mask(changed: np.ndarray, size: int) -> torch.Tensor:
    """A changed-region map (S, S) bool at the picture's size (1, 1, P, P), edges softened by a
    few pixels outwards (zero beyond them)."""
    import torch.nn.functional as F

    m = F.interpolate(torch.from_numpy(changed).float()[None, None], size=size, mode="nearest")
    r = max(1, size // changed.shape[0])
    grown = F.max_pool2d(m, 2 * r + 1, stride=1, padding=r)
    return F.avg_pool2d(grown, 2 * r + 1, stride=1, padding=r, count_include_pad=False).clamp(0, 1)


@torch.no_grad()
def inpaint(predict: Guided, name: str, known: torch.Tensor, mask: torch.Tensor, noise: torch.Tensor, steps: int,
            banned: torch.Tensor | None = None) -> torch.Tensor:
    """A DDIM sample with `known` (B, C, S, S, clean, in [-1, 1]) kept outside `mask` (B, 1, S, S):
    after every step the state outside the mask is the known sample noised to that step (RePaint's
    replacement, without resampling). -> the network's last output. `banned` (1, C, 1, 1) bool: the
    classes a categorical factor may not draw."""
    sched = schedule(steps)
    g = torch.Generator().manual_seed(NOISE_SALT)
    x = noise.clone()
    out = None
    for t, a_t, a_prev in sched:
        out = predict(x, torch.tensor(t)).cpu()
        if banned is not None:
            out = out.masked_fill(banned, float("-inf"))
        x, _ = _step(to_x0(name, out), x, a_t, a_prev, 0.0)
        keep = known if a_prev >= 1.0 else a_prev ** 0.5 * known + (1 - a_prev) ** 0.5 * torch.randn(
            known.shape, generator=g)
        x = mask * x + (1 - mask) * keep
    return out
