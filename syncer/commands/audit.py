"""`syncer audit --org ORG`: which secret and variable lives where, and how old it is. Reads only.

An inventory of the org secrets and variables (visibility, number of selected repositories),
every repository's Actions, Dependabot, Codespaces and agent secrets, its Actions and agent
variables, and every environment's secrets and variables, with updated_at and age in days;
flags shadowing (a repository or environment secret or variable with the name of an org one its
workflows can see, which they use instead) and scopes at GitHub's limit. A variable's value is
shown only when asked for: it is not secret, but an inventory may be shared.
"""

from __future__ import annotations

import argparse
import csv
import enum
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from fnmatch import fnmatchcase

import structlog

from ..core.model import APPS, VARIABLE_APPS, App, OrgSelection, Repo, Scope, Target
from ..core.selection import sees_org_secret, select_repos
from ..execution.connect import connect, every_org
from ..execution.discover import for_each, org_selection, unless_unreadable
from ..execution.writes import where
from ..exits import Exit, UsageError
from ..github import errors
from ..github.api import SecretInfo, SecretsAPI
from ..github.org_tokens import acting_for
from . import Output, Request, Session, options

log = structlog.get_logger("syncer.audit")

#: today's columns first, in their order (scripts parse them); newer ones appended
COLUMNS = ("app", "kind", "scope", "name", "visibility", "selected_repos", "created_at",
           "updated_at", "age_days", "flags", "type", "value")
#: GitHub's most per scope, for secrets and for variables
SCOPE_LIMIT: dict[Target, dict[str, int]] = {
    "secret": {"org": 1000, "repo": 100, "env": 100},
    "variable": {"org": 1000, "repo": 500, "env": 100},
}


class Flag(enum.StrEnum):
    """What a row is flagged for, as the table, CSV and JSON print it."""

    SHADOWS_ORG_SECRET = "shadows-org-secret"
    SHADOWS_ORG_VARIABLE = "shadows-org-variable"
    SCOPE_AT_LIMIT_100 = "scope-at-limit-100"
    SCOPE_AT_LIMIT_500 = "scope-at-limit-500"
    SCOPE_AT_LIMIT_1000 = "scope-at-limit-1000"


#: a repository or environment one shadowing an org secret or variable of that name
SHADOWS: dict[Target, Flag] = {"secret": Flag.SHADOWS_ORG_SECRET,
                               "variable": Flag.SHADOWS_ORG_VARIABLE}
#: a scope holding as many as GitHub allows (every limit of SCOPE_LIMIT)
AT_LIMIT: dict[int, Flag] = {100: Flag.SCOPE_AT_LIMIT_100, 500: Flag.SCOPE_AT_LIMIT_500,
                             1000: Flag.SCOPE_AT_LIMIT_1000}
KINDS: dict[str, Target] = {"secrets": "secret", "variables": "variable"}  # --kind
#: what one scope holds, listed on its own: the secrets or the variables of one app
Store = tuple[App, Target]


def stores_for(apps: Sequence[App] = APPS, targets: Sequence[Target] = ("secret", "variable")
               ) -> list[Store]:
    """The listings an audit reads at each scope: every app's secrets, and the variables of the
    apps that have them. Pure."""
    return [(app, target) for target in targets for app in apps
            if target == "secret" or app in VARIABLE_APPS]


def stores_asked(app: App | None, kind: str | None) -> list[Store]:
    """The listings --app and --kind (None: every one) ask for; a UsageError for an app with
    no variables asked for its variables."""
    stores = stores_for((app,) if app else APPS, (KINDS[kind],) if kind else tuple(KINDS.values()))
    if not stores:
        raise UsageError(f"--app {app} has no variables (only {', '.join(VARIABLE_APPS)} "
                         "have them)")
    return stores


def _scope(org: str, store: Store, repo: Repo | None = None, env: str | None = None) -> Scope:
    """Where `store` is listed: the org's, a repository's, or an environment's of it."""
    app, target = store
    if repo is None:
        scope = Scope.of_org(org, app)
    elif env is None:
        scope = Scope.of_repo(org, repo.name, app, repo.id)
    else:
        scope = Scope.of_env(org, repo.name, env, repo.id)
    return scope.variables() if target == "variable" else scope


