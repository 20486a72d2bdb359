"""The page through its API, as `gradio_client` sees it: samples, parsing, and clean errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from PIL import Image

from sgcond_app.backends import get_backend
from sgcond_app.errors import BadInput
from sgcond_app.ui import serve_locally
from sgcond_app.world import classes


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    demo, url = serve_locally()
    try:
        yield Client(url, verbose=False,
                     download_files=str(tmp_path_factory.mktemp("downloads")))
    finally:
        demo.close()


def _png(path: str) -> np.ndarray:
    with Image.open(path) as img:
        assert img.format == "PNG"
        return np.asarray(img.convert("RGB"))


def test_sample_returns_png_conditions_and_graph(client: Client) -> None:
    image, seg, depth, sketch, drawing, text = client.predict(3, 64, api_name="/sample")
    for path in (image, seg, depth, sketch):
        assert Path(path).is_file()
        assert _png(path).shape == (64, 64, 3)
    assert _png(drawing).shape[2] == 3
    # Every colour in the segmentation is a class colour of the palette.
    colours = np.unique(_png(seg).reshape(-1, 3), axis=0)
    palette = {tuple(c) for c in classes.PALETTE.tolist()}
    assert {tuple(c) for c in colours.tolist()} <= palette
    assert isinstance(text, str) and text.strip()


def test_sample_depends_on_seed_only(client: Client) -> None:
    seg3 = _png(client.predict(3, 64, api_name="/sample")[1])
    seg3_again = _png(client.predict(3, 64, api_name="/sample")[1])
    seg4 = _png(client.predict(4, 64, api_name="/sample")[1])
    assert np.array_equal(seg3, seg3_again)
    assert not np.array_equal(seg3, seg4)


def test_parse_shows_each_word(client: Client) -> None:
    drawing, table, notes = client.predict("red car left of tree; dog near car", api_name="/parse")
    assert _png(drawing).std() > 5
    rows = table["data"]
    wrote = {row[2] for row in rows}
    understood = {row[3] for row in rows}
    assert {"car", "tree", "dog", "red", "left of", "near"} <= wrote
    assert {"car", "tree", "dog"} <= understood
    for word in ("car", "tree", "dog"):
        assert word in notes


def test_broken_json_is_a_clean_error_and_the_app_keeps_running(client: Client) -> None:
    with pytest.raises(AppError) as info:
        client.predict("{broken json", api_name="/parse")
    assert "json" in str(info.value).lower()
    assert "Traceback" not in str(info.value)
    # The next request is served as usual.
    drawing, table, _ = client.predict("dog near tree", api_name="/parse")
    assert {"dog", "tree"} <= {row[2] for row in table["data"]}


def test_bad_sample_size_is_a_clean_error(client: Client) -> None:
    with pytest.raises(AppError) as info:
        client.predict(3, 100, api_name="/sample")
    # The message names the value given and the ones allowed.
    assert "100" in str(info.value) and "64" in str(info.value)


# --- the Generate tab: generate, edit_mask, rerun ------------------------------------------------


def _thing_pixel(seg_rgb: np.ndarray) -> tuple[int, int, np.ndarray]:
    """A pixel of the largest object in a colour segmentation, and that object's mask."""
    from sgcond_app.editing.masks import Masks

    m = Masks.from_segmentation(classes.decolorize(seg_rgb))
    assert m.things(), "no object in the segmentation"
    mask = m.mask(m.things()[0])
    ys, xs = np.nonzero(mask)
    k = len(xs) // 2
    return int(xs[k]), int(ys[k]), mask


