"""Pictures in, on the sd backend: LEDITS++ (diffusers' `LEditsPPPipelineStableDiffusion`) over the
same parts as the pictures (unet, vae, text encoder, tokenizer; no ControlNet: LEDITS++ edits with
the UNet alone, so an edit is told words, not maps).

- **Inversion** is LEDITS++'s edit-friendly DDPM inversion: the clean latents noised to each step
  independently, then one noise map `zs[i]` per step that takes the sampler exactly from one to the
  next, so that sampling again from `x_t` with those maps gives the picture's latents back up to
  float error (whatever the model predicts). With `DDIMScheduler` (eta 1) this is the paper's
  edit-friendly DDPM inversion; with DPM-Solver++ (SDE, second order) it is LEDITS++'s own.
  Both are exact here (measured on the tiny random parts: 90 dB and 87 dB against the latents' own
  picture) once two things in diffusers 0.42.1 are set right: DDIM's `add_noise` is given float
  timesteps by `invert` (an IndexError: `_DDIM` casts them), and DPM-Solver's last step is made
  second order (`lower_order_final=False`) and ends on `sigma_min` instead of zero (with zero the
  last step has no noise map to absorb the model's error: 13.6 dB measured).
- The latents are not taken from the pipeline's own encoding: `encode` gives them (the VAE's mode,
  scaled), or a generated result's own latents are used, so that a generated picture inverts to
  exactly its latents. `_Pipe.encode_image` hands them to `invert`.
- After the inversion, the picture is sampled again once without an edit (`regenerate`) and the
  latents after every step are kept (`path`): the trajectory an edit keeps outside its region.
- **Edits** are `__call__` with the words as `editing_prompt`, `reverse_editing_direction` for "-",
  each word's `edit_guidance_scale` (its concept scale times `GUIDANCE_PER_SCALE`), implicit masks by
  `edit_threshold`, intersected with the cross-attention masks where the UNet has cross-attention at
  a quarter of the latents' size (SD 1.5 has, and so has `SDComponents.tiny_random(attention_masks=True)`,
  which a test runs; the usual tiny random UNet has not: there the implicit masks are the
  noise-estimate masks alone). Where the edit's region is known (the classes a concept
  takes away or draws, from the tiny plan's segmentations) it is LEDITS++'s `user_mask`, and after
  every step the latents outside it are set back to the unedited trajectory's: outside the region
  the latents end as the picture's exactly.

Everything is kept as numpy arrays in the result's `state` (`Inversion.to_state`), so a result
survives `wire.py` and `inversion.safetensors`, and an edit can continue later: `restore` sets
onto a fresh pipeline what `invert` would have left on it (`eta`, `batch_size`, `inversion_steps`,
`init_latents`, `zs`, and the scheduler's leading timesteps).
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass

import numpy as np

from ...errors import BadInput
from .components import SDComponents

KINDS = ("ddim", "dpm")  # the scheduler an inversion is made (and edited) with
SKIP = 0.15  # LEDITS++'s default: the first 15 % of the schedule (the noisiest steps) are skipped
EDIT_THRESHOLD = 0.9  # LEDITS++'s default lambda: the implicit mask keeps the strongest 10 % of the guidance
GUIDANCE_PER_SCALE = 5.0  # a concept's scale (default 1.5) times this is its edit guidance (7.5)
MAX_WORD_CHARS = 60


@dataclass(frozen=True)
class Inversion:
    """A picture inverted with LEDITS++, with what it was inverted as (its maps, its picture)."""

    scheduler: str  # one of KINDS
    total: int  # the scheduler's steps (`invert` sets the timesteps of steps * (1 + SKIP), keeps the last)
    timesteps: np.ndarray  # (n,) int64, noisiest first
    x_t: np.ndarray  # (1, C, L, L) float32: the latents sampling starts from
    zs: np.ndarray  # (n, 1, C, L, L) float32: one noise map per step
    path: np.ndarray  # (n, 1, C, L, L) float32: the latents after each step of the unedited sampling
    x0: np.ndarray  # (1, C, L, L) float32: the picture's clean latents (scaled as the UNet reads them)
    picture: np.ndarray  # (P, P, 3) uint8
    segmentation: np.ndarray  # (S, S) uint8, the maps the picture was read or generated with
    depth32: np.ndarray  # (32, 32) float32
    sketch: np.ndarray  # (S, S) uint8
    seed: int  # of the noise `invert` adds to the latents

    @property
    def steps(self) -> int:
        return int(self.timesteps.shape[0])

    def to_state(self) -> dict[str, np.ndarray]:
        return {"inv_x_t": self.x_t.astype(np.float32), "inv_picture": self.picture.astype(np.uint8),
                "inv_segmentation": self.segmentation.astype(np.uint8),
                "inv_depth32": self.depth32.astype(np.float32), "inv_sketch": self.sketch.astype(np.uint8),
                "inv_seed": np.array(self.seed, np.int64), "inv_steps": np.array(self.steps, np.int64),
                "sd_inv_scheduler": np.array(KINDS.index(self.scheduler), np.int64),
                "sd_inv_total": np.array(self.total, np.int64), "sd_inv_timesteps": self.timesteps.astype(np.int64),
                "sd_inv_zs": self.zs.astype(np.float32), "sd_inv_path": self.path.astype(np.float32),
                "sd_inv_x0": self.x0.astype(np.float32)}

    @classmethod
    def from_state(cls, state: dict) -> Inversion | None:
        """The inversion a result's state holds (None: not inverted); a damaged one is one line."""
        if "sd_inv_zs" not in state:
            return None
        try:
            one = lambda k: np.asarray(state[k]).reshape(-1)[0]  # noqa: E731
            x_t = np.asarray(state["inv_x_t"], np.float32)
            zs, path = np.asarray(state["sd_inv_zs"], np.float32), np.asarray(state["sd_inv_path"], np.float32)
            timesteps = np.asarray(state["sd_inv_timesteps"], np.int64).reshape(-1)
            n = timesteps.shape[0]
            if x_t.ndim != 4 or zs.shape != (n, *x_t.shape) or path.shape != zs.shape:
                raise ValueError("shapes")
            inv = cls(KINDS[int(one("sd_inv_scheduler"))], int(one("sd_inv_total")), timesteps, x_t, zs, path,
                      np.asarray(state["sd_inv_x0"], np.float32).reshape(x_t.shape),
                      np.asarray(state["inv_picture"], np.uint8), np.asarray(state["inv_segmentation"], np.uint8),
                      np.asarray(state["inv_depth32"], np.float32).reshape(32, 32),
                      np.asarray(state["inv_sketch"], np.uint8), int(one("inv_seed")))
            if inv.picture.ndim != 3 or not 1 <= n <= inv.total:
                raise ValueError("picture or steps")
            return inv
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise BadInput(f"the result's inversion is damaged ({type(e).__name__}): read the picture again") from None


