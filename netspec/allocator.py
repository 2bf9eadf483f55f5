"""Keep freed memory in the process: glibc's malloc tuned for XLA:CPU's big temporaries.

Standard library only, so the static command line can call it first thing.

XLA:CPU allocates each step's activations, im2col columns and gradients
afresh. glibc serves every block over 32 MiB (and, in its per-thread arenas,
smaller ones) with a new ``mmap`` and hands it back with ``munmap`` when freed,
so every step touches hundreds of megabytes of brand-new pages: on the
VGG-style benchmark net 106,000 page faults and 0.21 s of kernel time per
step (``benchmarks/README.md``). One arena that grows with ``brk``, never
``mmap``s and is never trimmed keeps those pages: the next step reuses them.
The process's resident memory then stays at its peak instead of shrinking
between steps.

``mallopt`` affects arenas created afterwards, so this must run before JAX
starts its threads: ``netspec``'s command line calls it first thing; scripts
call :func:`keep_freed_memory` before importing JAX. ``NETSPEC_MALLOC=system``
leaves malloc alone. Elsewhere than glibc (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_MAX, M_ARENA_MAX = -1, -2, -4, -8
TOP_PAD_BYTES = 64 << 20  # grow the heap in 64 MiB steps: fewer brk calls


def keep_freed_memory() -> bool:
    """Tune glibc's malloc as above; True when it did."""
    if os.environ.get("NETSPEC_MALLOC", "").lower() == "system" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return False  # not glibc
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    settings = ((M_ARENA_MAX, 1), (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, 2**31 - 1), (M_TOP_PAD, TOP_PAD_BYTES))
    return all(mallopt(parameter, value) == 1 for parameter, value in settings)
