"""Static reports on an analysed graph: the summary table (``summary``), the
diagram model and DOT text (``diagram``) and the built-in SVG renderer (``svg``). No JAX.
"""
