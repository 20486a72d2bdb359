"""`python -m sgcond_app bench gpu [--json OUT]`: everything of this project that needs an
accelerator, in one process, to run first whenever a GPU is at hand (`tools/gpu_check.sh`); about 8
minutes on an H100. On a machine without CUDA the same steps run at small sizes and say so
(`"device": "cpu"`); CI runs that form (tests/test_gpu_bench.py), so that the GPU form cannot rot.

1. The tiny backend on the device: a whole chain with N = 1 and N = 8 candidates (medians), whole
   chains batched (64 and 256 pictures; 4 and 8 on the CPU), fp32 against bf16 autocast on 50
   held-out renders' graphs (on the CPU one, at N = 1 and few steps; --graphs: a graph file
   instead): the chosen map's recall and relations and the picture's fidelity beside the
   seconds, since a faster precision is only worth taking where it holds quality; and whether a
   seed gives the same pixels on the device as on the CPU.
2. Stable Diffusion 1.5 and three ControlNets at their published sizes on random weights
   (`backends/sd/configs`, no download; on the CPU the tiny random parts): `bench sd`'s steps, a
   512 px generate in 20 steps, a rerun after a mask edit, LEDITS++ read and inversion, a concept
   edit, a picture read as a photo is (the extractors at their published sizes, ADE20K maps) and
   edited; then the reading path's extractors (SegFormer B0, Depth Anything V2 small, HED) alone.
   Random weights give no picture worth looking at: they give shapes, dtypes, memory and seconds,
   which is what breaks first on a real GPU.

Each part is measured apart: one that fails is reported with its error and the others still run.
Peak memory: the GPU's allocator's peak for the part (CUDA), else the process's peak resident size.
"""

from __future__ import annotations

import statistics
import time
import traceback

GRAPHS_CPU, GRAPHS_GPU = 1, 50
HELD_OUT = 1_000_200_000  # render seeds no model saw


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class _Part:
    """Seconds and peak memory of one part; an exception is kept as the part's error."""

    def __init__(self, out: dict, name: str, device: str):
        self.out, self.name, self.device = out, name, device

    def __enter__(self):
        import torch

        if self.device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        self.figures = self.out.setdefault(self.name, {})
        self.start = time.perf_counter()
        return self

    def __exit__(self, kind, error, tb) -> bool:
        import resource

        import torch

        if self.device == "cuda":
            torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated() / 2**20
        else:
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        entry = self.figures
        entry.update({"seconds": round(time.perf_counter() - self.start, 3), "peak_memory_mb": round(peak, 1)})
        if error is not None:
            entry["error"] = f"{kind.__name__}: {str(error)[:300]}"
            entry["where"] = "".join(traceback.format_tb(tb)[-2:])[-600:]
        return kind is None or issubclass(kind, Exception)  # the next part still runs; Ctrl-C stops


