"""The new static commands and flags never import JAX, Flax, Optax or NumPy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys
from netspec.cli import main
codes = [
    main(["check", "specs/resnet50.yaml", "-q", "--budget", "max_params=30M",
          "--budget", "max_train_memory={batch_size: 32, limit: 64GiB}"]),
    main(["summary", "specs/resnet50.yaml", "--batch-size", "8", "--format", "json"]),
    main(["summary", "specs/vgg16.yaml", "--format", "markdown"]),
    main(["diff", "specs/resnet50.yaml", "specs/resnet101.yaml", "--format", "json"]),
    main(["expand", "specs/googlenet.yaml"]),
    main(["schema", "--summary"]),
]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("jax", "jaxlib", "flax", "optax", "orbax", "numpy"))
print("CODES", codes, "HEAVY", heavy, file=sys.stderr)
assert codes == [0, 0, 0, 1, 0, 0] and not heavy
"""


def test_new_static_commands_never_import_jax():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
