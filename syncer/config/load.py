"""The config file: TOML → frozen dataclasses, with every problem found in one pass.

`load_config` checks the whole file before anything talks to GitHub and raises one
`ConfigError` listing every problem with its file, line and key path (`secret[2].repos.match`),
never just the first. It reads no secret value: value sources are only checked for syntax, so a
config loads on a machine where the variables and files it names are absent. `read_values` is
the separate step that reads them, again reporting every unreadable source at once
(`read_variable_values` for the `[[variable]]` tables).

A `[[variable]]` (an Actions or agent configuration variable) takes the same targeting keys as a
`[[secret]]`; its value is no secret, so it may be written in the file itself (`value =
"eu-west-1"`) as well as named by a source. A literal value on a `[[secret]]` stays an error.

No message ever quotes a secret value: a literal value written where a source belongs, a token
pasted into `token_env`, a password in `api_url` are all refused without being repeated.

`config.example.toml` documents every key. Key paths count `[[secret]]` tables from 0, like the
indexes of `Config.secrets` and the keys `read_values` returns (`[[variable]]` tables likewise,
with `Config.variables`).
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yarl

from ..core.model import APPS, VARIABLE_APPS, SecretValue, Target
from ..core.names import MAX_VARIABLES, env_name_problem, secret_name_problem, value_problem
from ..exits import UsageError
from ..github.pacing import DEFAULT_POINTS_PER_MINUTE, DEFAULT_WRITES_PER_MINUTE, MAX_CONCURRENCY
from ..inputs import MAX_NESTING, InputTooLarge, read_capped
from ..sources import Source, SourceError, parse_source, read_source

__all__ = [
    "PRIVATE_KEY_KINDS", "VALUE_KINDS", "VISIBILITIES",
    "KEYS", "AppAuth", "Config", "ConfigError", "GitHubConfig", "Key", "Nesting", "OrgTarget",
    "Problem",
    "RepoSelector",
    "SecretSpec", "SyncConfig",
    "api_url_problem", "check_source", "confinement_problem", "duplicate_problems",
    "is_loopback", "key_path",
    "load_config", "locate_keys", "parse_config", "read_all_values", "read_values",
    "read_variable_values",
    "target_problems", "toml_nesting", "unknown_key_message", "variable_count_problems",
]

VISIBILITIES: tuple[str, ...] = ("all", "private", "selected")
VALUE_KINDS: tuple[str, ...] = ("env", "file", "cmd", "generate")
#: a variable's value is kept in the config or read from these (a generated value nobody keeps
#: would make every run an update)
VARIABLE_VALUE_KINDS: tuple[str, ...] = ("env", "file", "cmd")
PRIVATE_KEY_KINDS: tuple[str, ...] = ("file", "env")


# ---------------------------------------------------------------------------------------------
# The data model


@dataclass(frozen=True, slots=True)
class AppAuth:
    """GitHub App credentials: the app's id, where its private key is, and optionally which
    installation (otherwise looked up per org)."""

    app_id: int
    private_key: Source
    installation_id: int | None = None


@dataclass(frozen=True, slots=True)
class GitHubConfig:
    api_url: str | None = None  # None: the runtime's default ($GITHUB_API_URL or api.github.com)
    org: str | None = None
    token_env: str | None = None  # None: the runtime's default variables
    ca_bundle: str | None = None
    allow_insecure_http: bool = False
    app: AppAuth | None = None


@dataclass(frozen=True, slots=True)
class SyncConfig:
    concurrency: int = 16
    # None: GitHub's guidance, or no pacing where the server's limits are off (see runtime)
    points_per_minute: float | None = None
    writes_per_minute: float | None = None
    wait_for_reset: bool = True
    state: str | None = None  # None: the state module's default
    prune: bool = False
    prune_prefix: str | None = None  # upper-cased, as GitHub returns names
    create_environments: bool = False
    confine_files: bool = False  # file: sources must stay inside the config's folder


@dataclass(frozen=True, slots=True)
class OrgTarget:
    """The org-level secret: its visibility and, when `selected`, which repositories see it."""

    visibility: str
    selected_repos: tuple[str, ...] = ()

    def selects(self, name: str) -> bool:
        """Whether repository `name` is among `selected_repos` (names or globs, any case)."""
        return _matches_any(name, self.selected_repos)


@dataclass(frozen=True, slots=True)
class RepoSelector:
    """Which repositories of the org get a repository (or environment) secret.

    A repository is selected when every condition given holds: its name matches one of `match`
    and none of `exclude` (globs, case-insensitive), `regex` finds a match in it (re.search,
    case as written), it has every one of `topics`, and it is archived or a fork only if those
    are included.
    """

    match: tuple[str, ...] = ("*",)
    regex: str | None = None
    topics: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    include_archived: bool = False
    include_forks: bool = False

    def selects(self, name: str, *, archived: bool, fork: bool, topics: Sequence[str]) -> bool:
        if archived and not self.include_archived:
            return False
        if fork and not self.include_forks:
            return False
        if not _matches_any(name, self.match) or _matches_any(name, self.exclude):
            return False
        if self.regex is not None and re.search(self.regex, name) is None:
            return False
        have = {t.lower() for t in topics}
        return all(t.lower() in have for t in self.topics)


@dataclass(frozen=True, slots=True)
class SecretSpec:
    """One `[[secret]]` (or `[[variable]]`, with `target` "variable"): a name, where its value
    comes from, and where it is written."""

    name: str  # upper-cased
    value: Source | str  # str: a variable's value as written in the config (never a secret's)
    app: str
    org: str
    org_target: OrgTarget | None
    repos: RepoSelector | None
    environments: tuple[str, ...]  # non-empty: environment secrets in the `repos` repositories
    line: int | None = None  # of the [[secret]] header
    target: Target = "secret"

    @property
    def writes_repo_secrets(self) -> bool:
        return self.repos is not None and not self.environments


@dataclass(frozen=True, slots=True)
class Config:
    path: str
    github: GitHubConfig
    sync: SyncConfig
    secrets: tuple[SecretSpec, ...]
    base_dir: str | None = None  # where relative paths start; None: left as written
    variables: tuple[SecretSpec, ...] = ()  # the [[variable]] tables

    @property
    def specs(self) -> tuple[SecretSpec, ...]:
        """Every [[secret]], then every [[variable]]."""
        return (*self.secrets, *self.variables)


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None
    key: str  # a key path such as "secret[2].repos.match"; "" for the file as a whole
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


#: problems shown in a ConfigError's message; a file of a million wrong keys is not a million
#: lines of output
MAX_PROBLEMS_SHOWN = 50


class ConfigError(UsageError):
    """Every problem found in a config file (or its value sources), one per line in str() (the
    first MAX_PROBLEMS_SHOWN, then how many more)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        shown = [str(p) for p in self.problems[:MAX_PROBLEMS_SHOWN]]
        if len(self.problems) > MAX_PROBLEMS_SHOWN:
            shown.append(f"… and {len(self.problems) - MAX_PROBLEMS_SHOWN} more problems "
                         "(fix these first)")
        super().__init__("\n".join(shown))


