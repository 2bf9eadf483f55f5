"""Training-memory estimate of one train step, per layer and in total (pure Python).

An *estimate*, computed from the static shapes, for float32 training with a
given batch size and optimizer:

* **parameters**: 4 bytes per parameter (trainable or not);
* **gradients**: 4 bytes per trainable parameter;
* **optimizer state**: ``slots`` × 4 bytes per trainable parameter, where
  ``slots`` is what Optax keeps per parameter: SGD 0 (1 with momentum),
  Adam / AdamW 2 (first and second moments), RMSprop 1 (2 with momentum),
  Adagrad 1 (:data:`OPTIMIZER_SLOTS`);
* **activations kept for the backward pass**: each node output that the
  backward pass reads, counted once however many layers read it: the input of
  every layer with weights (conv, dense, batchnorm, layernorm: their weight
  gradients need it), of max pooling, LRN and multiply, and the output of
  every activation function; a conv or dense with its own ``activation:`` keeps its output like an
  activation layer. Merges (add, concat), flatten, zero_pad and average
  pooling are linear and keep nothing. On top of those, buffers that JAX's
  derivative rules keep, each the size of the layer's output
  (:data:`EXTRA_BUFFERS`, measured with ``benchmarks/memory_calibration.py``
  on one-layer probes): batchnorm its normalised values (1); dropout its
  random draw and its mask, both 4 bytes per element (2); an activation
  the input its derivative reads (relu's ``x > 0``) or an intermediate (1),
  swish also ``sigmoid(x)`` (2), gelu two intermediates (3); one fewer when
  the activation follows a batchnorm, which XLA fuses into it. 4 bytes per
  element, times the batch size;
* **batch**: the input images (4 bytes per element) and one int32 label per
  example;
* **backward workspace**: while the backward pass is at a layer, the gradient
  of its output and of its input(s) exist at once: the largest such pair, for
  the batch.

The peak is the sum: weights + gradients + optimizer state + kept
activations + batch + backward workspace. The weights and optimizer state
are counted once: the new values replace the old in place, as they do when
the train step donates its state (netspec does on accelerators). XLA's own figure for the jitted step
(``memory_analysis()``: arguments + outputs + temporaries) is compared with
it by ``tests/test_memory.py``, which states the tolerance met. XLA fuses
element-wise layers and may rematerialise or overlap buffers, so read the
figure as the right order of magnitude, not a byte count.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from netspec.infer.facts import Analysis

BYTES_PER_VALUE = 4  # float32
LABEL_BYTES = 4  # one int32 label per example

OPTIMIZER_SLOTS = {"sgd": 0, "sgd+momentum": 1, "adam": 2, "adamw": 2, "rmsprop": 1, "rmsprop+momentum": 2,
                   "adagrad": 1}
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")

# ops whose backward pass reads their input / their output
_READS_INPUT = {"conv", "depthwise_conv", "separable_conv", "dense", "batchnorm", "layernorm", "lrn", "multiply"}
_READS_OUTPUT = {"activation"}
# Buffers beyond those above, each the size of the layer's output, that the derivative keeps:
# XLA's CPU memory analysis of one-layer probes (conv, LAYER, conv) grows by this many maps.
EXTRA_BUFFERS = {"batchnorm": 1, "dropout": 2}
ACTIVATION_BUFFERS = {"swish": 2, "gelu": 3}  # other activations: 1


def optimizer_slots(name: str, momentum: float = 0.0) -> int:
    """Values per trainable parameter the optimizer keeps between steps.

    >>> optimizer_slots("adam"), optimizer_slots("sgd"), optimizer_slots("sgd", momentum=0.9)
    (2, 0, 1)
    """
    key = f"{name}+momentum" if momentum > 0 and f"{name}+momentum" in OPTIMIZER_SLOTS else name
    if key not in OPTIMIZER_SLOTS:
        raise ValueError(f"unknown optimizer {name!r}; known: {', '.join(OPTIMIZERS)}")
    return OPTIMIZER_SLOTS[key]


@dataclass(frozen=True)
class LayerMemory:
    """One layer's share, in bytes, for the whole batch."""

    name: str
    param_bytes: int
    gradient_bytes: int
    optimizer_bytes: int
    activation_bytes: int  # what this layer's output keeps alive for the backward pass

    @property
    def total_bytes(self) -> int:
        return self.param_bytes + self.gradient_bytes + self.optimizer_bytes + self.activation_bytes

    def to_dict(self) -> dict:
        return {"param_bytes": self.param_bytes, "gradient_bytes": self.gradient_bytes,
                "optimizer_bytes": self.optimizer_bytes, "activation_bytes": self.activation_bytes,
                "total_bytes": self.total_bytes}


