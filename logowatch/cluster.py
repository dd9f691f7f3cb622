"""A Detector's scan on a Dask cluster: the optional ``dask`` extra (``pip install 'logowatch[dask]'``).

Imported only when a cluster is asked for (``logowatch scan --dask ADDRESS``), so that logowatch
itself never needs Dask. :func:`connect` opens a client, to a :class:`~distributed.LocalCluster` of
worker processes started here or to a running scheduler; :func:`scan` gives the results of a list
of files in their order, as :meth:`Detector.scan <logowatch.detector.Detector.scan>` does.

How the Detector reaches the workers: a :class:`~distributed.WorkerPlugin` that carries it. The
scheduler keeps the plugin and hands it to every worker once, when the plugin is registered and
whenever a worker joins later: a worker that the nanny restarts after it was killed, or one that an
adaptive cluster adds, is given the Detector before it runs a task. Tasks carry only the plugin's
name and their paths. The alternative, ``scatter(detector, broadcast=True)``, keeps the Detector
as data in the workers' managed memory, where Dask counts it, may spill it to disk or move it
between workers, and a replacement worker would have to fetch it from a peer first; the index is
state of the worker process, not data of the computation, and a plugin says exactly that.

Every partition (a few paths) is one task with a key of its own. Results are collected as they
finish and handed out in input order: a partition that finishes early waits in a buffer until
those before it are out, and only a bounded window of partitions beyond the oldest one not yet
handed out is submitted, so memory stays flat however many files there are. When a worker dies,
Dask runs its partitions again elsewhere; each partition is handed out exactly once, keyed by its
number, whatever its task's history.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distributed import Client, Future, KilledWorker, LocalCluster, WorkerPlugin, as_completed, get_worker

from logowatch import __version__, process
from logowatch.detector import Detector
from logowatch.errors import ClusterError
from logowatch.library import default_text_model
from logowatch.results import Result

logger = logging.getLogger(__name__)

#: ``--dask`` value that starts a LocalCluster here (``local:N`` for N worker processes).
LOCAL = "local"
#: Paths per task: about half a second of work, so Dask's per-task cost (milliseconds) is lost in it.
DEFAULT_PARTITION_SIZE = 8
#: Partitions in flight per worker thread, beyond the oldest one not yet handed out.
DEFAULT_PARTITIONS_IN_FLIGHT = 3
#: How often (seconds) the window is sized again to the cluster's threads, for a cluster that grows.
DEFAULT_RESIZE_SECONDS = 5.0


@dataclass(frozen=True)
class Address:
    """Where a scan runs: a LocalCluster of ``workers`` processes here (``scheduler`` None;
    ``workers`` None leaves the count to the caller), or the scheduler at ``scheduler``."""

    scheduler: str | None = None
    workers: int | None = None

    @classmethod
    def parse(cls, text: str) -> Address:
        """``local``, ``local:N`` or a scheduler's address (``tcp://host:8786``); ValueError else."""
        text = text.strip()
        if not text:
            raise ValueError("give 'local', 'local:N' or a scheduler's address such as tcp://scheduler:8786")
        name, _, count = text.partition(":")
        if name != LOCAL:
            return cls(scheduler=text)
        if not count:
            return cls()
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"{text!r}: the number of local workers must be a whole number of at least 1")
        return cls(workers=int(count))


@contextmanager
def connect(address: Address, default_workers: int = 1) -> Iterator[Client]:
    """A client of the cluster at ``address``; a LocalCluster (``default_workers`` processes of one
    thread each, unless the address names a count) is started here and closed on the way out.

    Raises :class:`ClusterError` when the scheduler cannot be reached or the workers not started."""
    if address.scheduler is None:
        workers = address.workers or max(1, default_workers)
        try:
            # One thread per worker: the processes are the parallelism, as in the local process pool.
            with _interrupts_left_to_us():
                cluster = LocalCluster(n_workers=workers, processes=True, threads_per_worker=1)
        except RuntimeError as exc:  # what Dask raises when a worker process does not start
            raise ClusterError(f"cannot start a local Dask cluster of {workers} workers: {exc} "
                               "(the workers' own errors are above)") from exc
        with cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(address.scheduler)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address.scheduler}: {exc}; check the address "
            "(tcp://host:8786) or use --dask local"
        ) from exc
    with client:
        yield client


