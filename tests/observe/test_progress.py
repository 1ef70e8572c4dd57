"""The progress line's arithmetic (pure) and its reading phase on a terminal: an ETA from the
pace, a bar that never runs ahead of the writes, and "reading ORG: N/M repositories"."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import ANSI, fakehub_process, run_on_terminal

from syncer.core.model import Action, Op, Outcome, Result, Scope
from syncer.observe.progress import (
    Progress,
    Reading,
    bar_cells,
    eta_seconds,
    paced_writes_per_second,
    reading_text,
)


def test_eta_while_paced_follows_the_pace_not_the_bursts_so_far() -> None:
    """At 60 writes a minute, 600 left is 600 s whatever the rate so far (a fast burst of
    the first writes, or a slow start); the points budget binds when it is the tighter."""
    assert eta_seconds(600, done=100, elapsed=1.0, writes_per_minute=60,
                       points_per_minute=None) == 600
    assert eta_seconds(600, done=1, elapsed=100.0, writes_per_minute=60,
                       points_per_minute=None) == 600
    # 120 points a minute at 6 points a write (PUT + key GET): 20 writes a minute
    assert paced_writes_per_second(60, 120) == 20 / 60
    assert eta_seconds(20, done=0, elapsed=0.0, writes_per_minute=60,
                       points_per_minute=120) == 60
    # fakehub's compressed minute: the pace is per that minute
    assert eta_seconds(60, done=0, elapsed=0.0, writes_per_minute=60, points_per_minute=None,
                       minute=6.0) == 6


def test_eta_unpaced_is_from_the_rate_so_far_and_silent_until_it_knows() -> None:
    assert eta_seconds(50, done=50, elapsed=10.0, writes_per_minute=None,
                       points_per_minute=None) == 10
    assert eta_seconds(50, done=0, elapsed=3.0, writes_per_minute=None,
                       points_per_minute=None) is None
    assert eta_seconds(0, done=9, elapsed=3.0, writes_per_minute=60,
                       points_per_minute=None) is None


def test_eta_while_paced_stays_within_a_fifth_of_the_time_really_left() -> None:
    """A paced run of 300 writes at 60 a minute whose writes come in bursts (ten at once, then
    a wait, as writes queue for their turn) and whose first ten landed before pacing bit: at
    every write, the ETA is within ±20% of the time that was really left."""
    times = [0.0] * 10 + [10.0 + 10 * (i // 10) for i in range(290)]  # bursts every 10 s
    end = times[-1]
    for done in range(1, 299):
        eta = eta_seconds(300 - done, done=done, elapsed=times[done - 1] or 0.5,
                          writes_per_minute=60, points_per_minute=None)
        really_left = end - times[done - 1]
        assert eta is not None
        if really_left >= 60:  # the last bursts: seconds, where one burst is all the error
            assert 0.8 * really_left <= eta <= 1.2 * really_left, (done, eta, really_left)


def test_the_bar_never_shows_more_than_was_written() -> None:
    """Cells are the written share rounded down: 29 of 30 written is not a full bar; failures
    and targets left by a stop fill nothing; a total that grows never overfills."""
    assert bar_cells(29, 30, 30) == 29
    assert bar_cells(299, 300, 30) == 29
    assert bar_cells(300, 300, 30) == 30
    assert bar_cells(400, 300, 30) == 30
    assert bar_cells(0, 0, 30) == 30  # nothing to do: done
    progress = Progress(3, enabled=False)
    action = Action(Op.PUT, Scope.of_repo("acme", "a"), "S")
    for result in (Result.CREATED, Result.FAILED, Result.SKIPPED):
        progress(Outcome(action, result))
    bar = progress.segments()[0][0]
    assert bar == "█" * 10 and progress.written == 1 and progress.done == 3


def test_reading_text_names_the_org_and_what_is_known() -> None:
    assert reading_text("acme", 120, 300) == "reading acme: 120/300 repositories"
    assert reading_text("acme", 200, None) == "listing acme: 200 repositories"
    reading = Reading(enabled=False)
    reading.listed("acme", 2)
    assert reading.segments() == [("listing acme: 2 repositories", None)]
    scopes = [Scope.of_repo("acme", "a"), Scope.of_env("acme", "a", "prod"),
              Scope.of_repo("acme", "b"), Scope.of_org("acme")]
    reading.to_read(scopes)
    reading.read(scopes[0])
    reading.read(scopes[3])
    assert reading.segments() == [("reading acme: 0/2 repositories", None)]
    reading.read(scopes[1])  # a's environment too: a is read
    assert reading.segments() == [("reading acme: 1/2 repositories", None)]


def test_plan_on_a_terminal_shows_its_reading(tmp_path: Path) -> None:
    """plan over 30 repositories on a terminal: a line counts the listing, then the
    repositories read, up to 'reading acme: 30/30 repositories', before the plan."""
    config = tmp_path / "syncer.toml"
    config.write_text('[github]\norg = "acme"\n[[secret]]\nname = "S"\nvalue = "env:V"\n'
                      '[secret.repos]\nmatch = ["*"]\n')
    with fakehub_process("--plain-names", "--repos", "30", "--envs", "", "--latency-ms", "5") as fh:
        drawn = run_on_terminal(
            ["plan", "-c", str(config), "--state", str(tmp_path / "state.json"),
             "--concurrency", "2"],
            {"GITHUB_API_URL": fh.url, "GITHUB_TOKEN": fh.token, "V": "progress-canary-1",
             "XDG_STATE_HOME": str(tmp_path / "xdg")})
    plain = ANSI.sub("", drawn.decode()).replace("\r\n", "\n")
    assert "progress-canary-1" not in plain
    frames = [f for line in plain.split("\n") for f in line.split("\r")
              if f.startswith(("reading ", "listing "))]
    assert "reading acme: 30/30 repositories" in frames, plain
    counts = [int(m.group(1)) for f in frames if (m := re.match(r"reading acme: (\d+)/30", f))]
    assert counts == sorted(counts)  # it only goes forward
    assert plain.index("reading acme: 30/30") < plain.index("plan: create 30")
