"""Crash safety and resume, with syncer as a real process: SIGKILL, SIGTERM, a torn journal."""

from __future__ import annotations

import os
import random
import re
import resource
import signal
import subprocess
import sys
import time
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from helpers import FakehubProcess, fakehub_process, github_env, process_env, syncer_popen, wait_until

VALUE = "resume-canary-4242"
REPOS = 1000
CONCURRENCY = 16


class SetRun:
    """`syncer set` as a real process; its output goes to files (a pipe could fill and stall it)."""

    def __init__(self, fh: FakehubProcess, state: Path, *extra: str) -> None:
        self.err_path = state.parent / f"stderr-{time.monotonic_ns()}"
        with open(self.err_path, "wb") as err:
            self.proc = syncer_popen(
                ["set", "S", "--org", "acme", "--value-from", "env:V", "--concurrency",
                 str(CONCURRENCY), "--points-per-minute", "0", "--state", str(state), *extra],
                github_env(fh.url, fh.token, V=VALUE), stdout=subprocess.DEVNULL, stderr=err)

    def finish(self, timeout: float = 120) -> tuple[int, bytes]:
        code = self.proc.wait(timeout=timeout)
        return code, self.err_path.read_bytes()


def unlimited_fakehub(*args: str) -> AbstractContextManager[FakehubProcess]:
    """`syncer fakehub` for runs of hundreds of writes that are stopped and resumed."""
    # limits off: these tests are about resume, not pacing; like an Enterprise Server without limits
    return fakehub_process("--plain-names", *args, "--no-limits")


def start_set(fh: FakehubProcess, state: Path, *extra: str) -> SetRun:
    return SetRun(fh, state, *extra)


def puts(fh: FakehubProcess) -> int:
    return fh.state()["calls"].get("PUT /repos/{owner}/{repo}/actions/secrets/{secret_name}", 0)


def wait_for_puts(fh: FakehubProcess, run: SetRun, at_least: int) -> None:
    wait_until(run.proc, lambda: puts(fh) >= at_least)


def killed_after_puts(fh: FakehubProcess, state: Path, at_least: int) -> None:
    """A `set` run SIGKILLed once fakehub has taken `at_least` of its writes."""
    first = start_set(fh, state)
    wait_for_puts(fh, first, at_least)
    first.proc.kill()
    first.proc.wait()


def listing_pages(fh: FakehubProcess) -> int:
    return fh.state()["calls"].get("GET /orgs/{org}/repos", 0)


def all_right(fh: FakehubProcess) -> bool:
    import base64
    values = {s["repo"]: base64.b64decode(s["plaintext_b64"]) for s in fh.state()["secrets"]
              if s["name"] == "S"}
    return len(values) == REPOS and set(values.values()) == {VALUE.encode()}


@pytest.mark.slow
def test_sigkill_then_rerun_repeats_at_most_the_in_flight_writes(tmp_path) -> None:
    """SIGKILL at a random point of a 1,000-repo set; the same command again finishes the job:
    every repository right, total PUTs at most 1,000 + the concurrency."""
    kill_at = random.randrange(50, 900)
    state = tmp_path / "state.json"
    with unlimited_fakehub("--repos", str(REPOS), "--latency-ms", "5") as fh:
        killed_after_puts(fh, state, kill_at)
        code, err = start_set(fh, state).finish()
        assert code == 0, err.decode()[-2000:]
        assert b'"event": "resume"' in err, f"kill at {kill_at}: no resume"
        assert all_right(fh)
        assert puts(fh) <= REPOS + CONCURRENCY, f"kill at {kill_at}"


