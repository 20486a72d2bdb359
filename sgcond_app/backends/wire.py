"""A result as bytes and back: one .npz holding the arrays and a JSON header with the rest.

Verdicts are not written: the judge is deterministic, so reading a result judges its maps again
against its graph (the same verdicts, and no second format for them to drift from).

Bytes from elsewhere are read by what they declare before anything is unpacked: an .npz is a zip
whose members each begin with a header naming their shape and dtype, and 5 MB of zeros can declare
gigabytes. So each member's header is read first and checked (a dtype this app writes, at most
MAX_ARRAY_BYTES an array, MAX_UNPACKED_BYTES in all, no side over MAX_SIDE), and only then are
the arrays read; the maps are then at most the size this app ever writes (MAX_MAP_SIDE)."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np

from ..errors import BadInput
from ..graph.scene_graph import SceneGraph
from ..inputs import load_json
from .base import Candidate, Options, Result

FORMAT = "sgcond-result/1"
# A result as bytes (compressed): the largest this app writes, a tiny picture inverted in 100 steps,
# is ~19 MB (its noise maps do not compress).
MAX_BYTES = 32 * 1024 * 1024
# What a result may unpack to. The largest this app writes: a tiny-backend picture inverted in 100
# steps (one 3x128x128 noise map a step, ~20 MB); Stable Diffusion's at 512 px is smaller (latents).
MAX_ARRAY_BYTES = 32 * 2**20
MAX_UNPACKED_BYTES = 80 * 2**20
MAX_MEMBERS = 128
MAX_SIDE = 4096  # any axis of any array
MAX_MAP_SIDE = 1024  # a map's or a picture's side (the sd backend paints 512 px)
MAX_HEADER_BYTES = 2**20
DTYPES = frozenset("|b1 |u1 |i1 <u2 <i2 <i4 <u4 <i8 <f2 <f4 <f8".split())
# A page calling another instance as its backend sends the token that instance serves it with.
TOKEN_ENV = "SGCOND_BACKEND_TOKEN"
TOKEN_HEADER = "x-sgcond-token"
MIN_TOKEN = 16  # characters: a token is a secret, not a password someone guesses


def backend_token(env: dict | None = None) -> str:
    """The shared token from the environment, checked: without one, serving as a backend is refused."""
    token = (os.environ if env is None else env).get(TOKEN_ENV, "").strip()
    if len(token) < MIN_TOKEN or not token.isascii() or not token.isprintable():
        raise BadInput(f"serving as a backend needs {TOKEN_ENV}: a secret of at least {MIN_TOKEN} printable ASCII "
                       "characters, set on this instance and on the page that calls it "
                       "(python -c 'import secrets; print(secrets.token_urlsafe(24))')")
    return token


def to_arrays(result: Result) -> tuple[dict, dict[str, np.ndarray]]:
    """The result as a JSON-able header and named arrays (npz here, safetensors for a read picture)."""
    arrays = {"segmentation": result.segmentation, "depth": result.depth, "sketch": result.sketch,
              "image": result.image}
    for k, c in enumerate(result.candidates):
        arrays[f"candidate{k}_segmentation"] = c.segmentation
        if c.depth is not None:
            arrays[f"candidate{k}_depth"] = c.depth
    if result.picture_reading is not None:
        arrays["picture_reading"] = result.picture_reading
    for key, value in result.state.items():
        arrays[f"state_{key}"] = np.asarray(value)
    header = {"format": FORMAT, "backend": result.backend, "graph": result.graph.to_sg2im(), "seed": result.seed,
              "options": result.options.to_json(), "chosen": result.chosen, "seconds": result.seconds,
              "resolution": result.resolution, "candidates": [c.seed for c in result.candidates],
              "state": sorted(result.state), "notes": list(result.notes), "familiarity": result.familiarity,
              "confidence": list(result.confidence), "vocabulary": result.vocabulary}
    return header, arrays


def to_bytes(result: Result) -> bytes:
    header, arrays = to_arrays(result)
    buf = io.BytesIO()
    np.savez_compressed(buf, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)
    return buf.getvalue()


def _declared(fp, what: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype an .npy stream declares (its header only is read), checked against the
    limits; fp is left at the start of the data."""
    fmt = np.lib.format
    version = fmt.read_magic(fp)
    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    shape, _, dtype = read(fp, max_header_size=4096)
    if dtype.str not in DTYPES:
        raise BadInput(f"{what}: arrays of {dtype} are not something this app writes")
    if len(shape) > 6 or any(n > MAX_SIDE for n in shape):
        raise BadInput(f"{what}: an array of shape {shape}"[:200] + f" is larger than this app writes (at most "
                       f"{MAX_SIDE} along an axis)")
    nbytes = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if nbytes > MAX_ARRAY_BYTES:
        raise BadInput(f"{what}: an array of {nbytes / 2**20:.0f} MiB; at most {MAX_ARRAY_BYTES // 2**20} MiB")
    return shape, dtype


