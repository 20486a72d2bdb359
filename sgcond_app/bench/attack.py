"""`python -m sgcond_app bench attack [--n 2000]`: the API as an attacker meets it.

`python app.py --serve-backend` runs in a child process (`app_process.AppProcess`); every API
endpoint it lists is called over plain HTTP (`/gradio_api/call/NAME`, its answer read as the event
stream a client reads), with values drawn by hypothesis strategies for each argument: numbers of
every size, text with lone surrogates and control characters, JSON nested 10,000 deep, file objects
that name URLs, paths never uploaded and data: URLs, results that are .npz bombs (a megabyte that
unpacks to a gigabyte), hundreds of members, zips that are no .npz, too few and too many values,
and for the backend's endpoints the right token, none, or a wrong one. Before them, the cases an
outside probe found (`NAMED`), each by name.

Each answer is one of OUTCOMES: accepted (the work was done), refused (one clear line), internal
(an internal error), generic (no message, or not one line), cutoff (the stream ended with neither
an answer nor an error) or hung (no end within CALL_TIMEOUT_S). The server's resident memory is read
after every call; its peak is reported above its level after a warm-up of real work.

It needs the test requirements (hypothesis). It prints numbers; the tests assert on the same run
(tests/test_attack.py).
"""

from __future__ import annotations

import base64
import io
import json
import secrets
import struct
import tempfile
import time
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .app_process import AppProcess

OUTCOMES = ("accepted", "refused", "internal", "generic", "cutoff", "hung")
CALL_TIMEOUT_S = 120.0
MAX_MESSAGE = 600  # characters: a message longer than this is no clear line
GRAPH = "sky above grass; red car on grass; tree left of red car"
SG2IM = json.dumps({"objects": ["sky", "grass", "dog"], "relationships": [[0, "above", 1], [2, "on", 1]]})


# --- talking to the app as any HTTP client does ---------------------------------------------------


@dataclass
class Outcome:
    kind: str  # one of OUTCOMES
    endpoint: str
    message: str | None = None
    seconds: float = 0.0
    data: object = None  # an accepted call's answer (its outputs)


