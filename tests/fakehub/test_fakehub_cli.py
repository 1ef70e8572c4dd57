"""The fakehub command line: argument mapping, and the real process end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request

import pytest
from helpers import REPO_ROOT

from syncer.fakehub import Limits
from syncer.fakehub.cli import build_parser, hub_from_args

ROOT = REPO_ROOT


def test_flags_map_onto_limits_faults_and_world() -> None:
    """Every option lands in the hub it builds: orgs, repos, envs, limits, faults, tokens."""
    args = build_parser().parse_args(
        ["--plain-names", "--org", "a", "--org", "b", "--repos", "3", "--envs", "prod, qa",
         "--token", "t", "--admin-token", "adm", "--latency-ms", "5", "--jitter-ms", "2",
         "--error-rate", "0.1", "--drop-rate", "0.2", "--slow-rate", "0.05",
         "--slow-seconds", "9", "--points-per-minute", "900", "--max-concurrent", "100",
         "--time-scale", "60", "--primary-limit", "5000", "--primary-remaining", "10",
         "--primary-reset-seconds", "120", "--seed", "4", "--legacy-env-routes-only"]
    )
    hub = hub_from_args(args)
    lim, f = hub.limits, hub.faults
    assert (lim.primary_limit, lim.primary_remaining, lim.primary_reset_seconds) == (5000, 10, 120)
    assert (lim.points_per_minute, lim.max_concurrent, lim.time_scale) == (900, 100, 60)
    assert (f.latency_ms, f.jitter_ms, f.error_rate, f.drop_rate) == (5, 2, 0.1, 0.2)
    assert (f.slow_rate, f.slow_seconds, f.seed) == (0.05, 9, 4)
    assert hub.admin_token == "adm" and hub.legacy_env_routes_only
    assert hub.repo_id("b/repo-0003") > hub.repo_id("a/repo-0001")
    hub.set_secret("X", b"v", repo="a/repo-0002", env="qa")


def test_defaults() -> None:
    """Defaults: 127.0.0.1, port 0, one org `acme` with 10 varied repositories, GitHub's
    limits (Limits()), no faults, GitHub's ID-based pagination links."""
    args = build_parser().parse_args(["--token", "t"])
    hub = hub_from_args(args)
    assert (args.host, args.port) == ("127.0.0.1", 0)
    assert len(hub.world.org("acme").repos) == 10 and hub.repo_id("acme/svc-billing")
    assert hub.limits == Limits() and not hub.faults.active and hub.id_links


def test_help_names_variables_agents_and_what_enterprise_server_lacks() -> None:
    """`fakehub --help` says it serves variables and agents, that Enterprise Server (/api/v3)
    has no agents or codespaces endpoints, and which variables endpoints the less powerful
    tokens and the legacy environment routes concern."""
    text = " ".join(build_parser().format_help().split())
    for words in ("variables (Actions, agents)", "Codespaces, agents", "/api/v3",
                  "no codespaces or agents endpoints", "secrets and .../variables endpoint",
                  ".../secrets and .../variables"):
        assert words in text, words


def test_cli_process_prints_serves_and_exits_0_on_sigterm() -> None:
    """`python -m syncer.fakehub` prints GITHUB_API_URL/GITHUB_TOKEN/FAKEHUB_ADMIN_TOKEN once
    listening, answers with that token, and exits 0 on SIGTERM."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncer.fakehub", "--plain-names", "--repos", "2",
         "--admin-token", "adm"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(3)]
        values = dict(line.split("=", 1) for line in lines)
        assert set(values) == {"GITHUB_API_URL", "GITHUB_TOKEN", "FAKEHUB_ADMIN_TOKEN"}
        assert values["GITHUB_API_URL"].startswith("http://127.0.0.1:")
        assert len(values["GITHUB_TOKEN"]) > 20
        req = urllib.request.Request(
            values["GITHUB_API_URL"] + "/orgs/acme/repos",
            headers={"Authorization": f"Bearer {values['GITHUB_TOKEN']}"},
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            assert [x["name"] for x in json.load(r)] == ["repo-0002", "repo-0001"]
        req = urllib.request.Request(
            values["GITHUB_API_URL"] + "/_fakehub/state",
            headers={"Authorization": "Bearer adm"},
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            assert json.load(r)["calls"] == {"GET /orgs/{org}/repos": 1}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_reports_a_taken_port() -> None:
    """A port that cannot be bound ends the process with exit status 1 and a message."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-m", "syncer.fakehub", "--port", str(port), "--repos", "0"],
            capture_output=True, text=True, env=env, timeout=20, check=False,
        )
    assert done.returncode == 1
    assert done.stderr.startswith("syncer fakehub: ") and done.stdout == ""


@pytest.mark.parametrize("argv", [["--repos", "-1"], ["--error-rate", "x"]])
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    """Invalid arguments are usage errors (exit status 2)."""
    from syncer.fakehub.cli import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