def _median_seconds(fn, repeats: int, device: str) -> float:
    import torch

    times = []
    for k in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn(k)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def tiny_backend(out: dict, device: str, graphs_path: str | None = None) -> None:
    import numpy as np
    import torch

    from ..fgdm.chain import Chain, Settings
    from ..fgdm.factors import MAP_SIZE
    from .chain import _baseline_batched, _graphs

    small = device == "cpu"
    with _Part(out, "tiny_load", device):
        chain = Chain.from_pretrained(device=device)
    count = GRAPHS_CPU if small else GRAPHS_GPU
    if graphs_path:
        graphs = _graphs(graphs_path, count)
    else:  # held-out renders' graphs: the world's own words, so no word model is needed (nor carried)
        from ..world.sample import render_sample

        graphs = [render_sample(HELD_OUT + k, 64).graph for k in range(count)]
    out["graphs"] = graphs_path or f"{count} held-out renders' graphs (seeds {HELD_OUT}..)"
    g = graphs[0]
    with _Part(out, "tiny_latency", device) as p:
        chain.generate(g, 0, Settings(samples=1))  # warm-up
        repeats = 3 if small else 10
        for n in (1, 8):
            s = Settings(samples=n)
            p.figures[f"chain_n{n}_seconds"] = round(_median_seconds(lambda k, s=s: chain.generate(g, k, s),
                                                                         repeats, device), 4)
    with _Part(out, "tiny_batched", device) as p:
        for batch in ((4, 8) if small else (64, 256)):
            seconds = _median_seconds(lambda k, b=batch: _baseline_batched(chain, g, 1000 * (k + 1), b, read=False),
                                      2, device)
            p.figures[f"batch_{batch}_pictures_per_second"] = round(batch / seconds, 2)
        # A labelled dataset's cost (`dataset`, issue 31): a million samples at the best batched rate.
        best = max(v for k, v in p.figures.items() if k.endswith("_pictures_per_second"))
        p.figures["gpu_hours_per_million_samples"] = round(1e6 / best / 3600, 2)
    with _Part(out, "tiny_request_batching", device) as p:
        # What a Ray Serve replica's @serve.batch gives (`backends/serve.py`): the image stage of U
        # requests, a picture each, in one forward pass, against one request after another.
        from ..fgdm import stages

        r = chain.generate(g, 0, Settings(samples=1))
        seg = torch.from_numpy(r.segmentation.astype(np.int64))[None]
        disp, edges = r.depth32[None].float(), torch.from_numpy(r.sketch)[None]
        d = Settings()
        steps, guidance, scheduler = d.steps["image"], d.guidance["image"], d.scheduler_of("image")
        model = chain.factors["image"]
        for users in ((1, 2) if small else (1, 4, 16)):
            jobs = [(model, seg, disp, edges, [k], steps, guidance, scheduler, None) for k in range(users)]
            alone = _median_seconds(lambda k, jobs=jobs: [stages.image(*j[:8]) for j in jobs], 2, device)
            together = _median_seconds(lambda k, jobs=jobs: stages.images_of_requests(jobs), 2, device)
            p.figures[f"users_{users}_alone_pictures_per_second"] = round(users / alone, 2)
            p.figures[f"users_{users}_batched_pictures_per_second"] = round(users / together, 2)
    with _Part(out, "tiny_precision", device) as p:
        # bf16 autocast on a CPU is some fifty times slower than fp32 (43 s a chain): the CPU form
        # samples one map, in 2 steps a factor after the segmentation's 4, and draws its picture once.
        s = Settings(samples=8)
        if small:
            s = Settings(samples=1, picture_draws=1, steps={**s.steps, "depth": 2, "sketch": 2, "image": 2})
        for name, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
            recall, relations, read, cond = [], [], [], []
            start = time.perf_counter()
            for k, graph in enumerate(graphs):
                if dtype is None:
                    r = chain.generate(graph, 11 + k, s)
                else:
                    with torch.autocast(device_type=device, dtype=dtype):
                        r = chain.generate(graph, 11 + k, s)
                recall.append(r.verdict.object_recall)
                if r.verdict.relation_accuracy is not None:
                    relations.append(r.verdict.relation_accuracy)
                read.append(chain.segmenter.segment(r.image, size=MAP_SIZE))
                cond.append(r.segmentation)
            from ..training.evaluation import miou

            p.figures[name] = {"graphs": len(graphs), "object_recall": round(float(np.mean(recall)), 4),
                                   "relation_accuracy": round(float(np.mean(relations)), 4) if relations else None,
                                   "fidelity_miou": round(float(miou(np.stack(read), np.stack(cond))), 4),
                                   "seconds_per_graph": round((time.perf_counter() - start) / len(graphs), 4)}
    with _Part(out, "tiny_same_pixels", device) as p:
        if small:
            p.figures["note"] = "no CUDA: the device is the CPU, nothing to compare it with"
        else:
            here = Chain.from_pretrained(device="cpu").generate(g, 5, Settings(samples=2)).image.astype(int)
            there = chain.generate(g, 5, Settings(samples=2)).image.astype(int)
            p.figures.update({"max_abs_difference": int(np.abs(here - there).max()),
                                  "share_of_equal_values": round(float((here == there).mean()), 4)})


def stable_diffusion(out: dict, device: str) -> None:
    from ..backends.sd import SDComponents
    from . import sd

    small = device == "cpu"
    components = None
    with _Part(out, "sd_build", device) as p:
        components = SDComponents.tiny_random(0) if small else SDComponents.from_configs(device)
        p.figures.update({"published_sizes": not small, "picture_size": components.picture_size,
                              "parameters_millions": round(sum(
                                  x.numel() for m in (components.unet, components.controlnet, components.vae,
                                                      components.text_encoder) for x in m.parameters()) / 1e6, 1)})
    if components is not None:
        with _Part(out, "sd_steps", device) as p:
            figures = sd.run(small, samples=8 if not small else 2, repeats=1 if small else 2,
                             steps=4 if small else 20, components=components)
            p.figures.update({k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items()})
    with _Part(out, "extractors", device) as p:
        import numpy as np

        from ..backends.sd.extractors import Extractors, read_graph

        extractors = Extractors.tiny_random(0) if small else Extractors.from_configs(device)
        picture = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
        extractors.read(picture, 64 if small else 512)  # warm-up
        seconds = _median_seconds(lambda k: extractors.read(picture, 64 if small else 512), 3, device)
        maps = extractors.read(picture, 64 if small else 512)
        graph, _ = read_graph(maps)
        p.figures.update({"published_sizes": not small, "read_seconds": round(seconds, 4),
                              "maps": list(maps.segmentation.shape), "graph_objects": len(graph.objects)})


def run(graphs: str | None = None) -> dict:
    import torch

    device = _device()
    out: dict = {"device": device, "small_sizes": device == "cpu", "torch": torch.__version__}
    if device == "cuda":
        out["gpu"] = torch.cuda.get_device_name(0)
    start = time.perf_counter()
    tiny_backend(out, device, graphs)
    stable_diffusion(out, device)
    out["seconds"] = round(time.perf_counter() - start, 1)
    out["errors"] = [k for k, v in out.items() if isinstance(v, dict) and "error" in v]
    return out
