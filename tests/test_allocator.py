"""netspec/allocator.py: freed memory is reused, not handed back and faulted in again.

A child process mallocs, touches and frees a 64 MiB block five times and counts
its minor page faults: with glibc's defaults every round maps fresh pages
(~16,000 faults); after ``keep_freed_memory()`` the later rounds reuse the heap.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")

CHILD = """
import ctypes, resource, sys
from netspec.allocator import keep_freed_memory
tuned = keep_freed_memory() if sys.argv[1] == "tune" else False
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
size, faults = 64 << 20, []
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    libc.free(block)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(tuned, max(faults[1:]))
"""


def run_child(mode: str, env: dict[str, str] | None = None) -> tuple[str, int]:
    done = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, check=True)
    tuned, faults = done.stdout.split()
    return tuned, int(faults)


def test_tuned_malloc_reuses_freed_blocks():
    tuned, tuned_faults = run_child("tune")
    if tuned != "True":
        pytest.skip("not glibc")
    _, default_faults = run_child("default")
    if default_faults <= 10_000:
        pytest.skip("this kernel backs big blocks with huge pages: nothing to compare")
    assert tuned_faults < default_faults // 10


def test_netspec_malloc_system_leaves_malloc_alone():
    tuned, faults = run_child("tune", {"NETSPEC_MALLOC": "system"})
    _, default_faults = run_child("default")
    assert tuned == "False" and faults > default_faults // 2
