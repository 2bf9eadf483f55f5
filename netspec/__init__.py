"""netspec: a declarative YAML-to-model compiler for convolutional networks.

Importing netspec imports no JAX; :func:`build` imports it on first use.
"""
