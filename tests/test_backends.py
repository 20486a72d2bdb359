"""The backend boundary: plain values cross it, results serialize, the tiny backend honours the
protocol, and the page's code reaches the models only through it."""

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from sgcond_app.backends import Backend, Options, get_backend, report, wire
from sgcond_app.backends.tiny import TinyBackend
from sgcond_app.errors import BadInput
from sgcond_app.graph.scene_graph import SceneGraph

ROOT = Path(__file__).resolve().parents[1]
FAST = {"segmentation": 4, "depth": 3, "sketch": 3, "image": 4}


@pytest.fixture(scope="module")
def backend():
    return TinyBackend()


@pytest.fixture(scope="module")
def result(backend):
    g = SceneGraph.build([("sky", ()), ("grass", ()), ("dog", ()), ("tree", ())],
                         [(2, "on", 1), (2, "left of", 3), (0, "above", 1)])
    return backend.generate(g, seed=4, options=Options(samples=3, steps=dict(FAST)))


def _plain(value, path="result"):
    """Every value inside is a number, a string, a numpy array or a container of those."""
    import torch

    assert not isinstance(value, torch.Tensor), path
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _plain(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, dict):
        for k, v in value.items():
            _plain(v, f"{path}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for k, v in enumerate(value):
            _plain(v, f"{path}[{k}]")


def test_the_tiny_backend_is_a_backend(backend):
    assert isinstance(backend, Backend)
    caps = backend.capabilities
    assert caps.name == "tiny" and caps.factors[-1] == "image" and caps.map_size == 64
    assert caps.steps_after("sketch") == {"sketch": caps.default_steps["sketch"], "image": caps.default_steps["image"]}
    assert type(caps).from_json(caps.to_json()) == caps


def test_a_result_is_plain_values(result):
    _plain(result)
    assert result.options.steps == FAST and set(result.options.guidance) == set(FAST)
    assert result.segmentation.shape == (64, 64) and result.image.shape[2] == 3
    assert report(result)["settings"]["samples"] == 3


def test_a_result_survives_the_wire(result):
    back = wire.from_bytes(wire.to_bytes(result))
    for name in ("segmentation", "depth", "sketch", "image"):
        assert np.array_equal(getattr(back, name), getattr(result, name)), name
    assert back.graph == result.graph and back.options == result.options and back.chosen == result.chosen
    assert back.verdict.to_json() == result.verdict.to_json()
    assert [c.verdict.to_json() for c in back.candidates] == [c.verdict.to_json() for c in result.candidates]
    assert np.array_equal(back.state["depth32"], result.state["depth32"])
    # The picture as read back travels too, and is judged again on arrival as the maps are.
    assert np.array_equal(back.picture_reading, result.picture_reading)
    assert back.picture_verdict.to_json() == result.picture_verdict.to_json()
    picture = report(back)["picture"]
    assert picture["object_recall"] == result.picture_verdict.object_recall
    assert picture["verdict"] == result.picture_verdict.to_json()
    header, arrays = wire.to_arrays(result)
    with pytest.raises(BadInput, match="picture reading"):
        wire.from_arrays(header, {**arrays, "picture_reading": arrays["picture_reading"][:10]})
    for bad in (b"", b"not a result", wire.to_bytes(result)[:200]):
        with pytest.raises(BadInput):
            wire.from_bytes(bad)


def test_a_rerun_from_a_result_that_crossed_the_wire_is_the_same(backend, result):
    """The opaque state is enough to repeat the noise: rerunning the image from a result read back
    from bytes gives the pixels a rerun of the original gives."""
    a = backend.rerun(result, what="image")
    b = backend.rerun(wire.from_bytes(wire.to_bytes(result)), what="image")
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.image, result.image)  # nothing was edited: the same picture


def test_choose_and_a_foreign_result(backend, result):
    other = backend.choose(result, 1)
    assert other.chosen == 1 and np.array_equal(other.segmentation, result.candidates[1].segmentation)
    foreign = dataclasses.replace(result, backend="sd", state={})
    with pytest.raises(BadInput, match="generate it again"):
        backend.rerun(foreign)
    with pytest.raises(BadInput):
        backend.rerun(result, what="segmentation")


