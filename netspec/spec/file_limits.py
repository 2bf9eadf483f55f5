"""Reading user files without hanging or reading forever.

``st_size`` is 0 for ``/dev/zero`` and for FIFOs, so a size check before
reading lets an endless device through, and opening a FIFO that has no
writer blocks forever (issue 13, "Hangs"). Every file netspec reads on a
user's say-so is therefore opened non-blocking, checked to be a regular file
on the *open* descriptor (no race with a swap after a ``stat``), and read up
to a limit counted in bytes actually read.

Pure Python; nothing here imports JAX.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))


class NotARegularFile(OSError):
    """The path names a FIFO, device, socket or directory; ``kind`` says which."""

    def __init__(self, path: str | Path, kind: str):
        super().__init__(f"{path} is {kind}, not a regular file")
        self.kind = kind


class TooLarge(OSError):
    """The file holds more than the limit (counted while reading)."""

    def __init__(self, path: str | Path, limit: int):
        super().__init__(f"{path} is larger than {limit:,} bytes")
        self.limit = limit


def _kind(mode: int) -> str | None:
    for test, kind in KINDS:
        if test(mode):
            return kind
    return None if stat.S_ISREG(mode) else "not a regular file"


def open_regular(path: str | Path):
    """``open(path, "rb")`` for a regular file; :class:`NotARegularFile` for anything else,
    without blocking on a FIFO that has no writer."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        kind = _kind(os.fstat(descriptor).st_mode)
        if kind is not None:
            raise NotARegularFile(path, kind)
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def check_regular(path: str | Path) -> None:
    """Raise :class:`NotARegularFile` unless ``path`` is a regular file (other OSErrors pass through)."""
    open_regular(path).close()


def read_bounded(path: str | Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (:class:`TooLarge` beyond).

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as file:
    ...     _ = file.write(b"12345"); file.flush()
    ...     read_bounded(file.name, 5), _raises(lambda: read_bounded(file.name, 4))
    (b'12345', 'TooLarge')
    >>> _raises(lambda: read_bounded("/dev/zero", 10))
    'NotARegularFile'
    """
    with open_regular(path) as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(path, limit)
    return data


def _raises(function) -> str | None:
    try:
        function()
    except Exception as exc:
        return type(exc).__name__
    return None
