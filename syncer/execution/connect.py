"""Build the pieces of one run (client, pacer, key cache, sealer, engine) from settings;
who the run acts as is syncer.execution.credentials."""

from __future__ import annotations

import hashlib
import os
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import structlog

from ..core.limits import DEFAULT_CONCURRENCY
from ..core.model import Outcome
from ..exits import AuthError, UsageError
from ..github import auth, errors, org_tokens
from ..github.api import SecretsAPI
from ..github.cache import ResponseCache
from ..github.client import DEFAULT_API_URL, GitHubClient, TokenSource
from ..github.ledger import FileLedger, Ledger
from ..github.pacing import Pacer
from ..github.pacing_rules import DEFAULT_POINTS_PER_MINUTE, DEFAULT_WRITES_PER_MINUTE, Pace
from ..github.retry import RetryPolicy
from ..observe.summary import Summary, summarize
from .credentials import ssl_context_for
from .crypto import Sealer
from .engine import Engine, OnOutcome
from .interrupt import Interrupt
from .keys import KeyCache, load_known, save_known

log = structlog.get_logger("syncer.connect")


@dataclass(frozen=True, slots=True)
class Settings:
    api_url: str = DEFAULT_API_URL
    concurrency: int = DEFAULT_CONCURRENCY
    # None: GitHub's guidance (60 writes and 870 points a minute), or no pacing at all on an
    # Enterprise Server whose rate limiting is off. 0 lifts that part; points_per_minute 0
    # with writes_per_minute unset turns pacing off altogether.
    writes_per_minute: float | None = None
    points_per_minute: float | None = None
    wait_for_reset: bool = True
    timeout: float = 30.0
    ca_bundle: str | None = None
    # Seconds in a minute: only fakehub's compressed time (tests, benchmarks) changes it.
    minute: float = 60.0
    # Opt-in: reuse public keys an earlier run saw (no key GET until GitHub rejects one).
    key_cache: Path | None = None
    # Remember listings and keys with their ETags, so a re-run's unchanged ones come back 304.
    response_cache: Path | None = None
    # Where the pace ledgers shared by every syncer process of a token live (None: each run
    # paces itself alone).
    shared_pace: Path | None = None

    @property
    def pace(self) -> Pace:
        writes, points = self.writes_per_minute, self.points_per_minute
        if points == 0 and writes is None:
            return Pace(None, None)
        return Pace(DEFAULT_WRITES_PER_MINUTE if writes is None else writes or None,
                    DEFAULT_POINTS_PER_MINUTE if points is None else points or None)

    @property
    def pace_chosen(self) -> bool:
        """The user chose the pace: a server's word that its limits are off does not change it."""
        return self.writes_per_minute is not None or self.points_per_minute is not None