def test_generate_edit_and_rerun(client: Client) -> None:
    with pytest.raises(AppError, match="generate a scene first"):
        client.predict("move_right", 10, 10, 8, api_name="/edit_mask")
    seg, depth, sketch, image, overlay, report, relations = client.predict(
        "sky above grass; red car on grass; tree left of red car", 3, 4, api_name="/generate")
    for path in (seg, depth, sketch):
        assert _png(path).shape == (64, 64, 3)
    for path in (image, overlay):  # the picture at twice the maps' size
        assert _png(path).shape == (128, 128, 3)
    assert len(report["candidates"]) == 4 and report["object_recall"] is not None
    before_seg, before_image = _png(seg), _png(image)
    x, y, obj = _thing_pixel(before_seg)
    with pytest.raises(AppError, match="not on an object"):
        client.predict("move_right", 0, 0, 8, api_name="/edit_mask")  # the sky
    # 8 px towards the middle, so that the image's edge does not clip the move
    sign = -1 if np.nonzero(obj)[1].mean() > 32 else 1
    edited, _, rel, nx, ny = client.predict("move_left" if sign < 0 else "move_right", x, y, 8,
                                            api_name="/edit_mask")
    from sgcond_app.editing.masks import Masks

    after = Masks.from_segmentation(classes.decolorize(_png(edited)))
    moved = after.mask(int(after.instances[y, min(max(x + 8 * sign, 0), 63)]))
    assert 6 <= sign * (np.nonzero(moved)[1].mean() - np.nonzero(obj)[1].mean()) <= 10
    assert moved[ny, nx]  # the point that picked the object follows it
    seg2, _, _, image2, _, report2, _ = client.predict("image", api_name="/rerun")
    assert np.array_equal(_png(seg2), _png(edited))
    from scipy import ndimage

    near = ndimage.binary_dilation(obj | moved, iterations=4).repeat(2, axis=0).repeat(2, axis=1)
    diff = np.abs(_png(image2).astype(float) - before_image).mean(axis=2)
    assert diff[~near].mean() < 8 and diff[near].mean() > diff[~near].mean()
    undone, *_ = client.predict("undo", 0, 0, 0, api_name="/edit_mask")
    assert np.array_equal(_png(undone), before_seg)  # the edit before the rerun is undone


def test_depth_and_sketch_edits_through_the_api(client: Client) -> None:
    """edit_depth brings the picked object nearer (its depth, and where it now passes in front of an
    overlapping thing, the pixels of its hull it now shows; the relations judged again), a rerun
    from the depth keeps that depth (the sketch and picture follow); edit_sketch draws a stroke, a
    rerun of the image keeps it; undo takes a depth edit back."""
    seg, depth, sketch, image, *_ = client.predict("house behind car; car on grass; sky above grass", 5, 2,
                                                   api_name="/generate")
    x, y, obj = _thing_pixel(_png(seg))
    seg2, depth2, rel, nx, ny = client.predict(x, y, 0.3, api_name="/edit_depth")
    changed = np.abs(_png(depth2).astype(int) - _png(depth)).sum(-1) > 0
    labels, labels2 = classes.decolorize(_png(seg)), classes.decolorize(_png(seg2))
    now_shown = ~obj & (labels2 == labels[obj][0]) & (labels2 != labels)  # it passed in front there
    assert changed[obj].mean() > 0.9 and not (changed & ~obj & ~now_shown).any()  # the object, nothing else
    assert rel and (nx, ny) == (x, y)
    with pytest.raises(AppError, match="greater than maximum value 1"):  # the slider's own check
        client.predict(x, y, 3, api_name="/edit_depth")
    with pytest.raises(AppError, match="at least 1/255"):
        client.predict(x, y, 0, api_name="/edit_depth")
    rseg, rdepth, rsketch, rimage, *_ = client.predict("depth", api_name="/rerun")
    assert np.array_equal(_png(rdepth), _png(depth2)) and np.array_equal(_png(rseg), _png(seg2))
    assert not np.array_equal(_png(rimage), _png(image))
    drawn = client.predict("4,4,40,4", False, api_name="/edit_sketch")  # one output: the sketch
    assert (_png(drawn)[4, 4:41] == 255).all()
    with pytest.raises(AppError, match="even count"):
        client.predict("4,4,40", False, api_name="/edit_sketch")
    _, _, ksketch, kimage, *_ = client.predict("image", api_name="/rerun")
    assert np.array_equal(_png(ksketch), _png(drawn)) and not np.array_equal(_png(kimage), _png(rimage))
    client.predict(x, y, -0.2, api_name="/edit_depth")
    _, undone, *_ = client.predict("undo", 0, 0, 0, api_name="/edit_mask")
    assert undone is not None


