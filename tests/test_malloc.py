"""server.malloc: glibc's mmap threshold fixed, so a large buffer freed leaves the RSS."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

from server.malloc import _is_glibc

from .conftest import ROOT, require

PROBE = """
import ctypes, sys
from server.malloc import MMAP_THRESHOLD, tune_malloc

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
tuned = tune_malloc() if sys.argv[1] == "tune" else False
size = 4 * MMAP_THRESHOLD
first = bytearray(size)
del first  # an own mapping, freed: an adaptive glibc now serves this size from the heap
before = libc.mallinfo2().hblks
second = bytearray(size)
print(tuned, libc.mallinfo2().hblks - before)
"""


def probe(mode: str, env: dict[str, str] | None = None) -> str:
    """``tune_malloc``'s answer and how many own mappings a second large buffer took."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        cwd=ROOT,
        env=base | (env or {}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(autouse=True)
def _glibc() -> None:
    require(_is_glibc(), "glibc (server.malloc tunes its malloc)")
    require(hasattr(ctypes.CDLL(None), "mallinfo2"), "glibc >= 2.33 (mallinfo2)")


def test_a_large_buffer_keeps_its_own_mapping_after_one_was_freed() -> None:
    """Without the tuning glibc raised its threshold when the first buffer was freed and served
    the second from the heap (where it would stay in the RSS once freed); with it, the second
    gets a mapping of its own, given back to the system when freed."""
    assert probe("leave") == "False 0"
    assert probe("tune") == "True 1"


def test_an_operators_threshold_is_left_to_rule() -> None:
    """The threshold set in the environment (glibc's variable or its tunable): glibc reads it,
    and nothing is changed (64 MiB: the second buffer comes from the heap)."""
    assert probe("tune", {"MALLOC_MMAP_THRESHOLD_": str(64 << 20)}) == "False 0"
    assert probe("tune", {"GLIBC_TUNABLES": f"glibc.malloc.mmap_threshold={64 << 20}"}) == "False 0"