@dataclass(frozen=True)
class Found:
    """One secret or variable as listed, before judgement."""

    scope: Scope
    info: SecretInfo  # a variable's name, dates and visibility too
    selection: OrgSelection | None = None  # org secrets and variables: who may read it
    value: str | None = None  # a variable's (GitHub returns it)


@dataclass(frozen=True)
class Row:
    app: str
    kind: str
    scope: str
    name: str
    visibility: str
    selected_repos: int | None
    created_at: str | None
    updated_at: str | None
    age_days: int | None
    flags: tuple[Flag, ...] = field(default=())
    type: Target = "secret"
    value: str | None = None  # a variable's, with --show-values only


def _selected_count(selection: OrgSelection | None) -> int | None:
    if selection is None or selection.visibility != "selected":
        return None
    return len(selection.repository_ids)


def _age_days(stamp: str | None, now: datetime) -> int | None:
    if not stamp:
        return None
    # a server clock a little ahead of ours would make a fresh secret -1 days old
    return max(0, (now - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).days)


def audit_rows(found: Sequence[Found], repos: Sequence[Repo], now: datetime, *,
               name_glob: str | None = None, older_than: int | None = None,
               show_values: bool = False) -> list[Row]:
    """Judge an inventory: ages, shadowing, scopes at their limit; then filter. Pure."""
    org_level = {(f.scope.app, f.scope.target, f.info.name): f.selection for f in found
                 if f.scope.kind == "org"}
    by_name = {r.name: r for r in repos}
    per_scope: dict[Scope, int] = {}
    for f in found:
        per_scope[f.scope] = per_scope.get(f.scope, 0) + 1
    rows = []
    for f in found:
        flags: list[Flag] = []
        target = f.scope.target
        shadowed = org_level.get((f.scope.app, target, f.info.name))
        if f.scope.kind != "org" and shadowed is not None \
                and sees_org_secret(shadowed, by_name.get(f.scope.repo or "")):
            flags.append(SHADOWS[target])
        limit = SCOPE_LIMIT[target][f.scope.kind]
        if per_scope[f.scope] >= limit:
            flags.append(AT_LIMIT[limit])
        rows.append(Row(f.scope.app, f.scope.kind, where(f.scope), f.info.name,
                        f.info.visibility or "", _selected_count(f.selection), f.info.created_at,
                        f.info.updated_at, _age_days(f.info.updated_at, now), tuple(flags),
                        target, f.value if show_values else None))
    if name_glob:
        rows = [r for r in rows if fnmatchcase(r.name, name_glob.upper())]
    if older_than is not None:
        rows = [r for r in rows if r.age_days is not None and r.age_days >= older_than]
    return sorted(rows, key=lambda r: (r.kind != "org", r.scope.lower(), r.app, r.type, r.name))


@dataclass
class Inventory:
    found: list[Found]
    repos: Sequence[Repo]
    #: repositories GitHub would not show (a 403, a 5xx past every retry), with its answer
    unreadable: list[tuple[str, str]]


async def inventory(api: SecretsAPI, org: str, repos: Sequence[Repo], concurrency: int,
                    stores: Sequence[Store] | None = None) -> Inventory:
    """Everything `stores` (default: every app's secrets and variables) hold in `org` and its
    `repos`. A listing this server does not have (its org endpoint answers 404: agents or
    Codespaces on Enterprise Server) is passed over, said once in the log; one GitHub refuses
    (a token without org admin, say) is noted as unread, and the rest are still listed."""
    found: list[Found] = []
    unreadable: list[tuple[str, str]] = []
    served: list[Store] = []
    stores = stores_for() if stores is None else stores
    org_problems: list[tuple[str, str]] = []
    for store in stores:
        scope = _scope(org, store)
        try:
            for info, value in await _listing(api, scope):
                found.append(Found(scope, info, await org_selection(api, scope, info), value))
        except errors.NotFound:
            continue
        except errors.RUN_ENDING:
            raise
        except errors.GitHubError as exc:  # the repositories may still show theirs
            org_problems.append((_what(scope), str(exc)))
        served.append(store)
    if org_problems:
        unreadable.append((org, _why(org_problems)))
    if missing := [store for store in stores if store not in served]:
        log.info("not_served", org=org, hint="this server has none of these: not listed",
                 listings=", ".join(f"{app} {target}s" for app, target in missing))

    async def look_in(repo: Repo) -> None:
        problems: list[tuple[str, str]] = []
        found.extend(await _in_repo(api, org, repo, served, problems))
        if problems:
            unreadable.append((f"{org}/{repo.name}", _why(problems)))

    await for_each(repos, look_in, concurrency)
    return Inventory(found, repos, sorted(unreadable))


