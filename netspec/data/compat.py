"""Does the data fit the spec? Checked before anything is compiled.

Every finding names both sides (the data's shape or class count, the spec's
input or output) and the change that would fix it.
"""

from __future__ import annotations

from typing import Literal

from netspec.data.dataset import Dataset
from netspec.diagnostics import Diagnostic, error, warning

LossKind = Literal["categorical", "binary", "regression"]
_LOSS_KINDS: dict[str, LossKind] = {
    **dict.fromkeys(
        (
            "cross_entropy",
            "softmax_cross_entropy",
            "categorical_cross_entropy",
            "categorical_crossentropy",
            "sparse_categorical_crossentropy",
            "sparse_categorical_cross_entropy",
            "nll",
        ),
        "categorical",
    ),
    **dict.fromkeys(
        (
            "binary_cross_entropy",
            "binary_crossentropy",
            "sigmoid_cross_entropy",
            "sigmoid_binary_cross_entropy",
            "bce",
        ),
        "binary",
    ),
    **dict.fromkeys(
        ("mse", "mean_squared_error", "l2", "mae", "mean_absolute_error", "l1", "huber"),
        "regression",
    ),
}


def loss_kind(loss: str) -> LossKind | None:
    """What targets a loss wants; None for a name this table does not know.

    >>> loss_kind("cross_entropy"), loss_kind("binary-crossentropy"), loss_kind("MSE")
    ('categorical', 'binary', 'regression')
    """
    return _LOSS_KINDS.get(loss.strip().lower().replace("-", "_"))


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _input_diagnostics(dataset: Dataset, input_shape: tuple[int, ...], spec_name: str) -> list[Diagnostic]:
    data_shape, spec_shape = dataset.example_shape, tuple(input_shape)
    if data_shape == spec_shape:
        return []
    if len(data_shape) == len(spec_shape) == 3 and data_shape[:2] == spec_shape[:2]:
        message = (
            f"data '{dataset.name}' has {data_shape[2]}-channel images {_shape(data_shape)} "
            f"but spec '{spec_name}' takes {spec_shape[2]} channels {_shape(spec_shape)}"
        )
    else:
        message = (
            f"data '{dataset.name}' has examples of shape {_shape(data_shape)} "
            f"but spec '{spec_name}' takes input {_shape(spec_shape)}"
        )
    hint = f"set 'input: {list(data_shape)}' in the spec, or bring the data to {list(spec_shape)}"
    if dataset.name.startswith("mnist") and spec_shape[:2] == (32, 32):
        hint += " (for LeNet's 32×32 input, keep input: [28, 28, 1] and pad with P: 2 in the first conv)"
    return [error("data-input-shape", message, hint=hint)]


def _classification_diagnostics(
    dataset: Dataset, output_shape: tuple[int, ...], spec_name: str, kind: LossKind | None, loss: str
) -> list[Diagnostic]:
    classes = dataset.num_classes or 0
    where = f"spec '{spec_name}' outputs {_shape(output_shape)}"
    if kind == "regression":
        return [
            error(
                "data-loss",
                f"loss '{loss}' is a regression loss but data '{dataset.name}' has class labels ({classes} classes)",
                hint="use loss: cross_entropy (or binary_cross_entropy for two classes)",
            )
        ]
    if kind == "binary":
        found = []
        if classes != 2:
            found.append(
                error(
                    "data-classes",
                    f"loss '{loss}' needs 2 classes but data '{dataset.name}' has {classes}",
                    hint=f"use loss: cross_entropy with a last layer of units: {classes}",
                )
            )
        if output_shape != (1,):
            found.append(
                error(
                    "data-classes",
                    f"loss '{loss}' needs one output unit (the probability of class 1) but {where}",
                    hint="end with dense: {units: 1} and sigmoid, or use loss: cross_entropy",
                )
            )
        return found
    if len(output_shape) != 1:
        return [
            error(
                "data-classes",
                f"data '{dataset.name}' has one class label per example but {where}",
                hint=f"end the network with flatten (or global_pool) and dense: {{units: {classes}}}",
            )
        ]
    units = output_shape[0]
    if units == 1 and classes == 2 and kind == "categorical":
        return [
            error(
                "data-classes",
                f"loss '{loss}' over one output unit cannot separate data '{dataset.name}''s 2 classes ({where})",
                hint="use loss: binary_cross_entropy, or a last layer of units: 2",
            )
        ]
    if classes > units:
        return [
            error(
                "data-classes",
                f"data '{dataset.name}' has {classes} classes but {where}: {units} units",
                hint=f"set the last layer to units: {classes}",
            )
        ]
    if classes < units:
        return [
            warning(
                "data-classes",
                f"data '{dataset.name}' has {classes} classes but {where}: {units - classes} units are never a target",
                hint=f"set the last layer to units: {classes}",
            )
        ]
    return []


def _regression_diagnostics(
    dataset: Dataset, output_shape: tuple[int, ...], spec_name: str, kind: LossKind | None, loss: str
) -> list[Diagnostic]:
    if kind in ("categorical", "binary"):
        return [
            error(
                "data-loss",
                f"loss '{loss}' needs class labels but data '{dataset.name}' has regression targets "
                f"{_shape(dataset.target_shape)}",
                hint="use loss: mse",
            )
        ]
    if dataset.target_shape == tuple(output_shape):
        return []
    hint = "make the last layer produce the target's shape"
    if dataset.name.startswith(("csv:", "synthetic:sine")):
        hint = (
            "time-series targets follow the output: (T, k) predicts each step ahead, (h,) or (h, k) the "
            "next h rows; set --horizon or change the last layer"
        )
    return [
        error(
            "data-target-shape",
            f"data '{dataset.name}' has targets of shape {_shape(dataset.target_shape)} "
            f"but spec '{spec_name}' outputs {_shape(output_shape)}",
            hint=hint,
        )
    ]


def check_compatible(
    dataset: Dataset,
    input_shape: tuple[int, ...],
    output_shape: tuple[int, ...],
    *,
    spec_name: str,
    loss: str,
) -> list[Diagnostic]:
    """Diagnostics (errors and warnings) for data that does not fit a spec.

    ``input_shape`` and ``output_shape`` exclude the batch axis; ``loss`` is
    the ``train:`` loss name (unknown names skip the loss-specific checks).

    >>> from netspec.data import load_data
    >>> data = load_data("synthetic:40", input_shape=(8, 8, 1), output_shape=(3,))
    >>> [d.code for d in check_compatible(data, (8, 8, 3), (2,), spec_name="net", loss="cross_entropy")]
    ['data-input-shape', 'data-classes']
    """
    found = _input_diagnostics(dataset, input_shape, spec_name)
    kind = loss_kind(loss)
    output_shape = tuple(output_shape)
    if dataset.task == "classification":
        found += _classification_diagnostics(dataset, output_shape, spec_name, kind, loss)
    else:
        found += _regression_diagnostics(dataset, output_shape, spec_name, kind, loss)
    return found
