"""`syncer set NAME --org ORG`: one secret into every matching repository, environment, or the org."""

from __future__ import annotations

import difflib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace

import structlog

from ..core.model import (
    VARIABLE_APPS,
    Action,
    App,
    Op,
    OrgSelection,
    Repo,
    Result,
    Scope,
    SecretValue,
    Target,
    Visibility,
)
from ..core.names import secret_name_problem, value_problem
from ..core.selection import no_match, select_repos, unmatched_patterns, wanted
from ..execution.connect import Run, Settings, connect, every_org
from ..execution.discover import for_each, org_selection
from ..execution.engine import StreamBroken
from ..execution.interrupt import Interrupt
from ..execution.writes import host_of, inputs_id, one_value_fingerprints, resumable, write_resumably
from ..exits import UsageError
from ..github import errors
from ..github.client import TokenSource
from ..github.org_tokens import acting_for
from ..observe import redact
from ..observe.summary import Summary
from ..sources import KEPT_SYNTAX, Source, SourceError, parse_source, read_source
from ..store.state import State

log = structlog.get_logger("syncer.set")


@dataclass(frozen=True)
class SetRequest:
    name: str
    org: str  # the org to act in; with several (--org repeated), the first
    source: Source | None
    repos: tuple[str, ...] = ()
    env: str | None = None
    org_level: bool = False
    #: None: an existing org secret keeps its visibility and selected repositories (a new one
    #: is private), so changing a value never changes who can read it
    visibility: Visibility | None = None
    app: App = "actions"
    include_archived: bool = False
    dry_run: bool = False
    more_orgs: tuple[str, ...] = ()  # --org given more than once: the others, in order
    all_orgs: bool = False  # every org the credentials can see (resolved when connected)
    target: Target = "secret"  # `syncer variable set`: a variable, whose value is no secret
    literal: str | None = None  # a variable's value given on the command line (--value)

    @property
    def orgs(self) -> tuple[str, ...]:
        return (self.org, *self.more_orgs)

    def acting_in(self, org: str) -> SetRequest:
        """The same request for one of its orgs."""
        return replace(self, org=org, more_orgs=(), all_orgs=False)


NO_UNKEPT_VALUES = ("generate:N here would write a value nobody keeps; use "
                    "`syncer rotate NAME --generate N --output PATH`, which saves it first")


def parse_request(name: str, org: str | Sequence[str], value_from: str | None,
                  **options: object) -> SetRequest:
    """A checked request, or UsageError listing every problem; reads nothing yet."""
    problems = []
    variable = options.get("target") == "variable"
    if (problem := secret_name_problem(name)) is not None:
        problems.append(problem.replace("secret name", "variable name") if variable else problem)
    source = None
    literal = options.get("literal")
    if variable and literal is not None and value_from:
        problems.append("--value and --value-from are two ways to give the value: choose one")
    elif variable and isinstance(literal, str):
        if (problem := value_problem(literal.encode())) is not None:
            problems.append(problem.replace("secret value", "variable value"))
    elif not value_from and not options.get("dry_run"):
        problems.append("--value-from is required (env:VAR, file:PATH, cmd:COMMAND or -); "
                        + ("or --value TEXT" if variable
                           else "a value is never taken from the command line"))
    elif not value_from:
        pass  # a dry run reads no value
    else:
        try:
            source = parse_source(value_from, KEPT_SYNTAX)
        except SourceError as exc:
            problems.append(str(exc))
    if source is not None and source.kind == "generate":
        problems.append(NO_UNKEPT_VALUES)
        source = None
    if options.get("visibility") is not None and not options.get("org_level"):
        problems.append("--visibility applies to org secrets: add --org-level")
    if options.get("org_level") and options.get("repos") and options.get("visibility") != "selected":
        problems.append("--repos with --org-level chooses the repositories that may read the org "
                        "secret: add --visibility selected")
    if options.get("org_level") and options.get("visibility") == "selected" \
            and not options.get("repos"):
        # else every repository would be selected: access widened by a repeated flag
        problems.append("--visibility selected needs --repos GLOB, the repositories that may "
                        "read the org secret ('*' for all); to keep its current selection, "
                        "leave out --visibility")
    if options.get("org_level") and options.get("env"):
        problems.append("--org-level and --env cannot be combined")
    if options.get("env") and options.get("app", "actions") != "actions":
        problems.append(f"environment {'variables' if variable else 'secrets'} exist for "
                        "Actions only")
    if variable and options.get("app", "actions") not in VARIABLE_APPS:
        problems.append(f"variables exist for {' and '.join(VARIABLE_APPS)} only")
    if problems or (source is None and literal is None and not options.get("dry_run")):
        raise UsageError("; ".join(problems))
    orgs = (org,) if isinstance(org, str) else tuple(org)
    return SetRequest(name=name.upper(), org=orgs[0] if orgs else "", source=source,
                      more_orgs=orgs[1:], **options)  # type: ignore[arg-type]


