"""A result as bytes and back: one .npz holding the arrays and a JSON header with the rest.

Verdicts are not written: the judge is deterministic, so reading a result judges its maps again
against its graph (the same verdicts, and no second format for them to drift from)."""

from __future__ import annotations

import io
import json

import numpy as np

from ..errors import BadInput
from ..graph.scene_graph import SceneGraph
from .base import Candidate, Options, Result

FORMAT = "sgcond-result/1"
MAX_BYTES = 64 * 1024 * 1024


def to_arrays(result: Result) -> tuple[dict, dict[str, np.ndarray]]:
    """The result as a JSON-able header and named arrays (npz here, safetensors for a read picture)."""
    arrays = {"segmentation": result.segmentation, "depth": result.depth, "sketch": result.sketch,
              "image": result.image}
    for k, c in enumerate(result.candidates):
        arrays[f"candidate{k}_segmentation"] = c.segmentation
        if c.depth is not None:
            arrays[f"candidate{k}_depth"] = c.depth
    for key, value in result.state.items():
        arrays[f"state_{key}"] = np.asarray(value)
    header = {"format": FORMAT, "backend": result.backend, "graph": result.graph.to_sg2im(), "seed": result.seed,
              "options": result.options.to_json(), "chosen": result.chosen, "seconds": result.seconds,
              "resolution": result.resolution, "candidates": [c.seed for c in result.candidates],
              "state": sorted(result.state), "notes": list(result.notes)}
    return header, arrays


def to_bytes(result: Result) -> bytes:
    header, arrays = to_arrays(result)
    buf = io.BytesIO()
    np.savez_compressed(buf, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)
    return buf.getvalue()


def from_bytes(data: bytes) -> Result:
    if len(data) > MAX_BYTES:
        raise BadInput(f"a result is at most {MAX_BYTES // 2**20} MiB")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        header = json.loads(arrays.pop("header").tobytes().decode())
        return from_arrays(header, arrays)
    except BadInput:
        raise
    except Exception as e:  # bytes from elsewhere: whatever fails to parse them is the bytes' fault
        raise BadInput(f"this is not a result this app wrote ({type(e).__name__})") from None


def from_arrays(header: dict, arrays: dict[str, np.ndarray]) -> Result:
    try:
        if header.get("format") != FORMAT:
            raise ValueError(f"format {header.get('format')!r}")
        g = header["graph"]
        graph = SceneGraph.build([(o, ()) if isinstance(o, str) else (o["label"], tuple(o["attributes"]))
                                  for o in g["objects"]], [tuple(r) for r in g["relationships"]])
        depth = arrays["depth"]

        def judged(seg, d):
            from ..graph import judge

            return judge.judge(graph.labels, graph.triples(), seg, d)

        cands = []
        for k, seed in enumerate(header["candidates"]):
            seg, d = arrays[f"candidate{k}_segmentation"], arrays.get(f"candidate{k}_depth")
            cands.append(Candidate(int(seed), seg, d, judged(seg, d)))
        state = {key: arrays[f"state_{key}"] for key in header["state"]}
        return Result(header["backend"], graph, int(header["seed"]), Options.from_json(header["options"]),
                      tuple(cands), int(header["chosen"]), arrays["segmentation"], depth, arrays["sketch"],
                      arrays["image"], judged(arrays["segmentation"], depth),
                      {k: float(v) for k, v in header["seconds"].items()},
                      {k: int(v) for k, v in header["resolution"].items()}, state,
                      tuple(str(line) for line in header.get("notes", ())))
    except BadInput:
        raise
    except Exception as e:  # bytes from elsewhere: whatever fails to parse them is the bytes' fault
        raise BadInput(f"not a result this app wrote ({type(e).__name__}: {e})"[:300]) from None


# --- as text, for JSON APIs --------------------------------------------------------------------


def to_text(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


def from_text(text: object, what: str = "a result") -> bytes:
    import base64
    import binascii

    if not isinstance(text, str) or len(text) > MAX_BYTES * 4 // 3 + 4:
        raise BadInput(f"{what} must be base64 text of at most {MAX_BYTES // 2**20} MiB")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise BadInput(f"{what} is not base64 text") from None


def array_to_text(a: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, np.asarray(a), allow_pickle=False)
    return to_text(buf.getvalue())


def array_from_text(text: object, what: str = "a map") -> np.ndarray:
    try:
        return np.load(io.BytesIO(from_text(text, what)), allow_pickle=False)
    except BadInput:
        raise
    except Exception as e:
        raise BadInput(f"{what} is not an array this app wrote ({type(e).__name__})") from None
