"""The sd backend: the tiny chain's maps, Stable Diffusion 1.5 + three ControlNets' picture.

The graph encoder and the segmentation, depth and sketch factors of the tiny chain (`fgdm.chain`)
give the maps exactly as the tiny backend does, every SBPC candidate judged as there. The picture is
then drawn by `StableDiffusionControlNetPipeline` with a `MultiControlNetModel` conditioned on the
chosen maps: the segmentation in ADE20K's colours (`palette.py`), the depth (near is bright, as
MiDaS draws it) and the sketch as soft edges, both upsampled smoothly to the picture's size. The
prompt is the graph in the person's words (`prompt.py`).

Rerun after an edited segmentation: the picture is sampled again from the same initial noise, and
after every step the latents outside what the edit changed (dilated, at the latents' resolution)
are replaced by the original picture's clean latents noised to that step with that noise (blended
sampling, as `fgdm/inversion.py` does for the tiny backend and diffusers' legacy inpainting does):
after the last step they are the original's own, so the picture stays there. Depth and sketch,
sampled again for the edit, keep their old values outside it too, so maps and picture agree.

A result's `state` keeps what a rerun needs: the image noise's seed, the clean latents, the prompt,
negative prompt and ControlNet scales, and the 32 px depth the sketch was drawn from.

Pictures in (`read`, `invert`, `steer`; `ledits.py`): a picture from outside is read into maps and
a graph by the tiny chain (as the tiny backend reads it) and inverted with LEDITS++'s edit-friendly
inversion; a generated result is inverted from its own latents. An inverted result is edited
relative to the inverted picture, as the tiny chain does it: a mask edit's rerun blends with the
picture's own clean latents (always, whatever the noise, so nothing edited gives the picture back)
and keeps the picture's own pixels outside the redrawn latents (the VAE's round trip is not
exact); a concept edit is LEDITS++ from the stored inversion. The inversion travels in the state
(`ledits.Inversion.to_state`) through every edit, so a later edit starts from the picture again.
"""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np

from ...errors import BadInput
from ...graph.scene_graph import SceneGraph
from ...reading.maps import boundaries
from ..base import INVERSIONS, RERUNS, Candidate, Capabilities, MapReady, Options, Progress, Result
from . import ledits, palette, zerogpu
from .components import SD_PICTURE_SIZE, SDComponents
from .prompt import NEGATIVE, Prompt, checked, compose, token_counter
from .settings import CONDITIONS, SDSettings, check_scales
from .zerogpu import on_gpu

NAME = "sd"
SCHEDULERS = ("ddim", "dpm")  # the tiny factors' too: one choice serves the whole chain
CHANGE_DILATION = 1  # map pixels around a changed region redrawn with it
LATENT_DILATION = 1  # and latent pixels around that: the decoder mixes neighbouring latents
NOISE_SALT = 7919  # the image noise's seed is its factor seed, salted (the tiny factors use their own)


