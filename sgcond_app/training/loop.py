"""One training loop for every model: accelerate (CPU, one GPU or several), resumable checkpoints,
a wall-clock budget, a progress bar, and an export to `weights/<name>/` with a model card."""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, IterableDataset

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    out: Path  # run folder: checkpoint/, state.json, log.jsonl
    steps: int
    batch: int
    lr: float = 1e-3
    warmup: int = 200
    weight_decay: float = 0.01
    workers: int = 2
    minutes: float | None = None  # a wall-time budget for all runs together: the schedule ends with it
    checkpoint_every: int = 500
    log_every: int = 50
    seed: int = 0
    accumulate: int = 1  # batches whose gradients make one step (an effective batch of batch * accumulate)
    ema: float = 0.0  # decay of a moving average of the weights (0: none), exported in their place


EMA_FILE = "ema.safetensors"


class EMA:
    """An exponential moving average of a model's trainable weights, kept in float32 beside the
    checkpoint (resumed with it). The decay warms up as min(decay, (1 + step) / (10 + step)), so a
    fine-tune's first steps do not freeze the average at its start."""

    def __init__(self, model: torch.nn.Module, decay: float, saved: Path) -> None:
        from safetensors.torch import load_file

        self.decay = decay
        self.names = [n for n, p in model.named_parameters() if p.requires_grad]
        self.params = dict(model.named_parameters())
        self.shadow = {n: self.params[n].detach().float().clone() for n in self.names}
        if saved.is_file():
            self.shadow.update({k: v.float() for k, v in load_file(str(saved)).items() if k in self.shadow})

    @torch.no_grad()
    def update(self, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for n in self.names:
            self.shadow[n].lerp_(self.params[n].detach().float(), 1 - d)

    def save(self, path: Path) -> None:
        from safetensors.torch import save_file

        path.parent.mkdir(parents=True, exist_ok=True)
        save_file({n: t.contiguous() for n, t in self.shadow.items()}, str(path))

    @torch.no_grad()
    def copy_to(self, model: torch.nn.Module) -> None:
        params = dict(model.named_parameters())
        for n, t in self.shadow.items():
            params[n].copy_(t.to(params[n].dtype))


def hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} ({torch.cuda.device_count()} GPU)"
    return f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"


def progress(cfg: TrainConfig, step: int, seconds: float) -> float:
    """How far training is, 0..1: by steps, or by wall time where a budget is set (whichever is
    further), so that the learning rate has decayed when the budget runs out."""
    p = step / cfg.steps
    if cfg.minutes:
        p = max(p, seconds / (60 * cfg.minutes))
    return min(1.0, p)


def lr_factor(cfg: TrainConfig, step: int, p: float) -> float:
    """Linear warm-up over cfg.warmup steps, then cosine decay to 5% as progress goes to 1."""
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * p))