def api_url_from(flag: str | None, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return flag or env.get("GITHUB_API_URL") or DEFAULT_API_URL


@dataclass
class Run:
    client: GitHubClient
    api: SecretsAPI
    keys: KeyCache
    sealer: Sealer
    settings: Settings
    #: the run's stop handle: signals set it, the engine and the journalled writes read it
    stop: Interrupt = field(default_factory=Interrupt)

    def engine(self, on_outcome: OnOutcome | None = None) -> Engine:
        return Engine(self.api, self.sealer, self.keys, self.settings.concurrency, on_outcome,
                      stop=self.stop)

    def summary(self, outcomes: list[Outcome], started: float) -> Summary:
        """Outcomes counted, with what the run cost: requests, retries, rate-limit waits, time."""
        pacing = self.client.pacer.stats
        return summarize(outcomes, requests=pacing.requests, retries=self.client.stats.retries,
                         waits=pacing.waits, wait_seconds=pacing.wait_seconds,
                         seconds=time.monotonic() - started,
                         paced_seconds=self.client.pacer.paced_seconds,
                         pace_changes=[(c.at, c.writes_per_minute, c.points_per_minute)
                                       for c in pacing.changes],
                         pace=_rates(self.client.pacer.pace),
                         current_pace=_rates(self.client.pacer.current_pace))


def _rates(pace: Pace) -> tuple[float | None, float | None]:
    return pace.writes_per_minute, pace.points_per_minute


@asynccontextmanager
async def connect(settings: Settings, token: str | TokenSource, *,
                  ssl_context: ssl.SSLContext | None = None,
                  stop: Interrupt | None = None) -> AsyncIterator[Run]:
    """The pieces of one run. `token` is a fixed token or a TokenSource (a GitHub App's
    installation tokens: the first is fetched here, so a wrong App setup is an AuthError
    before any work; the source's own session is closed at the end).

    `ssl_context` defaults to one built from `settings.ca_bundle` (see ssl_context_for);
    `stop` is the command's stop handle (a fresh one nobody signals if not given).
    """
    if ssl_context is None:
        ssl_context = ssl_context_for(settings.ca_bundle)
    try:
        await _prime(token)
        async with _run(settings, token, ssl_context, stop or Interrupt()) as run:
            yield run
    finally:
        closer = getattr(token, "aclose", None)
        if closer is not None:
            await closer()


async def every_org(run: Run, token: str | TokenSource) -> list[str]:
    """--all-orgs: every organisation the credentials can see: a token's user's (GET
    /user/orgs), a GitHub App's installations; none is a usage error."""
    if isinstance(token, org_tokens.InstallationTokens):
        orgs = await token.installed_orgs()
        await token.prime()
    else:
        orgs = await run.api.user_orgs()
    if not orgs:
        raise UsageError("--all-orgs: the credentials see no organisation (GET /user/orgs, "
                         "or a GitHub App's installations, listed none; GitHub lists none for "
                         "a fine-grained token: name the orgs with --org)")
    return orgs


async def _prime(token: str | TokenSource) -> None:
    if not isinstance(token, (auth.AppInstallationToken, org_tokens.InstallationTokens)):
        return
    try:
        await token.prime()
    except errors.AuthFailed as exc:
        raise AuthError(str(exc)) from None


@asynccontextmanager
async def _run(settings: Settings, token: str | TokenSource,
               ssl_context: ssl.SSLContext | None, stop: Interrupt) -> AsyncIterator[Run]:
    pace = settings.pace
    pacer = Pacer(
        points_per_minute=pace.points_per_minute,
        writes_per_minute=pace.writes_per_minute,
        concurrency=settings.concurrency,
        minute=settings.minute,
        wait_for_reset=settings.wait_for_reset,
        ledger=_shared_ledger(settings, token),
        request_timeout=settings.timeout,
    )
    retry = RetryPolicy(wait_for_reset=settings.wait_for_reset,
                        secondary_default=settings.minute)
    cache = ResponseCache(settings.response_cache) if settings.response_cache else None
    client = GitHubClient(settings.api_url, token, pacer=pacer, retry=retry,
                          timeout=settings.timeout, ssl_context=ssl_context, cache=cache)
    host = urlsplit(settings.api_url).netloc
    known = load_known(settings.key_cache, host) if settings.key_cache else None
    async with client:
        if pace.on and not settings.pace_chosen and not on_github_com(settings.api_url):
            await _follow_server_limits(client, token)
        api = SecretsAPI(client)
        with Sealer() as sealer:
            keys = KeyCache(api.public_key, known)
            try:
                yield Run(client, api, keys, sealer, settings, stop)
            finally:
                if settings.key_cache:
                    save_known(settings.key_cache, host, keys.known())
                if cache is not None:
                    cache.save()


def on_github_com(api_url: str) -> bool:
    """github.com and GitHub Enterprise Cloud with data residency always enforce limits."""
    host = (urlsplit(api_url).hostname or "").lower()
    return host == "api.github.com" or host.endswith(".ghe.com")


async def _follow_server_limits(client: GitHubClient, token: str | TokenSource) -> None:
    """An Enterprise Server may have its rate limiting off (GET /rate_limit answers 404 so, with
    no x-ratelimit-* headers): then pacing is off for the run. Any other answer keeps it on."""
    some_org = ""
    if isinstance(token, org_tokens.InstallationTokens):  # any of the App's tokens can ask
        if not token.orgs:
            return  # --all-orgs, not yet known: paced as on github.com
        some_org = token.orgs[0]
    try:
        with org_tokens.acting_for(some_org) if some_org else nullcontext():
            await client.request("GET", "/rate_limit")
    except errors.RateLimitingOff:
        client.pacer.turn_off("the server's rate limiting is off (GET /rate_limit: not enabled)")
    except errors.AuthFailed:
        raise
    except errors.HTTPError as exc:  # an answer, but not that one: paced as on github.com
        log.info("rate_limit_unknown", error=str(exc))


def _shared_ledger(settings: Settings, token: str | TokenSource) -> Ledger | None:
    """The file every syncer process using this token on this host paces by, named by a
    fingerprint of the two (never the token itself). An App's installation tokens change every
    hour but share its budget: they are named by the App."""
    if settings.shared_pace is None or not settings.pace.on:
        return None
    if isinstance(token, str):
        identity = "token\0" + token
    elif (app_id := getattr(token, "app_id", None)) is not None:
        identity = f"app\0{app_id}"
    else:
        return None
    host = urlsplit(settings.api_url).netloc.lower()
    digest = hashlib.sha256(f"syncer pace\0{host}\0{identity}".encode()).hexdigest()[:24]
    return FileLedger(settings.shared_pace / f"{digest}.json")
