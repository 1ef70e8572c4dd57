"""The config file: shape, every validation rule, problems collected with lines, value reading."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import pytest
from helpers import REPO_ROOT

from syncer.config.load import (
    load_config,
    parse_config,
    read_all_values,
    read_values,
    read_variable_values,
)
from syncer.config.model import AppAuth, Config, GitHubConfig, OrgTarget, RepoSelector, SyncConfig
from syncer.config.problems import ConfigError, Problem, key_path
from syncer.config.toml_lines import locate_keys
from syncer.config.url_policy import api_url_problem, is_loopback
from syncer.core.names import MAX_VALUE_BYTES
from syncer.exits import Exit, UsageError
from syncer.sources import Source

EXAMPLE = REPO_ROOT / "config.example.toml"
CANARY = "c4n4ry-s3cr3t-VALUE"

HEAD = '[github]\norg = "acme"\n'


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "config.toml")
    return info.value.problems


def one_problem(text: str, key: str) -> Problem:
    """The single problem of `text`, which must be about `key`."""
    found = problems_of(text)
    assert [p.key for p in found] == [key], [str(p) for p in found]
    return found[0]


def secret(body: str, target: str = '[secret.repos]\nmatch = ["*"]\n') -> str:
    return f'{HEAD}[[secret]]\n{body}\n{target}'


# ---------------------------------------------------------------------------------------------
# The example file


def test_example_config_loads_without_its_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    """config.example.toml loads with none of the variables or files it names present."""
    for var in ("NPM_TOKEN", "SYNCER_TOKEN", "GITHUB_API_URL"):
        monkeypatch.delenv(var, raising=False)
    config = load_config(EXAMPLE)
    assert [s.name for s in config.secrets] == [
        "NPM_TOKEN", "SENTRY_DSN", "DEPLOY_TOKEN", "REGISTRY_PASSWORD"]
    npm, sentry, deploy, registry = config.secrets
    assert npm.org_target == OrgTarget("selected", ("api", "web-*")) and npm.repos is None
    assert sentry.repos is not None and sentry.org_target is None
    assert deploy.environments == ("production", "staging") and deploy.org == "acme-ops"
    assert registry.app == "dependabot" and registry.org_target and registry.repos
    assert config.github.token_env == "SYNCER_TOKEN" and config.sync.prune_prefix == "CI_"


def test_example_documents_every_option() -> None:
    """Every key the loader accepts appears in the example as `key =` (live or commented)."""
    text = EXAMPLE.read_text()
    keys = {f.name for cls in (SyncConfig, RepoSelector, OrgTarget, AppAuth) for f in fields(cls)}
    keys |= {f.name for f in fields(GitHubConfig)} - {"app"}
    keys |= {"name", "value", "app", "owner", "org", "environments"}
    missing = {k for k in keys if not re.search(rf"^#?\s*{k} =", text, re.MULTILINE)}
    assert not missing
    for header in ("[github]", "[github.app]", "[sync]", "[[secret]]", "[secret.org]",
                   "[secret.repos]", "[[variable]]", "[variable.org]", "[variable.repos]"):
        assert header in text


def test_example_app_block_loads_when_uncommented() -> None:
    """The commented-out [github.app] block of the example is valid once uncommented."""
    lines = EXAMPLE.read_text().splitlines()
    start = lines.index("# [github.app]")
    block = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        block.append(line[2:])
    config = parse_config("\n".join(block))
    assert config.github.app == AppAuth(12345, Source("file", "/secure/app.pem"), 678)


# ---------------------------------------------------------------------------------------------
# Problems are collected, with lines and key paths


FIVE_MISTAKES = """\
[github]
org = "acme"
tokn_env = "SYNCER_TOKEN"

[sync]
concurrency = 500

[[secret]]
name = "GITHUB_X"
value = "env:X"
[secret.org]
visibility = "everyone"

[[secret]]
name = "FINE"
value = "env:FINE"
environments = ["production"]
"""


def test_five_mistakes_reported_together_with_lines() -> None:
    """One ConfigError lists every mistake in file order, each with its line and key path."""
    found = problems_of(FIVE_MISTAKES)
    assert [(p.line, p.key) for p in found] == [
        (3, "github.tokn_env"),
        (6, "sync.concurrency"),
        (9, "secret[0].name"),
        (12, "secret[0].org.visibility"),
        (17, "secret[1].environments"),
    ]
    assert "did you mean 'token_env'?" in found[0].message
    assert all(p.file == "config.toml" for p in found)


def test_config_error_lists_problems_one_per_line() -> None:
    """str(ConfigError) is one `file:line: key: message` line per problem."""
    with pytest.raises(ConfigError) as info:
        parse_config(FIVE_MISTAKES, "config.toml")
    lines = str(info.value).splitlines()
    assert len(lines) == 5
    assert lines[2] == ("config.toml:9: secret[0].name: "
                        "secret name must not start with GITHUB_ (reserved by GitHub)")


def test_config_error_is_a_usage_error() -> None:
    """The CLI maps a ConfigError to the usage exit code, like any bad input."""
    assert issubclass(ConfigError, UsageError) and ConfigError([]).exit_code == Exit.USAGE


def test_problem_without_line_or_key() -> None:
    """A problem about the whole file omits what it does not know."""
    assert str(Problem("c.toml", None, "", "cannot read")) == "c.toml: cannot read"
    assert str(Problem("c.toml", None, "sync", "x")) == "c.toml: sync: x"


def test_key_path_rendering() -> None:
    """Key paths read like TOML with 0-based indexes of arrays."""
    assert key_path("secret", 2, "repos", "match", 0) == "secret[2].repos.match[0]"
    assert key_path("github") == "github"


# ---------------------------------------------------------------------------------------------
# TOML syntax and the key locator


def test_toml_syntax_error_has_its_line() -> None:
    """A syntax error is the only problem, with tomllib's line and without its position suffix."""
    found = problems_of('[github]\norg = "acme"\nconcurrency = = 3\n')
    assert len(found) == 1 and found[0].line == 3 and found[0].key == ""
    assert "TOML syntax" in found[0].message and "(at line" not in found[0].message


