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
from server import malloc

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
threshold, size = getattr(malloc, sys.argv[2]), int(sys.argv[3])
tuned = malloc.tune_malloc(threshold) if sys.argv[1] == "tune" else False
first = bytearray(size)
del first  # an own mapping, freed: an adaptive glibc now serves this size from the heap
before = libc.mallinfo2().hblks
second = bytearray(size)
print(tuned, libc.mallinfo2().hblks - before)
"""


def probe(
    mode: str,
    threshold: str = "WORKER_MMAP_THRESHOLD",
    size: int = 4 << 20,
    env: dict[str, str] | None = None,
) -> str:
    """``tune_malloc``'s answer (with the threshold of that name in ``server.malloc``) and how many
    own mappings a second buffer of ``size`` bytes took."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode, threshold, str(size)],
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


def test_the_server_keeps_the_recognizers_buffers_in_its_heap() -> None:
    """The server process hosts Whisper, whose layers allocate and free buffers of 1-4 MiB (a
    3 MiB one here) all the time: with the server's threshold they come from the heap, with no
    mapping and page faults each (which made transcription ~30 % slower at 1 MiB); a finalize
    worker's threshold maps them, and the server's still maps a buffer above it."""
    assert probe("tune", "SERVER_MMAP_THRESHOLD", 3 << 20) == "True 0"
    assert probe("tune", "WORKER_MMAP_THRESHOLD", 3 << 20) == "True 1"
    assert probe("tune", "SERVER_MMAP_THRESHOLD", 16 << 20) == "True 1"


def test_an_operators_threshold_is_left_to_rule() -> None:
    """The threshold set in the environment (glibc's variable or its tunable): glibc reads it,
    and nothing is changed (64 MiB: the second buffer comes from the heap)."""
    assert probe("tune", env={"MALLOC_MMAP_THRESHOLD_": str(64 << 20)}) == "False 0"
    assert probe("tune", env={"GLIBC_TUNABLES": f"glibc.malloc.mmap_threshold={64 << 20}"}) == "False 0"


TRIM_PROBE = """
import ctypes, sys
from server import malloc

malloc.tune_malloc(malloc.SERVER_MMAP_THRESHOLD)
# glibc gives back a free heap top above M_TRIM_THRESHOLD (-1) on its own as memory is freed:
# out of reach here, so what comes back does not depend on where the interpreter's own
# allocations lie; malloc_trim gives back free pages whatever it is.
ctypes.CDLL(None).mallopt(-1, 1 << 30)

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 >> 20

buffers = [b"\\x01" * (2 << 20) for _ in range(16)]  # 32 MiB under the threshold: from the heap
before = rss_mib()
del buffers
freed = rss_mib()
if sys.argv[1] == "trim":
    malloc.trim_heap()
print(before - freed, before - rss_mib())
"""


def test_trimming_the_heap_gives_back_what_a_finalize_step_freed_in_the_server() -> None:
    """Under the server's threshold a finalize's buffers of a few MB come from the heap, and
    freed they stay in the RSS (the first figure: nothing given back); ``trim_heap``, which the
    server calls between a finalize's steps, gives them back to the system."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    freed, trimmed = (
        subprocess.run(
            [sys.executable, "-c", TRIM_PROBE, mode],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.split()
        for mode in ("leave", "trim")
    )
    assert int(freed[0]) <= 1 and int(freed[1]) <= 1  # freed, kept in the heap (RSS read in whole MiB)
    assert int(trimmed[0]) <= 1 and int(trimmed[1]) >= 30
