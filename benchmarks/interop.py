"""Proof of equality: reference networks built by Keras and torchvision with random
weights, saved by their own library in every format netspec reads, imported into
the zoo specs with no map, and compared on the same random batch.

    pip install -e '.[interop]' && pip install --no-deps torchvision
    KERAS_BACKEND=jax .venv/bin/python benchmarks/interop.py [--only VGG16] [--batch 4]

For each (network, format): logits max relative difference (max |a - b| / max |b|,
float32; must be <= 1e-4), top-1 agreement (must be 100 %), and one intermediate
layer compared the same way. Exit status 1 if any row fails. Random batchnorm
statistics are drawn so that the imported running means and variances matter.

A row of ``CASES`` names the reference constructor, the zoo spec, an intermediate
layer and the input size: the Keras networks whose specs compile slowly run at the
smallest input Keras accepts for them (InceptionV3 75, Xception 71, the others 32;
every stride-2 stage then sees an even size, so Keras' ``correct_pad`` pads as the
spec does), the spec's ``input:`` overridden to match. Rows whose spec file does not
exist are listed as skipped.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")
ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 1e-4


@dataclass
class Case:
    library: str       # "keras" | "torch"
    name: str          # keras.applications / torchvision.models constructor
    spec: str
    layer: str         # intermediate layer: Keras layer name / torch module path
    spec_layer: str    # the same point in the spec: a layer name or a group whose last layer it is
    size: int = 224    # input height and width (the spec's input: is overridden when it differs)


CASES = [
    Case("keras", "VGG16", "specs/vgg16.yaml", "block4_pool", "block4_pool"),
    Case("keras", "ResNet50", "specs/resnet50.yaml", "conv4_block6_out", "conv4"),
    Case("torch", "resnet18", "specs/resnet18.yaml", "layer3", "layer3"),
    Case("torch", "resnet34", "specs/resnet34.yaml", "layer3", "layer3"),
    Case("torch", "vgg16", "specs/vgg16.yaml", "features.23", "block4_pool"),
    Case("torch", "alexnet", "specs/alexnet.yaml", "features.12", "pool5"),
    Case("keras", "InceptionV3", "specs/inception_v3.yaml", "mixed5", "mixed5", size=75),
    Case("keras", "Xception", "specs/xception.yaml", "block13_sepconv2_bn", "block13_sepconv2_bn", size=71),
    Case("keras", "MobileNet", "specs/mobilenet.yaml", "conv_pw_13_relu", "conv_pw_13_relu", size=32),
    Case("keras", "MobileNetV2", "specs/mobilenet_v2.yaml", "block_13_expand_relu", "block_13_expand_relu",
         size=32),
    Case("keras", "DenseNet121", "specs/densenet121.yaml", "pool4_conv", "pool4_conv", size=32),
    Case("keras", "EfficientNetB0", "specs/efficientnet_b0.yaml", "block6a_se_excite", "block6a_se_excite",
         size=32),
]


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-30))


def spec_point(graph, name: str) -> str:
    """The node for ``name``: the layer itself, a layer with that local name, or the last
    layer of the group (named block) ``name``."""
    names = [node.name for node in graph.nodes]
    if name in names:
        return name
    local = [n for n in names if n.rsplit("/", 1)[-1] == name]
    if len(local) == 1:
        return local[0]
    inside = [n for n in names if n.startswith(name + "/")]
    if inside:
        return inside[-1]
    raise SystemExit(f"{graph.name} has no layer or group '{name}'")


# --- reference networks --------------------------------------------------------------------


def keras_reference(case: Case, x: np.ndarray, folder: Path):
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    model = getattr(keras.applications, case.name)(
        weights=None, classifier_activation=None, input_shape=(case.size, case.size, 3))
    rng = np.random.default_rng(0)
    draw = {"gamma": lambda shape: rng.uniform(0.5, 1.5, shape), "beta": lambda shape: rng.normal(0, 0.1, shape),
            "moving_mean": lambda shape: rng.normal(0, 0.1, shape),
            "moving_variance": lambda shape: rng.uniform(0.5, 1.5, shape)}
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):  # gamma/beta absent with scale/center=False
            layer.set_weights([draw[variable.name](value.shape)
                               for variable, value in zip(layer.weights, layer.get_weights())])
    logits = np.asarray(model.predict(x, verbose=0))
    probe = keras.Model(model.inputs, model.get_layer(case.layer).output)
    inner = np.asarray(probe.predict(x, verbose=0))
    files = {}
    files["legacy .h5"] = folder / "weights.h5"
    with h5py.File(files["legacy .h5"], "w") as handle:  # keras.applications' layout
        legacy_h5_format.save_weights_to_hdf5_group(handle, model)
    files[".weights.h5"] = folder / "model.weights.h5"
    model.save_weights(files[".weights.h5"])
    files[".keras"] = folder / "model.keras"
    model.save(files[".keras"])
    return logits, inner, files


def import_torchvision():
    """torchvision's model definitions, without its compiled ops: the registry's wheel may not
    match the local torch (``operator torchvision::nms does not exist``); the networks need none."""
    import torch.library

    real = torch.library.register_fake
    torch.library.register_fake = lambda *args, **kwargs: (lambda function: function)
    try:
        import torchvision.models
    finally:
        torch.library.register_fake = real
    return torchvision.models


def torch_reference(case: Case, x: np.ndarray, folder: Path):
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model = getattr(import_torchvision(), case.name)(weights=None)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.1)
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
    model.eval()
    captured = {}
    model.get_submodule(case.layer).register_forward_hook(lambda m, i, o: captured.setdefault("x", o))
    with torch.no_grad():
        logits = model(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    inner = captured["x"].numpy().transpose(0, 2, 3, 1)
    files = {".pth": folder / "model.pth", ".safetensors": folder / "model.safetensors"}
    torch.save(model.state_dict(), files[".pth"])
    save_file(model.state_dict(), files[".safetensors"])
    return logits, inner, files


# --- netspec side -----------------------------------------------------------------------------


def spec_source(case: Case) -> Path | str:
    """The spec file, or its text with ``input:`` set to the case's size."""
    path = ROOT / case.spec
    text = path.read_text()
    wanted = f"input: [{case.size}, {case.size}, 3]"
    if re.search(r"^input: \[(\d+), \1, 3\]$", text, re.M) is None:
        raise SystemExit(f"{case.spec}: no 'input: [N, N, 3]' line to resize")
    if wanted in text:
        return path
    return re.sub(r"^input: \[.*\]$", wanted, text, count=1, flags=re.M)


