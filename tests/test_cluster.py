"""The scan on a Dask cluster (the optional ``dask`` extra): one LocalCluster of two worker
processes, shared by the module, gives the process pool's rows, in order, exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("distributed", reason="the dask extra is not installed: pip install -e '.[dask]'")

import dask
from distributed import Client

from logowatch import ClusterError, Detector, Result, text
from logowatch.cli import main
from logowatch.cluster import Address, Reorder, connect, scan
from logowatch.scan import Inputs
from tests.conftest import FIXTURES, REFERENCES, REPO

SAMPLES = REPO / "samples"


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with connect(Address(workers=2)) as started:
        yield started


@pytest.fixture(scope="module")
def paths() -> list[Path]:
    """The bundled samples and the awkward fixtures (unreadable ones among them)."""
    return list(Inputs([SAMPLES, FIXTURES]))


def row(result: Result) -> dict[str, object]:
    """A result without its timing, the one field that may differ between two runs."""
    return {k: v for k, v in result.to_dict().items() if k != "elapsed_ms"}


def logowatch_plugins(client: Client) -> list[str]:
    found = client.run(lambda dask_worker: [n for n in dask_worker.plugins if n.startswith("logowatch-")])
    return sorted(name for names in found.values() for name in names)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("local", Address()),
        ("local:", Address()),
        ("local:3", Address(workers=3)),
        ("tcp://scheduler:8786", Address(scheduler="tcp://scheduler:8786")),
        ("scheduler:8786", Address(scheduler="scheduler:8786")),
    ],
)
def test_addresses(text: str, expected: Address) -> None:
    assert Address.parse(text) == expected


@pytest.mark.parametrize("text", ["", " ", "local:0", "local:x", "local:-1", "local:2.5"])
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Address.parse(text)


def test_partitions_go_out_in_input_order_and_once() -> None:
    a, b, c, d = (Result.failed(name, "x", 0.5) for name in "abcd")
    ordered = Reorder()
    assert ordered.add(1, [c]) == []  # early: waits for partition 0
    assert ordered.add(0, [a, b]) == [a, b, c]
    assert ordered.add(1, [c]) == []  # a partition run again after its worker died: not twice
    assert ordered.add(0, [a, b]) == []
    assert ordered.add(3, []) == []
    assert ordered.add(3, [d]) == []  # waiting already: the first results stand
    assert ordered.add(2, [d]) == [d]
    assert ordered.waiting == {} and ordered.next == 4


def test_cluster_scan_gives_the_process_pool_rows_in_order(
    client: Client, detector: Detector, paths: list[Path]
) -> None:
    pool = [row(r) for r in detector.scan(paths, jobs=2)]
    on_cluster = [row(r) for r in scan(detector, paths, client, partition_size=2)]
    assert [r["path"] for r in on_cluster] == [str(p) for p in paths]
    assert on_cluster == pool
    assert {r["status"] for r in on_cluster} == {"ok", "error"}  # the awkward files are among them
    assert sum(bool(r["match"]) for r in on_cluster) >= 4


def test_workers_use_the_detector_they_are_given_and_drop_it(client: Client, detector: Detector) -> None:
    # One Detector per scan, even on one cluster, even when its library folder is gone: the workers
    # receive it whole, and forget it when the scan ends.
    strict = Detector(detector.index, threshold=0.999)
    image = [SAMPLES / "shield-mirrored.png"] * 3
    assert [r.threshold for r in scan(strict, image, client, partition_size=1)] == [0.999] * 3
    assert [r.threshold for r in scan(detector, image, client, partition_size=1)] == [detector.threshold] * 3
    assert logowatch_plugins(client) == []


def test_closing_a_cluster_scan_early_cancels_its_partitions(client: Client, detector: Detector) -> None:
    results = scan(detector, [FIXTURES / "palette.png"] * 200, client, partition_size=2)
    assert next(results).ok
    results.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        left = client.run_on_scheduler(
            lambda dask_scheduler: [k for k in dask_scheduler.tasks if str(k).startswith("logowatch-")]
        )
        if not left:
            break
        time.sleep(0.1)
    assert left == []
    assert logowatch_plugins(client) == []


def test_local_workers_leave_ctrl_c_to_the_scan(client: Client) -> None:
    # A terminal's Ctrl-C reaches every process; the scan stops the cluster itself.
    assert set(client.run(signal.getsignal, signal.SIGINT).values()) == {signal.SIG_IGN}
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN


def test_cli_scans_on_a_local_cluster(cache_dir: Path, detector: Detector, tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["scan", "--cache-dir", str(cache_dir), "-r", str(REFERENCES),
                                       "--dask", "local:2", "-o", str(output), str(SAMPLES)])
    assert result.exit_code == 0, result.output
    assert "dashboard http" in result.stderr
    assert "7 images: 4 matched, 3 clear" in result.stderr
    written = [json.loads(line) for line in output.read_text().splitlines()]
    expected = [r.to_dict() for r in detector.scan(sorted(SAMPLES.iterdir()))]
    assert [(r["path"], r["match"], r["reference"], r["score"]) for r in written] == [
        (r["path"], r["match"], r["reference"], r["score"]) for r in expected
    ]


def test_cli_resumes_on_a_running_scheduler(client: Client, cache_dir: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.jsonl"
    args = ["scan", "--cache-dir", str(cache_dir), "-r", str(REFERENCES), "-o", str(output)]
    first = CliRunner().invoke(main, [*args, *(str(SAMPLES / n) for n in ("bakery-avatar.png", "holiday-photo.jpg"))])
    assert first.exit_code == 1, first.output
    again = CliRunner().invoke(main, [*args, "--resume", "--dask", client.scheduler.address, str(SAMPLES)])
    assert again.exit_code == 0, again.output
    assert "resuming: 2 already done, 5 to go" in again.stderr
    written = [json.loads(line)["path"] for line in output.read_text().splitlines()]
    assert sorted(written) == sorted(str(p) for p in SAMPLES.iterdir())


def test_an_unreachable_scheduler_is_a_fatal_error(cache_dir: Path) -> None:
    # Dask's own setting, as a user would shorten it: the default waits 30 seconds.
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = CliRunner().invoke(main, ["scan", "--cache-dir", str(cache_dir), "-r", str(REFERENCES),
                                           "--dask", "tcp://127.0.0.1:1", str(SAMPLES)])
    assert result.exit_code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:1" in result.stderr


def test_without_the_extra_dask_is_refused_in_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import sys\n"
        "class Blocker:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('dask', 'distributed'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r} (blocked by the test)', name=name)\n"
        "sys.meta_path.insert(0, Blocker())\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(REPO)])}
    code = "from logowatch.cli import main; main()"
    args = ["scan", "--dask", "local:2", "-r", str(REFERENCES), str(SAMPLES)]
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'logowatch[dask]'" in lines[0], done.stderr


def test_a_worker_killed_mid_scan_loses_and_duplicates_nothing(
    client: Client, detector: Detector, paths: list[Path]
) -> None:
    many = paths * 4
    expected = [row(r) for r in detector.scan(paths)] * 4
    results = scan(detector, many, client, partition_size=1)
    got = [row(next(results))]
    # Kill a worker that is matching images right now; the nanny starts another.
    busy = next(address for address, keys in client.processing().items() if keys)
    pid = client.run(os.getpid, workers=[busy])[busy]
    os.kill(pid, signal.SIGKILL)
    got.extend(row(r) for r in results)
    assert got == expected
    client.wait_for_workers(2, timeout=60)
    assert pid not in client.run(os.getpid).values()


def test_accounts_decide_the_same_on_a_cluster(client: Client, cache_dir: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "accounts.csv"
    rows = ["platform,account_id,handle,display_name,avatar"]
    for number, image in enumerate(sorted(SAMPLES.iterdir())):
        rows.append(f"x,u{number},h{number},someone {number},{image}")
    manifest.write_text("\n".join(rows) + "\n", encoding="utf-8")
    args = ["accounts", "--cache-dir", str(cache_dir), "-r", str(REFERENCES), "-f", "jsonl", str(manifest)]
    alone = CliRunner().invoke(main, args)
    clustered = CliRunner().invoke(main, [*args, "--dask", client.scheduler.address])
    assert alone.exit_code == clustered.exit_code == 0, clustered.output

    def verdicts(text: str) -> list[tuple[str, str, str | None]]:
        return [(r["account_id"], r["verdict"], r["entity"]) for r in map(json.loads, text.splitlines())]

    assert verdicts(clustered.stdout) == verdicts(alone.stdout)
    assert sum(v == "impersonation" for _, v, _ in verdicts(alone.stdout)) == 4


def test_identical_files_are_scanned_once_on_a_cluster(client: Client, detector: Detector, tmp_path: Path) -> None:
    for name in ("a.png", "b.png", "c.png"):
        (tmp_path / name).write_bytes((SAMPLES / "shield-mirrored.png").read_bytes())
    paths = sorted(tmp_path.iterdir())
    results = list(detector.scan_once(paths, lambda todo: scan(detector, todo, client)))
    assert [r.duplicate_of for r in results] == [None, str(paths[0]), str(paths[0])]
    assert [r.score for r in results] == [results[0].score] * 3


def test_a_worker_that_cannot_read_the_seals_rings_the_library_was_read_with_refuses(
    client: Client, detector: Detector, tmp_path: Path
) -> None:
    # As if the library had been read where the text check was on, and the workers had no model.
    missing = str(tmp_path / "no-model.onnx")
    before = client.run(lambda: os.environ.get("LOGOWATCH_TEXT_MODEL"))

    def set_model(value: str | None) -> None:
        if value is None:
            os.environ.pop("LOGOWATCH_TEXT_MODEL", None)
        else:
            os.environ["LOGOWATCH_TEXT_MODEL"] = value

    client.run(set_model, missing)
    try:
        ring = text.RingText(text.Ring((200.0, 200.0), 180.0), "NORTHMERE", letters=(("N", -90.0), ("E", 90.0)))
        unread = Detector(replace(detector.index, text_model=tmp_path / "elsewhere.onnx", rings={0: ring}))
        with pytest.raises(ClusterError, match="cannot read seals' rings"):
            list(scan(unread, [SAMPLES / "shield-mirrored.png"], client))
    finally:
        for address, value in before.items():
            client.run(set_model, value, workers=[address])
    assert logowatch_plugins(client) == []
