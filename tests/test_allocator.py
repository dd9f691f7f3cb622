"""The allocator tuning: applied where glibc is, a no-op elsewhere (its effect: benchmarks/allocator.py)."""

from __future__ import annotations

import platform
import sys

from logowatch import allocator


def test_tuning_applies_exactly_where_glibc_is() -> None:
    on_glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert allocator.keep_freed_memory() is on_glibc
