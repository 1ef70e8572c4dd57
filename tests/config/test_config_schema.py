"""`syncer config schema` and `syncer config check`: a JSON Schema made from the checker's own
key table, which agrees with the checker on every config the tests use, and names a typo at the
same key path as the checker does."""

from __future__ import annotations

import ast
import json
import tomllib
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from helpers import REPO_ROOT, config_toml, managed, syncer_process
from jsonschema import Draft202012Validator

from syncer.config.json_schema import config_schema, schema_json
from syncer.config.keys import KEYS
from syncer.config.load import parse_config
from syncer.config.model import RepoSelector, SyncConfig
from syncer.config.problems import ConfigError, key_path

ROOT = REPO_ROOT
SECTIONS = {"github", "sync", "secret", "variable"}


@cache
def validator() -> Draft202012Validator:
    return Draft202012Validator(config_schema())


def schema_paths(raw: dict[str, Any], *, unknown_keys_only: bool = False) -> set[str]:
    """The key path of each schema error, as syncer's checker writes it (secret[0].repos.match);
    an unexpected key is named itself, not its table."""
    paths: set[str] = set()
    for error in validator().iter_errors(raw):
        where = tuple(error.absolute_path)
        if error.validator == "additionalProperties":
            known = error.schema.get("properties", {})
            paths |= {key_path(*where, key) for key in error.instance if key not in known}
        elif not unknown_keys_only:
            paths.add(key_path(*where))
    return paths


def checker_problems(text: str) -> list[tuple[str, str]]:
    """(key path, message) of every problem syncer's checker finds; [] when it accepts."""
    try:
        parse_config(text)
    except ConfigError as error:
        return [(p.key, p.message) for p in error.problems]
    return []


def built_config(node: ast.AST) -> str | None:
    """The text of a config_toml(...) call of the tests (helpers' config builder) whose
    arguments are plain values; None for any other node."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "config_toml"):
        return None
    try:
        return str(eval(compile(ast.Expression(node), "<config>", "eval"),
                        {"__builtins__": {}, "config_toml": config_toml, "managed": managed}))
    except NameError:  # built from the test's own variables
        return None


def configs_in_the_tests() -> list[tuple[str, str]]:
    """(where, text) of every string constant in tests/ and benchmarks/ that is TOML with a
    [github], [sync], [[secret]] or [[variable]] table, every config the tests build with
    config_toml, and the benchmarks' config files: the configs the suite runs syncer with."""
    found = [(path.name, path.read_text())
             for path in [ROOT / "config.example.toml", *sorted((ROOT / "benchmarks").glob("*.toml"))]]
    for source in sorted([*(ROOT / "tests").rglob("*.py"), *(ROOT / "benchmarks").glob("*.py")]):
        for node in ast.walk(ast.parse(source.read_text())):
            built = built_config(node)
            if built is not None:
                found.append((f"{source.name}:{node.lineno}", built))
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            try:
                raw = tomllib.loads(node.value)
            except tomllib.TOMLDecodeError:
                continue
            if SECTIONS & set(raw):
                found.append((f"{source.name}:{node.lineno}", node.value))
    return found


def test_the_schema_is_valid_2020_12_and_shipped_as_printed() -> None:
    """`syncer config schema` prints a valid JSON Schema 2020-12, byte for byte the
    syncer.schema.json that config.example.toml's #:schema line points at."""
    printed = syncer_process(["config", "schema"], {})
    assert printed.returncode == 0, printed.stderr
    schema = json.loads(printed.stdout)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert printed.stdout.decode() == schema_json() == (ROOT / "syncer.schema.json").read_text()
    assert (ROOT / "config.example.toml").read_text().splitlines()[0] == \
        "#:schema ./syncer.schema.json"


def test_the_key_table_covers_the_dataclasses() -> None:
    """The key table is the one list of keys: [sync] and [secret.repos] name exactly the
    fields of SyncConfig and RepoSelector."""
    assert [k.name for k in KEYS["sync"]] == [f.name for f in fields(SyncConfig)]
    assert [k.name for k in KEYS["secret.repos"]] == [f.name for f in fields(RepoSelector)]


def test_the_example_and_every_config_in_the_tests_agree_with_the_checker() -> None:
    """Every config the checker accepts (config.example.toml and those the tests run) is valid
    under the schema; every key the checker calls unknown is a schema error at that path, and
    the other way round."""
    configs = configs_in_the_tests()
    assert len(configs) > 10  # the search finds the suite's configs
    accepted = 0
    for where, text in configs:
        schema_errors = schema_paths(tomllib.loads(text))
        problems = checker_problems(text)
        if not problems:
            accepted += 1
            assert schema_errors == set(), where
        unknown = {key for key, message in problems if message.startswith("unknown key")}
        assert unknown == schema_paths(tomllib.loads(text), unknown_keys_only=True), where
    assert accepted > 5


GOOD = """
[github]
org = "acme"
[github.app]
app_id = 1
private_key = "env:KEY"
[sync]
concurrency = 4
[[secret]]
name = "A"
value = "env:A"
[secret.org]
visibility = "selected"
selected_repos = ["x"]
[[secret]]
name = "B"
value = "file:b.txt"
environments = ["prod"]
[secret.repos]
match = ["*"]
"""


