"""The documented deep path ``netspec.visualize``; the code lives in :mod:`netspec.interpret.visualize`."""

from netspec.interpret.visualize import (
    activations_grid,
    check_layer,
    filters_grid,
    first_conv,
    layer_output,
    save_activations_png,
    save_filters_png,
    tile,
)

__all__ = [
    "activations_grid", "check_layer", "filters_grid", "first_conv", "layer_output",
    "save_activations_png", "save_filters_png", "tile",
]
