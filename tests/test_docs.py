"""Every fenced code block of README.md and docs/*.md runs, as a reader would run it (issue 34).

- ```bash / ```sh blocks run as commands (`bash -e -o pipefail`) in a temporary folder that stands
  for the repository's root: `app.py`, `assets/`, `docs/`, `tools/` and `weights/` are links to the
  checkout's, the package is importable, and what a block writes stays in the folder. A ```console
  block runs its `$ ` lines. Each page has its own folder; its blocks run in order, so a block may
  use what an earlier one of its page wrote.
- ```python blocks run in a fresh interpreter (`python -`) in the same folder: each is whole, as a
  reader pasting it would run it.
- ```bash server blocks start the app in the background; the blocks that name its port wait until
  it answers. Every port 786x written in the docs is replaced by a free one, in every block.
- ```text blocks are output, not code. ```LANG no-run blocks are not run: the line right above
  each says why (`<!-- no-run: REASON -->`), and at most one code block in five may be one.

Every block that runs must exit 0; CHECKS asserts more of some. The pages run two at a time (this
machine has two cores) with one torch thread per process, so that both cores are used and a
process does not wait on a thread whose core another one holds.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", *(f"docs/{p.name}" for p in sorted((ROOT / "docs").glob("*.md")))]
LANGS = {"bash", "sh", "console", "python", "text"}
FLAGS = {"no-run", "server"}
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
NO_RUN = re.compile(r"^<!-- no-run: (\S.{15,}) -->$")
PORT = re.compile(r"\b786\d\b")  # the app's default port (7860) and the docs' other ones
LINKED = (ROOT / "app.py", ROOT / "assets", ROOT / "docs", ROOT / "tools", ROOT / "weights")
WORKERS = int(os.environ.get("SGCOND_DOCS_WORKERS", "2"))  # pages run at once
BLOCK_SECONDS = 300
SERVER_SECONDS = 240
# The pages with the most work first, so that the two runners finish together.
ORDER = ["docs/cli.md", "docs/api.md", "docs/training.md", "README.md", "docs/backends.md", "docs/chain.md",
         "docs/graphs.md"]


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # of the opening fence
    lang: str
    flags: frozenset[str]
    code: str
    above: str  # the line right above the opening fence

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.lang != "text" and not self.flags & FLAGS

    def serves_on(self) -> str:
        """The port literal a server block listens on (the app's default unless it says)."""
        m = re.search(r"(?:--port[ =]|SGCOND_PORT=)(786\d)\b", self.code)
        return m.group(1) if m else "7860"


def page_blocks(page: str) -> list[Block]:
    text = (ROOT / page).read_text(encoding="utf-8")
    found = []
    for m in FENCE.finditer(text):
        info = m.group(1).split()
        above = text[:m.start()].removesuffix("\n").rsplit("\n", 1)[-1]
        found.append(Block(page, text.count("\n", 0, m.start()) + 1, info[0] if info else "",
                           frozenset(info[1:]), m.group(2), above))
    return found


BLOCKS = {page: page_blocks(page) for page in PAGES}
ALL = [b for blocks in BLOCKS.values() for b in blocks]


def _by_work(page: str) -> int:
    return ORDER.index(page) if page in ORDER else len(ORDER)


# --- what the docs are made of ---------------------------------------------------------------


def test_every_block_is_closed_unindented_and_says_what_it_holds():
    for page in PAGES:
        text = (ROOT / page).read_text(encoding="utf-8")
        assert not re.search(r"^[ \t]+```", text, re.M), f"{page}: an indented fence (write blocks at column 0)"
        fences = len(re.findall(r"^```", text, re.M))
        assert fences == 2 * len(BLOCKS[page]), f"{page}: a fence without its pair"
    for b in ALL:
        assert b.lang in LANGS, f"{b.where}: ```{b.lang} (say bash, sh, console, python or text)"
        assert b.flags <= FLAGS and not (b.lang == "text" and b.flags), f"{b.where}: {sorted(b.flags)}"
        assert b.code.strip(), f"{b.where}: an empty block"
        if "server" in b.flags:
            assert b.lang in {"bash", "sh"} and "app.py" in b.code, f"{b.where}: a server block starts the app"


def test_blocks_that_do_not_run_say_why_and_are_few():
    code = [b for b in ALL if b.lang != "text"]
    skipped = [b for b in code if "no-run" in b.flags]
    for b in skipped:
        assert NO_RUN.match(b.above), f"{b.where}: the line right above a no-run block is <!-- no-run: REASON -->"
    assert len(skipped) * 5 <= len(code), f"{len(skipped)} of {len(code)} code blocks do not run"
    for b in code:  # a reason with no block after it would say nothing
        if "no-run" not in b.flags:
            assert not NO_RUN.match(b.above), f"{b.where}: a no-run reason above a block that runs"


def test_the_readme_is_short_keeps_its_two_commands_and_ci_runs_its_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme) <= 15_000, f"README.md has {len(readme)} characters"
    first = BLOCKS["README.md"][0]
    commands = [line.split("#")[0].strip() for line in first.code.splitlines()]
    assert commands == ["make run", "make test"], commands
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    assert ci[-1] == "make test", "`.ci/run` runs the README's test command"
    assert "### The API" in readme  # tests/test_app.py runs the block under it


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_links_between_the_pages_lead_somewhere():
    for page in PAGES:
        text = (ROOT / page).read_text(encoding="utf-8")
        prose = FENCE.sub("", text)
        for target in re.findall(r"\]\(([^)\s]+)\)", prose):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            file = (ROOT / page).parent / path if path else ROOT / page
            assert file.exists(), f"{page}: {target} does not exist"
            if anchor:
                headings = re.findall(r"^#+ (.+)$", FENCE.sub("", file.read_text(encoding="utf-8")), re.M)
                assert anchor in {_slug(h) for h in headings}, f"{page}: no heading #{anchor} in {path or page}"


