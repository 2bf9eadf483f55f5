"""One process per run folder.

Checking "is the folder new?" and then writing into it is a race: two
``netspec train --out DIR`` started together could both pass the check and
both write (issue 13, DL3). A run folder is therefore *claimed* by creating
its lock file exclusively (``O_CREAT | O_EXCL``: exactly one process can),
and held with an advisory ``flock`` for as long as the process trains, so a
``--resume`` of a run that is still training is refused too.
"""

from __future__ import annotations

import os
from pathlib import Path

from netspec.diagnostics import NetspecError, error

LOCK = ".netspec.lock"

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the exclusive create still protects new runs
    fcntl = None  # type: ignore[assignment]


class RunLock:
    """A held claim on a run folder; :meth:`release` (or process exit) lets it go."""

    def __init__(self, directory: Path, descriptor: int):
        self.directory = directory
        self._descriptor: int | None = descriptor

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing drops the flock
            self._descriptor = None


def _in_use(directory: Path) -> NetspecError:
    return NetspecError([error(
        "run-folder-in-use", f"another netspec process is using the run folder {directory}",
        hint="wait for it to finish (or stop it), or pick a new folder with --out")])


def _hold(directory: Path, descriptor: int) -> RunLock:
    if fcntl is not None:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise _in_use(directory) from None
    os.write(descriptor, f"{os.getpid()}\n".encode())
    return RunLock(directory, descriptor)


def claim_new(directory: Path) -> RunLock:
    """Claim a freshly made (empty) run folder; refused if another process got there first."""
    try:
        descriptor = os.open(directory / LOCK, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise NetspecError([error(
            "run-folder-exists", f"{directory} was just claimed by another netspec process",
            hint="pick a new folder with --out")]) from None
    return _hold(directory, descriptor)


def lock_existing(directory: Path) -> RunLock:
    """Hold an existing run folder (``--resume``); refused while another process holds it."""
    try:
        descriptor = os.open(directory / LOCK, os.O_CREAT | os.O_WRONLY, 0o644)
    except OSError as exc:
        raise NetspecError([error("run-folder-unwritable",
                                  f"cannot write to the run folder {directory}: {exc.strerror}",
                                  hint="a resumed run writes checkpoints there: make it writable")]) from None
    return _hold(directory, descriptor)
