"""Stage 4, emission: an analysed IR graph → the Python source of a Flax NNX module.

``program`` assembles the module, ``classes`` one class per block, ``blocks``
the block tree, ``layers`` one line of code per IR op. Produces text; imports no JAX.
"""
