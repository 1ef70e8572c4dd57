"""Build the pieces of one run (client, pacer, key cache, sealer, engine) from settings."""

from __future__ import annotations

import hashlib
import os
import ssl
import time
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import structlog

from ..config.load import GitHubConfig
from ..core.model import Outcome
from ..core.names import env_name_shown
from ..exits import AuthError, UsageError
from ..github import auth, errors
from ..github.api import SecretsAPI
from ..github.cache import ResponseCache
from ..github.client import DEFAULT_API_URL, GitHubClient, TokenSource
from ..github.pacing import (
    DEFAULT_POINTS_PER_MINUTE,
    DEFAULT_WRITES_PER_MINUTE,
    FileLedger,
    Ledger,
    Pace,
    Pacer,
)
from ..github.retry import RetryPolicy
from ..observe import redact
from ..observe.summary import Summary, summarize
from ..sources import SourceError, read_source
from .crypto import Sealer
from .engine import Engine, OnOutcome
from .interrupt import Interrupt
from .keys import KeyCache, load_known, save_known

TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")

log = structlog.get_logger("syncer.runtime")


@dataclass(frozen=True, slots=True)
class Settings:
    api_url: str = DEFAULT_API_URL
    concurrency: int = 16
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


def find_token(token_env: str | None = None, environ: Mapping[str, str] | None = None, *,
               api_url: str | None = None, gh_timeout: float = auth.GH_TIMEOUT,
               named_by: str = "--token-env or token_env", name_shown: bool = False,
               app_hint: str | None = "configure a GitHub App in [github.app]") -> str:
    """The token from `token_env` if named (and only from there), else GITHUB_TOKEN, else
    GH_TOKEN, else what `gh auth token --hostname HOST` prints for the host of `api_url`.

    gh is asked only when `api_url` is given: without it the host is unknown, and a token gh
    keeps for github.com must never be sent to another host. The token is registered for
    redaction. AuthError (exit 3) names every source tried when none has a token, the option
    that named `token_env` (`named_by`; the name itself only if `name_shown`, as when it was
    read from a config file rather than typed), and how this command takes an App (`app_hint`).
    """
    env = os.environ if environ is None else environ
    if token_env:
        # A variable named on purpose is the only one: never fall back to another token,
        # which may belong to another host.
        found = auth.env_token((token_env,), env)
        if found is None and (name_shown or env_name_shown(token_env)):
            raise AuthError(f"no GitHub token: {token_env}, named by {named_by}, is unset or "
                            "empty; no other token is used in its place")
        if found is None:
            raise AuthError(f"no GitHub token: the environment variable named by {named_by} "
                            "is unset or empty (its name is not repeated, in case a token was "
                            "typed in its place); no other token is used in its place")
        redact.register(found[1])
        return _one_line(found[1])
    found = auth.env_token(TOKEN_VARIABLES, env)
    token = found[1] if found else None
    gh_problem = None
    if token is None and api_url is not None:
        host = auth.gh_hostname(api_url)
        answer = auth.gh_token(host, environ=env, timeout=gh_timeout)
        token, gh_problem = answer.token, answer.problem
    if token is None:
        raise AuthError(_no_token_message(api_url, gh_problem, app_hint))
    redact.register(token)
    return _one_line(token)


def _one_line(token: str) -> str:
    """A token with a line break (two values pasted into one variable, say) cannot go in a
    header: refused here in one line rather than by the HTTP library with a traceback."""
    if any(ord(char) < 32 or ord(char) == 127 for char in token):
        raise AuthError("the GitHub token holds a line break or another control character "
                        "(not shown); set it to the token alone")
    return token


def _no_token_message(api_url: str | None, gh_problem: str | None, app_hint: str | None) -> str:
    variables = list(TOKEN_VARIABLES)
    tried = ", ".join(variables[:-1]) + f" and {variables[-1]} are unset or empty"
    ways = ["set one of those variables"]
    message = f"no GitHub token: {tried}"
    if api_url is not None:
        host = auth.gh_hostname(api_url)
        message += f", and `gh auth token --hostname {host}` gave none ({gh_problem})"
        ways.append(f"run `gh auth login --hostname {host}`")
    if app_hint:
        ways.append(app_hint)
    listed = ", ".join(ways[:-1]) + f" or {ways[-1]}" if len(ways) > 1 else ways[0]
    return f"{message}. {listed[0].upper()}{listed[1:]}"


