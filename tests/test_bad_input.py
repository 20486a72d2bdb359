"""Bad input a tester found: each is refused with one clear line and exit code 2, never a traceback.

Every test here is a regression test of one case. The command line runs in this process
(`sgcond_app.cli.main`), so a refusal is asserted on its exit code and on what reached stderr.
"""

import io
import json
import math
import time

import numpy as np
import pytest
from PIL import Image, ImageFile

from sgcond_app.bench.attack import png_header_only  # a PNG declaring any size, with no pixels
from sgcond_app.cli import main
from sgcond_app.editing import masks as ed
from sgcond_app.errors import BadInput
from sgcond_app.graph import vocab
from sgcond_app.graph.parse import load_graphs, parse_graph_text
from sgcond_app.inputs import MAX_SEED, check_seed, seed_for
from sgcond_app.world import classes
from sgcond_app.world import io as picture_io


def refused(capsys, *args) -> str:
    """Run the command line; assert exit code 2 with one line on stderr and nothing on stdout.
    Returns that line."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert code == 2, f"exit {code}: {err}"
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert out == ""
    return lines[0]


@pytest.fixture
def graph(tmp_path):
    """A graph file of exact vocabulary words (no word model needed to map it)."""
    path = tmp_path / "G.json"
    path.write_text(json.dumps({"objects": ["sky", "grass", "tree"],
                                "relationships": [[0, "above", 1], [2, "on", 1]]}))
    return path


@pytest.fixture
def segmentation(tmp_path):
    seg = np.full((32, 32), classes.CLASS_ID["sky"], np.uint8)
    seg[16:] = classes.CLASS_ID["grass"]
    seg[6:20, 10:14] = classes.CLASS_ID["tree"]
    path = tmp_path / "seg.png"
    Image.fromarray(classes.colorize(seg)).save(path)
    return path


@pytest.fixture
def no_decoding(monkeypatch):
    """Make any attempt to decode pixels fail the test: a refusal must come from the header."""
    def load(self):
        raise AssertionError("pixels were decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", load)


# --- 1. pictures -------------------------------------------------------------------------------


def test_bomb_png_header_is_refused_before_decoding(capsys, tmp_path, graph, no_decoding):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(20000, 20000))
    assert bomb.stat().st_size < 100
    assert "2048" in refused(capsys, "check", graph, bomb)


def test_bomb_png_as_depth_is_refused_before_decoding(capsys, tmp_path, graph, segmentation):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(20000, 20000))
    assert "bomb.png" in refused(capsys, "check", graph, segmentation, "--depth", bomb)


def test_a_header_just_over_the_limits_is_refused_with_its_size(tmp_path, no_decoding):
    path = tmp_path / "wide.png"
    path.write_bytes(png_header_only(10000, 10000))  # Pillow itself only warns at this size
    with pytest.raises(BadInput, match="10000x10000 pixels; at most 2048 a side"):
        picture_io.read_segmentation(path)


def test_real_9000_pixel_png_is_refused_from_its_header(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    Image.new("L", (9000, 9000)).save(path)  # one colour: a small file, 81 MB of pixels
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("pixels were decoded"))
    with pytest.raises(BadInput, match="9000x9000 pixels"):
        picture_io.read_segmentation(path)


def test_a_file_over_the_byte_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(png_header_only(8, 8))
    with pytest.raises(BadInput, match="bytes; a picture is at most 10 bytes"):
        picture_io.open_picture(path, max_bytes=10)


def encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 48, 3), np.uint8)).save(buffer, fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("name, data", [
    ("not_a_picture.png", lambda: b"not a png at all"),
    ("empty.png", lambda: b""),
    ("truncated.png", lambda: encoded("PNG")[:3000]),
    ("truncated.jpg", lambda: encoded("JPEG")[:600]),
    ("other_format.ppm", lambda: encoded("PPM")),  # Pillow reads it; it is no format a person uploads
])
def test_non_pictures_and_truncated_pictures_are_refused(capsys, tmp_path, graph, name, data):
    path = tmp_path / name
    path.write_bytes(data())
    assert name in refused(capsys, "check", graph, path)


def test_open_picture_takes_the_bytes_of_an_upload():
    buffer = io.BytesIO()
    Image.new("RGB", (5, 3), (1, 2, 3)).save(buffer, "WEBP")
    img = picture_io.open_picture(buffer.getvalue(), name="upload.webp")
    assert img.size == (5, 3)
    with pytest.raises(BadInput, match="upload.gif: not a picture"):
        picture_io.open_picture(b"GIF89a\x01", name="upload.gif")


# --- 6. depth maps -----------------------------------------------------------------------------


@pytest.mark.parametrize("values, message", [
    (np.nan, "NaN or infinite"),
    (np.inf, "NaN or infinite"),
    (7.0, "values in 0..1, this one 7..7"),
    (-0.5, "values in 0..1"),
])
def test_float_depth_map_with_nan_or_out_of_range_values_is_refused(capsys, tmp_path, graph, segmentation,
                                                                   values, message):
    depth = tmp_path / "d.tiff"
    Image.fromarray(np.full((32, 32), values, np.float32), "F").save(depth)
    assert message in refused(capsys, "check", graph, segmentation, "--depth", depth)


def test_float_depth_map_in_0_1_is_read_as_it_is(tmp_path):
    depth = tmp_path / "d.tiff"
    Image.fromarray(np.full((4, 4), 0.25, np.float32), "F").save(depth)
    assert np.allclose(picture_io.read_depth(depth), 0.25)


def test_integer_depth_map_outside_16_bits_is_refused(tmp_path):
    depth = tmp_path / "d.tiff"
    Image.fromarray(np.full((4, 4), -3, np.int32), "I").save(depth)
    with pytest.raises(BadInput, match="0..65535"):
        picture_io.read_depth(depth)


# --- 2. graph text and JSON --------------------------------------------------------------------


def test_json_nested_10000_deep_is_refused(capsys, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 10_000 + "]" * 10_000)
    assert "nested" in refused(capsys, "parse", path)


def test_relationship_index_of_5000_digits_is_refused(capsys, tmp_path):
    path = tmp_path / "digits.json"
    path.write_text('{"objects": ["sky", "car"], "relationships": [[0, "above", ' + "1" * 5000 + "]]}")
    line = refused(capsys, "parse", path)
    assert "number" in line and len(line) < 200


def test_a_long_but_readable_index_is_quoted_short(capsys, tmp_path):
    path = tmp_path / "index.json"
    path.write_text('{"objects": ["sky", "car"], "relationships": [[0, "above", ' + "1" * 4000 + "]]}")
    line = refused(capsys, "parse", path)
    assert "out of range" in line and len(line) < 200


def test_lone_surrogate_in_a_label_is_refused(capsys, tmp_path):
    path = tmp_path / "surrogate.json"
    path.write_text('{"objects": ["\\ud800", "car"]}')
    assert "lone surrogate" in refused(capsys, "parse", path)


@pytest.mark.parametrize("graph_json", [
    {"objects": ["\x1b[31mcar"]},
    {"objects": [{"label": "car", "attributes": ["red\x1b[0m"]}]},
    {"objects": ["car", "tree"], "relationships": [[0, "left\x07of", 1]]},
    {"objects": ["car\u202e"]},  # a bidirectional override reorders what the terminal shows
    {"objects": ["car\x9b31m"]},  # a C1 control: one byte that starts an escape sequence
], ids=["label", "attribute", "predicate", "bidi-override", "c1-control"])
def test_control_characters_in_a_graph_are_refused_and_shown_escaped(capsys, tmp_path, graph_json):
    path = tmp_path / "control.json"
    path.write_text(json.dumps(graph_json))
    line = refused(capsys, "parse", path)
    assert "plain text" in line
    assert line.isprintable() and "\x1b" not in line


def test_control_characters_in_graph_text_are_refused_with_their_line(capsys, tmp_path):
    path = tmp_path / "control.txt"
    path.write_text("sky above grass\ncar \x1b[31mleft of tree\n")
    assert "line 2 holds the control character '\\x1b'" in refused(capsys, "parse", path)


def test_tabs_and_line_breaks_are_plain_text():
    (g,) = parse_graph_text("sky\tabove   grass\r\ncar on grass")
    assert g.triples() == [(0, "above", 1), (2, "on", 1)]


def test_ignored_keys_are_printed_escaped(capsys, tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"objects": ["sky"], "\x1b[2J": 1, "\ud800": 2}))
    assert main(["parse", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "'\\x1b[2J'" in out and "'\\ud800'" in out


@pytest.mark.parametrize("text, message", [
    ("red car left of blue tree\n" * 80_000, "at most 2000000"),  # 2 MB
    ("red car left of blue tree\n" * 60_000, "a text graph is at most 50000"),  # 1.5 MB
    ("red car left of blue tree\n" * 3_000, "a text graph is at most 50000"),  # 78 kB
    ("car left of tree\n" * 1_000, "1000 clauses"),
    ("car " * 150 + "left of tree", "at most 400"),
    ("a " * 199, "longer than 48 characters"),
    ("\n".join(f"car#{k % 12} near tree#{k % 12}" for k in range(65)), "more than 64 relations"),
], ids=["megabytes", "1.5-megabytes", "over-text-limit", "many-clauses", "long-clause", "long-predicate",
        "65-relations"])
def test_megabytes_of_graph_text_are_refused_in_milliseconds(text, message):
    start = time.perf_counter()
    with pytest.raises(BadInput, match=message):
        parse_graph_text(text)
    assert time.perf_counter() - start < 0.05


def test_a_graph_at_every_limit_is_within_the_text_limits():
    """64 relations, 24 objects of 8 attributes and 40-letter labels, comments: still parsed."""
    attrs = " ".join(sorted(vocab.ATTRIBUTES)[:8])
    lines = [f"# {'comment ' * 40}"]
    lines += [f"{attrs} {'x' * 40}#{k % 12} in front of {attrs} {'y' * 40}#{k % 12}" for k in range(64)]
    start = time.perf_counter()
    (g,) = parse_graph_text("\n".join(lines))
    assert len(g.objects) == 24 and len(g.relations) == 12  # 52 relations repeat one: kept once
    assert all(len(o.attributes) == 8 for o in g.objects)
    assert time.perf_counter() - start < 0.5


# --- 5. BOMs, JSON that is not a graph, text without names -----------------------------------


def test_utf8_bom_json_file_parses_as_json(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"objects": ["sky", "grass"],
                                                     "relationships": [[0, "above", 1]]}).encode())
    (g,) = load_graphs(path)
    assert g.triples() == [(0, "above", 1)]


@pytest.mark.parametrize("content", ["5", "null", '"sky"', "true", "sky above grass"])
def test_a_json_file_must_hold_a_graph_or_a_list_of_graphs(capsys, tmp_path, content):
    path = tmp_path / "g.json"
    path.write_text(content)
    line = refused(capsys, "parse", path)
    assert "g.json" in line and ("JSON" in line)


@pytest.mark.parametrize("content", ["5", "12; 7", "1 2 3", "--- ; 42"])
def test_a_text_graph_whose_labels_have_no_letters_is_refused(capsys, tmp_path, content):
    path = tmp_path / "g.txt"
    path.write_text(content)
    assert "no letters" in refused(capsys, "parse", path)


# --- 3. seeds ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [
    ["synth", "--n", "1"],
    ["generate", "GRAPH", "--steps", "1", "--samples", "1"],
    ["sheet", "--n", "1"],
])
@pytest.mark.parametrize("seed", ["-1", "4294967296", "1.5", "nan", "1e3", "seven"])
def test_negative_or_impossible_seed_is_refused(capsys, tmp_path, graph, command, seed):
    args = [str(graph) if a == "GRAPH" else a for a in command]
    out = tmp_path / ("sheet.png" if command[0] == "sheet" else "out")
    line = refused(capsys, *args, "--seed", seed, "--out", out)
    assert f"--seed must be a whole number from 0 to {MAX_SEED}" in line
    assert not out.exists()


@pytest.mark.parametrize("value", [0, 7, 7.0, "7", " 42 ", np.int64(3), MAX_SEED, float(MAX_SEED)])
def test_check_seed_accepts_whole_numbers_in_range(value):
    assert check_seed(value) == int(float(value)) and type(check_seed(value)) is int


@pytest.mark.parametrize("value", [-1, MAX_SEED + 1, True, False, 1.5, math.nan, math.inf, -math.inf, 1e300,
                                   "-1", "1e3", "", "0x10", "٣", "9" * 5000, None, [1], {"seed": 1}])
def test_check_seed_refuses_what_is_no_seed(value):
    with pytest.raises(BadInput, match=r"^seed must be a whole number from 0 to 4294967295, not .{1,24}$"):
        check_seed(value)


def test_seeds_of_a_list_wrap_past_max_seed_so_each_is_a_valid_seed(capsys, tmp_path):
    assert [seed_for(MAX_SEED - 1, k) for k in range(3)] == [MAX_SEED - 1, MAX_SEED, 0]
    assert main(["synth", "--n", "2", "--seed", str(MAX_SEED), "--size", "32", "--out", str(tmp_path)]) == 0
    seeds = [json.loads((tmp_path / f"{k:05d}" / "graph.json").read_text())["seed"] for k in range(2)]
    assert seeds == [MAX_SEED, 0]


def test_negative_factor_seed_offset_is_refused(capsys, tmp_path, graph):
    line = refused(capsys, "generate", graph, "--out", tmp_path / "out", "--factor-seeds", "segmentation=-5")
    assert "--factor-seeds" in line


# --- 4. output places --------------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    "synth --n 1 --out FILE",
    "synth --n 1 --out FILE/below",
    "synth --n 1 --out /dev/null/x",
    "synth --n 1 --out /proc/x",
    "generate FILE --out FILE",
    "generate FILE --out /dev/null/x",
    "generate FILE --out /proc/x",
    "sheet --n 1 --out FILE/sheet.png",
    "sheet --n 1 --out /dev/null/sheet.png",
    "sheet --n 1 --out /proc/x/sheet.png",
    "bench render --n 1 --json FILE/figures.json",
    "bench render --n 1 --json /dev/null/x",
    "bench render --n 1 --json /proc/x/figures.json",
])
def test_an_output_place_nobody_can_write_is_refused(capsys, graph, args):
    """FILE is an existing file (the graph): no folder can be made there or under it."""
    assert "cannot write to" in refused(capsys, *args.replace("FILE", str(graph)).split())


def test_an_existing_folder_is_no_file_to_write(capsys, tmp_path):
    folder = tmp_path / "sheet.png"
    folder.mkdir()
    assert "it is a folder" in refused(capsys, "sheet", "--n", "1", "--out", folder)
    assert "it is a folder" in refused(capsys, "bench", "render", "--json", tmp_path)


def test_sheet_out_must_be_a_png(capsys, tmp_path):
    assert "must end in .png" in refused(capsys, "sheet", "--n", "1", "--out", tmp_path / "sheet.txt")


def test_bench_weights_must_be_a_folder(capsys, tmp_path):
    assert "--weights" in refused(capsys, "bench", "load", "--weights", tmp_path / "nowhere")


def test_sheet_of_graphs_the_tiny_world_cannot_draw_is_refused(capsys, tmp_path):
    path = tmp_path / "g.txt"
    path.write_text("qwzx near vbnm")
    assert "no graph has an object the tiny world knows" in refused(capsys, "sheet", "--graphs", path,
                                                                    "--out", tmp_path / "s.png")


# --- 7. mask operations ------------------------------------------------------------------------


def masks_with_a_car() -> tuple[ed.Masks, int]:
    seg = np.full((32, 32), classes.CLASS_ID["grass"], np.uint8)
    seg[:12] = classes.CLASS_ID["sky"]
    seg[20:26, 8:16] = classes.CLASS_ID["car"]
    m = ed.Masks.from_segmentation(seg)
    return m, ed.pick(m, 10, 22)


@pytest.mark.parametrize("dx, dy", [(1e300, 0), (0, -1e300), (10**400, 0), (33, 0), (0, -33),
                                    (math.nan, 0), (0, math.inf), ("3", 0), (None, 0), (True, 0)])
def test_move_by_1e300_pixels_is_refused(dx, dy):
    m, car = masks_with_a_car()
    with pytest.raises(BadInput, match="move: d[xy]"):
        ed.move(m, car, dx, dy)


def test_a_move_within_the_map_that_leaves_it_says_so():
    m, car = masks_with_a_car()
    with pytest.raises(BadInput, match="out of the picture"):
        ed.move(m, car, 32, 0)


@pytest.mark.parametrize("scale", [0, -1, 1e-300, 1e300, math.nan, math.inf, "2", None])
def test_resize_by_an_absurd_scale_is_refused(scale):
    m, car = masks_with_a_car()
    with pytest.raises(BadInput, match="resize: the scale"):
        ed.resize(m, car, scale)


@pytest.mark.parametrize("x, y", [(math.nan, 3), (2.5, 3), (10**400, 3), (-1, 3), ("10", 22)])
def test_a_pick_off_the_pixel_grid_is_refused(x, y):
    m, _ = masks_with_a_car()
    with pytest.raises(BadInput):
        ed.pick(m, x, y)


def test_paste_by_an_absurd_offset_is_refused():
    m, car = masks_with_a_car()
    with pytest.raises(BadInput, match="paste: dx"):
        ed.paste(m, m, car, 1e300, 0)


def test_an_object_that_fills_the_map_moves_without_touching_its_input():
    m = ed.Masks.from_segmentation(np.full((8, 8), classes.CLASS_ID["car"], np.uint8))
    before = m.segmentation.copy(), m.instances.copy()
    out = ed.move(m, ed.pick(m, 0, 0), 2, 0)
    assert (m.segmentation == before[0]).all() and (m.instances == before[1]).all()
    assert out.shape == m.shape
