"""The app's temporary files in one place, and the bounds on them and on Gradio's cache.

Every folder the app writes for a person (an exported graph, a zip of a result) is made by
`new_folder` under one root for this process: `sgcond-app-PID-XXXX` in `$SGCOND_TMP`, or in the
system's temporary folder when that is not set. Making a folder prunes the root: folders older than
`MAX_AGE_S` go, and beyond `MAX_FOLDERS` the oldest go too (never one younger than `GRACE_S`). The
root is removed when the interpreter exits normally (app.py turns SIGTERM into Ctrl-C; not on
SIGKILL: the roots of processes that are gone are removed by the next app, once older than
`MAX_AGE_S`).

Pruning by age is safe for files handed to Gradio: when a handler returns a file path, Gradio
copies the file into its own cache while it post-processes that request's outputs
(`processing_utils.save_file_to_cache`, called by `move_files_to_cache`) and serves the copy; our
folder is needed only for that moment.

Gradio's cache (uploads and outputs) is, unless GRADIO_TEMP_DIR names one, the folder `gradio` of
the root (`gradio_cache`), so it goes with the root at exit. Gradio's own `delete_cache`
(`delete_cache()`, given to gr.Blocks) deletes only files it tracks in the Blocks' sets, and misses
two kinds: an output of a component that a handler updated (gr.update or gr.skip, as the studio's
streamed maps do) is cached through the session's own copy of that component, whose set Gradio never
looks at, and the per-file folders it empties stay. `start_pruning` removes, every PRUNE_EVERY_S,
whatever in the cache is older than MAX_AGE_S except the files the page keeps (examples, defaults).

Settings from the environment: SGCOND_TMP (the folder for the root), SGCOND_TMP_MAX_AGE (seconds a
temporary file lives at least, default 3600) and SGCOND_TMP_EVERY (seconds between prunings,
default 600). A GRADIO_TEMP_DIR of your own is pruned in the same way: do not share it between apps.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)


def _env_seconds(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit() or int(raw) < 1:
        raise SystemExit(f"{name} must be a whole number of seconds (1 or more), not {raw!r}")
    return int(raw)


MAX_AGE_S = _env_seconds("SGCOND_TMP_MAX_AGE", 3600)  # a temporary file lives this long at least
PRUNE_EVERY_S = _env_seconds("SGCOND_TMP_EVERY", 600)  # the root and Gradio's cache are pruned this often
MAX_FOLDERS = 200  # folders kept under the root at most (beyond: the oldest go)
GRACE_S = 60  # a folder this young is never pruned by count: Gradio may not have copied it yet

ROOT_PREFIX = "sgcond-app-"
GRADIO_FOLDER = "gradio"  # Gradio's cache, in the root, unless GRADIO_TEMP_DIR names another
_ROOT_NAME = re.compile(rf"{ROOT_PREFIX}(\d+)-")

_root: Path | None = None
_root_pid = 0
_lock = threading.Lock()
_pages: dict[str, weakref.WeakSet] = {}  # Gradio cache -> the pages (Blocks) using it, pruned by a thread


def base() -> Path:
    """The folder the root lives in: $SGCOND_TMP or the system's temporary folder."""
    return Path(os.environ.get("SGCOND_TMP") or tempfile.gettempdir()).resolve()


def root() -> Path:
    """This process's folder for temporary files, made on first use and removed at exit."""
    global _root, _root_pid
    with _lock:
        if _root is None or _root_pid != os.getpid():  # a forked child makes its own
            folder = base()
            folder.mkdir(parents=True, exist_ok=True)
            _remove_dead_roots(folder)
            _root, _root_pid = Path(tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{os.getpid()}-", dir=folder)), os.getpid()
            atexit.register(_remove_root, _root, _root_pid)
        elif not _root.is_dir():  # removed from outside: made again
            _root.mkdir(parents=True, exist_ok=True)
        return _root


def new_folder(prefix: str = "sgcond-") -> Path:
    """A fresh, empty folder under the root; the root's old folders are pruned first."""
    prune()
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root()))


def prune(max_age_s: float | None = None, max_folders: int | None = None) -> int:
    """Remove the root's folders (not Gradio's cache) older than max_age_s (default MAX_AGE_S) and,
    beyond max_folders (default MAX_FOLDERS), the oldest ones older than GRACE_S. -> how many went."""
    max_age_s = MAX_AGE_S if max_age_s is None else max_age_s
    max_folders = MAX_FOLDERS if max_folders is None else max_folders
    now = time.time()
    aged = []
    for entry in os.scandir(root()):
        try:
            if entry.name != GRADIO_FOLDER and entry.is_dir(follow_symlinks=False):
                aged.append((entry.stat(follow_symlinks=False).st_mtime, entry.path))
        except FileNotFoundError:  # pruned meanwhile by another request
            continue
    aged.sort()
    extra = len(aged) - max_folders
    removed = 0
    for k, (mtime, path) in enumerate(aged):
        age = now - mtime
        if age > max_age_s or (k < extra and age > GRACE_S):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


