"""Every exit code the README documents, driven through `main(argv)` (130 and 143 through a
real process and a real signal), so that a script or an alert can rely on each."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from helpers import TOKEN, github_env, org_hub, run_cli, syncer_popen, wait_until, write_config

from syncer.exits import Exit
from syncer.fakehub import FakeHub
from syncer.store.state import State


@pytest.fixture
def hub() -> FakeHub:
    # limits off: about exit codes, not pacing (an Enterprise Server without limits)
    return org_hub(3, environments=())


def _config(tmp_path: Path) -> str:
    return str(write_config(tmp_path, '[github]\norg = "acme"\n[[secret]]\nname = "C"\n'
                                      'value = "env:V"\n[secret.repos]\nmatch = ["*"]\n'))


CASES: list[tuple[Exit, list[str], dict[str, str]]] = [
    (Exit.OK, ["set", "S", "--org", "acme", "--value-from", "env:V"], {}),
    (Exit.FAILED, ["set", "S", "--org", "acme", "--value-from", "env:V", "--repos", "repo-0001",
                   "--repos", "no-such-*"], {}),
    (Exit.USAGE, ["set", "GITHUB_S", "--org", "acme", "--value-from", "env:V"], {}),
    (Exit.USAGE, ["set", "S", "--org", "acmee", "--value-from", "env:V"], {}),
    (Exit.AUTH, ["set", "S", "--org", "acme", "--value-from", "env:V"], {"GITHUB_TOKEN": "wrong"}),
    (Exit.CHANGES, ["plan", "-c", "{config}", "--detailed-exitcode"], {}),
]


@pytest.mark.parametrize("code,args,env", CASES,
                         ids=[f"{int(c)}-{' '.join(a[:2])}" for c, a, _ in CASES])
def test_each_documented_exit_code(url, tmp_path, monkeypatch, code, args, env) -> None:
    """0 done, 1 a target not done, 2 bad input (an unknown org included), 3 the token, 5
    changes pending under --detailed-exitcode."""
    argv = [a.replace("{config}", _config(tmp_path)) for a in args]
    full_env = {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN, "V": "value", **env}
    assert run_cli([*argv, "--quiet"], full_env, monkeypatch) == code


def test_exit_4_when_another_run_holds_the_lock(url, tmp_path, monkeypatch) -> None:
    """4: another syncer run holds the state's lock."""
    with State.open(tmp_path / "state.json").lock():  # as another run would
        assert run_cli(["set", "S", "--org", "acme", "--value-from", "env:V", "--state",
                        str(tmp_path / "state.json"), "--quiet"],
                       {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN, "V": "v"},
                       monkeypatch) == Exit.LOCKED


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, Exit.INTERRUPTED),
                                         (signal.SIGTERM, Exit.TERMINATED)])
def test_130_and_143_for_a_stop_by_signal(url, tmp_path, signum, code) -> None:
    """130 for SIGINT, 143 for SIGTERM (here while the value is being read)."""
    started = tmp_path / "started"
    proc = syncer_popen(
        ["set", "S", "--org", "acme", "--value-from",
         f"cmd:sh -c 'touch {started}; exec sleep 30'"],
        github_env(url, XDG_STATE_HOME=str(tmp_path / "state-home")),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    wait_until(proc, started.exists)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == code, err.decode()
