"""The intermediate representation: a DAG of primitive layers.

``resolve`` turns a validated spec into a :class:`Graph`; ``infer`` computes
shapes and counts over it; ``emit`` turns it into Flax NNX source. Every stage
reads the same immutable structures defined here. The list of ops and their
traits is :data:`netspec.ops.OPS`; its docstring lists the one place per pass a
new op touches (an attrs class here is the first).

Conventions (canonical forms, fixed once at the boundary by ``resolve``):

* shapes exclude the batch dimension and are channels-last:
  ``(H, W, C)`` images, ``(T, C)`` sequences, ``(D, H, W, C)`` volumes,
  ``(N,)`` after flatten;
* per-axis hyper-parameters (kernel, strides, dilation) are tuples with one
  entry per spatial axis;
* padding is ``"valid"``, ``"same"``, ``"causal"`` (1-D only) or a tuple of
  explicit ``(low, high)`` pairs, one per spatial axis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

from netspec.diagnostics import Span

Padding = Union[Literal["valid", "same", "causal"], tuple[tuple[int, int], ...]]
ActivationName = Literal[
    "relu", "leaky_relu", "elu", "gelu", "sigmoid", "tanh", "swish", "softmax", "linear",
    "relu6", "hard_sigmoid", "hard_swish", "softplus", "softsign", "selu", "exponential", "mish",
]
DEFAULT_ALPHA = {"leaky_relu": 0.3, "elu": 1.0}  # Keras' LeakyReLU and ELU slopes, when none is given
InitName = str  # "glorot_uniform", "he_normal", "zeros", "constant(-2.0)", ... (see emit for the table)


@dataclass(frozen=True)
class Activation:
    """An activation function with Keras 3's name and formula. ``alpha`` only for leaky_relu
    and elu; ``max_value``, ``negative_slope`` and ``threshold`` only for relu (Keras' ReLU:
    ``x`` above the threshold, capped at max_value, ``negative_slope * (x - threshold)`` below)."""

    name: ActivationName
    alpha: float | None = None
    max_value: float | None = None
    negative_slope: float | None = None
    threshold: float | None = None


# --- attrs of each primitive op -------------------------------------------


@dataclass(frozen=True)
class InputAttrs:
    shape: tuple[int, ...]


@dataclass(frozen=True)
class ConvAttrs:
    """conv: 1-D/2-D/3-D from the input's rank. Kernel is ``kernel + (C_in // groups, filters)``."""

    filters: int
    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    padding: Padding
    dilation: tuple[int, ...]
    groups: int = 1
    use_bias: bool = True
    activation: Activation | None = None
    kernel_init: InitName = "glorot_uniform"
    bias_init: InitName = "zeros"


@dataclass(frozen=True)
class DepthwiseConvAttrs:
    """depthwise_conv: one filter bank per input channel (groups = C_in), output C_in * depth_multiplier."""

    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    padding: Padding
    dilation: tuple[int, ...]
    depth_multiplier: int = 1
    use_bias: bool = True
    activation: Activation | None = None
    kernel_init: InitName = "glorot_uniform"
    bias_init: InitName = "zeros"


@dataclass(frozen=True)
class SeparableConvAttrs:
    """separable_conv (Keras SeparableConv): depthwise (no bias) then 1x1 pointwise (with bias)."""

    filters: int
    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    padding: Padding
    dilation: tuple[int, ...]
    depth_multiplier: int = 1
    use_bias: bool = True
    activation: Activation | None = None
    kernel_init: InitName = "glorot_uniform"
    bias_init: InitName = "zeros"


@dataclass(frozen=True)
class ConvTransposeAttrs:
    """conv_transpose (Keras ConvTranspose, ``flax.nnx.ConvTranspose(transpose_kernel=True)``):
    each input cell adds ``kernel`` times itself at ``stride`` spacing. Kernel ``F + (K, C_in)``.
    Output length: valid ``W·S + max(F − S, 0)``; same ``W·S``; explicit (low, high)
    ``(W − 1)·S + F − low − high`` (the full output cropped, as torch's padding)."""

    filters: int
    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    padding: Padding
    use_bias: bool = True
    activation: Activation | None = None
    kernel_init: InitName = "glorot_uniform"
    bias_init: InitName = "zeros"