class Caller:
    """Plain HTTP to a running app: its endpoints, uploads, and calls read to their end."""

    def __init__(self, url: str, token: str | None = None, timeout_s: float = CALL_TIMEOUT_S):
        import httpx

        self.url, self.token, self.timeout_s = url.rstrip("/"), token, timeout_s
        self.http = httpx.Client(timeout=httpx.Timeout(timeout_s, connect=10.0))

    def close(self) -> None:
        self.http.close()

    def endpoints(self) -> dict[str, list[str]]:
        """API name -> its parameters' names, as the app's API page lists them."""
        info = self.http.get(f"{self.url}/gradio_api/info").json()["named_endpoints"]
        return {name.lstrip("/"): [p["parameter_name"] for p in e["parameters"]] for name, e in info.items()}

    def upload(self, data: bytes, name: str) -> dict:
        """A file uploaded as the page and gradio_client upload it; the file object that names it."""
        r = self.http.post(f"{self.url}/gradio_api/upload", files={"files": (name, data)})
        r.raise_for_status()
        return {"path": r.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}

    def call(self, api: str, data: object, token: str | None = "", body: bytes | None = None) -> Outcome:
        """Call `api` with `data` (the list of values; anything else is sent as it is), or a raw
        `body`; `token`: "" the right one, None none, else that one."""
        import httpx

        headers = {"content-type": "application/json"}
        sent = self.token if token == "" else token
        if sent is not None:
            headers["x-sgcond-token"] = sent
        start = time.perf_counter()
        if body is None:
            body = json.dumps({"data": data}, allow_nan=True).encode("utf-8", "surrogatepass")
        try:
            r = self.http.post(f"{self.url}/gradio_api/call/{api}", content=body, headers=headers)
            if r.status_code != 200:
                kind = "refused" if 400 <= r.status_code < 500 and r.text else "internal"
                return Outcome(kind, api, f"HTTP {r.status_code}: {r.text[:200]}", time.perf_counter() - start)
            event_id = r.json()["event_id"]
            return self._answer(api, event_id, start)
        except httpx.TimeoutException:
            return Outcome("hung", api, None, time.perf_counter() - start)

    def _answer(self, api: str, event_id: str, start: float) -> Outcome:
        event = None
        with self.http.stream("GET", f"{self.url}/gradio_api/call/{api}/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    seconds = time.perf_counter() - start
                    try:
                        data = json.loads(line[5:])
                    except json.JSONDecodeError:
                        return Outcome("cutoff", api, line[:200], seconds)
                    if event == "complete":
                        return Outcome("accepted", api, None, seconds, data)
                    return Outcome(_error_kind(data), api, _message(data), seconds)
        return Outcome("cutoff", api, None, time.perf_counter() - start)


def _message(data: object) -> str | None:
    return data.get("error") if isinstance(data, dict) else data if isinstance(data, str) else None


def _error_kind(data: object) -> str:
    message = _message(data)
    if not isinstance(message, str) or not message.strip() or "\n" in message or len(message) > MAX_MESSAGE:
        return "generic"
    if message.startswith("internal error") or "Traceback" in message:
        return "internal"
    return "refused"


# --- bytes that are not what they say ------------------------------------------------------------


def npy_header(shape: tuple[int, ...], dtype: str = "|u1") -> bytes:
    """The header of an .npy file (format 1.0) declaring shape and dtype."""
    text = repr({"descr": dtype, "fortran_order": False, "shape": tuple(shape)}).encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def npz_bomb(unpacked: int = 2**30, name: str = "image") -> bytes:
    """An .npz whose one member holds `unpacked` bytes of zeros (a megabyte or so, compressed)."""
    side = int(unpacked ** 0.5)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z, z.open(f"{name}.npy", "w", force_zip64=True) as f:
        f.write(npy_header((side, side)))
        chunk = bytes(2**24)
        left = side * side
        while left > 0:
            f.write(chunk[:min(left, len(chunk))])
            left -= len(chunk)
    return buf.getvalue()


def npz_members(count: int = 2000) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for k in range(count):
            z.writestr(f"a{k}.npy", npy_header((4,)) + bytes(4))
    return buf.getvalue()


def plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "not arrays")
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG signature and header declaring width x height, and no pixels: ~70 bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass
class Material:
    """What the cases are made of: built once per run (the bomb takes seconds to pack: `Attack.start`
    packs it while the app starts)."""

    bomb: str = ""  # base64 of npz_bomb()
    members: str = ""
    zip: str = ""
    npy_lie: str = ""  # an .npy that declares 40000x40000 and holds 16 bytes
    result: str = ""  # a real result, from backend_generate (empty until the warm-up made one)
    files: dict[str, dict] = field(default_factory=dict)  # uploaded: name -> file object

    @staticmethod
    def packed() -> tuple[str, str, str, str]:
        """The blobs (bomb, members, zip, npy_lie), which need no app."""
        return b64(npz_bomb()), b64(npz_members()), b64(plain_zip()), b64(npy_header((40000, 40000)) + bytes(16))

    @classmethod
    def build(cls, caller: Caller, packed: tuple[str, str, str, str] | None = None) -> Material:
        from PIL import Image

        m = cls(*(packed or cls.packed()))
        picture = io.BytesIO()
        Image.new("RGB", (96, 96), (40, 140, 60)).save(picture, "PNG")
        for name, data in (("picture.png", picture.getvalue()), ("bomb.png", png_header_only(60000, 60000)),
                           ("garbage.png", secrets.token_bytes(3000)), ("graph.json", SG2IM.encode()),
                           ("deep.json", b"[" * 10_000 + b"]" * 10_000)):
            m.files[name] = caller.upload(data, name)
        return m


# --- the cases -----------------------------------------------------------------------------------


