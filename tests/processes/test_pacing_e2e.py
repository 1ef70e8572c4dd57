"""GitHub's pacing guidance end to end: real syncer processes against fakehub with GitHub's
limits on (time-scaled: a minute lasts one second)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from helpers import TOKEN, github_env, org_hub, syncer_popen

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
    return syncer_popen(
        ["set", name, "--org", "acme", "--value-from", "env:V", "--state", str(state),
         "--time-scale", scale, "--log-level", "warning", *extra],
        github_env(url, V="value-" + name), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


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


def test_default_pace_keeps_under_githubs_limits_and_writes_every_value(tmp_path) -> None:
    """Default settings against GitHub's limits (and its content-creation limit of 80 a
    minute): one write a second, no limit answer at all, every value right."""
    hub = github_hub(120, content_creation_per_minute=80)
    with hub.serve_in_thread() as url:
        code, err = finish(start_set(url, "PACED", tmp_path / "state.json"))
    assert code == 0, err[-2000:]
    assert hub.violations == {}
    assert all(hub.plaintext("PACED", repo=f"acme/repo-{i:04d}") == b"value-PACED"
               for i in range(1, 121))


def test_two_default_runs_of_one_token_stay_under_the_content_creation_limit(tmp_path) -> None:
    """Two runs at once at GitHub's one write a second would make two a second together; one
    shared budget keeps them to one, under a content-creation limit of 80 a minute."""
    hub = github_hub(100, content_creation_per_minute=80)
    with hub.serve_in_thread() as url:
        runs = [start_set(url, name, tmp_path / f"{name}.json") for name in ("ONE", "TWO")]
        results = [finish(proc) for proc in runs]
    assert [code for code, _ in results] == [0, 0], [err[-1000:] for _, err in results]
    assert hub.violations == {}


def test_a_limit_syncer_did_not_foresee_is_met_once_and_slows_the_run(tmp_path) -> None:
    """fakehub's content-creation limit at 40 a minute, answered 429 without retry-after:
    syncer meets it once, sends nothing for the minute GitHub asks, then writes the rest at
    half its pace without another limit answer; every value is right; the summary says when
    and to what the pace was lowered."""
    hub = github_hub(120, content_creation_per_minute=40, limit_status=429, retry_after=False)
    arrivals: list[float] = []
    hub.on_request = lambda method, template, count: arrivals.append(time.monotonic())
    with hub.serve_in_thread() as url:
        code, err = finish(start_set(url, "TAUGHT", tmp_path / "state.json"))
    assert code == 0, err[-2000:]
    assert sum(hub.violations.values()) == 1
    assert all(hub.plaintext("TAUGHT", repo=f"acme/repo-{i:04d}") == b"value-TAUGHT"
               for i in range(1, 121))
    # nothing at all was sent while GitHub's minute (one second here) lasted
    assert max(b - a for a, b in zip(arrivals, arrivals[1:], strict=False)) >= 1.0
    assert "pace lowered at " in err and "to 30 writes and 435 points a minute" in err


def test_a_read_only_token_is_told_in_one_line_and_nothing_is_written(monkeypatch, capsys) -> None:
    """A token that may read but not write: exit 3, one line naming the permission it lacks,
    not a failure per repository, and a single write tried."""
    from helpers import run_cli

    hub = FakeHub(tokens=(), read_only_tokens=(TOKEN,), limits=Limits(time_scale=60))
    hub.add_org("acme")
    hub.add_repos("acme", 30, environments=())
    with hub.serve_in_thread() as url:
        code = run_cli(["set", "RO", "--org", "acme", "--value-from", "env:V", "--time-scale",
                        SCALE, "--quiet"],
                       {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": url, "V": "v"}, monkeypatch)
    err = capsys.readouterr().err
    assert code == 3, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("syncer: error: the token may not do this: ")
    assert 'repository permission "Secrets" (read and write)' in last and "repo scope" in last
    assert hub.count("PUT") == 1 and not hub.secret("RO", repo="acme/repo-0001")


def test_a_token_without_org_admin_fails_the_org_secret_alone(tmp_path, monkeypatch, capsys) -> None:
    """A token without org admin: the org-level target fails with what it lacks; the
    repository targets of the same run are written."""
    from helpers import run_cli

    hub = FakeHub(tokens=(), non_admin_tokens=(TOKEN,), limits=Limits(time_scale=60))
    hub.add_org("acme")
    hub.add_repos("acme", 5, environments=())
    config = tmp_path / "syncer.toml"
    config.write_text('[github]\norg = "acme"\n'
                      '[[secret]]\nname = "ORG_WIDE"\nvalue = "env:V"\n'
                      '[secret.org]\nvisibility = "private"\n'
                      '[[secret]]\nname = "PER_REPO"\nvalue = "env:V"\n'
                      '[secret.repos]\nmatch = ["*"]\n')
    with hub.serve_in_thread() as url:
        code = run_cli(["apply", "-c", str(config), "--time-scale", SCALE, "--quiet"],
                       {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": url, "V": "v"}, monkeypatch)
    err = capsys.readouterr().err
    assert code == 1, err
    assert all(hub.plaintext("PER_REPO", repo=f"acme/repo-{i:04d}") == b"v" for i in range(1, 6))
    assert hub.secret("ORG_WIDE", org="acme") is None
    assert "Resource not accessible by personal access token" in err
    assert 'organization permission "Secrets"' in err and "admin:org" in err


def test_an_enterprise_server_without_limits_is_not_paced(monkeypatch, capsys) -> None:
    """GET /rate_limit answering 'Rate limiting is not enabled.' turns pacing off for the run,
    said once in the log; a pace given explicitly is kept all the same."""
    from helpers import run_cli

    hub = org_hub(20, environments=())  # limits off: Enterprise Server's default
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": "", "V": "v"}
    with hub.serve_in_thread() as url:
        env["GITHUB_API_URL"] = url
        assert run_cli(["set", "FREE", "--org", "acme", "--value-from", "env:V"], env,
                       monkeypatch) == 0
        free = capsys.readouterr().err
        assert run_cli(["set", "KEPT", "--org", "acme", "--value-from", "env:V",
                        "--writes-per-minute", "600"], env, monkeypatch) == 0
        kept = capsys.readouterr().err
    assert free.count('"event": "pacing_off"') == 1 and "paced 0.0 s" in free
    assert '"event": "pacing_off"' not in kept and "paced 0.0 s" not in kept


def test_every_listing_follows_githubs_id_based_next_links(monkeypatch, capsys) -> None:
    """GitHub's next-page links name ids (/organizations/{org_id}/..., /repositories/{id}/...),
    not the path asked: audit reads 230 repositories, 150 org secrets and 120 environments of
    one repository (two and three pages each) through them."""
    from helpers import run_cli

    hub = org_hub(230, limits=Limits(time_scale=60), environments=(), id_links=True, record=True)
    for i in range(150):
        hub.set_secret(f"ORG_{i:03d}", b"v", org="acme", visibility="all")
    for i in range(120):
        hub.add_environment("acme", "repo-0007", f"env-{i:03d}")
    hub.set_secret("DEEP", b"v", repo="acme/repo-0007", env="env-119")
    hub.set_secret("LAST", b"v", repo="acme/repo-0230")
    with hub.serve_in_thread() as url:
        code = run_cli(["audit", "--org", "acme", "--format", "csv", "--time-scale", SCALE],
                       {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": url}, monkeypatch)
    out = capsys.readouterr().out
    assert code == 0
    assert sum(line.startswith("actions,org,acme,ORG_") for line in out.splitlines()) == 150
    assert "actions,env,acme/repo-0007:env-119,DEEP," in out
    assert "actions,repo,acme/repo-0230,LAST," in out
    followed = [e.path for e in hub.exchanges]
    assert sum(p.startswith("/organizations/") and p.endswith("/repos") for p in followed) == 2
    assert sum(p.startswith("/organizations/") and "/actions/secrets" in p for p in followed) == 1
    assert sum(p.startswith("/repositories/") and p.endswith("/environments")
               for p in followed) == 1