class SDBackend:
    """`SDBackend()` loads SD 1.5 and the ControlNets (ids from `SDSettings`, the environment) and the
    shipped tiny chain when first needed; `SDBackend(components, chain)` takes parts already built
    (tests: `SDComponents.tiny_random()` and a tiny random chain). `chain` is a `fgdm.chain.Chain` or
    a `TinyBackend`."""

    def __init__(self, components: SDComponents | None = None, chain=None, settings: SDSettings | None = None,
                 *, weights=None, device: str | None = None, extractors=None) -> None:
        from ..tiny import TinyBackend

        self.settings = settings or SDSettings.from_env(device=device)
        self._components = components
        if chain is None or isinstance(chain, TinyBackend):
            self._tiny = chain
        else:
            self._tiny = TinyBackend(chain)
        self._weights = weights
        self._extractors = extractors  # extractors.Extractors, or None: loaded by the settings' ids on first read
        self._lock = threading.Lock()
        zerogpu.register(self)  # on a ZeroGPU Space the GPU's worker, forked from here, finds it

    @classmethod
    def from_pretrained(cls, settings: SDSettings | None = None, *, weights=None) -> SDBackend:
        """Load now: no GPU, no weights or no Hub is reported at start (one line), not on first use."""
        backend = cls(settings=settings, weights=weights)
        backend.components  # noqa: B018
        backend.chain  # noqa: B018
        return backend

    # --- parts, loaded on first use --------------------------------------------------------------

    @property
    def components(self) -> SDComponents:
        with self._lock:
            if self._components is None:
                s = self.settings
                self._components = SDComponents.from_pretrained(
                    s.model, s.controlnets, s.device, picture_size=s.picture_size or SD_PICTURE_SIZE)
        return self._components

    @property
    def tiny(self):
        """The tiny backend whose chain gives the maps."""
        from ..tiny import TinyBackend

        with self._lock:
            if self._tiny is None:
                device = self._components.device if self._components is not None else "cpu"
                self._tiny = TinyBackend(weights=self._weights, device=device)
        return self._tiny

    @property
    def chain(self):
        return self.tiny.chain

    @property
    def extractors(self):
        """The published extractors a picture from outside is read with (`extractors.py`)."""
        from .extractors import Extractors

        with self._lock:
            if self._extractors is None:
                device = self._components.device if self._components is not None else (self.settings.device or "cpu")
                self._extractors = Extractors.from_pretrained(self.settings.extractors, device)
        return self._extractors

    @property
    def picture_size(self) -> int:
        if self.settings.picture_size:
            return self.settings.picture_size
        return self._components.picture_size if self._components is not None else SD_PICTURE_SIZE

    @property
    def capabilities(self) -> Capabilities:
        from ...fgdm import chain as c
        from ...fgdm import stages
        from ...fgdm.factors import FACTORS, MAP_SIZE

        device = self._components.device if self._components is not None else (self.settings.device or "cuda")
        steps = {**stages.DEFAULT_STEPS, "image": self.settings.steps}
        return Capabilities(NAME, device, MAP_SIZE, self.picture_size, FACTORS, steps, c.MAX_SAMPLES, c.MAX_STEPS,
                            SCHEDULERS, inverts=True, prompts=True,
                            reads_in="ade20k" if self.settings.reader == "extractors" else "tiny")

    def warm_up(self) -> None:
        from ...graph.parse import parse_text

        self.generate(parse_text("sky above grass; dog on grass"), 0, Options(samples=1))

    # --- settings and prompts --------------------------------------------------------------------

    def options(self, options: Options | None):
        """The chain's Settings for a request's options: the tiny factors' defaults, and the sd
        backend's steps and guidance for the image, checked."""
        o = options or Options()
        steps = {"image": self.settings.steps, **o.steps}
        guidance = {"image": self.settings.guidance, **o.guidance}
        return self.tiny.settings(dataclasses.replace(o, steps=steps, guidance=guidance))

    def prompt(self, graph, negative: str | None = None, vocabulary=None) -> Prompt:
        """The prompt for a graph (a `MappedGraph`: in the person's words), counted with the model's
        tokenizer (the parts are loaded first, as any request loads them). `vocabulary`: the classes a
        plain graph is in, which say what is stuff (default the tiny world's)."""
        count = token_counter(self.components.tokenizer)
        return compose(graph, NEGATIVE if negative is None else negative, count, vocabulary=vocabulary)

    def _texts(self, graph, prompt: str | None, negative: str | None, vocabulary=None) -> tuple[str, str]:
        """(prompt, negative prompt): a person's own where given, else composed from the graph."""
        prompt, negative = checked(prompt, "the prompt"), checked(negative, "the negative prompt")
        composed = self.prompt(graph, negative, vocabulary)
        return (composed.text if prompt is None else prompt), composed.negative

    # --- the work --------------------------------------------------------------------------------

    @on_gpu
    def generate(self, graph: SceneGraph, seed: int = 0, options: Options | None = None,
                 on_step: Progress | None = None, on_map: MapReady | None = None, *, mapped=None,
                 prompt: str | None = None, negative_prompt: str | None = None,
                 scales: dict[str, float] | None = None) -> Result:
        """As the tiny backend's generate, with the picture from Stable Diffusion. `mapped`: the
        `MappedGraph` the graph came from (its words make the prompt); `prompt`, `negative_prompt`:
        a person's own instead of the composed ones; `scales`: each condition's ControlNet scale."""
        from ...fgdm import stages
        from ...fgdm.chain import best_candidate

        s = self.options(options)
        prompt, negative_prompt, scales = _asked(options, prompt, negative_prompt, scales)
        scales = check_scales(scales) if scales is not None else dict(self.settings.scales)
        self.components  # noqa: B018 - load first: missing weights are reported before any work
        texts = self._texts(mapped if mapped is not None else graph, prompt, negative_prompt)
        seconds: dict[str, float] = {}
        start = time.perf_counter()
        found, seg, disp = self.chain.candidates(graph, seed, s, seconds, on_step)
        chosen = best_candidate(found)
        if on_map:
            on_map("segmentation", found[chosen].segmentation)
        if disp is None:
            one = self._depth(seg[chosen:chosen + 1], found[chosen].seed, s, seconds, on_step)[0]
            found[chosen].depth = stages.to_image_size(seg[chosen:chosen + 1], one.unsqueeze(0))[1][0]
        else:
            one = disp[chosen]
        if on_map:
            on_map("depth", found[chosen].depth)
        cands = tuple(Candidate(c.seed, c.segmentation, c.depth, c.verdict) for c in found)
        result = self._finish(graph, seed, s, cands, chosen, seg[chosen].numpy().astype(np.uint8), one, seconds,
                              texts, scales, on_step, on_map)
        result.seconds["total"] = time.perf_counter() - start
        return result

    @on_gpu
    def rerun(self, result: Result, segmentation: np.ndarray | None = None, what: str = "depth",
              options: Options | None = None, on_step: Progress | None = None,
              on_map: MapReady | None = None, *, prompt: str | None = None, negative_prompt: str | None = None,
              scales: dict[str, float] | None = None, depth: np.ndarray | None = None,
              sketch: np.ndarray | None = None) -> Result:
        """The factors from `what` on after an edited segmentation (and an edited depth map or
        sketch, kept as given), with the result's seeds. With the same image noise (its seed offset
        unchanged), the picture outside what the edit changed stays the result's; with another, or
        with nothing edited, it is drawn whole from that noise (the same settings: the same picture)."""
        import torch

        from ...fgdm import stages
        from ...fgdm.inversion import depth_kept_outside, grown

        if what not in RERUNS:
            raise BadInput(f"rerun: what must be one of {', '.join(RERUNS)}, not {str(what)[:20]!r}")
        kept = _Kept.of(result)
        inv = self._inversion(result)
        s = self.options(options if options is not None else result.options)
        v = result.vocab
        seg_np = _segmentation(result.segmentation if segmentation is None else segmentation, v)
        prompt, negative_prompt, scales = _asked(options, prompt, negative_prompt, scales)
        prompt, negative = checked(prompt, "the prompt"), checked(negative_prompt, "the negative prompt")
        texts = (kept.prompt if prompt is None else prompt, kept.negative if negative is None else negative)
        scales = check_scales(scales) if scales is not None else kept.scales
        self.components  # noqa: B018
        # An inverted picture is edited relative to itself (its maps, its latents, its pixels), as the
        # tiny chain does: edits one after another do not drift outside what they changed.
        base_seg = result.segmentation if inv is None else inv.segmentation
        depth, sketch = stages.edited_maps(depth, sketch, what)
        diff = seg_np != base_seg
        edited = stages.edited_where(result, depth, sketch)
        changed = grown(diff if edited is None else diff | edited, CHANGE_DILATION)
        seconds: dict[str, float] = {}
        start = time.perf_counter()
        depth32 = torch.from_numpy(kept.depth32)
        if what == "depth":
            old32 = kept.depth32 if inv is None else inv.depth32
            if v.name == "tiny":
                fresh = self._depth(torch.from_numpy(seg_np.astype(np.int64))[None], result.factor_seed, s, seconds,
                                    on_step)[0]
            else:
                fresh = depth_by_class(seg_np, base_seg, old32, changed)
            depth32 = depth_kept_outside(changed, fresh, old32)
        elif depth is not None:
            depth32 = stages.pooled_edit(depth32, result.depth, depth)
        if sketch is None and what == "image":
            sketch = result.sketch
        if depth is None and what != "depth":
            depth = result.depth  # kept as it was: an edited depth stays exact through later reruns
        out = self._finish(result.graph, result.seed, s, result.candidates, result.chosen, seg_np, depth32, seconds,
                           texts, scales, on_step, on_map, sketch=sketch, before=(result, kept, changed),
                           announce=True, inverted=inv, vocabulary=v, depth_map=depth)
        out.seconds["total"] = time.perf_counter() - start
        return out

    @on_gpu
    def choose(self, result: Result, index: int, on_step: Progress | None = None,
               on_map: MapReady | None = None) -> Result:
        """Another SBPC candidate: its depth, sketch and a picture of its own (its seed's noise)."""
        import torch

        kept = _Kept.of(result)
        if result.vocabulary != "tiny":
            raise BadInput(f"a picture read in {result.vocabulary}'s classes has one reading: there is no other "
                           "candidate to choose")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(result.candidates):
            raise BadInput(f"candidate {index!r} does not exist (0..{len(result.candidates) - 1})"[:120])
        s = self.options(result.options)
        self.components  # noqa: B018
        cand = result.candidates[index]
        seconds: dict[str, float] = {}
        start = time.perf_counter()
        seg_np = np.asarray(cand.segmentation).astype(np.uint8)
        depth32 = self._depth(torch.from_numpy(seg_np.astype(np.int64))[None], cand.seed, s, seconds, on_step)[0]
        out = self._finish(result.graph, result.seed, s, result.candidates, index, seg_np, depth32, seconds,
                           (kept.prompt, kept.negative), kept.scales, on_step, on_map, announce=True)
        out.seconds["total"] = time.perf_counter() - start
        return out

    @on_gpu
    def read(self, picture: np.ndarray, seed: int = 0, options: Options | None = None, inversion: str = "ddpm",
             steps: int = 8, on_step: Progress | None = None, on_map: MapReady | None = None) -> Result:
        """A picture from outside as a result: centre-cropped and resized to the picture size; its
        segmentation, depth, sketch and scene graph as the tiny chain reads them (its segmenter and
        factors, on the picture at the chain's size); and the picture inverted with LEDITS++ (`ledits.py`)
        under `options.scheduler`, `steps` steps. `inversion` is "ddpm" (edit-friendly, exact): DDIM
        inversion is refused here, LEDITS++ edits need the noise maps. `on_step` reports the tiny
        factors' steps, then "inversion" (the inversion's steps, then the check that samples the
        picture again)."""
        from ...reading.load import from_array

        steps = _inversion_steps(inversion, steps)
        s = self.options(options)
        comps = self.components  # load first: missing weights are reported before any work
        if self.settings.reader == "extractors":
            return self._read_extracted(picture, int(seed), s, steps, on_step, on_map)
        start = time.perf_counter()
        fitted = from_array(picture, self.picture_size)
        # The maps from the picture itself (the tiny chain fits it to its own size and knows its side).
        maps = self.tiny.read(picture, int(seed), _plain_options(s), "ddim", 1, _without_inversion(on_step), on_map)
        seconds = {k: v for k, v in maps.seconds.items() if k not in ("inversion", "total")}
        x0 = ledits.encode(comps, fitted)
        depth32 = np.asarray(maps.state["depth32"], np.float32)
        inv = self._inverted(fitted, x0, maps.segmentation, depth32, maps.sketch, sd_scheduler(s), steps, int(seed),
                             on_step, seconds)
        texts = self._texts(maps.graph, None, None)
        noise_seed = s.seeds("image", [maps.factor_seed])[0]
        state = {"depth32": depth32, "sd_seed": np.array(noise_seed, np.int64), "sd_latents": inv.x0,
                 "sd_prompt": _text_array(texts[0]), "sd_negative": _text_array(texts[1]),
                 "sd_scales": np.array([self.settings.scales[c] for c in CONDITIONS], np.float32), **inv.to_state()}
        resolution = {**maps.resolution, "image": int(fitted.shape[0])}
        seconds["total"] = time.perf_counter() - start
        return Result(NAME, maps.graph, int(seed), _plain_options(s), maps.candidates, 0, maps.segmentation,
                      maps.depth, maps.sketch, fitted, maps.verdict, seconds, resolution, state)

    def _read_extracted(self, picture: np.ndarray, seed: int, s, steps: int, on_step: Progress | None,
                        on_map: MapReady | None) -> Result:
        """`read` by the published extractors: ADE20K classes, depth and soft edges at the chain's map
        size (64 px), the graph they show in ADE20K's words (`derive`, by the same judge), each object's
        confidence the segmenter's mean probability over its region; then the LEDITS++ inversion."""
        import torch
        import torch.nn.functional as F

        from ...fgdm import stages
        from ...fgdm.factors import DEPTH_SIZE, MAP_SIZE
        from ...graph import judge
        from ...graph.vocabularies import load
        from ...reading.derive import graph_from_maps
        from ...reading.load import from_array

        comps = self.components
        reader = self.extractors
        v = load("ade20k")
        start = time.perf_counter()
        fitted = from_array(picture, self.picture_size)
        maps = reader.read(fitted, MAP_SIZE)
        seconds = {"read": time.perf_counter() - start}
        seg, edges = maps.segmentation, maps.edges
        # The depth as every result keeps it (32 px, drawn at 64), so that an edit's rerun keeps it as it is.
        depth32 = F.adaptive_avg_pool2d(torch.from_numpy(maps.depth)[None, None], DEPTH_SIZE)[0, 0].numpy()
        seg_t = torch.from_numpy(seg.astype(np.int64))[None]
        depth = stages.to_image_size(seg_t, torch.from_numpy(depth32)[None])[1][0]
        if on_map:
            on_map("segmentation", seg)
            on_map("depth", depth)
            on_map("sketch", edges)
        graph, regions = graph_from_maps(seg, depth, v)
        confidence = tuple(round(float(maps.probability[r.mask].mean()), 4) if maps.probability is not None
                           else 1.0 for r in regions)
        verdict = judge.judge(graph.labels, graph.triples(), seg, depth, vocabulary=v)
        inv = self._inverted(fitted, ledits.encode(comps, fitted), seg, depth32, edges, sd_scheduler(s), steps, seed,
                             on_step, seconds)
        texts = self._texts(graph, None, None, v)
        noise_seed = s.seeds("image", [seed])[0]
        state = {"depth32": depth32.astype(np.float32), "sd_seed": np.array(noise_seed, np.int64),
                 "sd_latents": inv.x0, "sd_prompt": _text_array(texts[0]), "sd_negative": _text_array(texts[1]),
                 "sd_scales": np.array([self.settings.scales[c] for c in CONDITIONS], np.float32), **inv.to_state()}
        resolution = {"segmentation": MAP_SIZE, "depth": MAP_SIZE, "sketch": MAP_SIZE, "image": int(fitted.shape[0])}
        seconds["total"] = time.perf_counter() - start
        return Result(NAME, graph, seed, _plain_options(s, texts, self.settings.scales),
                      (Candidate(seed, seg, depth, verdict),), 0, seg, depth, edges, fitted, verdict, seconds,
                      resolution, state, confidence=confidence, vocabulary=v.name)

    @on_gpu
    def invert(self, result: Result, inversion: str = "ddpm", steps: int = 8,
               on_step: Progress | None = None) -> Result:
        """The result's picture inverted with LEDITS++: a generated picture from its own latents (so
        it comes back exactly), an edited inverted one from its pixels."""
        import torch

        steps = _inversion_steps(inversion, steps)
        kept = _Kept.of(result)
        s = self.options(result.options)
        comps = self.components
        before = ledits.Inversion.from_state(result.state)
        if before is None:
            x0 = torch.from_numpy(kept.latents).to(comps.device, comps.dtype or torch.float32)
        else:
            x0 = ledits.encode(comps, result.image)
        seconds = dict(result.seconds)
        inv = self._inverted(np.asarray(result.image, np.uint8), x0, result.segmentation, kept.depth32,
                             result.sketch, sd_scheduler(s), steps, result.factor_seed, on_step, seconds)
        state = {**result.state, "sd_latents": inv.x0, **inv.to_state()}
        return dataclasses.replace(result, state=state, seconds=seconds)

    @on_gpu
    def steer(self, result: Result, segmentations: list[np.ndarray], scales: list[float],
              on_step: Progress | None = None, on_map: MapReady | None = None, *, concepts=None) -> Result:
        """Concept edits of an inverted result with LEDITS++, towards or away from words.

        `concepts` (`reading.concepts.parse_concepts(text, free_words=True)`): the words as written,
        attributes and all ("+blue car,-red car"), each with its sign and scale; then `segmentations`
        may be empty (the maps stay the picture's) or the tiny plan's stages, and `scales` is not used.
        Without `concepts`, the words are the classes each stage takes away (-) or draws (+), each at
        its stage's scale (`reading.concepts.plan`'s stages, as the tiny backend takes them).

        With stages, the result's maps are the last stage's (depth and sketch drawn again inside what
        changed), and the latents are edited only inside what any stage changed (LEDITS++'s user mask,
        with its implicit masks inside): outside it, the picture stays exactly the inverted picture.
        `result.graph` is kept (give the edited graph, as `plan` makes it)."""
        import torch

        from ...fgdm import stages
        from ...fgdm.chain import MAX_CONCEPT_STAGES
        from ...fgdm.factors import DEPTH_SIZE, SEG_SIZE
        from ...fgdm.inversion import depth_kept_outside, grown
        from ...graph import judge

        kept = _Kept.of(result)
        inv = self._inversion(result)
        if inv is None:
            raise BadInput("a concept edit needs an inverted picture: read a picture or invert the result first")
        if not isinstance(segmentations, (list, tuple)) or len(segmentations) > MAX_CONCEPT_STAGES:
            raise BadInput(f"a concept edit takes at most {MAX_CONCEPT_STAGES} stages")
        v = result.vocab
        segs = [_segmentation(x, v) for x in segmentations]
        if concepts is None:
            if not segs or not isinstance(scales, (list, tuple)) or len(scales) != len(segs):
                raise BadInput(f"a concept edit takes 1 to {MAX_CONCEPT_STAGES} stages, each with a scale")
            words = _stage_words(inv.segmentation, segs, [_scale(x) for x in scales], v)
        else:
            try:
                words = [ledits.Word(c.word, c.sign == "-", _scale(c.scale)) for c in concepts]
            except (AttributeError, TypeError):
                raise BadInput("concepts are a list as `parse_concepts` gives it") from None
        comps = self.components
        ledits.check_words(words)
        s = self.options(result.options)
        seconds: dict[str, float] = {}
        start = time.perf_counter()
        region = None
        if segs:
            seg_np = segs[-1]
            union = np.zeros(seg_np.shape, bool)
            for x in segs:
                union |= grown(x != inv.segmentation, CHANGE_DILATION)
            seg = torch.from_numpy(seg_np.astype(np.int64))[None]
            if v.name == "tiny":
                fresh = self._depth(seg, result.factor_seed, s, seconds, on_step)[0]
                depth32 = depth_kept_outside(union, fresh, inv.depth32)
                edges = self._sketch(seg, depth32[None], result.factor_seed, s, seconds, on_step, union, inv.sketch)
            else:
                depth32 = depth_kept_outside(union, depth_by_class(seg_np, inv.segmentation, inv.depth32, union),
                                             inv.depth32)
                edges = np.where(union, boundaries(seg_np), inv.sketch).astype(np.uint8)
            if union.any():
                region = latent_mask(union, int(inv.x0.shape[-1]))
        else:
            seg_np, depth32, edges = inv.segmentation, torch.from_numpy(inv.depth32), inv.sketch
            seg = torch.from_numpy(seg_np.astype(np.int64))[None]
        seg_map, depth_map = stages.to_image_size(seg, depth32[None])
        if on_map:
            on_map("segmentation", seg_np)
            on_map("depth", depth_map[0])
            on_map("sketch", edges)
        began = time.perf_counter()
        latents, _ = ledits.regenerate(comps, inv, words, region, on_step)
        image = decode(comps, latents)
        if region is not None:
            image = _pasted(inv.picture, image, region)
        seconds["image"] = time.perf_counter() - began
        graph = result.graph
        verdict = judge.judge(graph.labels, graph.triples(), seg_map[0], depth_map[0], vocabulary=v)
        state = {**result.state, "depth32": depth32.numpy().astype(np.float32),
                 "sd_latents": latents.float().cpu().numpy(), "sd_seed": np.array(kept.noise_seed, np.int64)}
        resolution = {"segmentation": SEG_SIZE, "depth": DEPTH_SIZE, "sketch": int(edges.shape[0]),
                      "image": int(image.shape[0])}
        seconds["total"] = time.perf_counter() - start
        return Result(NAME, graph, result.seed, _plain_options(s), result.candidates, result.chosen, seg_map[0],
                      depth_map[0], edges, image, verdict, seconds, resolution, state, vocabulary=v.name)

    @on_gpu
    def reconstruct(self, result: Result, on_step: Progress | None = None) -> np.ndarray:
        """The picture sampled again from the result's inversion alone (its state), with no edit: how
        exactly the inversion brings it back (up to the VAE: the picture's latents, decoded)."""
        _Kept.of(result)
        inv = self._inversion(result)
        if inv is None:
            raise BadInput("this result has not been inverted")
        comps = self.components
        latents, _ = ledits.regenerate(comps, inv, on_step=on_step)
        return decode(comps, latents)

    def _inversion(self, result: Result) -> ledits.Inversion | None:
        """The result's LEDITS++ inversion (None: not inverted), checked against this backend's size."""
        inv = ledits.Inversion.from_state(result.state)
        if inv is not None:
            comps = self.components
            side = self.picture_size // comps.vae_scale
            if inv.x0.shape[-1] != side or inv.picture.shape != (self.picture_size, self.picture_size, 3):
                raise BadInput(f"this picture was inverted at {inv.picture.shape[0]} px and this backend draws "
                               f"{self.picture_size} px: read the picture again here")
        return inv

    def _inverted(self, picture: np.ndarray, x0, segmentation: np.ndarray, depth32: np.ndarray,
                  sketch: np.ndarray, kind: str, steps: int, seed: int, on_step: Progress | None,
                  seconds: dict) -> ledits.Inversion:
        """The LEDITS++ inversion of clean latents x0, with the unedited trajectory an edit keeps."""
        comps = self.components
        began = time.perf_counter()
        x_t, zs, timesteps, total = ledits.invert(comps, x0, kind, steps, seed, on_step)
        inv = ledits.Inversion(kind, total, timesteps, x_t, zs, np.zeros_like(zs), x0.float().cpu().numpy(),
                               np.asarray(picture, np.uint8).copy(), np.asarray(segmentation, np.uint8).copy(),
                               np.asarray(depth32, np.float32).reshape(32, 32).copy(),
                               np.asarray(sketch, np.uint8).copy(), int(seed))
        check = (lambda f, i, n: on_step("inversion", steps + i, 2 * steps)) if on_step else None
        _, path = ledits.regenerate(comps, inv, on_step=check, record=True)
        seconds["inversion"] = time.perf_counter() - began
        return dataclasses.replace(inv, path=path)

    def redraw(self, graph: SceneGraph, segmentation: np.ndarray, region: np.ndarray, seed: int = 0) -> np.ndarray:
        """`region` of the segmentation drawn again by the segmentation factor (the tiny chain's)."""
        return self.tiny.redraw(graph, segmentation, region, seed)

    # --- the stages --------------------------------------------------------------------------------

    def _depth(self, seg, seed: int, s, seconds: dict, on_step: Progress | None):
        """seg (1, 64, 64) class ids -> disparity (1, 32, 32), the depth factor's, as the chain samples it."""
        return self.chain.sample_depth(seg, s.seeds("depth", [seed]), s, seconds, on_step)

    def _sketch(self, seg, disp, seed: int, s, seconds: dict, on_step: Progress | None,
                changed: np.ndarray | None = None, old: np.ndarray | None = None) -> np.ndarray:
        """seg (1, 64, 64), disparity (1, 32, 32) -> the sketch (64, 64) uint8, the chain's; with `changed`
        (S, S bool), `old` kept outside it."""
        edges = self.chain.sample_sketch(seg, disp, s.seeds("sketch", [seed]), s, seconds, on_step)[0].numpy()
        return edges if changed is None else np.where(changed, edges, old).astype(np.uint8)

    def _finish(self, graph: SceneGraph, seed: int, s, cands: tuple[Candidate, ...], chosen: int,
                seg_np: np.ndarray, depth32, seconds: dict, texts: tuple[str, str], scales: dict[str, float],
                on_step: Progress | None, on_map: MapReady | None, sketch: np.ndarray | None = None,
                before: tuple | None = None, announce: bool = False,
                inverted: ledits.Inversion | None = None, vocabulary=None,
                depth_map: np.ndarray | None = None) -> Result:
        """Sketch (unless given) and picture for one segmentation (64, 64) and depth (32, 32). `before`
        (the result, its kept state, the changed region): a rerun, which keeps what did not change.
        `inverted`: the rerun's result is an inverted picture, and what is kept is that picture's (its
        sketch, its clean latents, and outside the changed latents its very pixels); the inversion
        goes on with the new result. `depth_map`: an edited depth at the maps' size, given out as it is
        (`depth32` is its pooling)."""
        import torch

        from ...fgdm import stages
        from ...fgdm.factors import DEPTH_SIZE, SEG_SIZE
        from ...graph import judge, vocabularies

        v = vocabularies.or_tiny(vocabulary)
        fseed = cands[chosen].seed
        seg = torch.from_numpy(seg_np.astype(np.int64))[None]
        disp = depth32.float()[None]
        if announce and on_map:
            on_map("segmentation", seg_np)
            on_map("depth", depth_map if depth_map is not None else stages.to_image_size(seg, disp)[1][0])
        if sketch is None:
            changed = old = None
            if before is not None:
                changed, old = before[2], before[0].sketch if inverted is None else inverted.sketch
            if v.name == "tiny":
                edges = self._sketch(seg, disp, fseed, s, seconds, on_step, changed, old)
            else:  # no sketch factor knows these classes: the edited map's own edges where it changed
                edges = boundaries(seg_np) if changed is None else np.where(changed, boundaries(seg_np), old)
                edges = edges.astype(np.uint8)
            if on_map:
                on_map("sketch", edges)
        else:
            edges = np.asarray(sketch, np.uint8)
            seconds["sketch"] = 0.0
        noise_seed = s.seeds("image", [fseed])[0]
        keep = None
        if before is not None:
            _, kept, changed = before
            if inverted is not None:  # the picture's own latents, whatever the noise, changed or not
                keep = (inverted.x0, changed)
            elif changed.any() and kept.noise_seed == noise_seed:
                keep = (kept.latents, changed)
        began = time.perf_counter()
        image, latents = self._draw(seg_np, disp[0].numpy(), edges, texts, noise_seed, s, scales, on_step, keep, v)
        if inverted is not None and keep is not None:
            image = _pasted(inverted.picture, image, latent_mask(keep[1], latents.shape[-1]))
        seconds["image"] = time.perf_counter() - began
        seg_map, upsampled = stages.to_image_size(seg, disp)
        depth_map = upsampled if depth_map is None else np.asarray(depth_map, np.float32)[None]
        verdict = judge.judge(graph.labels, graph.triples(), seg_map[0], depth_map[0], vocabulary=v)
        state = {"depth32": disp[0].numpy().astype(np.float32), "sd_seed": np.array(noise_seed, np.int64),
                 "sd_latents": latents, "sd_prompt": _text_array(texts[0]), "sd_negative": _text_array(texts[1]),
                 "sd_scales": np.array([scales[c] for c in CONDITIONS], np.float32)}
        if inverted is not None:
            state.update(inverted.to_state())
        resolution = {"segmentation": SEG_SIZE, "depth": DEPTH_SIZE, "sketch": int(edges.shape[0]),
                      "image": int(image.shape[0])}
        return Result(NAME, graph, seed, _plain_options(s, texts, scales), cands, chosen, seg_map[0], depth_map[0],
                      edges, image, verdict, seconds, resolution, state, vocabulary=v.name)

    def _draw(self, seg_np: np.ndarray, depth32: np.ndarray, sketch: np.ndarray, texts: tuple[str, str],
              noise_seed: int, s, scales: dict[str, float], on_step: Progress | None,
              keep: tuple[np.ndarray, np.ndarray] | None, vocabulary=None) -> tuple[np.ndarray, np.ndarray]:
        """The picture (P, P, 3) uint8 and its clean latents (1, C, L, L) float32. `keep` (the original's
        clean latents, the changed region (S, S) bool): blended sampling outside the region."""
        import torch

        comps = self.components
        size = self.picture_size
        side = size // comps.vae_scale
        shape = (1, comps.latent_channels, side, side)
        noise = torch.randn(shape, generator=torch.Generator().manual_seed(_salted(noise_seed)))
        noise = noise.to(comps.device, comps.dtype)
        steps = s.steps["image"]
        outside = original = None
        if keep is not None and keep[0].shape == shape:
            outside = torch.from_numpy(~latent_mask(keep[1], side)).to(comps.device)[None, None]
            original = torch.from_numpy(keep[0]).to(comps.device, comps.dtype)

        def each_step(pipe, i: int, t, tensors: dict) -> dict:
            if outside is not None:
                later = pipe.scheduler.timesteps[i + 1:i + 2]
                noised = pipe.scheduler.add_noise(original, noise, later) if len(later) else original
                tensors["latents"] = torch.where(outside, noised.to(tensors["latents"].dtype), tensors["latents"])
            if on_step:
                on_step("image", i + 1, steps)
            return tensors

        pipe = comps.pipeline(make_scheduler(sd_scheduler(s), comps.scheduler.config))
        conditions = control_images(seg_np, depth32, sketch, size, vocabulary)
        out = pipe(prompt=texts[0], negative_prompt=texts[1] or None, image=conditions, height=size, width=size,
                   num_inference_steps=steps, guidance_scale=s.guidance["image"], latents=noise,
                   controlnet_conditioning_scale=[scales[c] for c in CONDITIONS], output_type="latent",
                   callback_on_step_end=each_step, callback_on_step_end_tensor_inputs=["latents"])
        latents = out.images
        return decode(comps, latents), latents.float().cpu().numpy()