def named_cases(m: Material) -> list[tuple[str, str, list, str | None]]:
    """The cases an outside probe found, each (name, endpoint, values, token: "" the right one,
    None none). Each must be refused in one clear line, and none may hold the server's memory."""
    bomb_result, surrogate = m.bomb, "\ud800"

    def uploaded(name: str) -> dict:
        return m.files.get(name, {"path": name})

    not_uploaded = {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}
    url = {"path": "http://sgcond-attack.invalid/picture.png", "meta": {"_type": "gradio.FileData"}}
    data_url = {"path": None, "url": "data:image/png;base64," + b64(png_header_only(60000, 60000)),
                "meta": {"_type": "gradio.FileData"}}
    cases = [
        ("npz bomb to backend_rerun", "backend_rerun", [bomb_result, "", "depth", "", "", ""], ""),
        ("npz bomb to backend_choose", "backend_choose", [bomb_result, "1"], ""),
        ("npz bomb to backend_invert", "backend_invert", [bomb_result, "ddpm", "8"], ""),
        ("npz bomb to backend_steer", "backend_steer", [bomb_result, m.npy_lie, "1.0", ""], ""),
        ("npz bomb without the token", "backend_rerun", [bomb_result, "", "depth", "", "", ""], None),
        ("npz of 2000 members", "backend_choose", [m.members, "0"], ""),
        (".npy declaring 1.6 GB as a segmentation", "backend_rerun",
         [m.result or bomb_result, m.npy_lie, "depth", "", "", ""], ""),
        (".npy declaring 1.6 GB as an edited depth", "backend_rerun",
         [m.result or bomb_result, "", "sketch", "", m.npy_lie, ""], ""),
        ("a stroke of 10,000 points", "edit_sketch", [",".join(["1"] * 20_000), False], ""),
        ("a lone surrogate as a stroke", "edit_sketch", [f"1,1,{surrogate},2", False], ""),
        ("a zip that is no .npz to backend_steer", "backend_steer", [m.result or m.zip, m.zip, "1.0", ""], ""),
        ("options of 5000 digits", "backend_generate", [SG2IM, "1", "9" * 5000], ""),
        ("options asking a billion candidates", "backend_generate", [SG2IM, "1", '{"samples": 1000000000}'], ""),
        ("no token to backend_generate", "backend_generate", [SG2IM, "1", ""], None),
        ("a wrong token to backend_capabilities", "backend_capabilities", [], "not-the-token-0123456789"),
        ("a lone surrogate in concept words", "apply_concepts", [f"-car{surrogate}"], ""),
        ("a lone surrogate as the backend choice", "generate", [GRAPH, 1, 1, surrogate, "", ""], ""),
        ("a lone surrogate as rerun's what", "rerun", [surrogate], ""),
        ("a lone surrogate as edit's operation", "edit_mask", [surrogate, 1, 1, 8, ""], ""),
        ("a lone surrogate as sample's size", "sample", [1, surrogate], ""),
        ("a control character in a graph", "parse", ["dog\x1b[31m near tree"], ""),
        ("too few values", "edit_mask", ["move_right", 1], ""),
        ("too many values", "parse", [GRAPH, 1, 2], ""),
        ("no list of values", "parse", {"text": GRAPH}, ""),
        ("a file object where text is expected", "parse", [uploaded("graph.json")], ""),
        ("a file not uploaded by a user", "read_picture", [not_uploaded, 1, "tiny"], ""),
        ("a URL as a picture", "read_picture", [url, 1, "tiny"], ""),
        ("a data: URL as a picture", "read_picture", [data_url, 1, "tiny"], ""),
        ("a PNG declaring 60000x60000", "read_picture", [uploaded("bomb.png"), 1, "tiny"], ""),
        ("bytes that are no picture", "read_picture", [uploaded("garbage.png"), 1, "tiny"], ""),
        ("JSON nested 10,000 deep", "parse", ["[" * 10_000 + "]" * 10_000], ""),
        ("text where a picture is expected", "read_picture", ["picture.png", 1, "tiny"], ""),
        ("a request body of 60 MB", "parse", ["dog near tree; " * 4_000_000], ""),
    ]
    return cases


