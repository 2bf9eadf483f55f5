"""Paths orbax can open, whatever the user named the run folder.

orbax hands paths to tensorstore and etils, which read some characters as
syntax: ``[...]`` as a glob, ``\\`` as an escape, ``gs:`` or ``s3:`` in a
component as a cloud URI. A run folder called ``runs/exp[1]`` then saved
"successfully" a checkpoint that could never be read back (issue 13, DL1).
Instead of refusing such folders, orbax is given a plain alias: a symlink
with a boring name, in a private temporary folder, pointing at the real
folder. The files land in the real folder; only the spelling differs.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Absolute paths of these characters only are passed to orbax as they are.
PLAIN_PATH = re.compile(r"/[A-Za-z0-9_./ +=,@-]*\Z")


def is_plain(path: Path) -> bool:
    """True when orbax can be given ``path`` itself (absolute, no special characters)."""
    text = str(path)
    return bool(PLAIN_PATH.match(text)) and "//" not in text


@contextlib.contextmanager
def orbax_path(path: str | Path) -> Iterator[Path]:
    """``path`` (an existing folder) made absolute, or a plain symlink to it.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "exp[1]"
    >>> folder.mkdir()
    >>> with orbax_path(folder) as plain:
    ...     plain != folder.absolute() and is_plain(plain) and plain.resolve() == folder.resolve()
    True
    """
    path = Path(path).absolute()
    if is_plain(path):
        yield path
        return
    holder = Path(tempfile.mkdtemp(prefix="netspec-orbax-"))
    try:
        link = holder / "folder"
        os.symlink(path, link, target_is_directory=True)
        if not is_plain(link):
            raise OSError(f"the temporary folder {holder} has a name orbax cannot use; set TMPDIR to a plain path")
        yield link
    finally:
        shutil.rmtree(holder, ignore_errors=True)
