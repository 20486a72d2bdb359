"""The factor-graph diffusion chain: segmentation | graph -> depth -> sketch -> image, with SBPC."""