# ---------------------------------------------------------------------------------------------
# Entry points


def load_config(path: str | Path) -> Config:
    """The config in `path`, or ConfigError with every problem found.

    Relative `file:` sources, `ca_bundle` and `state` are taken relative to the file's folder.
    """
    file = str(path)
    try:
        text = read_capped(Path(path).expanduser()).decode("utf-8-sig")
    except OSError as exc:
        problem = Problem(file, None, "", f"cannot read: {exc.strerror or exc}")
        raise ConfigError([problem]) from None
    except InputTooLarge as exc:
        raise ConfigError([Problem(file, None, "", str(exc))]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(file, None, "", f"not UTF-8 text (byte {exc.start})")]) from None
    return parse_config(text, file, base_dir=Path(path).expanduser().absolute().parent)


def parse_config(text: str, path: str = "<config>", *,
                 base_dir: str | Path | None = None) -> Config:
    """The config in `text` (`path` only names it in messages), or ConfigError with every problem.

    Relative paths are taken relative to `base_dir`, or left as written when it is None.
    """
    if (deepest := toml_nesting(text)).depth > MAX_NESTING:
        raise ConfigError([Problem(path, deepest.line, "", _too_deep(deepest.depth))])
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([_syntax_problem(exc, text, path)]) from None
    except RecursionError:  # not expected under the cap; a traceback is never the answer
        raise ConfigError([Problem(path, None, "", _too_deep(None))]) from None
    found = _Problems(path, locate_keys(text))
    config = _config(found, raw, path, None if base_dir is None else Path(base_dir))
    if found.problems:
        raise ConfigError(sorted(found.problems, key=lambda p: (p.line is None, p.line or 0)))
    return config


def read_values(config: Config, environ: Mapping[str, str] | None = None,
                ) -> dict[tuple[int, str], SecretValue]:
    """Each secret's value, keyed by (index in config.secrets, name).

    Raises ConfigError naming every source that cannot be read (unset variable, unreadable file,
    failing command, empty or oversized value); no message contains a value. A source used by
    several secrets is read once (one command run, one consistent value), except `generate:N`,
    which makes a fresh value for each secret.
    """
    return read_all_values(config, environ, variables=False)[0]


def read_variable_values(config: Config, environ: Mapping[str, str] | None = None,
                         ) -> dict[tuple[int, str], SecretValue]:
    """Each variable's value, keyed by (index in config.variables, name), as `read_values`
    reads secrets'; a value written in the config is taken as it is. A value must be text
    (GitHub stores variables as strings) and fit GitHub's size limit."""
    return read_all_values(config, environ, secrets=False)[1]


Values = dict[tuple[int, str], SecretValue]


def read_all_values(config: Config, environ: Mapping[str, str] | None = None, *,
                    secrets: bool = True, variables: bool = True) -> tuple[Values, Values]:
    """`read_values` and `read_variable_values` in one: ConfigError names every source of
    either that cannot be read."""
    problems: list[Problem] = []
    done: dict[Source, SecretValue | SourceError] = {}
    found = (_read_all(config, config.secrets if secrets else (), environ, problems, done),
             _read_all(config, config.variables if variables else (), environ, problems, done))
    if problems:
        raise ConfigError(problems)
    return found


def _read_all(config: Config, specs: Sequence[SecretSpec], environ: Mapping[str, str] | None,
              problems: list[Problem], done: dict[Source, SecretValue | SourceError]) -> Values:
    values: Values = {}
    for index, spec in enumerate(specs):
        if isinstance(spec.value, str):  # a variable's value, checked when the file was read
            values[(index, spec.name)] = SecretValue(spec.value.encode())
            continue
        got = done[spec.value] if spec.value in done else _read(spec.value, environ,
                                                                _confined_to(config))
        if spec.value.kind != "generate":
            done[spec.value] = got
        if not isinstance(got, SourceError) and spec.target == "variable":
            got = _as_variable_value(spec.value, got)
        if isinstance(got, SourceError):
            problems.append(Problem(config.path, spec.line,
                                    key_path(spec.target, index, "value"),
                                    str(got).replace("secret value", f"{spec.target} value")))
        else:
            values[(index, spec.name)] = got
    return values


def _as_variable_value(source: Source, value: SecretValue) -> SecretValue | SourceError:
    """`value` if it can be a variable's: text, within GitHub's size."""
    try:
        value.reveal().decode("utf-8")
    except UnicodeDecodeError:
        return SourceError(f"{source}: a variable's value must be text (UTF-8); binary values "
                           "belong in secrets")
    if problem := value_problem(value.reveal()):
        return SourceError(f"{source}: {problem.replace('secret value', 'variable value')}")
    return value


