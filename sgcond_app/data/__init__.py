"""Datasets: published formats read as streams of records (`sources.py`), scene graphs by sg2im's
rules (`sg2im.py`), and labelled datasets written out, made by the chain on Ray Data (`export.py`)."""
