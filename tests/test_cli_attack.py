"""The command line and the readers of bytes from outside, as an attacker meets them: every file and
value an outside probe found to end in a traceback or to take gigabytes is refused in one line,
exit code 2, from what it declares; then generated command lines (hypothesis) answer with 0 or one
clear line, never a traceback.
"""

from __future__ import annotations

import base64
import io
import json
import os
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from sgcond_app.backends import Options, wire
from sgcond_app.bench.attack import npy_header, npz_bomb, npz_members, plain_zip
from sgcond_app.cli import main
from sgcond_app.errors import BadInput
from sgcond_app.inputs import check_text, load_json
from sgcond_app.results import STATE_FILE, load_state
from sgcond_app.world import classes
from tests.test_bad_input import refused

# --- an edit of a folder whose inversion.safetensors is not what `read` wrote -------------------------


def _safetensors_header(n: int) -> bytes:
    return struct.pack("<Q", n)


STATES = {
    "empty": b"",
    "truncated": _safetensors_header(200) + b'{"a": {"dtype": "F32", "shape": [10], ',
    "garbage": bytes(range(256)) * 20,
    "a huge header": _safetensors_header(2**40) + b"{}",
    "a header larger than the file": _safetensors_header(10_000) + b"{}" + b" " * 100,
    "a tensor declaring more than it holds": (lambda h: _safetensors_header(len(h)) + h + bytes(16))(
        json.dumps({"a": {"dtype": "F32", "shape": [4096, 4096], "data_offsets": [0, 16]}}).encode()),
    "a tensor declaring gigabytes": (lambda h: _safetensors_header(len(h)) + h + bytes(16))(
        json.dumps({"a": {"dtype": "F32", "shape": [4096, 4096, 64], "data_offsets": [0, 4 * 4096 * 4096 * 64]}})
        .encode()),
    "JSON nested 10,000 deep": (lambda h: _safetensors_header(len(h)) + h)(b"[" * 10_000 + b"]" * 10_000),
}


@pytest.mark.parametrize("kind", sorted(STATES))
def test_edit_of_a_folder_with_a_broken_state_file_is_one_line(capsys, tmp_path, kind):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / STATE_FILE).write_bytes(STATES[kind])
    line = refused(capsys, "edit", tmp_path / "r", "--out", tmp_path / "o", "--op", "delete:3,3")
    assert STATE_FILE in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("target", ["another file", "a device", "a folder"])
def test_edit_of_a_state_file_that_links_elsewhere_is_one_line(capsys, tmp_path, target):
    (tmp_path / "r").mkdir()
    other = {"another file": tmp_path / "report.json", "a device": "/dev/zero", "a folder": tmp_path}[target]
    if target == "another file":
        (tmp_path / "report.json").write_text('{"objects": ["sky"]}' * 100)
    os.symlink(other, tmp_path / "r" / STATE_FILE)
    refused(capsys, "edit", tmp_path / "r", "--out", tmp_path / "o", "--op", "delete:3,3")


def test_read_of_a_5000_character_path_is_one_line(capsys, tmp_path):
    line = refused(capsys, "read", "p" * 5000 + ".png", "--out", tmp_path / "o")
    assert len(line) < 400


@pytest.fixture(scope="module")
def read_folder(tmp_path_factory):
    """A folder `read` wrote, of a tiny-world render."""
    from sgcond_app.world.sample import render_sample

    work = tmp_path_factory.mktemp("read")
    Image.fromarray(render_sample(1_000_000_321, 128).image).save(work / "scene.png")
    assert main(["read", str(work / "scene.png"), "--out", str(work / "r"), "--steps", "4"]) == 0
    return work / "r"


def test_edit_with_bytes_that_are_not_utf8_in_its_concepts_is_one_line(capsys, tmp_path, read_folder):
    concept = os.fsdecode(b"-\xff")  # what Python makes of a byte that is not UTF-8 in argv: a lone surrogate
    assert "surrogate" in refused(capsys, "edit", read_folder, "--out", tmp_path / "o", f"--concept={concept}")
    assert "control character" in refused(capsys, "edit", read_folder, "--out", tmp_path / "o", "--concept=-car\x1b")
    assert not (tmp_path / "o").exists()


# --- check on a segmentation far larger than any map ------------------------------------------------


