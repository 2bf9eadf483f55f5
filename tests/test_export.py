"""``netspec export``: the written file runs on its own and equals ``netspec.build``.

The ResNet-50 check loads the exported file in a fresh ``python -I`` process
in which importing netspec is made impossible, gives it the weights of a
model built by ``netspec.build`` (random weights, passed as an ``.npz`` of
its Param and BatchStat state), and compares the two models' outputs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
from conftest import ROOT
from flax import nnx
from test_build import linear_tracing

from netspec.builder import build
from netspec.cli.main import main
from netspec.pipeline import load

RESNET50 = ROOT / "specs" / "resnet50.yaml"

TINY = """\
name: tiny_export
input: [6, 6, 1]
layers:
  - conv: {K: 2, F: 3, activation: relu}
  - flatten
  - dense: {units: 2}
"""

# Run in the fresh interpreter: netspec is blocked, the exported module is
# loaded from its path, given the saved weights (on an abstract instance, so
# nothing is initialised twice), and run jitted in inference mode.
RUNNER = """
import importlib.util, json, sys
sys.modules["netspec"] = None  # any `import netspec` now fails
import jax, jax.numpy as jnp, numpy as np
from flax import nnx

module_path, weights_path, input_path, output_path, name = sys.argv[1:6]
spec = importlib.util.spec_from_file_location("exported_model", module_path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
model = nnx.eval_shape(lambda: getattr(module, name)(rngs=nnx.Rngs(params=1, dropout=2)))
saved = np.load(weights_path)
flat = dict(nnx.to_flat_state(nnx.state(model, (nnx.Param, nnx.BatchStat))))
assert set("/".join(map(str, path)) for path in flat) == set(saved.files)
for path, variable in flat.items():
    variable.set_value(jnp.asarray(saved["/".join(map(str, path))]))
model.eval()
output = nnx.jit(lambda m, x: m(x))(model, jnp.asarray(np.load(input_path)))
np.save(output_path, np.asarray(output))
print(json.dumps({"shapes": [list(module.INPUT_SHAPE), list(module.OUTPUT_SHAPE)],
                  "netspec": [m for m in sys.modules if m.startswith("netspec") and sys.modules[m]]}))
"""


def export(spec: Path | str, output: Path | str, *extra: str) -> int:
    return main(["export", str(spec), "-o", str(output), *extra])


def test_export_writes_the_build_source_and_refuses_to_overwrite(tmp_path, capsys):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    target = tmp_path / "out" / "model.py"
    assert export(spec, target) == 0
    written = target.read_text()
    assert "class TinyExport(nnx.Module):" in written
    assert export(spec, target) == 1
    assert "already exists" in capsys.readouterr().err
    assert target.read_text() == written
    target.write_text("# my own edits\n")
    assert export(spec, target, "--force") == 0
    assert target.read_text() == written
    assert export(spec, spec, "--force") == 1  # never overwrite the spec itself
    assert spec.read_text() == TINY
    assert export(spec, tmp_path) == 1  # a directory
    assert not list(target.parent.glob(".*.tmp"))


def test_export_to_stdout(tmp_path, capsys):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    assert main(["export", str(spec)]) == 0
    assert capsys.readouterr().out.startswith('"""tiny_export as a Flax NNX module')
    assert export(spec, "-") == 0
    assert "def __call__(self, x):" in capsys.readouterr().out


def test_export_of_a_bad_spec_fails_with_diagnostics(tmp_path, capsys):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: bad\ninput: [4, 4, 1]\nlayers:\n  - conv: {K: 2, F: 5}\n")
    assert export(spec, tmp_path / "model.py") == 1
    assert "bad.yaml:4" in capsys.readouterr().err
    assert not (tmp_path / "model.py").exists()


def random_weights(model: nnx.Module, seed: int = 0) -> dict[str, np.ndarray]:
    """He-scaled random weights for every Param and BatchStat (variances kept positive;
    dense kernels scaled up so the softmax output is far from uniform)."""
    rng = np.random.default_rng(seed)
    weights = {}
    for path, variable in nnx.to_flat_state(nnx.state(model, (nnx.Param, nnx.BatchStat))):
        shape = variable.get_value().shape
        if path[-1] == "var":
            value = rng.uniform(0.5, 1.5, shape)
        elif path[-1] == "kernel":
            value = rng.normal(size=shape) * np.sqrt(2.0 / np.prod(shape[:-1])) * (10 if len(shape) == 2 else 1)
        else:
            value = rng.normal(size=shape) * 0.1
        weights["/".join(map(str, path))] = value.astype(np.float32)
        variable.set_value(jnp.asarray(weights["/".join(map(str, path))]))
    return weights


def run_exported(spec: Path, tmp_path: Path, batch: int) -> None:
    """Export ``spec``, run it in a fresh interpreter with the same weights as
    ``netspec.build``'s model, and compare the outputs."""
    module_path = tmp_path / "model.py"
    assert export(spec, module_path) == 0
    graph = load(spec)
    with linear_tracing():
        model = nnx.eval_shape(lambda: build(graph))
    np.savez(tmp_path / "weights.npz", **random_weights(model))
    model.eval()
    x = np.random.default_rng(1).normal(size=(batch, *graph.input_shape)).astype(np.float32)
    np.save(tmp_path / "input.npy", x)
    result = subprocess.run(
        [sys.executable, "-I", "-c", RUNNER, str(module_path), str(tmp_path / "weights.npz"),
         str(tmp_path / "input.npy"), str(tmp_path / "output.npy"), type(model).__name__],
        capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["netspec"] == []
    expected = np.asarray(nnx.jit(lambda m, x: m(x))(model, jnp.asarray(x)))
    assert report["shapes"] == [list(graph.input_shape), list(expected.shape[1:])]
    np.testing.assert_allclose(np.load(tmp_path / "output.npy"), expected, rtol=1e-4, atol=1e-6)


def test_exported_tiny_model_runs_without_netspec(tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY)
    run_exported(spec, tmp_path, batch=3)


def test_exported_resnet50_runs_without_netspec_and_matches_build(tmp_path):
    run_exported(RESNET50, tmp_path, batch=1)
