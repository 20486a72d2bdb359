"""The app's temporary files (sgcond_app/ui/files.py) and the bound on Gradio's cache."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from sgcond_app.ui import files

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A root of its own for the test, under tmp_path (the process's root is left as it was)."""
    monkeypatch.setenv("SGCOND_TMP", str(tmp_path))
    monkeypatch.setattr(files, "_root", None)
    return files.root()


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_new_folders_are_distinct_and_under_the_root(root: Path, tmp_path: Path) -> None:
    assert root.parent == tmp_path.resolve() and root.name.startswith(f"sgcond-app-{os.getpid()}-")
    made = [files.new_folder("sgcond-x-") for _ in range(5)]
    assert len(set(made)) == 5
    assert all(p.is_dir() and p.parent == root and p.name.startswith("sgcond-x-") and not any(p.iterdir())
               for p in made)
    assert files.root() == root  # one root per process


def test_prune_by_age(root: Path) -> None:
    old, young = files.new_folder(), files.new_folder()
    (old / "graph.json").write_text("{}")
    _age(old, files.MAX_AGE_S + 5)
    fresh = files.new_folder()  # making a folder prunes the root
    assert not old.exists() and young.is_dir() and fresh.is_dir()
    _age(young, 120)
    assert files.prune(max_age_s=60) == 1 and not young.exists() and fresh.is_dir()


def test_prune_by_count_keeps_the_newest_and_the_young(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "MAX_FOLDERS", 3)
    made = [files.new_folder() for _ in range(6)]
    assert all(p.is_dir() for p in made)  # none is older than GRACE_S: none goes
    for k, p in enumerate(made):
        _age(p, 1000 - k)  # made[0] the oldest
    new = files.new_folder()  # pruned to MAX_FOLDERS first, then made
    assert len(list(root.iterdir())) == 4 and new.is_dir() and made[-1].is_dir() and made[-3].is_dir()
    assert not made[0].exists() and not made[2].exists()


def test_gradio_cache_is_not_pruned_as_a_folder_of_the_root(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADIO_TEMP_DIR", raising=False)
    cache = files.gradio_cache()
    assert cache == root / "gradio" and os.environ["GRADIO_TEMP_DIR"] == str(cache)
    _age(cache, files.MAX_AGE_S + 5)
    files.prune(max_folders=0)
    assert cache.is_dir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(root / "elsewhere"))
    assert files.gradio_cache() == root / "elsewhere"  # one named by the person is used as it is


def test_prune_cache_keeps_what_the_page_keeps(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "a1").mkdir(parents=True)
    (cache / "b2").mkdir()
    kept, old, loose = cache / "a1" / "example.png", cache / "b2" / "seg.png", cache / "tmpfile"
    for f in (kept, old, loose):
        f.write_bytes(b"png")
    (cache / "young").mkdir()  # Gradio may be about to put a file in it
    (cache / "stale").mkdir()  # emptied by Gradio's delete_cache long ago
    _age(cache / "stale", files.GRACE_S + 5)
    assert files.prune_cache(cache, [str(kept)]) == 1  # the files are young: only the stale folder goes
    assert (cache / "young").is_dir() and not (cache / "stale").exists()
    time.sleep(0.05)
    page = SimpleNamespace(blocks={1: SimpleNamespace(keep_in_cache={str(kept)}), 2: SimpleNamespace()})
    removed = files.prune_cache(cache, files.kept([page]), max_age_s=0)
    assert removed == 4  # two files, the folder they leave empty, and with max_age 0 the empty one
    assert kept.exists() and not old.exists() and not loose.exists() and not (cache / "b2").exists()
    assert cache.is_dir()


