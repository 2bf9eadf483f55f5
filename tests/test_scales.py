"""Named scales: rounding rules, --scale on every command, summary and expand of a
scaled network, errors for unknown scales, and the expanded spec round trip."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest
import yaml

from netspec.cli import COMMANDS, UNSCALED, build_parser, main
from netspec.pipeline import check_file, check_text
from netspec.spec.scales import Scale, round_filters, round_repeats

ROOT = Path(__file__).resolve().parent.parent

SCALED = """\
name: scaled
input: [64, 64, 3]
scales:
  n: {depth: 0.33, width: 0.25, max_channels: 64, depth_rounding: round}
  s: {depth: 0.5, width: 0.5}
  b1: {width: 1.1, depth: 1.2, resolution: 80}
layers:
  - conv: {K: 32, F: 3, S: 2, P: same, activation: relu, name: stem}
  - repeat:
      times: 3
      layers:
        - residual:
            body: [conv: {K: 32, F: 3, P: same}, batchnorm, relu, conv: {K: 32, F: 3, P: same}, batchnorm]
            activation: relu
  - conv: {K: 128, F: 1, activation: relu, name: head_conv}
  - global_pool
  - dense: {units: 10, name: classifier}
"""


@pytest.fixture()
def spec_file(tmp_path) -> Path:
    path = tmp_path / "scaled.yaml"
    path.write_text(SCALED)
    return path


def test_doctests():
    failures, tried = doctest.testmod(importlib.import_module("netspec.spec.scales"))
    assert tried >= 3 and failures == 0


@pytest.mark.parametrize("filters, width, expected", [
    (32, 1.0, 32), (32, 0.25, 8), (32, 1.1, 32), (36, 1.1, 40), (320, 1.1, 352), (1280, 1.1, 1408), (16, 0.35, 8),
    (24, 0.35, 8), (40, 0.75, 32), (112, 1.4, 160),
])
def test_round_filters_is_efficientnets(filters, width, expected):
    """The reference values: EfficientNet's round_filters(filters, width, divisor=8)."""
    rounded = round_filters(filters, Scale(width=width))
    assert rounded == expected
    assert rounded % 8 == 0 and rounded >= 0.9 * filters * width


@pytest.mark.parametrize("times, depth, rounding, expected", [
    (3, 1.2, "ceil", 4), (2, 1.1, "ceil", 3), (4, 2.0, "ceil", 8), (1, 3.1, "ceil", 4),
    (3, 0.33, "round", 1), (6, 0.33, "round", 2), (9, 0.67, "round", 6), (1, 0.33, "round", 1),
])
def test_round_repeats(times, depth, rounding, expected):
    assert round_repeats(times, Scale(depth=depth, depth_rounding=rounding)) == expected


def test_scales_change_width_depth_and_resolution(spec_file):
    base = check_file(spec_file).analysis
    small = check_file(spec_file, scale="s").analysis
    big = check_file(spec_file, scale="b1").analysis
    nano = check_file(spec_file, scale="n").analysis
    convs = lambda a: [f for f in a.layers.values() if f.op == "conv"]  # noqa: E731
    assert [f.output_shape[-1] for f in convs(small)] == [16] * 5 + [64]  # 2 repeats (ceil 1.5) × 2 convs + stem
    assert len(convs(base)) == 1 + 3 * 2 + 1 and len(convs(big)) == 1 + 4 * 2 + 1  # ceil(3 × 1.2) = 4
    assert big.graph.input_shape == (80, 80, 3) and big.layers["stem"].output_shape == (40, 40, 32)
    assert nano.layers["head_conv"].output_shape[-1] == 16  # min(128, 64) × 0.25
    assert len(convs(nano)) == 1 + 1 * 2 + 1  # round(3 × 0.33) = 1
    for analysis in (base, small, big, nano):  # the classifier keeps its 10 units
        assert analysis.layers["classifier"].output_shape == (10,)


def test_unknown_scale_is_a_diagnostic(spec_file, capsys):
    checked = check_file(spec_file, scale="xl")
    assert [d.code for d in checked.errors] == ["unknown-scale"]
    assert "its scales: n, s, b1" in checked.errors[0].message
    assert main(["check", str(spec_file), "--scale", "xl"]) == 1
    assert main(["check", "specs/lenet.yaml", "--scale", "s"]) == 1
    assert "declares no scales" in capsys.readouterr().err


def test_scale_is_never_guessed_from_the_file_name(tmp_path):
    path = tmp_path / "scaled-s.yaml"  # a YOLO-style name: still the unscaled network
    path.write_text(SCALED)
    assert check_file(path).analysis.layers["stem"].output_shape[-1] == 32


def test_every_command_with_a_spec_takes_scale():
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # noqa: SLF001 - argparse keeps them here
    for name in COMMANDS:
        options = {flag for action in commands[name]._actions for flag in action.option_strings}  # noqa: SLF001
        assert ("--scale" in options) == (name not in UNSCALED), name


def test_summary_prints_the_resolved_network(spec_file, capsys):
    assert main(["summary", str(spec_file), "--scale", "s"]) == 0
    out = capsys.readouterr().out
    assert "Scale:" in out and "K=16" in out and "K=32" not in out
    assert main(["summary", str(spec_file), "--scale", "s", "--format", "json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out)["scale"] == "s"


def test_diff_of_two_scales(spec_file, capsys):
    assert main(["diff", str(spec_file), str(spec_file), "--scale-a", "s", "--scale-b", "b1"]) == 1
    out = capsys.readouterr().out
    assert "filters 16 → 32" in out and "Added (only in B)" in out


@pytest.mark.parametrize("spec", ["specs/resnet50.yaml", "specs/googlenet.yaml", "specs/tcn.yaml",
                                  "examples/cifar10_convnet.yaml", "examples/mnist_batchnorm.yaml"])
def test_expanded_spec_is_the_same_network(spec, capsys):
    assert main(["expand", spec]) == 0
    text = capsys.readouterr().out
    data = yaml.safe_load(text)
    assert all(len(item) == 1 for item in data["layers"])  # flat: one primitive layer per item
    assert not any(kind in ("repeat", "residual", "inception", "causal") for item in data["layers"] for kind in item)
    original, expanded = check_file(ROOT / spec), check_text(text, "expanded.yaml")
    assert expanded.ok, expanded.diagnostics
    a, b = original.analysis, expanded.analysis
    assert (a.total_params, a.trainable_params, a.macs) == (b.total_params, b.trainable_params, b.macs)
    assert [f.output_shape for f in a.layers.values()] == [f.output_shape for f in b.layers.values()]
    assert [f.receptive_field for f in a.layers.values()] == [f.receptive_field for f in b.layers.values()]
    assert len(expanded.diagnostics) == len(original.diagnostics)  # allow: travels with each layer


def test_expand_at_a_scale(spec_file, capsys):
    assert main(["expand", str(spec_file), "--scale", "b1"]) == 0
    data = yaml.safe_load(capsys.readouterr().out)
    assert data["input"] == [80, 80, 3] and data["layers"][0]["conv"]["K"] == 32
    assert data["layers"][-3]["conv"]["K"] == 144  # head_conv: 128 × 1.1 = 140.8 -> 144
