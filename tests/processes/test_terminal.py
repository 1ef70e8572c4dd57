"""What a person sees on a terminal: the live progress line, log lines above it, the summary
table. syncer runs as a real process on a pseudo-terminal."""

from __future__ import annotations

import io
import re
import sys
from collections import Counter

from helpers import ANSI, fakehub_process, progress_frames, run_on_terminal

from syncer.observe.progress import Progress
from syncer.observe.summary import Summary, table_lines

VALUE = "terminal-canary-7731"


def test_progress_line_with_log_lines_above_it_and_a_summary_table() -> None:
    # limits off: 40 writes drawn as they land; this is about the terminal, not pacing
    with fakehub_process("--plain-names", "--repos", "40", "--envs", "", "--latency-ms", "20",
                         "--error-rate", "0.2", "--seed", "3", "--no-limits") as fh:
        drawn = run_on_terminal(
            ["set", "TERM_SECRET", "--org", "acme", "--value-from", "env:V",
             "--points-per-minute", "0", "--concurrency", "4"],
            {"GITHUB_API_URL": fh.url, "GITHUB_TOKEN": fh.token, "V": VALUE, "COLUMNS": "72"})
    text = drawn.decode()
    assert VALUE not in text and fh.token not in text
    plain = ANSI.sub("", text).replace("\r\n", "\n")
    frames = progress_frames(text)
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


def test_progress_line_fits_the_terminal_it_is_on_in_the_characters_it_can_show() -> None:
    """stdout piped, stderr on a 50-column Latin-1 terminal: the line is cut to that terminal
    (not to stdout's 80 columns) and drawn in ASCII; the table's rule too."""
    # limits off: 30 writes drawn as they land; this is about the terminal, not pacing
    with fakehub_process("--plain-names", "--repos", "30", "--envs", "", "--latency-ms", "10",
                         "--no-limits") as fh:
        drawn = run_on_terminal(
            ["set", "NARROW", "--org", "acme", "--value-from", "env:V",
             "--points-per-minute", "0", "--concurrency", "2"],
            {"GITHUB_API_URL": fh.url, "GITHUB_TOKEN": fh.token, "V": VALUE,
             "PYTHONIOENCODING": "latin-1"}, columns=50, stdout="pipe")
    text = drawn.decode("latin-1")
    frames = progress_frames(text)
    assert frames and all(len(frame) <= 49 for frame in frames), frames
    assert any(frame.startswith("#" * 30 + " 30/30") for frame in frames), frames
    assert "\\u" not in text and "-----" in text[text.index("syncer summary"):]


def test_a_closed_stdout_does_not_stop_a_run_shown_on_a_terminal() -> None:
    with fakehub_process("--plain-names", "--repos", "5", "--envs", "") as fh:
        drawn = run_on_terminal(
            ["set", "NO_STDOUT", "--org", "acme", "--value-from", "env:V",
             "--points-per-minute", "0"],
            {"GITHUB_API_URL": fh.url, "GITHUB_TOKEN": fh.token, "V": VALUE}, stdout="closed")
        assert sum(s["name"] == "NO_STDOUT" for s in fh.state()["secrets"]) == 5
    assert "syncer summary" in drawn.decode()


def test_writes_through_any_stream_method_land_above_the_line() -> None:
    """print, write without a newline, writelines: all above the progress line, none on it."""
    terminal = _FakeTerminal()
    original = sys.stdout
    sys.stdout = terminal
    try:
        progress = Progress(3, stream=terminal, enabled=True)
        sys.stdout.write("partial ")
        print("line", file=sys.stdout)
        sys.stdout.writelines(["first\n", "second\n"])
        progress.close()
    finally:
        sys.stdout = original
    rows = [row.split("\r")[-1] for row in ANSI.sub("", terminal.getvalue()).split("\n")]
    assert rows[:3] == ["partial line", "first", "second"]
    assert rows[3].endswith(" 0/3") and rows[4] == ""


class _FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_dumb_terminal_gets_no_live_line_and_no_colours() -> None:
    with fakehub_process("--plain-names", "--repos", "5", "--envs", "") as fh:
        drawn = run_on_terminal(
            ["set", "DUMB", "--org", "acme", "--value-from", "env:V", "--points-per-minute", "0"],
            {"GITHUB_API_URL": fh.url, "GITHUB_TOKEN": fh.token, "V": VALUE, "TERM": "dumb"})
    text = drawn.decode()
    assert "\x1b[" not in text and "░" not in text and "█" not in text
    assert "syncer summary" in text


def test_request_rates_are_shown_as_people_read_them() -> None:
    """A local fakehub answers thousands a second: shown as 6.2k, not 6151."""
    from syncer.observe.progress import rate_text

    assert [rate_text(r) for r in (0.84, 12.4, 640.2, 6151.0)] == ["0.8", "12", "640", "6.2k"]
