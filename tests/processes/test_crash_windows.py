"""The last crash windows: the order of the final save, journal damage as one log line,
fatal errors that leave an account and a resumable journal, idempotent retries, and the
writer lock shared by every state file."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import TOKEN, fakehub_process, github_env, org_hub, run_cli, syncer_process
from reset_proxy import resetting_after_apply
from structlog.testing import capture_logs

from syncer.execution.writes import resumable
from syncer.fakehub import FakeHub, Faults, Limits
from syncer.store.journal import Entry, Journal, default_journal_path
from syncer.store.state import CRASH_AT_VARIABLE, State


def _fp(i: int) -> str:
    return f"hmac-sha256:{i:064x}"


def test_journal_damage_is_one_structured_warning_and_no_python_warning(tmp_path: Path) -> None:
    """A journal with several damaged records is reported as one `journal_damaged` log event
    (how many, the first, what is done about it), never through Python's warnings machinery
    (which printed a source line such as `resume.py:115: JournalCorrupt: ...`)."""
    state = State.open(tmp_path / "state.json")
    path = default_journal_path(state.path)
    with Journal.open(path, "inputs") as journal:
        for i in range(4):
            journal.record(Entry(f"acme/r{i}", "actions", "S", _fp(i), "created", 201))
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"acme/r1", b"acme/r9")  # checksum no longer matches
    lines[3] = b"not a record\n"
    path.write_bytes(b"".join(lines)[:-5])  # and a torn tail
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any Python warning fails the test
        with capture_logs() as logs:
            with resumable(state, "inputs", lambda action: "") as resume:
                resume.unfinished = True
    damaged = [e for e in logs if "journal" in e["event"]]
    assert len(damaged) == 1, logs
    assert damaged[0]["event"] == "journal_damaged" and damaged[0]["log_level"] == "warning"
    assert damaged[0]["damaged_lines"] == 3 and "line 3" in damaged[0]["first"]


# -- a kill at each step of the final save ---------------------------------------------------

CANARY = "crash-window-canary-7c1f"
REPOS = 600
CONCURRENCY = 16


def _apply_config(tmp_path: Path) -> Path:
    config = tmp_path / "syncer.toml"
    config.write_text(f'[github]\norg = "acme"\n[sync]\nconcurrency = {CONCURRENCY}\n'
                      'points_per_minute = 0\n[[secret]]\nname = "X"\nvalue = "env:X_VALUE"\n'
                      '[secret.repos]\nmatch = ["repo-*"]\n')
    return config


@pytest.fixture(scope="module")
def big_hub() -> Iterator[tuple[FakeHub, str]]:
    # limits off: these runs are about crash points, not pacing (syncer then runs unpaced)
    hub = org_hub(REPOS, environments=())
    with hub.serve_in_thread() as url:
        yield hub, url


@pytest.mark.slow
@pytest.mark.parametrize("point, damaged_journal", [
    ("writes-done", False),
    ("state-temp-written", False),
    ("state-replaced", False),
    ("state-saved", False),
    ("journal-end-written", False),
    ("journal-end-written", True),
    ("compaction-temp-written", True),
    ("compaction-replaced", True),
])
def test_a_kill_at_any_step_of_the_final_save_repeats_no_write(
        point: str, damaged_journal: bool, big_hub: tuple[FakeHub, str], tmp_path: Path) -> None:
    """`apply` over 600 repositories is SIGKILLed at one step of its final save (the state's
    temp file, its rename, the journal's end record, its compaction's temp file and rename):
    the same command run again writes at most the concurrency's worth (here: nothing, as no
    write was in flight), and GitHub holds the value everywhere. A damaged journal makes the
    finishing run compact it."""
    hub, url = big_hub
    # a secret of its own per case, on the one fakehub of the module
    name = f"X_{point.upper().replace('-', '_')}{'_DAMAGED' if damaged_journal else ''}"
    config = _apply_config(tmp_path)
    config.write_text(config.read_text().replace('name = "X"', f'name = "{name}"'))
    state = tmp_path / "state.json"
    if damaged_journal:
        state.with_name("state.json.journal").write_bytes(b"not a journal record\n")
    args = ["apply", "-c", str(config), "--state", str(state), "--log-format", "json"]
    env = github_env(url, X_VALUE=CANARY)
    before = hub.count("PUT")
    killed = syncer_process(args, {**env, CRASH_AT_VARIABLE: point})
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    assert hub.count("PUT") - before == REPOS
    before = hub.count("PUT")
    again = syncer_process(args, env)
    assert again.returncode == 0, again.stderr.decode()[-2000:]
    assert hub.count("PUT") - before <= CONCURRENCY
    assert hub.count("PUT") - before == 0  # nothing was in flight at the kill
    assert {hub.plaintext(name, repo=f"acme/repo-{n:04d}") for n in range(1, REPOS + 1)} \
        == {CANARY.encode()}


# -- a fatal error after writing began: the account an interrupt gives -------------------------

SMALL = 60
ACCOUNT = r"(\d+) of {total} done, resume with the same command"


def _small_hub(**kw: Any) -> FakeHub:
    return org_hub(SMALL, environments=(), **kw)  # limits off unless a test sets them


def _args(command: str, tmp_path: Path, *extra: str) -> list[str]:
    state = ["--state", str(tmp_path / "state.json"), "--log-format", "json"]
    if command == "apply":
        config = _apply_config(tmp_path)
        config.write_text(config.read_text().replace(f"concurrency = {CONCURRENCY}",
                                                     "concurrency = 4"))
        return ["apply", "-c", str(config), *state, *extra]
    return ["set", "X", "--org", "acme", "--value-from", "env:X_VALUE", "--concurrency", "4",
            "--points-per-minute", "0", *state, *extra]


def _all_right(hub: FakeHub) -> bool:
    return {hub.plaintext("X", repo=f"acme/repo-{n:04d}") for n in range(1, SMALL + 1)} \
        == {CANARY.encode()}


@pytest.mark.parametrize("command", ["set", "apply"])
def test_a_token_revoked_mid_run_says_how_far_it_got_and_the_same_command_resumes(
        command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The token is revoked after 20 writes: exit 3 with GitHub's answer and the account an
    interrupt gives ("N of 60 done, resume with the same command"); with the token back, the
    same command writes only what was left (plus at most the writes that were in flight)."""
    hub = _small_hub()
    args = _args(command, tmp_path)
    env = {"GITHUB_API_URL": "", "GITHUB_TOKEN": TOKEN, "X_VALUE": CANARY}

    def revoke_at_the_21st_put(method: str, template: str, so_far: int) -> None:
        if method == "PUT" and so_far == 21:
            hub.revoke_token(TOKEN)

    with hub.serve_in_thread() as url:
        env["GITHUB_API_URL"] = url
        hub.on_request = revoke_at_the_21st_put
        assert run_cli(args, env, monkeypatch) == 3
        hub.on_request = None
        last = capsys.readouterr().err.strip().splitlines()[-1]
        done = re.fullmatch(r"syncer: error: token rejected \(Bad credentials\); "
                            + ACCOUNT.format(total=SMALL), last)
        assert done is not None, last
        assert 20 - 4 <= int(done[1]) <= 20
        hub.add_token(TOKEN)
        before = hub.count("PUT")
        assert run_cli(args, env, monkeypatch) == 0, capsys.readouterr().err[-2000:]
        assert hub.count("PUT") - before <= SMALL - int(done[1])
        assert _all_right(hub)