def _check_noise(capsys, tmp_path, side: int, seed: int) -> tuple[str, int]:
    """`check` of a noise PNG of side x side pixels: (the line it refused it with, peak traced bytes)."""
    rng = np.random.default_rng(seed)
    path = tmp_path / "seg.png"
    Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(path, compress_level=0)
    graph = tmp_path / "g.json"
    graph.write_text('{"objects": ["sky", "grass"], "relationships": [[0, "above", 1]]}')
    tracemalloc.start()
    try:
        return refused(capsys, "check", graph, path), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_check_of_a_30_mb_segmentation_is_refused_from_its_header(capsys, tmp_path):
    line, peak = _check_noise(capsys, tmp_path, 3200, 0)  # 30.7 MB
    assert "2048" in line and peak < 100e6, (line, peak)  # the file is read, not decoded


def test_check_of_a_noisy_map_at_the_largest_size_stays_within_memory(capsys, tmp_path):
    """2048x2048 of noise: 4 million colours, each read as its nearest class a slice at a time
    (all pixels against all classes at once held 6.9 GB)."""
    line, peak = _check_noise(capsys, tmp_path, 2048, 1)
    assert "not class colours" in line and peak < 600e6, (line, peak)


def test_a_noisy_map_is_read_as_the_nearest_classes_as_before():
    rng = np.random.default_rng(2)
    seg = rng.integers(0, classes.NUM_CLASSES, (64, 64)).astype(np.uint8)
    rgb = np.clip(classes.colorize(seg).astype(int) + rng.integers(-3, 4, (64, 64, 3)), 0, 255).astype(np.uint8)
    assert (classes.decolorize(rgb, tolerance=24) == seg).mean() > 0.99


# --- the readers of bytes from outside --------------------------------------------------------------


def test_an_npz_is_refused_by_what_its_members_declare_before_any_is_unpacked():
    bomb = npz_bomb(2**28)
    assert len(bomb) < 1e6
    tracemalloc.start()
    try:
        with pytest.raises(BadInput, match="larger than this app writes"):
            wire.from_bytes(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20e6, peak
    with pytest.raises(BadInput, match="at most 128"):
        wire.from_bytes(npz_members(500))
    with pytest.raises(BadInput, match="not one this app wrote"):
        wire.from_bytes(plain_zip())
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as z:  # ten arrays of 24 MiB: each allowed, together too much
        for k in range(10):
            z.writestr(f"a{k}.npy", npy_header((3, 2048, 4096)))
    with pytest.raises(BadInput, match="unpacks to more than"):
        wire.read_npz(many.getvalue())


def test_a_result_of_maps_larger_than_the_app_writes_is_refused():
    from sgcond_app.graph.scene_graph import SceneGraph

    g = SceneGraph.build([("sky", ()), ("grass", ())], [(0, "above", 1)])
    header = {"format": wire.FORMAT, "backend": "tiny", "graph": g.to_sg2im(), "seed": 0, "options": {},
              "chosen": 0, "seconds": {}, "resolution": {}, "candidates": [], "state": []}
    big = np.zeros((2048, 2048), np.uint8)
    arrays = {"segmentation": big, "depth": big.astype(np.float32), "sketch": big,
              "image": np.zeros((64, 64, 3), np.uint8)}
    with pytest.raises(BadInput, match="at most 1024 a side"):
        wire.from_arrays(header, arrays)


def test_an_array_sent_as_text_must_be_one_npy_of_a_size_the_app_writes():
    with pytest.raises(BadInput, match="larger than this app writes"):
        wire.array_from_text(base64.b64encode(npy_header((40000, 40000)) + bytes(16)).decode())
    with pytest.raises(BadInput, match="not an array this app wrote"):
        wire.array_from_text(base64.b64encode(plain_zip()).decode())
    with pytest.raises(BadInput, match="not something this app writes"):
        wire.array_from_text(base64.b64encode(npy_header((2,), "|O")).decode())
    ok = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert (wire.array_from_text(wire.array_to_text(ok)) == ok).all()


def test_options_from_outside_are_checked_by_type_and_size():
    for bad in ({"samples": 10**9}, {"samples": "9" * 5000}, {"steps": {"image": [1]}}, {"steps": {"x": 1}},
                {"prompt": "a\ud800"}, {"prompt": "x" * 5000}, {"only_named": "yes"}, {"scheduler": None},
                {"guidance": {"image": float("nan")}}, {"condition_scales": []}):
        with pytest.raises(BadInput, match="option"):
            Options.from_json(bad)
    o = Options(samples=3, steps={"image": 10}, guidance={"image": 2.0}, prompt="a red car",
                condition_scales={"depth": 0.5})
    assert Options.from_json(json.loads(json.dumps(o.to_json()))) == o


def test_json_from_outside_is_refused_when_nested_deep_or_not_text():
    with pytest.raises(BadInput, match="nested more than"):
        load_json("[" * 40 + "]" * 40, "x")
    assert load_json(json.dumps(["[" * 42 + '\\"{']), "x") == ["[" * 42 + '\\"{']  # inside a string: no depth
    with pytest.raises(BadInput, match="thousands of digits"):
        load_json("9" * 5000, "x")
    with pytest.raises(BadInput, match="surrogate"):
        load_json('["\\ud800"]', "x")
    with pytest.raises(BadInput, match="control character"):
        check_text("a\x1bb", "x")
    assert check_text("a\tb é 中", "x") == "a\tb é 中"


def test_a_state_file_this_app_wrote_is_read_back(tmp_path):
    from sgcond_app.backends import get_backend
    from sgcond_app.graph.parse import parse_graph_text
    from sgcond_app.results import save_state

    graph = parse_graph_text("sky above grass; dog on grass")[0]
    fast = {"segmentation": 4, "depth": 3, "sketch": 3, "image": 4}
    result = get_backend("tiny").generate(graph, 1, Options(samples=2, steps=fast))
    save_state(tmp_path / STATE_FILE, result)
    back = load_state(tmp_path)
    assert (back.segmentation == result.segmentation).all() and back.graph.labels == result.graph.labels


# --- generated command lines ----------------------------------------------------------------------

WORDS = st.one_of(st.text(max_size=20), st.sampled_from(
    ["", "-", "--out", "--op", "move:1,1,2,2", "delete:x", "--concept=-car", "--concept=+\udcff", "--json",
     "--steps", "0", "-1", "9" * 400, "nan", "--seed", "99999999999999999999", "p" * 5000, "/dev/zero", "/",
     "/etc/passwd", "\x1b[2J", "a\nb", "--inversion", "ddxm", "--graph", "{", "[[[[[[", "\udcff"]))
COMMANDS = st.sampled_from(["parse", "check", "edit", "read", "palette", "synth"])


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=COMMANDS, words=st.lists(WORDS, max_size=6))
def test_any_command_line_is_done_or_refused_in_one_line(capsys, tmp_path_factory, command, words):
    if command == "synth":  # synth writes what it is asked for: keep its count small
        words = ["--n", "1", "--size", "32"] + [w for w in words if w not in ("--n", "--size")]
    out = tmp_path_factory.mktemp("cli")
    argv = [command, *words, "--out", str(out / "o")] if command in ("edit", "read", "synth") else [command, *words]
    try:
        code = main(argv)
    except SystemExit as e:  # argparse: a usage line and exit 2
        code = e.code
    _, err = capsys.readouterr()
    assert code in (0, 2), f"{argv!r}: exit {code}: {err[-2000:]}"
    assert "Traceback" not in err
    if code == 2 and err.startswith("error: "):
        assert len(err.strip().splitlines()) == 1, err