@pytest.mark.slow
def test_sigterm_stops_within_bounds_and_resume_completes(tmp_path) -> None:
    """SIGTERM mid-run: exit 143 within 12 s saying how far it got and how to resume; the
    same command then completes the rest."""
    state = tmp_path / "state.json"
    with unlimited_fakehub("--repos", str(REPOS), "--latency-ms", "5") as fh:
        first = start_set(fh, state)
        wait_for_puts(fh, first, 200)
        first.proc.send_signal(signal.SIGTERM)
        code, err = first.finish(timeout=12)
        assert code == 143
        message = err.decode().strip().splitlines()[-1]
        # the listing may or may not have been finished by the kill point
        assert re.fullmatch(rf"syncer: interrupted: \d+ of (\d+ done \(more not yet listed\)"
                            rf"|{REPOS} done), resume with the same command", message), message
        done_before = puts(fh)
        assert done_before < REPOS
        code, err2 = start_set(fh, state).finish()
        assert code == 0, err2.decode()[-2000:]
        assert all_right(fh)
        assert puts(fh) <= REPOS + CONCURRENCY


def test_sigint_while_only_the_listing_is_under_way_stops_at_once(tmp_path) -> None:
    """No write in flight, a listing page on its way: SIGINT stops at once (no grace period
    to wait out), says more targets were not yet listed, and the same command finishes."""
    state = tmp_path / "state.json"
    with unlimited_fakehub("--repos", "300", "--envs", "", "--latency-ms", "400") as fh:
        # only repo-0001, on the last page (newest first, as GitHub lists), is wanted: pages 1
        # and 2 start no write
        first = start_set(fh, state, "--repos", "repo-0001")
        wait_until(first.proc, lambda: listing_pages(fh) >= 2)
        first.proc.send_signal(signal.SIGINT)
        code, err = first.finish(timeout=8)  # under the 10 s grace that in-flight writes get
        assert code == 130
        assert err.decode().strip().splitlines()[-1] == (
            "syncer: interrupted: 0 of 0 done (more not yet listed), resume with the same command")
        assert listing_pages(fh) == 2 and puts(fh) == 0
        code, err = start_set(fh, state, "--repos", "repo-0001").finish()
        assert code == 0, err.decode()[-2000:]
        assert puts(fh) == 1


def test_sigint_while_paced_sends_nothing_more_and_stops_at_once(tmp_path) -> None:
    """Under a points budget most writes wait for their turn; SIGINT sends none of them (no
    grace period to wait out: nothing waiting is in flight), and the same command resumes."""
    state = tmp_path / "state.json"
    with unlimited_fakehub("--repos", "200", "--envs", "") as fh:
        # 60 points a minute: the first minute's budget goes at once (a few targets of
        # 6 points), then every write waits seconds for its turn
        first = start_set(fh, state, "--points-per-minute", "60")
        wait_for_puts(fh, first, 5)
        first.proc.send_signal(signal.SIGINT)
        code, err = first.finish(timeout=8)  # under the 10 s grace that in-flight writes get
        assert code == 130
        message = err.decode().strip().splitlines()[-1]
        done = re.fullmatch(r"syncer: interrupted: (\d+) of 200 done, resume with the same "
                            r"command", message)
        assert done, message
        assert int(done.group(1)) == puts(fh) < 50
        code, err = start_set(fh, state).finish()
        assert code == 0, err.decode()[-2000:]
        assert puts(fh) == 200


@pytest.mark.slow
def test_torn_and_corrupted_journal_is_reported_and_run_proceeds(tmp_path) -> None:
    """A journal with a flipped byte and a torn last record is reported, never trusted, and the
    run proceeds from GitHub's state to the right end result."""
    state = tmp_path / "state.json"
    with unlimited_fakehub("--repos", "200", "--latency-ms", "5") as fh:
        killed_after_puts(fh, state, 100)
        journal = tmp_path / "state.json.journal"
        data = bytearray(journal.read_bytes())
        middle = len(data) // 2
        data[middle] = ord("#") if data[middle] != ord("#") else ord("%")
        journal.write_bytes(bytes(data[:-7]))  # and tear the last record
        code, err = start_set(fh, state).finish()
        assert code == 0, err.decode()[-2000:]
        assert err.count(b"journal_damaged") == 1
        import base64
        values = [base64.b64decode(s["plaintext_b64"]) for s in fh.state()["secrets"]]
        assert len(values) == 200 and set(values) == {VALUE.encode()}
        assert VALUE.encode() not in journal.read_bytes()