def test_dead_roots_go_when_old(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dead_old, dead_young, alive = (tmp_path / f"sgcond-app-{pid}-x" for pid in (4_999_999, 4_999_998, os.getpid()))
    for d in (dead_old, dead_young, alive):
        (d / "f").mkdir(parents=True)
    for d in (dead_old, alive):
        _age(d, files.MAX_AGE_S + 5)
    monkeypatch.setenv("SGCOND_TMP", str(tmp_path))
    monkeypatch.setattr(files, "_root", None)
    files.root()
    assert not dead_old.exists() and dead_young.is_dir() and alive.is_dir()


def test_the_root_is_removed_at_exit(tmp_path: Path) -> None:
    # files.py alone (the package would import gradio): it needs nothing else.
    code = ("import importlib.util as u; spec = u.spec_from_file_location('files', 'sgcond_app/ui/files.py'); "
            "files = u.module_from_spec(spec); spec.loader.exec_module(files); "
            "p = files.new_folder(); (p / 'x.txt').write_text('x'); print(files.root())")
    env = {**os.environ, "SGCOND_TMP": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip().startswith(str(tmp_path.resolve()))
    assert list(tmp_path.iterdir()) == []


def test_download_and_export_leave_a_bounded_number_of_folders(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import zipfile

    from sgcond_app.editing.session import Session
    from sgcond_app.graph.mapping import map_graph
    from sgcond_app.graph.parse import parse_text
    from sgcond_app.ui.generate_room import download
    from sgcond_app.ui.graph_room import export_graph
    from sgcond_app.world import render_sample

    monkeypatch.setattr(files, "MAX_FOLDERS", 4)
    monkeypatch.setattr(files, "GRACE_S", -1)  # every folder counts as handed over already
    from sgcond_app.backends import output

    # report.json's contents are not the point here.
    monkeypatch.setattr(output, "report", lambda r, m=None: {"n": 1})
    s = render_sample(0, 64)
    from sgcond_app.graph.vocabularies import load

    result = SimpleNamespace(image=s.image, segmentation=s.segmentation, depth=s.depth, sketch=s.sketch,
                             candidates=(), vocab=load("tiny"))
    session = Session(map_graph(parse_text("dog on grass")), result)
    paths = []
    for k in range(10):
        paths.append(Path(download(session)))
        paths.append(Path(export_graph(f"dog on grass; sky #{k}" if k % 2 else "dog on grass")))
        assert len(list(root.iterdir())) <= 5  # at most MAX_FOLDERS, and the one just made
    assert paths[-1].is_file() and paths[-2].is_file()  # the newest are still there for Gradio to copy
    with zipfile.ZipFile(paths[-2]) as z:
        assert "segmentation.png" in z.namelist()


def test_the_page_prunes_gradios_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from sgcond_app.ui import create_demo

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    demo = create_demo()
    assert demo.delete_cache == files.delete_cache() == (600, 3600)
    assert Path(demo.GRADIO_CACHE) == tmp_path / "gradio"
    assert os.path.realpath(demo.GRADIO_CACHE) in files._pages  # start_pruning watches it
    kept = files.kept([demo])
    assert kept and all(Path(p).is_relative_to(tmp_path / "gradio") for p in kept)  # the examples' drawings


def test_memory_housekeeping_and_the_session_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    import app

    files.release_free_memory()  # glibc's malloc_trim here; a no-op where there is none
    monkeypatch.delenv("SGCOND_SESSIONS", raising=False)
    assert app.settings([]).sessions == 300
    monkeypatch.setenv("SGCOND_SESSIONS", "40")
    assert app.settings([]).sessions == 40
    monkeypatch.setenv("SGCOND_SESSIONS", "0")
    with pytest.raises(SystemExit):
        app.settings([])


def test_the_app_removes_its_root_on_sigterm(tmp_path: Path) -> None:
    """docker stop and a Space restarting send SIGTERM: app.py stops as on Ctrl-C, and the root
    (Gradio's cache with it) goes."""
    import signal
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "SGCOND_TMP": str(tmp_path), "SGCOND_WARM_UP": "0"}
    env.pop("GRADIO_TEMP_DIR", None)
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, "the app exited"
                time.sleep(0.5)
        (root,) = tmp_path.iterdir()
        assert (root / "gradio").is_dir()  # Gradio's cache, in the root
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert list(tmp_path.iterdir()) == []