def token_source_for(github_config: GitHubConfig | None, token_env: str | None,
                     org: str | Collection[str], api_url: str,
                     ssl_context: ssl.SSLContext | None, *,
                     environ: Mapping[str, str] | None = None,
                     timeout: float = 30.0,
                     key_named: str = "[github.app].private_key",
                     token_env_in_config: bool = False,
                     every_installation: bool = False) -> TokenSource | str:
    """How this run authenticates: the App of `[github.app]` when configured, else a token
    from the chain of `find_token` (asking gh for the host of `api_url`).

    For an App, `org` is the organisation to act in: one name gives an
    AppInstallationToken; several give InstallationTokens, one installation token per org,
    each request's org named with `syncer.github.auth.acting_for(org)`; none, with
    `every_installation`, InstallationTokens for every org the App is installed on (asked
    when connected: `every_org`). The private key is read here (UsageError, exit 2, when it
    cannot be read or is not an RSA PEM key) and registered for redaction, as is every JWT
    and token the App gets. Nothing is sent yet: `connect` gets the first token before any
    work starts.
    """
    app = github_config.app if github_config is not None else None
    if app is None:
        if token_env_in_config:
            return find_token(token_env, environ, api_url=api_url, named_by="token_env in the "
                              "config", name_shown=True)
        return find_token(token_env, environ, api_url=api_url)
    where = key_named  # what the user wrote it as, for messages
    try:
        pem = read_source(app.private_key, environ=environ).reveal()
    except SourceError as exc:
        raise UsageError(f"{where}: {exc}") from None
    _register_key(pem)
    try:
        auth.load_app_key(pem)
    except auth.AppKeyError as exc:
        raise UsageError(f"{where} ({app.private_key}): {exc}") from None

    def make(one_org: str) -> auth.AppInstallationToken:
        return auth.AppInstallationToken(
            api_url, app.app_id, pem, one_org, app.installation_id, ssl_context=ssl_context,
            timeout=timeout, on_secret=redact.register)

    if isinstance(org, str):
        return make(org)
    orgs = list(org)
    if not orgs and not every_installation:
        raise UsageError("a GitHub App acts in an organisation, and none was given")
    if app.installation_id is not None and len({o.lower() for o in orgs}) > 1:
        raise UsageError("[github.app].installation_id names one installation, which acts in "
                         "one organisation; leave it out for a run spanning organisations")
    return auth.InstallationTokens(make, orgs)


def _register_key(pem: bytes) -> None:
    """Scrub the whole key and each of its lines from logs (a log might quote a line)."""
    text = pem.decode("utf-8", "replace")
    redact.register(text)
    for line in text.splitlines():
        if len(line.strip()) >= 16 and not line.startswith("-----"):
            redact.register(line.strip())


def ssl_context_for(ca_bundle: str | None) -> ssl.SSLContext | None:
    """A context trusting only the CAs of `ca_bundle` (PEM), or None for the system's.

    A missing, unreadable or non-PEM bundle is a one-line UsageError, not a traceback.
    """
    if ca_bundle is None:
        return None
    path = Path(ca_bundle).expanduser()
    if not path.exists():
        raise UsageError(f"ca_bundle {ca_bundle}: no such file")
    if not path.is_file():
        raise UsageError(f"ca_bundle {ca_bundle}: not a file")
    try:
        return ssl.create_default_context(cafile=str(path))
    except ssl.SSLError as exc:
        raise UsageError(f"ca_bundle {ca_bundle}: not a PEM bundle of CA certificates "
                         f"({exc.reason or 'unreadable'}); it should hold "
                         "-----BEGIN CERTIFICATE----- blocks") from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise UsageError(f"ca_bundle {ca_bundle}: cannot be read ({reason})") from None


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
    if isinstance(token, auth.InstallationTokens):
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
    if not isinstance(token, (auth.AppInstallationToken, auth.InstallationTokens)):
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
    if isinstance(token, auth.InstallationTokens):  # any of the App's tokens can ask
        if not token.orgs:
            return  # --all-orgs, not yet known: paced as on github.com
        some_org = token.orgs[0]
    try:
        with auth.acting_for(some_org) if some_org else nullcontext():
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