def _strategies(endpoints: dict[str, list[str]], m: Material):
    """A hypothesis strategy of (endpoint, values, token) over every endpoint the app lists."""
    from hypothesis import strategies as st

    special = ["", " ", "\ud800", "\udcff", "\x00", "\x1b[31m", "9" * 5000, "[" * 3000 + "]" * 3000, "null", "{}",
               "[]", "nan", "-1", "1e309", "0x10", "٣", "../../etc/passwd", "http://sgcond-attack.invalid/x.png",
               "data:image/png;base64,AAAA", GRAPH, SG2IM, "a" * 20_000, "dog near tree\n" * 2000]
    texts = st.one_of(st.text(max_size=40), st.sampled_from(special))
    numbers = st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
                        st.sampled_from([0, 1, 63, 64, 128, 2**32, -(2**31)]))
    uploaded = [m.files[k] for k in sorted(m.files)]
    files = st.one_of(st.sampled_from(uploaded), st.builds(
        lambda path, meta: {"path": path, **({"meta": {"_type": "gradio.FileData"}} if meta else {})},
        st.sampled_from(["/etc/passwd", "http://sgcond-attack.invalid/a.png", "//sgcond-attack.invalid/a",
                         "file:///etc/passwd", "../../../etc/passwd", "", "\ud800"]), st.booleans()))
    blobs = st.sampled_from([x for x in (m.bomb, m.members, m.zip, m.npy_lie, m.result, m.result[:-8] + "AAAAAAA=")
                             if x])
    options = st.one_of(st.sampled_from(['{"samples": 2}', '{"samples": 1e9}', '{"steps": {"image": "x"}}',
                                         '{"prompt": "\\ud800"}', '{"guidance": {"image": [1]}}', '"x"',
                                         '{"scheduler": null}', '{"only_named": 1}']), texts)
    small = st.one_of(st.none(), st.booleans(), numbers, texts)
    anything = st.one_of(small, files, st.lists(small, max_size=3),
                         st.dictionaries(st.sampled_from(["path", "url", "meta", "x", "orig_name"]), small, max_size=3))
    by_name = {"result": st.one_of(blobs, anything), "segmentation": st.one_of(blobs, anything),
               "segmentations": st.one_of(blobs, anything), "picture": st.one_of(blobs, anything),
               "path": st.one_of(files, anything), "options": options, "graph": texts, "text": texts,
               "what": st.one_of(st.sampled_from(["depth", "sketch", "image", "segmentation"]), anything),
               "operation": st.one_of(st.sampled_from(["move_right", "resize", "paste", "undo", "explode"]), anything),
               "choice": st.one_of(st.sampled_from(["tiny", "sd"]), anything),
               "inversion": st.one_of(st.sampled_from(["ddpm", "ddim"]), anything),
               "size": st.one_of(st.sampled_from([64, "128", 256, 100]), anything),
               "scales": st.one_of(st.sampled_from(["1.0", "1,2", "nan", "1e400"]), anything),
               "words": st.one_of(st.sampled_from(["+car", "-dog:2", "+\ud800"]), anything)}
    names = sorted(endpoints)

    @st.composite
    def case(draw):
        api = draw(st.sampled_from(names))
        values = [draw(by_name.get(p, anything)) for p in endpoints[api]]
        count = draw(st.sampled_from(["exact"] * 8 + ["fewer", "more"]))
        if count == "fewer" and values:
            values = values[:draw(st.integers(0, len(values) - 1))]
        elif count == "more":
            values = values + [draw(anything)]
        token = draw(st.sampled_from(["", "", "", None, "a-wrong-token-of-some-length"]))
        return api, values, token

    return case()


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Tally:
    counts: Counter = field(default_factory=Counter)
    by_endpoint: dict[str, Counter] = field(default_factory=dict)
    bad: list[str] = field(default_factory=list)  # the first few internal, generic, cut-off or hung answers
    rss_peak_mb: float = 0.0

    def add(self, o: Outcome, what: str) -> None:
        self.counts[o.kind] += 1
        self.by_endpoint.setdefault(o.endpoint, Counter())[o.kind] += 1
        if o.kind not in ("accepted", "refused") and len(self.bad) < 20:
            self.bad.append(f"{what}: {o.kind}: {_short(o.message)}")


