"""What a process that matches images sets up once: the one place for state that outlives a call.

Every process that matches images keeps freed memory for the next image (see
:mod:`logowatch.allocator`). A worker of a pool or a cluster also leaves Ctrl-C to the process
that started it, which stops the work cleanly and keeps what was done, and keeps OpenCV to one
thread: the workers are the parallelism, and threads on top of them only compete.
"""

from __future__ import annotations

import signal
import threading

import cv2

from logowatch import allocator


def set_up(*, worker: bool = False) -> None:
    """Set this process up for matching (again is harmless); ``worker`` for a pool's or a
    cluster's worker process."""
    allocator.keep_freed_memory()
    if not worker:
        return
    cv2.setNumThreads(1)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
