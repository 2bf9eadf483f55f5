"""Fixtures and constants shared by the test modules.

``ROOT`` is the repository (specs/ and examples/ live there); ``SPECS`` every
spec file under specs/ and examples/ (recursively), for the tests that run over
all of them; ``probe`` is the small MNIST net trained once per session
(tests/trained_mnist.py) and ``trained`` the model opened from it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted([*ROOT.glob("specs/**/*.yaml"), *ROOT.glob("examples/**/*.yaml")])


@pytest.fixture(scope="session")
def probe(tmp_path_factory):
    """(spec path, run folder) of the shared trained MNIST probe."""
    from trained_mnist import trained_run

    return trained_run(str(tmp_path_factory.getbasetemp() / "mnist-probe"))


@pytest.fixture(scope="session")
def trained(probe):
    """The probe's best checkpoint, opened (netspec.interpret.trained.Trained)."""
    from netspec.interpret.trained import open_trained

    spec, run = probe
    return open_trained(str(spec), str(run))


@pytest.fixture(scope="module")
def compilation_cache(tmp_path_factory):
    """Identical programs compile once per test session (each fit builds new jitted steps);
    modules that train many small runs use it with ``pytestmark``."""
    import jax

    jax.config.update("jax_compilation_cache_dir", str(tmp_path_factory.getbasetemp() / "jax-cache"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
