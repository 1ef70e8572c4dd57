"""Build the pieces of one run (client, pacer, key cache, sealer, engine) from settings."""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from .crypto import Sealer
from .engine import Engine, OnOutcome
from .exits import AuthError
from .github.api import SecretsAPI
from .github.client import DEFAULT_API_URL, GitHubClient
from .github.pacing import DEFAULT_POINTS_PER_MINUTE, Pacer
from .github.retry import RetryPolicy
from .keys import KeyCache
from .model import Outcome
from .observe import redact
from .observe.summary import Summary, summarize

TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")


@dataclass(frozen=True, slots=True)
class Settings:
    api_url: str = DEFAULT_API_URL
    concurrency: int = 16
    points_per_minute: float = DEFAULT_POINTS_PER_MINUTE  # 0: no pacing
    wait_for_reset: bool = True
    timeout: float = 30.0
    ca_bundle: str | None = None
    # Seconds in a minute: only fakehub's compressed time (tests, benchmarks) changes it.
    minute: float = 60.0


def api_url_from(flag: str | None, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return flag or env.get("GITHUB_API_URL") or DEFAULT_API_URL


def find_token(token_env: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The token from `token_env` if named, else GITHUB_TOKEN, else GH_TOKEN."""
    env = os.environ if environ is None else environ
    names = ((token_env,) if token_env else ()) + TOKEN_VARIABLES
    for name in names:
        if env.get(name, "").strip():
            token = env[name].strip()
            redact.register(token)
            return token
    raise AuthError(f"no GitHub token: set {' or '.join(names)}")


@dataclass
class Run:
    client: GitHubClient
    api: SecretsAPI
    keys: KeyCache
    sealer: Sealer
    settings: Settings

    def engine(self, on_outcome: OnOutcome | None = None) -> Engine:
        return Engine(self.api, self.sealer, self.keys, self.settings.concurrency, on_outcome)

    def summary(self, outcomes: list[Outcome], started: float) -> Summary:
        """Outcomes counted, with what the run cost: requests, retries, rate-limit waits, time."""
        pacing = self.client.pacer.stats
        return summarize(outcomes, requests=pacing.requests, retries=self.client.stats.retries,
                         waits=pacing.waits, wait_seconds=pacing.wait_seconds,
                         seconds=time.monotonic() - started)


@asynccontextmanager
async def connect(settings: Settings, token: str) -> AsyncIterator[Run]:
    pacer = Pacer(
        points_per_minute=settings.points_per_minute or None,
        concurrency=settings.concurrency,
        minute=settings.minute,
        wait_for_reset=settings.wait_for_reset,
    )
    retry = RetryPolicy(wait_for_reset=settings.wait_for_reset,
                        secondary_default=settings.minute)
    ssl_context = ssl.create_default_context(cafile=settings.ca_bundle) if settings.ca_bundle else None
    client = GitHubClient(settings.api_url, token, pacer=pacer, retry=retry,
                          timeout=settings.timeout, ssl_context=ssl_context)
    async with client:
        api = SecretsAPI(client)
        with Sealer() as sealer:
            yield Run(client, api, KeyCache(api.public_key), sealer, settings)