def test_toml_error_at_end_of_document_points_at_last_line() -> None:
    """An unclosed array is reported at the last line of the file."""
    found = problems_of('[github]\norg = "acme"\nx = [1,\n2\n')
    assert found[0].line == 4


def test_org_string_and_org_table_conflict_explained() -> None:
    """org = "NAME" and a [secret.org] table cannot coexist in TOML: the error says to use owner."""
    found = problems_of(secret('name = "A"\nvalue = "env:A"\norg = "acme"',
                               '[secret.org]\nvisibility = "all"\n'))
    assert found[0].line == 7 and "owner" in found[0].message


def test_locator_finds_headers_keys_and_indexes() -> None:
    """Array-of-tables headers get 0-based indexes; sub-tables and dotted keys nest under them."""
    text = """\
[github]
org = "acme"  # comment with = sign
[[secret]]
name = "A"
[secret.repos]
match = [
  "x = 1",
  '[not.a.header]',
]
regex = '''
multi = line
'''
[[secret]]
repos.match = ["b"]
"quoted.key" = 1
"""
    where = locate_keys(text)
    assert where[("github", "org")] == 2
    assert where[("secret", 0)] == 3 and where[("secret", 0, "name")] == 4
    assert where[("secret", 0, "repos")] == 5 and where[("secret", 0, "repos", "match")] == 6
    assert where[("secret", 0, "repos", "regex")] == 10
    assert ("secret", 0, "repos", "x ") not in where and ("not", "a", "header") not in where
    assert ("secret", 0, "repos", "multi") not in where
    assert where[("secret", 1)] == 13 and where[("secret", 1, "repos", "match")] == 14
    assert where[("secret", 1, "quoted.key")] == 15


def test_problem_inside_inline_table_gets_the_table_line() -> None:
    """Keys inside an inline table are reported at the line of the table's key."""
    text = secret('name = "A"\nvalue = "env:A"\norg = { visibility = "nope" }', "")
    assert one_problem(text, "secret[0].org.visibility").line == 6


# ---------------------------------------------------------------------------------------------
# Unknown keys and types


@pytest.mark.parametrize("text,key,hint", [
    ('[github]\norg = "acme"\napi_ulr = "https://x"\n', "github.api_ulr", "'api_url'"),
    ('[sync]\nconcurency = 3\n', "sync.concurency", "'concurrency'"),
    ('[github]\norg = "a"\n[github.app]\napp_id = 1\nprivate_key = "env:K"\ninstalation_id = 2\n',
     "github.app.instalation_id", "'installation_id'"),
    (secret('name = "A"\nvalue = "env:A"\nvalu = 1'), "secret[0].valu", "'value'"),
    (secret('name = "A"\nvalue = "env:A"', '[secret.repos]\nexclud = ["x"]\n'),
     "secret[0].repos.exclud", "'exclude'"),
    (secret('name = "A"\nvalue = "env:A"', '[secret.org]\nvisibility = "all"\nselected = []\n'),
     "secret[0].org.selected", "'selected_repos'"),
    ('[github]\norg = "a"\n[syncc]\n', "syncc", "'sync'"),
])
def test_unknown_keys_at_every_level(text: str, key: str, hint: str) -> None:
    """An unknown key is an error at every level, with a did-you-mean when one is close."""
    problem = one_problem(text, key)
    assert problem.message.endswith(f"did you mean {hint}?") and problem.line is not None


def test_unknown_key_far_from_any_lists_the_known_ones() -> None:
    """With nothing close, the message lists the keys that are allowed there."""
    problem = one_problem(HEAD + "[sync]\nbanana = 1\n", "sync.banana")
    assert "known keys here: concurrency, points_per_minute" in problem.message


@pytest.mark.parametrize("line,key,expected", [
    ("concurrency = true", "sync.concurrency", "whole number, not a boolean"),
    ("concurrency = 4.5", "sync.concurrency", "whole number, not a number"),
    ("concurrency = '4'", "sync.concurrency", "whole number, not a string"),
    ("points_per_minute = true", "sync.points_per_minute", "number, not a boolean"),
    ("prune = 1", "sync.prune", "true or false, not an integer"),
    ("wait_for_reset = 'yes'", "sync.wait_for_reset", "true or false, not a string"),
    ("state = 3", "sync.state", "string, not an integer"),
    ("state = ''", "sync.state", "must not be empty"),
])
def test_wrong_types_in_sync(line: str, key: str, expected: str) -> None:
    """Booleans, whole numbers, numbers and strings are not taken for one another."""
    assert expected in one_problem(f"{HEAD}[sync]\n{line}\n", key).message


@pytest.mark.parametrize("value,key,expected", [
    ('"svc-*"', "secret[0].repos.match", "list of strings, not a string"),
    ('["a", 3]', "secret[0].repos.match[1]", "non-empty string, not an integer"),
    ('["a", ""]', "secret[0].repos.match[1]", "not an empty string"),
])
def test_lists_of_strings(value: str, key: str, expected: str) -> None:
    """A list of strings must be a list, of non-empty strings; the bad item is named."""
    text = secret('name = "A"\nvalue = "env:A"', f"[secret.repos]\nmatch = {value}\n")
    assert expected in one_problem(text, key).message


