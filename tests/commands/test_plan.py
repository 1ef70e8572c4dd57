"""`syncer plan`: its flags → the frozen request, and those flags merged over the config's
settings; its report: the plan on stdout and the exit code (5 with --detailed-exitcode)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from syncer.commands import options, plan
from syncer.commands.sync import SyncResult, SyncRun
from syncer.config.load import load_config
from syncer.core.model import Scope
from syncer.core.plan import Change, PlanItem
from syncer.exits import UsageError

from . import Printed, refused_by_parser, request, summary_of

CONFIG = '''
[github]
org = "acme"
api_url = "https://ghe.example/api/v3"
token_env = "CONFIG_TOKEN"
ca_bundle = "/etc/ca.pem"

[sync]
concurrency = 7
writes_per_minute = 12
points_per_minute = 300
wait_for_reset = false

[[secret]]
name = "X"
value = "env:X"
[secret.repos]
match = ["*"]
'''


@pytest.fixture
def config_file(tmp_path: Path) -> str:
    path = tmp_path / "syncer.toml"
    path.write_text(CONFIG)
    return str(path)


def test_flags_make_a_frozen_request() -> None:
    """Every flag lands in its field; plan never applies and takes no saved plan."""
    made = request("plan", "-c", "s.toml", "--prune", "--detailed-exitcode", "--format", "json",
                   "--out", "plan.json", "--state", "st.json", "--report", "r.json")
    assert (made.apply, made.config, made.plan_file, made.prune, made.detailed_exitcode,
            made.format, made.out, made.state, made.fresh, made.report) == (
        False, "s.toml", None, True, True, "json", "plan.json", "st.json", False, "r.json")
    assert made.connection == options.Connection()
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.prune = False


def test_plan_needs_a_config(capsys: pytest.CaptureFixture[str]) -> None:
    """plan without -c is refused as the arguments are parsed (exit 2)."""
    assert "the following arguments are required: -c/--config" in refused_by_parser(capsys, "plan")


def test_the_config_decides_what_no_flag_says(config_file: str) -> None:
    """Without flags, the config's [github] and [sync] settings are the run's (wait_for_reset
    false is --no-wait)."""
    made = request("plan", "-c", config_file)
    config = load_config(config_file)
    settings = options.settings_from(made.connection, config)
    assert (settings.api_url, settings.ca_bundle, settings.concurrency, settings.writes_per_minute,
            settings.points_per_minute, settings.wait_for_reset) == (
        "https://ghe.example/api/v3", "/etc/ca.pem", 7, 12, 300, False)
    assert options.effective(made.connection, config, "token_env") == "CONFIG_TOKEN"


def test_a_flag_wins_over_the_config(config_file: str) -> None:
    """Each flag given overrides the config's setting of the same meaning."""
    made = request("plan", "-c", config_file, "--api-url", "https://api.github.com",
                   "--concurrency", "3", "--writes-per-minute", "0", "--points-per-minute", "600",
                   "--ca-bundle", "/tmp/other.pem", "--token-env", "FLAG_TOKEN")
    config = load_config(config_file)
    settings = options.settings_from(made.connection, config)
    assert (settings.api_url, settings.ca_bundle, settings.concurrency, settings.writes_per_minute,
            settings.points_per_minute) == ("https://api.github.com", "/tmp/other.pem", 3, 0, 600)
    assert options.effective(made.connection, config, "token_env") == "FLAG_TOKEN"


def test_a_bad_api_url_is_blamed_on_where_it_came_from(config_file: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain-http API URL that is no loopback address is refused, naming where it came from:
    --api-url, or $GITHUB_API_URL when neither the flag nor the config gives one."""
    flagged = request("plan", "-c", config_file, "--api-url", "http://other.example/api/v3")
    with pytest.raises(UsageError, match=r"^--api-url: plain http:// would send the token"):
        options.settings_from(flagged.connection, load_config(config_file))
    monkeypatch.setenv("GITHUB_API_URL", "http://env.example/api/v3")
    without_url = tmp_path / "no-url.toml"
    without_url.write_text(CONFIG.replace('api_url = "https://ghe.example/api/v3"', ""))
    with pytest.raises(UsageError, match=r"^GITHUB_API_URL: plain http://"):
        options.settings_from(request("plan", "-c", str(without_url)).connection,
                              load_config(without_url))


def test_an_insecure_url_the_config_allows_is_allowed(tmp_path: Path) -> None:
    """allow_insecure_http = true in the config lets a plain-http URL through without the flag."""
    path = tmp_path / "http.toml"
    path.write_text(CONFIG.replace("https://ghe.example", "http://ghe.example").replace(
        'org = "acme"', 'org = "acme"\nallow_insecure_http = true'))
    settings = options.settings_from(request("plan", "-c", str(path)).connection, load_config(path))
    assert settings.api_url == "http://ghe.example/api/v3"


# --- report ----------------------------------------------------------------------------------

API = Scope.of_repo("acme", "api")
WEB = Scope.of_repo("acme", "web")


def done(*items: PlanItem) -> SyncRun:
    return SyncRun(SyncResult(list(items), [], summary_of()), {"path": "/s.toml", "sha256": "0"})


def reported(made: object, run: SyncRun) -> tuple[int, Printed]:
    printed = Printed()
    return plan.report(made, run, printed.output), printed


@pytest.mark.parametrize(("flags", "items", "code"), [
    ((), (PlanItem(Change.CREATE, API, "X"),), 0),
    (("--detailed-exitcode",), (PlanItem(Change.CREATE, API, "X"),), 5),
    (("--detailed-exitcode",), (PlanItem(Change.UNCHANGED, API, "X"),), 0),
    (("--detailed-exitcode",), (PlanItem(Change.PRUNE, API, "OLD"),), 5),
    ((), (PlanItem(Change.MISSING_TARGET, API, "X", why="repository api does not exist"),), 1),
    (("--detailed-exitcode",), (PlanItem(Change.CREATE, API, "X"),
                                PlanItem(Change.UNREADABLE, WEB, "X", why="403")), 1),
])
def test_the_exit_code_says_whether_writes_are_pending(
        flags: tuple[str, ...], items: tuple[PlanItem, ...], code: int) -> None:
    """0 whatever is pending; with --detailed-exitcode 5 when apply would write something; 1
    when a target is missing or unreadable, which 5 does not hide."""
    assert reported(request("plan", "-c", "s.toml", *flags), done(*items))[0] == code


def test_the_plan_is_printed_for_people_or_as_json() -> None:
    """text: the plan grouped by secret; json: its counts and items; nothing on stderr."""
    items = (PlanItem(Change.CREATE, API, "X"), PlanItem(Change.UNCHANGED, WEB, "X"))
    _, text = reported(request("plan", "-c", "s.toml"), done(*items))
    assert text.out.splitlines()[:2] == ["X: create 1, unchanged 1", "  create         acme/api"]
    _, as_json = reported(request("plan", "-c", "s.toml", "--format", "json"), done(*items))
    assert [i["change"] for i in json.loads(as_json.out)["items"]] == ["create", "unchanged"]
    assert text.err == as_json.err == ""


def test_the_report_file_has_the_same_exit_code(tmp_path: Path) -> None:
    """--report writes the plan's run report with the code plan exits with."""
    made = request("plan", "-c", "s.toml", "--detailed-exitcode",
                   "--report", str(tmp_path / "r.json"))
    code, _ = reported(made, done(PlanItem(Change.CREATE, API, "X")))
    written = json.loads((tmp_path / "r.json").read_text())
    assert (code, written["command"], written["exit_code"], written["config"]["path"]) == (
        5, "plan", 5, "/s.toml")