def plan_writes(request: SetRequest, repos: list[Repo],
                current: OrgSelection | None = None) -> list[Action]:
    """The writes a request means for the selected repositories; `current` is the org secret's
    visibility and selection now (None: there is none yet). Pure."""
    if request.org_level:
        return [Action(Op.PUT, target_of(request, Scope.of_org(request.org, request.app)),
                       request.name, org_selection_for(request, repos, current))]
    return [write_to(request, r) for r in repos]


def target_of(request: SetRequest, scope: Scope) -> Scope:
    """The scope's secrets, or its variables for `syncer variable set`. Pure."""
    return scope.variables() if request.target == "variable" else scope


def org_selection_for(request: SetRequest, repos: list[Repo],
                      current: OrgSelection | None) -> OrgSelection:
    """The visibility asked for, else the one the org secret has (a new one is private). Pure."""
    if request.visibility is None:
        return current or OrgSelection("private")
    ids = tuple(sorted(r.id for r in repos)) if request.visibility == "selected" else ()
    return OrgSelection(request.visibility, ids)


def write_to(request: SetRequest, repo: Repo) -> Action:
    """The write a repository- or environment-level request means for one repository. Pure."""
    if request.env:
        scope = Scope.of_env(request.org, repo.name, request.env, repo.id)
    else:
        scope = Scope.of_repo(request.org, repo.name, request.app, repo.id)
    return Action(Op.PUT, target_of(request, scope), request.name)


def read_value(source: Source) -> SecretValue:
    """The value to write, read before any request so a bad source costs nothing."""
    try:
        value = read_source(source)
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    redact.register(value.reveal())
    return value


def read_variable_value(request: SetRequest) -> SecretValue:
    """A variable's value: given as it is, or read from its source; text (GitHub stores
    variables as strings), not secret, so not masked in logs."""
    if request.literal is not None:
        return SecretValue(request.literal.encode())
    assert request.source is not None
    try:
        value = read_source(request.source)
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    try:
        value.reveal().decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{request.source}: a variable's value must be text (UTF-8); "
                         "binary values belong in secrets") from None
    return value


def inputs_of(request: SetRequest, settings: Settings, value_fingerprint: str) -> str:
    """What makes two `set` runs the same run: a re-run with these inputs resumes."""
    return inputs_id("set" if request.target == "secret" else "variable set",
                     host_of(settings.api_url), ",".join(request.orgs), request.app,
                     request.name,
                     request.env or "", f"{request.org_level}:{request.visibility}",
                     str(request.include_archived), *request.repos, value_fingerprint)


@dataclass(frozen=True)
class SetResult:
    summary: Summary
    #: every target written (or, in a dry run, found): no --repos pattern, environment or
    #: listing left out
    complete: bool
    missing: list[Scope] = field(default_factory=list)  # repositories without the --env

