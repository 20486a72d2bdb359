"""The Stable Diffusion parts the sd backend draws with, built in memory as diffusers builds a pipeline:
`SDComponents.tiny_random(seed)` from tiny configs with random weights (tests, any CPU, no Hub), or
`SDComponents.from_pretrained(...)` from model ids (SD 1.5 and three ControlNet v1.1 models).

Loading is where a person's machine can fall short (no GPU, no weights, no Hub): each of those is
one line (`BadInput`) that says what is missing, and that the tiny backend still serves.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass
from typing import Any

from ...errors import BadInput
from .settings import CONDITIONS, CONTROLNETS, MODEL

SD_PICTURE_SIZE = 512  # SD 1.5's native size
TINY_PICTURE_SIZE = 128  # 16x16 latents: fine enough that an edit of a 64 px map is a region, not the picture
_STILL = "the tiny backend still serves"
_NAMES = {"segmentation": "the segmentation ControlNet", "depth": "the depth ControlNet",
          "sketch": "the soft-edge ControlNet"}


@dataclass
class SDComponents:
    """unet, the MultiControlNetModel (segmentation, depth, soft edge, in `settings.CONDITIONS`'
    order), vae, text encoder, tokenizer and scheduler, on one device in one dtype."""

    unet: Any
    controlnet: Any  # diffusers' MultiControlNetModel
    vae: Any
    text_encoder: Any
    tokenizer: Any
    scheduler: Any
    picture_size: int = SD_PICTURE_SIZE
    device: str = "cpu"
    dtype: Any = None  # torch dtype; None: float32

    @property
    def vae_scale(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def latent_channels(self) -> int:
        return int(self.unet.config.in_channels)

    def to(self, device: str, dtype=None) -> SDComponents:
        """The parts moved (in place) to `device`, cast to `dtype` where given: the tiny random ones on
        a GPU, say."""
        for part in (self.unet, self.controlnet, self.vae, self.text_encoder):
            part.to(device=device, dtype=dtype)
        return dataclasses.replace(self, device=device, dtype=dtype or self.dtype)

    def pipeline(self, scheduler=None):
        """A StableDiffusionControlNetPipeline over these parts (a new one per request: it is only
        references, and each request may use its own scheduler)."""
        from diffusers import StableDiffusionControlNetPipeline

        pipe = StableDiffusionControlNetPipeline(
            vae=self.vae, text_encoder=self.text_encoder, tokenizer=self.tokenizer, unet=self.unet,
            controlnet=self.controlnet, scheduler=scheduler or self.scheduler, safety_checker=None,
            feature_extractor=None, requires_safety_checker=False)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    # --- tiny random ---------------------------------------------------------------------------

    @classmethod
    def tiny_random(cls, seed: int = 0, picture_size: int = TINY_PICTURE_SIZE, *,
                    attention_masks: bool = False) -> SDComponents:
        """Every part from a tiny config with random weights, on the CPU, in a second or two (most of
        it importing diffusers). The tokenizer is a real CLIP tokenizer over a byte-level BPE learned
        here from the words our prompts use (`tiny_tokenizer`): no file, no Hub. `attention_masks`:
        a third UNet level with cross-attention at a quarter of the latents' size, as SD 1.5 has,
        where LEDITS++ reads a concept's cross-attention mask (`ledits.attention_masks`)."""
        import torch
        from diffusers import AutoencoderKL, ControlNetModel, DDIMScheduler, UNet2DConditionModel
        from diffusers.models.controlnets.multicontrolnet import MultiControlNetModel
        from transformers import CLIPTextConfig, CLIPTextModel

        torch.manual_seed(seed)
        tokenizer = tiny_tokenizer()
        text_encoder = CLIPTextModel(CLIPTextConfig(
            vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=2,
            num_attention_heads=2, max_position_embeddings=77, bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)).eval()
        blocks = {"block_out_channels": (8, 16), "layers_per_block": 1, "cross_attention_dim": 16,
                  "attention_head_dim": 2, "norm_num_groups": 4,
                  "down_block_types": ("CrossAttnDownBlock2D", "DownBlock2D")}
        up = ("UpBlock2D", "CrossAttnUpBlock2D")
        if attention_masks:
            blocks = {**blocks, "block_out_channels": (8, 16, 16),
                      "down_block_types": ("CrossAttnDownBlock2D", "DownBlock2D", "CrossAttnDownBlock2D")}
            up = ("CrossAttnUpBlock2D", "UpBlock2D", "CrossAttnUpBlock2D")
        # The VAE shrinks by 8 as SD's does, so the latents, the ControlNets' condition embedding
        # and the edit masks have SD's geometry.
        vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(4, 8, 8, 8),
                            down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                            layers_per_block=1, norm_num_groups=4, sample_size=picture_size).eval()
        unet = UNet2DConditionModel(sample_size=picture_size // 8, in_channels=4, out_channels=4,
                                    up_block_types=up, **blocks).eval()
        nets = []
        for _ in CONDITIONS:
            net = ControlNetModel(in_channels=4, conditioning_embedding_out_channels=(4, 8, 8, 8), **blocks)
            _make_conditions_count(net, picture_size)
            nets.append(net.eval())
        scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                  clip_sample=False, set_alpha_to_one=False, steps_offset=1)
        return cls(unet, MultiControlNetModel(nets), vae, text_encoder, tokenizer, scheduler, picture_size, "cpu",
                   torch.float32)

    # --- the published sizes, random weights ----------------------------------------------------

    @classmethod
    def from_configs(cls, device: str = "cuda", dtype=None, seed: int = 0) -> SDComponents:
        """SD 1.5's UNet, VAE and text encoder and three ControlNets v1.1 at their published sizes
        (`configs/*.json`, written into the repository), with random weights: no download. Their
        pictures are noise; their shapes, dtypes, memory and seconds are the real ones (the GPU
        check, `bench gpu`). The tokenizer is the tiny one (ids fit the full vocabulary)."""
        import torch
        from diffusers import AutoencoderKL, ControlNetModel, DDIMScheduler, UNet2DConditionModel
        from diffusers.models.controlnets.multicontrolnet import MultiControlNetModel
        from transformers import CLIPTextConfig, CLIPTextModel

        dtype = dtype or (torch.float16 if str(device).startswith("cuda") else torch.float32)
        torch.manual_seed(seed)
        tokenizer = tiny_tokenizer()
        text_encoder = CLIPTextModel(CLIPTextConfig(
            **published_config("text_encoder"), bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id))
        unet = UNet2DConditionModel(**published_config("unet"))
        vae = AutoencoderKL(**published_config("vae"))
        nets = [ControlNetModel(**published_config("controlnet")) for _ in CONDITIONS]
        scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                  clip_sample=False, set_alpha_to_one=False, steps_offset=1)
        for part in (text_encoder, unet, vae, *nets):
            part.to(device, dtype).eval()
        return cls(unet, MultiControlNetModel(nets).to(device, dtype), vae, text_encoder, tokenizer, scheduler,
                   SD_PICTURE_SIZE, device, dtype)

    # --- real weights --------------------------------------------------------------------------

    @classmethod
    def from_pretrained(cls, model: str = MODEL, controlnets: dict[str, str] | None = None,
                        device: str | None = None, dtype=None, local_files_only: bool | None = None,
                        picture_size: int = SD_PICTURE_SIZE) -> SDComponents:
        """SD 1.5 and the three ControlNets by model id (or local folder), safetensors only, fp16 on
        CUDA. `device` None: CUDA, refused in one line where there is none. `local_files_only` None:
        the Hub is asked unless HF_HUB_OFFLINE is set. A model not yet cached is downloaded, with the
        Hub's progress bars."""
        import torch

        device = resolve_device(device)
        dtype = dtype or (torch.float16 if device.startswith("cuda") else torch.float32)
        if local_files_only is None:
            local_files_only = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
        ids = {**CONTROLNETS, **(controlnets or {})}
        from diffusers import AutoencoderKL, ControlNetModel, DDIMScheduler, UNet2DConditionModel
        from diffusers.models.controlnets.multicontrolnet import MultiControlNetModel
        from transformers import CLIPTextModel, CLIPTokenizer

        common = {"local_files_only": local_files_only}
        weights = {**common, "use_safetensors": True, "torch_dtype": dtype}
        what = f"Stable Diffusion '{model}'"
        unet = _load(what, lambda: UNet2DConditionModel.from_pretrained(model, subfolder="unet", **weights))
        vae = _load(what, lambda: AutoencoderKL.from_pretrained(model, subfolder="vae", **weights))
        text_encoder = _load(what, lambda: CLIPTextModel.from_pretrained(  # transformers 5 calls it `dtype`
            model, subfolder="text_encoder", local_files_only=local_files_only, use_safetensors=True, dtype=dtype))
        tokenizer = _load(what, lambda: CLIPTokenizer.from_pretrained(model, subfolder="tokenizer", **common))
        scheduler = _load(what, lambda: DDIMScheduler.from_pretrained(model, subfolder="scheduler", **common))
        nets = [_load(f"{_NAMES[c]} '{ids[c]}'", lambda c=c: ControlNetModel.from_pretrained(ids[c], **weights))
                for c in CONDITIONS]
        parts = [unet, vae, text_encoder, *nets]
        for part in parts:
            part.to(device).eval()
        return cls(unet, MultiControlNetModel(nets).to(device), vae, text_encoder, tokenizer, scheduler,
                   picture_size, device, dtype)


