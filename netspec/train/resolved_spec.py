"""``spec.resolved.yaml``: the spec a run really trained, beside the original ``spec.yaml``.

The network is the original's (its ``layers:``, ``blocks:``... unchanged); the
``train:`` section is replaced by every setting the run used, command-line
overrides, defaults and the chosen loss and data source included, so
``netspec train spec.resolved.yaml`` repeats the run with no flags.
"""

from __future__ import annotations

from typing import Any

import yaml

from netspec.spec.train import TrainSpec

HEADER = ("# The spec this run trained: the network of spec.yaml with every train: setting\n"
          "# resolved (command-line overrides, defaults, the chosen loss and data source).\n")


def resolved_spec_text(original: str, train: TrainSpec, *, loss: str, data: str | None) -> str:
    """The original spec text with its ``train:`` section replaced by ``train`` (resolved).

    >>> text = "name: t\\ninput: [4]\\nlayers: [{dense: {units: 2}}]\\ntrain: {epochs: 1}\\n"
    >>> resolved = yaml.safe_load(resolved_spec_text(text, TrainSpec(epochs=3), loss="mse", data="synthetic"))
    >>> resolved["train"]["epochs"], resolved["train"]["loss"], resolved["layers"]
    (3, 'mse', [{'dense': {'units': 2}}])
    """
    from netspec.spec.source import load_yaml

    # netspec's own loader: numbers such as 1e-3 stay numbers, as they were when the run loaded it.
    loaded, _ = load_yaml(original, "spec.yaml")
    document: dict[str, Any] = dict(loaded.data) if loaded is not None and isinstance(loaded.data, dict) else {}
    settings = train.model_dump(mode="json")
    settings["loss"] = loss
    if data is not None:
        settings["data"] = data
    document["train"] = settings
    return HEADER + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
