"""The static report: JSON contract, table, Markdown, type labels, totals."""

from __future__ import annotations

import doctest
import importlib
import json

import pytest
from test_infer import BATCHNORM, RELU, Builder, act, conv, dense, lenet, pool, vgg16

from netspec.diagnostics import NetspecError
from netspec.infer.rules import infer
from netspec.ir import (
    Activation,
    AddAttrs,
    ConcatAttrs,
    DepthwiseConvAttrs,
    SeparableConvAttrs,
)
from netspec.report.summary import human_bytes, human_count, summarize, type_label

LAYER_KEYS = {"name", "type", "output_shape", "params", "trainable_params", "non_trainable_params", "macs",
              "flops", "receptive_field", "geometry", "inputs", "training_memory"}
TOP_KEYS = {"schema_version", "name", "scale", "input_shape", "output_shape", "total_params", "trainable_params",
            "non_trainable_params", "macs", "flops", "receptive_field", "geometry", "param_bytes",
            "activation_bytes", "training_memory", "warnings", "layers"}


def test_doctests():
    # by module path: netspec.__init__ defines a summary() function of the same name
    for name in ("netspec.report.summary", "netspec.spec.units", "netspec.infer.flops"):  # human_count/human_bytes live in units
        failures, tried = doctest.testmod(importlib.import_module(name))
        assert failures == 0, name
    assert tried >= 1


def test_json_contract_for_lenet():
    report = summarize(lenet())
    data = report.to_dict()
    assert set(data) == TOP_KEYS and all(set(layer) == LAYER_KEYS for layer in data["layers"])
    assert data["name"] == "net" and data["input_shape"] == [28, 28, 1] and data["output_shape"] == [10]
    assert (data["total_params"], data["trainable_params"], data["non_trainable_params"]) == (61_706, 61_706, 0)
    assert data["macs"] == 416_520 and data["receptive_field"] == [32, 32]
    assert data["param_bytes"] == 4 * 61_706
    # every node's output, input included: 784 + 4704 + 1176 + 1600 + 400 + 400 + 120 + 84 + 10 + 10
    assert data["activation_bytes"] == 4 * 9_288
    assert data["warnings"] == []
    first_conv = data["layers"][1]
    axis = {"size": 5, "stride": 1, "padding": 2, "lookback": 2, "lookahead": 2}
    assert first_conv == {"name": "conv_1", "type": "conv", "output_shape": [28, 28, 6], "params": 156,
                          "trainable_params": 156, "non_trainable_params": 0, "macs": 117_600, "flops": 235_200,
                          "receptive_field": [5, 5], "geometry": [axis, axis], "inputs": ["input"],
                          "training_memory": None}
    assert [layer["name"] for layer in data["layers"]][:3] == ["input", "conv_1", "pool_2"]
    assert json.loads(report.json()) == data


def test_batchnorm_and_warnings_reach_the_report():
    analysis = infer(Builder((8, 7, 1)).chain(conv(32, 2, stride=2), BATCHNORM).graph())
    data = summarize(analysis).to_dict()
    assert (data["trainable_params"], data["non_trainable_params"]) == (160 + 64, 64)
    assert data["layers"][2]["non_trainable_params"] == 64
    (warned,) = data["warnings"]
    assert warned["severity"] == "warning" and warned["code"] == "unseen-input"
    assert warned["path"] == "net.yaml" and warned["line"] == 2


def test_table_rows_columns_and_totals():
    text = summarize(lenet()).table()
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("Layer"))
    for column in ("Type", "Output shape", "Params", "MACs", "RF"):
        assert column in header
    rows = [line for line in lines if line.startswith(("conv_", "pool_", "dense_"))]
    assert len(rows) == 7
    shape_column = header.index("Output shape")
    assert all(row[shape_column] == "(" for row in rows)  # columns line up
    conv_row = next(row for row in rows if row.startswith("conv_1"))
    assert "conv 5×5 K=6 P=2 relu" in conv_row and "(28, 28, 6)" in conv_row and "117.6 K" in conv_row
    assert conv_row.rstrip().endswith("5×5")
    assert "Total params:         61,706 (241.04 KiB)" in text
    assert "Non-trainable params: 0" in text
    assert "MACs:                 416.5 K (416,520) per example" in text
    assert "Receptive field:      32×32" in text
    assert str(summarize(lenet())) == text


