"""The remote backend: one instance of the app (started as `python app.py`) serves as the backend of
another, through its API. Generate streams steps and maps, rerun and choose work on results that
crossed the wire, and a remote that is down is one clear message."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from sgcond_app.backends import Options, get_backend
from sgcond_app.backends.remote import BackendUnavailable, RemoteBackend
from sgcond_app.errors import BadInput
from sgcond_app.graph.scene_graph import SceneGraph
from sgcond_app.world import classes

REPO = Path(__file__).resolve().parents[1]
TOKEN = "a-token-for-the-remote-tests-0123"  # SGCOND_BACKEND_TOKEN of the instance serving as a backend
FAST = {"segmentation": 4, "depth": 3, "sketch": 3, "image": 4}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(tmp_path: Path, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """`python app.py` on a free port, waited for; -> (process, its address). With `serving` among
    args ("--serve-backend"), it serves its backend to callers with TOKEN."""
    port = free_port()
    env = {**os.environ, "SGCOND_TMP": str(tmp_path), "SGCOND_WARM_UP": "0", "SGCOND_BACKEND_TOKEN": TOKEN,
           **(env or {})}
    env.pop("GRADIO_TEMP_DIR", None)
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(240):
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("the app exited") from None
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the app did not start")


@pytest.fixture(scope="module")
def remote(tmp_path_factory):
    """An instance serving its backend; this process's remote backends send its token."""
    proc, url = start_app(tmp_path_factory.mktemp("remote"), "--serve-backend")
    before = os.environ.get("SGCOND_BACKEND_TOKEN")
    os.environ["SGCOND_BACKEND_TOKEN"] = TOKEN
    try:
        yield url
    finally:
        if before is None:
            os.environ.pop("SGCOND_BACKEND_TOKEN")
        else:
            os.environ["SGCOND_BACKEND_TOKEN"] = before
        proc.terminate()
        proc.wait(timeout=60)


def graph() -> SceneGraph:
    return SceneGraph.build([("sky", ()), ("grass", ()), ("dog", ()), ("tree", ())],
                            [(2, "on", 1), (2, "left of", 3), (0, "above", 1)])


def test_a_remote_backend_gives_what_the_local_one_gives(remote):
    far = get_backend(remote)
    assert far.capabilities.remote and far.capabilities.map_size == 64
    steps, maps = [], []
    options = Options(samples=3, steps=dict(FAST))
    r = far.generate(graph(), seed=7, options=options, on_step=lambda f, i, n: steps.append(f),
                     on_map=lambda name, a: maps.append(name))
    assert {"segmentation", "image"} <= set(steps) and maps == ["segmentation", "depth", "sketch"]
    near = get_backend("tiny").generate(graph(), seed=7, options=options)
    assert np.array_equal(r.segmentation, near.segmentation) and np.array_equal(r.image, near.image)

    edited = r.segmentation.copy()
    edited[:10] = edited[0, 0]
    again = far.rerun(r, edited, what="depth")
    assert np.array_equal(again.segmentation, edited)
    other = far.choose(r, 1)
    assert other.chosen == 1
    with pytest.raises(BadInput, match="does not exist"):
        far.choose(r, 9)  # the remote's own message, as it is


def test_a_picture_read_through_a_remote_is_the_one_read_here(remote):
    from sgcond_app.world.sample import render_sample

    picture = render_sample(1_000_080_002, 96).image  # not the chain's size: the backend fits it
    far, near = get_backend(remote), get_backend("tiny")
    assert far.capabilities.inverts
    r = far.read(picture, seed=1, steps=3)
    here = near.read(picture, seed=1, steps=3)
    assert r.inverted and np.array_equal(r.image, here.image) and r.graph.triples() == here.graph.triples()
    edited = r.segmentation.copy()
    edited[:6] = edited[0, 0]
    assert np.array_equal(far.rerun(r, edited).image, near.rerun(here, edited).image)
    # A concept edit (the largest thing's class taken away) crosses too, with its stages and scales.
    from sgcond_app.reading.concepts import parse_concepts, plan

    things = [c for c in np.unique(r.segmentation) if c not in classes.STUFF_IDS]
    assert things, "the render has things to take away"
    label = classes.CLASS_NAMES[max(things, key=lambda c: (r.segmentation == c).sum())]
    p = plan(r.segmentation, r.depth, r.graph, parse_concepts(f"-{label}"))
    assert np.array_equal(far.steer(r, p.segmentations, p.scales).image,
                          near.steer(here, p.segmentations, p.scales).image)


def test_a_remote_is_served_only_to_callers_with_its_token(remote):
    """Without the token, or with another, one clear refusal (the payload is not read)."""
    for token in ("", "another-token-of-enough-length"):
        with pytest.raises(BadInput, match="needs its token"):
            RemoteBackend(remote, token=token).generate(graph(), 0, Options(samples=1, steps=FAST))


def test_the_backend_api_is_off_unless_served(tmp_path):
    """A page started without --serve-backend lists none of the backend's endpoints; with it, a
    token is required to start at all."""
    from sgcond_app.ui import create_demo

    names = {fn.api_name for fn in create_demo().fns.values()}
    assert "generate" in names and not any(str(n).startswith("backend_") for n in names)
    names = {fn.api_name for fn in create_demo(backend_token=TOKEN).fns.values()}
    assert {"backend_generate", "backend_rerun", "backend_steer"} <= names
    proc = subprocess.run([sys.executable, "app.py", "--serve-backend"], cwd=REPO, capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "SGCOND_BACKEND_TOKEN"}, timeout=120)
    assert proc.returncode == 2 and "SGCOND_BACKEND_TOKEN" in proc.stderr.strip().splitlines()[-1]


def test_a_remote_that_is_down_is_one_clear_message():
    far = RemoteBackend(f"http://127.0.0.1:{free_port()}/", connect_timeout_s=2)
    with pytest.raises(BackendUnavailable, match="cannot be reached.*graph and edits are kept"):
        far.generate(graph())
    with pytest.raises(BadInput, match="http"):
        get_backend("ftp://example.org/")


def test_the_page_comes_up_with_a_remote_that_is_down_and_keeps_the_session():
    import gradio as gr

    from sgcond_app.ui import build_demo
    from sgcond_app.ui.generate_room import generate_from_views
    from sgcond_app.ui.page import on_page
    from sgcond_app.ui.state import Studio
    from sgcond_app.ui.wiring import bound

    studio = Studio(RemoteBackend(f"http://127.0.0.1:{free_port()}/", connect_timeout_s=2))
    demo = build_demo(studio)  # as create_demo(backend) builds it
    assert demo is not None and studio.max_samples() == 16  # the app's own limit meanwhile
    import warnings

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        outs = list(on_page(12)(bound(generate_from_views, studio))("dog on grass", None, None, 1, 2, None))
    assert len(outs) == 1 and all(o == gr.skip() for o in outs[0])  # every output kept
    assert any("cannot be reached" in str(w.message) and "kept" in str(w.message) for w in seen)