def test_tables_must_be_tables() -> None:
    """[github], [sync], [secret.repos] given as plain values are refused."""
    found = problems_of('github = 1\nsync = "x"\n[[secret]]\nname = "A"\nvalue = "env:A"\n'
                        'owner = "acme"\nrepos = ["x"]\n')
    assert {p.key for p in found} >= {"github", "sync", "secret[0].repos"}


def test_secret_as_single_table_is_refused() -> None:
    """[secret] (one table) instead of [[secret]] is explained."""
    problem = one_problem(HEAD + '[secret]\nname = "A"\n', "secret")
    assert "[[secret]]" in problem.message


# ---------------------------------------------------------------------------------------------
# Ranges


@pytest.mark.parametrize("line,ok", [
    ("concurrency = 0", False), ("concurrency = 1", True), ("concurrency = 100", True),
    ("concurrency = 101", False), ("points_per_minute = -1", False),
    ("points_per_minute = 0", True), ("points_per_minute = 12.5", True),
    ("points_per_minute = inf", False), ("points_per_minute = nan", False),
])
def test_number_ranges(line: str, ok: bool) -> None:
    """concurrency is 1..100; points_per_minute is a finite number >= 0 (0: no pacing)."""
    text = f"{HEAD}[sync]\n{line}\n"
    if ok:
        parse_config(text)
    else:
        assert "out of range" in problems_of(text)[0].message


def test_sync_defaults() -> None:
    """A config without [sync] gets the documented defaults (the pace unset: GitHub's guidance,
    or none where the server's limits are off)."""
    assert parse_config(HEAD).sync == SyncConfig(concurrency=16, points_per_minute=None,
                                                 writes_per_minute=None,
                                                 wait_for_reset=True, state=None, prune=False,
                                                 prune_prefix=None, create_environments=False)


def test_prune_prefix() -> None:
    """prune_prefix is upper-cased as GitHub names are, and may hold only name characters."""
    assert parse_config(HEAD + '[sync]\nprune_prefix = "ci_"\n').sync.prune_prefix == "CI_"
    one_problem(HEAD + '[sync]\nprune_prefix = "CI-*"\n', "sync.prune_prefix")


# ---------------------------------------------------------------------------------------------
# Secrets: names, sources, targets


@pytest.mark.parametrize("name,why", [
    ("GITHUB_TOKEN", "GITHUB_"), ("1ABC", "digit"), ("A-B", "letters, digits"), ("", "empty"),
])
def test_bad_secret_names(name: str, why: str) -> None:
    """Secret names follow GitHub's rules (syncer.core.names)."""
    assert why in one_problem(secret(f'name = "{name}"\nvalue = "env:A"'), "secret[0].name").message


def test_secret_name_is_upper_cased() -> None:
    """GitHub stores names upper-case; the config does the same."""
    config = parse_config(secret('name = "npm_token"\nvalue = "env:A"'))
    assert config.secrets[0].name == "NPM_TOKEN"


def test_name_and_value_are_required() -> None:
    """A secret without name or value gets one problem for each."""
    found = problems_of(secret('app = "actions"'))
    assert {(p.key, p.message) for p in found} == {
        ("secret[0].name", "is required"), ("secret[0].value", "is required")}


@pytest.mark.parametrize("spec,expected", [
    ("generate:8", "from 16 to 4096"),
    ("env:", "name of an environment variable"),
    ("env:MY VAR", "name of an environment variable"),
    ("cmd:'unclosed", "quotation"),
    ("-", "standard input"),
    ("http:x", "not a value source"),
])
def test_bad_value_sources(spec: str, expected: str) -> None:
    """Value sources are checked for syntax at load time (they are read later)."""
    problem = one_problem(secret(f'name = "A"\nvalue = "{spec}"'), "secret[0].value")
    assert expected in problem.message


def test_value_sources_parse() -> None:
    """env:, file:, cmd: and generate: all load; nothing is read."""
    for spec in ("env:A", "file:/nonexistent/x", "cmd:false", "generate:16"):
        assert parse_config(secret(f'name = "A"\nvalue = "{spec}"')).secrets[0].value.kind == \
            spec.split(":")[0]


def test_bad_app() -> None:
    """app is one of actions, dependabot, codespaces, with a suggestion for near misses."""
    problem = one_problem(secret('name = "A"\nvalue = "env:A"\napp = "dependabott"'),
                          "secret[0].app")
    assert "did you mean 'dependabot'?" in problem.message


def test_bad_visibility() -> None:
    """Visibility is all, private or selected, and required in [secret.org]."""
    text = secret('name = "A"\nvalue = "env:A"', '[secret.org]\nvisibility = "public"\n')
    bad = one_problem(text, "secret[0].org.visibility")
    assert "not one of all, private, selected" in bad.message
    missing = one_problem(secret('name = "A"\nvalue = "env:A"', '[secret.org]\n'),
                          "secret[0].org.visibility")
    assert missing.message == "is required" and missing.line == 6


def test_selected_repos_only_with_selected_visibility() -> None:
    """selected_repos with visibility all/private is refused; with selected it is kept."""
    text = secret('name = "A"\nvalue = "env:A"',
                  '[secret.org]\nvisibility = "all"\nselected_repos = ["api"]\n')
    assert "visibility = \"selected\"" in one_problem(text, "secret[0].org.selected_repos").message
    ok = parse_config(text.replace('"all"', '"selected"')).secrets[0]
    assert ok.org_target == OrgTarget("selected", ("api",))


