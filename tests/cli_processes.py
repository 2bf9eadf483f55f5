"""What the tests that run ``netspec train`` in processes of their own share (imported by
test_train_subprocess.py and test_distributed.py, like trained_mnist.py)."""

from __future__ import annotations

import os

# `python -c CLI train ...` runs the command line of this checkout (no console script needed).
CLI = "import sys; from netspec import cli; sys.exit(cli.main(sys.argv[1:]))"


def process_environment(cache_folder) -> dict[str, str]:
    """Our environment for child processes: one XLA compilation cache in ``cache_folder`` shared by
    them, and no inherited XLA_FLAGS (each test sets its own device count)."""
    env = dict(os.environ)
    env["NETSPEC_JAX_CACHE"] = str(cache_folder)
    env.pop("XLA_FLAGS", None)
    return env