def test_options_are_checked(backend):
    g = SceneGraph.build([("dog", ())], [])
    with pytest.raises(BadInput, match="no factor"):
        backend.generate(g, options=Options(steps={"colour": 3}))
    with pytest.raises(BadInput):
        backend.generate(g, options=Options(samples=0))
    with pytest.raises(BadInput, match="unknown option"):
        Options.from_json({"sample": 3})
    assert Options.from_json(Options(samples=2).to_json()) == Options(samples=2)
    with pytest.raises(BadInput, match="unknown backend"):
        get_backend("quantum")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, relative imports resolved against the package."""
    tree = ast.parse(path.read_text())
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            out.add(".".join(p for p in (base, node.module or "") if p))
    return out


def test_the_page_reaches_the_models_only_through_a_backend():
    for path in sorted((ROOT / "sgcond_app" / "ui").glob("*.py")):
        bad = {m for m in _imports(path) if m.startswith(("sgcond_app.fgdm", "sgcond_app.models", "torch"))}
        assert not bad, f"{path.name} imports {sorted(bad)}"
    for path in sorted((ROOT / "sgcond_app" / "fgdm").glob("*.py")):
        bad = {m for m in _imports(path) if m.startswith(("sgcond_app.ui", "sgcond_app.backends"))}
        assert not bad, f"{path.name} imports {sorted(bad)}"


def tiny_random_backend() -> TinyBackend:
    """The whole tiny backend from random models of tiny configs, in memory: no weights read but
    the word table (a table of words, not a model)."""
    import torch

    from sgcond_app.fgdm.chain import Chain
    from sgcond_app.fgdm.factors import FACTORS, TOKEN_DIM, tiny_config
    from sgcond_app.models.denoiser import FactorDenoiser
    from sgcond_app.models.graph_encoder import SceneGraphEncoder
    from sgcond_app.models.segmenter import Segmenter
    from sgcond_app.models.words import WordTable

    torch.manual_seed(0)
    encoder = SceneGraphEncoder(SceneGraphEncoder.Config(dim=TOKEN_DIM, graph_layers=1, image_channels=(8, 8, 8),
                                                         image_layers=1, decoder_layers=1)).eval()
    factors = {f: FactorDenoiser(tiny_config(f)).eval() for f in FACTORS}
    segmenter = Segmenter(Segmenter.Config(channels=(8, 16, 16, 16))).eval()
    words = WordTable.load(ROOT / "weights" / "encoder")
    return TinyBackend(Chain(encoder, words, factors, segmenter))


def test_a_backend_from_tiny_random_components():
    b = tiny_random_backend()
    g = SceneGraph.build([("sky", ()), ("grass", ()), ("horse", ())], [(2, "on", 1), (0, "above", 1)])
    seen = []
    r = b.generate(g, seed=1, options=Options(samples=2, steps={"segmentation": 2, "depth": 2, "sketch": 2,
                                                                  "image": 2}),
                   on_step=lambda f, i, n: seen.append(f))
    assert set(seen) == {"segmentation", "depth", "sketch", "image"}
    assert r.image.shape == (128, 128, 3) and len(r.candidates) == 2
    edited = r.segmentation.copy()
    edited[:8] = 0
    again = b.rerun(r, edited, what="sketch")
    assert np.array_equal(again.segmentation, edited) and np.array_equal(again.state["depth32"], r.state["depth32"])

    def stop(factor, i, n):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # a callback that raises ends the work: that is Stop
        b.rerun(r, what="depth", on_step=stop)


def test_the_readme_front_matter_has_what_a_space_needs():
    import re

    import gradio

    head = (ROOT / "README.md").read_text(encoding="utf-8").split("---")[1]
    fields = dict(re.findall(r"^(\w+):\s*\"?([^\"\n]+)\"?$", head, re.M))
    assert fields["sdk"] == "gradio" and fields["app_file"] == "app.py"
    assert fields["sdk_version"].split(".")[0] == gradio.__version__.split(".")[0]  # requirements: gradio 6
    assert fields["python_version"] == "3.11" and fields["suggested_hardware"]


def test_the_docs_backend_example_runs():
    """docs/backends.md's Python example of the boundary, taken from the page."""
    import re

    page = (ROOT / "docs" / "backends.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(from sgcond_app.backends import .*?)```", page, re.S).group(1)
    ns: dict = {}
    exec(compile(code, "docs/backends.md", "exec"), ns)
    assert ns["again"].segmentation.shape == (64, 64)