@pytest.mark.parametrize("typo,path", [
    (("[github]", "[github]\norgg = \"x\""), "github.orgg"),
    (("[github.app]", "[github.app]\ninstalation_id = 2"), "github.app.instalation_id"),
    (("[sync]", "[sync]\nconcurency = 3"), "sync.concurency"),
    (('name = "B"', 'name = "B"\nenvironment = ["prod"]'), "secret[1].environment"),
    (('visibility = "selected"', 'visibility = "selected"\nselected_repo = ["y"]'),
     "secret[0].org.selected_repo"),
    (('match = ["*"]', 'matc = ["a"]'), "secret[1].repos.matc"),
    (("[sync]", "[syncc]"), "syncc"),
])
def test_a_typo_is_named_at_the_same_key_path(typo: tuple[str, str], path: str) -> None:
    """A misspelt key at any depth fails the schema at the key path syncer's checker names."""
    assert checker_problems(GOOD) == [] and schema_paths(tomllib.loads(GOOD)) == set()
    text = GOOD.replace(*typo)
    assert path in schema_paths(tomllib.loads(text))
    assert path in {key for key, message in checker_problems(text)
                    if message.startswith("unknown key")}


@pytest.mark.parametrize("change,path", [
    (("concurrency = 4", "concurrency = 0"), "sync.concurrency"),
    (("concurrency = 4", "concurrency = 101"), "sync.concurrency"),
    (("concurrency = 4", "points_per_minute = -1"), "sync.points_per_minute"),
    (("concurrency = 4", "wait_for_reset = \"yes\""), "sync.wait_for_reset"),
    (('visibility = "selected"', 'visibility = "public"'), "secret[0].org.visibility"),
    (('value = "env:A"', 'value = "hunter2"'), "secret[0].value"),
    (('private_key = "env:KEY"', 'private_key = "cmd:cat key"'), "github.app.private_key"),
    (("app_id = 1", "installation_id = 1"), "github.app"),  # app_id is required
    (('match = ["*"]', 'match = ["a", ""]'), "secret[1].repos.match[1]"),
    (('org = "acme"', 'org = "https://github.com/acme"'), "github.org"),
])
def test_wrong_values_are_refused_by_both_at_one_path(change: tuple[str, str], path: str) -> None:
    """A wrong type, a value out of range or not among the choices, a literal where a source
    belongs, a required key left out: the schema and the checker both refuse it, there."""
    text = GOOD.replace(*change)
    assert path in schema_paths(tomllib.loads(text))
    checker_paths = {key for key, _ in checker_problems(text)}
    assert path in checker_paths or any(p.startswith(path + ".") for p in checker_paths)


def test_config_check_needs_no_token_and_names_every_problem(tmp_path: Path) -> None:
    """`syncer config check -c FILE` with no token and an API URL nobody answers: exit 0 for
    config.example.toml; exit 2 with the checker's own lines (file:line: key: message) for a
    file with problems; nothing on stdout but the verdict."""
    env = {"GITHUB_API_URL": "https://127.0.0.1:9", "HOME": str(tmp_path)}
    good = syncer_process(["config", "check", "-c", str(ROOT / "config.example.toml")], env)
    assert good.returncode == 0, good.stderr
    assert good.stdout.decode().endswith(": ok (4 secrets, 2 variables)\n")
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("[sync]", "[sync]\nconcurency = 3").replace(
        "concurrency = 4", "concurrency = 0"))
    refused = syncer_process(["config", "check", "-c", str(bad)], env)
    assert refused.returncode == 2 and refused.stdout == b""
    err = refused.stderr.decode()
    assert f"{bad}:8: sync.concurency: unknown key 'concurency'; did you mean 'concurrency'?" \
        in err
    assert "sync.concurrency: 0 is out of range" in err


VARIABLES = """
[github]
org = "acme"
[[variable]]
name = "REGION"
value = "eu-west-1"
[variable.repos]
match = ["*"]
[[variable]]
name = "SHARED"
value = "env:SHARED"
app = "agents"
[variable.org]
visibility = "all"
"""


@pytest.mark.parametrize("change,path", [
    (('match = ["*"]', 'matc = ["*"]'), "variable[0].repos.matc"),
    (('visibility = "all"', 'visibilty = "all"'), "variable[1].org.visibilty"),
    (('app = "agents"', 'app = "dependabot"'), "variable[1].app"),
    (('value = "eu-west-1"', "value = 3"), "variable[0].value"),
])
def test_variable_tables_are_checked_alike_by_both(change: tuple[str, str], path: str) -> None:
    """[[variable]] tables (a value written in the file accepted) fail the schema and the
    checker at the same key path: a misspelt key in [variable.repos] or [variable.org], an app
    without variables, a value that is not text."""
    assert checker_problems(VARIABLES) == [] and schema_paths(tomllib.loads(VARIABLES)) == set()
    text = VARIABLES.replace(*change)
    assert path in schema_paths(tomllib.loads(text))
    assert path in {key for key, _ in checker_problems(text)}
