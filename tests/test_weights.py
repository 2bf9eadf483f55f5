"""Pretrained weights: the readers, matching, conversion and the report, on small
files made by Keras and PyTorch themselves (tests/fixtures/weights/make_fixtures.py),
so they run without keras or torch installed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import netspec
from netspec.cli import main
from netspec.diagnostics import NetspecError

FIXTURES = Path(__file__).parent / "fixtures" / "weights"
EXPECTED = np.load(FIXTURES / "expected.npz")
HAS_TORCH = importlib.util.find_spec("torch") is not None
KERAS_FILES = ["keras_legacy.h5", "keras3.weights.h5", "keras_model.keras"]


def outputs(model) -> np.ndarray:
    model.eval()
    return np.asarray(model(EXPECTED["x"]))


def codes(excinfo) -> set[str]:
    return {d.code for d in excinfo.value.diagnostics}


@pytest.mark.parametrize("name", KERAS_FILES)
def test_keras_files_give_keras_outputs(name, capsys):
    model = netspec.build(FIXTURES / "keras_net.yaml", weights=FIXTURES / name)
    np.testing.assert_allclose(outputs(model), EXPECTED["keras"], rtol=1e-5, atol=1e-6)
    report = capsys.readouterr().err
    assert "9/9 layers, 1,016 parameters loaded" in report
    # the residual block's layers answer to their Keras names (local names)
    assert "unit_1/residual_1/shortcut/block1_0_conv <- block1_0_conv" in report


@pytest.mark.parametrize("name", ["keras_mobile_legacy.h5", "keras_mobile.weights.h5"])
def test_keras_mobilenet_style_files_give_keras_outputs(name, capsys):
    """Normalization's statistics, relu6, depthwise without bias after correct_pad, batchnorm epsilon
    1e-3, and batchnorm without gamma (InceptionV3's scale=False), as Keras wrote them."""
    expected = np.load(FIXTURES / "keras_mobile.npz")
    model = netspec.build(FIXTURES / "keras_mobile.yaml", weights=FIXTURES / name)
    model.eval()
    np.testing.assert_allclose(np.asarray(model(expected["x"])), expected["keras"], rtol=1e-5, atol=1e-6)
    report = capsys.readouterr().err
    assert "18/18 layers, 626 parameters loaded" in report
    for layer in ("normalization", "block_1_depthwise", "block_1_depthwise_BN", "batch_normalization"):
        assert f"loaded   {layer}" in report


def test_safetensors_from_torch_gives_torch_outputs_with_the_flatten_order_fixed():
    model = netspec.build(FIXTURES / "torch_net.yaml", weights=FIXTURES / "torch_net.safetensors")
    np.testing.assert_allclose(outputs(model), EXPECTED["torch"], rtol=1e-5, atol=1e-6)


def test_without_the_flatten_fix_the_torch_outputs_differ():
    """The row permutation of the first dense layer is what makes the outputs agree."""
    from netspec.weights import convert

    graph = netspec.load(FIXTURES / "torch_net.yaml")
    model = netspec.build(graph)
    original = convert.channels_first_rows
    convert.channels_first_rows = lambda kernel, shape: kernel
    try:
        from netspec.train.pretrained import import_weights

        import_weights(model, graph, FIXTURES / "torch_net.safetensors")
    finally:
        convert.channels_first_rows = original
    assert not np.allclose(outputs(model), EXPECTED["torch"], atol=1e-3)


@pytest.mark.skipif(not HAS_TORCH, reason="reading .pth needs torch")
def test_pth_state_dict_gives_torch_outputs(capsys):
    model = netspec.build(FIXTURES / "torch_net.yaml", weights=FIXTURES / "torch_net.pth")
    np.testing.assert_allclose(outputs(model), EXPECTED["torch"], rtol=1e-5, atol=1e-6)
    assert "ignored 1 num_batches_tracked" in capsys.readouterr().err


def test_missing_torch_is_a_diagnostic_naming_the_fix(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(__import__("sys").modules, "torch", None)  # import torch -> ImportError
    out = tmp_path / "run"
    status = main(["weights", "import", str(FIXTURES / "torch_net.yaml"), str(FIXTURES / "torch_net.pth"),
                   "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 1 and "needs torch" in err and "netspec[interop]" in err
    assert not out.exists()


@pytest.mark.skipif(not HAS_TORCH, reason="the refusal comes from torch.load(weights_only=True)")
def test_a_pth_that_needs_code_to_unpickle_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    status = main(["weights", "import", str(FIXTURES / "torch_net.yaml"), str(FIXTURES / "unsafe.pth"),
                   "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 1 and "needs code execution to unpickle" in err and "Traceback" not in err
    assert not out.exists()


def test_inspect_lists_layers_arrays_shapes_and_dtypes(capsys):
    assert main(["weights", "inspect", str(FIXTURES / "keras_legacy.h5")]) == 0
    out = capsys.readouterr().out
    assert "keras-h5 (keras layout), 9 layers with weights, 1,016 values" in out
    assert "sep/pointwise_kernel (1, 1, 8, 5) float32" in out
    assert main(["weights", "inspect", str(FIXTURES / "keras3.weights.h5"), "--format", "json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["ordered"] is False
    assert {layer["name"] for layer in listing["layers"]} >= {"c1", "block1_0_conv", "predictions"}
    dense = next(layer for layer in listing["layers"] if layer["name"] == "fc1")
    assert dense["arrays"]["vars/0"] == {"shape": [80, 6], "dtype": "float32"}


def test_import_writes_a_run_that_checkpoint_commands_and_the_run_reader_accept(tmp_path, capsys):
    from netspec.interpret.trained import open_trained

    out = tmp_path / "imported"
    spec = str(FIXTURES / "keras_net.yaml")
    assert main(["weights", "import", spec, str(FIXTURES / "keras_legacy.h5"), "--out", str(out)]) == 0
    assert "9/9 layers" in capsys.readouterr().out
    assert json.loads((out / "weights.json").read_text())["loaded"] == 9
    trained = open_trained(spec, str(out))
    np.testing.assert_allclose(np.asarray(trained.model(EXPECTED["x"])), EXPECTED["keras"], rtol=1e-5, atol=1e-6)
    # a netspec run is itself a weights source
    model = netspec.build(spec, weights=out)
    np.testing.assert_allclose(outputs(model), EXPECTED["keras"], rtol=1e-5, atol=1e-6)
    # and the folder is never overwritten
    assert main(["weights", "import", spec, str(FIXTURES / "keras_legacy.h5"), "--out", str(out)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_a_file_of_another_network_is_refused_layer_by_layer(tmp_path, capsys):
    out = tmp_path / "run"
    status = main(["weights", "import", str(FIXTURES / "torch_net.yaml"), str(FIXTURES / "keras_legacy.h5"),
                   "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 1 and not out.exists()
    assert ("layer 'dense_2' <- 'block1_0_conv': bias is (4,) in the file, (3,) in the spec; "
            "kernel is (1, 1, 4, 4) in the file, (6, 3) in the spec") in err
    assert "has weights for 'predictions', which no layer of the spec takes" in err
    assert "fits 2/5 layers of the spec (3 not loaded, 4 unexpected in the file); nothing was loaded" in err
    assert "--partial" in err and "Traceback" not in err


def test_partial_load_lists_what_it_skipped(tmp_path):
    text = (FIXTURES / "keras_net.yaml").read_text().replace(
        "  - dense: {units: 3, activation: softmax, name: predictions}",
        "  - dense: {units: 2, activation: softmax, name: new_head}")
    spec = tmp_path / "new_head.yaml"
    spec.write_text(text)
    graph = netspec.load(spec)
    from netspec.train.pretrained import import_weights

    with pytest.raises(NetspecError) as excinfo:
        import_weights(netspec.build(graph), graph, FIXTURES / "keras_legacy.h5")
    assert {"weights-missing", "weights-unexpected", "weights-partial"} <= codes(excinfo)
    from netspec.builder import layer_module

    model = netspec.build(graph, seed=3)
    head_before = np.asarray(layer_module(model, "new_head").kernel[...]).copy()
    report = import_weights(model, graph, FIXTURES / "keras_legacy.h5", partial=True)
    assert [row.layer for row in report.rows if row.status != "loaded"] == ["new_head"]
    assert [layer.name for layer in report.unexpected] == ["predictions"]
    assert "8/9 layers" in report.totals() and "unexpected predictions (in the file only" in str(report)
    np.testing.assert_array_equal(layer_module(model, "new_head").kernel[...], head_before)  # kept its init
    import h5py

    with h5py.File(FIXTURES / "keras_legacy.h5") as handle:
        np.testing.assert_array_equal(layer_module(model, "fc1").kernel[...], handle["fc1/fc1/kernel"][...])


def test_map_pairs_differently_named_layers(tmp_path):
    text = (FIXTURES / "keras_net.yaml").read_text().replace("name: fc1}", "name: hidden}")
    spec = tmp_path / "renamed.yaml"
    spec.write_text(text)
    model = netspec.build(spec, weights=FIXTURES / "keras_model.keras", map={"fc1": "hidden"})
    np.testing.assert_allclose(outputs(model), EXPECTED["keras"], rtol=1e-5, atol=1e-6)
    with pytest.raises(NetspecError) as excinfo:
        netspec.build(spec, weights=FIXTURES / "keras_model.keras", map={"fc9": "hidden"})
    assert "weights-map" in codes(excinfo)


def test_init_from_accepts_a_weights_file():
    from flax import nnx

    from netspec.train.transfer import InitFromSpec, initialize_from

    graph = netspec.load(FIXTURES / "keras_net.yaml")
    model = netspec.build(graph)
    state = initialize_from(graph, nnx.state(model), [InitFromSpec(weights=str(FIXTURES / "keras3.weights.h5"))])
    nnx.update(model, state)
    np.testing.assert_allclose(outputs(model), EXPECTED["keras"], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="exactly one of checkpoint"):
        InitFromSpec(weights="a.h5", checkpoint="runs/x")


@pytest.mark.parametrize("content, message", [
    (b"name: not weights\n", "is not a weights file netspec can read"),
    (b"\x89HDF\r\n\x1a\n" + b"\0" * 200, "the HDF5 file is damaged or truncated"),
])
def test_files_of_other_formats_and_damaged_files_are_diagnostics(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(content)
    out = tmp_path / "run"
    status = main(["weights", "import", str(FIXTURES / "keras_net.yaml"), str(bad), "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 1 and message in err
    assert "Traceback" not in err and not out.exists()


def test_a_truncated_keras_file_is_a_diagnostic(tmp_path, capsys):
    data = (FIXTURES / "keras_legacy.h5").read_bytes()
    bad = tmp_path / "truncated.h5"
    bad.write_bytes(data[: len(data) // 2])
    assert main(["weights", "inspect", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "damaged or truncated" in err and "Traceback" not in err


def test_a_zip_that_is_neither_keras_nor_torch_is_refused(tmp_path, capsys):
    import zipfile

    bad = tmp_path / "x.keras"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert main(["weights", "inspect", str(bad)]) == 1
    assert "zip file" in capsys.readouterr().err


def test_order_matching_pairs_the_nth_weighted_layers(tmp_path):
    """A file with no names in common is matched by order (Keras' rule for its own files)."""
    from netspec.weights import match, read_weights

    graph = netspec.load(FIXTURES / "torch_net.yaml")
    report = match(read_weights(FIXTURES / "torch_net.safetensors"), graph)
    assert report.mode == "order (shape-guided)"
    assert [(row.layer, row.source) for row in report.rows][:2] == [("conv2d_1", "0"), ("batchnorm_1", "1")]


def test_safetensors_order_is_guided_by_shapes_when_names_sort_out_of_order(tmp_path):
    """safetensors keeps no module order: 'bn1' sorts before 'conv1', and the shapes put them right."""
    from safetensors.numpy import save_file

    from netspec.builder import layer_module

    rng = np.random.default_rng(0)
    arrays = {"conv1.weight": rng.normal(size=(4, 3, 3, 3)).astype("float32"),
              "bn1.weight": rng.normal(size=4).astype("float32"), "bn1.bias": rng.normal(size=4).astype("float32"),
              "bn1.running_mean": rng.normal(size=4).astype("float32"),
              "bn1.running_var": rng.uniform(1, 2, size=4).astype("float32"),
              "bn1.num_batches_tracked": np.zeros((), np.int64),
              "fc.weight": rng.normal(size=(2, 4)).astype("float32"), "fc.bias": np.zeros(2, "float32")}
    save_file(arrays, tmp_path / "w.safetensors")
    spec = tmp_path / "s.yaml"
    spec.write_text("name: s\ninput: [8, 8, 3]\nlayers:\n  - conv: {K: 4, F: 3, bias: false}\n"
                    "  - batchnorm: {epsilon: 1.0e-5}\n  - global_pool\n  - dense: {units: 2}\n")
    graph = netspec.load(spec)
    from netspec.train.pretrained import import_weights

    model = netspec.build(graph)
    report = import_weights(model, graph, tmp_path / "w.safetensors")
    assert [row.source for row in report.rows] == ["conv1", "bn1", "fc"]
    np.testing.assert_array_equal(layer_module(model, "conv2d_1").kernel[...],
                                  arrays["conv1.weight"].transpose(2, 3, 1, 0))
    np.testing.assert_array_equal(layer_module(model, "batchnorm_1").var[...], arrays["bn1.running_var"])


# --- preprocess: the input contract of the weights ------------------------------------------


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_preprocess_matches_keras_and_torchvision(mode, tmp_path):
    """In-graph preprocessing equals Keras' preprocess_input / torchvision's Normalize, as recorded."""
    from netspec.builder import layer_outputs

    recorded = np.load(FIXTURES / "preprocess.npz")
    spec = tmp_path / "p.yaml"
    spec.write_text(f"name: p\ninput: [4, 4, 3]\npreprocess: {mode}\nlayers: [flatten, {{dense: {{units: 2}}}}]\n")
    model = netspec.build(spec)
    seen = layer_outputs(model, recorded["raw"] / 255.0, ["preprocess"])["preprocess"]  # netspec's [0, 1] data
    np.testing.assert_allclose(np.asarray(seen), recorded[mode], rtol=1e-5, atol=1e-4)
    assert f"preprocess {mode}" in str(netspec.summary(spec))


def test_preprocess_is_part_of_the_exported_network_and_none_adds_nothing(tmp_path):
    from netspec.emit.program import emit_source
    from netspec.pipeline import analysis_of

    spec = tmp_path / "p.yaml"
    spec.write_text("name: p\ninput: [4, 4, 3]\npreprocess: caffe\nlayers: [flatten]\n")
    graph = netspec.load(spec)
    assert [node.op for node in graph.nodes] == ["input", "preprocess", "flatten"]
    assert "x = preprocess_caffe(x)" in emit_source(graph, analysis_of(graph))
    spec.write_text("name: p\ninput: [4, 4, 3]\npreprocess: none\nlayers: [flatten]\n")
    assert [node.op for node in netspec.load(spec).nodes] == ["input", "flatten"]


def test_training_warns_when_the_data_is_not_in_the_preprocess_range(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("p.yaml").write_text("name: p\ninput: [4, 4, 3]\npreprocess: tf\n"
                              "layers: [flatten, {dense: {units: 2, activation: softmax}}]\n")
    rng = np.random.default_rng(0)
    for name, top in (("raw.npz", 255.0), ("unit.npz", 1.0)):
        np.savez(name, x=rng.uniform(0, top, (8, 4, 4, 3)).astype(np.float32), y=np.arange(8) % 2)
    assert main(["train", "p.yaml", "--data", "npz:raw.npz", "--epochs", "1", "--batch-size", "4", "--out", "raw", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "warning: preprocess: tf expects images in [0, 1]" in captured.out + captured.err
    assert main(["train", "p.yaml", "--data", "npz:unit.npz", "--epochs", "1", "--batch-size", "4", "--out", "unit", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "expects images in [0, 1]" not in captured.out + captured.err


def test_preprocess_that_needs_rgb_is_an_error_at_its_line(tmp_path):
    spec = tmp_path / "p.yaml"
    spec.write_text("name: p\ninput: [4, 4, 1]\npreprocess: torch\nlayers: [flatten]\n")
    with pytest.raises(NetspecError) as excinfo:
        netspec.load(spec)
    (problem,) = excinfo.value.diagnostics
    assert problem.span.line == 3 and "needs RGB images (3 channels)" in problem.message


def test_import_usage_errors_are_diagnostics(tmp_path, capsys):
    spec = str(FIXTURES / "keras_net.yaml")
    assert main(["weights", "import", spec, "--out", str(tmp_path / "a")]) == 1
    assert "names no weights" in capsys.readouterr().err
    assert main(["weights", "import", spec, str(FIXTURES / "keras_legacy.h5"), "--map", "fc1",
                 "--out", str(tmp_path / "b")]) == 1
    assert "--map takes FILE_LAYER=SPEC_LAYER, but got 'fc1'" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_import_report_as_json(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["weights", "import", str(FIXTURES / "torch_net.yaml"), str(FIXTURES / "torch_net.safetensors"),
                 "--out", str(out), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["loaded"], report["total"], report["parameters"]) == (5, 5, 1003)
    assert [row["source"] for row in report["layers"]] == ["0", "1", "3", "6", "9"]
    assert report["run"] == str(out)


def _keras_resnet_names(blocks: tuple[int, ...]) -> list[tuple[str, str]]:
    """(layer name, kind) of every weighted layer keras.applications.ResNet* builds."""
    names = [("conv1_conv", "conv"), ("conv1_bn", "bn")]
    for stage, count in zip((2, 3, 4, 5), blocks):
        for block in range(1, count + 1):
            parts = ("0", "1", "2", "3") if block == 1 else ("1", "2", "3")
            names += [(f"conv{stage}_block{block}_{part}_{kind}", kind) for part in parts for kind in ("conv", "bn")]
    return names + [("predictions", "dense")]


@pytest.mark.parametrize(("spec", "names"), [
    ("specs/resnet50.yaml", _keras_resnet_names((3, 4, 6, 3))),
    ("specs/resnet152.yaml", _keras_resnet_names((3, 8, 36, 3))),
    ("specs/vgg16.yaml", [(f"block{b}_conv{c}", "conv") for b, n in zip(range(1, 6), (2, 2, 3, 3, 3))
                          for c in range(1, n + 1)] + [("fc1", "dense"), ("fc2", "dense"), ("predictions", "dense")]),
])
def test_zoo_specs_answer_to_every_keras_layer_name(spec, names):
    """Keras' names pair with every weighted layer of the zoo spec (no map), in a file whose
    layers are shuffled: matching is by name, not by order."""
    from netspec.weights import FileLayer, WeightsFile, match

    roles = {"conv": ("kernel", "bias"), "dense": ("kernel", "bias"),
             "bn": ("gamma", "beta", "moving_mean", "moving_variance")}
    layers = [FileLayer(name, {f"{name}/{role}:0": np.zeros(1, np.float32) for role in roles[kind]})
              for name, kind in names]
    layers = layers[1::2] + layers[::2]
    report = match(WeightsFile("keras.h5", "keras-h5", "keras", layers), netspec.load(Path(__file__).parent.parent / spec))
    assert report.mode == "name" and report.complete, str(report)[-2000:]
    assert len(report.loaded) == len(names)