def test_fresh_ignores_an_interrupted_run(tmp_path) -> None:
    """--fresh starts over instead of resuming: every target is written again."""
    state = tmp_path / "state.json"
    with unlimited_fakehub("--repos", "200", "--latency-ms", "5") as fh:
        killed_after_puts(fh, state, 50)
        before = puts(fh)
        code, err = start_set(fh, state, "--fresh").finish()
        assert code == 0
        assert b'"event": "resume"' not in err
        assert puts(fh) == before + 200


def test_ctrl_c_while_syncer_is_still_loading_ends_with_one_line_and_130() -> None:
    """A Ctrl-C during the ~0.2 s Python takes to load syncer: exit 130 and one line, no
    traceback. (The KeyboardInterrupt is raised by an import hook, where a real SIGINT would
    land at a moment no test can choose.)"""
    script = (
        "import sys\n"
        "class CtrlC:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'syncer.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, CtrlC())\n"
        "sys.argv = ['syncer', 'set', 'X', '--org', 'acme', '--value-from', 'env:V']\n"
        "from syncer.__main__ import run\n"
        "run()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60,
                          check=False)
    assert done.returncode == 130
    assert done.stderr.decode() == "syncer: error: interrupted\n"


def test_sigint_during_a_read_only_command_says_nothing_was_written(tmp_path) -> None:
    """audit reads only: stopped mid-listing, it says nothing was written, not '0 of 0 done,
    resume with the same command'."""
    with unlimited_fakehub("--repos", "300", "--envs", "", "--latency-ms", "400") as fh:
        env = github_env(fh.url, fh.token, XDG_STATE_HOME=str(tmp_path / "state-home"))
        err_path = tmp_path / "stderr"
        with open(err_path, "wb") as err:
            proc = syncer_popen(["audit", "--org", "acme"], env, stdout=subprocess.DEVNULL,
                                stderr=err)
        wait_until(proc, lambda: listing_pages(fh) >= 1)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
        last = err_path.read_text().strip().splitlines()[-1]
        assert last == "syncer: interrupted before anything was written"


def set_command(fh: FakehubProcess, state: Path) -> tuple[list[str], dict[str, str]]:
    """argv and environment of `syncer set S --org acme` over fakehub, logging JSON."""
    env = process_env(github_env(fh.url, fh.token, V=VALUE))
    return ([sys.executable, "-m", "syncer", "set", "S", "--org", "acme", "--value-from",
             "env:V", "--points-per-minute", "0", "--log-format", "json", "--state", str(state)],
            env)


def test_stderr_closed_mid_run_costs_the_log_not_the_writes(tmp_path) -> None:
    """`syncer set ... 2>&1 | head`: the log's reader goes away after a few lines. The log
    lines are lost, but every write still lands."""
    with unlimited_fakehub("--repos", "200", "--envs", "") as fh:
        argv, env = set_command(fh, tmp_path / "state.json")
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert proc.stderr is not None
        assert b'"event": "write"' in proc.stderr.read(600)  # writing has begun
        proc.stderr.close()
        assert proc.wait(timeout=60) == 0  # the summary is lost too, not the exit code
        assert puts(fh) == 200


