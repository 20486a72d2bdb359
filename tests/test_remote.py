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

REPO = Path(__file__).resolve().parents[1]
FAST = {"segmentation": 4, "depth": 3, "sketch": 3, "image": 4}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """`python app.py` on a free port, waited for; -> (process, its address)."""
    port = free_port()
    env = {**os.environ, "SGCOND_TMP": str(tmp_path), "SGCOND_WARM_UP": "0"}
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
    proc, url = start_app(tmp_path_factory.mktemp("remote"))
    try:
        yield url
    finally:
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


def test_a_remote_that_is_down_is_one_clear_message():
    far = RemoteBackend(f"http://127.0.0.1:{free_port()}/", connect_timeout_s=2)
    with pytest.raises(BackendUnavailable, match="cannot be reached.*graph and edits are kept"):
        far.generate(graph())
    with pytest.raises(BadInput, match="http"):
        get_backend("ftp://example.org/")
