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
