"""Checking the parsed TOML mapping: each function adds its problems to a `Problems` and
returns what it could build, so one pass finds every problem in the file."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.limits import MAX_CONCURRENCY
from ..core.model import APPS, VARIABLE_APPS, Target
from ..core.names import env_name_problem, secret_name_problem, value_problem
from ..sources import Source, SourceError, parse_source
from .duplicates import duplicate_problems, variable_count_problems
from .getters import (
    get_bool,
    get_choice,
    get_int,
    get_number,
    get_str_list,
    get_string,
    get_table,
    type_name,
    unknown_keys,
)
from .keys import (
    ORG_NAME,
    PRIVATE_KEY_KINDS,
    PRUNE_PREFIX,
    VALUE_KINDS,
    VARIABLE_VALUE_KINDS,
    VISIBILITIES,
    key_names,
)
from .model import AppAuth, Config, GitHubConfig, OrgTarget, RepoSelector, SecretSpec, SyncConfig
from .problems import KeyPath, Problems
from .url_policy import api_url_problem

__all__ = ["check_source", "config_from", "confinement_problem", "outside_problem",
           "target_problems"]

_TOP_KEYS = key_names("")
_GITHUB_KEYS = key_names("github")
_APP_KEYS = key_names("github.app")
_SYNC_KEYS = key_names("sync")
_SECRET_KEYS = key_names("secret")
_ORG_KEYS = key_names("secret.org")
_REPOS_KEYS = key_names("secret.repos")


def config_from(p: Problems, raw: Mapping[str, Any], file: str, base: Path | None) -> Config:
    """The config in the parsed mapping `raw`, every problem added to `p` (the config is only
    good when `p` stays empty). Relative paths start at `base` (None: left as written)."""
    unknown_keys(p, raw, (), _TOP_KEYS)
    sync = _sync(p, get_table(p, raw, (), "sync") or {}, _Files(base))
    files = _Files(base, sync.confine_files)
    github_table = get_table(p, raw, (), "github") or {}
    github = _github(p, github_table, files)
    # A wrong or misspelt [github].org is reported once, not again for every secret.
    org_reported = github.org is None and _mentions_org(github_table)
    secrets = _specs(p, raw, "secret", github.org, org_reported, files)
    variables = _specs(p, raw, "variable", github.org, org_reported, files)
    for index, message in variable_count_problems(variables):
        p.add(("variable", index), message)
    return Config(file, github, sync, tuple(spec for _, spec in secrets),
                  None if base is None else str(base), tuple(spec for _, spec in variables))


def _specs(p: Problems, raw: Mapping[str, Any], target: Target, default_org: str | None,
           org_reported: bool, files: _Files) -> list[tuple[int, SecretSpec]]:
    """The [[secret]] (or [[variable]]) tables that have no problem, with their indexes."""
    entries = raw.get(target, [])
    if not isinstance(entries, list):
        p.add((target,), f"must be an array of tables: write each {target} as [[{target}]]")
        entries = []
    built = [(i, _secret(p, entry, i, default_org, org_reported, files, target))
             for i, entry in enumerate(entries)]
    specs = [(i, spec) for i, spec in built if spec is not None]
    for index, message in duplicate_problems(specs):
        p.add((target, index), message)
    return specs


def _mentions_org(github: Mapping[str, Any]) -> bool:
    """Whether [github] has an org key, or a misspelling of it (already reported)."""
    return any(difflib.get_close_matches(key.lower(), _GITHUB_KEYS, n=1, cutoff=0.6) == ["org"]
               for key in github)


def _github(p: Problems, table: Mapping[str, Any], files: _Files) -> GitHubConfig:
    path: KeyPath = ("github",)
    unknown_keys(p, table, path, _GITHUB_KEYS)
    insecure = get_bool(p, table, path, "allow_insecure_http", False)
    api_url = get_string(p, table, path, "api_url")
    if api_url is not None:
        if problem := api_url_problem(api_url, insecure):
            p.add((*path, "api_url"), problem)
        api_url = api_url.rstrip("/")
    token_env = get_string(p, table, path, "token_env")
    if token_env is not None and (problem := env_name_problem(token_env)):
        p.add((*path, "token_env"), problem)
    ca_bundle = get_string(p, table, path, "ca_bundle")
    app_table = get_table(p, table, path, "app")
    return GitHubConfig(
        api_url=api_url,
        org=_org_name(p, table, path, "org"),
        token_env=token_env,
        ca_bundle=None if ca_bundle is None else files.local(ca_bundle),
        allow_insecure_http=insecure,
        app=None if app_table is None else _app(p, app_table, (*path, "app"), files),
    )


def _app(p: Problems, table: Mapping[str, Any], path: KeyPath,
         files: _Files) -> AppAuth | None:
    unknown_keys(p, table, path, _APP_KEYS)
    app_id = get_int(p, table, path, "app_id", low=1, required=True)
    private_key = _source(p, table, path, "private_key", PRIVATE_KEY_KINDS, files)
    installation_id = get_int(p, table, path, "installation_id", low=1)
    if app_id is None or private_key is None:
        return None
    return AppAuth(app_id, private_key, installation_id)


def _sync(p: Problems, table: Mapping[str, Any], files: _Files) -> SyncConfig:
    path: KeyPath = ("sync",)
    default = SyncConfig()
    unknown_keys(p, table, path, _SYNC_KEYS)
    state = get_string(p, table, path, "state")
    prefix = get_string(p, table, path, "prune_prefix")
    if prefix is not None and not PRUNE_PREFIX.fullmatch(prefix):
        p.add((*path, "prune_prefix"), "may only contain letters, digits and underscores, "
              "as secret names do")
    concurrency = get_int(p, table, path, "concurrency", low=1, high=MAX_CONCURRENCY)
    return SyncConfig(
        concurrency=default.concurrency if concurrency is None else concurrency,
        writes_per_minute=get_number(p, table, path, "writes_per_minute", low=0),
        points_per_minute=get_number(p, table, path, "points_per_minute", low=0),
        wait_for_reset=get_bool(p, table, path, "wait_for_reset", default.wait_for_reset),
        state=None if state is None else files.local(state),
        prune=get_bool(p, table, path, "prune", default.prune),
        prune_prefix=None if prefix is None else prefix.upper(),
        create_environments=get_bool(p, table, path, "create_environments",
                                  default.create_environments),
        confine_files=get_bool(p, table, path, "confine_files", default.confine_files),
    )


def _secret(p: Problems, raw: object, index: int, default_org: str | None, org_reported: bool,
            files: _Files, target: Target = "secret") -> SecretSpec | None:
    """One [[secret]] (or [[variable]]), or None when it has problems (all of them added to
    `p`)."""
    path: KeyPath = (target, index)
    if not isinstance(raw, dict):
        p.add(path, f"must be a table ([[{target}]]), not {type_name(raw)}")
        return None
    before = len(p.problems)
    unknown_keys(p, raw, path, _SECRET_KEYS)
    name = get_string(p, raw, path, "name", required=True)
    if name is not None and (problem := secret_name_problem(name)):
        p.add((*path, "name"), problem.replace("secret name", f"{target} name"))
    value: Source | str | None
    if target == "variable":
        value = _variable_value(p, raw, path, files)
        app = get_choice(p, raw, path, "app", APPS, "actions")
        if app is not None and app not in VARIABLE_APPS:
            p.add((*path, "app"), f"{app!r} has secrets only: variables exist for "
                  f"{' and '.join(VARIABLE_APPS)}")
            app = None
    else:
        value = _source(p, raw, path, "value", VALUE_KINDS, files)
        app = get_choice(p, raw, path, "app", APPS, "actions")
    org = _secret_org(p, raw, path, default_org, org_reported)
    org_table = raw.get("org")
    org_target = _org_target(p, org_table, (*path, "org")) if isinstance(org_table, dict) else None
    repos_table = get_table(p, raw, path, "repos")
    repos = None if repos_table is None else _repos(p, repos_table, (*path, "repos"))
    environments = _environments(p, raw, path)
    for key, message in target_problems(raw, app, target):
        p.add((*path, *key), message)
    if len(p.problems) > before or name is None or value is None or org is None or app is None:
        return None
    return SecretSpec(name=name.upper(), value=value, app=app, org=org, org_target=org_target,
                      repos=repos, environments=environments, line=p.line_of(path),
                      target=target)


def _variable_value(p: Problems, raw: Mapping[str, Any], path: KeyPath,
                    files: _Files) -> Source | str | None:
    """A [[variable]]'s value: a source (text starting env:, file:, cmd:, generate:), or the
    value itself, which may be shown (a variable is no secret)."""
    value = raw.get("value")
    if not isinstance(value, str):
        if value is None:
            p.add((*path, "value"), "is required")
        else:
            p.add((*path, "value"), f"must be a string (GitHub stores variables as text: "
                  f"write \"{value}\" in quotes), not {type_name(value)}"
                  if isinstance(value, (int, float)) and not isinstance(value, bool)
                  else f"must be a string, not {type_name(value)}")
        return None
    kind, sep, _ = value.partition(":")
    if sep and kind in VALUE_KINDS:
        return _source(p, raw, path, "value", VARIABLE_VALUE_KINDS, files)
    if problem := value_problem(value.encode()):
        p.add((*path, "value"), problem.replace("secret value", "variable value"))
        return None
    return value


def target_problems(secret: Mapping[str, Any], app: str | None,
                    target: Target = "secret") -> list[tuple[tuple[str, ...], str]]:
    """(key within the [[secret]] or [[variable]], message) for targets missing or not fitting
    together."""
    found: list[tuple[tuple[str, ...], str]] = []
    plural = f"{target}s"
    if "environments" in secret and "repos" not in secret:
        found.append((("environments",), (f"environment {plural} need a [{target}.repos] table "
                      "choosing the repositories whose environments get them")))
    if "environments" in secret and app not in (None, "actions"):
        found.append((("environments",), (f"environment {plural} exist for GitHub Actions only, "
                      f"and this {target}'s app is {app!r}")))
    if not isinstance(secret.get("org"), dict) and not {"repos", "environments"} & set(secret):
        found.append(((), (f"has no target: add a [{target}.org] table (org {target}), a "
                      f"[{target}.repos] table (repository {plural}) or environments with "
                      f"[{target}.repos] (environment {plural})")))
    return found


def _secret_org(p: Problems, raw: Mapping[str, Any], path: KeyPath,
                default_org: str | None, org_reported: bool) -> str | None:
    """owner = "NAME", or org = "NAME" (a string; a table there is the org target)."""
    target = path[0]
    owner = _org_name(p, raw, path, "owner")
    org_value = raw.get("org")
    named = None
    if isinstance(org_value, str):
        named = _org_name(p, raw, path, "org")
        if owner is not None:
            p.add((*path, "org"), "give the organisation once: owner = \"NAME\" or org = \"NAME\"")
    elif org_value is not None and not isinstance(org_value, dict):
        p.add((*path, "org"), f"must be a table ([{target}.org], the org-level {target}) or a "
              f"string naming the organisation, not {type_name(org_value)}")
    org = owner or named or default_org
    if org is None and not org_reported and "owner" not in raw and not isinstance(org_value, str):
        p.add(path, f"no organisation: set org in [github], or owner = \"NAME\" in this "
              f"[[{target}]]")
    return org


def _org_target(p: Problems, table: Mapping[str, Any], path: KeyPath) -> OrgTarget | None:
    unknown_keys(p, table, path, _ORG_KEYS)
    visibility = get_choice(p, table, path, "visibility", VISIBILITIES, None)
    selected = _patterns(p, table, path, "selected_repos")
    if selected is not None and visibility not in (None, "selected"):
        p.add((*path, "selected_repos"), f"only applies with visibility = \"selected\", "
              f"and visibility is {visibility!r}")
    if visibility is None:
        return None
    return OrgTarget(visibility, selected or ())


def _repos(p: Problems, table: Mapping[str, Any], path: KeyPath) -> RepoSelector:
    unknown_keys(p, table, path, _REPOS_KEYS)
    default = RepoSelector()
    match = _patterns(p, table, path, "match")
    if match == ():
        p.add((*path, "match"), "is empty and would select no repository; "
              "leave it out to mean every repository ([\"*\"])")
    regex = get_string(p, table, path, "regex")
    if regex is not None and (problem := _regex_problem(regex)):
        p.add((*path, "regex"), problem)
    return RepoSelector(
        match=match or default.match,
        regex=regex,
        topics=tuple(t.lower() for t in get_str_list(p, table, path, "topics") or ()),
        exclude=_patterns(p, table, path, "exclude") or (),
        include_archived=get_bool(p, table, path, "include_archived", default.include_archived),
        include_forks=get_bool(p, table, path, "include_forks", default.include_forks),
    )


def _regex_problem(regex: str) -> str | None:
    try:
        re.compile(regex)
    except re.error as exc:
        return f"is not a valid regular expression: {exc}"
    return None


def _environments(p: Problems, raw: Mapping[str, Any], path: KeyPath) -> tuple[str, ...]:
    names = get_str_list(p, raw, path, "environments")
    if names is None:
        return ()
    if not names:
        p.add((*path, "environments"), "is empty; leave it out to write repository secrets")
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name.lower() in seen:
            p.add((*path, "environments", i), f"environment {name!r} is listed twice")
        seen.add(name.lower())
    return names


def _patterns(p: Problems, table: Mapping[str, Any], path: KeyPath,
              key: str) -> tuple[str, ...] | None:
    """Repository names or globs, which never contain "/" (they are names within the org)."""
    patterns = get_str_list(p, table, path, key)
    for i, pattern in enumerate(patterns or ()):
        if "/" in pattern:
            p.add((*path, key, i), f"{pattern!r}: repository patterns are names within the "
                  "organisation, without \"ORG/\"")
    return patterns


def _source(p: Problems, table: Mapping[str, Any], path: KeyPath, key: str,
            kinds: Sequence[str], files: _Files) -> Source | None:
    if key in table and not isinstance(table[key], str):
        # Never echoed: a literal value of the wrong type is still a value.
        p.add((*path, key), f"must be a string naming a source ({_syntax(kinds)}), "
              f"not {type_name(table[key])}")
        return None
    spec = get_string(p, table, path, key, required=True)
    if spec is None:
        return None
    checked = check_source(spec, kinds)
    if isinstance(checked, str):
        p.add((*path, key), checked)
        return None
    if checked.kind == "file":
        local = files.local(checked.arg)
        if files.confine and (problem := confinement_problem(checked.arg, local, files.base)):
            p.add((*path, key), problem)
            return None
        return Source("file", local)
    return checked


def check_source(spec: str, kinds: Sequence[str] = VALUE_KINDS) -> Source | str:
    """The source `spec` names, or why it is not one of `kinds`.

    Text that is not a source at all is never repeated: it may be the secret value itself.
    """
    kind, sep, arg = spec.partition(":")
    if spec == "-":
        return f"standard input (-) is for the command line; in a config file use {_syntax(kinds)}"
    if not sep or kind not in VALUE_KINDS:
        return (f"is not a value source: expected {_syntax(kinds)}. A secret value itself never "
                "belongs in the config file (and is not repeated here)")
    if kind not in kinds:
        return f"{kind}: sources cannot be used here; use {_syntax(kinds)}"
    if kind == "env" and (problem := env_name_problem(arg)):
        return f"env:…: {problem}"
    try:
        return parse_source(spec)
    except SourceError as exc:
        return str(exc)


def _syntax(kinds: Sequence[str]) -> str:
    forms = {"env": "env:VAR", "file": "file:PATH", "cmd": "cmd:COMMAND", "generate": "generate:N"}
    names = [forms[k] for k in kinds]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


@dataclass(frozen=True, slots=True)
class _Files:
    """Where the config's relative paths start (None: left as written), and whether `file:`
    sources must stay inside that folder ([sync] confine_files)."""

    base: Path | None
    confine: bool = False

    def local(self, value: str) -> str:
        path = Path(value).expanduser()
        return str(path if path.is_absolute() or self.base is None else self.base / path)


def confinement_problem(written: str, local: str, base: str | Path | None) -> str | None:
    """Why `file:{written}` (found at `local`) is not inside the config's folder `base`, as
    [sync] confine_files = true requires, or None. `..` and `~` are refused as written; the
    rest is decided on the real paths (every symbolic link followed) when `base` is given."""
    why = ("[sync] confine_files = true allows only files inside the config's folder"
           + ("" if base is None else f" ({base})"))
    if written.startswith("~"):
        return f"file:{written}: a home-directory path; {why}"
    if ".." in Path(written).parts:
        return f"file:{written}: a path through \"..\"; {why}"
    if base is None:
        return None if not Path(written).is_absolute() else f"file:{written}: {why}"
    return outside_problem(written, local, base)


def outside_problem(written: str, local: str, base: str | Path) -> str | None:
    inside = os.path.realpath(base)
    if os.path.commonpath([os.path.realpath(local), inside]) == inside:
        return None
    return (f"file:{written}: outside, once symbolic links are followed; [sync] confine_files "
            f"= true allows only files inside the config's folder ({base})")


def _org_name(p: Problems, table: Mapping[str, Any], path: KeyPath, key: str) -> str | None:
    name = get_string(p, table, path, key)
    if name is not None and not ORG_NAME.fullmatch(name):
        p.add((*path, key), f"{name!r} is not an organisation name (like acme, without "
              "https://github.com/ or a repository)")
        return None
    return name