def test_benchmarks_hold_one_dated_entry_per_bench_and_history_every_date():
    from sgcond_app import bench

    text = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    entries = re.split(r"^## ", text, flags=re.M)[1:]
    names = [e.split("\n", 1)[0].strip() for e in entries]
    assert names[:-1] == list(bench.REGISTRY) and names[-1] == "Measured by other commands", names
    for name, entry in zip(names[:-1], entries[:-1], strict=True):
        assert f"python -m sgcond_app bench {name}" in entry, f"benchmarks.md: {name} without its command"
        assert re.search(r"\b2\d{3}-\d{2}-\d{2}\b", entry) or "not measured yet" in entry, \
            f"benchmarks.md: {name} without its date"
    history = (ROOT / "docs" / "history.md").read_text(encoding="utf-8")
    dates = re.findall(r"^## (\d{4}-\d{2}-\d{2})", history, re.M)
    assert len(dates) >= 25 and dates == sorted(dates, reverse=True), "history.md: the dated log, newest first"
    for date in set(re.findall(r"\b(2\d{3}-\d{2}-\d{2})\b", text)):
        assert date in dates, f"benchmarks.md quotes {date}, which history.md has no entry for"


# --- running the blocks ----------------------------------------------------------------------


@dataclass
class Outcome:
    block: Block
    returncode: int
    stdout: str
    stderr: str
    seconds: float


@dataclass
class Run:
    folders: dict[str, Path]
    outcomes: dict[str, list[Outcome]] = field(default_factory=dict)
    seconds: float = 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
        return True
    except OSError:
        return False


class Servers:
    """The server blocks the pages need, started in the background; `wait` until one answers."""

    def __init__(self, blocks: list[Block], ports: dict[str, int], env: dict, folders: dict[str, Path], logs: Path):
        self.ports, self.procs, self.logs = ports, {}, {}
        for b in blocks:
            port = ports[b.serves_on()]
            log = logs / f"server-{port}.log"
            self.logs[port] = log
            with open(log, "wb") as out:
                self.procs[port] = subprocess.Popen(
                    ["bash", "-e", "-c", _ported(b.code, ports)], cwd=folders[b.page],
                    env={**env, "SGCOND_PORT": str(port)}, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True)

    def wait(self, port: int) -> None:
        deadline = time.monotonic() + SERVER_SECONDS
        proc = self.procs.get(port)
        assert proc is not None, f"no server block serves port {port}"
        while not _answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = self.logs[port].read_text(errors="replace")[-3000:]
                raise AssertionError(f"the app on port {port} did not come up:\n{tail}")
            time.sleep(0.25)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _ported(code: str, ports: dict[str, int]) -> str:
    return PORT.sub(lambda m: str(ports[m.group()]), code)


def _command(b: Block, code: str) -> list[str]:
    if b.lang == "python":
        return [sys.executable, "-"]
    if b.lang == "console":
        code = "\n".join(line[2:] for line in code.splitlines() if line.startswith("$ "))
    return ["sh", "-e", "-c", code] if b.lang == "sh" else ["bash", "-e", "-o", "pipefail", "-c", code]


