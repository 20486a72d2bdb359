"""Typed errors. Inside, code raises these; the edges (CLI, UI, API) turn them into one clear line."""

from __future__ import annotations


class SGCondError(Exception):
    """Base of the errors this package raises on purpose."""


class BadInput(SGCondError):
    """Something a person supplied is wrong (a graph, a file, a parameter). Exit code 2."""
