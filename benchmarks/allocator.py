"""Page faults of a scale-space-like churn with and without :mod:`logowatch.allocator`'s tuning.

    python benchmarks/allocator.py

Each measurement runs in a fresh interpreter: it allocates and fills ten 4 MiB buffers 20 times
and frees them again, the way SIFT's scale space is built and dropped for every image, and
prints the minor page faults taken. Untuned, glibc hands the freed buffers back to the kernel and
faults them in again each time; tuned, they stay in the heap.
"""

from __future__ import annotations

import platform
import subprocess
import sys

CHURN = """
import resource, sys
import numpy as np
from logowatch import allocator
if sys.argv[1] == "tuned" and not allocator.keep_freed_memory():
    sys.exit("the allocator could not be tuned here")
def image():
    return [np.ones(1 << 20, np.float32) for _ in range(10)]
image()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    image()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", CHURN, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


def main() -> int:
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        print("the allocator is tuned on glibc only; nothing measured", file=sys.stderr)
        return 2
    print(f"page faults, default allocator: {faults('default'):9,d}")
    print(f"page faults, tuned allocator:   {faults('tuned'):9,d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