def _what(scope: Scope) -> str:
    """What a listing reads, for people: "agents variables", "environment production's
    secrets"."""
    if scope.kind == "env":
        return f"environment {scope.env}'s {scope.target}s"
    return f"{scope.app} {scope.target}s"


def _why(problems: Sequence[tuple[str, str]]) -> str:
    return "; ".join(f"{what} could not be listed ({why})" for what, why in problems)


async def _listing(api: SecretsAPI, scope: Scope) -> list[tuple[SecretInfo, str | None]]:
    """A scope's secrets, or its variables with their values."""
    if scope.target == "secret":
        return [(info, None) for info in await api.secrets(scope)]
    return [(SecretInfo(v.name, v.created_at, v.updated_at, v.visibility), v.value)
            for v in await api.variables(scope)]


async def _in_repo(api: SecretsAPI, org: str, repo: Repo, stores: Sequence[Store],
                   problems: list[tuple[str, str]]) -> list[Found]:
    """What one repository and its environments hold; each listing GitHub refuses (a 403, a
    5xx past every retry) is noted in `problems` and the others are still read."""
    found: list[Found] = []

    async def read(scope: Scope) -> None:
        with unless_unreadable(problems, _what(scope)):
            found.extend(Found(scope, info, value=value)
                         for info, value in await _listing(api, scope))

    for store in stores:
        await read(_scope(org, store, repo))
    in_envs = [store for store in stores if store[0] == "actions"]  # only Actions has them
    environments: list[str] = []
    if in_envs:
        with unless_unreadable(problems, "environments"):
            environments = await api.environments(org, repo.name)
    for env in environments:
        for store in in_envs:
            await read(_scope(org, store, repo, env))
    return found


async def run_audit(api: SecretsAPI, org: str, *, repos_globs: Sequence[str], concurrency: int,
                    include_archived: bool = True, stores: Sequence[Store] | None = None
                    ) -> Inventory:
    try:
        repos = select_repos([r async for r in api.org_repos(org)], repos_globs,
                             include_archived=include_archived)
        return await inventory(api, org, repos, concurrency, stores)
    except errors.NotFound as exc:
        raise UsageError(exc.message) from None


def render(rows: Iterable[Row], fmt: str, *, show_values: bool = False) -> str:
    """json and csv carry every column (a `value` only where --show-values filled it); the
    table shows `value` only when asked for."""
    rows = list(rows)
    if fmt == "json":
        return json.dumps([{**asdict(r), "flags": list(r.flags)} for r in rows], indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow([_cell(getattr(r, c)) for c in COLUMNS])
        return out.getvalue().rstrip("\n")
    return _table(rows, show_values)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ";".join(value)
    return str(value)


TABLE_COLUMNS = ("app", "scope", "name", "visibility", "selected_repos", "updated_at",
                 "age_days", "flags", "type")


def _table(rows: Sequence[Row], show_values: bool) -> str:
    shown = TABLE_COLUMNS + (("value",) if show_values else ())
    cells = [[_cell(getattr(r, c)) for c in shown] for r in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(shown)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(shown, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
              for row in cells]
    lines.append(summary_line(rows))
    return "\n".join(lines)


def summary_line(rows: Sequence[Row]) -> str:
    """"12 secrets, 3 variables, 2 shadowing an org secret or variable". Pure."""
    variables = sum(r.type == "variable" for r in rows)
    shadowing = sum(any(f in SHADOWS.values() for f in r.flags) for r in rows)
    return (f"{len(rows) - variables} secrets, {variables} variables, {shadowing} shadowing "
            "an org secret or variable")


# --- the command ---------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("List every org, repository and environment secret (Actions, "
                           "Dependabot, Codespaces, agents) and variable (Actions, agents) of ORG "
                           "with its age; flag shadowing and full scopes. Reads only.")
    options.add_output(parser)
    options.add_connection(parser)
    options.add_app(parser)
    options.add_orgs(parser)
    parser.add_argument("--repos", action="append", default=[], metavar="GLOB",
                        type=options.name_argument,
                        help="only repositories whose name matches (repeatable)")
    parser.add_argument("--name", metavar="GLOB",
                        help="only secrets and variables whose name matches")
    parser.add_argument("--older-than", type=options.positive_int, metavar="DAYS",
                        help="only secrets and variables last updated at least DAYS ago")
    parser.add_argument("--app", choices=APPS,
                        help="only this app's secrets and variables (default: every app)")
    parser.add_argument("--kind", choices=("secrets", "variables"),
                        help="only secrets, or only variables (default: both)")
    parser.add_argument("--show-values", action="store_true",
                        help="show each variable's value (off by default: an inventory may be "
                        "shared; secrets' values are never readable)")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table",
                        help="table for people; json or csv (columns: "
                        "app,kind,scope,name,visibility,selected_repos,created_at,updated_at,"
                        "age_days,flags,type,value) for machines")
    options.add_report(parser)


