"""What static inference knows about each layer (the contract between
``infer`` and its readers: summary, emit, graph drawing, tests)."""

from __future__ import annotations

from dataclasses import dataclass

from netspec.diagnostics import Diagnostic
from netspec.ir import Graph


@dataclass(frozen=True)
class LayerFacts:
    """Static facts of one IR node; shapes exclude the batch dimension.

    ``receptive_field`` and ``jump`` are per spatial axis of the network
    input (``()`` when the input has no spatial axes). ``pads`` is the
    explicit ``(low, high)`` padding per spatial axis exactly as ``jax.lax``
    computes it, for ops with padding (conv, pool, zero_pad); else None.
    """

    name: str
    op: str
    input_shapes: tuple[tuple[int, ...], ...]
    output_shape: tuple[int, ...]
    trainable_params: int
    non_trainable_params: int
    macs: int
    receptive_field: tuple[int, ...]
    jump: tuple[int, ...]
    pads: tuple[tuple[int, int], ...] | None = None

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def activation_size(self) -> int:
        """Number of elements of the output (per example)."""
        size = 1
        for d in self.output_shape:
            size *= d
        return size


@dataclass(frozen=True)
class Analysis:
    """The result of static inference over a whole graph.

    ``layers`` is in execution (topological) order and has an entry for
    every node that could be inferred; when ``errors`` is non-empty the
    failed nodes (and those after a failure without a recovery shape) are
    missing.
    """

    graph: Graph
    layers: dict[str, LayerFacts]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    @property
    def output(self) -> LayerFacts:
        return self.layers[self.graph.output]

    @property
    def trainable_params(self) -> int:
        return sum(f.trainable_params for f in self.layers.values())

    @property
    def non_trainable_params(self) -> int:
        return sum(f.non_trainable_params for f in self.layers.values())

    @property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @property
    def macs(self) -> int:
        return sum(f.macs for f in self.layers.values())
