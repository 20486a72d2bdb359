"""Torch modules of the tiny backend: graph encoder, segmenter (and, later, the factor denoisers)."""
