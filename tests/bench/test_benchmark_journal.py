"""`python -m benchmarks.journal` keeps working; no number of it is judged here (the machine's
disk decides the fsync one)."""

import re
import subprocess
import sys

from helpers import REPO_ROOT


def test_smoke_run_reports_both_rates() -> None:
    """A tiny run prints one line with a rate for group commit and one for an fsync per record."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.journal", "--records", "200",
                           "--fsyncs", "5"], check=False, cwd=REPO_ROOT, capture_output=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert re.fullmatch(r"journal: [\d,]+ records/s with group commit; [\d,]+ records/s with an "
                        r"fsync per record\n", done.stdout.decode())