async def run_set(request: SetRequest, value: SecretValue | None, settings: Settings,
                  token: str | TokenSource, state: State, *, fresh: bool = False,
                  show_progress: bool | None = None,
                  stop: Interrupt | None = None) -> SetResult:
    started = time.monotonic()
    async with connect(settings, token, stop=stop) as run:
        if request.all_orgs:
            orgs = await every_org(run, token)
            request = replace(request, org=orgs[0], more_orgs=tuple(orgs[1:]), all_orgs=False)
        if request.dry_run:
            unmatched: list[str] = []
            previewed = 0
            lacking: list[Scope] = []
            for org in request.orgs:
                found = await _targets(run, request.acting_in(org))
                unmatched = _unmatched_everywhere(unmatched, found.unmatched, org == request.org)
                with acting_for(org):
                    now = await _as_they_are(run, found.actions, settings.concurrency)
                for action in found.actions:  # shown org by org, as each is read
                    print(preview_line(action, now[action.scope]))
                previewed += len(found.actions)
                lacking += found.missing
            log.info("dry_run", secret=request.name, targets=previewed)
            _report_unmatched(request, unmatched)
            return SetResult(run.summary([], started), not (unmatched or lacking), lacking)

        assert value is not None, "only a dry run goes without a value"
        fingerprint, whole_value = one_value_fingerprints(state, settings.api_url, value,
                                                          request.app, request.name)
        missing: list[Scope] = []
        targets: list[Action] | _Listings
        if request.org_level or request.env:
            # an org secret needs its current selection; an environment, the repositories
            # that have it: known before the first write
            listed: list[Action] = []
            for org in request.orgs:
                found = await _targets(run, request.acting_in(org))
                listed += found.actions
                missing += found.missing
            targets = listed
        else:
            targets = _Listings([await _stream_targets(run, request.acting_in(org))
                                 for org in request.orgs])
        listing_error: Exception | None = None
        host = host_of(settings.api_url)
        try:
            with resumable(state, inputs_of(request, settings, whole_value), fingerprint,
                           fresh=fresh, writes=[(host, org, request.name)
                                                for org in request.orgs]) as resume:
                # a resumed run asks GitHub (one GET each) whether the interrupted run's
                # writes are still as it left them
                outcomes = await write_resumably(run, resume, targets, lambda _: value,
                                                 show_progress,
                                                 lambda a: run.api.secret(a.scope, a.name))
        except StreamBroken as broken:  # journalled and resumable; report what was done
            outcomes, listing_error = broken.outcomes, broken.error
        summary = run.summary(outcomes, started)
    listings = targets.each if isinstance(targets, _Listings) else []
    unlisted = any(not listing.complete for listing in listings)
    if listings and not unlisted and not any(listing.matched for listing in listings):
        raise UsageError(_no_match(request))
    unmatched = []
    if listings and not unlisted:
        for listing in listings:
            unmatched = _unmatched_everywhere(unmatched, listing.unmatched,
                                              listing is listings[0])
    _report_unmatched(request, unmatched)
    if listing_error is not None:
        log.error("listing_failed", org=",".join(request.orgs), error=str(listing_error),
                  hint="what was written is journalled: run the same command again to finish")
    elif unlisted:
        log.warning("listing_not_finished", org=",".join(request.orgs),
                    listed=sum(listing.matched for listing in listings),
                    hint="repositories after these were not looked at: run the same command "
                         "again to finish")
    log.info("summary", secret=request.name, **summary.as_event())
    failed = unlisted or bool(unmatched) or bool(missing) or any(
        o.result in (Result.FAILED, Result.SKIPPED) for o in outcomes)
    return SetResult(summary, not failed, missing=missing)


def _unmatched_everywhere(so_far: list[str], here: list[str], first: bool) -> list[str]:
    """--repos patterns that matched no repository in any org so far (a typo, most likely;
    a pattern meant for one org of several is no mistake)."""
    return list(here) if first else [p for p in so_far if p in here]


def _report_unmatched(request: SetRequest, unmatched: list[str]) -> None:
    if unmatched:
        orgs = " or ".join(request.orgs)
        log.error("repos_unmatched", org=",".join(request.orgs), patterns=unmatched,
                  problem=no_match(orgs, unmatched),
                  hint="a typo? the repositories meant get nothing; the others do")


@dataclass
class Targets:
    actions: list[Action]
    unmatched: list[str]  # --repos patterns that match no repository
    missing: list[Scope] = field(default_factory=list)  # environments some repositories lack


async def _targets(run: Run, request: SetRequest) -> Targets:
    """The writes, and the --repos patterns that match no repository; an org secret's
    selection such a pattern would narrow is refused instead. With --env, the repositories
    that lack the environment are missing targets, and none having it is a usage error."""
    with acting_for(request.org):  # a GitHub App's token for this org
        actions, unmatched = await _targets_in_org(run, request)
        if request.env:
            return await _with_environment(run, request, actions, unmatched)
        return Targets(actions, unmatched)


async def _with_environment(run: Run, request: SetRequest, actions: list[Action],
                            unmatched: list[str]) -> Targets:
    """Only the repositories that have the environment (one listing each): a name no
    selected repository has is a typo, refused before anything is written."""
    names: dict[str, list[str]] = {}

    async def look(action: Action) -> None:
        repo = action.scope.repo or ""
        names[repo] = await run.api.environments(request.org, repo)

    await for_each(actions, look, run.settings.concurrency)
    env = (request.env or "").lower()
    having = [a for a in actions if env in {n.lower() for n in names[a.scope.repo or ""]}]
    if not having:
        raise UsageError(no_environment(request.org, request.env or "",
                                        {n for found in names.values() for n in found}))
    return Targets(having, unmatched, [a.scope for a in actions if a not in having])


def no_environment(org: str, env: str, known: set[str]) -> str:
    """Why an --env is refused, with the closest names the repositories have. Pure."""
    close = difflib.get_close_matches(env, sorted(known), n=3, cutoff=0.4)
    hint = (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else
            f"; they have {', '.join(repr(k) for k in sorted(known)[:10])}" if known else
            "; they have none")
    return (f"no selected repository of {org} has an environment {env!r}; nothing was "
            f"written{hint}")


