"""Files a command writes for the user: never over an existing file without
``--force``, never over one of the command's own inputs, and never half-written.

The check runs before any work (refusing after a minute of computing would
waste it); the write goes to a hidden temporary file next to the target and
is renamed into place, so a full disk leaves the old file as it was.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from netspec.diagnostics import NetspecError, error


def add_force_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="replace the output file if it already exists")


def check_output(target: Path, *, force: bool, inputs: tuple[str | Path, ...] = ()) -> None:
    """Raise a diagnostic unless writing ``target`` is safe (see the module docstring)."""
    if target.is_dir():
        raise NetspecError([error("output-is-directory", f"{target} is a directory",
                                  hint="give a file name, e.g. -o out.png")])
    for given in inputs:
        if target.exists() and Path(given).exists() and target.resolve() == Path(given).resolve():
            raise NetspecError([error("output-is-input", f"refusing to overwrite the input {given} with the output",
                                      hint="choose another -o path")])
    if (target.exists() or target.is_symlink()) and not force:
        raise NetspecError([error("output-exists", f"{target} already exists; netspec does not overwrite it",
                                  hint="pass --force to replace it, or choose another -o path")])
    if not target.parent.is_dir():
        raise NetspecError([error("output-folder-missing", f"the folder of {target} does not exist",
                                  hint="create it first, or choose another -o path")])


@contextlib.contextmanager
def replaced_atomically(target: Path) -> Iterator[Path]:
    """A temporary path (same folder, same suffix) to write; renamed to ``target`` on success."""
    temporary = target.with_name(f".{target.stem}.tmp-{os.getpid()}{target.suffix}")
    try:
        yield temporary
        os.replace(temporary, target)
    except OSError as exc:
        raise NetspecError([error("cannot-write", f"cannot write {target}: {exc.strerror or exc}")]) from None
    finally:
        temporary.unlink(missing_ok=True)