def test_a_budget_spent_with_no_wait_says_how_far_it_got_and_leaves_the_run_resumable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """--no-wait and the hourly budget runs out mid-run: exit 1, the targets not written
    listed, and last the account an interrupt gives; once the budget is back, the same
    command writes only what was left."""
    hub = _small_hub(limits=Limits(primary_limit=5000, primary_remaining=50,
                                   primary_reset_seconds=3600))
    args = _args("set", tmp_path, "--no-wait")
    with hub.serve_in_thread() as url:
        env = {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN, "X_VALUE": CANARY}
        assert run_cli(args, env, monkeypatch) == 1
        last = capsys.readouterr().err.strip().splitlines()[-1]
        done = re.fullmatch(r"syncer: stopped \(rate limit budget spent until [^()]+\): "
                            + ACCOUNT.format(total=SMALL), last)
        assert done is not None, last
        assert 0 < int(done[1]) < SMALL
        hub.limits = Limits.off()  # the budget is back
        before = hub.count("PUT")
        assert run_cli(args, env, monkeypatch) == 0, capsys.readouterr().err[-2000:]
        assert hub.count("PUT") - before == SMALL - int(done[1])
        assert _all_right(hub)


@pytest.mark.slow
def test_github_out_of_reach_past_every_retry_stops_the_run_resumably(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`set` over 250 repositories, and every connection is dropped from the moment the second
    page of the listing is asked for: the writes in flight fail once their retries run out
    (they may have landed), the rest is not tried one by one, the listing is not finished, and
    the run ends with the account an interrupt gives; with GitHub back, the same command writes
    only what was left and what was in flight."""
    hub = org_hub(250, environments=())  # about reach, not pacing
    args = _args("set", tmp_path)

    def drop_everything_from_the_second_page(method: str, template: str, so_far: int) -> None:
        if template == "/orgs/{org}/repos" and so_far == 2:
            hub.faults = Faults(drop_rate=1.0)

    with hub.serve_in_thread() as url:
        env = {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN, "X_VALUE": CANARY}
        hub.on_request = drop_everything_from_the_second_page
        assert run_cli(args, env, monkeypatch) == 1
        hub.on_request = None
        err = capsys.readouterr().err
        last = err.strip().splitlines()[-1]
        done = re.fullmatch(r"syncer: stopped \((GitHub out of reach|the listing of targets "
                            r"failed).*\): (\d+) of 100 done \(more not yet listed\), resume "
                            r"with the same command", last)
        assert done is not None, last
        assert err.count('"outcome": "failed"') <= 4  # the concurrency's worth, no more
        hub.faults = Faults()
        before = hub.count("PUT")
        assert run_cli(args, env, monkeypatch) == 0, capsys.readouterr().err[-2000:]
        assert hub.count("PUT") - before <= 250 - int(done[2])
        assert {hub.plaintext("X", repo=f"acme/repo-{n:04d}") for n in range(1, 251)} \
            == {CANARY.encode()}


# -- idempotent retries: answers lost after GitHub applied the write --------------------------

def _repo_of(path: str) -> str:
    """"/repos/acme/repo-0007/actions/secrets/X" → "acme/repo-0007"."""
    parts = path.split("/")
    return f"{parts[2]}/{parts[3]}"


def test_deletes_whose_answers_were_lost_are_reported_deleted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`apply --prune` with 30 % of writes' answers lost after GitHub applied them (the
    connection reset): each such write is retried as a write that may have landed, and a
    retried DELETE answered 404 is done, not failed; every delete is reported deleted, exit 0."""
    hub = _small_hub()
    for n in range(1, SMALL + 1):
        hub.set_secret("OLD", b"stale", repo=f"acme/repo-{n:04d}")
    args = _args("apply", tmp_path, "--prune")
    with hub.serve_in_thread() as upstream, \
            resetting_after_apply(upstream, 0.3, seed=3) as (url, dropped):
        env = {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN, "X_VALUE": CANARY}
        code = run_cli(args, env, monkeypatch)
        err = capsys.readouterr().err
        assert code == 0, err[-3000:]
    assert sum(d.startswith("DELETE") for d in dropped) > 5
    assert f"deleted {SMALL}, failed 0" in err
    assert all(hub.plaintext("OLD", repo=f"acme/repo-{n:04d}") is None
               for n in range(1, SMALL + 1))
    assert _all_right(hub)
    retried = [json.loads(line) for line in err.splitlines()
               if line.startswith("{") and '"event": "retry"' in line]
    assert {r["method"] for r in retried} == {"PUT", "DELETE"}
    assert all(r["idempotent"] is False for r in retried)


def test_puts_whose_answers_were_lost_while_the_key_rotated_are_not_failed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """30 % of PUTs land but their answer is lost, and the scope's public key rotates at that
    instant: the retry meets 422 (not the current key) for a value its earlier try stored.
    Reading the secret's updated_at against the write's start shows it landed: reported
    written, not failed; exit 0 and the value everywhere."""
    hub = _small_hub()

    def rotate_the_key(method: str, path: str) -> None:
        if method == "PUT":
            hub.rotate_key(repo=_repo_of(path))

    args = _args("set", tmp_path)
    with hub.serve_in_thread() as upstream, \
            resetting_after_apply(upstream, 0.3, seed=5, on_reset=rotate_the_key) as (url, dropped):
        env = {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN, "X_VALUE": CANARY}
        code = run_cli(args, env, monkeypatch)
        err = capsys.readouterr().err
        assert code == 0, err[-3000:]
    assert len(dropped) > 5
    assert "failed 0" in err
    assert '"event": "write_landed_earlier"' in err
    assert _all_right(hub)


# -- one writer per (host, org, secret name) on the machine ------------------------------------

def test_a_second_run_writing_the_same_secret_from_another_state_file_exits_4(
        tmp_path: Path) -> None:
    """Two runs with different state files write the same secret name in the same org (with
    different values): the second exits 4 at once naming the first (pid, command line),
    writes nothing, and leaves no mix; a run writing another name goes ahead meanwhile. The
    lock lives under the default state directory, whatever --state says, and holds no value
    and no token."""
    state_home = Path(os.environ["XDG_STATE_HOME"])
    # --no-limits: about the writer lock, not pacing (syncer then runs unpaced)
    with fakehub_process("--plain-names", "--repos", "200", "--envs", "", "--latency-ms", "5",
                         "--no-limits") as fh:
        env = {"GITHUB_API_URL": fh.url, "GITHUB_TOKEN": fh.token, "A": "value-a-1f3e",
               "B": "value-b-9c2d"}

        def set_command(name: str, variable: str, state: str) -> list[str]:
            return ["set", name, "--org", "acme", "--value-from", f"env:{variable}",
                    "--concurrency", "2", "--points-per-minute", "0",
                    "--state", str(tmp_path / state / "state.json")]

        first_err = tmp_path / "first.err"
        with open(first_err, "wb") as err:
            first = subprocess.Popen(
                [sys.executable, "-m", "syncer", *set_command("X", "A", "one")],
                env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=err)
        try:
            put = "PUT /repos/{owner}/{repo}/actions/secrets/{secret_name}"
            deadline = time.monotonic() + 60
            while fh.state()["calls"].get(put, 0) < 5:
                assert first.poll() is None and time.monotonic() < deadline
                time.sleep(0.02)
            first.send_signal(signal.SIGSTOP)  # mid-run, its locks held, for as long as needed
            second = syncer_process(set_command("X", "B", "two"), env)
            other = syncer_process([*set_command("Y", "B", "three"), "--repos", "repo-00*"],
                                   env)
            locks = list((state_home / "syncer" / "writers").iterdir())
            contents = b"".join(lock.read_bytes() for lock in locks)
        finally:
            first.send_signal(signal.SIGCONT)
            assert first.wait(timeout=120) == 0, first_err.read_text()[-2000:]
        assert second.returncode == 4, second.stderr.decode()[-2000:]
        message = second.stderr.decode().strip().splitlines()[-1]
        assert f"pid {first.pid}: syncer set X --org acme" in message
        assert "writing X in acme on 127.0.0.1:" in message
        assert other.returncode == 0, other.stderr.decode()[-2000:]
        assert sorted(lock.name.split("+", 1)[1] for lock in locks) == ["acme+X.lock",
                                                                        "acme+Y.lock"]
        assert b"value-a" not in contents and fh.token.encode() not in contents
        import base64
        values = {base64.b64decode(s["plaintext_b64"]) for s in fh.state()["secrets"]
                  if s["name"] == "X"}
        assert values == {b"value-a-1f3e"}