async def _targets_in_org(run: Run, request: SetRequest) -> tuple[list[Action], list[str]]:
    needs_repos = not request.org_level or request.visibility == "selected"
    current = None
    if request.org_level and request.visibility is None:
        scope = target_of(request, Scope.of_org(request.org, request.app))
        info = await run.api.secret(scope, request.name)
        current = None if info is None else await org_selection(run.api, scope, info)
    repos: list[Repo] = []
    unmatched: list[str] = []
    if needs_repos:
        try:
            listed = [r async for r in run.api.org_repos(request.org)]
        except errors.NotFound as exc:
            raise UsageError(exc.message) from None
        repos = select_repos(listed, request.repos, include_archived=request.include_archived)
        if not repos:
            raise UsageError(_no_match(request))
        unmatched = unmatched_patterns((r.name for r in listed), request.repos)
        if unmatched and request.org_level:
            raise UsageError(f"{no_match(request.org, unmatched)}; nothing was written")
    return plan_writes(request, repos, current), unmatched


@dataclass(frozen=True)
class AsItIs:
    """A target as GitHub has it now, for a dry run: whether it exists, and who may read it."""

    exists: bool
    selection: OrgSelection | None = None


def preview_line(action: Action, now: AsItIs) -> str:
    """'would create NAME in SCOPE', 'would update ...'; for an org secret, who may read it, and
    from what to what where that changes (a widening said in words). Pure."""
    verb = "update" if now.exists else "create"
    line = f"would {verb} {action.name} in {action.scope}"
    after = action.selection
    if after is None:
        return line
    before = now.selection
    if before is None or before == after:
        return f"{line} ({after.describe()})"
    return (f"{line} ({before.describe()} → {after.describe()}: "
            f"{_widening(before, after)})")


def _widening(before: OrgSelection, after: OrgSelection) -> str:
    if after.visibility == "all":
        return "every repository of the org may read it then"
    if after.visibility == "private":
        return "every private and internal repository may read it then"
    added = set(after.repository_ids) - set(before.repository_ids)
    removed = set(before.repository_ids) - set(after.repository_ids)
    if before.visibility != "selected":
        return f"only the {len(after.repository_ids)} selected repositories may read it then"
    return f"{len(added)} repositories more may read it, {len(removed)} fewer"


async def _as_they_are(run: Run, actions: list[Action], concurrency: int) -> dict[Scope, AsItIs]:
    """One GET per target: does the secret exist there, and who may read an org secret."""
    found: dict[Scope, AsItIs] = {}

    async def look(action: Action) -> None:
        info = await run.api.secret(action.scope, action.name)
        selection = None
        if info is not None and action.selection is not None:
            selection = await org_selection(run.api, action.scope, info)
        found[action.scope] = AsItIs(info is not None, selection)

    await for_each(actions, look, concurrency)
    return found


async def _stream_targets(run: Run, request: SetRequest) -> _Listing:
    """The writes, as the org's repository listing arrives page by page, so that writing
    starts with the first page. A missing org is a usage error before anything is written."""
    listing = run.api.org_repos(request.org)
    try:
        with acting_for(request.org):
            first = await anext(listing, None)
    except errors.NotFound as exc:
        raise UsageError(exc.message) from None
    return _Listing(request, first, listing)


@dataclass
class _Listings:
    """Several orgs' writes, one org after another."""

    each: list[_Listing]

    async def __aiter__(self) -> AsyncIterator[Action]:
        for listing in self.each:
            async for action in listing:
                yield action


@dataclass
class _Listing:
    """A request's writes, one per wanted repository as the listing yields it."""

    request: SetRequest
    first: Repo | None
    rest: AsyncIterator[Repo]
    matched: int = 0
    complete: bool = False
    unmatched: list[str] = field(default_factory=list)  # --repos patterns no repository matched

    async def __aiter__(self) -> AsyncIterator[Action]:
        seen: set[int] = set()  # a repository created mid-listing can shift one into the next page
        self.unmatched = list(self.request.repos)
        repo = self.first
        while repo is not None:
            if self.unmatched:
                self.unmatched = unmatched_patterns([repo.name], self.unmatched)
            if repo.id not in seen and wanted(repo, self.request.repos,
                                              include_archived=self.request.include_archived):
                seen.add(repo.id)
                self.matched += 1
                yield write_to(self.request, repo)
            with acting_for(self.request.org):  # a GitHub App's token for this org
                repo = await anext(self.rest, None)
        self.complete = True


def _no_match(request: SetRequest) -> str:
    orgs = " or ".join(request.orgs)
    return (no_match(orgs, request.repos) if request.repos
            else f"no repository of {orgs} matches (all)")
