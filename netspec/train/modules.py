"""Where each layer's module sits in the built network: the attribute paths that
checkpoints, ``init_from``, freezing and weight imports key on.

Its own module so that :mod:`netspec.train.transfer` and
:mod:`netspec.train.pretrained` (which transfer calls for ``init_from:
{weights:}``) both use it without importing each other.
"""

from __future__ import annotations

from netspec.ir import Graph


def module_paths(graph: Graph) -> dict[str, tuple[str, ...]]:
    """Layer name -> attribute path of its module in the built network (layers with weights or state)."""
    from netspec.emit.program import emit_program
    from netspec.pipeline import analysis_of

    return emit_program(graph, analysis_of(graph)).modules
