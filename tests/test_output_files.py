"""Commands that write a file for the user never replace one without --force
(issue 13, DL6): every picture command's -o, like graph/export/features."""

from __future__ import annotations

import pytest
from trained_mnist import SPEC, run_cli, save_digit

from netspec.cli.output_files import check_output, replaced_atomically
from netspec.diagnostics import NetspecError


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    """A spec, an image, an (empty) run folder and an existing output file, in the current folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "probe.yaml").write_text(SPEC)
    image, _ = save_digit(tmp_path / "digit.png", 0)
    (tmp_path / "run").mkdir()
    (tmp_path / "precious.png").write_bytes(b"keep me")
    return tmp_path, image


COMMANDS = {
    "explain": ["explain", "probe.yaml", "digit.png", "--checkpoint", "run"],
    "filters": ["filters", "probe.yaml", "--checkpoint", "run"],
    "activations": ["activations", "probe.yaml", "digit.png", "--checkpoint", "run", "--layer", "conv2"],
    "maximize": ["maximize", "probe.yaml", "--checkpoint", "run", "--layer", "conv2"],
    "top-patches": ["top-patches", "probe.yaml", "--checkpoint", "run", "--layer", "conv2", "--unit", "0"],
    "augment-preview": ["augment-preview", "probe.yaml", "--data", "synthetic:64"],
}
PICTURES = {**COMMANDS, "compare": ["compare", "run"]}  # compare reads runs only: no spec to protect


@pytest.mark.parametrize("command", PICTURES)
def test_an_existing_output_is_refused_before_any_work(inputs, command, capsys):
    folder, _ = inputs
    assert run_cli([*PICTURES[command], "-o", "precious.png"]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err
    assert (folder / "precious.png").read_bytes() == b"keep me"


@pytest.mark.parametrize("command", COMMANDS)
def test_the_spec_is_never_an_output_even_with_force(inputs, command, capsys):
    folder, _ = inputs
    assert run_cli([*COMMANDS[command], "-o", "probe.yaml", "--force"]) == 1
    assert "refusing to overwrite the input" in capsys.readouterr().err
    assert (folder / "probe.yaml").read_text() == SPEC


def test_with_force_the_checks_pass_and_the_write_is_atomic(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    check_output(target, force=True)
    with pytest.raises(NetspecError):
        check_output(target, force=False)
    with pytest.raises(RuntimeError), replaced_atomically(target) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("the plot failed")
    assert target.read_bytes() == b"old" and list(tmp_path.iterdir()) == [target]
    with replaced_atomically(target) as temporary:
        temporary.write_bytes(b"new")
    assert target.read_bytes() == b"new" and list(tmp_path.iterdir()) == [target]


def test_a_missing_output_folder_is_a_diagnostic(tmp_path):
    with pytest.raises(NetspecError) as caught:
        check_output(tmp_path / "no" / "such" / "out.png", force=False)
    assert caught.value.errors[0].code == "output-folder-missing"