@dataclass(frozen=True)
class AuditRequest(Request):
    orgs: tuple[str, ...]  # () with --all-orgs
    all_orgs: bool
    stores: tuple[Store, ...]
    repos: tuple[str, ...]
    name: str | None
    older_than: int | None
    show_values: bool
    format: str
    connection: options.Connection
    app: options.AppOptions
    report: str | None


def request_from(namespace: argparse.Namespace) -> AuditRequest:
    return AuditRequest(
        options.orgs_named(namespace.org), namespace.all_orgs,
        tuple(stores_asked(namespace.app, namespace.kind)), tuple(namespace.repos),
        namespace.name, namespace.older_than, namespace.show_values, namespace.format,
        options.connection_from(namespace), options.app_options_from(namespace),
        namespace.report)


@dataclass(frozen=True)
class AuditResult:
    rows: list[Row]
    unreadable: list[tuple[str, str]]
    orgs: int
    requests: int
    not_modified: int


async def run(request: AuditRequest, session: Session) -> AuditResult:
    options.check_report_path(request.report)
    settings = options.settings_from(request.connection)
    token = options.credentials(request.app, request.connection.token_env, request.orgs,
                                settings, all_orgs=request.all_orgs)
    settings = replace(settings, response_cache=options.response_cache())
    inventories = []
    async with connect(settings, token, stop=session.stop) as run:
        orgs = request.orgs or tuple(await every_org(run, token))
        for org in orgs:
            with acting_for(org):  # a GitHub App's token for this org
                inventories.append(await run_audit(
                    run.api, org, repos_globs=request.repos, concurrency=settings.concurrency,
                    stores=request.stores))
        requests = run.client.pacer.stats.requests
        not_modified = run.client.cache.hits if run.client.cache else 0
    now = datetime.now(UTC)
    rows = [row for inventory in inventories  # shadowing is within one org
            for row in audit_rows(inventory.found, inventory.repos, now,
                                  name_glob=request.name, older_than=request.older_than,
                                  show_values=request.show_values)]
    unreadable = [u for inventory in inventories for u in inventory.unreadable]
    return AuditResult(rows, unreadable, len(inventories), requests, not_modified)


def report(request: AuditRequest, result: AuditResult, output: Output) -> int:
    print(render(result.rows, request.format, show_values=request.show_values), file=output.stdout)
    for place, why in result.unreadable:
        print(f"unread {place}: {why}", file=output.stderr)
    variables = sum(row.type == "variable" for row in result.rows)
    log.info("summary", secrets=len(result.rows) - variables, variables=variables,
             orgs=result.orgs, requests=result.requests, not_modified=result.not_modified,
             unreadable_repositories=len(result.unreadable))
    code = int(Exit.FAILED if result.unreadable else Exit.OK)
    if request.report:
        from ..observe import report as run_report

        options.write_report(request.report, run_report.build(
            "audit", code, None,
            extra_counts={"secrets": len(result.rows) - variables, "variables": variables},
            unread=run_report.unread_repositories(result.unreadable)))
    return code