def test_repository_patterns_have_no_owner() -> None:
    """"acme/api" in a pattern list is refused: patterns are names within the org."""
    text = secret('name = "A"\nvalue = "env:A"', '[secret.repos]\nmatch = ["acme/api"]\n')
    one_problem(text, "secret[0].repos.match[0]")


def test_invalid_regex() -> None:
    """regex must compile; re's explanation is included."""
    text = secret('name = "A"\nvalue = "env:A"', '[secret.repos]\nregex = "svc-("\n')
    assert "regular expression" in one_problem(text, "secret[0].repos.regex").message


def test_empty_match_list_is_refused() -> None:
    """match = [] would select nothing; leaving it out means every repository."""
    one_problem(secret('name = "A"\nvalue = "env:A"', "[secret.repos]\nmatch = []\n"),
                "secret[0].repos.match")
    assert parse_config(secret('name = "A"\nvalue = "env:A"', "[secret.repos]\n")
                        ).secrets[0].repos == RepoSelector()


def test_environments_need_repos() -> None:
    """environments without [secret.repos] does not say which repositories."""
    text = secret('name = "A"\nvalue = "env:A"\nenvironments = ["prod"]', "")
    assert "[secret.repos]" in one_problem(text, "secret[0].environments").message


def test_environments_only_for_actions() -> None:
    """Dependabot and Codespaces have no environment secrets."""
    text = secret('name = "A"\nvalue = "env:A"\napp = "codespaces"\nenvironments = ["prod"]')
    assert "Actions only" in one_problem(text, "secret[0].environments").message


def test_environments_list_checks() -> None:
    """An empty environments list and a repeated environment are refused."""
    one_problem(secret('name = "A"\nvalue = "env:A"\nenvironments = []'), "secret[0].environments")
    one_problem(secret('name = "A"\nvalue = "env:A"\nenvironments = ["prod", "Prod"]'),
                "secret[0].environments[1]")


def test_secret_needs_a_target() -> None:
    """A secret with neither [secret.org], [secret.repos] nor environments is refused."""
    problem = one_problem(secret('name = "A"\nvalue = "env:A"', ""), "secret[0]")
    assert "no target" in problem.message


def test_org_and_repos_targets_together() -> None:
    """A secret may be both an org secret and repository secrets."""
    spec = parse_config(secret('name = "A"\nvalue = "env:A"',
                               '[secret.org]\nvisibility = "private"\n[secret.repos]\n')).secrets[0]
    assert spec.org_target == OrgTarget("private") and spec.repos == RepoSelector()
    assert spec.writes_repo_secrets and spec.line == 3


def test_environment_target() -> None:
    """environments + [secret.repos] is an environment target, not a repository secret."""
    spec = parse_config(secret('name = "A"\nvalue = "env:A"\nenvironments = ["prod"]')).secrets[0]
    assert spec.environments == ("prod",) and not spec.writes_repo_secrets


# ---------------------------------------------------------------------------------------------
# Organisation of each secret


def test_org_comes_from_github_or_the_secret() -> None:
    """[github].org is the default; owner = or a string org = overrides it."""
    text = f"""{HEAD}
[[secret]]
name = "A"
value = "env:A"
[secret.repos]
[[secret]]
name = "B"
value = "env:B"
owner = "other"
[secret.org]
visibility = "all"
[[secret]]
name = "C"
value = "env:C"
org = "third"
[secret.repos]
"""
    assert [s.org for s in parse_config(text).secrets] == ["acme", "other", "third"]


def test_no_org_anywhere() -> None:
    """A secret with no org of its own and no [github].org is refused, at its header."""
    problem = one_problem('[[secret]]\nname = "A"\nvalue = "env:A"\n[secret.repos]\n', "secret[0]")
    assert "no organisation" in problem.message and problem.line == 1


def test_misspelt_github_org_is_reported_once() -> None:
    """A typo in [github].org is one problem, not one more per secret."""
    one_secret = '[[secret]]\nname = "A"\nvalue = "env:A"\n[secret.repos]\n'
    text = '[github]\nogr = "acme"\n' + one_secret * 3
    one_problem(text, "github.ogr")


def test_owner_and_org_string_together() -> None:
    """owner and a string org both naming the organisation is ambiguous."""
    one_problem(secret('name = "A"\nvalue = "env:A"\nowner = "x"\norg = "y"'), "secret[0].org")


def test_org_names_are_checked() -> None:
    """An org given as a URL or owner/repo is refused."""
    one_problem('[github]\norg = "https://github.com/acme"\n', "github.org")
    one_problem(secret('name = "A"\nvalue = "env:A"\nowner = "acme/api"'), "secret[0].owner")


# ---------------------------------------------------------------------------------------------
# Duplicates


def two(first: str, second: str, *, org2: str = "", app2: str = "") -> str:
    return (f'{HEAD}[[secret]]\nname = "A"\nvalue = "env:A"\n{first}\n'
            f'[[secret]]\nname = "a"\nvalue = "env:B"\n{org2}{app2}{second}\n')


@pytest.mark.parametrize("first,second", [
    ('[secret.org]\nvisibility = "all"', '[secret.org]\nvisibility = "private"'),
    ('[secret.repos]\nmatch = ["x", "Y"]', '[secret.repos]\nmatch = ["y", "x"]'),
    ('[secret.repos]', '[secret.repos]\nmatch = ["*"]\nexclude = ["old-*"]'),
    ('environments = ["prod", "dev"]\n[secret.repos]', 'environments = ["Prod"]\n[secret.repos]'),
])
def test_duplicates_detected(first: str, second: str) -> None:
    """Same org, app, kind and name, writing surely the same place: the later one is refused."""
    text = two(first, second)
    problem = one_problem(text, "secret[1]")
    second_header = text.splitlines().index("[[secret]]", 3) + 1
    assert "secret[0] (line 3)" in problem.message and problem.line == second_header