@dataclass(frozen=True)
class MemoryEstimate:
    """The estimate for one batch size and optimizer (see the module docstring)."""

    batch_size: int
    optimizer: str
    optimizer_slots: int
    layers: tuple[LayerMemory, ...]
    batch_bytes: int
    workspace_bytes: int = 0

    def _sum(self, attribute: str) -> int:
        return sum(getattr(layer, attribute) for layer in self.layers)

    @property
    def param_bytes(self) -> int:
        return self._sum("param_bytes")

    @property
    def gradient_bytes(self) -> int:
        return self._sum("gradient_bytes")

    @property
    def optimizer_bytes(self) -> int:
        return self._sum("optimizer_bytes")

    @property
    def activation_bytes(self) -> int:
        return self._sum("activation_bytes")

    @property
    def peak_bytes(self) -> int:
        return self.param_bytes + self.gradient_bytes + self.optimizer_bytes + self.activation_bytes + \
            self.batch_bytes + self.workspace_bytes

    def to_dict(self) -> dict:
        return {"batch_size": self.batch_size, "optimizer": self.optimizer, "optimizer_slots": self.optimizer_slots,
                "param_bytes": self.param_bytes, "gradient_bytes": self.gradient_bytes,
                "optimizer_bytes": self.optimizer_bytes, "activation_bytes": self.activation_bytes,
                "batch_bytes": self.batch_bytes, "workspace_bytes": self.workspace_bytes,
                "peak_bytes": self.peak_bytes}


def kept_outputs(analysis: Analysis) -> dict[str, int]:
    """Bytes per example of each node output the backward pass reads (see the module docstring)."""
    kept: dict[str, int] = {}
    ops = {node.name: node.op for node in analysis.graph.nodes}
    for node in analysis.graph.nodes:
        facts = analysis.layers.get(node.name)
        if facts is None:
            continue
        activation = getattr(node.attrs, "activation", None)
        if node.op in _READS_OUTPUT or (activation is not None and activation.name != "linear"):
            kept[node.name] = BYTES_PER_VALUE * facts.activation_size
        extra = _extra_buffers(node, activation, ops)
        if extra:
            kept[node.name + "#derivative"] = extra * BYTES_PER_VALUE * facts.activation_size
        reads_input = node.op in _READS_INPUT or (node.op in ("pool", "global_pool") and node.attrs.mode == "max")
        if reads_input:
            for source, shape in zip(node.inputs, facts.input_shapes):
                if source != "input":  # the batch itself is counted once, as the batch
                    kept[source] = BYTES_PER_VALUE * prod(shape)
        if node.op == "separable_conv":  # its depthwise result feeds the pointwise kernel's gradient
            kept[node.name + "#depthwise"] = BYTES_PER_VALUE * prod(facts.output_shape[:-1]) * \
                facts.input_shapes[0][-1] * node.attrs.depth_multiplier
    return kept


def _extra_buffers(node, activation, ops: dict[str, str]) -> int:
    """How many output-sized buffers beyond the kept inputs and outputs ``node``'s derivative keeps."""
    if node.op == "dropout" and node.attrs.rate == 0:
        return 0
    if node.op != "activation" and (activation is None or activation.name == "linear"):
        return EXTRA_BUFFERS.get(node.op, 0)
    buffers = ACTIVATION_BUFFERS.get(activation.name, 1)
    after_batchnorm = node.op == "activation" and len(node.inputs) == 1 and ops.get(node.inputs[0]) == "batchnorm"
    return buffers - 1 if after_batchnorm else buffers


def estimate(analysis: Analysis, batch_size: int, optimizer: str = "adam", momentum: float = 0.0,
             frozen: frozenset[str] = frozenset()) -> MemoryEstimate:
    """The training-memory estimate of ``analysis`` for ``batch_size`` examples per step.

    ``frozen`` names layers whose weights get no gradient or optimizer state.

    >>> from netspec.pipeline import load, analysis_of
    >>> graph = load("name: t\\ninput: [8, 8, 1]\\nlayers: [conv: {K: 4, F: 3}, relu, flatten, dense: {units: 2}]\\n")
    >>> est = estimate(analysis_of(graph), batch_size=2, optimizer="sgd")
    >>> est.param_bytes, est.gradient_bytes, est.optimizer_bytes, est.activation_bytes
    (1320, 1320, 0, 3456)
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, but got {batch_size}")
    slots = optimizer_slots(optimizer, momentum)
    kept = kept_outputs(analysis)
    layers = []
    for name, facts in analysis.layers.items():
        trainable = 0 if name in frozen else facts.trainable_params
        own = sum(kept.get(name + part, 0) for part in ("", "#depthwise", "#derivative"))
        layers.append(LayerMemory(
            name=name, param_bytes=BYTES_PER_VALUE * facts.params, gradient_bytes=BYTES_PER_VALUE * trainable,
            optimizer_bytes=BYTES_PER_VALUE * trainable * slots, activation_bytes=batch_size * own))
    input_elements = prod(analysis.graph.input_shape)
    label = f"{optimizer}+momentum" if momentum > 0 and f"{optimizer}+momentum" in OPTIMIZER_SLOTS else optimizer
    workspace = max((facts.activation_size + sum(prod(shape) for shape in facts.input_shapes)
                     for facts in analysis.layers.values()), default=0)
    return MemoryEstimate(batch_size=batch_size, optimizer=label, optimizer_slots=slots, layers=tuple(layers),
                          batch_bytes=batch_size * (BYTES_PER_VALUE * input_elements + LABEL_BYTES),
                          workspace_bytes=batch_size * BYTES_PER_VALUE * workspace)