@dataclass(frozen=True)
class UpsampleAttrs:
    """upsample (Keras UpSampling): each spatial axis grows by its factor; ``nearest`` repeats
    cells, ``bilinear`` interpolates linearly along every axis (half-pixel centres)."""

    size: tuple[int, ...]
    interpolation: Literal["nearest", "bilinear"] = "nearest"


@dataclass(frozen=True)
class PoolAttrs:
    """pool: max ignores padded cells; avg divides by the number of real cells (Keras)."""

    mode: Literal["max", "avg"]
    window: tuple[int, ...]
    strides: tuple[int, ...]
    padding: Padding


@dataclass(frozen=True)
class GlobalPoolAttrs:
    """global_pool; ``keepdims`` keeps every spatial axis as size 1 (``(1, 1, C)``), as Keras does."""

    mode: Literal["avg", "max"] = "avg"
    keepdims: bool = False


@dataclass(frozen=True)
class DenseAttrs:
    """dense: acts on the last axis (like Keras Dense)."""

    units: int
    use_bias: bool = True
    activation: Activation | None = None
    kernel_init: InitName = "glorot_uniform"
    bias_init: InitName = "zeros"


@dataclass(frozen=True)
class FlattenAttrs:
    pass


@dataclass(frozen=True)
class ReshapeAttrs:
    """reshape to ``shape`` (batch excluded); at most one entry is -1, inferred from the size."""

    shape: tuple[int, ...]


@dataclass(frozen=True)
class DropoutAttrs:
    rate: float


@dataclass(frozen=True)
class BatchNormAttrs:
    """batchnorm over the last axis. ``momentum`` is Keras': running = m*running + (1-m)*batch."""

    momentum: float = 0.99
    epsilon: float = 1e-3
    center: bool = True
    scale: bool = True


@dataclass(frozen=True)
class LayerNormAttrs:
    epsilon: float = 1e-6
    center: bool = True
    scale: bool = True


@dataclass(frozen=True)
class RescalingAttrs:
    """Keras' Rescaling: ``x * scale + offset`` (no parameters)."""

    scale: float
    offset: float = 0.0


@dataclass(frozen=True)
class NormalizationAttrs:
    """Keras' Normalization over the last axis: ``(x - mean) / max(sqrt(variance), 1e-7)``.

    ``mean`` and ``variance`` hold one value per channel, or one for all; None means
    adapted: ``netspec train`` computes them from the training split before the first step.
    Mean, variance and a count are state, not trained (2C + 1 values, as Keras counts them).
    """

    mean: tuple[float, ...] | None = None
    variance: tuple[float, ...] | None = None


@dataclass(frozen=True)
class LRNAttrs:
    """AlexNet's local response normalisation across channels:
    ``b = a / (bias + alpha/size * sum_{window of `size` channels} a^2) ** beta``
    (the torch / Caffe convention, alpha divided by size)."""

    size: int = 5
    alpha: float = 1e-4
    beta: float = 0.75
    bias: float = 2.0


@dataclass(frozen=True)
class ZeroPadAttrs:
    padding: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class ActivationAttrs:
    activation: Activation


@dataclass(frozen=True)
class AddAttrs:
    pass


@dataclass(frozen=True)
class MultiplyAttrs:
    pass


@dataclass(frozen=True)
class SubtractAttrs:
    """The first input minus the second (Keras' Subtract takes exactly two)."""


@dataclass(frozen=True)
class MaximumAttrs:
    pass


@dataclass(frozen=True)
class MinimumAttrs:
    pass


@dataclass(frozen=True)
class AverageAttrs:
    pass


@dataclass(frozen=True)
class ConcatAttrs:
    """Depth concatenation (last axis). ``pad="zero"`` zero-pads smaller maps
    to the largest spatial size (GoogLeNet's DepthConcat), split low/high like SAME."""

    pad: Literal["error", "zero"] = "error"


