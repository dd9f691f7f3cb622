"""How fast ``logowatch accounts`` decides a manifest of names only (no avatars), end to end.

    python benchmarks/accounts_speed.py -r REFERENCES [--accounts 100000] [--seed 0] [--cache-dir DIR]

Writes a CSV manifest of ``--accounts`` synthetic accounts (``platform, account_id, handle, display_name``, no
avatar column) into a temporary folder: a quarter carry one of the library's names written with a trick
(spaced, dotted, zero-width, traditional, full-width, upper case, digits, emoji, homoglyphs, see
``names_speed.py``), the rest are ordinary names. Then runs ``logowatch accounts -f jsonl -o FILE`` on it in a
subprocess and prints the wall-clock time, with the library's loading timed apart (``logowatch index``).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from names_speed import invent_names  # the sibling script (run as a script, its folder is on the path)

from logowatch.library import discover


def write_manifest(target: Path, count: int, bodies: dict[str, list[str]], rng: random.Random) -> None:
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["platform", "account_id", "handle", "display_name"])
        for number, name in enumerate(invent_names(count, bodies, rng)):
            writer.writerow([rng.choice(["weibo", "douyin", "x", "wechat"]), f"s{number:08d}", f"user{number}", name])


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-r", "--references", type=Path, required=True)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args()
    bodies = {entity.id: list(entity.names) for entity in discover(args.references)}
    cache = ["--cache-dir", str(args.cache_dir)] if args.cache_dir else []
    with tempfile.TemporaryDirectory() as folder:
        manifest, output = Path(folder) / "accounts.csv", Path(folder) / "verdicts.jsonl"
        write_manifest(manifest, args.accounts, bodies, random.Random(args.seed))
        logowatch = [sys.executable, "-m", "logowatch"]
        loading = timed([*logowatch, "index", "-r", str(args.references), *cache])
        total = timed([*logowatch, "accounts", "-q", "-r", str(args.references), *cache, "-f", "jsonl",
                       "-o", str(output), str(manifest)])
        with output.open(encoding="utf-8") as handle:
            verdicts = Counter(json.loads(line)["verdict"] for line in handle)
    print(f"{len(bodies)} bodies, {sum(len(n) for n in bodies.values())} names; {args.accounts:,} accounts, names only")
    print(f"logowatch index (start-up and loading the library): {loading:.2f} s")
    print(f"logowatch accounts, end to end: {total:.2f} s ({args.accounts / total:,.0f} accounts/s); "
          f"without the start-up: {total - loading:.2f} s ({args.accounts / max(total - loading, 1e-9):,.0f}/s)")
    print("verdicts: " + ", ".join(f"{verdict} {count:,}" for verdict, count in sorted(verdicts.items())))


if __name__ == "__main__":
    main()
