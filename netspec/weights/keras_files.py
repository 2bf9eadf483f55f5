"""Keras weights files, read with h5py.

* legacy HDF5 (``keras.applications`` downloads, ``model.save("x.h5")``,
  Keras 2 ``save_weights``): root (or ``model_weights/``) attribute
  ``layer_names`` lists every layer in model order; each layer's group has
  ``weight_names`` (``block1_conv1/kernel:0`` ...), the datasets under it
  in that order (Keras ``legacy_h5_format.load_weights_from_hdf5_group``);
* Keras 3 ``.weights.h5``: ``layers/<path>/vars/0..n``, each ``vars``
  group naming its layer in attribute ``name``; groups are stored by path,
  so the layer order is not recorded (``saving_lib.H5IOStore``);
* Keras 3 ``.keras``: a zip holding ``model.weights.h5`` (the layout
  above) and ``config.json``, whose ``layers`` list restores the order.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

from netspec.diagnostics import NetspecError, error
from netspec.weights.file import FileLayer, WeightsFile


def _strings(values) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in np.asarray(values).ravel()]


def read_h5(path: Path, source) -> WeightsFile:
    """A Keras legacy or Keras 3 HDF5 weights file (``source``: a path or a file object)."""
    import h5py

    with h5py.File(source, "r") as handle:
        if "layer_names" in handle.attrs:
            return WeightsFile(str(path), "keras-h5", "keras", _legacy_layers(handle))
        weights = handle.get("model_weights")
        if isinstance(weights, h5py.Group) and "layer_names" in weights.attrs:
            return WeightsFile(str(path), "keras-h5", "keras", _legacy_layers(weights))
        if isinstance(handle.get("layers"), h5py.Group):
            return WeightsFile(str(path), "keras3-weights-h5", "keras", _keras3_layers(handle), ordered=False)
    raise NetspecError([error(
        "weights-format", f"{path} is an HDF5 file but not a Keras weights file "
                          "(no 'layer_names' attribute and no 'layers' group)",
        hint="pass a file written by Keras (model.save_weights / model.save, or keras.applications)")])


def _legacy_layers(group) -> list[FileLayer]:
    layers = []
    for name in _strings(group.attrs["layer_names"]):
        layer_group = group[name]
        names = _strings(layer_group.attrs.get("weight_names", []))
        if names:
            layers.append(FileLayer(name, {weight: np.asarray(layer_group[weight]) for weight in names}))
    return layers


def _keras3_layers(handle) -> list[FileLayer]:
    import h5py

    found: list[FileLayer] = []

    def visit(path: str, item) -> None:
        if isinstance(item, h5py.Group) and path.endswith("vars") and len(item):
            name = str(item.attrs.get("name", path.split("/")[-2]))
            keys = sorted(item.keys(), key=int)
            found.append(FileLayer(name, {f"vars/{key}": np.asarray(item[key]) for key in keys}))

    handle.visititems(visit)
    return found


def read_keras_zip(path: Path) -> WeightsFile:
    """A Keras 3 ``.keras`` archive: its ``model.weights.h5``, in ``config.json``'s layer order."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        if "model.weights.h5" not in names:
            raise NetspecError([error("weights-format", f"{path} is a zip file without model.weights.h5",
                                      hint="pass a .keras file written by Keras 3 model.save()")])
        data = io.BytesIO(archive.read("model.weights.h5"))
        config = json.loads(archive.read("config.json")) if "config.json" in names else {}
    weights = read_h5(path, data)
    order = [layer.get("config", {}).get("name") for layer in config.get("config", {}).get("layers", [])]
    weights.format = "keras-zip"
    if order and all(layer.name in order for layer in weights.layers):
        weights.layers.sort(key=lambda layer: order.index(layer.name))
        weights.ordered = True
    return weights
