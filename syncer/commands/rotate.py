"""`syncer rotate NAME --org ORG`: a new value everywhere the secret already lives.

Finds the org secret (keeping its visibility and selected repositories exactly as they are),
every repository secret and every environment secret of that name, writes the new value to
exactly those places, and reports each one. With --generate the new value is made here and
saved to --output before the first write, so it can never be lost between GitHub and the
operator (and a run that writes nothing leaves no file behind).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import structlog

from ..core.model import APPS, Action, App, Op, OrgSelection, Outcome, Repo, Result, Scope, SecretValue
from ..core.names import secret_name_problem
from ..core.selection import no_match, sees_org_secret, select_repos, unmatched_patterns
from ..execution.connect import Settings, connect, every_org
from ..execution.discover import Locations, locate
from ..execution.interrupt import Interrupt
from ..execution.writes import host_of, inputs_id, one_value_fingerprints, resumable, write_resumably
from ..exits import Exit, UsageError
from ..github import errors
from ..github.api import SecretInfo, SecretsAPI
from ..github.client import TokenSource
from ..github.org_tokens import acting_for
from ..observe import redact
from ..observe.summary import Summary, show, stop_text
from ..sources import KEPT_SYNTAX, Source, generate, parse_source
from ..store.state import State
from . import Output, Request, Session, options
from .one_name import read_value

log = structlog.get_logger("syncer.rotate")


@dataclass(frozen=True)
class RotateRequest:
    name: str
    org: str  # with several (--org repeated), the first
    app: App | None = None  # None: every kind of secret GitHub has (a leak lives wherever its name does)
    repos: tuple[str, ...] = ()
    include_archived: bool = False
    dry_run: bool = False
    org_secret: bool = True  # rotate the org secret where there is one
    more_orgs: tuple[str, ...] = ()
    all_orgs: bool = False  # every org the credentials can see (resolved when connected)

    @property
    def orgs(self) -> tuple[str, ...]:
        return (self.org, *self.more_orgs)

    @property
    def apps(self) -> tuple[App, ...]:
        return (self.app,) if self.app is not None else APPS


@dataclass(frozen=True)
class Found:
    """Where the name lives in one org, for one kind of secret."""

    org: str
    app: App
    locations: Locations


@dataclass
class RotateResult:
    found: list[Found]
    outcomes: list[Outcome]
    shadowed: list[Scope]
    summary: Summary
    earlier: list[Scope] = field(default_factory=list)  # written by the interrupted run

    @property
    def org_secrets(self) -> list[tuple[Scope, OrgSelection]]:
        return [(Scope.of_org(f.org, f.app), f.locations.org) for f in self.found
                if f.locations.org is not None]

    @property
    def places(self) -> list[Scope]:
        """The repository and environment secrets found."""
        return [s for f in self.found for s in f.locations.repos + f.locations.envs]

    @property
    def unreadable(self) -> list[tuple[str, str]]:
        return [u for f in self.found for u in f.locations.unreadable]

    @property
    def complete(self) -> bool:
        """Every place written, and every repository searched."""
        bad = any(o.result in (Result.FAILED, Result.SKIPPED) for o in self.outcomes)
        return not (bad or self.unreadable)


def check_output(path: str) -> None:
    """Refuse, before any request, an --output that exists or whose folder does not."""
    if path == "-":  # a value on standard output would reach a terminal's scrollback or a log
        raise UsageError("--output -: give a file path; the new value is never printed")
    target = Path(path).expanduser()
    if target.exists() or target.is_symlink():
        raise UsageError(_already_exists(path))
    if not target.parent.is_dir():
        raise UsageError(f"--output {path}: cannot create it (no such folder)")


def save_generated(value: SecretValue, path: str) -> None:
    """Write a generated value to `path` (mode 0600, never over an existing file) before the
    first write, so a new credential exists somewhere before GitHub holds it."""
    target = Path(path).expanduser()
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UsageError(_already_exists(path)) from None
    except OSError as exc:
        raise UsageError(f"--output {path}: cannot create it ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(value.reveal())
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        target.unlink(missing_ok=True)
        raise UsageError(f"--output {path}: cannot write it ({exc.strerror})") from None
    print(f"saved the new value to {path} (mode 0600) before writing it", file=sys.stderr)


def _already_exists(path: str) -> str:
    return (f"--output {path}: already exists; refusing to overwrite it (if an earlier run "
            f"generated it and stopped, write that value with --value-from file:{path})")


def rotation_actions(name: str, org: str, app: App, where: Locations, *,
                     org_secret: bool = True) -> list[Action]:
    """One PUT per place the secret lives (the org secret only if `org_secret`); the org secret
    keeps its visibility and selection."""
    actions = []
    if where.org is not None and org_secret:
        actions.append(Action(Op.PUT, Scope.of_org(org, app), name, where.org, "rotate"))
    actions += [Action(Op.PUT, scope, name, reason="rotate") for scope in where.repos + where.envs]
    return actions


def shadowing(where: Locations, repos: Sequence[Repo]) -> list[Scope]:
    """Repository and environment secrets that hide the org secret of the same name from the
    workflows of repositories that can see it: rotating the org secret alone would leave
    those workflows on the old value."""
    org = where.org
    if org is None:
        return []
    by_name = {r.name: r for r in repos}
    return [s for s in where.repos + where.envs
            if sees_org_secret(org, by_name.get(s.repo or ""))]


async def run_rotate(request: RotateRequest, value: SecretValue | None, settings: Settings,
                     token: str | TokenSource, state: State, *, fresh: bool = False,
                     show_progress: bool | None = None,
                     before_writing: Callable[[], None] | None = None,
                     stop: Interrupt | None = None) -> RotateResult:
    """Find the places, then write them; `before_writing` runs once there is something to
    write, before the first write (it saves a generated value)."""
    started = time.monotonic()
    async with connect(settings, token, stop=stop) as run:
        if request.all_orgs:
            orgs = await every_org(run, token)
            request = replace(request, org=orgs[0], more_orgs=tuple(orgs[1:]), all_orgs=False)
        found: list[Found] = []
        shadowed: list[Scope] = []
        actions: list[Action] = []
        for org in request.orgs:
            with acting_for(org):  # a GitHub App's token for this org
                repos = await _repos_of(run.api, request, org)
                for app in await _apps_served(run.api, org, request.apps, request.app is None):
                    where = await locate(run.api, org, request.name, app, repos,
                                         settings.concurrency)
                    found.append(Found(org, app, where))
                    shadowed += shadowing(where, repos)
                    actions += rotation_actions(request.name, org, app, where,
                                                org_secret=request.org_secret)
        for scope in shadowed:
            # one line on stderr warns people; the event per place is for machines
            log.info("shadows_org_secret", secret=request.name, scope=str(scope),
                     hint="workflows there use this secret, not the org secret")
        if request.dry_run or not actions:
            return RotateResult(found, [], shadowed, run.summary([], started))
        assert value is not None, "only a dry run goes without a value"
        if before_writing is not None:
            before_writing()

        fingerprint, whole_value = one_value_fingerprints(state, settings.api_url, value,
                                                          request.app or "any", request.name)
        inputs = inputs_id("rotate", host_of(settings.api_url), ",".join(request.orgs),
                           request.app or "", request.name, str(request.include_archived),
                           *request.repos, str(request.org_secret), whole_value)
        updated_at = {scope: at for f in found for scope, at in f.locations.updated_at.items()}

        async def on_github(action: Action) -> SecretInfo | None:  # as located just now
            return SecretInfo(action.name, None, updated_at.get(action.scope))

        writes = [(host_of(settings.api_url), org, request.name) for org in request.orgs]
        with resumable(state, inputs, fingerprint, fresh=fresh, writes=writes) as resume:
            outcomes = await write_resumably(run, resume, actions, lambda _: value,
                                             show_progress, on_github)
        return RotateResult(found, outcomes, shadowed, run.summary(outcomes, started),
                            [a.scope for a in resume.earlier])


async def _repos_of(api: SecretsAPI, request: RotateRequest, org: str) -> list[Repo]:
    try:
        listed = [r async for r in api.org_repos(org)]
    except errors.NotFound as exc:
        raise UsageError(exc.message) from None
    if unmatched := unmatched_patterns((r.name for r in listed), request.repos):
        raise UsageError(f"{no_match(org, unmatched)}; nothing was written")
    return select_repos(listed, request.repos, include_archived=request.include_archived)


async def _apps_served(api: SecretsAPI, org: str, apps: Sequence[App],
                       every: bool) -> list[App]:
    """The kinds of secret this server has for `org`. Looking everywhere (no --app), one an
    Enterprise Server lacks (its org public key answers 404) is passed over, said in the log;
    asked for by name, it is looked in anyway (and fails as GitHub answers)."""
    if not every:
        return list(apps)
    served = []
    for app in apps:
        try:
            await api.public_key(Scope.of_org(org, app))
        except errors.NotFound:
            log.info("app_not_served", org=org, app=app,
                     hint="this server has no such secrets: not looked in")
            continue
        except errors.GitHubError:
            pass  # no org admin, say: the repositories are still looked in
        served.append(app)
    return served


def report_lines(request: RotateRequest, result: RotateResult) -> list[str]:
    """Proof of where the new value landed (or would land), one line per place, and the
    repositories that could not be searched for the secret."""
    unread = [f"unread   {place}: could not look for {request.name} there ({why})"
              for place, why in result.unreadable]
    if request.dry_run:
        lines = []
        if request.org_secret:
            lines += [f"would rotate {request.name} in {scope} (org secret, {selection.describe()})"
                      for scope, selection in result.org_secrets]
        lines += [f"would rotate {request.name} in {s}" for s in result.places]
        return lines + unread
    earlier = [f"{'done':<8} {request.name} in {scope} (by the interrupted run)"
               for scope in result.earlier]
    return earlier + [_proof_line(request.name, o) for o in result.outcomes] + unread


def _proof_line(name: str, outcome: Outcome) -> str:
    if outcome.result is Result.SKIPPED:
        why = stop_text(outcome.stopped_by) if outcome.stopped_by else ""
        return f"not written {name} in {outcome.action.scope}" + (f": {why}" if why else "")
    selection = outcome.action.selection
    readers = f" (org secret, {selection.describe()})" if selection is not None else ""
    return (f"{outcome.result.value:<8} {name} in {outcome.action.scope}{readers}"
            + (f": {outcome.error}" if outcome.error else ""))



# --- the command ---------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Find NAME at org level, in every repository and every environment "
                          "of ORG, and write the new value to exactly those places.")
    options.add_writing_in_orgs(parser, "the secret to rotate")
    source = parser.add_mutually_exclusive_group()  # one of them, unless --dry-run
    source.add_argument("--value-from", metavar="SOURCE",
                        help="env:VAR, file:PATH, cmd:COMMAND, or - for standard input")
    source.add_argument("--generate", type=options.positive_int, metavar="N",
                        help="make a random value from N bytes (URL-safe); needs --output")
    parser.add_argument("--output", metavar="PATH",
                        help="with --generate: save the new value here first (mode 0600, never "
                        "overwritten)")
    parser.add_argument("--app", choices=APPS,
                        help="only this kind of secret (default: every kind, Actions, "
                        "Dependabot, Codespaces and agents, wherever the name lives)")
    parser.add_argument("--repos", action="append", default=[], metavar="GLOB",
                        type=options.name_argument,
                        help="only repositories whose name matches (repeatable); the org secret "
                        "is then left as is unless --with-org-secret")
    parser.add_argument("--with-org-secret", action="store_true",
                        help="with --repos: rotate the org secret too")
    options.add_archived_dry_run_report(parser, archived="also look in archived repositories",
                                        dry_run="list where it lives, write nothing")


@dataclass(frozen=True)
class RotateCommandRequest(Request):
    rotation: RotateRequest
    source: Source | None  # --value-from; None with --generate (or a dry run)
    generate: int | None
    output: str | None
    connection: options.Connection
    app: options.AppOptions
    state: str | None
    fresh: bool
    report: str | None

    @property
    def how_to_resume(self) -> str:
        if self.generate is not None:
            # the same command would refuse the --output it saved, and would generate anew
            return (f"resume with --value-from file:{self.output} in place of --generate and "
                    "--output")
        return super().how_to_resume


def request_from(namespace: argparse.Namespace) -> RotateCommandRequest:
    problems = [problem] if (problem := secret_name_problem(namespace.name)) else []
    if not namespace.dry_run and namespace.value_from is None and namespace.generate is None:
        problems.append("--value-from SOURCE or --generate N is required (a --dry-run needs "
                        "neither)")
    if namespace.with_org_secret and not namespace.repos:
        problems.append("--with-org-secret goes with --repos (without it the org secret is "
                        "rotated anyway)")
    if namespace.generate is not None and not namespace.output:
        problems.append("--generate needs --output PATH, so the new value is kept somewhere")
    if namespace.generate is not None and not 16 <= namespace.generate <= 4096:
        problems.append("--generate N: N must be from 16 to 4096 bytes")
    source = None
    if namespace.value_from is not None:
        try:
            source = parse_source(namespace.value_from, KEPT_SYNTAX)
        except ValueError as exc:
            problems.append(str(exc))
        else:
            if source.kind == "generate":
                problems.append("--value-from generate:N would write a value nobody keeps; "
                                "use --generate N --output PATH")
    if problems:
        raise UsageError("; ".join(problems))
    orgs = options.orgs_named(namespace.org)
    rotation = RotateRequest(namespace.name.upper(), orgs[0] if orgs else "", namespace.app,
                             tuple(namespace.repos), namespace.include_archived, namespace.dry_run,
                             org_secret=not namespace.repos or namespace.with_org_secret,
                             more_orgs=orgs[1:], all_orgs=namespace.all_orgs)
    return RotateCommandRequest(rotation, source, namespace.generate, namespace.output,
                                options.connection_from(namespace),
                                options.app_options_from(namespace), namespace.state,
                                namespace.fresh, namespace.report)


async def run(request: RotateCommandRequest, session: Session) -> RotateResult:
    rotation = request.rotation
    options.check_report_path(request.report)
    settings = options.settings_from(request.connection)
    orgs = rotation.orgs if rotation.org else ()
    token = options.credentials(request.app, request.connection.token_env, orgs, settings,
                                all_orgs=rotation.all_orgs)
    if request.source is None and request.generate is not None:
        assert request.output is not None
        check_output(request.output)
    state = options.open_state(request.state)
    with options.locked_unless_dry_run(rotation.dry_run, state):
        value, save = None, None  # a dry run reads no value: a cmd: source may mint a credential
        if not rotation.dry_run and request.source is not None:
            value = read_value(request.source)
        elif not rotation.dry_run:
            assert request.generate is not None and request.output is not None
            value = generate(request.generate)
            redact.register(value.reveal())
            save = partial(save_generated, value, request.output)
        return await run_rotate(rotation, value, settings, token, state, fresh=request.fresh,
                                show_progress=session.show_progress, before_writing=save,
                                stop=session.stop)


def report(request: RotateCommandRequest, result: RotateResult, output: Output) -> int:
    rotation, name = request.rotation, request.rotation.name
    for line in report_lines(rotation, result):
        print(line, file=output.stdout)
    code = Exit.OK if result.complete else Exit.FAILED
    error = None
    if not result.org_secrets and not result.places:
        unread = (f"; {len(result.unreadable)} repositories could not be searched (listed "
                  "above)" if result.unreadable else "")
        app = rotation.app
        places = ("Dependabot: org or repositories" if app == "dependabot" else
                  "org, repositories or environments" if app == "actions" else
                  f"{app}: org or repositories" if app else
                  "org, repositories or environments; " + ", ".join(rotation.apps) + " secrets")
        error = f"{name} was not found in {' or '.join(rotation.orgs)} ({places}){unread}"
    elif not result.places and not rotation.org_secret:
        error = (f"{name} was not found in the repositories --repos selects; the org secret "
                 "was left as is (add --with-org-secret to rotate it)")
    if error is not None:
        options.write_report(request.report, _run_report(Exit.FAILED, result, name))
        print(f"syncer: error: {error}", file=output.stderr)
        return int(Exit.FAILED)
    if result.org_secrets and not rotation.org_secret:
        print(f"warning: the org secret {name} was left as is (--repos narrows the rotation to "
              "repository and environment secrets; add --with-org-secret to rotate it too)",
              file=output.stderr)
    if result.shadowed:
        shadows = len(result.shadowed)
        print(f"warning: {shadows} repository/environment secret{'s' * (shadows != 1)} named "
              f"{name} shadow{'s' * (shadows == 1)} the org secret; workflows there use "
              f"{'those' if shadows != 1 else 'it'}, not the org secret",
              file=output.stderr)
    if not rotation.dry_run:
        log.info("summary", secret=name, shadowed=len(result.shadowed),
                 unread=len(result.unreadable), **result.summary.as_event())
        show(result.summary, output.stderr)
    if result.unreadable:
        print(f"unread {len(result.unreadable)}: repositories GitHub would not show (listed "
              f"above, with why); {name} may live there too, with its old value",
              file=output.stderr)
    options.write_report(request.report, _run_report(code, result, name))
    return int(code)


def _run_report(code: int, result: RotateResult, name: str) -> dict[str, Any]:
    from ..observe import report as run_report

    return run_report.build(
        "rotate", code, result.summary,
        targets=run_report.write_targets(result.summary.outcomes,
                                         run_report.WriteReason.SECRET_LIVES_HERE,
                                         [(s, name) for s in result.earlier]),
        unread=run_report.unread_repositories(result.unreadable))
