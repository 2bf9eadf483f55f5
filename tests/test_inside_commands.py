"""`netspec top-patches`, `maximize` and `explain --method gradcam|lime|--smooth`
end to end on the shared trained MNIST probe, pointed at the run folder alone."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from trained_mnist import mnist, run_cli, save_digit, trained_run


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    return trained_run(str(tmp_path_factory.getbasetemp() / "mnist-probe"))


def picture(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("L"), np.float32)


def test_top_patches_command_draws_the_strongest_patches_of_a_unit(probe, tmp_path, capsys):
    from netspec.interpret.top_patches import top_patches, unit_responses
    from netspec.interpret.trained import open_trained

    spec, run = probe
    output = tmp_path / "top.png"
    assert run_cli(["top-patches", run, "--layer", "conv2", "--unit", "3", "-k", "9", "-o", output]) == 0
    assert "top 9 patches of 'conv2' unit 3" in capsys.readouterr().out
    drawn = picture(output)
    assert drawn.std() > 20  # patches, not a blank canvas
    # What it drew: the 9 validation images whose conv2 unit 3 is strongest, 8x8 fields
    # (3x3 conv, 2x2 pool, 3x3 conv: 3 + 1 + 2·2).
    trained = open_trained(str(spec), str(run))
    found = top_patches(trained.model, trained.graph, mnist().val.x, "conv2", 3, k=9, normalize=trained.normalize)
    assert found.patches.shape == (9, 8, 8, 1)
    # The strongest patch is the maximum over all examples and positions.
    responses = unit_responses(trained.model, mnist().val.x, "conv2", 3, normalize=trained.normalize)
    assert found.values[0] == pytest.approx(responses.max())
    assert run_cli(["top-patches", run, "--layer", "conv9", "--unit", "0"]) == 1
    assert "no layer named 'conv9'" in capsys.readouterr().err


def test_maximize_command_draws_one_tile_per_unit(probe, tmp_path, capsys):
    _, run = probe
    output = tmp_path / "max.png"
    assert run_cli(["maximize", run, "--layer", "conv1", "--units", "0-3", "--steps", "30", "-o", output]) == 0
    assert "4 units of 'conv1'" in capsys.readouterr().out
    assert picture(output).std() > 20
    assert run_cli(["maximize", run, "--layer", "conv1", "--units", "0-x"]) == 1
    assert "--units must be ids or ranges" in capsys.readouterr().err


@pytest.mark.parametrize("method", [["--method", "gradcam"], ["--method", "lime", "--samples", "100"],
                                    ["--method", "saliency", "--smooth", "8"],
                                    ["--method", "occlusion", "--score", "logit"]])
def test_explain_methods_write_a_map(probe, tmp_path, capsys, method):
    _, run = probe
    image, label = save_digit(tmp_path / "digit.png", 1)
    output = tmp_path / "map.png"
    assert run_cli(["explain", run, image, *method, "-o", output]) == 0
    assert f"predicted '{label}'" in capsys.readouterr().out
    drawn = picture(output)
    assert drawn.shape == (380, 1050) and drawn.std() > 20
