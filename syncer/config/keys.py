"""Every key of the config file: its table, type and help (the schema of keys). What the checks
accept (syncer/config/checks.py) and what `syncer config schema` (json_schema.py) tells
editors both come from here."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.limits import DEFAULT_CONCURRENCY, MAX_CONCURRENCY
from ..core.model import APPS, VARIABLE_APPS
from ..github.pacing_rules import DEFAULT_POINTS_PER_MINUTE, DEFAULT_WRITES_PER_MINUTE

__all__ = ["KEYS", "ORG_NAME", "PRIVATE_KEY_KINDS", "PRUNE_PREFIX", "VALUE_KINDS",
           "VARIABLE_VALUE_KINDS", "VISIBILITIES", "Key", "key_names"]

VISIBILITIES: tuple[str, ...] = ("all", "private", "selected")
VALUE_KINDS: tuple[str, ...] = ("env", "file", "cmd", "generate")
#: a variable's value is kept in the config or read from these (a generated value nobody keeps
#: would make every run an update)
VARIABLE_VALUE_KINDS: tuple[str, ...] = ("env", "file", "cmd")
PRIVATE_KEY_KINDS: tuple[str, ...] = ("file", "env")

ORG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
PRUNE_PREFIX = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True, slots=True)
class Key:
    """One key of a config table: the keys the checker knows, and what `syncer config schema`
    (syncer/config/json_schema.py) tells editors about each. The checks themselves stay in
    checks.py; tests/test_config_schema.py holds the two to agreeing."""

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
            "otherwise.", pattern=ORG_NAME.pattern),
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
        Key("concurrency", "integer",
            f"Targets in progress at once. Default {DEFAULT_CONCURRENCY}.", low=1,
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
            pattern=PRUNE_PREFIX.pattern),
        Key("create_environments", "boolean", "Create missing environments. Default false."),
        Key("confine_files", "boolean", "file: sources must stay inside the config's folder. "
            "Default false."),
    ),
    "secret": (
        Key("name", "string", "The secret's name (stored upper-case).", required=True),
        Key("value", "source", "Where the value comes from: env:VAR, file:PATH, cmd:COMMAND "
            "or generate:N. Never the value itself.", choices=VALUE_KINDS, required=True),
        Key("app", "choice", "Which secrets store. Default actions.", choices=APPS),
        Key("owner", "string", "This secret's organisation.", pattern=ORG_NAME.pattern),
        Key("org", "name_or_table", "[secret.org]: the org-level secret; or a string naming this "
            "secret's organisation.", pattern=ORG_NAME.pattern, table="secret.org"),
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
        Key("owner", "string", "This variable's organisation.", pattern=ORG_NAME.pattern),
        Key("org", "name_or_table", "[variable.org]: the org-level variable; or a string "
            "naming this variable's organisation.", pattern=ORG_NAME.pattern,
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


def key_names(table: str) -> tuple[str, ...]:
    return tuple(key.name for key in KEYS[table])