class Attack:
    """The app started to serve its backend, a caller with its token, and the material of the cases."""

    def __init__(self, work: Path):
        self.token = secrets.token_urlsafe(24)
        self.app = AppProcess(work, ("--serve-backend",), env={"SGCOND_BACKEND_TOKEN": self.token})
        self.caller: Caller | None = None
        self.material: Material | None = None
        self.warm_rss_mb = 0.0

    def start(self) -> Attack:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:  # the bomb is packed (zlib, seconds) while the app starts
            packed = pool.submit(Material.packed)
            self.app.start()
            self.caller = Caller(self.app.url, self.token)
            self.material = Material.build(self.caller, packed.result())
        self.warm_up()
        return self

    def stop(self) -> None:
        if self.caller is not None:
            self.caller.close()
        self.app.stop()

    def warm_up(self) -> None:
        """Real work first (the models loaded, the word model too, each kind of request served once);
        its memory is the warm level. Growth after it: each call is a new Gradio session (the app
        keeps SGCOND_SESSIONS of them, ~0.6 MiB each)."""
        c, m = self.caller, self.material
        assert c is not None and m is not None
        made = c.call("backend_generate", [SG2IM, "1", '{"samples": 2}'])
        done = [e for e in made.data or () if isinstance(e, dict) and e.get("kind") == "done"]
        m.result = done[0]["result"] if done else ""
        # parse of a word neither the tiny world nor WordNet knows loads the word model (MiniLM) once;
        # "puppy" or "oak" no longer do, since the sentence parser finds them in WordNet.
        for api, values in (("generate", [GRAPH, 1, 2, "tiny", "", ""]), ("parse", ["a florp near a tree"]),
                            ("sample", [1, 64]),
                            ("read_picture", [m.files["picture.png"], 1, "tiny"]),
                            ("backend_choose", [m.result, "1"])):
            c.call(api, values)
        self.warm_rss_mb = self.app.rss_mb()

    def run_case(self, api: str, values: object, token: str | None, tally: Tally, what: str) -> Outcome:
        assert self.caller is not None
        o = self.caller.call(api, values, token)
        tally.add(o, what)
        tally.rss_peak_mb = max(tally.rss_peak_mb, self.app.rss_mb())
        return o

    def named(self, tally: Tally) -> dict[str, Outcome]:
        assert self.material is not None
        return {name: self.run_case(api, values, token, tally, name)
                for name, api, values, token in named_cases(self.material)}

    def fuzz(self, n: int, tally: Tally, seed: int = 0) -> None:
        """n cases drawn by the strategies (derandomized by `seed`: the same run twice)."""
        from hypothesis import HealthCheck, given, settings
        from hypothesis import seed as hseed

        assert self.caller is not None and self.material is not None
        strategy = _strategies(self.caller.endpoints(), self.material)

        @hseed(seed)
        @settings(max_examples=n, deadline=None, database=None, phases=["generate"],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def one(case) -> None:
            api, values, token = case
            self.run_case(api, values, token, tally, f"{api}({_short(values)})")

        one()


def _short(values: object) -> str:
    text = ascii(values)
    return text if len(text) < 160 else text[:157] + "..."


def run(n: int = 2000) -> dict:
    import shutil

    work = Path(tempfile.mkdtemp(prefix="sgcond-bench-attack-"))
    attack = Attack(work)
    start = time.perf_counter()
    try:
        attack.start()
        tally = Tally()
        named = attack.named(tally)
        attack.fuzz(n, tally)
        endpoints = sorted(attack.caller.endpoints()) if attack.caller else []
    finally:
        attack.stop()
        log = attack.app.log.read_text() if attack.app.log.exists() else ""
        shutil.rmtree(work, ignore_errors=True)
    total = sum(tally.counts.values())
    return {
        "cases": total,
        "named_cases": len(named),
        "named_refused_clearly": sum(o.kind == "refused" for o in named.values()),
        "named_not_refused": {k: f"{o.kind}: {o.message}"[:200] for k, o in named.items() if o.kind != "refused"},
        "fuzzed_cases": total - len(named),
        "endpoints": len(endpoints),
        **{k: tally.counts.get(k, 0) for k in OUTCOMES},
        "by_endpoint": {k: dict(v) for k, v in sorted(tally.by_endpoint.items())},
        "not_clear": tally.bad,
        "rss_warm_mb": round(attack.warm_rss_mb, 1),
        "rss_peak_mb": round(tally.rss_peak_mb, 1),
        "rss_peak_above_warm_mb": round(tally.rss_peak_mb - attack.warm_rss_mb, 1),
        "server_errors_logged": log.count(" ERROR "),
        "seconds": round(time.perf_counter() - start, 1),
    }