@contextmanager
def _interrupts_left_to_us() -> Iterator[None]:
    """Worker processes started meanwhile ignore Ctrl-C, as the local pool's do: a terminal sends
    it to every process of the group, and this one, which closes the cluster, is the one to act on
    it (else each worker prints a traceback as it dies). A worker that the nanny restarts later is
    started as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by the processes started
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def threads(client: Client) -> int:
    """Worker threads the cluster has now."""
    return sum(client.nthreads().values())


def scan(
    detector: Detector,
    paths: Iterable[str | Path],
    client: Client,
    *,
    partition_size: int = DEFAULT_PARTITION_SIZE,
) -> Generator[Result, None, None]:
    """Results for ``paths`` in their order, computed on the workers of ``client``.

    Each worker receives ``detector`` once (see the module's notes); the paths must be readable
    by every worker. Closing the generator early cancels the partitions in flight. Raises
    :class:`ClusterError` when a partition cannot be finished (it killed workers again and again,
    or the cluster went away)."""
    plugin = DetectorPlugin(detector)
    scan_id = uuid.uuid4().hex[:12]
    in_flight: dict[str, tuple[int, list[str], Future]] = {}
    completed = as_completed(loop=client.loop, with_results=True, raise_errors=False)
    ordered = Reorder()
    window = _Window(client)
    chunks = enumerate(_partitions(paths, partition_size))
    submitted = 0
    try:
        # A worker may refuse the plugin (another version; no model for the seals' rings): the
        # scheduler keeps it registered all the same, and the cleanup below takes it away.
        client.register_plugin(plugin, name=plugin.name)
        while True:
            # Partitions in flight and waiting in the buffer together stay within the window.
            while submitted < ordered.next + window.size():
                chunk = next(chunks, None)
                if chunk is None:
                    break
                number, paths_in_chunk = chunk
                future = client.submit(
                    _check_partition, plugin.name, paths_in_chunk, key=f"logowatch-{scan_id}-{number}"
                )
                in_flight[future.key] = (number, paths_in_chunk, future)
                completed.add(future)
                submitted += 1
            if not in_flight:
                return
            future, value = next(completed)
            if future.key not in in_flight:  # reported twice: its partition went out the first time
                continue
            number, paths_in_chunk, _ = in_flight.pop(future.key)
            rows = _rows(future, value, paths_in_chunk)
            future.release()
            yield from ordered.add(number, rows)
    finally:
        if client.status == "running":
            if in_flight:
                client.cancel([future for _, _, future in in_flight.values()])
            client.unregister_worker_plugin(plugin.name)


def _rows(future: Future, value: Any, paths: list[str]) -> list[Result]:
    """The results of one finished task, or the reason it has none."""
    where = f"{paths[0]} .. {paths[-1]}" if len(paths) > 1 else paths[0]
    if future.status == "finished":
        rows: list[Result] = value
        return rows
    if future.status == "cancelled":
        raise ClusterError(f"the Dask cluster dropped the images {where} (lost its scheduler?); "
                           "rerun with --resume to carry on")
    error = future.exception()
    if isinstance(error, KilledWorker):
        raise ClusterError(f"the images {where} killed Dask workers again and again (out of memory?): {error}; "
                           "scan them apart, or rerun the rest with --resume") from error
    if error is None:
        raise ClusterError(f"the images {where}: Dask reports their task {future.status}, with no error")
    raise error


class Reorder:
    """Partitions' results, arriving in any order and perhaps more than once, handed out in input
    order and exactly once: :meth:`add` returns what may go out now."""

    def __init__(self) -> None:
        self.next = 0
        self.waiting: dict[int, list[Result]] = {}

    def add(self, number: int, rows: list[Result]) -> list[Result]:
        if number < self.next or number in self.waiting:
            logger.warning("partition %d came back twice; its first results are kept", number)
            return []
        self.waiting[number] = rows
        ready: list[Result] = []
        while self.next in self.waiting:
            ready.extend(self.waiting.pop(self.next))
            self.next += 1
        return ready


class _Window:
    """How many partitions may be in flight: a few per worker thread, sized again now and then
    so that a cluster that grows gets work (a cluster with no worker yet gets a few)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.checked = float("-inf")
        self.threads = 1

    def size(self) -> int:
        now = time.monotonic()
        if now - self.checked > DEFAULT_RESIZE_SECONDS:
            self.threads = max(1, threads(self.client))
            self.checked = now
        return DEFAULT_PARTITIONS_IN_FLIGHT * self.threads


class DetectorPlugin(WorkerPlugin):  # type: ignore[misc]  # Dask is Any to mypy
    """Carries a Detector to every worker once, and sets up the worker's process as the local
    pool does (OpenCV on one thread, freed memory kept for the next image)."""

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.version = __version__
        self.name = f"logowatch-{detector.library}-{uuid.uuid4().hex[:8]}"

    def setup(self, worker: Any) -> None:
        if self.version != __version__:
            raise ClusterError(
                f"this Dask worker runs logowatch {__version__}, the scan {self.version}: install the same "
                "version on every worker"
            )
        process.set_up(worker=True)
        index = self.detector.index
        model = index.text_model
        if index.rings and model is not None and process.recogniser(model, default_text_model()) is None:
            raise ClusterError(
                f"Dask worker {worker.address} cannot read seals' rings, which the library was read with: "
                "install logowatch[text] and run `logowatch fetch-text-model` on every worker (see its log)"
            )
        if worker.state.nthreads > 1:
            logger.warning("Dask worker %s runs %d threads; logowatch expects one per process "
                           "(dask worker --nthreads 1 --nworkers N)", worker.address, worker.state.nthreads)


def _check_partition(plugin_name: str, paths: list[str]) -> list[Result]:
    plugin = get_worker().plugins.get(plugin_name)
    if not isinstance(plugin, DetectorPlugin):
        raise ClusterError(f"Dask worker {get_worker().address} has no Detector {plugin_name!r}")
    return [plugin.detector.check(path, path=path) for path in paths]


def _partitions(paths: Iterable[str | Path], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for path in paths:
        chunk.append(str(path))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
