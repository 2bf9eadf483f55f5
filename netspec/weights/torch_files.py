"""PyTorch state dicts (``.pth`` / ``.pt``) and safetensors files.

A state dict maps ``module.path.param`` to tensors, in the order the
modules were registered (torchvision's definition order). It is read with
``torch.load(weights_only=True)``, PyTorch's restricted unpickler: a file
that needs arbitrary code to unpickle is refused, never run. torch is
optional (the ``interop`` extra); without it a ``.pth`` file is a
diagnostic naming the fix. safetensors files are read with the
safetensors library, no torch needed; they do not record module order,
so their modules are taken in natural name order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from netspec.diagnostics import NetspecError, error
from netspec.weights.file import FileLayer, WeightsFile

IGNORED = ("num_batches_tracked",)  # a batchnorm step counter, not a weight
WRAPPERS = ("state_dict", "model_state_dict", "model")  # checkpoints that wrap a state dict


def group_by_module(flat: dict[str, np.ndarray]) -> tuple[list[FileLayer], list[str]]:
    """``{"features.0.weight": a, ...}`` -> layers ``features.0`` ... in first-seen order,
    and the keys left out (``num_batches_tracked``)."""
    layers: dict[str, FileLayer] = {}
    skipped = []
    for key, value in flat.items():
        module, _, param = key.rpartition(".")
        if param in IGNORED:
            skipped.append(key)
            continue
        layers.setdefault(module, FileLayer(module, {})).arrays[param] = value
    return list(layers.values()), skipped


def _strip_prefix(flat: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``module.`` (nn.DataParallel) prefixes removed when every key has one."""
    if flat and all(key.startswith("module.") for key in flat):
        return {key[len("module."):]: value for key, value in flat.items()}
    return flat


def read_torch(path: Path) -> WeightsFile:
    try:
        import torch
    except ImportError:
        raise NetspecError([error(
            "torch-missing", f"{path} is a PyTorch file, and reading it needs torch, which is not installed",
            hint="pip install 'netspec[interop]' (or torch), or save the weights as safetensors "
                 "(safetensors.torch.save_file(model.state_dict(), 'weights.safetensors'))")]) from None
    import pickle

    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NetspecError([error(
            "weights-unsafe", f"{path} needs code execution to unpickle, and netspec refuses to run it "
                              f"(torch.load(weights_only=True): {first})",
            hint="save only the tensors: torch.save(model.state_dict(), FILE), or use safetensors")]) from None
    except (RuntimeError, OSError, EOFError, ValueError) as exc:
        raise NetspecError([error("weights-unreadable", f"cannot read {path} as a PyTorch file: {exc}",
                                  hint="pass a file written by torch.save(model.state_dict(), FILE)")]) from None
    for key in WRAPPERS:
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
            break
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise NetspecError([error(
            "weights-format", f"{path} holds a {type(loaded).__name__}, not a state dict of tensors",
            hint="save the state dict: torch.save(model.state_dict(), FILE)")])
    flat = {key: value.detach().cpu().float().numpy() if value.is_floating_point() else value.cpu().numpy()
            for key, value in loaded.items()}
    layers, skipped = group_by_module(_strip_prefix(flat))
    notes = [f"ignored {len(skipped)} num_batches_tracked counter(s)"] if skipped else []
    return WeightsFile(str(path), "torch", "torch", layers, notes=notes)


def read_safetensors(path: Path) -> WeightsFile:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        flat = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise NetspecError([error("weights-unreadable", f"cannot read {path} as safetensors: {exc}")]) from None
    layers, skipped = group_by_module(_strip_prefix(flat))
    layers.sort(key=lambda layer: natural_key(layer.name))
    notes = [f"ignored {len(skipped)} num_batches_tracked counter(s)"] if skipped else []
    notes.append("safetensors records no module order: each spec layer takes the first layer in natural "
                 "name order (features.2 before features.10) whose shapes fit; check the report, or use "
                 "map: or the .pth file")
    return WeightsFile(str(path), "safetensors", "torch", layers, notes=notes, guided=True)


def natural_key(name: str) -> tuple:
    """``features.10`` after ``features.2``: numeric parts compare as numbers.

    >>> sorted(["f.10", "f.2", "c.0"], key=natural_key)
    ['c.0', 'f.2', 'f.10']
    """
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in name.split("."))