def published_config(name: str) -> dict:
    """A model's published config as written into the repository (`configs/NAME.json`), without the
    note of its source."""
    import json
    from pathlib import Path

    data = json.loads((Path(__file__).parent / "configs" / f"{name}.json").read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _make_conditions_count(net, size: int) -> None:
    """A ControlNet starts with zero convolutions (it changes nothing until trained), and at random
    its condition embedding fades the picture it reads to almost nothing in its seven layers. So the
    zero convolutions get random weights, and each layer of the embedding is scaled to give out a
    unit spread on a random picture (LSUV's initialisation), so that a tiny random ControlNet answers
    to its condition and tests can see a condition reach the picture."""
    import torch
    import torch.nn.functional as F

    for m in net.modules():
        if isinstance(m, torch.nn.Conv2d) and not m.weight.detach().any():
            torch.nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    embedding = net.controlnet_cond_embedding
    x = torch.rand(1, 3, size, size)
    with torch.no_grad():
        for conv in (embedding.conv_in, *embedding.blocks, embedding.conv_out):
            torch.nn.init.zeros_(conv.bias)
            conv.weight /= conv(x).std()
            x = F.silu(conv(x))


def resolve_device(device: str | None) -> str:
    """The device to load Stable Diffusion on: CUDA by default, where there is a GPU."""
    import torch

    if device is None or device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise BadInput("the sd backend needs a CUDA GPU and this machine has none (set SGCOND_SD_DEVICE=cpu to "
                           f"run it on the CPU, minutes a picture); {_STILL}")
        return device or "cuda"
    if device != "cpu":
        raise BadInput(f"the sd backend runs on cuda or cpu, not {device[:20]!r}; {_STILL}")
    return device


def _load(what: str, load):
    """One part from its id; a part that cannot be had is one line naming it."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        with warnings.catch_warnings():  # diffusers passes the Hub an argument it has deprecated
            warnings.filterwarnings("ignore", message=".*local_dir_use_symlinks.*")
            return load()
    except (OSError, ValueError, HfHubHTTPError) as e:
        reason = " ".join(str(e).split())[:160] or type(e).__name__
        raise BadInput(f"the sd backend could not load {what}: not in the local Hugging Face cache, or the Hub "
                       f"cannot be reached ({reason}); {_STILL}") from None


# --- a tiny CLIP tokenizer from a vocabulary written here --------------------------------------

_START, _END = "<|startoftext|>", "<|endoftext|>"


def _byte_characters() -> list[str]:
    """The character byte-level BPE writes each byte as (GPT-2's table, which CLIP uses): printable
    Latin-1 bytes stand for themselves, the others move to the code points after 255, in order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    out, shifted = [], 0
    for b in range(256):
        if b in printable:
            out.append(chr(b))
        else:
            out.append(chr(256 + shifted))
            shifted += 1
    return out


def _words() -> list[str]:
    """The words our prompts are made of: the tiny world's classes, attributes and predicates, and
    the composer's own words."""
    import re

    from ...graph import vocab
    from ...world import classes
    from . import prompt

    text = " ".join([*classes.CLASS_NAMES, *vocab.ATTRIBUTES, *vocab.PREDICATES, *classes.LABEL_ALIASES,
                     *vocab.PREDICATE_ALIASES, prompt.PREFIX, prompt.STYLE, prompt.NEGATIVE,
                     "a an the and to two three four five six seven eight nine ten people sheep"])
    return sorted(set(re.findall(r"[a-z]+", text)))


def tiny_tokenizer():
    """A CLIPTokenizer whose byte-level BPE is learned here from `_words()` (by the `tokenizers`
    library's trainer, to the end: each of those words is one token) over every byte, alone and
    word-final; other words fall into smaller pieces, as in CLIP."""
    import json

    from tokenizers import Tokenizer, models, trainers
    from transformers import CLIPTokenizer

    words = _words()
    chars = _byte_characters()
    alphabet = chars + [c + "</w>" for c in chars]
    bpe = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    trainer = trainers.BpeTrainer(vocab_size=len(alphabet) + sum(map(len, words)), min_frequency=1,
                                  initial_alphabet=chars, end_of_word_suffix="</w>", show_progress=False)
    bpe.train_from_iterator(words, trainer)  # one word a sequence; ASCII, so bytes and characters agree
    learned = json.loads(bpe.to_str())["model"]
    tokens, known = list(alphabet), set(alphabet)
    tokens += [t for t in sorted(learned["vocab"], key=learned["vocab"].get) if t not in known]
    tokens += [_START, _END]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in learned["merges"]]
    return CLIPTokenizer(vocab={t: i for i, t in enumerate(tokens)}, merges=merges, model_max_length=77)
