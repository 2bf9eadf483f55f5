"""Training data: ``load_data(source, ...)`` → :class:`Dataset`, and ``check_compatible``.

NumPy only (no JAX): the static path may import this package.
"""

from netspec.data.compat import check_compatible, loss_kind
from netspec.data.dataset import Dataset, Split
from netspec.data.folder import read_image
from netspec.data.load import SOURCES, load_data
from netspec.data.splits import split_validation

__all__ = [
    "SOURCES",
    "Dataset",
    "Split",
    "check_compatible",
    "load_data",
    "loss_kind",
    "read_image",
    "split_validation",
]
