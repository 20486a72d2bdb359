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


class Guided:
    """The network's output for a batch of noisy samples at one timestep under fixed conditions,
    with classifier-free guidance in the same call (the conditional and unconditional halves of one
    batch) when `guidance` is not 1. Shared by sampling and inversion."""

    def __init__(self, model: FactorDenoiser, conds: list[torch.Tensor | None], tokens: torch.Tensor | None = None,
                 token_pad: torch.Tensor | None = None, guidance: float = 1.0, batch: int = 1) -> None:
        self.model, self.guidance = model, float(guidance)
        self.device = next(model.parameters()).device
        device, b = self.device, batch
        self.conds = [c.to(device) if c is not None else None for c in conds]
        self.tokens = tokens.to(device) if tokens is not None else None
        self.pad = token_pad.to(device) if token_pad is not None else None
        if self.guided:
            self.conds2 = [torch.cat([c, c]) if c is not None else None for c in self.conds]
            self.keep = [torch.cat([torch.ones(b, dtype=torch.bool), torch.zeros(b, dtype=torch.bool)]).to(device)
                         for _ in self.conds]
            if self.tokens is not None:
                self.tokens2 = torch.cat([self.tokens, self.tokens])
                self.pad2 = torch.cat([self.pad, torch.ones_like(self.pad)])

    @property
    def guided(self) -> bool:
        return self.guidance != 1.0

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device)
        b = x.size(0)
        tt = torch.as_tensor(t).to(self.device).expand(2 * b if self.guided else b)
        if not self.guided:
            return self.model(x, tt, self.conds, self.tokens, self.pad).float()
        tokens = self.tokens2 if self.tokens is not None else None
        pad = self.pad2 if self.tokens is not None else None
        both = self.model(torch.cat([x, x]), tt, self.conds2, tokens, pad, self.keep)
        cond_out, uncond_out = both.float().chunk(2)
        return uncond_out + self.guidance * (cond_out - uncond_out)


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
    sched = make_scheduler(scheduler)
    sched.set_timesteps(steps)
    predict = Guided(model, conds, tokens, token_pad, guidance, noise.size(0))
    x = noise.to(predict.device) * sched.init_noise_sigma
    banned = None
    if allowed is not None:
        allowed = allowed.to(device=predict.device, dtype=torch.bool)
        if not bool(allowed.any()):
            raise ValueError("at least one class must be allowed")
        banned = (~allowed).view(1, -1, 1, 1)
    out = None
    for i, t in enumerate(sched.timesteps):
        out = predict(x, t)
        if banned is not None:
            out = out.masked_fill(banned, float("-inf"))
        x = sched.step(to_x0(name, out), t, x).prev_sample
        if on_step is not None:
            on_step(i + 1, steps)
    return out