def _confined_to(config: Config) -> str | None:
    return config.base_dir if config.sync.confine_files and config.base_dir else None


def _read(source: Source, environ: Mapping[str, str] | None,
          confined_to: str | None) -> SecretValue | SourceError:
    # checked again as it is read: a link may have been changed since the config was loaded
    if (source.kind == "file" and confined_to is not None
            and (problem := _outside_problem(source.arg, source.arg, confined_to))):
        return SourceError(problem)
    try:
        return read_source(source, environ=environ)
    except SourceError as exc:
        return exc


# ---------------------------------------------------------------------------------------------
# Pure checks, usable on their own


def key_path(*parts: str | int) -> str:
    """`key_path("secret", 2, "repos")` → "secret[2].repos"."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1 (also written as an IPv4-mapped IPv6 address)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host.lower().rstrip(".") == "localhost"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def api_url_problem(url: str, allow_insecure_http: bool = False) -> str | None:
    """Why `url` cannot be the API base URL, or None. Never repeats what may hold a credential:
    user info, a query or fragment (`?access_token=`), text where the port belongs."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed "[": not repeated, it may hold a token
        return "is not a valid URL (not repeated here, in case it holds a token)"
    if parts.username is not None or parts.password is not None:
        return ("must not contain a user name or password (not repeated here); "
                "name the token's environment variable (--token-env, or token_env in a config "
                "file)")
    try:
        parts.port  # noqa: B018 — raises ValueError on a bad port
    except ValueError:
        return f"the port of the URL for {parts.hostname!r} is not a number from 0 to 65535"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        # not repeated: a token pasted into GITHUB_API_URL lands here
        return ("is not an http(s) URL (not repeated here, in case it is a token); expected "
                "https://api.github.com, for Enterprise Server https://HOST/api/v3, for "
                "GHE.com https://api.SUBDOMAIN.ghe.com")
    shown = repr(f"{parts.scheme}://{parts.netloc}")  # the path, too, may hold a pasted token
    if parts.query or parts.fragment:
        return f"{shown} must not have a query or fragment (not repeated here)"
    try:
        str(yarl.URL(url))  # as the client will encode it (an IDN host, say)
    except ValueError as exc:
        return f"{shown} is not a valid URL ({exc})"
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(parts.hostname):
        return ("plain http:// would send the token unencrypted; use https://, or allow it "
                "with --allow-insecure-http (allow_insecure_http = true in a config file; "
                "loopback addresses are always allowed)")
    return None


# ---------------------------------------------------------------------------------------------
# Locating keys in the raw text (tomllib gives no line numbers)

KeyPath = tuple[str | int, ...]

_HEADER = re.compile(r"\s*(\[\[?)([^\[\]]*)\]\]?\s*(?:#.*)?$")
_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_KEY = re.compile(rf"\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")


def locate_keys(text: str) -> dict[KeyPath, int]:
    """Best-effort line (1-based) of each table header and key in TOML `text`.

    Paths index arrays of tables from 0: the third `[[secret]]` header is ("secret", 2) and its
    `[secret.repos]` table ("secret", 2, "repos"). Keys inside inline tables and values spanning
    lines are not located; look up their closest located parent instead (see _Problems.line_of).
    """
    where: dict[KeyPath, int] = {}
    arrays: dict[tuple[str, ...], int] = {}  # [[header]] counts by unindexed name path
    table: KeyPath = ()
    depth, open_string = 0, ""
    for number, line in enumerate(text.splitlines(), start=1):
        start = 0
        if depth == 0 and not open_string:
            if header := _HEADER.match(line):
                names = tuple(_key_parts(header.group(2)))
                if header.group(1) == "[[":
                    arrays[names] = arrays.get(names, 0) + 1
                table = _indexed(names, arrays)
                where.setdefault(table, number)
                continue
            if key := _KEY.match(line):
                where.setdefault(table + tuple(_key_parts(key.group(1))), number)
                start = key.end()
        depth, open_string, _ = _scan(line, start, depth, open_string)
    return where


def _key_parts(dotted: str) -> list[str]:
    return [p[1:-1] if p[:1] in "\"'" else p for p in re.findall(_KEY_PART, dotted)]


def _indexed(names: tuple[str, ...], arrays: Mapping[tuple[str, ...], int]) -> KeyPath:
    path: list[str | int] = []
    for i, name in enumerate(names):
        path.append(name)
        if count := arrays.get(names[: i + 1]):
            path.append(count - 1)
    return tuple(path)


@dataclass(frozen=True, slots=True)
class Nesting:
    depth: int
    line: int | None = None  # where that depth is first reached


def toml_nesting(text: str) -> Nesting:
    """The deepest nesting of arrays and inline tables in TOML `text` (a `[[table]]` header
    counts 2), and its line; strings and comments are skipped. Pure."""
    deepest, depth, open_string = Nesting(0), 0, ""
    for number, line in enumerate(text.splitlines(), start=1):
        depth, open_string, most = _scan(line, 0, depth, open_string)
        if most > deepest.depth:
            deepest = Nesting(most, number)
    return deepest


def _too_deep(depth: int | None) -> str:
    found = "" if depth is None else f" ({depth} levels)"
    return (f"arrays or tables are nested too deeply{found}; syncer reads at most "
            f"{MAX_NESTING} levels")


def _scan(line: str, i: int, depth: int, open_string: str) -> tuple[int, str, int]:
    """Bracket depth and open multi-line string after `line`, and the deepest depth within it;
    strings and comments skipped."""
    deepest = depth
    while i < len(line):
        if open_string:
            end = line.find(open_string, i)
            if end < 0:
                break
            i, open_string = end + 3, ""
        elif line[i] == "#":
            break
        elif line.startswith(('"""', "'''"), i):
            i, open_string = i + 3, line[i:i + 3]
        elif line[i] == '"':
            i = _after_basic_string(line, i + 1)
        elif line[i] == "'":
            end = line.find("'", i + 1)
            i = len(line) if end < 0 else end + 1
        else:
            depth += (line[i] in "[{") - (line[i] in "]}")
            if depth > deepest:
                deepest = depth
            i += 1
    return max(depth, 0), open_string, deepest


def _after_basic_string(line: str, i: int) -> int:
    while i < len(line):
        if line[i] == "\\":
            i += 2
        elif line[i] == '"':
            return i + 1
        else:
            i += 1
    return i


_AT = re.compile(r"\s*\(at (?:line (\d+), column \d+|end of document)\)$")
_ORG_TABLE_LINE = re.compile(r"\s*(\[\s*secret\s*\.\s*org\s*\]|org\s*=\s*\{)")
_ORG_STRING_LINE = re.compile(r"\s*org\s*=\s*[\"']")
_SECRET_HEADER_LINE = re.compile(r"\s*\[\[\s*secret\s*\]\]")


def _syntax_problem(exc: tomllib.TOMLDecodeError, text: str, file: str) -> Problem:
    """tomllib's message with its position turned into a line (tomllib quotes no values)."""
    message = str(exc).splitlines()[0] if str(exc) else "invalid TOML"
    line: int | None = getattr(exc, "lineno", None)
    if at := _AT.search(message):
        message = message[: at.start()]
        if line is None:
            line = int(at.group(1)) if at.group(1) else max(1, len(text.splitlines()))
    if line and _org_string_and_table(text.splitlines(), line):
        message += ("; a [[secret]] cannot have both org = \"NAME\" and a [secret.org] table: "
                    "write the organisation as owner = \"NAME\"")
    return Problem(file, line, "", f"TOML syntax: {message}")


def _org_string_and_table(lines: Sequence[str], line: int) -> bool:
    """Whether `line` opens an org table in a [[secret]] that already has org = "NAME"."""
    if line > len(lines) or not _ORG_TABLE_LINE.match(lines[line - 1]):
        return False
    for previous in reversed(lines[: line - 1]):
        if _SECRET_HEADER_LINE.match(previous):
            return False
        if _ORG_STRING_LINE.match(previous):
            return True
    return False


# ---------------------------------------------------------------------------------------------
# Checking the parsed mapping: each function adds its problems and returns what it could build


class _Problems:
    def __init__(self, file: str, where: Mapping[KeyPath, int]) -> None:
        self.file = file
        self.where = where
        self.problems: list[Problem] = []

    def add(self, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(self.file, self.line_of(path), key_path(*path), message))

    def line_of(self, path: KeyPath) -> int | None:
        """Line of `path`, or of its closest located parent."""
        while path:
            if path in self.where:
                return self.where[path]
            path = path[:-1]
        return None


_ORG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_PREFIX = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True, slots=True)
class Key:
    """One key of a config table: the keys the checker knows, and what `syncer config schema`
    (syncer/config/json_schema.py) tells editors about each. The checks themselves stay in the
    functions below; tests/test_config_schema.py holds the two to agreeing."""

    name: str
    type: str  # string | boolean | integer | number | strings | source | choice | table | tables
    #            | name_or_table (a [[secret]]'s org: a table, or a string naming the org)
    help: str
    choices: tuple[str, ...] = ()  # choice: the values; source: the source kinds allowed
    low: float | None = None
    high: float | None = None
    pattern: str | None = None  # a string's whole text must match (a regex)
    required: bool = False
    table: str | None = None  # table, tables, name_or_table: its KEYS entry


