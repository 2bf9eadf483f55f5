"""Looking inside a built or trained model: saliency and occlusion (``explain``),
filter and activation grids (``visualize``), feature extraction (``features``) and
opening a trained run (``trained``). Imports JAX.
"""