def gradio_cache() -> Path:
    """Gradio's cache for this process: GRADIO_TEMP_DIR when set; otherwise the root's `gradio`
    folder, put in GRADIO_TEMP_DIR for Gradio to use (call it before the first gr.Blocks is made)."""
    named = os.environ.get("GRADIO_TEMP_DIR")
    if named:
        return Path(named).resolve()
    cache = root() / GRADIO_FOLDER
    cache.mkdir(exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(cache)
    return cache


def delete_cache() -> tuple[int, int]:
    """(frequency, age) in seconds for gr.Blocks(delete_cache=...)."""
    return PRUNE_EVERY_S, MAX_AGE_S


def prune_cache(cache: str | Path, keep: Iterable[str] = (), max_age_s: float | None = None) -> int:
    """Remove the files in `cache` (at any depth) unchanged for max_age_s (default MAX_AGE_S)
    except those in `keep`, then the empty folders: those this emptied, and those empty for
    GRACE_S (Gradio's delete_cache empties them; a younger one may be about to get its file).
    -> how many entries went. Gradio touches a cached copy it hands out again, so a file in use stays."""
    max_age_s = MAX_AGE_S if max_age_s is None else max_age_s
    keep = {os.path.realpath(p) for p in keep}
    now = time.time()
    removed = 0
    emptied: set[str] = set()
    for folder, dirs, names in os.walk(cache, topdown=False):
        for name in names:
            path = os.path.join(folder, name)
            try:
                st = os.lstat(path)
                if now - max(st.st_mtime, st.st_ctime) > max_age_s and os.path.realpath(path) not in keep:
                    os.unlink(path)
                    emptied.add(folder)
                    removed += 1
            except OSError:  # gone meanwhile
                continue
        for name in dirs:
            path = os.path.join(folder, name)
            try:
                if path in emptied or now - os.lstat(path).st_mtime > min(GRACE_S, max_age_s):
                    os.rmdir(path)  # never a folder with anything in it
                    emptied.add(folder)
                    removed += 1
            except OSError:  # not empty, or gone
                continue
    return removed


def release_free_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's malloc_trim; nothing elsewhere).
    What Python, numpy and torch free in a request's worker thread stays in the process's malloc
    arenas otherwise: over 150 requests of bench memory's traffic the server's RSS grew by 63 MiB,
    the Python objects still alive by 7 MiB, and malloc_trim gave 31 MiB back."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # no glibc (macOS, musl)
        pass


def start_pruning(page) -> None:
    """Prune the root and the page's Gradio cache (page: a gr.Blocks) every PRUNE_EVERY_S, in one
    daemon thread per cache and process (the files the page keeps in its cache stay), and hand
    freed memory back to the system on the same clock."""
    cache = os.path.realpath(page.GRADIO_CACHE)
    with _lock:
        pages = _pages.get(cache)
        if pages is not None:
            pages.add(page)
            return
        pages = _pages[cache] = weakref.WeakSet([page])

    def loop() -> None:
        while True:
            time.sleep(PRUNE_EVERY_S)
            try:
                prune()
                prune_cache(cache, kept(list(pages)))
                release_free_memory()
            except Exception:  # logged; the next round tries again
                log.exception("pruning temporary files failed")

    threading.Thread(target=loop, daemon=True, name="sgcond-prune").start()


def kept(pages: Iterable) -> set[str]:
    """The files pages keep in Gradio's cache for their whole life (examples, default values)."""
    out: set[str] = set()
    for page in pages:
        for block in list(page.blocks.values()):
            out.update(getattr(block, "keep_in_cache", ()))
    return out


def allowed_paths() -> list[str] | None:
    """For launch(allowed_paths=...): Gradio copies a returned file only from the working folder,
    the system's temporary folder or an allowed path; the root is added when it lies elsewhere
    ($SGCOND_TMP), with GRADIO_ALLOWED_PATHS kept. None: nothing to add."""
    folder = root()
    if any(folder.is_relative_to(Path(p).resolve()) for p in (tempfile.gettempdir(), os.getcwd())):
        return None
    extra = [p.strip() for p in os.environ.get("GRADIO_ALLOWED_PATHS", "").split(",") if p.strip()]
    return [*extra, str(folder)]


def _remove_root(folder: Path, pid: int) -> None:
    if os.getpid() == pid:  # not in a forked child that inherited the handler
        shutil.rmtree(folder, ignore_errors=True)


def _remove_dead_roots(folder: Path) -> None:
    """Roots left by processes that are gone (killed), once older than MAX_AGE_S."""
    now = time.time()
    for entry in os.scandir(folder):
        match = _ROOT_NAME.match(entry.name)
        if match is None or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime <= MAX_AGE_S:
                continue
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(entry.path, ignore_errors=True)
        except OSError:  # alive under another user, or gone meanwhile
            continue