#: Every table of the config file ("" is the top level) and its keys.
KEYS: dict[str, tuple[Key, ...]] = {
    "": (
        Key("github", "table", "Where GitHub is and how to authenticate.", table="github"),
        Key("sync", "table", "How runs go.", table="sync"),
        Key("secret", "tables", "One [[secret]] table per secret.", table="secret"),
        Key("variable", "tables", "One [[variable]] table per Actions or agent variable.",
            table="variable"),
    ),
    "github": (
        Key("api_url", "string", "API base URL. Default: $GITHUB_API_URL, else "
            "https://api.github.com; Enterprise Server https://HOST/api/v3; GHE.com "
            "https://api.SUBDOMAIN.ghe.com."),
        Key("org", "string", "The organisation every [[secret]] goes to, unless it says "
            "otherwise.", pattern=_ORG_NAME.pattern),
        Key("token_env", "string", "Name of the environment variable holding the token "
            "(never the token). Default: GITHUB_TOKEN, then GH_TOKEN."),
        Key("ca_bundle", "string", "A PEM bundle of certificate authorities to trust."),
        Key("allow_insecure_http", "boolean", "Allow a plain http:// API URL that is not "
            "loopback. Default false."),
        Key("app", "table", "Authenticate as a GitHub App instead of with a token.",
            table="github.app"),
    ),
    "github.app": (
        Key("app_id", "integer", "The App's id.", low=1, required=True),
        Key("private_key", "source", "Where the App's PEM key is: file:PATH or env:VAR.",
            choices=PRIVATE_KEY_KINDS, required=True),
        Key("installation_id", "integer", "Default: the App's installation on each org.", low=1),
    ),
    "sync": (
        Key("concurrency", "integer", "Targets in progress at once. Default 16.", low=1,
            high=MAX_CONCURRENCY),
        Key("points_per_minute", "number", "Pace all requests under GitHub's secondary limit "
            f"of 900 points a minute. Default {DEFAULT_POINTS_PER_MINUTE:g}; 0 alone turns all "
            "pacing off.", low=0),
        Key("writes_per_minute", "number", "Writes one at a time, at most this many a minute "
            f"(GitHub asks for a second between writes). Default {DEFAULT_WRITES_PER_MINUTE:g}; "
            "0 lifts it.", low=0),
        Key("wait_for_reset", "boolean", "When the hourly limit is spent: wait (true) or "
            "stop. Default true."),
        Key("state", "string", "syncer's state file. Default: "
            "$XDG_STATE_HOME/syncer/state.json."),
        Key("prune", "boolean", "Delete undeclared secrets in managed scopes. Default false."),
        Key("prune_prefix", "string", "With prune: only secrets whose names start with this.",
            pattern=_PREFIX.pattern),
        Key("create_environments", "boolean", "Create missing environments. Default false."),
        Key("confine_files", "boolean", "file: sources must stay inside the config's folder. "
            "Default false."),
    ),
    "secret": (
        Key("name", "string", "The secret's name (stored upper-case).", required=True),
        Key("value", "source", "Where the value comes from: env:VAR, file:PATH, cmd:COMMAND "
            "or generate:N. Never the value itself.", choices=VALUE_KINDS, required=True),
        Key("app", "choice", "Which secrets store. Default actions.", choices=APPS),
        Key("owner", "string", "This secret's organisation.", pattern=_ORG_NAME.pattern),
        Key("org", "name_or_table", "[secret.org]: the org-level secret; or a string naming this "
            "secret's organisation.", pattern=_ORG_NAME.pattern, table="secret.org"),
        Key("repos", "table", "[secret.repos]: which repositories get a repository (or "
            "environment) secret.", table="secret.repos"),
        Key("environments", "strings", "Environment names: environment secrets in each "
            "selected repository."),
    ),
    "secret.org": (
        Key("visibility", "choice", "Which repositories of the org can use it.",
            choices=VISIBILITIES, required=True),
        Key("selected_repos", "strings", "With visibility = \"selected\": repository names "
            "or globs."),
    ),
    "secret.repos": (
        Key("match", "strings", "Names or globs; the name must match one. Default [\"*\"]."),
        Key("regex", "string", "A Python regular expression re.search must find in the name."),
        Key("topics", "strings", "The repository must have every one of these topics."),
        Key("exclude", "strings", "Names or globs never selected."),
        Key("include_archived", "boolean", "Include archived repositories. Default false."),
        Key("include_forks", "boolean", "Include forks. Default false."),
    ),
    "variable": (
        Key("name", "string", "The variable's name (stored upper-case).", required=True),
        Key("value", "string", "The value itself (\"eu-west-1\"), or where it comes from: "
            "env:VAR, file:PATH or cmd:COMMAND (a text starting so is read as a source).",
            required=True),
        Key("app", "choice", "Which variables: Actions, or the Copilot cloud agent's. Default "
            "actions.", choices=VARIABLE_APPS),
        Key("owner", "string", "This variable's organisation.", pattern=_ORG_NAME.pattern),
        Key("org", "name_or_table", "[variable.org]: the org-level variable; or a string "
            "naming this variable's organisation.", pattern=_ORG_NAME.pattern,
            table="variable.org"),
        Key("repos", "table", "[variable.repos]: which repositories get a repository (or "
            "environment) variable.", table="variable.repos"),
        Key("environments", "strings", "Environment names: environment variables in each "
            "selected repository."),
    ),
}
# the same keys as a [[secret]]'s: one place says what they are
KEYS["variable.org"] = KEYS["secret.org"]
KEYS["variable.repos"] = KEYS["secret.repos"]


