"""What a process that matches images sets up once: the one place for state that outlives a call.

Every process that matches images keeps freed memory for the next image (see
:mod:`logowatch.allocator`). A worker of a pool or a cluster also leaves Ctrl-C to the process
that started it, which stops the work cleanly and keeps what was done, and keeps OpenCV and the
text recogniser to one thread: the workers are the parallelism, and threads on top of them only
compete. The text recogniser (see :mod:`logowatch.text`) is loaded once per process and model.
Pools of such processes are started by "spawn", from :func:`spawn_context`.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.context
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2

from logowatch import allocator, text
from logowatch.errors import WorkerError

logger = logging.getLogger(__name__)

#: The text recognisers loaded in this process, by model file, and which of them each request
#: (the model files it names, in order) got: None where none of them can be loaded here.
_recognisers: dict[Path, text.Recogniser] = {}
_chosen: dict[tuple[Path, ...], Path | None] = {}
#: Why each text model file cannot be used here (None: it can), by path and the file's size and
#: time: checking it hashes 11 MB, once per process and version of the file, not once per use.
_problems: dict[tuple[Path, int, int], str | None] = {}
#: Threads each recogniser may use: one in a worker, as many as ONNX Runtime likes elsewhere.
_recogniser_threads = 0
#: What this process has warned about already (see :func:`first_warning`).
_warned: set[object] = set()


def first_warning(cause: object) -> bool:
    """Whether ``cause`` (a cache folder that cannot be written, say) is met here for the first
    time: one warning for it in this process, not one for everything it spoils."""
    if cause in _warned:
        return False
    _warned.add(cause)
    return True


#: The guard of a script's main code: ``if __name__ == "__main__":`` (either way round).
MAIN_GUARD = re.compile(r"""if\s+(__name__\s*==\s*['"]__main__['"]|['"]__main__['"]\s*==\s*__name__)""")


#: Environment variables that keep a spawned worker's numerical libraries to one thread each (see
#: :func:`spawn_context`); one set by the user is left as it is. With two workers on two cores,
#: numpy's matrix products (the flat regions' lookup, see ``regions``) on threads of their own
#: made a scan of background images 35% slower. They are set in this process's environment, for
#: every process it starts from then on, since a spawned worker reads them as it imports numpy.
SINGLE_THREADED = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def spawn_context() -> multiprocessing.context.SpawnContext:
    """The "spawn" start method, for a pool of worker processes (OpenCV's thread pool and the
    FLANN index do not survive being forked mid-use), whose workers start with one thread for
    numpy's BLAS (see :data:`SINGLE_THREADED`). Raises :class:`WorkerError` where the
    workers could not import the caller's main code again (see :func:`unsafe_main`)."""
    unsafe = unsafe_main()
    if unsafe is not None:
        raise WorkerError(
            f"more than one job starts worker processes that import {unsafe} again: put the code that scans "
            'under `if __name__ == "__main__":` in a script file (or use one job)'
        )
    for name in SINGLE_THREADED:
        # Read by numpy's BLAS as a worker imports it: the workers are the parallelism.
        os.environ.setdefault(name, "1")
    return multiprocessing.get_context("spawn")


def unsafe_main() -> str | None:
    """What a spawned worker would fail to import again: main code read from standard input, or
    a script (or a module run by ``python -m pkg.mod``) without the ``__main__`` guard, which
    would start its work again at its top level in each worker, where multiprocessing refuses to
    start processes. None where it can: a script or module with the guard, ``python -m pkg``
    (its ``__main__`` is not run again), an interactive session or a notebook.

    A spawned worker runs the main code before it reads what it is sent; where it dies doing so,
    the parent blocks for ever writing a large payload (a Detector) to it, since CPython keeps
    the pipe's far end open until that write is done. So this is checked before any starts."""
    main = sys.modules.get("__main__")
    if main is None:
        return None
    spec = getattr(main, "__spec__", None)
    if spec is not None:
        name = str(getattr(spec, "name", ""))
        if name == "__main__" or name.endswith(".__main__"):
            return None
        path = getattr(spec, "origin", None)
    else:
        path = getattr(main, "__file__", None)
    if not isinstance(path, str):
        return None
    if not os.path.isfile(path):
        return f"your code ({path})"
    try:
        source = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return None if MAIN_GUARD.search(source) else f"your script ({path})"


#: The signals that stop a run (Ctrl-C, and what a service manager sends).
STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stopping_signals_ignored() -> Iterator[None]:
    """Ctrl-C and SIGTERM ignored while the block runs: a process pool's shutdown.

    Interrupted half way (a second Ctrl-C soon after the first), the shutdown leaves the workers
    waiting for work that never comes, and the process waiting for them at exit, for ever. It
    takes as long as the images the workers are on; the run is stopping or done by then, so a
    signal meanwhile has nothing left to stop (held and delivered after, it would replace the
    exit the run is making with an abort). Signals are handled in the main thread only:
    elsewhere this changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in STOPPING_SIGNALS}
    ignored = [number for number, handler in previous.items() if handler is not None]  # None: set outside Python
    for number in ignored:
        signal.signal(number, signal.SIG_IGN)
    try:
        yield
    finally:
        for number in ignored:
            signal.signal(number, previous[number])


def set_up(*, worker: bool = False, parent: int | None = None) -> None:
    """Set this process up for matching (again is harmless); ``worker`` for a pool's or a
    cluster's worker process, ``parent`` the pid of the process that started a pool's (see
    :func:`exit_with_parent`)."""
    global _recogniser_threads
    allocator.keep_freed_memory()
    if parent is not None:
        exit_with_parent(parent)
    if not worker:
        return
    cv2.setNumThreads(1)
    _recogniser_threads = 1
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


#: How often a pool's worker looks whether the process that started it is still there (seconds).
PARENT_CHECK_SECONDS = 1.0


def exit_with_parent(parent: int) -> None:
    """End this process, a pool's worker, soon after the process ``parent`` that started it is gone.

    Killed outright (SIGKILL, the out-of-memory killer), a scan cannot tell its workers to stop:
    they wait for work on a pipe that nothing writes to, holding a few hundred MiB each, for ever.
    A daemon thread watches the parent's pid instead (an orphan is adopted by another process).
    The pid comes from the parent: by the time a worker has imported and unpickled what it needs,
    the parent may be gone already."""
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="logowatch-parent-watch", daemon=True).start()


def text_check_problem(model: Path) -> str | None:
    """Why the text check cannot run here with the ``model`` file (``text.unavailable``), or
    None when it can; worked out once per process and version of the file."""
    try:
        stat = model.stat()
    except OSError:
        return text.unavailable(model)  # no file: says so, and costs nothing to say again
    key = (model, stat.st_size, stat.st_mtime_ns)
    if key not in _problems:
        _problems[key] = text.unavailable(model)
    return _problems[key]


def recogniser(*models: Path) -> text.Recogniser | None:
    """The text recogniser of the first of ``models`` that is the right model file (see
    ``text.unavailable``), loaded once in this process: a library's index names the file it was
    read with, which a cluster's worker may keep elsewhere. None where none is (said once, as a
    warning: the library's rings then go unread here, and a seal's copy is judged by its design)."""
    if models not in _chosen:
        reasons = []
        for model in models:
            why = None if model in _recognisers else text_check_problem(model)
            if why is None:
                _chosen[models] = model
                break
            reasons.append(why)
        else:
            why = "; ".join(reasons)
            logger.warning("the text check is off in this process: %s; seals' rings are not compared", why)
            _chosen[models] = None
    chosen = _chosen[models]
    if chosen is None:
        return None
    if chosen not in _recognisers:
        _recognisers[chosen] = text.Recogniser(chosen, threads=_recogniser_threads)
    return _recognisers[chosen]
