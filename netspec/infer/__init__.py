"""Stage 3, inference: per IR node its output shape, parameters, MACs and receptive field.

``shapes`` is the integer window arithmetic, ``rules`` the per-op rule table and
the pass, ``facts`` the records the pass produces. Pure Python, no JAX.
"""