def _key_names(table: str) -> tuple[str, ...]:
    return tuple(key.name for key in KEYS[table])


_TOP_KEYS = _key_names("")
_GITHUB_KEYS = _key_names("github")
_APP_KEYS = _key_names("github.app")
_SYNC_KEYS = _key_names("sync")
_SECRET_KEYS = _key_names("secret")
_ORG_KEYS = _key_names("secret.org")
_REPOS_KEYS = _key_names("secret.repos")


def _config(p: _Problems, raw: Mapping[str, Any], file: str, base: Path | None) -> Config:
    _unknown_keys(p, raw, (), _TOP_KEYS)
    sync = _sync(p, _table(p, raw, (), "sync") or {}, _Files(base))
    files = _Files(base, sync.confine_files)
    github_table = _table(p, raw, (), "github") or {}
    github = _github(p, github_table, files)
    # A wrong or misspelt [github].org is reported once, not again for every secret.
    org_reported = github.org is None and _mentions_org(github_table)
    secrets = _specs(p, raw, "secret", github.org, org_reported, files)
    variables = _specs(p, raw, "variable", github.org, org_reported, files)
    for index, message in variable_count_problems(variables):
        p.add(("variable", index), message)
    return Config(file, github, sync, tuple(spec for _, spec in secrets),
                  None if base is None else str(base), tuple(spec for _, spec in variables))


