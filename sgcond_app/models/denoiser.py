"""The conditional denoiser every factor of the chain uses: a small UNet with a time embedding,
spatial conditions concatenated to its input (each with a presence plane, so "no condition" is
not the same as "a condition of zeros"), and optional cross-attention to tokens (the graph
encoder's object embeddings) at chosen levels, as GLIGEN/SGCond condition on a graph.

It predicts the clean sample x0 (or logits of it, for categorical maps): x0-prediction learned
these targets far faster than epsilon-prediction on this project's CPUs (DESIGN.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .pretrained import register


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float().unsqueeze(1) * freqs.unsqueeze(0)
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class TimeResBlock(nn.Module):
    def __init__(self, inp: int, out: int, time_dim: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(8, inp)
        self.conv1 = nn.Conv2d(inp, out, 3, padding=1)
        self.time = nn.Linear(time_dim, 2 * out)
        self.norm2 = nn.GroupNorm(8, out)
        self.conv2 = nn.Conv2d(out, out, 3, padding=1)
        self.skip = nn.Conv2d(inp, out, 1) if inp != out else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.time(temb).unsqueeze(-1).unsqueeze(-1).chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(F.silu(h))
        return self.skip(x) + h


class CrossAttention(nn.Module):
    """Pixels attend to tokens. A learned null token is always present, so a sample whose tokens
    are all dropped (classifier-free guidance) still has something to attend to."""

    def __init__(self, channels: int, context_dim: int, heads: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(8, channels)
        self.attn = nn.MultiheadAttention(channels, heads, kdim=context_dim, vdim=context_dim, batch_first=True)
        self.null = nn.Parameter(torch.randn(1, 1, context_dim) * 0.02)
        self.out = nn.Linear(channels, channels)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, tokens: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.norm(x).flatten(2).transpose(1, 2)
        ctx = torch.cat([self.null.expand(b, -1, -1).to(tokens.dtype), tokens], dim=1)
        mask = torch.cat([torch.zeros(b, 1, dtype=torch.bool, device=x.device), pad], dim=1)
        a, _ = self.attn(q, ctx, ctx, key_padding_mask=mask, need_weights=False)
        return x + self.out(a).transpose(1, 2).reshape(b, c, h, w)


@register
class FactorDenoiser(nn.Module):
    @dataclass
    class Config:
        factor: str = "image"  # segmentation | depth | sketch | image
        size: int = 64  # the resolution it samples at
        out_channels: int = 3
        cond_channels: tuple[int, ...] = ()  # one entry per spatial condition
        channels: tuple[int, ...] = (32, 64, 96)
        attention: tuple[bool, ...] = (False, False, False)  # cross-attention at each level
        context_dim: int = 0  # token width; 0 = no tokens
        heads: int = 4
        time_dim: int = 128
        steps: int = 0  # 0: samples in any number of steps; k: distilled to sample in exactly k

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = c = config
        ch = list(c.channels)
        inp = c.out_channels + sum(k + 1 for k in c.cond_channels)
        self.time = nn.Sequential(nn.Linear(c.time_dim, c.time_dim), nn.SiLU(), nn.Linear(c.time_dim, c.time_dim))
        self.stem = nn.Conv2d(inp, ch[0], 3, padding=1)
        attend = [i < len(c.attention) and bool(c.attention[i]) and c.context_dim > 0 for i in range(len(ch))]

        def attn(channels: int, on: bool) -> nn.Module | None:
            return CrossAttention(channels, c.context_dim, c.heads) if on else None

        self.down = nn.ModuleList(TimeResBlock(ch[i], ch[i], c.time_dim) for i in range(len(ch)))
        self.down_attn = nn.ModuleList(attn(ch[i], attend[i]) or nn.Identity() for i in range(len(ch)))
        self.pool = nn.ModuleList(nn.Conv2d(ch[i], ch[i + 1], 4, stride=2, padding=1) for i in range(len(ch) - 1))
        self.mid = TimeResBlock(ch[-1], ch[-1], c.time_dim)
        self.mid_attn = attn(ch[-1], attend[-1]) or nn.Identity()
        self.unpool = nn.ModuleList(nn.ConvTranspose2d(ch[i + 1], ch[i], 4, stride=2, padding=1)
                                    for i in range(len(ch) - 1))
        self.up = nn.ModuleList(TimeResBlock(2 * ch[i], ch[i], c.time_dim) for i in range(len(ch)))
        self.up_attn = nn.ModuleList(attn(ch[i], attend[i]) or nn.Identity() for i in range(len(ch)))
        self.head = nn.Sequential(nn.GroupNorm(8, ch[0]), nn.SiLU(), nn.Conv2d(ch[0], c.out_channels, 3, padding=1))
        self._attend = attend

    def forward(self, x: torch.Tensor, t: torch.Tensor, conds: list[torch.Tensor | None],
                tokens: torch.Tensor | None = None, token_pad: torch.Tensor | None = None,
                keep: list[torch.Tensor] | None = None) -> torch.Tensor:
        """x (B, out, S, S) noisy sample; t (B,) timesteps; conds: one (B, k, S, S) tensor or None per
        spatial condition; tokens (B, O, context_dim) with token_pad (B, O) True where padding;
        keep: per condition a (B,) bool saying which samples see it (condition dropout)."""
        b = x.size(0)
        parts = [x]
        for j, (k, cond) in enumerate(zip(self.config.cond_channels, conds, strict=True)):
            if cond is None:
                parts += [x.new_zeros(b, k + 1, *x.shape[-2:])]
                continue
            plane = x.new_ones(b, 1, 1, 1)
            if keep is not None:
                plane = keep[j].to(x.dtype).view(b, 1, 1, 1)
            parts += [cond.to(x.dtype) * plane, plane.expand(b, 1, *x.shape[-2:])]
        if t.ndim == 0:
            t = t.expand(b)
        temb = self.time(timestep_embedding(t, self.config.time_dim).to(x.dtype))
        if tokens is None and any(self._attend):
            tokens = x.new_zeros(b, 0, self.config.context_dim)
            token_pad = torch.zeros(b, 0, dtype=torch.bool, device=x.device)

        def attend(layer: nn.Module, h: torch.Tensor) -> torch.Tensor:
            return h if isinstance(layer, nn.Identity) else layer(h, tokens, token_pad)

        h = self.stem(torch.cat(parts, dim=1))
        skips = []
        for i, block in enumerate(self.down):
            h = attend(self.down_attn[i], block(h, temb))
            skips.append(h)
            if i < len(self.pool):
                h = self.pool[i](h)
        h = attend(self.mid_attn, self.mid(h, temb))
        for i in reversed(range(len(self.up))):
            if i < len(self.unpool):
                h = self.unpool[i](h)
            h = attend(self.up_attn[i], self.up[i](torch.cat([h, skips[i]], dim=1), temb))
        return self.head(h)
