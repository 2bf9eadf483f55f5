"""How many feature maps XLA keeps for one layer in a train step, next to netspec's estimate.

Each probe is ``conv → LAYER → conv → global_pool → dense`` on 32×32×32 inputs, trained with
plain SGD. XLA's figure (``benchmarks/memory_calibration.py``: the compiled step's
``memory_analysis()``) is taken at batch 16 and 32; the difference, in 32×32×32 float32 maps per
16 examples, is what the network keeps per example, without the fixed costs (weights, code).
The per-layer rules of ``netspec.infer.memory`` (``EXTRA_BUFFERS``, ``ACTIVATION_BUFFERS``) come
from this table::

    .venv/bin/python benchmarks/memory_probes.py [relu swish ...]

Measured on CPU (jax 0.10.2), maps per 16 examples, XLA / estimate: none 6 / 4, relu 7 / 5,
sigmoid 7 / 5, swish 8 / 6, gelu 9 / 7, batchnorm 8 / 6, batchnorm+relu 8 / 6,
batchnorm+swish 9 / 7, depthwise conv 7 / 5, squeeze-and-excitation 8 / 6, dropout 8 / 6: every
layer's share matches, and XLA keeps two maps more than the estimate in every probe (about the
backward convolutions' workspace, which the estimate counts as one output and one input gradient).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from memory_calibration import compare  # noqa: E402

PROBES = {
    "none": [],
    "relu": ["relu"],
    "sigmoid": ["sigmoid"],
    "swish": ["swish"],
    "gelu": ["gelu"],
    "batchnorm": ["batchnorm"],
    "batchnorm+relu": ["batchnorm", "relu"],
    "batchnorm+swish": ["batchnorm", "swish"],
    "depthwise": ["depthwise_conv: {F: 3, P: same}"],
    "squeeze-excite": ["relu: {name: act}", "global_pool", "reshape: [1, 1, -1]",
                       "conv: {K: 32, F: 1, activation: sigmoid, name: gate}", "multiply: {from: [act, gate]}"],
    "dropout": ["dropout: 0.5"],
}
MAP_BYTES = 16 * 32 * 32 * 32 * 4  # one 32×32×32 float32 map for the 16 extra examples


def probe_text(name: str) -> str:
    items = "".join(f"  - {item}\n" for item in PROBES[name])
    return (f"name: probe\ninput: [32, 32, 32]\ntrain: {{optimizer: {{name: sgd, lr: 0.01}}}}\nlayers:\n"
            f"  - conv: {{K: 32, F: 3, P: same}}\n{items}  - conv: {{K: 32, F: 3, P: same}}\n"
            "  - global_pool\n  - dense: {units: 10}\n")


def main() -> int:
    names = sys.argv[1:] or list(PROBES)
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            path = Path(folder) / "probe.yaml"
            path.write_text(probe_text(name))
            small, large = compare(path, 16), compare(path, 32)
            xla = (large["xla"]["peak_bytes"] - small["xla"]["peak_bytes"]) / MAP_BYTES
            ours = (large["estimate"]["peak_bytes"] - small["estimate"]["peak_bytes"]) / MAP_BYTES
            print(f"{name:16s} XLA {xla:5.2f} maps   estimate {ours:5.2f} maps", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