def test_generate_refuses_bad_graphs(client: Client) -> None:
    with pytest.raises(AppError, match="empty"):
        client.predict("", 0, 4, api_name="/generate")
    with pytest.raises(AppError, match="no object"):
        client.predict("broccoli near spaceship", 0, 4, api_name="/generate")


def test_twenty_clients_at_once_each_get_their_own_scene(client: Client, tmp_path: Path) -> None:
    """20 sessions generate at once (the queue serves 2 at a time): all finish, none errors, and
    each report holds its own graph."""
    from concurrent.futures import ThreadPoolExecutor

    labels = ["car", "bus", "truck", "house", "tree", "dog", "sheep", "cow", "horse", "boat"]

    def one(k: int):
        c = Client(client.src, verbose=False, download_files=str(tmp_path / f"c{k}"))
        label = labels[k % len(labels)]
        ground = "water" if label == "boat" else "grass"
        *_, report, _ = c.predict(f"sky above {ground}; {label} on {ground}", k, 2, api_name="/generate")
        return label, report

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, range(20)))
    assert len(results) == 20
    for label, report in results:
        assert label in report["graph"]["objects"]


def test_choose_undo_redo_and_download(client: Client, tmp_path: Path) -> None:
    import json
    import zipfile

    *_, report, _ = client.predict("sky above grass; dog on grass; tree right of dog", 11, 3, api_name="/generate")
    other = (report["chosen_candidate"] + 1) % 3
    seg, _, _, _, _, report2, _ = client.predict(other, api_name="/choose")
    assert report2["chosen_candidate"] == other
    with pytest.raises(AppError, match="does not exist"):
        client.predict(7, api_name="/choose")
    with pytest.raises(AppError, match="nothing to redo"):
        client.predict("redo", 0, 0, 0, api_name="/edit_mask")
    x, y, _ = _thing_pixel(_png(seg))
    edited, *_ = client.predict("flip_horizontal", x, y, 0, api_name="/edit_mask")
    undone, *_ = client.predict("undo", 0, 0, 0, api_name="/edit_mask")
    redone, *_ = client.predict("redo", 0, 0, 0, api_name="/edit_mask")
    assert np.array_equal(_png(undone), _png(seg)) and np.array_equal(_png(redone), _png(edited))
    path = client.predict(api_name="/download")
    with zipfile.ZipFile(path) as z:
        # The files `generate` writes, by the same writer: the candidates' segmentations too.
        assert set(z.namelist()) == {"graph.json", "report.json", "segmentation.png", "image.png", "depth.png",
                                     "sketch.png", *(f"candidates/{k:02d}_segmentation.png" for k in range(3))}
        assert "dog" in json.loads(z.read("graph.json"))["objects"]
        z.extract("segmentation.png", tmp_path)
    assert np.array_equal(_png(str(tmp_path / "segmentation.png")), _png(edited))