def test_a_prompt_that_reaches_the_tokenizer_is_plain_text():
    from sgcond_app.backends.sd.prompt import for_request
    from sgcond_app.graph.mapping import map_graph
    from sgcond_app.graph.parse import parse_graph_text

    mapped = map_graph(parse_graph_text("sky above grass; dog on grass")[0])
    for bad in ("a dog\udcff", "a dog\x1b[2J", "x" * 3000):
        with pytest.raises(BadInput, match="prompt"):
            for_request(mapped, bad)
    with pytest.raises(BadInput, match="negative prompt"):
        for_request(mapped, "a dog", "blur\x00")
    assert for_request(mapped, "a dog on the grass")[0] == "a dog on the grass"


def test_a_control_character_pasted_in_the_page_is_a_warning_and_the_page_keeps_what_it_showed():
    """The page's own events leave control characters to their handlers (the API's are refused before
    them): "Use text" with an escape character pasted from a terminal warns in one line, every output kept
    (a form feed pasted from a PDF is a line break to the parser, as to str.splitlines)."""
    import warnings

    import gradio as gr

    from sgcond_app.ui.graph_room import from_text
    from sgcond_app.ui.page import on_page
    from sgcond_app.ui.state import Studio
    from sgcond_app.ui.wiring import bound

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        out = on_page(4)(bound(from_text, Studio()))("dog near tree\x1b[0m; sky above grass", None, None)
    assert out == tuple(gr.skip() for _ in range(4))
    said = [str(w.message) for w in seen]
    assert any("control character" in m and "\\x1b" in m and "\x1b" not in m for m in said), said
