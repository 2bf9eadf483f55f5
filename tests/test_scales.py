"""Named scales: rounding rules, --scale on every command, summary and expand of a
scaled network, errors for unknown scales, and the expanded spec round trip."""

from __future__ import annotations

import doctest
import importlib
import re
from pathlib import Path

import pytest
import yaml
from conftest import SPECS

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


@pytest.mark.parametrize("spec", [str(path.relative_to(ROOT)) for path in SPECS])
def test_expanded_spec_is_the_same_network(spec, capsys):
    """Over the zoo and the examples: every op the expander writes reads back as the same layer."""
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


# --- compound scaling: phi, resolution_multiplier, and specs that place width and depth themselves

EXPLICIT = """\
name: explicit
input: [32, 32, 3]
scales:
  wide: {width: 1.5, depth: 2.0}
  compound: {phi: 2}
  bigger: {resolution_multiplier: 1.5}
blocks:
  unit:
    params: {filters_in: 16, index: 0}
    layers:
      - conv: {K: "${6 * filters_in}", F: 1, name: "unit${letter(index)}_expand"}
      - conv: {K: "${filters_in}", F: 1, name: "unit${letter(index)}_project"}
layers:
  - conv: {K: "${filters(16)}", F: 3, P: same, name: stem}
  - conv: {K: 24, F: 1, name: literal}
  - unit: {filters_in: "${filters(16)}"}
  - repeat:
      times: "${repeats(1) - 1}"
      layers:
        - unit: {filters_in: "${filters(16)}", index: "${i + 1}"}
"""


@pytest.fixture()
def explicit_file(tmp_path) -> Path:
    path = tmp_path / "explicit.yaml"
    path.write_text(EXPLICIT)
    return path


def local_filters(analysis) -> dict[str, int]:
    return {node.local_name: analysis.layers[node.name].output_shape[-1] for node in analysis.graph.nodes
            if node.op == "conv"}


def test_filters_and_repeats_place_the_scale(explicit_file):
    """filters(n) and repeats(n) apply the rules where the spec calls them; nothing else is scaled
    (the expansion is 6 · filters(16) = 144, not round_filters(6 · 16 · 1.5) = 144 by chance: see the
    literal 24, which stays), and a computed repeat count of 0 leaves its layers out."""
    base = local_filters(check_file(explicit_file).analysis)
    assert base == {"stem": 16, "literal": 24, "unita_expand": 96, "unita_project": 16}  # repeats(1) - 1 = 0
    wide = local_filters(check_file(explicit_file, scale="wide").analysis)
    assert wide == {"stem": 24, "literal": 24, "unita_expand": 144, "unita_project": 24,
                    "unitb_expand": 144, "unitb_project": 24}  # repeats(1) = ceil(2.0) = 2


def test_phi_is_efficientnets_compound_rule(explicit_file):
    """phi 2: depth 1.2² = 1.44, width 1.1² = 1.21, resolution 1.15² = 1.3225 (32 -> 42.3 -> 42)."""
    analysis = check_file(explicit_file, scale="compound").analysis
    assert analysis.graph.input_shape == (42, 42, 3)
    assert local_filters(analysis)["stem"] == round_filters(16, Scale(width=1.1**2)) == 24  # 19.36: 16 is >10 % down
    assert "unitb_expand" in local_filters(analysis)  # ceil(1 × 1.44) = 2
    assert Scale(phi=1, alpha=2.0).depth_factor == 2.0 and Scale(phi=0).width_factor == 1.0


def test_resolution_multiplier(explicit_file):
    assert check_file(explicit_file, scale="bigger").analysis.graph.input_shape == (48, 48, 3)


@pytest.mark.parametrize("scale, message", [
    ("{phi: 1, width: 1.2}", "phi sets width, depth and resolution itself, but width is given too"),
    ("{alpha: 1.3}", "alpha only apply with phi"),
    ("{resolution: 64, resolution_multiplier: 2.0}", "resolution (a size) or resolution_multiplier, not both"),
    ("{phi: 30}", "must be a number from 0 to 20"),
])
def test_bad_compound_scales_are_diagnostics(tmp_path, scale, message):
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\ninput: [8, 8, 1]\nscales:\n  x: {scale}\nlayers:\n  - conv: {{K: 8, F: 3}}\n")
    checked = check_file(path)
    assert not checked.ok and any(message in d.message for d in checked.errors), checked.errors
    assert checked.errors[0].span is not None and checked.errors[0].span.line == 4


def test_scale_functions_take_one_integer(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text('name: bad\ninput: [8, 8, 1]\nlayers:\n  - conv: {K: "${filters(8, 2)}", F: 3}\n'
                    '  - conv: {K: 8, F: 3, name: "c${letter(26)}"}\n')
    messages = [d.message for d in check_file(path).errors]
    assert any("filters(...) takes one integer from 1" in m for m in messages), messages
    assert any("letter(...) takes one integer from 0 to 25" in m for m in messages), messages


def test_a_written_zero_repeat_is_still_an_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\ninput: [8, 8, 1]\nlayers:\n  - repeat: {times: 0, layers: [relu]}\n")
    assert [d.code for d in check_file(path).errors] == ["integer-range"]


def test_efficientnet_commands_at_two_scales(capsys):
    """summary --scale and expand --scale show the scaled network; diff compares two scales."""
    spec = str(ROOT / "specs" / "efficientnet_b0.yaml")
    assert main(["summary", spec, "--scale", "b1"]) == 0
    out = capsys.readouterr().out
    assert "7,856,239" in out and "input (240, 240, 3)" in out and re.search(r"Scale:\s+b1", out)
    assert main(["expand", spec, "--scale", "b2"]) == 0
    expanded = check_text(capsys.readouterr().out, "expanded.yaml")
    assert expanded.ok and expanded.analysis.total_params == 9_177_569
    assert expanded.analysis.graph.input_shape == (260, 260, 3)
    assert main(["diff", spec, spec, "--scale-a", "b1", "--scale-b", "b2", "--format", "json"]) == 1
    import json

    totals = json.loads(capsys.readouterr().out)["totals"]
    assert (totals["a"]["params"], totals["b"]["params"], totals["delta"]["params"]) == (
        7_856_239, 9_177_569, 1_321_330)
    # the paper's FLOPs (multiply-adds): B1 0.70 G, B2 1.0 G
    assert (round(totals["a"]["macs"] / 1e9, 2), round(totals["b"]["macs"] / 1e9, 1)) == (0.69, 1.0)