def _run_page(page: str, run: Run, servers: Servers, env: dict) -> list[Outcome]:
    folder, done = run.folders[page], []
    for b in BLOCKS[page]:
        if not b.runs:
            continue
        try:
            for literal in sorted(set(PORT.findall(b.code))):
                servers.wait(servers.ports[literal])
        except AssertionError as e:
            done.append(Outcome(b, -2, "", str(e), 0.0))
            break
        code = _ported(b.code, servers.ports) + "".join(c.appended for c in _checks(b))
        start = time.monotonic()
        try:
            p = subprocess.run(_command(b, code), input=code if b.lang == "python" else None, cwd=folder, env=env,
                               capture_output=True, text=True, timeout=BLOCK_SECONDS)
            outcome = Outcome(b, p.returncode, p.stdout, p.stderr, time.monotonic() - start)
        except subprocess.TimeoutExpired as e:
            outcome = Outcome(b, -1, str(e.stdout or ""), f"timed out after {BLOCK_SECONDS} s", BLOCK_SECONDS)
        done.append(outcome)
        if outcome.returncode != 0:
            break  # later blocks of the page may need what this one did not make
    return done


@pytest.fixture(scope="module")
def ran(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Run:
    wanted = sorted({item.callspec.params["page"] for item in request.session.items
                     if getattr(item, "originalname", "") == "test_the_pages_code_runs"
                     and hasattr(item, "callspec")}, key=_by_work)
    root = tmp_path_factory.mktemp("docs")
    folders = {}
    for page in PAGES:
        folders[page] = root / page.replace("/", "_").removesuffix(".md")
        folders[page].mkdir()
        for target in LINKED:
            (folders[page] / target.name).symlink_to(target)
    (root / "app-tmp").mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "SGCOND_TMP": str(root / "app-tmp"),
           "SGCOND_WARM_UP": "0", "PYTHONUNBUFFERED": "1", "TQDM_DISABLE": "1", "HF_HUB_OFFLINE": "1"}
    env.pop("GRADIO_TEMP_DIR", None)
    ports = {literal: _free_port() for literal in sorted({p for b in ALL for p in PORT.findall(b.code)} | {"7860"})}
    # The servers the wanted pages call, and the ones those call.
    serving = {b.serves_on(): b for b in ALL if "server" in b.flags}
    needed = {p for page in wanted for b in BLOCKS[page] if b.runs for p in PORT.findall(b.code)}
    while True:
        more = {p for literal in needed if literal in serving for p in PORT.findall(serving[literal].code)}
        if more <= needed:
            break
        needed |= more
    servers = Servers([serving[p] for p in sorted(needed) if p in serving], ports, env, folders, root)
    run = Run(folders)
    start = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            futures = {page: pool.submit(_run_page, page, run, servers, env) for page in wanted}
            run.outcomes = {page: f.result() for page, f in futures.items()}
    finally:
        servers.stop()
    run.seconds = time.monotonic() - start
    slowest = sorted((o for done in run.outcomes.values() for o in done), key=lambda o: -o.seconds)
    print(f"\ndocs: {len(slowest)} blocks in {run.seconds:.0f} s: "
          + ", ".join(f"{o.block.where} {o.seconds:.1f} s" for o in slowest))
    return run


@pytest.mark.slow
@pytest.mark.parametrize("page", [p for p in sorted(PAGES, key=_by_work) if any(b.runs for b in BLOCKS[p])])
def test_the_pages_code_runs(page: str, ran: Run) -> None:
    outcomes = ran.outcomes[page]
    for o in outcomes:
        assert o.returncode == 0, (f"{o.block.where} ({o.block.lang}) exited {o.returncode}:\n{o.block.code[:600]}\n"
                                   f"--- stdout\n{o.stdout[-2000:]}\n--- stderr\n{o.stderr[-3000:]}")
    assert len(outcomes) == sum(b.runs for b in BLOCKS[page])
    for o in outcomes:
        for c in _checks(o.block):
            if c.check is not None:
                c.check(o.stdout, ran.folders[page])


def test_every_check_is_of_one_block_that_runs():
    for c in CHECKS:
        matched = [b for b in BLOCKS[c.page] if c.marker in b.code]
        assert len(matched) == 1 and matched[0].runs, f"CHECKS: {c.page} {c.marker!r} matches {len(matched)} blocks"
        assert not c.appended or matched[0].lang == "python"


# --- what some blocks must show ----------------------------------------------------------------


