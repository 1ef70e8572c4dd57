"""Journal throughput: records a second with group commit (how syncer's journal appends),
against a write and an fsync per record (what group commit saves).

    python -m benchmarks.journal                     # 20,000 records, 300 fsyncs
    python -m benchmarks.journal --records 500 --fsyncs 20   # a smoke run

It prints one line and judges nothing: on a shared machine the disk's fsync time dominates
the second number.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from syncer.store.journal import Entry, Journal, encode_line


def _fingerprint(i: int) -> str:
    return f"hmac-sha256:{i:064x}"


def grouped_rate(path: Path, records: int) -> float:
    """Records a second appended through Journal.record (group commit), closed at the end."""
    journal = Journal.open(path, "inputs-speed")
    started = time.perf_counter()
    for i in range(records):
        journal.record(Entry(scope=f"acme/r{i}", app="actions", name="TOKEN",
                             fingerprint=_fingerprint(i), outcome="created", status=201))
    journal.close()
    return records / (time.perf_counter() - started)


def fsync_each_rate(path: Path, records: int) -> float:
    """Records a second when each one is written and fsynced on its own."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    line = encode_line({"t": "write", "run": "r", "app": "actions", "scope": "acme/r1",
                        "name": "TOKEN", "fp": _fingerprint(1), "outcome": "created",
                        "status": 201})
    try:
        started = time.perf_counter()
        for _ in range(records):
            os.write(fd, line)
            os.fsync(fd)
        return records / (time.perf_counter() - started)
    finally:
        os.close(fd)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.journal",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000,
                        help="records appended with group commit (default 20,000)")
    parser.add_argument("--fsyncs", type=int, default=300,
                        help="records written with an fsync each (default 300)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="syncer-bench-journal-") as folder:
        grouped = grouped_rate(Path(folder) / "state.json.journal", args.records)
        each = fsync_each_rate(Path(folder) / "fsync-each", args.fsyncs)
    print(f"journal: {grouped:,.0f} records/s with group commit; "
          f"{each:,.0f} records/s with an fsync per record")
    return 0


if __name__ == "__main__":
    sys.exit(main())
