"""Keep a factors training run across sessions: its weights as a model folder (float16, a few MB)
that the next session's run starts from (`train factors --init SNAPSHOT`), with each session's
steps, wall time and log kept beside them.

    python tools/snapshot_run.py runs/image-cpu checkpoints/image-cpu --note "session of 2026-12-06"

A session's machine ends its background processes when it stops, and `runs/` is not committed:
the optimizer's state (three times the weights) is left behind, and the next run starts it afresh
(with its warm-up), from these weights. `state.json` adds up the steps and seconds of every
session's run; `log.jsonl` holds their logs one after the other, each row with its session.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def snapshot(run: Path, out: Path, note: str) -> dict:
    from safetensors.torch import load_file

    from sgcond_app.models.denoiser import FactorDenoiser
    from sgcond_app.models.pretrained import save_pretrained
    from sgcond_app.training.loop import EMA_FILE

    state = json.loads((run / "state.json").read_text())
    weights = load_file(str(run / "checkpoint" / "model.safetensors"))
    if (run / "checkpoint" / EMA_FILE).is_file():  # a run with --ema: its moving average is what it exports
        weights.update(load_file(str(run / "checkpoint" / EMA_FILE)))
    kept = json.loads((out / "state.json").read_text()) if (out / "state.json").is_file() else {"sessions": []}
    sessions = [s for s in kept["sessions"] if s.get("run") != str(run) or s.get("note") != note]
    sessions.append({"run": str(run), "note": note, "step": state["step"], "seconds": state["seconds"]})
    names = sorted(p.parent.name for p in run.glob("*/model_config.json"))
    for name in names:
        config = FactorDenoiser.Config(**json.loads((run / name / "model_config.json").read_text()))
        model = FactorDenoiser(config)
        prefix = f"models.{name}."
        model.load_state_dict({k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)})
        save_pretrained(model, out / name, {"training": {"sessions": sessions}})
    total = {"step": sum(s["step"] for s in sessions), "seconds": round(sum(s["seconds"] for s in sessions), 1),
             "factors": names, "sessions": sessions}
    (out / "state.json").write_text(json.dumps(total, indent=1) + "\n")
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]
    earlier = []
    if (out / "log.jsonl").is_file():
        earlier = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines() if line.strip()]
        earlier = [r for r in earlier if r.get("session") != note]
    (out / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in earlier + [{**r, "session": note}
                                                                                      for r in rows]))
    return total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run", type=Path, help="a `train factors` run folder (checkpoint/, state.json, log.jsonl)")
    p.add_argument("out", type=Path, help="the snapshot folder (created; one sub-folder per factor)")
    p.add_argument("--note", required=True, help="names this session's part (the same note replaces it)")
    args = p.parse_args()
    print(json.dumps(snapshot(args.run, args.out, args.note), indent=1))


if __name__ == "__main__":
    main()
