"""Editing the chain's maps: pure operations on a segmentation and its instance map."""