def read_npz(data: bytes, what: str = "a result") -> dict[str, np.ndarray]:
    """The arrays of an .npz, each read only after every member's declared size was checked."""
    if len(data) > MAX_BYTES:
        raise BadInput(f"{what} is at most {MAX_BYTES // 2**20} MiB")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = z.infolist()
            if len(members) > MAX_MEMBERS:
                raise BadInput(f"{what} holds {len(members)} arrays; at most {MAX_MEMBERS}")
            total = 0
            for info in members:
                if not info.filename.endswith(".npy"):
                    raise ValueError("a member that is no .npy")
                with z.open(info) as fp:
                    shape, dtype = _declared(fp, what)
                total += int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                if total > MAX_UNPACKED_BYTES:
                    raise BadInput(f"{what} unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MiB; "
                                   "this app never sends that much")
            arrays = {}
            for info in members:
                with z.open(info) as fp:
                    arrays[info.filename[:-4]] = np.lib.format.read_array(fp, allow_pickle=False)
            return arrays
    except BadInput:
        raise
    except Exception as e:  # bytes from elsewhere: whatever fails to parse them is the bytes' fault
        raise BadInput(f"{what} is not one this app wrote ({type(e).__name__})") from None


def from_bytes(data: bytes) -> Result:
    arrays = read_npz(data)
    try:
        raw = arrays.pop("header")
        if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > MAX_HEADER_BYTES:
            raise ValueError("no header")
        header = load_json(raw.tobytes().decode(), "a result's header")
        return from_arrays(header, arrays)
    except BadInput:
        raise
    except Exception as e:  # bytes from elsewhere: whatever fails to parse them is the bytes' fault
        raise BadInput(f"this is not a result this app wrote ({type(e).__name__})") from None


def _check_maps(arrays: dict[str, np.ndarray]) -> None:
    """The maps and the picture have the shapes and dtypes this app writes, no larger."""
    seg = arrays["segmentation"]
    if seg.ndim != 2 or seg.dtype != np.uint8 or not 1 <= min(seg.shape) <= max(seg.shape) <= MAX_MAP_SIDE:
        raise BadInput(f"a result's segmentation must be (H, W) uint8 of at most {MAX_MAP_SIDE} a side, not "
                       f"{seg.shape} {seg.dtype}"[:200])
    for name, arr in arrays.items():
        kind = name.rsplit("_", 1)[-1] if name.startswith("candidate") else name
        if kind in ("segmentation", "depth", "sketch") and arr.shape != seg.shape:
            raise BadInput(f"a result's {name} is {arr.shape}, its segmentation {seg.shape}"[:200])
        if kind in ("depth",) and (arr.dtype.kind != "f" or not np.isfinite(arr).all()):
            raise BadInput(f"a result's {name} must hold finite numbers")
    reading = arrays.get("picture_reading")
    if reading is not None and (reading.shape != seg.shape or reading.dtype != np.uint8):
        raise BadInput(f"a result's picture reading must be uint8 {seg.shape}, not {reading.shape} "
                       f"{reading.dtype}"[:200])
    image = arrays["image"]
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or max(image.shape[:2]) > MAX_MAP_SIDE:
        raise BadInput(f"a result's image must be (H, W, 3) uint8 of at most {MAX_MAP_SIDE} a side")


def _familiarity(value: object) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("familiarity")
    return {"score": float(value["score"]), "threshold": float(value["threshold"]),
            "familiar": bool(value["familiar"])}


def _vocabulary(name: object):
    from ..graph.vocabularies import NAMES, load

    if name not in NAMES:
        raise ValueError("vocabulary")
    return load(name)


def from_arrays(header: dict, arrays: dict[str, np.ndarray]) -> Result:
    try:
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError(f"format {header.get('format')!r}" if isinstance(header, dict) else "no header")
        _check_maps(arrays)
        g = header["graph"]
        graph = SceneGraph.build([(o, ()) if isinstance(o, str) else (o["label"], tuple(o["attributes"]))
                                  for o in g["objects"]], [tuple(r) for r in g["relationships"]])
        depth = arrays["depth"]
        vocabulary = _vocabulary(header.get("vocabulary", "tiny"))

        def judged(seg, d):
            from ..graph import judge

            return judge.judge(graph.labels, graph.triples(), seg, d, vocabulary=vocabulary)

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
                      tuple(str(line) for line in header.get("notes", ())), _familiarity(header.get("familiarity")),
                      tuple(float(c) for c in header.get("confidence", ()))[:len(graph.objects)], vocabulary.name,
                      arrays.get("picture_reading"))
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
    """One .npy array (as `array_to_text` writes it), its declared size checked before it is read."""
    fp = io.BytesIO(from_text(text, what))
    try:
        _declared(fp, what)
        fp.seek(0)
        return np.lib.format.read_array(fp, allow_pickle=False)
    except BadInput:
        raise
    except Exception as e:
        raise BadInput(f"{what} is not an array this app wrote (.npy; {type(e).__name__})") from None
