"""syncer.commands.options, the options several commands share: their converters, and how the
flags given merge over a config file's settings (effective, settings_from) and become
credentials' usage errors."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pytest

from syncer import cli
from syncer.commands import options
from syncer.config.model import Config, GitHubConfig, SyncConfig
from syncer.core.limits import MAX_CONCURRENCY
from syncer.execution.connect import Settings
from syncer.exits import UsageError

TOKEN_SHAPED = "ghp_" + "a1B2" * 9


@pytest.mark.parametrize(("convert", "text", "said"), [
    (options.positive_int, "0", "must be at least 1"),
    (options.positive_int, "s3cr3t", "must be a whole number (not repeated here)"),
    (options.non_negative_number, "-1", "must be a number from 0 up"),
    (options.non_negative_number, "nan", "must be a number from 0 up"),
    (options.non_negative_number, "inf", "must be a number from 0 up"),
    (options.non_negative_number, "s3cr3t", "must be a number (not repeated here)"),
    (options.concurrency_argument, str(MAX_CONCURRENCY + 1),
     f"at most {MAX_CONCURRENCY} (GitHub's limit on requests in flight)"),
    (options.name_argument, TOKEN_SHAPED, "looks like a GitHub token, not a name (not repeated "
                                          "here); if that token is real, revoke it"),
    (options.env_name_argument, "s3cr3t value", "is not the name of an environment variable"),
    (options.env_name_argument, TOKEN_SHAPED, "looks like a token"),
])
def test_converters_refuse_without_repeating_what_was_typed(convert: object, text: str,
                                                            said: str) -> None:
    """A converter refuses a bad value with a message argparse prints as is (an
    ArgumentTypeError), which never repeats the value: it may be a secret typed in the wrong
    place."""
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        convert(text)
    assert said in str(refused.value)
    assert text not in str(refused.value)


def test_converters_take_good_values() -> None:
    """Good values come back converted."""
    assert options.positive_int("3") == 3
    assert options.non_negative_number("0") == 0.0 and options.non_negative_number("7.5") == 7.5
    assert options.concurrency_argument(str(MAX_CONCURRENCY)) == MAX_CONCURRENCY
    assert options.name_argument("acme-platform") == "acme-platform"
    assert options.env_name_argument("NPM_TOKEN") == "NPM_TOKEN"


def test_orgs_are_kept_once_in_the_order_given() -> None:
    """--org repeated with another case counts once, as first spelled; none given is ()."""
    assert options.orgs_named(["acme", "Ops", "ACME", "ops", "web"]) == ("acme", "Ops", "web")
    assert options.orgs_named(None) == ()


CONFIG = Config(
    path="syncer.toml", secrets=(),
    github=GitHubConfig(api_url="https://ghe.example/api/v3", token_env="CFG_TOKEN",
                        ca_bundle="/etc/ca.pem", allow_insecure_http=True),
    sync=SyncConfig(concurrency=7, writes_per_minute=12.0, points_per_minute=300.0,
                    wait_for_reset=False))


@pytest.mark.parametrize(("flag", "from_config"), [
    ("api_url", "https://ghe.example/api/v3"), ("token_env", "CFG_TOKEN"),
    ("ca_bundle", "/etc/ca.pem"), ("allow_insecure_http", True), ("concurrency", 7),
    ("writes_per_minute", 12.0), ("points_per_minute", 300.0),
    ("no_wait", True),  # wait_for_reset = false
])
def test_every_mapped_flag_falls_back_to_its_config_setting(flag: str, from_config: object) -> None:
    """Each connection flag not given takes the config's setting of the same meaning (no_wait
    is wait_for_reset turned round); without a config it is None, for the default to decide."""
    assert options.effective(options.Connection(), CONFIG, flag) == from_config
    assert options.effective(options.Connection(), None, flag) is None


def test_flag_to_config_covers_every_connection_flag_a_config_can_set() -> None:
    """The table names every Connection field but those only a flag can set (timeout, the key
    cache, the compressed time of tests), and each names a real config setting."""
    flag_only = {"timeout", "key_cache", "time_scale"}
    assert set(options.FLAG_TO_CONFIG) == set(options.Connection.__dataclass_fields__) - flag_only
    for section, field in options.FLAG_TO_CONFIG.values():
        assert hasattr(getattr(CONFIG, section), field)


def test_a_given_flag_wins_even_when_it_says_zero_or_false() -> None:
    """A flag given as 0 overrides the config's setting: only None (not given) falls back."""
    given = options.Connection(writes_per_minute=0.0, points_per_minute=0.0, concurrency=1)
    settings = options.settings_from(given, CONFIG)
    assert (settings.writes_per_minute, settings.points_per_minute, settings.concurrency) == (
        0.0, 0.0, 1)
    assert not settings.wait_for_reset  # from the config: no flag said otherwise


