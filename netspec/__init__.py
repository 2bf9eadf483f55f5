"""netspec: a declarative YAML-to-model compiler for convolutional networks.

>>> import netspec
>>> spec = netspec.load("specs/lenet.yaml")          # validated, resolved, shape-checked
>>> netspec.summary(spec).to_dict()["total_params"]   # static report, no JAX involved; print() it for a table
61706
>>> model = netspec.build(spec, seed=0)              # a flax.nnx.Module (imports JAX here)

Importing netspec imports no JAX; :func:`build` imports it on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from netspec.diagnostics import Diagnostic, NetspecError, Span
from netspec.ir import Graph
from netspec.pipeline import analyze, load
from netspec.version import __version__

if TYPE_CHECKING:
    from netspec.report.summary import Summary

__all__ = ["Diagnostic", "Graph", "NetspecError", "Span", "analyze", "build", "load", "summary", "__version__"]


def summary(spec) -> Summary:
    """The static report of a spec (a Graph from :func:`load`, a path, or YAML text).

    ``print()`` it for a table; ``.to_dict()`` / ``.json()`` / ``.markdown()``
    for other forms.
    """
    from netspec.pipeline import analysis_of
    from netspec.report.summary import summarize

    graph = spec if isinstance(spec, Graph) else load(spec)
    return summarize(analysis_of(graph))


def build(spec, *, seed: int = 0, weights=None, map: dict[str, str] | None = None, partial: bool = False,
          lowering: str = "auto"):
    """Compile a spec (Graph, path or YAML text) into a ``flax.nnx.Module``.

    ``model(x)`` maps ``(batch, *input_shape)`` to ``(batch, *output_shape)``.
    With ``weights`` (a Keras/PyTorch/safetensors file or a netspec run folder,
    see ``docs/weights.md``) the file's weights are loaded and the import report
    is printed to stderr; any layer not loaded is an error unless ``partial``.
    ``map`` pairs file layer names with spec layer names. A spec with
    ``base: {weights: ...}`` gets its base's weights without ``weights=``.
    ``lowering`` is ``auto`` (per backend), ``lax`` or ``im2col`` (docs/lowering.md);
    it never changes the parameters.
    """
    from netspec.builder import build as _build

    graph = spec if isinstance(spec, Graph) else load(spec)
    model = _build(graph, seed=seed, lowering=lowering)
    if weights is None and not graph.meta.get("base", {}).get("weights"):
        return model
    import sys

    from flax import nnx

    from netspec.train.pretrained import import_base_state, import_weights

    if weights is None:  # the base network's weights (base: {weights: ...})
        state, report = import_base_state(nnx.state(model), graph, graph.meta["base"])
        nnx.update(model, state)
    else:
        report = import_weights(model, graph, weights, mapping=map, partial=partial)
    print(report, file=sys.stderr)
    return model