@pytest.mark.parametrize("first,second,org2,app2", [
    ('[secret.repos]\nmatch = ["a*"]', '[secret.repos]\nmatch = ["b*"]', "", ""),
    ('[secret.repos]', '[secret.repos]\nregex = "^svc-"', "", ""),
    ('[secret.repos]', '[secret.repos]\ntopics = ["x"]', "", ""),
    ('[secret.org]\nvisibility = "all"', '[secret.org]\nvisibility = "all"', 'owner = "b"\n', ""),
    ('[secret.org]\nvisibility = "all"', '[secret.org]\nvisibility = "all"', "",
     'app = "dependabot"\n'),
    ('[secret.org]\nvisibility = "all"', "[secret.repos]", "", ""),
    ('[secret.repos]', 'environments = ["prod"]\n[secret.repos]', "", ""),
    ('environments = ["dev"]\n[secret.repos]', 'environments = ["prod"]\n[secret.repos]', "", ""),
])
def test_not_duplicates(first: str, second: str, org2: str, app2: str) -> None:
    """Different orgs, apps, kinds, environments, or selectors that may not overlap are fine."""
    parse_config(two(first, second, org2=org2, app2=app2))


# ---------------------------------------------------------------------------------------------
# [github]


@pytest.mark.parametrize("host", [
    "localhost", "127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_hosts(host: str) -> None:
    """localhost, 127.0.0.0/8 and ::1 are loopback."""
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["example.com", "10.0.0.1", "::2", "localhost.example.com"])
def test_not_loopback_hosts(host: str) -> None:
    """Other names and addresses are not."""
    assert not is_loopback(host)


@pytest.mark.parametrize("url,insecure,ok", [
    ("https://ghe.example.com/api/v3", False, True),
    ("http://127.0.0.1:8080", False, True),
    ("http://[::1]:8080/api/v3", False, True),
    ("http://localhost/", False, True),
    ("http://ghe.example.com/api/v3", False, False),
    ("http://ghe.example.com/api/v3", True, True),
    ("ftp://ghe.example.com", True, False),
    ("api.github.com", False, False),
    ("https://api.github.com?x=1", False, False),
    ("https://h:99999", False, False),
])
def test_api_url_rules(url: str, insecure: bool, ok: bool) -> None:
    """https anywhere; plain http only on loopback or with allow_insecure_http."""
    assert (api_url_problem(url, insecure) is None) == ok


@pytest.mark.parametrize("argv,environ,named", [
    (["set", "X", "--org", "acme", "--api-url", "http://ghe.example/api/v3"], {}, "--api-url"),
    (["audit", "--org", "acme"], {"GITHUB_API_URL": "http://ghe.example/api/v3"},
     "GITHUB_API_URL"),
    (["migrate", "--from", "a", "--to", "b", "--dry-run", "--to-api-url",
      "http://ghe.example/api/v3"], {}, "--to-api-url"),
])
def test_a_plain_http_url_is_refused_naming_where_it_came_from_and_the_way_round(
        argv: list[str], environ: dict[str, str], named: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The refusal names the flag or variable that gave the URL and the flag that allows it;
    with that flag the URL is taken (the run then fails to connect: no such host here)."""
    from syncer import cli
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    for name, value in {"V": "v", "GITHUB_TOKEN": "t", **environ}.items():
        monkeypatch.setenv(name, value)
    if argv[0] == "set":
        argv += ["--value-from", "env:V"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"syncer: error: {named}: plain http:// would send the token "
                          "unencrypted; use https://, or allow it with --allow-insecure-http"), err
    for module in ("syncer.commands.audit", "syncer.commands.one_name", "syncer.migrate.run"):
        monkeypatch.setattr(f"{module}.connect", _no_network)
    with pytest.raises(_Connecting):
        cli.main([*argv, "--allow-insecure-http"])


class _Connecting(Exception):
    pass


def _no_network(settings: object, token: object, **_: object) -> object:
    raise _Connecting


def test_api_url_in_config() -> None:
    """The config applies the URL rules and drops a trailing slash."""
    one_problem('[github]\napi_url = "http://ghe.local/api/v3"\n', "github.api_url")
    config = parse_config('[github]\napi_url = "http://ghe.local/api/v3/"\n'
                          'allow_insecure_http = true\n')
    assert config.github.api_url == "http://ghe.local/api/v3"


def test_api_url_credentials_not_repeated() -> None:
    """A password in api_url is refused without being quoted."""
    problem = one_problem(f'[github]\napi_url = "https://x:{CANARY}@ghe.local"\n', "github.api_url")
    assert CANARY not in str(problem) and "password" in problem.message


@pytest.mark.parametrize("url", [f"https://ghe.local/api/v3?access_token={CANARY}",
                                 f"https://ghe.local/api/v3#{CANARY}",
                                 f"https://ghe.local:{CANARY}/api/v3", f"ghp_{CANARY}",
                                 f"ftp://{CANARY}", f"https://[{CANARY}/",
                                 f"https://ghe.local/{CANARY}?x=1"])
def test_api_url_tokens_are_not_repeated(url: str) -> None:
    """A token pasted as the URL, or into its query, fragment or port, is refused unquoted."""
    problem = api_url_problem(url)
    assert problem is not None and CANARY not in problem


def test_token_env_holding_a_token() -> None:
    """A token pasted into token_env is refused, not quoted, and revoking it is suggested."""
    problem = one_problem(f'[github]\ntoken_env = "ghp_{CANARY}"\n', "github.token_env")
    assert CANARY not in str(problem) and "revoke" in problem.message
    one_problem('[github]\ntoken_env = "MY-TOKEN"\n', "github.token_env")


def test_app_auth() -> None:
    """[github.app] needs app_id and private_key (file: or env:); installation_id is optional."""
    ok = parse_config('[github.app]\napp_id = 1\nprivate_key = "env:APP_KEY"\n')
    assert ok.github.app == AppAuth(1, Source("env", "APP_KEY"), None)
    found = problems_of("[github.app]\ninstallation_id = 0\n")
    assert {p.key for p in found} == {"github.app.app_id", "github.app.private_key",
                                      "github.app.installation_id"}
    assert all(p.line in (1, 2) for p in found)


@pytest.mark.parametrize("spec", ["cmd:cat key.pem", "generate:32"])
def test_app_private_key_source_kind(spec: str) -> None:
    """The App's private key comes from a file or a variable only."""
    problem = one_problem(f'[github.app]\napp_id = 1\nprivate_key = "{spec}"\n',
                          "github.app.private_key")
    assert "file:PATH or env:VAR" in problem.message


# ---------------------------------------------------------------------------------------------
# Paths


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    """load_config takes file: sources, ca_bundle and state relative to the file's folder."""
    path = tmp_path / "conf" / "syncer.toml"
    path.parent.mkdir()
    path.write_text('[github]\norg = "a"\nca_bundle = "ca.pem"\n[sync]\nstate = "st.json"\n'
                    '[[secret]]\nname = "A"\nvalue = "file:v.txt"\n[secret.repos]\n')
    config = load_config(path)
    assert config.github.ca_bundle == str(path.parent / "ca.pem")
    assert config.sync.state == str(path.parent / "st.json")
    assert config.secrets[0].value == Source("file", str(path.parent / "v.txt"))
    assert config.path == str(path)


def test_parse_config_leaves_relative_paths() -> None:
    """From text without a base folder, relative paths stay as written; ~ is expanded."""
    config = parse_config(secret('name = "A"\nvalue = "file:v.txt"') + '[sync]\nstate = "~/s"\n')
    assert config.secrets[0].value == Source("file", "v.txt")
    assert config.sync.state == str(Path("~/s").expanduser())


def test_unreadable_config_file(tmp_path: Path) -> None:
    """A missing or non-UTF-8 file is a ConfigError, not a traceback."""
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"x = '\xff'\n")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(bad)


# ---------------------------------------------------------------------------------------------
# RepoSelector


@pytest.mark.parametrize("selector,name,archived,fork,topics,expected", [
    (RepoSelector(), "anything", False, False, (), True),
    (RepoSelector(), "old", True, False, (), False),
    (RepoSelector(include_archived=True), "old", True, False, (), True),
    (RepoSelector(), "copy", False, True, (), False),
    (RepoSelector(include_forks=True), "copy", False, True, (), True),
    (RepoSelector(match=("svc-*",)), "SVC-Billing", False, False, (), True),
    (RepoSelector(match=("svc-*",)), "api", False, False, (), False),
    (RepoSelector(match=("svc-?",)), "svc-a", False, False, (), True),
    (RepoSelector(exclude=("svc-legacy*",)), "svc-legacy-2", False, False, (), False),
    (RepoSelector(exclude=("SVC-LEGACY*",)), "svc-legacy-2", False, False, (), False),
    (RepoSelector(regex="^svc-"), "svc-a", False, False, (), True),
    (RepoSelector(regex="^svc-"), "my-svc-a", False, False, (), False),
    (RepoSelector(regex="svc"), "my-svc-a", False, False, (), True),
    (RepoSelector(regex="^svc-"), "SVC-a", False, False, (), False),
    (RepoSelector(match=("svc-*", "api"), regex="^svc-"), "api", False, False, (), False),
    (RepoSelector(topics=("backend",)), "x", False, False, ("Backend", "go"), True),
    (RepoSelector(topics=("backend", "go")), "x", False, False, ("backend",), False),
    (RepoSelector(topics=("backend",)), "x", False, False, (), False),
])
def test_repo_selector(selector: RepoSelector, name: str, archived: bool, fork: bool,
                       topics: tuple[str, ...], expected: bool) -> None:
    """Every condition must hold: match (any, case-insensitive), not exclude, regex, all topics,
    and archived/fork only when included."""
    assert selector.selects(name, archived=archived, fork=fork, topics=topics) is expected


def test_org_target_selects_by_name() -> None:
    """selected_repos are names or globs compared case-insensitively."""
    target = OrgTarget("selected", ("api", "web-*"))
    assert target.selects("API") and target.selects("web-shop") and not target.selects("db")


# ---------------------------------------------------------------------------------------------
# Reading values


def config_with(tmp_path: Path, *values: str) -> Config:
    body = "".join(f'[[secret]]\nname = "S{i}"\nvalue = "{v}"\n[secret.repos]\n'
                   for i, v in enumerate(values))
    path = tmp_path / "c.toml"
    path.write_text(HEAD + body)
    return load_config(path)


def test_read_values_from_every_kind(tmp_path: Path) -> None:
    """env:, file: (relative to the config), cmd: and generate: are read into SecretValues."""
    (tmp_path / "v.txt").write_bytes(b"from-file\n")
    cmd = f"cmd:{sys.executable} -c 'print(42)'"
    config = config_with(tmp_path, "env:V", "file:v.txt", cmd.replace('"', '\\"'), "generate:16")
    values = read_values(config, environ={"V": "from-env"})
    assert values[(0, "S0")].reveal() == b"from-env"
    assert values[(1, "S1")].reveal() == b"from-file\n"
    assert values[(2, "S2")].reveal() == b"42"
    assert len(values[(3, "S3")].reveal()) >= 16


def test_missing_sources_reported_together(tmp_path: Path) -> None:
    """Every unreadable source is listed, with its secret's line and key, in one ConfigError."""
    config = config_with(tmp_path, "env:MISSING_ONE", "env:PRESENT", "file:nope.txt")
    with pytest.raises(ConfigError) as info:
        read_values(config, environ={"PRESENT": "x"})
    found = info.value.problems
    assert [(p.key, p.line) for p in found] == [("secret[0].value", 3), ("secret[2].value", 11)]
    assert "no such environment variable" in found[0].message and "nope.txt" in found[1].message


def test_shared_source_read_once_generate_not(tmp_path: Path) -> None:
    """A command used by two secrets runs once; generate:N gives each secret its own value."""
    counter = tmp_path / "runs"
    script = tmp_path / "count.py"
    script.write_text(f"import pathlib; p = pathlib.Path({str(counter)!r}); "
                      "p.write_text(p.read_text() + 'x' if p.exists() else 'x'); print('v')\n")
    cmd = f"cmd:{sys.executable} {script}"
    config = config_with(tmp_path, cmd, cmd, "generate:16", "generate:16")
    values = read_values(config, environ={})
    assert counter.read_text() == "x"
    assert values[(0, "S0")] == values[(1, "S1")]
    assert values[(2, "S2")] != values[(3, "S3")]


# ---------------------------------------------------------------------------------------------
# Values never appear in messages


def test_canary_value_never_in_config_errors(tmp_path: Path) -> None:
    """A value written where it does not belong is refused everywhere without being quoted."""
    text = f"""\
[github]
org = "acme"
api_url = "https://user:{CANARY}@ghe.example.com"
token_env = "github_pat_{CANARY}"
[github.app]
app_id = 1
private_key = "-----BEGIN RSA PRIVATE KEY-----{CANARY}"
[[secret]]
name = "A"
value = "{CANARY}"
[secret.repos]
[[secret]]
name = "B"
value = ["{CANARY}"]
[secret.repos]
[[secret]]
name = "C"
value = "postgres://u:{CANARY}@db"
[secret.repos]
"""
    with pytest.raises(ConfigError) as info:
        parse_config(text, "c.toml")
    assert len(info.value.problems) == 6
    assert CANARY not in str(info.value)
    assert all(CANARY not in p.message and CANARY not in p.key for p in info.value.problems)


@pytest.mark.parametrize("make_source", [
    lambda tmp: f"cmd:{sys.executable} {tmp / 'fail.py'}",
    lambda tmp: f"file:{tmp / 'big'}",
    lambda tmp: "env:BIG",
])
def test_canary_never_in_read_errors(tmp_path: Path, make_source: Callable[[Path], str]) -> None:
    """Failing commands and oversized values are reported without their content."""
    (tmp_path / "big").write_text(CANARY * (MAX_VALUE_BYTES // len(CANARY) + 1))
    (tmp_path / "fail.py").write_text(f"import sys; print({CANARY!r}); "
                                      f"print({CANARY!r}, file=sys.stderr); sys.exit(2)\n")
    config = config_with(tmp_path, make_source(tmp_path))
    with pytest.raises(ConfigError) as info:
        read_values(config, environ={"BIG": CANARY * 5000})
    assert CANARY not in str(info.value) and info.value.problems[0].key == "secret[0].value"


# ---------------------------------------------------------------------------------------------
# [[variable]] tables


def variable(body: str, target: str = '[variable.repos]\nmatch = ["*"]\n') -> str:
    return f'{HEAD}[[variable]]\n{body}\n{target}'


def test_a_variable_takes_a_value_or_a_source_and_the_same_targets() -> None:
    """A [[variable]] has the targeting keys of a [[secret]]; its value may be written in the
    file or named by env:, file:, cmd:; it sits in Config.variables, not among the secrets."""
    config = parse_config(
        variable('name = "region"\nvalue = "eu-west-1"')
        + '[[variable]]\nname = "STAGE"\nvalue = "env:STAGE"\nenvironments = ["prod"]\n'
          '[variable.repos]\nmatch = ["web-*"]\n'
        + '[[variable]]\nname = "SHARED"\nvalue = "https://x.example/a:b"\napp = "agents"\n'
          '[variable.org]\nvisibility = "selected"\nselected_repos = ["api"]\n'
        + '[[secret]]\nname = "REGION"\nvalue = "env:R"\n[secret.repos]\n', "c.toml")
    region, stage, shared = config.variables
    assert (region.name, region.value, region.target) == ("REGION", "eu-west-1", "variable")
    assert stage.value == Source("env", "STAGE") and stage.environments == ("prod",)
    assert shared.value == "https://x.example/a:b" and shared.app == "agents"
    assert shared.org_target == OrgTarget("selected", ("api",))
    assert [s.name for s in config.secrets] == ["REGION"]  # a secret may share a variable's name
    assert config.specs == (*config.secrets, *config.variables)


@pytest.mark.parametrize("body,key,expected", [
    ('name = "GITHUB_SHA2"\nvalue = "x"', "variable[0].name",
     "variable name must not start with GITHUB_"),
    (f'name = "BIG"\nvalue = "{"x" * (MAX_VALUE_BYTES + 1)}"', "variable[0].value",
     f"variable value is {MAX_VALUE_BYTES + 1} bytes; GitHub allows at most {MAX_VALUE_BYTES}"),
    ('name = "G"\nvalue = "generate:32"', "variable[0].value",
     "generate: sources cannot be used here; use env:VAR, file:PATH or cmd:COMMAND"),
    ('name = "N"\nvalue = 3', "variable[0].value",
     'must be a string (GitHub stores variables as text: write "3" in quotes)'),
    ('name = "N"', "variable[0].value", "is required"),
    ('name = "D"\nvalue = "x"\napp = "dependabot"', "variable[0].app",
     "'dependabot' has secrets only: variables exist for actions and agents"),
    ('name = "E"\nvalue = "x"\napp = "agents"\nenvironments = ["prod"]',
     "variable[0].environments", "environment variables exist for GitHub Actions only"),
])
def test_bad_variables_are_refused_at_their_key(body: str, key: str, expected: str) -> None:
    """A reserved name, a value over 48 KB, a generated value (nobody keeps it), a number, no
    value, an app without variables, agent environment variables: one problem each."""
    assert expected in one_problem(variable(body), key).message


def test_a_variable_without_a_target_names_its_own_tables() -> None:
    """The target problem of a [[variable]] speaks of [variable.org] and [variable.repos]."""
    problem = one_problem(f'{HEAD}[[variable]]\nname = "A"\nvalue = "x"\n', "variable[0]")
    assert "[variable.org] table (org variable)" in problem.message


def test_a_literal_value_on_a_secret_is_still_refused_unrepeated() -> None:
    """Only a variable's value may be written in the file: on a [[secret]] it is an error at
    secret[0].value that does not repeat it."""
    problem = one_problem(secret(f'name = "A"\nvalue = "{CANARY}"'), "secret[0].value")
    assert "is not a value source" in problem.message and CANARY not in str(problem)


def _many(count: int, target: str) -> str:
    return HEAD + "".join(f'[[variable]]\nname = "V{n}"\nvalue = "x"\n{target}'
                          for n in range(count))


def test_a_variable_past_githubs_limit_is_refused_where_the_file_tells() -> None:
    """1,001 org variables, 501 from identical [variable.repos] tables, 101 in one environment:
    the one past GitHub's limit is named. Tables selecting differently are not counted
    together (the plan counts them once it knows the repositories)."""
    org = '[variable.org]\nvisibility = "all"\n'
    repos = '[variable.repos]\nmatch = ["web-*", "api"]\n'
    env = 'environments = ["prod"]\n[variable.repos]\n'
    assert "V1000 would be variable 1001 of the org acme; GitHub allows at most 1000 " \
        "organization variables" in one_problem(_many(1001, org), "variable[1000]").message
    assert "GitHub allows at most 500 repository variables" in one_problem(
        _many(501, repos), "variable[500]").message
    assert "GitHub allows at most 100 environment variables" in one_problem(
        _many(101, env), "variable[100]").message
    parse_config(_many(1000, org) + _many(500, repos)[len(HEAD):] + _many(100, env)[len(HEAD):]
                 .replace('name = "V', 'name = "E'))
    split = _many(300, repos) + _many(300, '[variable.repos]\nmatch = ["web-*"]\n')[len(HEAD):] \
        .replace('name = "V', 'name = "W')
    assert len(parse_config(split).variables) == 600


def test_two_variables_writing_one_place_are_refused() -> None:
    """The same name twice in the same place is refused as for secrets, naming [[variable]]."""
    text = variable('name = "A"\nvalue = "1"') + '[[variable]]\nname = "A"\nvalue = "2"\n' \
        '[variable.repos]\nmatch = ["*"]\n'
    assert "already written to the repository variables of the same repositories of acme by " \
        "variable[0]" in one_problem(text, "variable[1]").message


def test_variable_values_are_read_as_text(tmp_path: Path) -> None:
    """read_variable_values keys values by [[variable]] index: a written value as it is, a
    source read; a value that is not UTF-8 text is refused at its key."""
    binary = tmp_path / "bin"
    binary.write_bytes(b"\xff\xfe")
    config = parse_config(variable('name = "A"\nvalue = "eu-west-1"')
                          + '[[variable]]\nname = "B"\nvalue = "env:B_VALUE"\n'
                            '[variable.repos]\nmatch = ["b"]\n'
                          + f'[[variable]]\nname = "C"\nvalue = "file:{binary}"\n'
                            f'[variable.repos]\nmatch = ["c"]\n')
    with pytest.raises(ConfigError) as info:
        read_variable_values(config, {"B_VALUE": "from-env"})
    assert [(p.key, p.message) for p in info.value.problems] == [
        ("variable[2].value", f"file:{binary}: a variable's value must be text (UTF-8); binary "
                              "values belong in secrets")]
    ok = parse_config(variable('name = "A"\nvalue = "eu-west-1"')
                      + '[[variable]]\nname = "B"\nvalue = "env:B_VALUE"\n'
                        '[variable.repos]\nmatch = ["b"]\n')
    values = read_variable_values(ok, {"B_VALUE": "from-env"})
    assert {k: v.reveal() for k, v in values.items()} == {(0, "A"): b"eu-west-1",
                                                          (1, "B"): b"from-env"}
    assert read_values(ok) == {}


def test_unreadable_secret_and_variable_sources_are_reported_together() -> None:
    """read_all_values names every unreadable source, of secrets and of variables, at once."""
    config = parse_config(secret('name = "S"\nvalue = "env:NO_SUCH_S"')
                          + '[[variable]]\nname = "V"\nvalue = "env:NO_SUCH_V"\n'
                            '[variable.repos]\n')
    with pytest.raises(ConfigError) as info:
        read_all_values(config, {})
    assert [p.key for p in info.value.problems] == ["secret[0].value", "variable[0].value"]