def test_dag_rows_show_their_inputs():
    b = Builder((16, 16, 3))
    left = b.add(conv(8, 1), name="left")
    right = b.add(conv(8, 3, padding="same"), name="right", inputs=["input"])
    b.add(("concat", ConcatAttrs()), name="cat", inputs=[left, right])
    b.add(pool(2))
    text = summarize(infer(b.graph())).table()
    line_of = {line.split()[0]: line for line in text.splitlines() if line.split()}
    assert line_of["cat"].rstrip().endswith("← left, right")
    assert line_of["right"].rstrip().endswith("← input")
    assert "←" not in line_of["left"] and "←" not in line_of["pool_4"]


def test_inputs_from_the_same_block_are_shortened():
    b = Builder((8, 8, 4))
    body = b.add(conv(4, 3, padding="same"), name="stage/block/conv_1")
    b.add(("add", AddAttrs()), name="stage/block/add", inputs=[body, "input"])
    report = summarize(infer(b.graph()))
    (add_row,) = [line for line in report.table().splitlines() if line.startswith("stage/block/add")]
    assert add_row.endswith("← …/conv_1, input")
    assert report.to_dict()["layers"][2]["inputs"] == ["stage/block/conv_1", "input"]


def test_markdown_has_one_row_per_layer_and_the_totals():
    report = summarize(vgg16(include_top=False))
    markdown = report.markdown()
    rows = [line for line in markdown.splitlines() if line.startswith("| `")]
    assert len(rows) == len(report.layers) == 1 + 13 + 5
    assert all(row.count(" | ") == 9 for row in rows)  # 10 columns: ... MACs, FLOPs, Stride, Pad, RF, Inputs
    assert "- **Total params:** 14,714,688" in markdown  # Keras VGG16(include_top=False)
    assert "- **Receptive field:** 212×212" in markdown


@pytest.mark.parametrize("layer, label", [
    (conv(64, 3, stride=2, padding="same", activation=RELU), "conv 3×3/2 K=64 same relu"),
    (conv(16, 3, dilation=2, groups=2), "conv 3×3 K=16 D=2 valid groups=2"),
    (conv(16, 3, padding=((0, 1), (0, 1))), "conv 3×3 K=16 P=(0,1),(0,1)"),
    (pool(3, 2, padding="same", mode="avg"), "avgpool 3×3/2 same"),
    (("depthwise_conv", DepthwiseConvAttrs((3, 3), (1, 1), "same", (1, 1), depth_multiplier=2)),
     "depthwise 3×3 same ×2"),
    (("separable_conv", SeparableConvAttrs(32, (5, 5), (1, 1), "valid", (1, 1))), "separable 5×5 K=32 valid"),
    (dense(10, activation=Activation("leaky_relu", 0.2)), "dense 10 leaky_relu 0.2"),
    (act("softmax"), "softmax"),
])
def test_type_labels(layer, label):
    graph = Builder((32, 32, 8)).chain(layer).graph()
    assert type_label(graph.nodes[1]) == label


def test_human_readable_units():
    assert human_count(15_470_264_320) == "15.5 G" and human_count(999) == "999"
    assert human_bytes(138_357_544 * 4) == "527.79 MiB" and human_bytes(1023) == "1023 B"


def test_a_failed_analysis_has_no_summary():
    analysis = infer(Builder((4, 4, 1)).chain(conv(2, 5)).graph())
    with pytest.raises(NetspecError, match="needs F=5 but its input is only 4×4"):
        summarize(analysis)
