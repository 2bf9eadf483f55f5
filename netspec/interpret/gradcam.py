"""Grad-CAM (Selvaraju et al. 2017): where in the image a conv layer's evidence
for a class lies.

For a layer with feature maps ``A`` ``(h, w, K)`` and the class logit ``y``:
``α_k = mean over (i, j) of ∂y/∂A[i, j, k]`` weighs each channel, and the map
is ``ReLU(Σ_k α_k A[..., k])``, upsampled (bilinear) to the input's size.
The default layer is the last one whose output is still a spatial map (the
usual choice: the deepest, most semantic features that still have a where).

Grad-CAM's spatial mean of the gradient is exact when the network pools the
maps globally (``global_pool``: then every position has the same gradient
per channel). After ``flatten`` + ``dense`` each position has its own
weights, the mean mixes them, and the map is often empty; there HiRes-CAM
(Draelos & Carin 2020), ``ReLU(Σ_k ∂y/∂A[i, j, k] · A[i, j, k])``, keeps
each position's own gradient and is what ``variant="auto"`` picks.

The gradient with respect to an inner layer's value comes from
``nnx.Perturbation``: the capture functions netspec emits add a (zero)
perturbation to every layer's value, and its gradient is ``∂y/∂value``.

Imports JAX.

>>> heat = gradcam(trained.logits_model, trained.logits_graph, image, class_index=3)   # doctest: +SKIP
>>> heat.shape                                                                        # doctest: +SKIP
(28, 28)
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from netspec.diagnostics import NetspecError, error
from netspec.ir import Graph


def last_spatial_layer(graph: Graph) -> str:
    """The last layer whose output has spatial axes (``(h, w, C)``), i.e. before flatten/global pooling."""
    from netspec.pipeline import analysis_of

    facts = analysis_of(graph).layers
    rank = len(graph.input_shape)
    names = [node.name for node in graph.nodes[1:] if len(facts[node.name].output_shape) == rank]
    if not names or rank != 3:
        raise NetspecError([error("no-spatial-layer", f"Grad-CAM needs a layer with 2-D feature maps; "
                                  f"'{graph.name}' has none (input {graph.input_shape})")])
    return names[-1]


def layer_value_and_gradient(model: nnx.Module, x: jax.Array, layer: str,
                             score: Callable[[jax.Array], jax.Array]) -> tuple[jax.Array, jax.Array]:
    """``(value, ∂ score(output) / ∂ value)`` of ``layer`` for inputs ``x`` ``(B, *input_shape)``;
    ``score`` maps the model's output to a scalar."""
    from netspec.builder import _compiled_of

    compiled = _compiled_of(model)
    path, key = compiled.program.captures[layer]
    if not key:
        raise NetspecError([error("input-layer", "choose a layer after the input")])
    forward = compiled.capture_function
    graphdef, state = nnx.split(model)
    _, perturbations = nnx.capture(forward, nnx.Perturbation)(nnx.merge(graphdef, state), x)

    def scored(perturbations):  # a fresh module inside the trace: nnx modules must not cross trace levels
        output, sown = nnx.capture(forward, nnx.Intermediate, init=perturbations)(nnx.merge(graphdef, state), x)
        return score(output), sown

    grads, sown = jax.grad(scored, has_aux=True)(perturbations)
    values, gradients = nnx.to_pure_dict(sown), nnx.to_pure_dict(grads)
    for part in path:
        values, gradients = values[part], gradients[part]
    return values[key][0], gradients[key]


def pooled_globally(graph: Graph, layer: str) -> bool:
    """Whether a ``global_pool`` follows ``layer`` (so Grad-CAM's spatial mean is exact)."""
    names = [node.name for node in graph.nodes]
    return any(node.op == "global_pool" for node in graph.nodes[names.index(layer) + 1:])


def cam_variant(graph: Graph, layer: str, variant: str = "auto") -> str:
    """``"gradcam"`` or ``"hirescam"``: ``auto`` is Grad-CAM after global pooling, else HiRes-CAM."""
    if variant not in ("auto", "gradcam", "hirescam"):
        raise NetspecError([error("bad-cam", f"variant must be auto, gradcam or hirescam, but got {variant!r}")])
    if variant != "auto":
        return variant
    return "gradcam" if pooled_globally(graph, layer) else "hirescam"


def gradcam(model: nnx.Module, graph: Graph, image: np.ndarray, class_index: int | None = None, *,
            layer: str | None = None, normalize: Callable | None = None, variant: str = "gradcam") -> np.ndarray:
    """Grad-CAM map ``(H, W)`` (≥ 0, in the layer's units) of one image ``(H, W, C)`` for
    ``class_index`` (default: the predicted class). ``model`` must output logits and be
    built from ``graph`` (e.g. ``Trained.logits_model`` with ``session.logits_graph``).
    ``variant``: ``gradcam``, ``hirescam`` or ``auto`` (see the module docstring)."""
    from netspec.interpret.visualize import check_layer

    layer = layer or last_spatial_layer(graph)
    check_layer(graph, layer)
    variant = cam_variant(graph, layer, variant)
    model = nnx.clone(model)
    model.eval()
    x = jnp.asarray(np.asarray(image, np.float32)[None])
    if normalize is not None:
        x = normalize(x)
    logits = np.asarray(model(x)).reshape(-1)
    target = int(logits.argmax()) if class_index is None else int(class_index)
    if not 0 <= target < logits.size:
        raise NetspecError([error("bad-class", f"class index must be in 0..{logits.size - 1}, but got {target}")])
    value, gradient = layer_value_and_gradient(model, x, layer, lambda out: out.reshape(-1)[target])
    if value.ndim != 4:
        raise NetspecError([error("not-a-map", f"Grad-CAM needs a layer with 2-D feature maps, but '{layer}' "
                                               f"gives {tuple(value.shape[1:])}",
                                  hint=f"e.g. --layer {last_spatial_layer(graph)}")])
    if variant == "gradcam":
        weights = gradient[0].mean(axis=(0, 1))  # α_k
        cam = jax.nn.relu(jnp.tensordot(value[0], weights, axes=([-1], [0])))
    else:
        cam = jax.nn.relu((gradient[0] * value[0]).sum(axis=-1))
    height, width = image.shape[:2]
    return np.asarray(jax.image.resize(cam, (height, width), "bilinear"), np.float32)
