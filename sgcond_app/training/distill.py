"""Progressive distillation of a factor (Salimans & Ho, 2022): a student learns to take in one DDIM
step what its teacher takes in two, so a factor sampled in 2K steps samples in K.

Both sample with the chain's DDIM (trailing spacing, eta 0), whose K-step timesteps are every other
one of its 2K-step timesteps. For a training picture noised to one of the student's timesteps t, the
teacher (frozen) takes two steps, t -> t' -> t''; the student is trained so that its clean-sample
estimate at t, put through one DDIM step t -> t'', lands where the teacher did. Solving that step for
the clean sample gives the student's target:

    x0* = (x_t'' - (s''/s) x_t) / (a'' - s'' a / s),   a = sqrt(alpha_bar_t), s = sqrt(1 - alpha_bar_t)

At the student's last step t'' is the end of sampling (alpha_bar 1) and x0* is the teacher's last
estimate. The student starts as a copy of the teacher and sees the same conditions, with the same
condition dropout as training, so classifier-free guidance still works.
"""

from __future__ import annotations

import torch
from torch import nn

from ..fgdm.factors import alphas_cumprod, to_x0
from ..models.denoiser import FactorDenoiser
from .factors import condition_dropout, factor_setup

TRAIN_STEPS = 1000


def ddim_timesteps(steps: int) -> list[int]:
    """The DDIM timesteps of `steps` steps, trailing spacing (as `make_scheduler` sets them)."""
    return [round(TRAIN_STEPS - k * TRAIN_STEPS / steps) - 1 for k in range(steps)]


def student_timesteps(steps: int) -> list[int]:
    """A student's timesteps. They must be every other one of its teacher's, and diffusers steps
    from t to t - 1000 // steps: so 2 * steps must divide 1000 (1, 2, 4, 5, 10 ... steps)."""
    if steps < 1 or TRAIN_STEPS % (2 * steps):
        raise ValueError(f"a student of {steps} steps: 2 x steps must divide {TRAIN_STEPS}")
    return ddim_timesteps(steps)


def ddim_step(x: torch.Tensor, x0: torch.Tensor, ab: torch.Tensor, ab_prev: torch.Tensor) -> torch.Tensor:
    """One DDIM step (eta 0) from x at alpha_bar `ab` to alpha_bar `ab_prev`, given the clean
    estimate x0; ab and ab_prev broadcast as (B, 1, 1, 1)."""
    eps = (x - ab.sqrt() * x0) / (1 - ab).sqrt()
    return ab_prev.sqrt() * x0 + (1 - ab_prev).sqrt() * eps


def student_target(x_t: torch.Tensor, x_end: torch.Tensor, ab: torch.Tensor, ab_end: torch.Tensor) -> torch.Tensor:
    """The clean sample that one DDIM step from x_t (at ab) to ab_end turns into x_end."""
    a, s = ab.sqrt(), (1 - ab).sqrt()
    a2, s2 = ab_end.sqrt(), (1 - ab_end).sqrt()
    return (x_end - (s2 / s) * x_t) / (a2 - s2 * a / s)


class DistillObjective(nn.Module):
    """The student's loss against two teacher steps, for one factor."""

    def __init__(self, teacher: FactorDenoiser, student: FactorDenoiser, student_steps: int) -> None:
        super().__init__()
        if teacher.config.factor != student.config.factor:
            raise ValueError("teacher and student are different factors")
        self.name = student.config.factor
        self.student = student
        self.teacher = teacher.eval().requires_grad_(False)
        self.steps = student_steps
        ab = alphas_cumprod()
        stride = TRAIN_STEPS // (2 * student_steps)  # the teacher's step
        t = torch.tensor(student_timesteps(student_steps))
        mid = t - stride
        end = t - 2 * stride
        self.register_buffer("ab_all", ab, persistent=False)
        self.register_buffer("t", t, persistent=False)
        self.register_buffer("t_mid", mid, persistent=False)
        self.register_buffer("ab_t", ab[t], persistent=False)
        self.register_buffer("ab_mid", ab[mid], persistent=False)
        # below timestep 0 is the end of sampling: alpha_bar 1 ("set_alpha_to_one")
        self.register_buffer("ab_end", torch.where(end >= 0, ab[end.clamp(min=0)], torch.ones(())),
                             persistent=False)

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher.eval()
        return self

    def forward(self, image, segmentation, depth, sketch, layout, tokens, token_pad):
        x0, _, conds, toks = factor_setup(self.name, image, segmentation, depth, sketch, layout, tokens)
        b, dev = x0.size(0), x0.device
        k = torch.randint(0, self.steps, (b,), device=dev)
        shape = (b, 1, 1, 1)
        ab, ab_mid, ab_end = self.ab_t[k].view(shape), self.ab_mid[k].view(shape), self.ab_end[k].view(shape)
        t, t_mid = self.t[k], self.t_mid[k]
        x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * torch.randn_like(x0)
        keep, pad = condition_dropout(b, len(conds), token_pad if toks is not None else None, dev)
        with torch.no_grad():
            first = to_x0(self.name, self.teacher(x_t, t, conds, toks, pad, keep))
            x_mid = ddim_step(x_t, first, ab, ab_mid)
            second = to_x0(self.name, self.teacher(x_mid, t_mid, conds, toks, pad, keep))
            x_end = ddim_step(x_mid, second, ab_mid, ab_end)
            target = student_target(x_t, x_end, ab, ab_end).clamp(-1, 1)
        out = to_x0(self.name, self.student(x_t, t, conds, toks, pad, keep))
        loss = (out - target).pow(2).mean()
        return loss, {"loss": loss.detach()}
