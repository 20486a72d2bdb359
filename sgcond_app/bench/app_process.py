"""`python app.py` in a child process on a free port of 127.0.0.1, for the benches and tests that
drive the app from outside (memory, attack): started with a private temporary root, waited for,
measured (resident memory from /proc) and stopped as `docker stop` stops it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MiB (from /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):  # gone meanwhile, or a zombie
            continue
    return total / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppProcess:
    """The app in a child process: `start()` (or `with`) returns once its page answers; `url`,
    `pid`, `rss_mb()`; `stop()` sends SIGTERM and waits, then SIGABRT (faulthandler writes where it
    waited to the log), then kills. Its output goes to `work/server.log`, its temporary root is
    `work/app`."""

    def __init__(self, work: Path, args: tuple[str, ...] = (), env: dict | None = None):
        self.work, self.args = Path(work), tuple(args)
        self.tmp, self.log = self.work / "app", self.work / "server.log"
        self.env = {**os.environ, "SGCOND_WARM_UP": "1", "SGCOND_TMP": str(self.tmp), "PYTHONUNBUFFERED": "1",
                    "PYTHONFAULTHANDLER": "1", **(env or {})}
        self.env.pop("GRADIO_TEMP_DIR", None)  # Gradio's cache: the app's own, in its root under SGCOND_TMP
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_mb(self) -> float:
        return rss_mb(self.pid)

    def start(self, timeout: float = 300) -> AppProcess:
        import httpx

        self.tmp.mkdir(parents=True, exist_ok=True)
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port",
                                          str(self.port), *self.args], cwd=ROOT, env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url, timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"the app did not answer within {timeout:.0f} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> int | None:
        """SIGTERM, as docker stop: the app closes and removes its temporary root. Its exit code."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # where it waits goes to the log (PYTHONFAULTHANDLER)
            self.proc.send_signal(signal.SIGABRT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self) -> AppProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