# --- conditions, latents and pictures --------------------------------------------------------------


def control_images(seg_np: np.ndarray, depth32: np.ndarray, sketch: np.ndarray, size: int, vocabulary=None) -> list:
    """The three ControlNets' conditions at the picture's size, as PIL pictures (the pipeline's
    input): the segmentation in ADE20K colours (nearest: a class has no in-between), the depth
    (bicubic, grey, near is bright) and the sketch as soft white edges on black (bilinear, then a
    blur of about 2 px at 512, as HED and PiDiNet draw soft edges)."""
    from PIL import Image, ImageFilter

    seg = Image.fromarray(palette.colorize(seg_np, vocabulary)).resize((size, size), Image.NEAREST)
    depth = Image.fromarray((np.clip(depth32, 0, 1) * 255).round().astype(np.uint8)).resize((size, size),
                                                                                         Image.BICUBIC)
    edges = Image.fromarray(np.asarray(sketch, np.uint8)).resize((size, size), Image.BILINEAR)
    edges = edges.filter(ImageFilter.GaussianBlur(radius=max(size / 256, 0.5)))
    e = np.asarray(edges, np.float32)
    if e.max() > 0:
        e = e * (255.0 / e.max())
    edges = Image.fromarray(e.round().astype(np.uint8))
    return [seg.convert("RGB"), depth.convert("RGB"), edges.convert("RGB")]


