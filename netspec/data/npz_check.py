"""Look at an ``.npz`` file before numpy reads it.

``np.load`` allocates whatever an array header claims: a 200-byte file
whose header says 10¹² floats is a MemoryError, random bytes are reported
as "pickled data", and complex arrays were silently cut to their real part
later (issue 13). Here every member's header is read (numpy's own parser)
and compared with what the archive really holds and with the memory budget,
before a single array is loaded.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from netspec.data.dataset import data_error
from netspec.infer.limits import gib, memory_budget
from netspec.spec.file_limits import NotARegularFile, open_regular

_SAVE_HINT = "save it with numpy.savez(path, x=images, y=labels) (no object arrays)"


def _header(member) -> tuple[tuple[int, ...], np.dtype] | None:
    """(shape, dtype) from an ``.npy`` member's header; None for a version numpy's public API cannot read."""
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        return None
    return tuple(int(d) for d in shape), np.dtype(dtype)


def check_npz(path: str | Path) -> None:
    """Raise a data diagnostic unless ``path`` is an npz archive whose arrays are plain,
    real-valued, as large as their headers claim and small enough to load."""
    path = Path(path)
    try:
        stream = open_regular(path)
    except FileNotFoundError:
        raise data_error("data-not-found", f"npz:{path}: no such file") from None
    except NotARegularFile as exc:
        raise data_error("data-corrupt", f"npz:{path} is {exc.kind}, not an npz file") from None
    except OSError as exc:
        raise data_error("data-corrupt", f"cannot read {path}: {exc.strerror or exc}") from None
    with stream:
        if not zipfile.is_zipfile(stream):
            raise data_error("data-corrupt", f"{path} is not an npz file (not a zip archive)", hint=_SAVE_HINT)
        stream.seek(0)
        total = 0
        try:
            with zipfile.ZipFile(stream) as archive:
                for info in archive.infolist():
                    if not info.filename.endswith(".npy"):
                        continue
                    name = info.filename[:-4]
                    with archive.open(info) as member:
                        found = _header(member)
                        stored = info.file_size - member.tell()
                    if found is None:
                        continue
                    shape, dtype = found
                    if dtype.kind == "c":
                        raise data_error("data-type", f"{path}: '{name}' holds complex numbers",
                                         hint="save real arrays (e.g. numpy.abs or .real, as you intend)")
                    claimed = math.prod(shape) * dtype.itemsize
                    if not dtype.hasobject and claimed > stored:
                        raise data_error("data-corrupt", f"{path}: the header of '{name}' claims {shape} "
                                         f"({claimed:,} bytes), but the file holds {stored:,}", hint=_SAVE_HINT)
                    total += claimed
        except (zipfile.BadZipFile, ValueError, EOFError, OSError) as exc:
            raise data_error("data-corrupt", f"cannot read {path}: {exc}", hint=_SAVE_HINT) from None
    if total > memory_budget():
        raise data_error("data-too-large", f"{path} holds {gib(total)} of arrays, more than this machine's "
                         f"{gib(memory_budget())} of memory", hint="use a smaller file")
