"""GitHub's pacing guidance end to end: real syncer processes against fakehub with GitHub's
limits on (time-scaled: a minute lasts one second)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers import TOKEN

from syncer.fakehub import FakeHub, Limits

SCALE = "60"  # fakehub's and syncer's minute alike: one second


def github_hub(repos: int, scale: str = SCALE, **limits: object) -> FakeHub:
    github = {"primary_limit": 5000, "points_per_minute": 900, "max_concurrent": 100}
    hub = FakeHub(tokens=(TOKEN,),
                  limits=Limits(time_scale=float(scale), **{**github, **limits}))  # type: ignore[arg-type]
    hub.add_org("acme")
    hub.add_repos("acme", repos, environments=())
    return hub


def start_set(url: str, name: str, state: Path, *extra: str,
              scale: str = SCALE) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN")}
    env.update(GITHUB_TOKEN=TOKEN, GITHUB_API_URL=url, V="value-" + name)
    return subprocess.Popen(
        [sys.executable, "-m", "syncer", "set", name, "--org", "acme", "--value-from", "env:V",
         "--state", str(state), "--time-scale", scale, "--log-level", "warning", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode()


def test_two_runs_of_one_token_share_one_points_budget(tmp_path) -> None:
    """Two `set` runs at once with the same token and different state files stay under
    GitHub's 900 points a minute together, where each alone paces itself to 870 (writes
    unpaced here, so that the points budget is what binds)."""
    hub = github_hub(400)
    with hub.serve_in_thread() as url:
        runs = [start_set(url, name, tmp_path / f"{name}.json", "--writes-per-minute", "0")
                for name in ("FIRST", "SECOND")]
        results = [finish(proc) for proc in runs]
    for code, err in results:
        assert code == 0, err[-2000:]
    assert hub.violations == {}
    for name in ("FIRST", "SECOND"):
        assert all(hub.plaintext(name, repo=f"acme/repo-{i:04d}") == f"value-{name}".encode()
                   for i in range(1, 401))


def test_debug_logs_one_event_per_request_without_names_or_secrets(monkeypatch, capsys) -> None:
    """At --log-level debug each HTTP request is one event: method, the route's template,
    status, attempt, milliseconds, the budget left; no token, value, ciphertext or name."""
    from helpers import run_cli

    hub = github_hub(3)
    with hub.serve_in_thread() as url:
        code = run_cli(["set", "TOPSECRETNAME", "--org", "acme", "--value-from", "env:V",
                        "--time-scale", SCALE, "--log-level", "debug", "--log-format", "json"],
                       {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": url, "V": "hunter2-value"},
                       monkeypatch)
    assert code == 0
    err = capsys.readouterr().err
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    requests = [e for e in events if e["event"] == "request"]
    assert len(requests) == sum(hub.calls.values())
    put = next(e for e in requests if e["method"] == "PUT")
    assert put["route"] == "/repos/{owner}/{repo}/actions/secrets/{secret_name}"
    assert put["status"] == 201 and put["attempt"] == 1 and put["ms"] >= 0
    assert isinstance(put["rate_limit_remaining"], int)
    request_lines = "\n".join(json.dumps(e) for e in requests)
    for hidden in (TOKEN, "hunter2-value", "TOPSECRETNAME", "encrypted_value"):
        assert hidden not in request_lines
