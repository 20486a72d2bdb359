"""Typed errors. Inside, code raises these; the edges (CLI, UI, API) turn them into one clear line."""

from __future__ import annotations


class SGCondError(Exception):
    """Base of the errors this package raises on purpose."""


class BadInput(SGCondError):
    """Something a person supplied is wrong (a graph, a file, a parameter). Exit code 2."""


def shown(value: object, limit: int = 40) -> str:
    """A value as an error message quotes it: its repr (control characters, line breaks and lone
    surrogates show escaped instead of acting on the terminal), cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def one_line(text: str, limit: int | None = None) -> str:
    """Text as one line any terminal or page shows as it is: line breaks, control characters and the
    lone surrogates of bytes that were not UTF-8 shown escaped; cut to `limit` characters."""
    text = "".join(c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF else ascii(c)[1:-1] for c in text)
    return text if limit is None or len(text) <= limit else text[: limit - 3] + "..."