# --- the pipeline ------------------------------------------------------------------------------------


def scheduler(kind: str, config):
    """The scheduler LEDITS++ inverts and edits with, from the model's config (leading timesteps,
    as `invert` sets them)."""
    from diffusers import DPMSolverMultistepScheduler

    if kind not in KINDS:
        raise BadInput(f"scheduler must be one of {', '.join(KINDS)}")
    if kind == "ddim":
        return _ddim_class().from_config(config, timestep_spacing="leading")
    return DPMSolverMultistepScheduler.from_config(config, algorithm_type="sde-dpmsolver++", solver_order=2,
                                                   lower_order_final=False, euler_at_final=False,
                                                   final_sigmas_type="sigma_min", timestep_spacing="leading")


@functools.cache
def _ddim_class():
    from diffusers import DDIMScheduler

    class _DDIM(DDIMScheduler):
        """DDIM whose `add_noise` takes the float timesteps LEDITS++'s `invert` gives it."""

        def add_noise(self, original_samples, noise, timesteps):
            return super().add_noise(original_samples, noise, timesteps.long())

    return _DDIM


@functools.cache
def _pipe_class():
    from diffusers import LEditsPPPipelineStableDiffusion

    class _Pipe(LEditsPPPipelineStableDiffusion):
        """LEDITS++ given the picture's latents instead of encoding the picture itself."""

        given_latents = None

        def encode_image(self, image, dtype=None, height=None, width=None, resize_mode="default",
                         crops_coords=None):
            if self.given_latents is None:
                return super().encode_image(image, dtype, height, width, resize_mode, crops_coords)
            return self.given_latents.to(self.device, dtype), image

    return _Pipe


