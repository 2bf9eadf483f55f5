"""Layout conversion: one file layer's arrays -> the arrays of one netspec
layer, keyed by their path inside its module (``kernel``, ``bias``,
``scale``, ``mean``, ``var``, ``depthwise/kernel`` ...).

Keras already uses netspec's layouts (channels-last, HWIO kernels, Dense
``(in, out)``) except for depthwise kernels, ``(H, W, C, M)`` in Keras and
``(H, W, 1, C*M)`` in NNX. PyTorch kernels are ``(O, I/groups, *K)`` and
become ``(*K, I/groups, O)``; ``Linear`` ``(out, in)`` becomes ``(in, out)``;
batchnorm ``weight, bias, running_mean, running_var`` become ``scale, bias,
mean, var``. A PyTorch dense layer fed by a flatten of a feature map sees
its inputs in ``(C, H, W)`` order where netspec flattens ``(H, W, C)``: its
rows are permuted once here (:func:`flatten_source_shape`).
"""

from __future__ import annotations

import numpy as np

from netspec.ir import Graph, Node
from netspec.weights.file import FileLayer, Layout

# Ops with weights, and the roles of their arrays in Keras' order.
KERAS_ROLES = {
    "conv": ("kernel", "bias"),
    "dense": ("kernel", "bias"),
    "depthwise_conv": ("depthwise_kernel", "bias"),
    "separable_conv": ("depthwise_kernel", "pointwise_kernel", "bias"),
    "batchnorm": ("gamma", "beta", "moving_mean", "moving_variance"),
    "layernorm": ("gamma", "beta"),
    "normalization": ("mean", "variance", "count"),  # Keras' Normalization (EfficientNet's stem)
}
# role -> key inside the NNX module
TARGET_KEY = {
    "kernel": "kernel", "bias": "bias", "depthwise_kernel": "kernel",
    "gamma": "scale", "beta": "bias", "moving_mean": "mean", "moving_variance": "var",
    "mean": "mean", "variance": "variance", "count": "count",
}
SEPARABLE_KEY = {"depthwise_kernel": "depthwise/kernel", "pointwise_kernel": "pointwise/kernel",
                 "bias": "pointwise/bias"}
TORCH_ROLE = {"weight": "kernel", "bias": "bias", "running_mean": "moving_mean", "running_var": "moving_variance"}
TORCH_NORM_ROLE = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean",
                   "running_var": "moving_variance"}
# Ops that keep the element order of their input, between a flatten and a dense layer.
ORDER_KEEPING = ("dropout", "activation")


class ConversionError(ValueError):
    """The arrays of a file layer cannot be those of the spec layer (the message says why)."""


def expected_roles(node: Node) -> tuple[str, ...]:
    """The Keras roles a layer has, in Keras' order (``bias`` only with ``use_bias``, γ/β per scale/center)."""
    roles = KERAS_ROLES[node.op]
    attrs = node.attrs
    if node.op in ("batchnorm", "layernorm"):
        return tuple(r for r in roles if (r != "gamma" or attrs.scale) and (r != "beta" or attrs.center))
    if node.op == "normalization":
        return roles
    return tuple(r for r in roles if r != "bias" or attrs.use_bias)


def _keras_roles(layer: FileLayer, node: Node) -> dict[str, np.ndarray]:
    """Arrays by role: from their names (``block1_conv1/kernel:0``) when they say, else by position."""
    wanted = expected_roles(node)
    named = {}
    for key, value in layer.arrays.items():
        role = key.rsplit("/", 1)[-1].split(":", 1)[0]
        named[role] = value
    if set(named) == set(wanted):
        return named
    if len(layer.arrays) != len(wanted):
        raise ConversionError(f"the file has {len(layer.arrays)} array(s) ({', '.join(layer.arrays)}), "
                              f"the {node.op} layer needs {len(wanted)} ({', '.join(wanted)})")
    return dict(zip(wanted, layer.arrays.values()))


