"""Write random ``vgg_tiny`` weights in the layout of keras.applications'
``vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`` (root ``layer_names``,
per-layer ``weight_names``, HWIO kernels), with h5py only.

    python examples/transfer_vgg16/make_tiny_weights.py [OUT.h5]
"""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np

# (layer name, kernel shape) of vgg_tiny.yaml's convolutions, in model order
CONVOLUTIONS = [("block1_conv1", (3, 3, 3, 8)), ("block1_conv2", (3, 3, 8, 8)),
                ("block2_conv1", (3, 3, 8, 16)), ("block2_conv2", (3, 3, 16, 16))]
POOLS = {"block1_conv2": "block1_pool", "block2_conv2": "block2_pool"}


def write(path: str | Path, seed: int = 0) -> Path:
    """A notop weights file: every convolution, He-scaled random kernels, small biases."""
    rng = np.random.default_rng(seed)
    names = ["input_1"]
    with h5py.File(path, "w") as handle:
        handle.create_group("input_1").attrs["weight_names"] = np.array([], dtype="S")
        for name, shape in CONVOLUTIONS:
            group = handle.create_group(name)
            fan_in = shape[0] * shape[1] * shape[2]
            weights = {f"{name}/kernel:0": rng.normal(0, np.sqrt(2 / fan_in), shape),
                       f"{name}/bias:0": rng.normal(0, 0.01, shape[-1])}
            group.attrs["weight_names"] = np.array([w.encode() for w in weights])
            for weight, value in weights.items():
                group.create_dataset(weight, data=value.astype("float32"))
            names.append(name)
            if name in POOLS:
                handle.create_group(POOLS[name]).attrs["weight_names"] = np.array([], dtype="S")
                names.append(POOLS[name])
        handle.attrs["layer_names"] = np.array([n.encode() for n in names])
    return Path(path)


if __name__ == "__main__":
    print(write(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("vgg_tiny_notop.h5")))
