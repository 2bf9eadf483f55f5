"""What a weights file holds, in the file's own terms: an ordered list of
layers, each with its arrays in the file's own names and layout.

Readers (:mod:`.keras_files`, :mod:`.torch_files`, :mod:`netspec.train.run_weights`) fill
this in; :mod:`.match` pairs its layers with a spec's and :mod:`.convert`
turns each array into netspec's layout. Nothing here imports JAX.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

# How a file lays out its arrays: Keras (HWIO kernels, (in, out) dense, BN gamma beta mean var),
# PyTorch (OIHW kernels, (out, in) Linear, weight/bias/running_mean/running_var) or netspec's own.
Layout = Literal["keras", "torch", "netspec"]


@dataclass
class FileLayer:
    """One layer of a weights file: its name in the file and its arrays, in file order."""

    name: str
    arrays: dict[str, np.ndarray]

    @property
    def size(self) -> int:
        return sum(int(np.prod(a.shape)) for a in self.arrays.values())


@dataclass
class WeightsFile:
    """A weights file read into memory.

    ``ordered`` says whether ``layers`` are in the network's order (Keras'
    legacy files and PyTorch state dicts are; a Keras 3 ``.weights.h5``
    or a safetensors file does not record it, so only names can match)."""

    path: str
    format: str
    layout: Layout
    layers: list[FileLayer]
    ordered: bool = True
    # the order is only approximate (safetensors: natural name order): order matching then
    # takes, for each spec layer, the first remaining file layer whose shapes fit
    guided: bool = False
    notes: list[str] = field(default_factory=list)
    # netspec runs: the spec the arrays belong to (layer name -> its netspec op), for conversion
    ops: dict[str, str] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(layer.size for layer in self.layers)

    def layer(self, name: str) -> FileLayer | None:
        return next((layer for layer in self.layers if layer.name == name), None)