def netspec_outputs(case: Case, path: Path, x: np.ndarray):
    import netspec
    from netspec.builder import layer_outputs
    from netspec.interpret.trained import without_head
    from netspec.train.pretrained import import_weights

    graph = netspec.load(spec_source(case))
    model = netspec.build(graph)
    report = import_weights(model, graph, path)
    model.eval()
    logits_model, _ = without_head(model, graph)
    logits = np.asarray(logits_model(x))
    point = spec_point(graph, case.spec_layer)
    inner = np.asarray(layer_outputs(model, x, [point])[point])
    return logits, inner, report, point


def run_case(case: Case, x: np.ndarray) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        reference = keras_reference if case.library == "keras" else torch_reference
        started = time.perf_counter()
        logits, inner, files = reference(case, x, folder)
        print(f"{case.name}: reference built and saved in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        for fmt, path in files.items():
            started = time.perf_counter()
            try:
                ours, ours_inner, report, point = netspec_outputs(case, path, x)
            except Exception as exc:  # a failed import is a row of the table, not the end of the run
                rows.append({"case": case, "format": fmt, "error": f"{type(exc).__name__}: {exc}"[:200]})
                print(f"  {fmt}: FAILED {exc}", file=sys.stderr)
                continue
            row = {"case": case, "format": fmt, "size": path.stat().st_size, "mode": report.mode,
                   "layers": f"{len(report.loaded)}/{len(report.rows)}", "params": report.parameters,
                   "logits": relative(ours, logits),
                   "top1": float(np.mean(ours.argmax(-1) == logits.argmax(-1))),
                   "point": point, "inner": relative(ours_inner, inner),
                   "seconds": time.perf_counter() - started}
            row["ok"] = row["logits"] <= TOLERANCE and row["inner"] <= TOLERANCE and row["top1"] == 1.0
            rows.append(row)
            print(f"  {fmt}: logits {row['logits']:.1e}, top-1 {row['top1']:.0%}, {point} {row['inner']:.1e}",
                  file=sys.stderr)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| reference | spec | file | matched by | layers | parameters | logits rel. diff | top-1 | "
             "intermediate (rel. diff) | import + run, s |",
             "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: |"]
    for row in rows:
        case = row["case"]
        title = f"{'keras.applications' if case.library == 'keras' else 'torchvision'} {case.name}"
        if case.size != 224:
            title += f" ({case.size}×{case.size})"
        if "skipped" in row:
            lines.append(f"| {title} | `{case.spec}` | — | skipped: {row['skipped']} | | | | | | |")
        elif "error" in row:
            lines.append(f"| {title} | `{case.spec}` | {row['format']} | FAILED: {row['error']} | | | | | | |")
        else:
            lines.append(
                f"| {title} | `{case.spec}` | {row['format']} ({row['size'] / 2**20:,.0f} MiB) | {row['mode']} | "
                f"{row['layers']} | {row['params']:,} | {row['logits']:.1e} | {row['top1']:.0%} | "
                f"`{case.layer}` {row['inner']:.1e} | {row['seconds']:.0f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], help="run only these networks (repeatable)")
    parser.add_argument("--batch", type=int, default=4, help="images in the random batch (default 4)")
    args = parser.parse_args()
    rows: list[dict] = []
    for case in CASES:
        if args.only and case.name not in args.only:
            continue
        if not (ROOT / case.spec).exists():
            rows.append({"case": case, "skipped": f"{case.spec} not written yet"})
            continue
        x = np.random.default_rng(42).uniform(-1, 1, size=(args.batch, case.size, case.size, 3))
        rows += run_case(case, x.astype(np.float32))
    print(table(rows))
    return 0 if all(row.get("ok", "skipped" in row) for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