def _files(folder: Path, *names: str) -> None:
    for name in names:
        assert (folder / name).is_file(), f"{name} was not written"


def _report(folder: Path, name: str) -> dict:
    return json.loads((folder / name / "report.json").read_text())


def _readme_cli(out: str, folder: Path) -> None:
    assert "tree left of red car" in out and "map: object recall" in out
    _files(folder, "out/image.png", "out/report.json", "picture/graph.json", "picture/inversion.safetensors",
           "edited/image.png")
    assert "car" not in {o if isinstance(o, str) else o["label"] for o in _report(folder, "edited")["graph"]["objects"]}


def _cli_parse(out: str, folder: Path) -> None:
    assert "road" in out and "dog" in out  # street -> road, puppy -> dog
    assert json.loads((folder / "understood.json").read_text())["graphs"][0]["words"]


def _cli_generate(out: str, folder: Path) -> None:
    report = _report(folder, "scene")
    assert report["seed"] == 3 and len(report["candidates"]) == 8 and "picture" in report
    assert len(list((folder / "scene" / "candidates").glob("*_segmentation.png"))) == 8


def _cli_edits(out: str, folder: Path) -> None:
    for name in ("moved", "turned"):
        _files(folder, f"{name}/image.png", f"{name}/report.json", f"{name}/picture.png")


def _trained(out: str, folder: Path) -> None:
    _files(folder, "mine/segmenter/model.safetensors", "mine/segmenter/config.json")
    assert "train segmenter --data coco-panoptic:renders/panoptic.json" in out  # the card's exact command


def _printed(*words: str) -> Callable[[str, Path], None]:
    def check(out: str, folder: Path) -> None:
        for word in words:
            assert word in out, f"{word!r} not in the output:\n{out[-1500:]}"
    return check


@dataclass(frozen=True)
class Check:
    page: str
    marker: str  # text of the one block it is about
    appended: str = ""  # Python run at the end of that (python) block
    check: Callable[[str, Path], object] | None = None  # of the block's stdout and its page's folder


def _checks(b: Block) -> list[Check]:
    return [c for c in CHECKS if c.page == b.page and c.marker in b.code]


CHECKS = [
    Check("README.md", "python -m sgcond_app edit picture --concept -car --out edited", check=_readme_cli),
    Check("README.md", 'api_name="/download"', appended=(
        '\nlabels = {o if isinstance(o, str) else o["label"] for o in report["graph"]["objects"]}'
        '\nassert labels >= {"sky", "grass", "car", "tree"}, labels'
        "\nimport os; assert os.path.isfile(zip_path) and os.path.isfile(json_path)"
        '\nassert "dog" in notes and words["data"]\n')),
    Check("docs/cli.md", "parse graph.txt --json > understood.json", check=_cli_parse),
    Check("docs/cli.md", "generate graph.txt --out scene --seed 3 --samples 8", check=_cli_generate),
    Check("docs/cli.md", "--graph turned.json --out turned", check=_cli_edits),
    Check("docs/api.md", "(32, 2) is sky", check=_printed("not on an object")),
    Check("docs/api.md", 'api_name="/apply_graph"', appended=(
        '\nassert any(r[1] == "right of" and r[3].startswith("yes") for r in relations["data"]), relations'
        '\nassert "tree" not in {o if isinstance(o, str) else o["label"] for o in report["graph"]["objects"]}\n')),
    Check("docs/api.md", "gradio_api/call/parse/$EVENT", check=_printed("event: complete", "dog")),
    Check("docs/api.md", "--backend http://127.0.0.1:7860/ --samples 4", check=_printed("map: object recall")),
    Check("docs/api.md", "/backend_capabilities", check=_printed("tiny 64 128")),
    Check("docs/backends.md", "again = backend.rerun(", appended=(
        "\nassert again.segmentation.shape == (64, 64) and result.image.shape == (128, 128, 3)\n")),
    Check("docs/backends.md", 'page = Client("http://127.0.0.1:7861/")', check=_printed("dog")),
    Check("docs/training.md", "data stats coco-panoptic:renders/panoptic.json", check=_printed("8 records")),
    Check("docs/training.md", "cat mine/segmenter/README.md", check=_trained),
    Check("docs/chain.md", "regenerate_segmentation", check=_printed("pixels given back: 1.0")),
    Check("docs/graphs.md", "parse broken.json", check=_printed("exit code 2")),
    Check("docs/benchmarks.md", "bench render",
          check=lambda out, folder: json.loads((folder / "render.json").read_text())["samples_per_second"]),
]