@dataclass(frozen=True)
class PreprocessAttrs:
    """The input contract of a set of pretrained weights, applied in-graph to RGB images in
    [0, 1] (what netspec's data sources give), exactly Keras' ``preprocess_input`` of the same
    image in 0-255 / torchvision's ``ToTensor`` + ``Normalize``: ``caffe`` 255x, RGB->BGR, minus
    the ImageNet BGR mean; ``tf`` 2x - 1; ``torch`` (x - ImageNet mean) / ImageNet std."""

    mode: Literal["caffe", "tf", "torch"]


Attrs = Union[
    InputAttrs, ConvAttrs, DepthwiseConvAttrs, SeparableConvAttrs, PoolAttrs,
    GlobalPoolAttrs, DenseAttrs, FlattenAttrs, DropoutAttrs, BatchNormAttrs,
    LayerNormAttrs, LRNAttrs, ZeroPadAttrs, ActivationAttrs, AddAttrs,
    MultiplyAttrs, ConcatAttrs, ReshapeAttrs, SubtractAttrs, MaximumAttrs, MinimumAttrs, AverageAttrs,
    RescalingAttrs, NormalizationAttrs, ConvTransposeAttrs, UpsampleAttrs,
    MultiplyAttrs, ConcatAttrs, PreprocessAttrs,
]

# The op names and their traits are the table in netspec.ops.


# --- graph structure --------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """One level of block nesting a node was expanded from.

    ``kind`` is the block kind: ``"template"`` (a user template from
    ``blocks:``), ``"repeat"`` (one iteration of a repeat), ``"residual"``,
    ``"inception"``, ``"causal"``, or ``"branch"`` / ``"body"`` / ``"shortcut"``
    for the parts of a block. ``name`` is this instance's path component,
    unique among its siblings (e.g. ``"bottleneck_2"``). ``template`` and
    ``params`` identify a template instance, so the emitter can emit one
    sub-module class per (template, structure) and reuse it.
    """

    name: str
    kind: str
    span: Span | None = None
    template: str | None = None
    params: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Node:
    """One primitive layer.

    ``name`` is unique in the graph: the scope path and the local name joined
    with ``/`` (``"bottleneck_2/conv2d_1"``); a top-level user name is kept as
    written. ``inputs`` name earlier nodes (topological order is guaranteed).
    ``span`` points at the YAML item the node came from.
    """

    name: str
    op: str
    attrs: Attrs
    inputs: tuple[str, ...]
    span: Span | None = None
    scope: tuple[Scope, ...] = ()
    allow: frozenset[str] = frozenset()  # warning codes the spec acknowledges for this node (allow:)

    @property
    def local_name(self) -> str:
        return self.name.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class PendingShortcut:
    """A residual shortcut whose form depends on shapes, which resolution does not know:
    ``resolve`` leaves the ``add`` taking ``(body, source)`` and this record in
    ``Graph.meta[SHORTCUTS]`` under the add's name; ``infer`` decides when it reaches the add.

    ``projection`` (a 1x1 conv, then a batchnorm when the body has one) is put in front of the
    add, its conv given the body's output channels (``filters`` is the body's last filters, the
    fallback when the body's shape is unknown), when the body changes the shape or ``always``
    (``shortcut: projection``); otherwise the shortcut stays the identity. ``renames`` are the
    names the nodes after it take when the projection is inserted (a causal block numbers its
    convs in order, the projection among them).
    """

    projection: tuple[Node, ...]
    always: bool = False
    renames: tuple[tuple[str, str], ...] = ()


SHORTCUTS = "pending_shortcuts"  # Graph.meta key: {add node name: PendingShortcut}, until infer settles them


@dataclass(frozen=True)
class Graph:
    """A resolved network. ``nodes[0]`` is the input node; ``output`` names
    the node whose value the network returns (the last item by default)."""

    name: str
    input_shape: tuple[int, ...]
    nodes: tuple[Node, ...]
    output: str
    source_path: str | None = None
    description: str | None = None
    reference: str | None = None  # the published reference a zoo spec reproduces
    train: object | None = None  # netspec.spec.train.TrainSpec, when the spec has a train: section
    meta: dict = field(default_factory=dict, compare=False)

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def consumers(self, name: str) -> list[Node]:
        return [n for n in self.nodes if name in n.inputs]
