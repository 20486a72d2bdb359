"""Sampling one factor with a diffusers scheduler (DDIM by default, or DPM-Solver++), classifier-free
guidance in the same network call (the conditional and unconditional halves of one batch), and
the initial noise given by the caller (so a rerun with the same noise repeats what did not change)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch

from ..models.denoiser import FactorDenoiser
from .factors import make_scheduler, to_x0

log = logging.getLogger(__name__)
_WARNED: set[tuple[str, int, int]] = set()


def seeded_noise(seeds: list[int], shape: tuple[int, ...], salt: int) -> torch.Tensor:
    """One noise tensor per seed; `salt` makes the factors' noises independent."""
    out = []
    for s in seeds:
        g = torch.Generator().manual_seed((int(s) * 1_000_003 + salt) % (2 ** 63))
        out.append(torch.randn(shape, generator=g))
    return torch.stack(out)


@torch.no_grad()
def sample(model: FactorDenoiser, noise: torch.Tensor, conds: list[torch.Tensor | None],
           tokens: torch.Tensor | None = None, token_pad: torch.Tensor | None = None, steps: int = 10,
           guidance: float = 1.0, scheduler: str = "ddim",
           on_step: Callable[[int, int], None] | None = None,
           allowed: torch.Tensor | None = None) -> torch.Tensor:
    """The network's last output (logits for categorical factors, x0 otherwise), (B, C, S, S).

    `allowed` (C,) bool, categorical factors only: the classes the sample may take. The logits of
    the others are set to minus infinity at every step, before the clean estimate is formed, so
    the sample is the model's distribution restricted to those classes (not a relabelling after)."""
    name = model.config.factor
    distilled = getattr(model.config, "steps", 0)
    if distilled and (steps != distilled or scheduler != "ddim") and (name, distilled, steps) not in _WARNED:
        _WARNED.add((name, distilled, steps))
        log.warning("the %s factor was distilled to sample in %d DDIM steps; sampling it in %d %s steps "
                    "gives worse maps", name, distilled, steps, scheduler)
    device = next(model.parameters()).device
    sched = make_scheduler(scheduler)
    sched.set_timesteps(steps)
    x = noise.to(device) * sched.init_noise_sigma
    b = x.size(0)
    conds = [c.to(device) if c is not None else None for c in conds]
    if tokens is not None:
        tokens, token_pad = tokens.to(device), token_pad.to(device)
    guided = guidance != 1.0
    if guided:
        conds2 = [torch.cat([c, c]) if c is not None else None for c in conds]
        keep = [torch.cat([torch.ones(b, dtype=torch.bool), torch.zeros(b, dtype=torch.bool)]).to(device)
                for _ in conds]
        if tokens is not None:
            tokens2 = torch.cat([tokens, tokens])
            pad2 = torch.cat([token_pad, torch.ones_like(token_pad)])
    banned = None
    if allowed is not None:
        allowed = allowed.to(device=device, dtype=torch.bool)
        if not bool(allowed.any()):
            raise ValueError("at least one class must be allowed")
        banned = (~allowed).view(1, -1, 1, 1)
    out = None
    for i, t in enumerate(sched.timesteps):
        tt = t.to(device).expand(2 * b if guided else b)
        if guided:
            both = model(torch.cat([x, x]), tt, conds2, tokens2 if tokens is not None else None,
                         pad2 if tokens is not None else None, keep)
            cond_out, uncond_out = both.float().chunk(2)
            out = uncond_out + guidance * (cond_out - uncond_out)
        else:
            out = model(x, tt, conds, tokens, token_pad).float()
        if banned is not None:
            out = out.masked_fill(banned, float("-inf"))
        x = sched.step(to_x0(name, out), t, x).prev_sample
        if on_step is not None:
            on_step(i + 1, steps)
    return out