def _torch_roles(layer: FileLayer, node: Node) -> dict[str, np.ndarray]:
    table = TORCH_NORM_ROLE if node.op in ("batchnorm", "layernorm") else TORCH_ROLE
    unknown = [key for key in layer.arrays if key not in table]
    if unknown:
        raise ConversionError(f"unexpected array(s) {', '.join(unknown)} for a {node.op} layer")
    roles = {table[key]: value for key, value in layer.arrays.items()}
    if node.op == "depthwise_conv":
        roles["depthwise_kernel"] = roles.pop("kernel")
    wanted = expected_roles(node)
    if set(roles) != set(wanted):
        raise ConversionError(f"the file has {', '.join(layer.arrays)}, the {node.op} layer needs "
                              f"{len(wanted)} array(s) ({', '.join(wanted)})")
    return roles


def _torch_kernel(weight: np.ndarray) -> np.ndarray:
    """``(O, I, *K)`` -> ``(*K, I, O)``."""
    return np.transpose(weight, (*range(2, weight.ndim), 1, 0))


def flatten_source_shape(graph: Graph, node: Node, shapes: dict[str, tuple[int, ...]]) -> tuple[int, ...] | None:
    """The feature-map shape a flatten turned into ``node``'s input (``(H, W, C)``),
    when ``node`` is a dense layer fed by one through dropout/activations only."""
    current = node
    while len(current.inputs) == 1:
        current = graph.node(current.inputs[0])
        if current.op == "flatten":
            shape = shapes[current.inputs[0]]
            return shape if len(shape) >= 2 else None
        if current.op not in ORDER_KEEPING:
            return None
    return None


def channels_first_rows(kernel: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Dense rows in ``(C, *spatial)`` order (PyTorch's flatten) -> ``(*spatial, C)`` (netspec's).

    >>> k = np.arange(12).reshape(12, 1)          # 2x3 map, 2 channels, flattened channels-first
    >>> channels_first_rows(k, (2, 3, 2))[:4, 0].tolist()   # (h0 w0 c0), (h0 w0 c1), (h0 w1 c0), ...
    [0, 6, 1, 7]
    """
    channels, spatial, units = shape[-1], shape[:-1], kernel.shape[-1]
    blocked = kernel.reshape(channels, *spatial, units)
    order = (*range(1, len(spatial) + 1), 0, len(spatial) + 1)
    return np.transpose(blocked, order).reshape(-1, units)


def convert(layer: FileLayer, layout: Layout, node: Node, *,
            flatten_shape: tuple[int, ...] | None = None) -> dict[str, np.ndarray]:
    """The arrays of ``node``'s module, from ``layer`` (raises :class:`ConversionError`)."""
    if layout == "netspec":
        return dict(layer.arrays)
    if layout == "torch" and node.op == "separable_conv":
        raise ConversionError("PyTorch has no separable convolution layer to read one from")
    roles = _torch_roles(layer, node) if layout == "torch" else _keras_roles(layer, node)
    if layout == "torch":
        if node.op in ("conv", "depthwise_conv"):
            key = "kernel" if node.op == "conv" else "depthwise_kernel"
            roles[key] = _torch_kernel(roles[key])
        elif node.op == "dense":
            roles["kernel"] = roles["kernel"].T
            if flatten_shape is not None and roles["kernel"].shape[0] == int(np.prod(flatten_shape)):
                roles["kernel"] = channels_first_rows(roles["kernel"], flatten_shape)
    elif "depthwise_kernel" in roles:  # Keras (H, W, C, M) -> NNX grouped (H, W, 1, C*M)
        kernel = roles["depthwise_kernel"]
        roles["depthwise_kernel"] = kernel.reshape(*kernel.shape[:-2], 1, kernel.shape[-2] * kernel.shape[-1])
    elif node.op == "normalization":  # Keras keeps the reduced axes, (1, 1, 1, C); netspec has (C,)
        roles = {role: np.reshape(value, -1) if role != "count" else np.reshape(value, ())
                 for role, value in roles.items()}
    table = SEPARABLE_KEY if node.op == "separable_conv" else TARGET_KEY
    return {table[role]: np.asarray(value, np.float32) for role, value in roles.items()}