def latent_mask(changed: np.ndarray, side: int) -> np.ndarray:
    """(S, S) bool map of what changed -> (L, L) bool at the latents' resolution: a latent pixel
    that any changed map pixel falls in, grown by LATENT_DILATION."""
    import torch
    import torch.nn.functional as F

    m = torch.from_numpy(np.asarray(changed, bool)).float()[None, None]
    m = F.adaptive_max_pool2d(m, side) if side <= m.shape[-1] else F.interpolate(m, size=side, mode="nearest")
    if LATENT_DILATION:
        m = F.max_pool2d(m, 2 * LATENT_DILATION + 1, stride=1, padding=LATENT_DILATION)
    return m[0, 0].numpy() > 0


def decode(comps: SDComponents, latents) -> np.ndarray:
    """Clean latents (1, C, L, L) -> the picture (P, P, 3) uint8."""
    import torch

    with torch.no_grad():
        x = comps.vae.decode(latents.to(comps.vae.dtype) / comps.vae.config.scaling_factor, return_dict=False)[0]
    x = ((x[0].float() / 2 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8)
    return x.permute(1, 2, 0).cpu().numpy()


def sd_scheduler(s) -> str:
    """The scheduler SD draws and inverts with: the one a request names, else DDIM (the tiny factors'
    own defaults, `Settings.scheduler_of`, hold for the maps)."""
    return s.scheduler or "ddim"


def make_scheduler(name: str, config):
    """DDIM, or DPM-Solver++ (multistep), from the model's scheduler config."""
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    if name not in SCHEDULERS:
        raise BadInput(f"scheduler must be one of {', '.join(SCHEDULERS)}")
    return {"ddim": DDIMScheduler, "dpm": DPMSolverMultistepScheduler}[name].from_config(config)


# --- small pieces ----------------------------------------------------------------------------------


def _inversion_steps(kind: str, steps: int) -> int:
    from ...fgdm.chain import MAX_STEPS

    if kind == "ddim":
        raise BadInput("the sd backend inverts with LEDITS++'s edit-friendly DDPM inversion (exact), not DDIM "
                       "inversion: use ddpm")
    if kind not in INVERSIONS:
        raise BadInput(f"inversion must be one of {', '.join(INVERSIONS)}, not {str(kind)[:20]!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise BadInput(f"inversion steps must be a whole number from 1 to {MAX_STEPS}")
    return steps


def _scale(value) -> float:
    from ...fgdm.chain import MAX_CONCEPT_SCALE

    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < float(value) <= MAX_CONCEPT_SCALE:
        raise BadInput(f"a concept's scale must be above 0 and at most {MAX_CONCEPT_SCALE:g}")
    return float(value)


def _stage_words(first: np.ndarray, segs: list[np.ndarray], scales: list[float], vocabulary) -> list[ledits.Word]:
    """The words of a plan's stages: each stage's classes gone (away, -) and new (towards, +), at the
    stage's scale; a stage that removes no class whole takes away the class that lost most."""
    words: list[ledits.Word] = []
    before = first
    for seg, scale in zip(segs, scales):
        had, has = set(np.unique(before).tolist()), set(np.unique(seg).tolist())
        gone, new = sorted(had - has), sorted(has - had)
        if not gone and not new:
            lost = {c: int((before == c).sum()) - int((seg == c).sum()) for c in had}
            most = max(lost, key=lost.get)
            gone = [most] if lost[most] > 0 else []
        for c, away in [(c, True) for c in gone] + [(c, False) for c in new]:
            name = vocabulary.classes[c]
            if all(w.text != name for w in words):
                words.append(ledits.Word(name, away, scale))
        before = seg
    if not words:
        raise BadInput("the concept edit changes no class in the segmentation: there is nothing to steer")
    return words


def _pasted(picture: np.ndarray, image: np.ndarray, region: np.ndarray) -> np.ndarray:
    """`image` inside `region` (L, L latent pixels), `picture` outside: what was not edited is the
    inverted picture's own pixels, not their trip through the VAE."""
    k = image.shape[0] // region.shape[0]
    inside = np.kron(np.asarray(region, bool), np.ones((k, k), bool))
    return np.where(inside[..., None], image, picture).astype(np.uint8)


def _without_inversion(on_step: Progress | None) -> Progress | None:
    """The tiny chain's reading reports its own (tiny) inversion, which the sd backend does not use."""
    return (lambda f, i, n: None if f == "inversion" else on_step(f, i, n)) if on_step else None


@dataclasses.dataclass(frozen=True)
class _Kept:
    """What a result's state holds for a rerun, read and checked."""

    noise_seed: int
    latents: np.ndarray
    prompt: str
    negative: str
    scales: dict[str, float]
    depth32: np.ndarray

    @classmethod
    def of(cls, result: Result) -> _Kept:
        if result.backend != NAME or "sd_latents" not in result.state:
            raise BadInput(f"this result was made by the {result.backend!r} backend, not the sd one: "
                           "generate it again here")
        st = result.state
        try:
            scales = dict(zip(CONDITIONS, (float(x) for x in np.asarray(st["sd_scales"]).reshape(-1))))
            return cls(int(np.asarray(st["sd_seed"]).reshape(-1)[0]), np.asarray(st["sd_latents"], np.float32),
                       _text(st["sd_prompt"]), _text(st["sd_negative"]), check_scales(scales),
                       np.asarray(st["depth32"], np.float32).reshape(32, 32))
        except (KeyError, IndexError, ValueError, TypeError, UnicodeDecodeError, BadInput) as e:
            raise BadInput(f"the result's sd state is damaged ({type(e).__name__}): generate it again") from None


def _segmentation(seg, vocabulary) -> np.ndarray:
    from ...fgdm.factors import SEG_SIZE

    arr = np.asarray(seg)
    if arr.shape != (SEG_SIZE, SEG_SIZE):
        raise BadInput(f"an edited segmentation must be {SEG_SIZE}x{SEG_SIZE}, not {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0 or arr.max() >= len(vocabulary):
        raise BadInput(f"an edited segmentation holds class ids 0..{len(vocabulary) - 1} ({vocabulary.name})")
    return arr.astype(np.uint8)


def depth_by_class(seg: np.ndarray, before: np.ndarray, depth32: np.ndarray, changed: np.ndarray):
    """The depth (32, 32) inside an edit of a map no depth factor knows (a picture read in ADE20K's
    classes): each changed pixel takes the median depth its class had in the map before the edit (a
    moved thing keeps its own depth; the wall a hole shows, the wall's), or, for a class the map did not
    hold, the median of what was there. Outside `changed` the caller keeps the old depth."""
    import torch
    import torch.nn.functional as F

    old = F.interpolate(torch.from_numpy(np.asarray(depth32, np.float32))[None, None], size=seg.shape,
                        mode="bilinear", align_corners=False)[0, 0].numpy()
    out = old.copy()
    if changed.any():
        for c in np.unique(seg[changed]):
            where = changed & (seg == c)
            had = (before == c) & ~changed
            had = had if had.any() else (before == c)
            out[where] = float(np.median(old[had])) if had.any() else float(np.median(old[where]))
    return F.adaptive_avg_pool2d(torch.from_numpy(out)[None, None], depth32.shape[-1])[0, 0]


def _salted(seed: int) -> int:
    return (int(seed) * 1_000_003 + NOISE_SALT) % (2 ** 63)


def _plain_options(s, texts: tuple[str, str] | None = None, scales: dict[str, float] | None = None) -> Options:
    """The request's options as run (the chain's settings: every factor filled in; the prompt,
    negative prompt and condition scales the picture was drawn with)."""
    values = {f.name: getattr(s, f.name) for f in dataclasses.fields(Options) if hasattr(s, f.name)}
    if texts is not None:
        values.update(prompt=texts[0], negative_prompt=texts[1])
    if scales is not None:
        values["condition_scales"] = dict(scales)
    return Options(**{k: dict(v) if isinstance(v, dict) else v for k, v in values.items()})


def _asked(options: Options | None, prompt, negative, scales):
    """A keyword's prompt, negative prompt and scales, else the request options' (None: not asked)."""
    if options is not None:
        prompt = prompt if prompt is not None else (options.prompt or None)
        negative = negative if negative is not None else (options.negative_prompt or None)
        scales = scales if scales is not None else (dict(options.condition_scales) or None)
    return prompt, negative, scales


def _text_array(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), np.uint8).copy()


def _text(array) -> str:
    return np.asarray(array, np.uint8).tobytes().decode("utf-8")
