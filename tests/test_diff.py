"""netspec diff: matching by name then position, grouped additions, changed
hyper-parameters, totals, formats and diff(1) exit statuses."""

from __future__ import annotations

import json
from pathlib import Path

from netspec.cli import main
from netspec.pipeline import check_file, check_text
from netspec.report.diff import diff

ROOT = Path(__file__).resolve().parent.parent


def _analysis(text: str):
    checked = check_text(text, "t.yaml")
    assert checked.ok, checked.diagnostics
    return checked.analysis


def test_resnet101_is_resnet50_plus_17_conv4_blocks(capsys):
    a, b = (check_file(ROOT / "specs" / f"{name}.yaml").analysis for name in ("resnet50", "resnet101"))
    found = diff(a, b)
    assert not found.removed and not found.changed and not found.equal
    paths = [group.path for group in found.added]
    assert paths == [f"conv4/identity_block_{index}" for index in range(6, 23)]
    assert found.totals_b.params - found.totals_a.params == 19_070_464 == sum(g.params for g in found.added)
    assert main(["diff", "specs/resnet50.yaml", "specs/resnet101.yaml"]) == 1
    out = capsys.readouterr().out
    assert "conv4: 17 blocks (identity_block_6 … identity_block_22), +19,070,464 params" in out
    totals = {line.split("  ")[0]: line.split() for line in out.splitlines()}
    assert totals["params"][-1] == "+19,070,464"


def test_a_spec_equals_itself(capsys):
    assert main(["diff", "specs/googlenet.yaml", "specs/googlenet.yaml"]) == 0
    assert "equal" in capsys.readouterr().out


def test_errors_exit_two(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ninput: [8, 8, 1]\nlayers:\n  - conv: {K: 4, F: 9}\n")
    assert main(["diff", "specs/lenet.yaml", str(bad)]) == 2
    assert f"{bad}:4:5: error" in capsys.readouterr().err
    assert main(["diff", "specs/lenet.yaml", str(tmp_path / "missing.yaml")]) == 2


BASE = ("name: t\ninput: [16, 16, 3]\nlayers:\n  - conv: {{K: {k}, F: 3, P: same, name: c1}}\n"
        "  - conv: {{K: 8, F: {f}, P: same, name: c2}}\n  - global_pool\n  - dense: {{units: 10, name: head}}\n")


def test_changed_hyper_parameters_are_named_with_both_values():
    found = diff(_analysis(BASE.format(k=4, f=3)), _analysis(BASE.format(k=6, f=5)))
    changes = {change.name_a: change for change in found.changed}
    assert set(changes) == {"c1", "c2"}
    assert changes["c1"].hyper == (("filters", "4", "6"),)
    assert changes["c1"].shape_b == (16, 16, 6) and changes["c1"].params_b == 6 * 27 + 6
    assert changes["c2"].hyper == (("kernel", "3×3", "5×5"),)
    assert found.totals_b.params - found.totals_a.params == (6 * 27 + 6 - 112) + (8 * 25 * 6 + 8 - (8 * 9 * 4 + 8))


def test_renamed_layers_are_matched_by_position():
    a = "name: t\ninput: [8, 8, 1]\nlayers:\n  - conv: {K: 4, F: 3, name: first}\n  - flatten\n  - dense: 2\n"
    b = a.replace("name: first", "name: renamed")
    found = diff(_analysis(a), _analysis(b))
    assert not found.added and not found.removed and not found.changed
    assert found.renamed == (("first", "renamed"),) and found.matched == 4 and not found.equal


def test_template_refactoring_is_no_difference():
    flat = ("name: t\ninput: [8, 8, 3]\nlayers:\n  - conv: {K: 4, F: 3, P: same, name: a}\n"
            "  - conv: {K: 4, F: 3, P: same, name: b}\n")
    templated = ("name: t\ninput: [8, 8, 3]\nblocks:\n  two:\n    params: {K: 4}\n    layers:\n"
                 "      - conv: {K: '${K}', F: 3, P: same, name: a}\n      - conv: {K: '${K}', F: 3, P: same, name: b}\n"
                 "layers:\n  - two: {K: 4}\n")
    found = diff(_analysis(flat), _analysis(templated))
    assert not found.changed and not found.added and not found.removed  # the same layers ...
    assert found.renamed == (("a", "two_1/a"), ("b", "two_1/b"))  # ... inside the template's scope
    assert found.totals_a == found.totals_b


def test_json_and_markdown(capsys):
    assert main(["diff", "specs/vgg16.yaml", "specs/vgg19.yaml", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["delta"]["params"] == 143_667_240 - 138_357_544
    assert data["equal"] is False and len(data["added"]) == 3  # one more conv in blocks 3, 4 and 5
    assert main(["diff", "specs/vgg16.yaml", "specs/vgg19.yaml", "--format", "markdown"]) == 1
    markdown = capsys.readouterr().out
    assert "| params | 138,357,544 | 143,667,240 | +5,309,696 |" in markdown