def test_paste_from_an_earlier_result_and_match_the_graph_to_the_mask(client: Client) -> None:
    first = client.predict("sky above grass; red car on grass", 5, 2, api_name="/generate")
    x, y, car = _thing_pixel(_png(first[0]))
    second = client.predict("sky above grass; tree on grass", 6, 2, api_name="/generate")
    with pytest.raises(AppError, match="choose a source"):
        client.predict("paste", x, y, 0, "candidate 9", api_name="/edit_mask")
    pasted, _, _, px, py = client.predict("paste", x, y, 0, "earlier result 1", api_name="/edit_mask")
    seg = classes.decolorize(_png(pasted))
    assert (seg[car] == classes.class_id("car")).mean() > 0.9  # the car, where it was in the first result
    assert car[py, px]
    text, _ = client.predict(api_name="/match_graph")
    assert "car" in text and "tree" in text  # the pasted car joined the graph
    x, y, _ = _thing_pixel(_png(second[0]))
    label = classes.CLASS_NAMES[classes.decolorize(_png(second[0]))[y, x]]
    undone, *_ = client.predict("undo", 0, 0, 0, "", api_name="/edit_mask")
    assert np.array_equal(_png(undone), _png(second[0]))
    before, _ = client.predict(api_name="/match_graph")
    deleted, *_ = client.predict("delete", x, y, 0, "", api_name="/edit_mask")
    text, rows = client.predict(api_name="/match_graph")
    # deleted in the mask, so one fewer in the graph
    assert text.count(label) < before.count(label), (label, before, text)


def test_export_graph_writes_sg2im_json(client: Client) -> None:
    import json

    path = client.predict("puppy left of tree; sky", api_name="/export_graph")
    data = json.loads(Path(path).read_text())
    assert data == {"objects": ["puppy", "tree", "sky"], "relationships": [[0, "left of", 1]]}
    with pytest.raises(AppError, match="JSON"):
        client.predict('{"objects": ["dog"', api_name="/export_graph")


def test_studio_graph_mistakes_are_one_message(tmp_path: Path) -> None:
    """What the page's canvas, text and table handlers say to a person's mistakes. The handlers
    raise BadInput; the page's wrapper (page.on_page) turns it into a warning and keeps every output."""
    from sgcond_app.errors import BadInput
    from sgcond_app.ui.graph_room import from_table, from_text, import_graph
    from sgcond_app.ui.state import Studio

    studio = Studio()
    with pytest.raises(BadInput, match="at most 24"):
        from_text(studio, "\n".join(f"dog#{i} near tree" for i in range(200)), None, None)
    with pytest.raises(BadInput, match="at most 48"):
        from_text(studio, "x" * 100 + " near tree", None, None)
    with pytest.raises(BadInput, match="JSON"):
        from_text(studio, '{"objects": [', None, None)
    with pytest.raises(BadInput, match="the graph is empty"):
        from_text(studio, "   ", None, None)
    canvas, text, table, notes = from_table(studio, [["dog", "near", "tree"], ["sun", "", ""]], None, None)
    assert text == "dog near tree\nsun" and "3 objects" in notes
    bad = tmp_path / "bad.json"
    bad.write_text('{"objects": ["dog"], "relationships": [[0, "near"')
    with pytest.raises(BadInput, match="bad.json: invalid JSON"):
        import_graph(studio, str(bad), None, None)
    two = tmp_path / "two.json"
    two.write_text('[{"objects": ["cow", "grass"], "relationships": [[0, "on", 1]]}, {"objects": ["dog"]}]')
    *views, offered, graphs = import_graph(studio, str(two), None, None)
    assert views[1] == "cow on grass"
    assert offered["visible"] and len(offered["value"]) == 2 and [g.labels for g in graphs] == [["cow", "grass"],
                                                                                                 ["dog"]]


def test_page_handlers_keep_the_page_on_a_mistake() -> None:
    """Wrapped for the page, a mistake is a warning and every output is skipped (kept as shown);
    wrapped for the API, it is a gr.Error with the message."""
    import gradio as gr

    from sgcond_app.ui.edit_room import edit_mask
    from sgcond_app.ui.generate_room import download
    from sgcond_app.ui.graph_room import from_text
    from sgcond_app.ui.page import as_api, on_page
    from sgcond_app.ui.state import Studio
    from sgcond_app.ui.wiring import bound

    with pytest.warns(UserWarning, match="at most 48"):
        out = on_page(4)(bound(from_text, Studio()))("x" * 100 + " near tree", None, None)
    assert out == tuple(gr.skip() for _ in range(4))
    with pytest.raises(gr.Error, match="generate a scene first"):
        as_api(download)(None)
    with pytest.warns(UserWarning, match="generate a scene first"):
        out = on_page(7)(edit_mask)("resize", 1, 2, 1.25, None, None, display=True)
    assert out == tuple(gr.skip() for _ in range(7))


