"""Stage 2, resolution: a validated ``Spec`` → the IR ``Graph`` (templates, repeats and blocks expanded).

``expand`` walks the items, ``lower`` turns one spec layer into one IR node.
"""
