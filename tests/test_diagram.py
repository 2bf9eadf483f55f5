"""Network diagrams: DOT with shape-labelled edges and block clusters, and SVG
from the built-in layout (netspec.report.diagram, ``netspec graph``). Static: no JAX."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

import pytest
from conftest import ROOT
from trained_mnist import run_cli

from netspec.diagnostics import NetspecError
from netspec.pipeline import analysis_of, load
from netspec.report import render
from netspec.report.diagram import cluster_tree, edges, to_dot
from netspec.report.render import to_svg

SVG = "{http://www.w3.org/2000/svg}"


def _loaded(name: str):
    graph = load(str(ROOT / name))
    return graph, analysis_of(graph)


def _dot_edges(text: str) -> list[tuple[str, str, str]]:
    return re.findall(r'^\s*"([^"]+)" -> "([^"]+)" \[label="([^"]*)"\];$', text, re.MULTILINE)


def test_lenet_dot_has_one_box_per_layer_and_every_edge_labelled_with_its_shape():
    graph, analysis = _loaded("examples/lenet_keras.yaml")
    text = to_dot(graph, analysis)
    assert text.startswith('digraph "lenet_keras" {') and text.rstrip().endswith("}")
    for node in graph.nodes:
        assert f'"{node.name}" [label=' in text
    assert '"conv2d_1" [label="conv2d_1\\nconv 5×5 K=20 same relu"' in text
    assert _dot_edges(text) == [
        ("input", "conv2d_1", "28×28×1"), ("conv2d_1", "max_pool2d_1", "28×28×20"),
        ("max_pool2d_1", "conv2d_2", "14×14×20"), ("conv2d_2", "max_pool2d_2", "14×14×50"),
        ("max_pool2d_2", "flatten_1", "7×7×50"), ("flatten_1", "dense_1", "2450"),
        ("dense_1", "dense_2", "500"), ("dense_2", "output", "10")]
    assert "subgraph" not in text  # no blocks, no clusters


def test_resnet18_dot_draws_blocks_as_nested_clusters():
    graph, analysis = _loaded("specs/resnet18.yaml")
    text = to_dot(graph, analysis)
    assert text.count("{") == text.count("}")
    clusters = re.findall(r"subgraph (cluster_\w+) \{", text)
    assert len(clusters) == len(set(clusters))
    labels = re.findall(r'^\s*label="([^"]*)"; labeljust', text, re.MULTILINE)
    assert len(labels) == len(clusters)
    # four stages (a repeat, then three stage templates), eight residual blocks, three projection shortcuts;
    # a block holding nothing but one sub-block is one box named after both
    assert [label for label in labels if not label.endswith("residual_1") and label != "shortcut"] == [
        "layer1 (repeat)", "layer2 (stage K=128 blocks=2)", "layer3 (stage K=256 blocks=2)",
        "layer4 (stage K=512 blocks=2)"]
    assert sum(label.endswith("› residual_1") for label in labels) == 8
    assert "repeat_1 › basic_block_1 (basic_block K=256) › residual_1" in labels
    assert labels.count("shortcut") == 3
    found = _dot_edges(text)
    assert len(found) == sum(len(node.inputs) for node in graph.nodes) + 1
    # the identity shortcut of the first block: from the stem's pool straight into the add
    assert ("maxpool", "layer1/basic_block_1/residual_1/add_1", "56×56×64") in found
    assert ("avgpool", "fc", "512") in found


def test_inception_branches_are_clusters_inside_the_block():
    graph, _ = _loaded("specs/googlenet.yaml")
    root = cluster_tree(graph)
    first = root.children[0]
    assert first.kind == "inception" and first.label.startswith("inception_3a (inception_module")
    assert [child.label for child in first.children] == ["branch_1", "branch_2", "branch_3", "branch_4"]
    assert all(child.dashed for child in first.children)
    assert len(first.members()) == sum(1 for node in graph.nodes if node.name.startswith("inception_3a/"))


def _boxes(root) -> list[tuple[float, float, float, float]]:
    boxes = []
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "layer":
            shape = group.find(f"{SVG}rect")
            if shape is not None:
                x, y = float(shape.get("x")), float(shape.get("y"))
                boxes.append((x, y, x + float(shape.get("width")), y + float(shape.get("height"))))
    return boxes


@pytest.mark.parametrize("name", ["examples/lenet_keras.yaml", "specs/resnet18.yaml", "specs/googlenet.yaml",
                                  "specs/tcn.yaml"])
def test_builtin_svg_is_well_formed_and_boxes_do_not_overlap(name):
    graph, analysis = _loaded(name)
    root = ElementTree.fromstring(to_svg(graph, analysis, renderer="builtin"))
    assert root.tag == f"{SVG}svg"
    width, height = float(root.get("width")), float(root.get("height"))
    layers = [g for g in root.iter(f"{SVG}g") if g.get("class") == "layer"]
    assert len(layers) == len(graph.nodes) + 1  # + the output
    assert len(root.findall(f"{SVG}path")) == len(edges(graph, analysis))
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {node.local_name for node in graph.nodes} <= texts
    assert {"×".join(map(str, analysis.layers[n.name].output_shape)) for n in graph.nodes if n.name != graph.output} \
        <= texts  # every tensor shape labels an edge
    boxes = _boxes(root)
    for i, (a0, b0, a1, b1) in enumerate(boxes):
        assert a0 >= 0 and a1 <= width and b0 >= 0 and b1 <= height
        for c0, d0, c1, d1 in boxes[i + 1:]:
            assert a1 <= c0 or c1 <= a0 or b1 <= d0 or d1 <= b0, "two layer boxes overlap"
    clusters = [g for g in root.iter(f"{SVG}g") if g.get("class") == "cluster"]
    assert len(clusters) == _count_clusters(cluster_tree(graph))


def _count_clusters(cluster) -> int:
    return sum(1 + _count_clusters(child) for child in cluster.children)


def test_lenet_svg_is_a_tall_single_column():
    graph, analysis = _loaded("examples/lenet_keras.yaml")
    root = ElementTree.fromstring(to_svg(graph, analysis, renderer="builtin"))
    centres = {round((a0 + a1) / 2) for a0, _, a1, _ in _boxes(root)}
    assert len(centres) == 1
    assert float(root.get("height")) > 2 * float(root.get("width"))


def test_without_graphviz_auto_uses_the_builtin_layout_and_graphviz_is_a_diagnostic(monkeypatch):
    graph, analysis = _loaded("examples/lenet_keras.yaml")
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    assert to_svg(graph, analysis) == to_svg(graph, analysis, renderer="builtin")
    with pytest.raises(NetspecError, match="Graphviz' `dot` is not on the PATH"):
        to_svg(graph, analysis, renderer="graphviz")


def test_graph_command_writes_svg_and_dot_and_refuses_unknown_formats(tmp_path, monkeypatch, capsys):
    spec = ROOT / "specs/resnet18.yaml"
    assert run_cli(["graph", spec, "-o", tmp_path / "net.svg", "--renderer", "builtin"]) == 0
    ElementTree.parse(tmp_path / "net.svg")
    assert run_cli(["graph", spec, "-o", tmp_path / "net.dot"]) == 0
    assert (tmp_path / "net.dot").read_text().startswith('digraph "resnet18"')
    assert run_cli(["graph", spec, "-o", tmp_path / "net.dot"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert run_cli(["graph", spec, "-o", tmp_path / "net.png"]) == 1
    assert "cannot tell the format of" in capsys.readouterr().err
    assert not (tmp_path / "net.png").exists()
    assert run_cli(["graph", spec]) == 0
    assert capsys.readouterr().out.startswith('digraph "resnet18"')


def test_graph_output_is_replaced_atomically(tmp_path, monkeypatch, capsys):
    """A write that fails half-way (a full disk) leaves the older file whole, says so, exits 1."""
    spec, target = ROOT / "specs/lenet.yaml", tmp_path / "net.dot"
    target.write_text("the older diagram")
    real_write_text = type(target).write_text

    def disk_full(self, text, *args, **kwargs):
        real_write_text(self, text[:10], *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(type(target), "write_text", disk_full)
    assert run_cli(["graph", spec, "-o", target, "--force"]) == 1
    assert "cannot write" in capsys.readouterr().err
    monkeypatch.undo()
    assert target.read_text() == "the older diagram"
    assert [path.name for path in tmp_path.iterdir()] == ["net.dot"]  # no temporary left behind
    assert run_cli(["graph", spec, "-o", target, "--force"]) == 0
    assert target.read_text().startswith('digraph "lenet5"')