def pipeline(comps: SDComponents, kind: str):
    pipe = _pipe_class()(vae=comps.vae, text_encoder=comps.text_encoder, tokenizer=comps.tokenizer, unet=comps.unet,
                         scheduler=scheduler(kind, comps.scheduler.config), safety_checker=None,
                         feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def attention_masks(comps: SDComponents) -> bool:
    """Whether the UNet has cross-attention at a quarter of the latents' size, where LEDITS++ reads
    its cross-attention masks (SD 1.5: yes; the tiny random UNet: only with `attention_masks=True`)."""
    kinds = comps.unet.config.down_block_types
    return len(kinds) > 2 and "CrossAttn" in kinds[2]


@contextlib.contextmanager
def _unet_kept(comps: SDComponents):
    """LEDITS++ replaces the UNet's attention processors (plain ones to invert, storing ones to
    edit); the UNet is shared with the ControlNet pipeline, so they are put back afterwards."""
    saved = comps.unet.attn_processors
    try:
        yield
    finally:
        comps.unet.set_attn_processor(saved)


def encode(comps: SDComponents, picture: np.ndarray):
    """(P, P, 3) uint8 -> clean latents (1, C, L, L), as the UNet reads them (the VAE's mode, scaled)."""
    import torch

    x = torch.from_numpy(np.ascontiguousarray(picture)).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.no_grad():
        z = comps.vae.encode(x.to(comps.device, comps.vae.dtype)).latent_dist.mode()
    return (z * comps.vae.config.scaling_factor).to(comps.dtype or torch.float32)


def invert(comps: SDComponents, x0, kind: str, steps: int, seed: int, on_step=None):
    """Edit-friendly inversion of the clean latents x0 (1, C, L, L): (x_t, zs, timesteps, total)."""
    import torch
    from PIL import Image

    pipe = pipeline(comps, kind)
    pipe.given_latents = x0
    side = int(x0.shape[-1]) * comps.vae_scale
    count = {"i": 0}

    def each_call(module, args, output):
        count["i"] += 1
        if on_step:
            on_step("inversion", count["i"], 2 * steps)

    hook = comps.unet.register_forward_hook(each_call)
    try:
        with _unet_kept(comps):
            pipe.invert(Image.new("RGB", (side, side)), num_inversion_steps=steps, skip=SKIP,
                        generator=torch.Generator().manual_seed(int(seed)))
    finally:
        hook.remove()
    total = len(pipe.scheduler.timesteps)
    return (pipe.init_latents.float().cpu().numpy(), pipe.zs.float().cpu().numpy(),
            pipe.inversion_steps.cpu().numpy().astype(np.int64), total)


def restore(comps: SDComponents, inv: Inversion):
    """A fresh pipeline holding the inversion, as `invert` would have left it."""
    import torch

    pipe = pipeline(comps, inv.scheduler)
    pipe.scheduler.set_timesteps(inv.total)
    timesteps = pipe.scheduler.timesteps[-inv.steps:]
    if not np.array_equal(timesteps.cpu().numpy(), inv.timesteps):
        raise BadInput("the result's inversion is damaged (its timesteps are not its scheduler's): "
                       "read the picture again")
    dtype = comps.dtype or torch.float32
    pipe.eta, pipe.batch_size, pipe.inversion_steps = 1.0, 1, timesteps
    pipe.init_latents = torch.from_numpy(inv.x_t).to(comps.device, dtype)
    pipe.zs = torch.from_numpy(inv.zs).to(comps.device, dtype)
    return pipe


@dataclass(frozen=True)
class Word:
    """One LEDITS++ concept: a word, towards (+) or away (-), and its concept scale."""

    text: str
    away: bool
    scale: float


def check_words(words: list[Word]) -> None:
    """1 to 8 words of plain text, each once, each at most MAX_WORD_CHARS, each with a scale in (0, 5]."""
    from ...graph.scene_graph import check_plain

    if not 1 <= len(words) <= 8:
        raise BadInput("a concept edit takes 1 to 8 words")
    for w in words:
        if not isinstance(w.text, str) or not w.text.strip() or len(w.text) > MAX_WORD_CHARS:
            raise BadInput(f"a concept is a word or a few, at most {MAX_WORD_CHARS} characters")
        check_plain(w.text, "a concept")
        if not 0 < w.scale <= 5.0:
            raise BadInput("a concept's scale must be above 0 and at most 5")
    texts = [w.text for w in words]
    if len(set(texts)) != len(texts):
        raise BadInput("a concept edit names each word once")


def regenerate(comps: SDComponents, inv: Inversion, words: list[Word] | tuple = (), region=None, on_step=None,
               step_name: str = "image", record: bool = False):
    """The picture's latents sampled again from its inversion: without words, the picture itself;
    with words, edited by LEDITS++. `region` (L, L) bool: the edit's place (`user_mask`), the latents
    outside it kept on the unedited trajectory. -> final latents (1, C, L, L) torch, and with
    `record` the latents after every step (n, 1, C, L, L) numpy."""
    import torch

    pipe = restore(comps, inv)
    n = inv.steps
    outside = mask = None
    if region is not None and np.asarray(region).any():
        r = torch.from_numpy(np.asarray(region, bool)).to(comps.device)[None, None]
        outside, mask = ~r, r.to(comps.dtype or torch.float32)
    path = torch.from_numpy(inv.path).to(comps.device) if outside is not None else None
    seen: list[np.ndarray] = []

    def each_step(p, i: int, t, tensors: dict) -> dict:
        if path is not None:
            tensors["latents"] = torch.where(outside, path[i].to(tensors["latents"].dtype), tensors["latents"])
        if record:
            seen.append(tensors["latents"].float().cpu().numpy())
        if on_step:
            on_step(step_name, i + 1, n)
        return tensors

    kwargs: dict = {}
    if words:
        kwargs = {"editing_prompt": [w.text for w in words], "reverse_editing_direction": [w.away for w in words],
                  "edit_guidance_scale": [GUIDANCE_PER_SCALE * w.scale for w in words],
                  "edit_threshold": [EDIT_THRESHOLD] * len(words), "user_mask": mask,
                  "use_intersect_mask": attention_masks(comps), "use_cross_attn_mask": False}
    with _unet_kept(comps):
        out = pipe(output_type="latent", callback_on_step_end=each_step,
                   callback_on_step_end_tensor_inputs=["latents"], **kwargs)
    latents = out.images
    return latents, (np.stack(seen) if record else None)