def test_settings_without_flags_or_config_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """No flag and no config: the built-in defaults ($GITHUB_API_URL if set, else GitHub)."""
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    settings = options.settings_from(options.Connection())
    defaults = Settings()
    assert (settings.api_url, settings.concurrency, settings.writes_per_minute,
            settings.points_per_minute, settings.wait_for_reset, settings.timeout,
            settings.minute) == (defaults.api_url, defaults.concurrency, None, None, True, 30.0,
                                 60.0)
    monkeypatch.setenv("GITHUB_API_URL", "https://env.example/api/v3")
    assert options.settings_from(options.Connection()).api_url == "https://env.example/api/v3"


def test_time_scale_compresses_the_minute() -> None:
    """The hidden --time-scale (fakehub's compressed time) shortens the client's minute alike."""
    assert math.isclose(options.settings_from(options.Connection(time_scale=60.0)).minute, 1.0)


@pytest.mark.parametrize(("app", "token_env", "all_orgs", "said"), [
    (options.AppOptions(installation_id=3), None, False,
     "--app-installation-id needs --app-id and --app-key"),
    (options.AppOptions(app_id=3), None, False, "--app-id and --app-key go together"),
    (options.AppOptions(app_key="file:k.pem"), None, False, "--app-id and --app-key go together"),
    (options.AppOptions(3, "file:k.pem"), "MY_TOKEN", False,
     "--token-env and --app-id are two ways to authenticate: choose one"),
    (options.AppOptions(3, "k.pem"), None, False,
     "--app-key takes file:PATH, env:VAR or cmd:COMMAND"),
    (options.AppOptions(3, "file:k.pem", 9), None, True,
     "--app-installation-id names one installation; --all-orgs means every installation of "
     "the App"),
])
def test_credentials_refuse_what_does_not_go_together(app: options.AppOptions,
                                                      token_env: str | None, all_orgs: bool,
                                                      said: str) -> None:
    """A GitHub App's options that are incomplete, clash with a token or with --all-orgs are
    usage errors before any key or token is read."""
    with pytest.raises(UsageError) as refused:
        options.credentials(app, token_env, ("acme",), Settings(), all_orgs=all_orgs)
    assert str(refused.value) == said


@pytest.mark.parametrize("argv", [
    ["set", "X", "--org", "acme", "--value-from", "env:V"],
    ["rotate", "X", "--org", "acme", "--value-from", "env:V"],
    ["audit", "--org", "acme"],
])
def test_a_report_path_without_its_folder_is_refused_before_any_request(
        argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """--report into a folder that does not exist is a usage error (exit 2) before syncer
    connects (here to an address nothing listens on), not a traceback after the writes."""
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    monkeypatch.setenv("V", "v")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    report = tmp_path / "missing" / "run.json"
    code = cli.main([*argv, "--api-url", "http://127.0.0.1:9", "--report", str(report)])
    assert code == 2
    assert capsys.readouterr().err == f"syncer: error: --report {report}: no such folder\n"
