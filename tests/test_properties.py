"""Properties of everything that reads a person's input, over generated inputs (hypothesis).

The one promise: a parser, a mask operation or a picture decoder given anything returns its
value or raises `BadInput`, never another exception, and leaves its input untouched. Graphs
also survive a round trip through both of their formats.

About 1,900 generated cases in all (the `max_examples` below), in well under a minute.
"""

import copy
import io
import json
import math
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from sgcond_app.editing import masks as ed
from sgcond_app.errors import BadInput
from sgcond_app.graph import vocab
from sgcond_app.graph.parse import load_graphs, parse_graph_text, parse_json, parse_text
from sgcond_app.graph.scene_graph import SceneGraph, unsafe_character
from sgcond_app.world import classes
from sgcond_app.world import io as picture_io

SG2IM = Path(__file__).resolve().parents[2] / "shared" / "external" / "sg2im"
SG2IM_GRAPHS = [g for path in sorted(SG2IM.glob("*.json")) for g in json.loads(path.read_text())]
ONE_FILE = [HealthCheck.function_scoped_fixture]  # tmp_path is reused: every example rewrites one file


def fuzz(n: int):
    return settings(max_examples=n, deadline=None, suppress_health_check=ONE_FILE)


def parsed_or_refused(parse, *args) -> list[SceneGraph] | None:
    """What every graph parser promises: graphs whose text is plain and encodable, or BadInput."""
    try:
        graphs = parse(*args)
    except BadInput as e:
        assert str(e) and "\n" not in str(e)
        return None
    graphs = graphs if isinstance(graphs, list) else [graphs]
    assert graphs and all(isinstance(g, SceneGraph) for g in graphs)
    for g in graphs:
        assert unsafe_character(g.to_text()) is None
        g.to_json().encode("utf-8")
    return graphs


# --- (a) graphs --------------------------------------------------------------------------------

LABELS = list(classes.CLASS_NAMES)
WORDS = [*LABELS, *vocab.ATTRIBUTES, *vocab.PREDICATES, "man", "broccoli", "of", "#1", "#2", "#", ";", "\n",
         "{", "[", "]", "}", '"', ",", "5", "-1", "😀", "\x1b[31m", "\ud800", "\u202e", "\t", "\ufeff", "_"]
ANY_CHARACTER = st.characters(exclude_categories=())  # surrogates and controls included

graph_texts = st.one_of(
    st.text(ANY_CHARACTER, max_size=120),
    st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join),
    st.lists(st.sampled_from(WORDS) | st.text(ANY_CHARACTER, max_size=6), max_size=30).map("".join),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(ANY_CHARACTER, max_size=12)
    | st.sampled_from([*LABELS[:6], *vocab.PREDICATES[:4], 0, 1, 2, -1, 10**30]),
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.sampled_from(["objects", "relationships", "relations", "attributes", "label",
                                       "name", "subject", "predicate", "object"]) | st.text(max_size=6),
                      inner, max_size=5),
    max_leaves=30,
)


@st.composite
def sg2im_graphs(draw) -> dict:
    """A valid sg2im graph of tiny-world words: labels or {"label", "attributes"}, index triples."""
    n = draw(st.integers(1, 6))
    objects = [draw(st.sampled_from(LABELS) | st.builds(
        lambda label, attrs: {"label": label, "attributes": attrs},
        st.sampled_from(LABELS), st.lists(st.sampled_from(vocab.ATTRIBUTES), max_size=3))) for _ in range(n)]
    relation = st.tuples(st.integers(0, n - 1), st.sampled_from(vocab.PREDICATES), st.integers(0, n - 1)).map(list)
    return {"objects": objects, "relationships": draw(st.lists(relation, max_size=6))}