def test_generate_streams_the_maps_and_can_be_stopped(client: Client) -> None:
    import time

    job = client.submit("sky above grass; red car on grass; tree left of red car", 1, 4, api_name="/generate")
    while not job.done():
        time.sleep(0.01)
    outputs = job.outputs()
    # The segmentation first (the maps after it cleared), then depth, then sketch, then everything.
    assert len(outputs) == 4
    assert outputs[0][0] is not None and outputs[0][3] is None
    assert outputs[1][1] is not None and outputs[2][2] is not None and outputs[3][3] is not None
    job = client.submit("sky above grass; dog on grass", 2, 16, api_name="/generate")
    while not job.outputs():
        time.sleep(0.01)
    job.cancel()
    *_, report, _ = client.predict("sky above grass; cow on grass", 3, 2, api_name="/generate")
    assert "cow" in report["graph"]["objects"]  # the app goes on after a stopped run


def test_app_settings_from_flags_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import app

    for name in ("SGCOND_HOST", "SGCOND_PORT", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "SGCOND_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    args = app.settings([])
    assert (args.host, args.port, args.concurrency, args.queue_size) == ("127.0.0.1", 7860, 2, 64)
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")  # what a Hugging Face Space sets
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7861")
    assert (app.settings([]).host, app.settings([]).port) == ("0.0.0.0", 7861)
    assert app.settings(["--host", "10.0.0.1", "--port", "9000"]).port == 9000
    for name in ("SGCOND_REPLICAS", "RAY_ADDRESS", "SGCOND_REPLICA_CPUS", "SGCOND_REPLICA_GPUS"):
        monkeypatch.delenv(name, raising=False)
    assert app.settings([]).serve is None  # no Ray unless asked
    args = app.settings(["--replicas", "1-3"])
    assert args.concurrency == 6 and (args.serve.min_replicas, args.serve.max_replicas) == (1, 3)  # two a replica
    assert app.settings(["--ray-address", "ray://head:10001"]).serve.max_replicas == 1
    for bad in (["--replicas", "0"], ["--replicas", "3-1"], ["--replicas", "1", "--backend", "http://a:1/"],
                ["--workers", "2"]):
        with pytest.raises(SystemExit):
            app.settings(bad)
    with pytest.raises(BadInput, match="one other instance's address"):
        get_backend("http://a:1/,http://b:1/")
    monkeypatch.setenv("SGCOND_MAX_SAMPLES", "40")
    with pytest.raises(SystemExit):
        app.settings([])
    monkeypatch.setenv("SGCOND_MAX_SAMPLES", "5")
    assert app.settings([]).studio.max_samples == 5
    monkeypatch.setenv("SGCOND_CONCURRENCY", "zero")
    with pytest.raises(SystemExit):
        app.settings([])


def test_the_pages_backend_choice_from_flags_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import app

    monkeypatch.delenv("SGCOND_BACKENDS", raising=False)
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    assert app.settings([]).backends is None
    assert app.settings(["--backends", " tiny, sd "]).backends == ["tiny", "sd"]
    monkeypatch.setenv("SGCOND_BACKENDS", "sd")
    assert app.settings([]).backends == ["sd"] and app.settings(["--backends", ""]).backends == []
    with pytest.raises(SystemExit):
        app.settings(["--backends", "tiny,dall-e"])
    assert list(app.page_backends("sd", None)) == ["tiny"]  # sd's fallback is always offered
    assert list(app.page_backends("tiny", ["tiny", "sd"])) == ["sd"]
    assert app.page_backends("tiny", None, local=False) == {}  # replicas: no GPU looked for, nothing offered
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")  # ZeroGPU: the GPU comes with each call
    assert list(app.page_backends("tiny", None)) == ["sd"]


def test_the_readme_api_example_runs_as_written(client: Client) -> None:
    """The README's gradio_client example, taken from the README (only the address is this server's)."""
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    api = readme[readme.index("### The API"):]
    code = re.search(r"```python\n(.*?)```", api, re.S).group(1)
    assert 'Client("http://127.0.0.1:7860/")' in code and "/edit_mask" in code and "/download" in code
    ns: dict = {}
    exec(compile(code.replace("http://127.0.0.1:7860/", client.src), "README.md", "exec"), ns)
    labels = {o if isinstance(o, str) else o["label"] for o in ns["report"]["graph"]["objects"]}
    assert labels >= {"sky", "grass", "car", "tree"}
    assert Path(ns["zip_path"]).is_file() and Path(ns["json_path"]).is_file()
    assert "car" in ns["notes"] and ns["words"]["data"]


def _agree(report: dict, rows: list[list[str]], canvas: str) -> list[bool | None]:
    """The chosen candidate's score, the report, the relations table and the canvas's edges say the
    same of every relation; returns the verdicts."""
    import json

    table = [None if r[3] == "n/a" else r[3].startswith("yes") for r in rows]
    edges = json.loads(canvas)["edge_status"]
    assert table == edges == [r["holds"] for r in report["verdict"]["relations"]]
    judged = [h for h in table if h is not None]
    accuracy = sum(judged) / len(judged) if judged else None
    assert report["relation_accuracy"] == accuracy
    assert report["candidates"][report["chosen_candidate"]]["relation_accuracy"] == accuracy
    # Beside each, the picture's verdict: the segmenter's reading of it, judged as the map is.
    pictured = [None if r[4] == "n/a" else r[4].startswith("yes") for r in rows]
    assert pictured == [r["holds"] for r in report["picture"]["verdict"]["relations"]]
    return table


@pytest.mark.parametrize("typed, objects, note", [
    ("car left of car; car on street; car on street; sky above street", 4, "two cars"),
    ("car #1 left of car #2; car #1 on street; car #2 on street; sky above street", 4, None),
    ('{"objects": ["car", "street", "sky"], "relationships": [[0, "left of", 0], [0, "on", 1], [2, "above", 1]]}',
     3, "self-loop"),
])
def test_scores_table_and_canvas_agree(typed: str, objects: int, note: str | None) -> None:
    """Two cars, a self-loop, and a deleted object: the candidates' scores, the relations table
    and the canvas's edges agree, and a relation of a missing object fails (it is not n/a)."""
    import json

    from sgcond_app.ui.edit_room import after_result, edit_mask
    from sgcond_app.ui.generate_room import generate_from_views
    from sgcond_app.ui.state import Studio

    studio = Studio()
    *_, report, rows, session, canvas, text, table, notes = list(
        generate_from_views(studio, typed, None, None, 5, 3, None))[-1]
    assert len(session.mapped.source.objects) == objects and f"{objects} objects" in notes
    if note:
        assert note in notes  # what the parser changed is said, not silently dropped
    _agree(report, rows, canvas)
    # Delete every car: the relations of the cars now fail, in the table and on the canvas alike.
    from sgcond_app.editing.masks import Masks

    for _ in range(4):
        m = Masks.from_segmentation(session.current)
        cars = [i for i in m.things() if m.label_of(i) == "car"]
        if not cars:
            break
        ys, xs = np.nonzero(m.mask(cars[0]))
        x, y = int(xs[0]), int(ys[0])
        *_, rows, _, _, _, session = edit_mask("delete", x, y, None, None, session)
    canvas = after_result(studio, canvas, session)[0]
    verdicts = [None if r[3] == "n/a" else r[3].startswith("yes") for r in rows]
    assert json.loads(canvas)["edge_status"] == verdicts
    assert all(v is False for v, r in zip(verdicts, rows) if "car" in r[0] or "car" in r[2])
    assert any("car missing" in r[3] for r in rows)
    assert {r[4] for r in rows} == {"rerun to see"}  # the picture was drawn from the map before the edit


def test_no_file_outside_the_apps_folders_can_be_read(client: Client) -> None:
    """Gradio serves the files the app made; not the rest of the machine, nor the source."""
    import urllib.error
    import urllib.request

    for path in ("/etc/passwd", str(Path(__file__).resolve()), "../../../../etc/passwd",
                 str(Path(__file__).resolve().parents[1] / "weights" / "encoder" / "config.json")):
        for prefix in ("gradio_api/file=", "file="):
            try:
                with urllib.request.urlopen(client.src + prefix + path, timeout=10) as answer:
                    body = answer.read()
            except urllib.error.HTTPError as e:
                assert e.code in (403, 404), (path, e.code)
                continue
            assert b"root:" not in body and b"def test_" not in body and b"{" not in body[:1], (prefix, path)


# --- named regressions: bad API arguments a tester sent (each was an internal error before) ---------


def _refused(client: Client, *args, api_name: str, match: str) -> None:
    with pytest.raises(AppError, match=match) as info:
        client.predict(*args, api_name=api_name)
    assert "internal error" not in str(info.value) and "upstream" not in str(info.value)


def test_generate_with_a_seed_of_2_to_the_64_is_refused_before_the_chain_runs(client: Client) -> None:
    _refused(client, "sky above grass; dog on grass", 2**64, 2, api_name="/generate", match="seed")


@pytest.mark.parametrize("seed", ["abc", -1, 1.5, "1e300"])
def test_generate_with_a_seed_that_is_no_seed_is_refused(client: Client, seed) -> None:
    _refused(client, "sky above grass; dog on grass", seed, 2, api_name="/generate", match="seed")


def test_generate_with_candidates_that_are_no_count_is_refused(client: Client) -> None:
    _refused(client, "sky above grass; dog on grass", 0, "many", api_name="/generate", match="candidates")


def test_a_move_by_1e300_pixels_and_a_pixel_that_is_no_number_are_refused(client: Client) -> None:
    *_, report, _ = client.predict("sky above grass; dog on grass; car on grass", 2, 4, api_name="/generate")
    things = [o["at"] for o in report["verdict"]["objects"] if o["label"] in ("dog", "car") and "at" in o]
    assert things, "neither the dog nor the car was drawn"
    x, y = things[0]
    _refused(client, "move_right", x, y, 1e300, "", api_name="/edit_mask", match="step")
    # After an answer that leaves x and y as they were (undo), Gradio rebuilds them for the session:
    # they must still hand any value to the handler.
    client.predict("move_right", x, y, 4, "", api_name="/edit_mask")
    client.predict("undo", 0, 0, 0, "", api_name="/edit_mask")
    _refused(client, "move_right", "abc", y, 8, "", api_name="/edit_mask", match="x must")
    _refused(client, "resize", x, "nan", 1.2, "", api_name="/edit_mask", match="y must")
    _refused(client, "resize", x, y, 1e300, "", api_name="/edit_mask", match="scale")
    _refused(client, "abc", api_name="/choose", match="candidate")


@pytest.mark.parametrize("api_name", ["/parse", "/export_graph", "/generate"])
def test_json_nested_10000_deep_a_5000_digit_index_and_a_lone_surrogate_are_refused(client: Client,
                                                                                     api_name: str) -> None:
    extra = (0, 2) if api_name == "/generate" else ()
    _refused(client, "[" * 10_000 + "]" * 10_000, *extra, api_name=api_name, match="JSON")
    _refused(client, '{"objects": ["dog", "tree"], "relationships": [[' + "9" * 5000 + ', "near", 1]]}', *extra,
             api_name=api_name, match="JSON|index")
    _refused(client, '{"objects": ["dog\\ud800", "tree"], "relationships": []}', *extra, api_name=api_name,
             match="surrogate|character|plain")


def test_megabytes_of_triples_are_refused_by_their_size(client: Client) -> None:
    """Refused for its length before any clause is parsed (parsing it held a worker for 25 s)."""
    _refused(client, "dog near tree\n" * 100_000, api_name="/parse", match="characters")


def test_read_a_picture_then_turn_a_relation_around(client: Client, tmp_path: Path) -> None:
    from gradio_client import handle_file

    from sgcond_app.world.sample import render_sample

    (tmp_path / "bad.png").write_bytes(b"not a picture at all")
    with pytest.raises(AppError, match="not a picture"):
        client.predict(handle_file(str(tmp_path / "bad.png")), 0, api_name="/read_picture")
    s = render_sample(1_000_080_003, 200)
    Image.fromarray(s.image).save(tmp_path / "scene.jpg", quality=90)
    seg, depth, sketch, image, overlay, report, relations = client.predict(
        handle_file(str(tmp_path / "scene.jpg")), 0, api_name="/read_picture")
    assert _png(image).shape == (128, 128, 3) and _png(seg).shape == (64, 64, 3)
    graph = report["graph"]
    assert graph["objects"] and all(row[3] == "yes" for row in relations["data"]), relations
    flips = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
    k = next(i for i, r in enumerate(graph["relationships"]) if r[1] in flips)
    graph["relationships"][k][1] = flips[graph["relationships"][k][1]]
    import json

    seg2, _d, _s, image2, _o, report2, relations2 = client.predict(json.dumps(graph), api_name="/apply_graph")
    assert report2["graph"]["relationships"][k][1] == graph["relationships"][k][1]
    before, after = _png(image).astype(int), _png(image2).astype(int)
    changed = np.abs(before - after).max(2) > 0
    assert changed.any() and changed.mean() < 0.5  # the rest of the picture stays


def test_a_class_taken_away_by_concept(client: Client) -> None:
    seg, _d, _s, image, _o, report, _r = client.predict("sky above grass; dog on grass; tree right of dog", 5, 2,
                                                        api_name="/generate")
    with pytest.raises(AppError, match="inverted picture"):
        client.predict("-dog", api_name="/apply_concepts")
    client.predict(api_name="/invert")
    with pytest.raises(AppError, match="not a class"):
        client.predict("-blorfing", api_name="/apply_concepts")
    seg2, _d, _s, image2, _o, report2, relations = client.predict("-poodle:2", api_name="/apply_concepts")
    labels = [o[0] if isinstance(o, list) else o for o in report2["graph"]["objects"]]
    assert "dog" not in labels and "tree" in labels
    dog = classes.PALETTE[classes.CLASS_ID["dog"]]
    assert (_png(seg) == dog).all(2).any() and not (_png(seg2) == dog).all(2).any()
    changed = np.abs(_png(image2).astype(int) - _png(image).astype(int)).max(2) > 0
    assert changed.any() and changed.mean() < 0.5


def test_a_generated_result_inverted_keeps_the_rest_when_edited(client: Client) -> None:
    seg, _d, _s, image, _o, report, _r = client.predict("sky above grass; dog on grass; tree right of dog", 5, 2,
                                                        api_name="/generate")
    _seg, _d, _s, inverted, _o, report2, _r = client.predict(api_name="/invert")
    assert np.array_equal(_png(inverted), _png(image))  # inverting changes nothing
    with pytest.raises(AppError, match="inverted already"):
        client.predict(api_name="/invert")
    x, y, mask = _thing_pixel(_png(seg))
    client.predict("move_left", x, y, 6, "", api_name="/edit_mask")
    _seg, _d, _s, after, _o, _rep, _r = client.predict("depth", api_name="/rerun")
    changed = np.abs(_png(after).astype(int) - _png(image).astype(int)).max(2) > 0
    ys, xs = np.nonzero(changed)
    assert len(ys) and changed.mean() < 0.3
    # Only around the object's old and new places (map pixels x2 for the 128 px picture, plus the blend).
    oy, ox = np.nonzero(mask)
    assert ys.min() >= 2 * (oy.min() - 5) and ys.max() <= 2 * (oy.max() + 5)