def train(objective: torch.nn.Module, make_dataset: Callable[[int, int, int], IterableDataset],
          collate: Callable, to_inputs: Callable[[dict, torch.device], dict], cfg: TrainConfig) -> dict:
    """Train `objective` (a module whose forward(**inputs) returns (loss, logs)) until cfg.steps.

    make_dataset(start, rank, world) builds this process's stream; to_inputs moves a collated batch
    onto the device. Returns {"step", "seconds" (all runs together), "finished", "hardware"}."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm import tqdm

    acc = Accelerator(mixed_precision="bf16" if torch.cuda.is_available() else "no")
    set_seed(cfg.seed + acc.process_index)
    cfg.out.mkdir(parents=True, exist_ok=True)
    state_path, ckpt = cfg.out / "state.json", cfg.out / "checkpoint"
    state = {"step": 0, "seconds": 0.0}
    if state_path.is_file() and ckpt.is_dir():
        state = json.loads(state_path.read_text())
    params = [p for p in objective.parameters() if p.requires_grad]
    ema = EMA(objective, cfg.ema, ckpt / EMA_FILE) if cfg.ema > 0 else None
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.99))
    model, opt = acc.prepare(objective, opt)
    if state["step"] > 0:
        acc.load_state(str(ckpt))
        acc.print(f"resumed from {ckpt} at step {state['step']}")
    step = state["step"]
    if progress(cfg, step, state["seconds"]) >= 1:
        return {**state, "finished": True, "hardware": hardware(acc.device)}

    dataset = make_dataset(step * cfg.batch * cfg.accumulate * acc.num_processes, acc.process_index, acc.num_processes)
    loader = DataLoader(dataset, batch_size=cfg.batch, num_workers=cfg.workers, collate_fn=collate,
                        persistent_workers=cfg.workers > 0, prefetch_factor=4 if cfg.workers > 0 else None,
                        pin_memory=acc.device.type == "cuda")

    def save() -> None:
        acc.wait_for_everyone()
        acc.save_state(str(ckpt))
        if acc.is_main_process:
            if ema:
                ema.save(ckpt / EMA_FILE)
            state_path.write_text(json.dumps({"step": step, "seconds": round(seconds, 1)}))

    start = time.perf_counter()
    seconds = state["seconds"]
    bar = tqdm(total=cfg.steps, initial=step, disable=not acc.is_local_main_process, unit="step",
               dynamic_ncols=True, file=sys.stderr)
    logf = (cfg.out / "log.jsonl").open("a") if acc.is_main_process else None
    model.train()
    finished = False
    batches = iter(loader)
    while True:
        lr = cfg.lr * lr_factor(cfg, step, progress(cfg, step, seconds))
        for group in opt.param_groups:
            group["lr"] = lr
        for _ in range(cfg.accumulate):
            inputs = to_inputs(next(batches), acc.device)  # the render stream has no end
            with acc.autocast():
                loss, logs = model(**inputs)
            acc.backward(loss / cfg.accumulate)
        acc.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if ema:
            ema.update(step)
        step += 1
        seconds = state["seconds"] + time.perf_counter() - start
        bar.update(1)
        if step % cfg.log_every == 0 or step == cfg.steps:
            row = {"step": step, "seconds": round(seconds, 1), "lr": lr,
                   **{k: round(float(v), 4) for k, v in logs.items()}}
            bar.set_postfix({k: v for k, v in row.items() if k not in ("step", "seconds", "lr")})
            if logf:
                logf.write(json.dumps(row) + "\n")
                logf.flush()
        finished = progress(cfg, step, seconds) >= 1
        if acc.num_processes > 1:  # every process must stop at the same step
            finished = bool(acc.reduce(torch.tensor(float(finished), device=acc.device), "max").item())
        if finished or step % cfg.checkpoint_every == 0:
            save()
        if finished:
            break
    bar.close()
    if logf:
        logf.close()
    if ema:
        ema.copy_to(objective)
    return {"step": step, "seconds": round(seconds, 1), "finished": finished, "hardware": hardware(acc.device)}


def command_line() -> str:
    return "python -m sgcond_app " + " ".join(shlex.quote(a) for a in sys.argv[1:])


REPRODUCE = "Reproduce the metrics with the bench command given in `docs/benchmarks.md`."


TINY_WORLD_DATA = ("tiny-world renders drawn on the fly (seeds below 1,000,000,000; every benchmark uses\n"
                   "  seeds from 1,000,000,000 on, so no benchmark sample was seen in training)")


def write_card(directory: Path, title: str, body: str, run: dict, metrics: dict, command: str,
               reproduce: str = REPRODUCE, data: str = TINY_WORLD_DATA) -> None:
    """The model card: what the model is, the data, the exact command, steps, time, hardware, metrics."""
    hours, rest = divmod(int(run["seconds"]), 3600)
    wall = f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min {rest % 60} s"
    metric_lines = "\n".join(f"| `{k}` | {v:.4f} |" if isinstance(v, float) else f"| `{k}` | {v} |"
                             for k, v in metrics.items())
    text = f"""# {title}

{body.strip()}

## Training

- Data: {data}.
- Command: `{command}`
- Steps: {run['step']} (batch {run.get('batch', '?')}), wall time {wall} in all runs together.
- Hardware: {run['hardware']}.

## Metrics after training

| metric | value |
| --- | --- |
{metric_lines}

{reproduce}
"""
    (directory / "README.md").write_text(text)
