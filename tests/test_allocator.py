from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# In a fresh interpreter: page faults taken while 20 times allocating and filling ten 4 MiB
# buffers, then freeing them, the way SIFT's scale space is built and dropped for every image.
CHURN = """
import resource, sys
import numpy as np
from logowatch import allocator
if sys.argv[1] == "tuned":
    assert allocator.keep_freed_memory()
def image():
    return [np.ones(1 << 20, np.float32) for _ in range(10)]
image()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    image()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", CHURN, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="tunes glibc only"
)
def test_freed_buffers_are_reused_instead_of_faulted_in_again() -> None:
    # Untuned, the freed buffers go back to the system: about a thousand page faults each, each time.
    assert _faults("default") > 20 * 10 * 500
    assert _faults("tuned") < 20 * 10 * 10