def _nodes(value, path=()):
    """Every place below the root of a JSON value, as a path of keys and indices."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield (*path, key)
        yield from _nodes(child, (*path, key))


@st.composite
def mutated_sg2im(draw):
    """One sg2im graph or a list of them (from the sg2im files and generated), with one to three
    places replaced by any JSON value, deleted, or given a neighbour."""
    base = draw(st.sampled_from(SG2IM_GRAPHS) | sg2im_graphs() if SG2IM_GRAPHS else sg2im_graphs())
    data = copy.deepcopy(draw(st.sampled_from([base, [base, draw(sg2im_graphs())]])))
    for _ in range(draw(st.integers(1, 3))):
        places = list(_nodes(data))
        if not places:
            break
        *above, key = draw(st.sampled_from(places))
        parent = data
        for k in above:
            parent = parent[k]
        action = draw(st.sampled_from(["replace", "delete", "insert"]))
        if action == "replace":
            parent[key] = draw(json_values)
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, list):
            parent.insert(key, draw(json_values))
        else:
            parent[draw(st.text(max_size=8))] = draw(json_values)
    return data


@fuzz(300)
@given(graph_texts)
def test_any_text_parses_to_graphs_or_is_refused(text):
    parsed_or_refused(parse_graph_text, text)


@fuzz(200)
@given(json_values)
def test_any_json_value_parses_to_graphs_or_is_refused(value):
    parsed_or_refused(parse_graph_text, json.dumps(value))


@fuzz(300)
@given(mutated_sg2im())
def test_mutated_sg2im_graphs_parse_or_are_refused(data):
    before = copy.deepcopy(data)
    parsed_or_refused(parse_json, json.dumps(data))
    assert data == before


@fuzz(100)
@given(content=st.binary(max_size=300) | graph_texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
       suffix=st.sampled_from([".json", ".txt", ""]))
def test_any_file_loads_as_graphs_or_is_refused(tmp_path, content, suffix):
    path = tmp_path / f"graph{suffix}"
    path.write_bytes(content)
    parsed_or_refused(load_graphs, path)


@st.composite
def scene_graphs(draw, labels=st.sampled_from(LABELS)) -> SceneGraph:
    n = draw(st.integers(1, 8))
    objects = [(draw(labels), draw(st.lists(st.sampled_from(vocab.ATTRIBUTES), max_size=3, unique=True)))
               for _ in range(n)]
    triples = draw(st.lists(st.tuples(st.integers(0, n - 1), st.sampled_from(vocab.PREDICATES),
                                      st.integers(0, n - 1)), max_size=10))
    try:
        return SceneGraph.build(objects, triples)
    except BadInput:  # a free label can normalise to nothing ("_"): not a graph to round-trip
        assume(False)


def in_text_order(g: SceneGraph) -> SceneGraph:
    """`g` with its objects numbered as its text names them: by first mention in the relations,
    then the objects no relation mentions."""
    order = list(dict.fromkeys([i for r in g.relations for i in (r.subject, r.object)]))
    order += [i for i in range(len(g.objects)) if i not in order]
    new = {old: k for k, old in enumerate(order)}
    return SceneGraph.build([g.objects[i] for i in order],
                            [(new[r.subject], r.predicate, new[r.object]) for r in g.relations])


@fuzz(150)
@given(scene_graphs())
def test_a_graph_reads_back_from_its_text(g):
    assert parse_text(g.to_text()) == in_text_order(g)


free_labels = st.text(st.characters(categories=["L", "M", "N", "P", "S", "Zs"]), min_size=1, max_size=20)


@fuzz(150)
@given(st.one_of(scene_graphs(), scene_graphs(labels=free_labels)))
def test_a_graph_reads_back_from_its_json(g):
    assert parse_json(g.to_json()) == [g]
    assert parse_graph_text(g.to_json(indent=1)) == [g]


def test_a_graph_in_any_script_reads_back_from_its_json():
    g = SceneGraph.build([("Ünïcödé Straße", ["shiny"]), ("日本の車", [])], [(0, "next to", 1)])
    assert g.labels == ["ünïcödé straße", "日本の車"]
    assert parse_json(g.to_json()) == [g]


# --- (b) mask operations -----------------------------------------------------------------------

STUFF = sorted(classes.STUFF_IDS)
THINGS = [c for c in range(classes.NUM_CLASSES) if c not in classes.STUFF_IDS]


@st.composite
def segmentations(draw) -> np.ndarray:
    """16x16 class ids: a stuff background and up to five rectangles of any class (or void)."""
    seg = np.full((16, 16), draw(st.sampled_from(STUFF)), np.uint8)
    for _ in range(draw(st.integers(0, 5))):
        y, x = draw(st.integers(0, 15)), draw(st.integers(0, 15))
        h, w = draw(st.integers(1, 16)), draw(st.integers(1, 16))
        seg[y:y + h, x:x + w] = draw(st.sampled_from(THINGS) | st.sampled_from([*STUFF, vocab.VOID]))
    return seg


amounts = st.one_of(
    st.integers(-20, 20), st.integers(), st.floats(),
    st.sampled_from([0, 1, 0.5, 2.0, 4.0, 0.25, 16, -16, 17, 1e300, -1e300, 10**400, math.nan, math.inf]),
    st.sampled_from(["3", None, True, [1]]),
)


def operate(op: str, m: ed.Masks, iid: int, a, b) -> ed.Masks | int:
    if op == "move":
        return ed.move(m, iid, a, b)
    if op == "resize":
        return ed.resize(m, iid, a)
    if op == "flip":
        return ed.flip(m, iid, "horizontal" if a == 0 else "vertical" if a == 1 else str(a))
    if op == "delete":
        return ed.delete(m, iid)
    if op == "paste":
        return ed.paste(m, m, iid, a, b)
    return ed.pick(m, a, b)


@fuzz(250)
@given(seg=segmentations(), with_depth=st.booleans(), which=st.integers(0, 9),
       op=st.sampled_from(["move", "resize", "flip", "delete", "paste", "pick"]), a=amounts, b=amounts)
def test_mask_operations_give_new_masks_or_refuse_and_never_touch_their_input(seg, with_depth, which, op, a, b):
    depth = np.random.default_rng(which).random(seg.shape).astype(np.float32) if with_depth else None
    m = ed.Masks.from_segmentation(seg, depth)
    before = m.segmentation.copy(), m.instances.copy()
    things = m.things()
    iid = things[which % len(things)] if things and which < 8 else which * 7  # mostly things, some not
    try:
        out = operate(op, m, iid, a, b)
    except BadInput:
        out = None
    assert (m.segmentation == before[0]).all() and (m.instances == before[1]).all()
    if isinstance(out, ed.Masks):
        assert out.shape == m.shape and out.segmentation.dtype == np.uint8 and out.instances.dtype == np.int32
        assert out.segmentation is not m.segmentation and out.instances is not m.instances
    elif out is not None:  # pick: the thing under the pixel
        assert out in m.things()


# --- (c) pictures ------------------------------------------------------------------------------


def read_all(path: Path) -> None:
    """Every reader of a picture file: its array, or BadInput."""
    for read in (picture_io.read_segmentation, picture_io.read_depth, picture_io.read_instances):
        try:
            arr = read(path)
        except BadInput as e:
            assert str(e) and "\n" not in str(e)
            continue
        assert isinstance(arr, np.ndarray) and arr.ndim == 2
        if read is picture_io.read_depth:
            assert arr.dtype == np.float32 and np.isfinite(arr).all() and 0 <= arr.min() and arr.max() <= 1


def encode(img: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt)
    return buffer.getvalue()


def small_image(mode: str, pixels: np.ndarray) -> Image.Image:
    """An image of `mode` from uniform random numbers in [0, 1) of shape (H, W, 4)."""
    h, w, _ = pixels.shape
    if mode == "1":
        return Image.fromarray(pixels[..., 0] > 0.5)
    if mode == "F":
        return Image.fromarray((pixels[..., 0] * 4 - 1).astype(np.float32))  # some values out of 0..1
    if mode == "I":
        return Image.fromarray((pixels[..., 0] * 200_000 - 50_000).astype(np.int32))
    if mode == "I;16":
        return Image.frombytes("I;16", (w, h), (pixels[..., 0] * 65535).astype("<u2").tobytes())
    if mode == "P":
        img = Image.frombytes("P", (w, h), (pixels[..., 0] * 255).astype(np.uint8).tobytes())
        img.putpalette(list(range(256)) * 3)
        return img
    channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
    levels = (pixels[..., :channels] * 255).astype(np.uint8)
    return Image.fromarray(levels[..., 0] if channels == 1 else levels)


FORMATS_OF = {"1": ["PNG", "BMP", "TIFF"], "L": ["PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP"],
              "LA": ["PNG", "TIFF"], "P": ["PNG", "GIF", "BMP", "TIFF"], "RGB": ["PNG", "JPEG", "WEBP", "BMP"],
              "RGBA": ["PNG", "WEBP", "TIFF"], "I;16": ["PNG", "TIFF"], "I": ["TIFF"], "F": ["TIFF"]}
# (mode, format, height, width, seed of the pixels)
pictures = st.sampled_from(sorted(FORMATS_OF)).flatmap(lambda mode: st.tuples(
    st.just(mode), st.sampled_from(FORMATS_OF[mode]), st.integers(1, 24), st.integers(1, 24), st.integers(0, 2**32)))


def picture_bytes(mode: str, fmt: str, h: int, w: int, seed: int) -> bytes:
    return encode(small_image(mode, np.random.default_rng(seed).random((h, w, 4))), fmt)


@fuzz(150)
@given(data=st.binary(max_size=400))
def test_random_bytes_decode_to_a_picture_or_are_refused(tmp_path, data):
    path = tmp_path / "random.png"
    path.write_bytes(data)
    read_all(path)


@fuzz(200)
@given(picture=pictures, cut=st.floats(0, 1, exclude_max=True), flip=st.none() | st.integers(0, 10**6))
def test_truncated_or_damaged_pictures_decode_or_are_refused(tmp_path, picture, cut, flip):
    data = bytearray(picture_bytes(*picture))
    if flip is not None:  # one byte changed: a damaged file that keeps its length
        data[flip % len(data)] ^= 0x5A
    else:
        data = data[: int(len(data) * cut)]
    path = tmp_path / "damaged"
    path.write_bytes(bytes(data))
    read_all(path)


@fuzz(150)
@given(picture=pictures, nan=st.booleans())
def test_small_pictures_of_every_mode_decode_or_are_refused(tmp_path, picture, nan):
    mode, fmt, h, w, seed = picture
    img = small_image(mode, np.random.default_rng(seed).random((h, w, 4)))
    if mode == "F" and nan:
        arr = np.asarray(img).copy()
        arr[0, 0] = np.nan
        img = Image.fromarray(arr)
    path = tmp_path / f"picture.{fmt.lower()}"
    path.write_bytes(encode(img, fmt))
    read_all(path)
