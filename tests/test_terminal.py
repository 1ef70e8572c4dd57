"""What a person sees on a terminal: the live progress line, log lines above it, the summary
table. syncer runs as a real process on a pseudo-terminal."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from collections import Counter

from helpers import fakehub_process

from syncer.observe.summary import Summary, table_lines

VALUE = "terminal-canary-7731"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def run_on_terminal(args: list[str], env: dict[str, str]) -> bytes:
    """syncer with stdout and stderr on a pseudo-terminal; everything it drew there."""
    leader, follower = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN")}
    full_env.update(env)
    proc = subprocess.Popen([sys.executable, "-m", "syncer", *args], env=full_env,
                            stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    drawn = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process closed its end
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    assert proc.wait(timeout=60) == 0, drawn.decode(errors="replace")
    return bytes(drawn)


def test_progress_line_with_log_lines_above_it_and_a_summary_table() -> None:
    with fakehub_process("--repos", "40", "--envs", "", "--latency-ms", "20",
                         "--error-rate", "0.2", "--seed", "3") as fh:
        drawn = run_on_terminal(
            ["set", "TERM_SECRET", "--org", "acme", "--value-from", "env:V",
             "--points-per-minute", "0", "--concurrency", "4"],
            {"GITHUB_API_URL": fh.url, "GITHUB_TOKEN": fh.token, "V": VALUE, "COLUMNS": "72"})
    text = drawn.decode()
    assert VALUE not in text and fh.token not in text
    plain = ANSI.sub("", text).replace("\r\n", "\n")
    frames = [f for line in plain.split("\n") for f in line.split("\r") if "█" in f or "░" in f]
    assert frames, plain
    assert all(len(frame) <= 71 for frame in frames)  # cut to the terminal, never wrapped
    assert any(frame.startswith("█" * 30 + " 40/40") for frame in frames)
    assert "\x1b[32m" in text  # the bar is coloured
    # retries were logged as warnings: each on a line of its own, above the progress line
    warnings = [line.split("\r")[-1] for line in plain.split("\n") if "[warning" in line]
    assert warnings, plain
    for warning in warnings:
        assert re.match(r"\S+Z \[warning\s*\] retry attempt=\d+ ", warning), warning
    table = plain[plain.index("syncer summary"):].splitlines()
    assert table[1].split() == ["secret", "scope", "created", "updated", "unchanged", "deleted",
                                "failed", "not", "written"]
    assert table[3].split() == ["TERM_SECRET", "repo", "40", "0", "0", "0", "0", "0"]


def test_summary_table_aligns_columns_and_marks_failures() -> None:
    summary = Summary({"created": 1, "failed": 2}, requests=7, retries=1, rate_limit_waits=0,
                      wait_seconds=0.0, seconds=1.5,
                      failed=[("acme/a", "LONG_SECRET_NAME", "404 [not] found")],
                      by_secret={("LONG_SECRET_NAME", "repo"): Counter(created=1, failed=2)})
    lines = table_lines(summary, {("LONG_SECRET_NAME", "repo"): 5})
    assert lines[0] == "syncer summary"
    assert len({len(lines[1]), len(lines[2]), len(lines[3])}) == 1  # one width for all rows
    assert lines[3].split() == ["LONG_SECRET_NAME", "repo", "1", "0", "5", "0", "2", "0"]
    assert lines[-1] == "  failed: LONG_SECRET_NAME in acme/a: 404 [not] found"
    coloured = table_lines(summary, colour=True)
    assert "\x1b[1;31m" in coloured[3] and "\x1b[1;31m" not in coloured[1]