def _specs(p: _Problems, raw: Mapping[str, Any], target: Target, default_org: str | None,
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


def _github(p: _Problems, table: Mapping[str, Any], files: _Files) -> GitHubConfig:
    path: KeyPath = ("github",)
    _unknown_keys(p, table, path, _GITHUB_KEYS)
    insecure = _bool(p, table, path, "allow_insecure_http", False)
    api_url = _string(p, table, path, "api_url")
    if api_url is not None:
        if problem := api_url_problem(api_url, insecure):
            p.add((*path, "api_url"), problem)
        api_url = api_url.rstrip("/")
    token_env = _string(p, table, path, "token_env")
    if token_env is not None and (problem := env_name_problem(token_env)):
        p.add((*path, "token_env"), problem)
    ca_bundle = _string(p, table, path, "ca_bundle")
    app_table = _table(p, table, path, "app")
    return GitHubConfig(
        api_url=api_url,
        org=_org_name(p, table, path, "org"),
        token_env=token_env,
        ca_bundle=None if ca_bundle is None else files.local(ca_bundle),
        allow_insecure_http=insecure,
        app=None if app_table is None else _app(p, app_table, (*path, "app"), files),
    )


def _app(p: _Problems, table: Mapping[str, Any], path: KeyPath,
         files: _Files) -> AppAuth | None:
    _unknown_keys(p, table, path, _APP_KEYS)
    app_id = _int(p, table, path, "app_id", low=1, required=True)
    private_key = _source(p, table, path, "private_key", PRIVATE_KEY_KINDS, files)
    installation_id = _int(p, table, path, "installation_id", low=1)
    if app_id is None or private_key is None:
        return None
    return AppAuth(app_id, private_key, installation_id)


def _sync(p: _Problems, table: Mapping[str, Any], files: _Files) -> SyncConfig:
    path: KeyPath = ("sync",)
    default = SyncConfig()
    _unknown_keys(p, table, path, _SYNC_KEYS)
    state = _string(p, table, path, "state")
    prefix = _string(p, table, path, "prune_prefix")
    if prefix is not None and not _PREFIX.fullmatch(prefix):
        p.add((*path, "prune_prefix"), "may only contain letters, digits and underscores, "
              "as secret names do")
    concurrency = _int(p, table, path, "concurrency", low=1, high=MAX_CONCURRENCY)
    return SyncConfig(
        concurrency=default.concurrency if concurrency is None else concurrency,
        writes_per_minute=_number(p, table, path, "writes_per_minute", low=0),
        points_per_minute=_number(p, table, path, "points_per_minute", low=0),
        wait_for_reset=_bool(p, table, path, "wait_for_reset", default.wait_for_reset),
        state=None if state is None else files.local(state),
        prune=_bool(p, table, path, "prune", default.prune),
        prune_prefix=None if prefix is None else prefix.upper(),
        create_environments=_bool(p, table, path, "create_environments",
                                  default.create_environments),
        confine_files=_bool(p, table, path, "confine_files", default.confine_files),
    )


def _secret(p: _Problems, raw: object, index: int, default_org: str | None, org_reported: bool,
            files: _Files, target: Target = "secret") -> SecretSpec | None:
    """One [[secret]] (or [[variable]]), or None when it has problems (all of them added to
    `p`)."""
    path: KeyPath = (target, index)
    if not isinstance(raw, dict):
        p.add(path, f"must be a table ([[{target}]]), not {_type_name(raw)}")
        return None
    before = len(p.problems)
    _unknown_keys(p, raw, path, _SECRET_KEYS)
    name = _string(p, raw, path, "name", required=True)
    if name is not None and (problem := secret_name_problem(name)):
        p.add((*path, "name"), problem.replace("secret name", f"{target} name"))
    value: Source | str | None
    if target == "variable":
        value = _variable_value(p, raw, path, files)
        app = _choice(p, raw, path, "app", APPS, "actions")
        if app is not None and app not in VARIABLE_APPS:
            p.add((*path, "app"), f"{app!r} has secrets only: variables exist for "
                  f"{' and '.join(VARIABLE_APPS)}")
            app = None
    else:
        value = _source(p, raw, path, "value", VALUE_KINDS, files)
        app = _choice(p, raw, path, "app", APPS, "actions")
    org = _secret_org(p, raw, path, default_org, org_reported)
    org_table = raw.get("org")
    org_target = _org_target(p, org_table, (*path, "org")) if isinstance(org_table, dict) else None
    repos_table = _table(p, raw, path, "repos")
    repos = None if repos_table is None else _repos(p, repos_table, (*path, "repos"))
    environments = _environments(p, raw, path)
    for key, message in target_problems(raw, app, target):
        p.add((*path, *key), message)
    if len(p.problems) > before or name is None or value is None or org is None or app is None:
        return None
    return SecretSpec(name=name.upper(), value=value, app=app, org=org, org_target=org_target,
                      repos=repos, environments=environments, line=p.line_of(path),
                      target=target)


def _variable_value(p: _Problems, raw: Mapping[str, Any], path: KeyPath,
                    files: _Files) -> Source | str | None:
    """A [[variable]]'s value: a source (text starting env:, file:, cmd:, generate:), or the
    value itself, which may be shown (a variable is no secret)."""
    value = raw.get("value")
    if not isinstance(value, str):
        if value is None:
            p.add((*path, "value"), "is required")
        else:
            p.add((*path, "value"), f"must be a string (GitHub stores variables as text: "
                  f"write \"{value}\" in quotes), not {_type_name(value)}"
                  if isinstance(value, (int, float)) and not isinstance(value, bool)
                  else f"must be a string, not {_type_name(value)}")
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


def _secret_org(p: _Problems, raw: Mapping[str, Any], path: KeyPath,
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
              f"string naming the organisation, not {_type_name(org_value)}")
    org = owner or named or default_org
    if org is None and not org_reported and "owner" not in raw and not isinstance(org_value, str):
        p.add(path, f"no organisation: set org in [github], or owner = \"NAME\" in this "
              f"[[{target}]]")
    return org


def _org_target(p: _Problems, table: Mapping[str, Any], path: KeyPath) -> OrgTarget | None:
    _unknown_keys(p, table, path, _ORG_KEYS)
    visibility = _choice(p, table, path, "visibility", VISIBILITIES, None)
    selected = _patterns(p, table, path, "selected_repos")
    if selected is not None and visibility not in (None, "selected"):
        p.add((*path, "selected_repos"), f"only applies with visibility = \"selected\", "
              f"and visibility is {visibility!r}")
    if visibility is None:
        return None
    return OrgTarget(visibility, selected or ())


def _repos(p: _Problems, table: Mapping[str, Any], path: KeyPath) -> RepoSelector:
    _unknown_keys(p, table, path, _REPOS_KEYS)
    default = RepoSelector()
    match = _patterns(p, table, path, "match")
    if match == ():
        p.add((*path, "match"), "is empty and would select no repository; "
              "leave it out to mean every repository ([\"*\"])")
    regex = _string(p, table, path, "regex")
    if regex is not None and (problem := _regex_problem(regex)):
        p.add((*path, "regex"), problem)
    return RepoSelector(
        match=match or default.match,
        regex=regex,
        topics=tuple(t.lower() for t in _str_list(p, table, path, "topics") or ()),
        exclude=_patterns(p, table, path, "exclude") or (),
        include_archived=_bool(p, table, path, "include_archived", default.include_archived),
        include_forks=_bool(p, table, path, "include_forks", default.include_forks),
    )


def _regex_problem(regex: str) -> str | None:
    try:
        re.compile(regex)
    except re.error as exc:
        return f"is not a valid regular expression: {exc}"
    return None


def _environments(p: _Problems, raw: Mapping[str, Any], path: KeyPath) -> tuple[str, ...]:
    names = _str_list(p, raw, path, "environments")
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


def _patterns(p: _Problems, table: Mapping[str, Any], path: KeyPath,
              key: str) -> tuple[str, ...] | None:
    """Repository names or globs, which never contain "/" (they are names within the org)."""
    patterns = _str_list(p, table, path, key)
    for i, pattern in enumerate(patterns or ()):
        if "/" in pattern:
            p.add((*path, key, i), f"{pattern!r}: repository patterns are names within the "
                  "organisation, without \"ORG/\"")
    return patterns


def _source(p: _Problems, table: Mapping[str, Any], path: KeyPath, key: str,
            kinds: Sequence[str], files: _Files) -> Source | None:
    if key in table and not isinstance(table[key], str):
        # Never echoed: a literal value of the wrong type is still a value.
        p.add((*path, key), f"must be a string naming a source ({_syntax(kinds)}), "
              f"not {_type_name(table[key])}")
        return None
    spec = _string(p, table, path, key, required=True)
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
    return _outside_problem(written, local, base)


def _outside_problem(written: str, local: str, base: str | Path) -> str | None:
    inside = os.path.realpath(base)
    if os.path.commonpath([os.path.realpath(local), inside]) == inside:
        return None
    return (f"file:{written}: outside, once symbolic links are followed; [sync] confine_files "
            f"= true allows only files inside the config's folder ({base})")


def _org_name(p: _Problems, table: Mapping[str, Any], path: KeyPath, key: str) -> str | None:
    name = _string(p, table, path, key)
    if name is not None and not _ORG_NAME.fullmatch(name):
        p.add((*path, key), f"{name!r} is not an organisation name (like acme, without "
              "https://github.com/ or a repository)")
        return None
    return name


# ---------------------------------------------------------------------------------------------
# Typed getters: each adds a problem and returns None (or the default) when the value is wrong.


def _unknown_keys(p: _Problems, table: Mapping[str, Any], path: KeyPath,
                  allowed: Sequence[str]) -> None:
    for key in table:
        if key not in allowed:
            p.add((*path, key), unknown_key_message(key, allowed))


def unknown_key_message(key: str, allowed: Sequence[str]) -> str:
    """"unknown key 'visiblity'; did you mean 'visibility'?", else the keys that are known."""
    close = difflib.get_close_matches(key.lower(), allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r}; did you mean {close[0]!r}?"
    return f"unknown key {key!r}; known keys here: {', '.join(allowed)}"


def _type_name(value: object) -> str:
    names: dict[type, str] = {bool: "a boolean", int: "an integer", float: "a number",
                              str: "a string", list: "a list", dict: "a table"}
    return names.get(type(value), "a date or time")


def _table(p: _Problems, table: Mapping[str, Any], path: KeyPath,
           key: str) -> dict[str, Any] | None:
    value = table.get(key)
    if value is None or isinstance(value, dict):
        return value
    p.add((*path, key), f"must be a table ([{key_path(*path, key)}]), not {_type_name(value)}")
    return None


def _string(p: _Problems, table: Mapping[str, Any], path: KeyPath, key: str, *,
            required: bool = False) -> str | None:
    if key not in table:
        if required:
            p.add((*path, key), "is required")
        return None
    value = table[key]
    if not isinstance(value, str):
        p.add((*path, key), f"must be a string, not {_type_name(value)}")
        return None
    if not value.strip():
        p.add((*path, key), "must not be empty")
        return None
    return value


def _choice(p: _Problems, table: Mapping[str, Any], path: KeyPath, key: str,
            choices: Sequence[str], default: str | None) -> str | None:
    value = _string(p, table, path, key, required=default is None)
    if value is None:
        return default if key not in table else None
    if value not in choices:
        close = difflib.get_close_matches(value.lower(), choices, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        p.add((*path, key), f"{value!r} is not one of {', '.join(choices)}{hint}")
        return None
    return value


def _bool(p: _Problems, table: Mapping[str, Any], path: KeyPath, key: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        p.add((*path, key), f"must be true or false, not {_type_name(value)}")
        return default
    return value


def _int(p: _Problems, table: Mapping[str, Any], path: KeyPath, key: str, *, low: int,
         high: int | None = None, required: bool = False) -> int | None:
    if key not in table:
        if required:
            p.add((*path, key), "is required")
        return None
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int):
        p.add((*path, key), f"must be a whole number, not {_type_name(value)}")
        return None
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        p.add((*path, key), f"{value} is out of range: must be {bounds}")
        return None
    return value


def _number(p: _Problems, table: Mapping[str, Any], path: KeyPath, key: str, *,
            low: float) -> float | None:
    if key not in table:
        return None
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        p.add((*path, key), f"must be a number, not {_type_name(value)}")
        return None
    if not math.isfinite(value) or value < low:
        p.add((*path, key), f"{value} is out of range: must be a finite number, at least {low:g}")
        return None
    return float(value)


def _str_list(p: _Problems, table: Mapping[str, Any], path: KeyPath,
              key: str) -> tuple[str, ...] | None:
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, list):
        p.add((*path, key), f"must be a list of strings, not {_type_name(value)}")
        return None
    good = True
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            what = "an empty string" if isinstance(item, str) else _type_name(item)
            p.add((*path, key, i), f"must be a non-empty string, not {what}")
            good = False
    return tuple(value) if good else None


# ---------------------------------------------------------------------------------------------
# Duplicates that can be seen without asking GitHub


def duplicate_problems(specs: Sequence[tuple[int, SecretSpec]]) -> list[tuple[int, str]]:
    """(index, message) for each secret that surely writes the same place as an earlier one.

    Same org, app, target kind and name, and for repository and environment targets selectors
    that surely overlap (see _surely_overlap): two values would overwrite each other every run.
    """
    found: list[tuple[int, str]] = []
    # Each spec's targets as keys two specs share exactly when _same_target finds them the same;
    # a spec is then compared with the first earlier one sharing a key, not with every earlier
    # one: a config of many thousands of secrets is checked in linear time.
    first_at: dict[tuple[object, ...], int] = {}
    for n, (index, spec) in enumerate(specs):
        keys = _target_keys(spec)
        sharing = [first_at[k] for k in keys if k in first_at]
        if sharing:
            earlier_index, earlier = specs[min(sharing)]
            if where := _same_target(earlier, spec):
                line = f" (line {earlier.line})" if earlier.line else ""
                message = (f"{spec.name} is already written to {where} by "
                           f"{earlier.target}[{earlier_index}]{line}; the two values would "
                           "overwrite each other on every run")
                found.append((index, message))
        for key in keys:
            first_at.setdefault(key, n)
    return found


def _target_keys(spec: SecretSpec) -> list[tuple[object, ...]]:
    """Keys of the places `spec` writes, such that two specs share one exactly when
    _same_target calls them the same place (see _surely_overlap for the selectors)."""
    group = (spec.name, spec.org.lower(), spec.app)
    keys: list[tuple[object, ...]] = [(*group, "org")] if spec.org_target else []
    selector = spec.repos
    if selector is None or selector.regex or selector.topics:
        return keys
    match = frozenset(m.lower() for m in selector.match)
    overlap = [match, "*"] if "*" in match else [match]  # both matching "*" overlap too
    if spec.writes_repo_secrets:
        keys += [(*group, "repo", o) for o in overlap]
    keys += [(*group, "env", env.lower(), o) for env in spec.environments for o in overlap]
    return keys


def _same_target(a: SecretSpec, b: SecretSpec) -> str | None:
    if a.name != b.name or a.org.lower() != b.org.lower() or a.app != b.app:
        return None
    suffix = "" if a.app == "actions" else f" ({a.app})"
    if a.org_target and b.org_target:
        return f"the org {b.target} of {b.org}{suffix}"
    if not (a.repos and b.repos and _surely_overlap(a.repos, b.repos)):
        return None
    if a.writes_repo_secrets and b.writes_repo_secrets:
        return f"the repository {b.target}s of the same repositories of {b.org}{suffix}"
    common = sorted({e.lower() for e in a.environments} & {e.lower() for e in b.environments})
    if common:
        return f"environment {common[0]!r} of the same repositories of {b.org}"
    return None


def variable_count_problems(specs: Sequence[tuple[int, SecretSpec]]) -> list[tuple[int, str]]:
    """(index, message) for each [[variable]] that would be one too many for GitHub in a scope,
    as far as the config alone tells: org variables of one org, and repository (or environment)
    variables of identical [variable.repos] tables, which surely land in the same repositories.
    What already exists on GitHub is counted when the plan has read it."""
    names: dict[tuple[object, ...], set[str]] = {}
    found: list[tuple[int, str]] = []
    for index, spec in specs:
        for key, kind, where in _variable_places(spec):
            held = names.setdefault(key, set())
            held.add(spec.name)
            if len(held) == MAX_VARIABLES[kind] + 1:
                found.append((index, f"{spec.name} would be variable {len(held)} of {where}; "
                              f"GitHub allows at most {MAX_VARIABLES[kind]} {kind_words(kind)}"))
    return found


def kind_words(kind: str) -> str:
    """"repository variables" and kin, for messages."""
    return {"org": "organization variables", "repo": "repository variables",
            "env": "environment variables"}[kind]


def _variable_places(spec: SecretSpec) -> list[tuple[tuple[object, ...], str, str]]:
    """(key, scope kind, words) of each group of scopes `spec` surely writes alike."""
    group = (spec.org.lower(), spec.app)
    places: list[tuple[tuple[object, ...], str, str]] = []
    if spec.org_target is not None:
        places.append(((*group, "org"), "org", f"the org {spec.org}"))
    if spec.repos is not None:
        r = spec.repos
        selector = (frozenset(m.lower() for m in r.match), r.regex,
                    frozenset(t.lower() for t in r.topics), frozenset(e.lower() for e in r.exclude),
                    r.include_archived, r.include_forks)
        repos = f"each repository of {spec.org} its [variable.repos] selects"
        if not spec.environments:
            places.append(((*group, "repo", selector), "repo", repos))
        places += [((*group, "env", env.lower(), selector), "env",
                    f"environment {env!r} of {repos}") for env in spec.environments]
    return places


def _surely_overlap(a: RepoSelector, b: RepoSelector) -> bool:
    """Identical match lists, or both matching "*", with no regex or topics narrowing either.

    Differing `exclude` lists still overlap in practice; a regex or topics may well split the
    repositories in two (one value for some, another for the rest), so those are not flagged.
    """
    if a.regex or b.regex or a.topics or b.topics:
        return False
    ma, mb = {m.lower() for m in a.match}, {m.lower() for m in b.match}
    return ma == mb or ("*" in ma and "*" in mb)


def _matches_any(name: str, patterns: Collection[str]) -> bool:
    lowered = name.lower()
    return any(fnmatchcase(lowered, p.lower()) for p in patterns)
