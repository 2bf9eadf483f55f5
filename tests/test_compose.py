"""base: a network made of another spec's layers plus a head; weights: imagenet lookup."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np
import pytest

import netspec
from netspec.diagnostics import NetspecError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "transfer_vgg16"
ROOT = Path(__file__).resolve().parent.parent


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_base_layers_come_first_with_their_names_and_shapes_for_this_input(tmp_path):
    spec = _write(tmp_path / "net.yaml", f"name: net\ninput: [64, 64, 3]\n"
                  f"base: {{spec: {ROOT / 'specs/vgg16.yaml'}, up_to: block3_pool}}\n"
                  "layers:\n  - global_pool\n  - dense: {units: 2, name: out}\n")
    graph = netspec.load(spec)
    names = [node.name for node in graph.nodes]
    assert names[:3] == ["input", "block1_conv1", "block1_conv2"]
    assert "block4_conv1" not in names and names[names.index("block3_pool") + 1] == "global_avg_pool_1"
    layers = netspec.summary(graph).to_dict()["layers"]
    shapes = {row["name"]: row["output_shape"] for row in layers}
    assert shapes["block3_pool"] == [8, 8, 256] and shapes["out"] == [2]


def test_base_paths_are_relative_to_the_spec_file(tmp_path):
    (tmp_path / "nets").mkdir()
    _write(tmp_path / "nets" / "base.yaml", "name: b\ninput: [8, 8, 3]\nlayers:\n  - conv: {K: 4, F: 3, name: c1}\n"
                                            "  - conv: {K: 4, F: 3, name: c2}\n")
    spec = _write(tmp_path / "nets" / "top.yaml", "name: t\ninput: [10, 10, 3]\nbase: {spec: base.yaml, up_to: c1}\n"
                                                  "layers: [flatten]\n")
    assert [node.name for node in netspec.load(spec).nodes] == ["input", "c1", "flatten_1"]


def test_a_base_cycle_is_a_diagnostic_at_its_line(tmp_path):
    _write(tmp_path / "a.yaml", "name: a\ninput: [8, 8, 3]\nbase: {spec: b.yaml}\nlayers: [flatten]\n")
    _write(tmp_path / "b.yaml", "name: b\ninput: [8, 8, 3]\nbase: {spec: a.yaml}\nlayers: [flatten]\n")
    with pytest.raises(NetspecError) as excinfo:
        netspec.load(tmp_path / "a.yaml")
    text = str(excinfo.value)
    assert "a.yaml:3" in text and "has errors" in text and "builds on itself" in text


def test_missing_base_file_and_unknown_up_to_are_diagnostics_with_hints(tmp_path):
    _write(tmp_path / "m.yaml", "name: m\ninput: [8, 8, 3]\nbase: {spec: nowhere.yaml}\nlayers: [flatten]\n")
    with pytest.raises(NetspecError) as excinfo:
        netspec.load(tmp_path / "m.yaml")
    (problem,) = excinfo.value.diagnostics
    assert problem.code == "base-missing" and problem.span.line == 3
    _write(tmp_path / "u.yaml", f"name: u\ninput: [32, 32, 3]\nbase:\n  spec: {ROOT / 'specs/vgg16.yaml'}\n"
                                "  up_to: block3_pol\nlayers: [flatten]\n")
    with pytest.raises(NetspecError) as excinfo:
        netspec.load(tmp_path / "u.yaml")
    (problem,) = excinfo.value.diagnostics
    assert problem.code == "base-up-to" and problem.span.line == 5 and "block3_pool" in problem.hint


def test_base_weights_load_into_the_base_layers_only(tmp_path, capsys):
    from netspec.builder import layer_module

    graph = netspec.load(EXAMPLE / "finetune.yaml")
    assert graph.meta["base"]["layers"][:2] == ["preprocess", "block1_conv1"]
    model = netspec.build(graph, seed=1)
    report = capsys.readouterr().err
    assert "4/4 layers, 4,296 parameters loaded" in report and "head_fc" not in report
    import h5py

    with h5py.File(EXAMPLE / "vgg_tiny_notop.h5") as handle:
        np.testing.assert_array_equal(layer_module(model, "block1_conv1").kernel[...],
                                      handle["block1_conv1/block1_conv1/kernel:0"][...])


def test_imagenet_is_looked_up_in_the_caches_and_hash_checked(tmp_path, monkeypatch):
    from netspec.weights import published
    from netspec.weights.published import published_weights

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NETSPEC_WEIGHTS", raising=False)
    with pytest.raises(NetspecError) as excinfo:
        published_weights("vgg16", top=False)
    (problem,) = excinfo.value.diagnostics
    assert problem.code == "weights-not-cached"
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in problem.message
    assert "storage.googleapis.com/tensorflow/keras-applications/vgg16/" in problem.hint
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("NETSPEC_WEIGHTS", str(cache))
    fake = cache / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    fake.write_bytes(b"not the published file")
    with pytest.raises(NetspecError) as excinfo:
        published_weights("vgg16", top=False)
    assert excinfo.value.diagnostics[0].code == "weights-hash"
    # a file with the published hash is found (the table entry swapped for this file's digest)
    digest = hashlib.md5(fake.read_bytes()).hexdigest()
    entry = published.PUBLISHED["vgg16"][False]
    monkeypatch.setitem(published.PUBLISHED, "vgg16", {False: published.Published(
        entry.file, entry.url, digest, "md5")})
    assert published_weights("vgg16", top=False) == fake
    with pytest.raises(NetspecError, match="knows no published weights"):
        published_weights("lenet5", top=True)


def test_weights_import_imagenet_names_the_missing_file(tmp_path, monkeypatch, capsys):
    from netspec.cli import main

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NETSPEC_WEIGHTS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["weights", "import", str(ROOT / "specs/resnet18.yaml"), "imagenet", "--out", "run"]) == 1
    err = capsys.readouterr().err
    assert "resnet18-f37072fd.pth" in err and "https://download.pytorch.org/models/" in err
    assert not (tmp_path / "run").exists()


# --- the base as a unit: summary, graph (a cluster, collapsible), export ----------------------

BASE_LAYERS = ["preprocess", "block1_conv1", "block1_conv2", "block1_pool", "block2_conv1", "block2_conv2",
               "block2_pool"]


def analysis_of(graph):
    from netspec.pipeline import analysis_of as infer

    return infer(graph)


def _finetune():
    graph = netspec.load(EXAMPLE / "finetune.yaml")
    return graph, analysis_of(graph)


def test_summary_says_where_the_base_layers_come_from():
    text = str(netspec.summary(EXAMPLE / "finetune.yaml"))
    assert ("Base:                 vgg_tiny up to block2_pool: 7 layers (preprocess … block2_pool), 4,296 params, "
            "weights: vgg_tiny_notop.h5") in text
    assert "Base:" not in str(netspec.summary(EXAMPLE / "head.yaml"))


def test_graph_draws_the_base_as_one_cluster_holding_exactly_its_layers():
    import re

    from netspec.report.diagram import to_dot

    text = to_dot(*_finetune())
    cluster = re.search(r'subgraph cluster_base \{\n\s*label="base: vgg_tiny up to block2_pool";(.*?)\n  \}',
                        text, re.S)
    assert cluster is not None
    assert re.findall(r'^\s*"([^"]+)" \[label=', cluster.group(1), re.M) == BASE_LAYERS


def test_graph_collapses_the_base_to_one_box_with_its_totals_and_edges():
    import re

    from netspec.report.collapse import collapse
    from netspec.report.diagram import to_dot
    from netspec.report.svg import render_svg

    graph, analysis = _finetune()
    small, facts = collapse(graph, analysis, ["base"])
    text = to_dot(small, facts)
    assert not any(f'"{name}"' in text for name in BASE_LAYERS)
    assert "subgraph" not in text
    assert '"base" [label="base: vgg_tiny up to block2_pool\\n7 layers, 4,296 params"' in text
    edges = re.findall(r'^\s*"([^"]+)" -> "([^"]+)" \[label="([^"]*)"\];$', text, re.M)
    assert edges[:2] == [("input", "base", "32×32×3"), ("base", "features", "8×8×16")]
    assert "vgg_tiny_finetune: 69,961 parameters" in text and facts.total_params == analysis.total_params
    svg = render_svg(small, facts, "t")
    assert '<g class="layer"><title>base: (8, 8, 16), 4,296 params</title>' in svg
    ElementTree.fromstring(svg)  # well-formed
    # any block, by its path: the box takes the block's input and gives its output
    resnet = netspec.load(ROOT / "specs" / "resnet18.yaml")
    resnet_facts = analysis_of(resnet)
    small, facts = collapse(resnet, resnet_facts, ["layer2", "layer3"])
    names = [node.name for node in small.nodes]
    assert names[names.index("layer2"):names.index("layer2") + 2] == ["layer2", "layer3"]
    assert small.node("layer3").inputs == ("layer2",) and facts.layers["layer3"].output_shape == (14, 14, 256)
    assert facts.layers["layer3"].params == sum(f.params for name, f in resnet_facts.layers.items()
                                                if name.startswith("layer3/"))
    with pytest.raises(NetspecError, match="has no block 'layr2'") as excinfo:
        collapse(resnet, resnet_facts, ["layr2"])
    assert "layer2" in excinfo.value.diagnostics[0].hint


def test_graph_command_collapses_and_refuses_an_unknown_block(tmp_path, capsys):
    from netspec.cli import main

    assert main(["graph", str(EXAMPLE / "finetune.yaml"), "--collapse", "base", "--renderer", "builtin",
                 "-o", str(tmp_path / "net.svg")]) == 0
    assert "base: vgg_tiny up to block2_pool" in (tmp_path / "net.svg").read_text()
    assert main(["graph", str(EXAMPLE / "head.yaml"), "--collapse", "base"]) == 1
    assert "has no block 'base'" in capsys.readouterr().err


def test_export_marks_the_base_without_changing_parameter_paths():
    from netspec.builder import build, layer_module
    from netspec.emit.program import emit_source

    graph, analysis = _finetune()
    source = emit_source(graph, analysis)
    opening = "        # --- base: vgg_tiny up to block2_pool (7 layers, 4,296 parameters) ---\n"
    closing = "        # --- end of base ---\n"
    assert source.count(opening) == 2 and source.count(closing) == 2  # in __init__ and in __call__
    init, call = source.split("    def __call__")
    for part, first, last in ((init, "self.block1_conv1 = ", "self.block2_conv2 = "),
                              (call, "x = preprocess_caffe(x)", "x = nnx.max_pool(x, (2, 2), strides=(2, 2)")):
        inside = part[part.index(opening):part.index(closing)]
        assert first in inside and last in inside
        assert "head_fc" not in inside
    model = build(graph)
    assert layer_module(model, "block1_conv1") is model.block1_conv1  # the base's layers stay top-level
    assert "base" not in {str(path[0]) for path, _ in nnx_paths(model)}


def nnx_paths(model):
    from flax import nnx

    return list(nnx.to_flat_state(nnx.state(model)))
