"""Checks of the plain values a person types (seeds, for now), shared by the command line and the app.

Each check returns the value in its one accepted type or raises `BadInput` naming the value and
what is allowed.
"""

from __future__ import annotations

import json
import math
import re
from numbers import Integral, Real
from pathlib import Path

from .errors import BadInput, shown

MAX_SEED = 2**32 - 1
MAX_JSON_DEPTH = 32  # a graph nests 4 deep; Python's parser recurses, and a deep one fails far past this
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_JSON_BRACKETS = re.compile(r"[\[\]{}]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def json_depth(text: str) -> int:
    """How deep the arrays and objects of JSON text nest (brackets inside strings not counted)."""
    depth = deepest = 0
    for ch in _JSON_BRACKETS.findall(_JSON_STRING.sub("", text)):
        depth += 1 if ch in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def load_json(text: object, what: str, max_chars: int = 1_000_000) -> object:
    """JSON text from outside, parsed; too long, nested too deep, numbers of thousands of digits,
    lone surrogates or invalid JSON are one message naming `what`."""
    if not isinstance(text, str):
        raise BadInput(f"{what} must be JSON text")
    if len(text) > max_chars:
        raise BadInput(f"{what}: {len(text)} characters; at most {max_chars}")
    if json_depth(text) > MAX_JSON_DEPTH:
        raise BadInput(f"{what}: JSON nested more than {MAX_JSON_DEPTH} deep")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadInput(f"{what}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except (ValueError, RecursionError):  # integers of over 4300 digits
        raise BadInput(f"{what}: invalid JSON (a number thousands of digits long)") from None
    check_texts(data, what)  # "\\ud800" and "\\u001b" are valid JSON escapes
    return data


def check_text(text: str, what: str, newlines: bool = False) -> str:
    """Text that will reach a tokenizer, a file or an error message: no lone surrogates (bytes that
    were not UTF-8) and no control characters (tabs and, where `newlines`, line breaks allowed)."""
    bad = _UNSAFE.search(text)
    if bad is None and not newlines and ("\n" in text or "\r" in text):
        bad = re.search("[\r\n]", text)
    if bad is not None:
        kind = "a lone surrogate (text that was not UTF-8)" if 0xD800 <= ord(bad.group()) <= 0xDFFF else \
            "a control character"
        raise BadInput(f"{what} holds {kind}, {bad.group()!r} at character {bad.start() + 1}")
    return text


def check_texts(value: object, what: str, control: bool = True) -> None:
    """check_text (line breaks allowed) on every string inside lists, tuples and dicts (keys too);
    `control` False: lone surrogates only."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if control:
                check_text(v, what, newlines=True)
            elif (bad := _SURROGATE.search(v)) is not None:
                raise BadInput(f"{what} holds a lone surrogate (text that was not UTF-8), {bad.group()!r} at "
                               f"character {bad.start() + 1}")
        elif isinstance(v, list | tuple):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())


def check_seed(value: object, name: str = "seed") -> int:
    """A seed as an int in 0..MAX_SEED.

    Accepted: ints, floats with an integral value (`7.0`, as JSON and sliders send them) and
    strings of ASCII digits (`"7"`, as a command line sends them). Refused: bools, negative
    numbers, numbers over MAX_SEED, NaN and infinities, fractions, and anything else.
    """
    allowed = f"{name} must be a whole number from 0 to {MAX_SEED}"
    if isinstance(value, str):
        text = value.strip()
        # The length test first: int() of thousands of digits is slow, and refused past 4300.
        if not text or len(text) > len(str(MAX_SEED)) + 8 or not re.fullmatch(r"[0-9]+", text):
            raise BadInput(f"{allowed}, not {shown(value, 24)}")
        value = int(text)
    elif isinstance(value, bool) or not isinstance(value, Real):
        raise BadInput(f"{allowed}, not {shown(value, 24)}")
    elif isinstance(value, Integral):
        value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value) or value != math.floor(value):
            raise BadInput(f"{allowed}, not {value!r}")
    if not 0 <= value <= MAX_SEED:
        raise BadInput(f"{allowed}, not {shown(value, 24)}")
    return int(value)


def seed_for(seed: int, k: int) -> int:
    """The seed of the k-th item of a list run with `seed` (graph k of a file, sample k of `synth`):
    seed + k, wrapping past MAX_SEED to 0 so that it is itself a valid seed to rerun that item with."""
    return (seed + k) % (MAX_SEED + 1)



def read_file(path: str | Path, max_bytes: int, what: str, where: str | None = None) -> bytes:
    """The bytes of a file a person named; missing, not a file, unreadable, or over `max_bytes`
    (from its size, before reading) is one message. `what` names the limit ("graph files are")."""
    path = Path(path)
    where = where or str(path)
    try:
        if not path.is_file():
            raise BadInput(f"{where}: {'not a file' if path.exists() else 'no such file'}")
        size = path.stat().st_size
        if size > max_bytes:
            raise BadInput(f"{where}: {size} bytes; {what} at most {max_bytes} bytes")
        return path.read_bytes()
    except OSError as e:  # unreadable, a name too long, ...
        raise BadInput(f"{where}: cannot read it ({e.strerror or e.__class__.__name__})") from None


def _as_number(value: object) -> float | int | None:
    """An int or a float from a number or a short numeric string; None for anything else."""
    if isinstance(value, str):
        try:
            return float(value.strip()) if len(value) < 40 else None
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def whole_number(value: object, name: str, low: int, high: int) -> int:
    """A whole number from low to high, from what a page or a client sent; else one clear message."""
    v = _as_number(value)
    if v is None or not low <= v <= high or v != int(v):  # NaN fails the range test
        raise BadInput(f"{name} must be a whole number from {low} to {high}, not {shown(value, 24)}")
    return int(v)


def number(value: object, name: str, low: float, high: float) -> float:
    """A number from low to high, from what a page or a client sent; else one clear message."""
    v = _as_number(value)
    if v is None or not low <= v <= high:
        raise BadInput(f"{name} must be a number from {low:g} to {high:g}, not {shown(value, 24)}")
    return float(v)
