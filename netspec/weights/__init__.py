"""Pretrained weights: read Keras, PyTorch, safetensors and netspec files,
match their layers to a spec's, convert layouts, and report what loaded.

>>> from netspec.weights import read_weights, match          # no JAX
>>> from netspec.train.pretrained import import_weights      # into a built model (JAX)

See ``docs/weights.md``.
"""

from netspec.weights.file import FileLayer, WeightsFile
from netspec.weights.match import ImportReport, match
from netspec.weights.read import read_weights

__all__ = ["FileLayer", "ImportReport", "WeightsFile", "match", "read_weights"]