def test_a_journal_that_cannot_grow_stops_the_run_cleanly(tmp_path) -> None:
    """The journal's disk fills mid-run (a file-size limit stands in for a full disk): no
    traceback; the writes under way finish, the rest are reported not written, exit 1, and
    no write goes unreported."""
    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000))  # ~25 journal records

    with unlimited_fakehub("--repos", "200", "--envs", "") as fh:
        argv, env = set_command(fh, tmp_path / "state.json")
        done = subprocess.run(argv, env=env, capture_output=True, timeout=120,
                              preexec_fn=small_files, check=False)
        err = done.stderr.decode()
        assert done.returncode == 1, err[-2000:]
        assert "Traceback" not in err
        summary = re.search(r"created (\d+), updated 0, deleted 0, failed 0, not written (\d+)",
                            err)
        assert summary, err[-2000:]
        assert int(summary.group(1)) == puts(fh) < 200
        assert int(summary.group(1)) + int(summary.group(2)) == 200
        assert re.search(r"not written: S in acme/repo-\d+: cannot append to the journal", err)


def test_an_interrupted_generated_rotation_resumes_from_its_output_file(tmp_path) -> None:
    """`rotate --generate N --output F` stopped mid-run: the hint names the command that
    resumes it (the same one would refuse F and make another value), and that command writes
    the rest with the value kept in F."""
    state = tmp_path / "state.json"
    output = tmp_path / "new-value"
    with unlimited_fakehub("--repos", "500", "--envs", "", "--latency-ms", "20") as fh:
        code, err = start_set(fh, state).finish()
        assert code == 0, err.decode()[-2000:]
        env = process_env(github_env(fh.url, fh.token))
        rotate = [sys.executable, "-m", "syncer", "rotate", "S", "--org", "acme", "--state",
                  str(state)]
        with open(tmp_path / "stderr", "wb") as err_file:
            first = subprocess.Popen([*rotate, "--generate", "32", "--output", str(output),
                                      "--points-per-minute", "0"],
                                     env=env, stdout=subprocess.DEVNULL, stderr=err_file)
        wait_until(first, lambda: puts(fh) >= 550)
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=8) == 130
        hint = (tmp_path / "stderr").read_text().strip().splitlines()[-1]
        assert re.fullmatch(rf"syncer: interrupted: \d+ of 500 done, resume with --value-from "
                            rf"file:{re.escape(str(output))} in place of --generate and --output",
                            hint), hint
        written_first = puts(fh) - 500
        assert written_first < 500
        done = subprocess.run([*rotate, "--value-from", f"file:{output}",
                               "--points-per-minute", "0", "--log-format", "json"],
                              env=env, capture_output=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        assert b'"event": "resume"' in done.stderr
        assert puts(fh) - 500 == 500  # each place once, in the two runs together
        import base64
        values = {base64.b64decode(s["plaintext_b64"]) for s in fh.state()["secrets"]}
        assert values == {output.read_bytes()}


@pytest.mark.parametrize("how,script,code", [
    # Ctrl-C in a terminal signals the whole foreground group: syncer and the command
    ("ctrl-c", "exec sleep 30", 130),
    ("ctrl-c", "trap '' INT; exec sleep 30", 130),  # a command that ignores it
    ("sigterm to syncer alone", "exec sleep 30", 143),  # a CI cancel, systemd stop
])
def test_a_signal_while_a_value_command_runs_stops_syncer_and_the_command(
        tmp_path, how, script, code) -> None:
    """The event loop cannot see signals while a `cmd:` source runs: the run still ends at
    once as interrupted (130/143, not a failing source, not after the command's 60 s), and
    the command is stopped with it."""
    started, pid_file = tmp_path / "started", tmp_path / "pid"
    with fakehub_process("--plain-names", "--repos", "5", "--envs", "") as fh:
        proc = syncer_popen(
            ["set", "S", "--org", "acme", "--value-from",
             f"cmd:sh -c 'echo $$ > {pid_file}; touch {started}; {script}'"],
            github_env(fh.url, fh.token, XDG_STATE_HOME=str(tmp_path / "state-home")),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        wait_until(proc, started.exists)
        if how == "ctrl-c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == code, err.decode()
        assert err.decode().strip().splitlines()[-1] == "syncer: error: interrupted"
        assert puts(fh) == 0
        command = int(pid_file.read_text())
        with pytest.raises(ProcessLookupError):  # gone (and reaped) with syncer
            os.kill(command, 0)
