"""The aiohttp session: the one place syncer sends HTTP to GitHub.

Send layers, outermost first, each with one concern:
  request()               one try; after a retryable failure, the retry policy (retry.py)
  _send_authenticated()   the current token; once more with a renewed one after a 401
  _send_paced()           waits for a place under the token's limits (pacing.py), learns the budget
  _send_once()            one HTTP exchange; aiohttp's exceptions become ours in one place
"""

from __future__ import annotations

import logging
import os
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import structlog
import yarl

from .. import __version__
from . import errors, routes, sansio
from .cache import ResponseCache
from .pacing import Pacer
from .retry import RetryPolicy, retrying, should_retry, wait_seconds

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tenacity import RetryCallState

    _RetryAfter = Callable[["GitHubClient", errors.GitHubError, str, str, str, Any, str | None],
                           Awaitable[sansio.Response]]

log = structlog.get_logger("syncer.github")

DEFAULT_API_URL = "https://api.github.com"
USER_AGENT = f"syncer/{__version__}"


@dataclass
class ClientStats:
    retries: int = 0


class TokenSource(Protocol):
    """Where the client gets its token: a fixed one, or short-lived ones it can renew."""

    async def token(self) -> str: ...

    async def renew(self, rejected: str) -> bool:
        """After `rejected` got a 401: True when a new token is ready to try, else False."""
        ...


class StaticToken:
    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self) -> str:
        return self._token

    async def renew(self, rejected: str) -> bool:
        return False


#: Requests GitHub answers alike however often they are sent.
_IDEMPOTENT = frozenset({"GET", "HEAD"})


def _said_as_writes(retry_after: _RetryAfter) -> _RetryAfter:
    """Retries of a write, said as such: GitHub does not answer a repeated write as it did the
    first (a DELETE 404, a PUT 422 once the scope's key rotated, 204 where the first said 201).
    Their log events carry `idempotent=false`, and the error they end with `may_have_landed`,
    for the caller to check what GitHub holds."""
    async def said(client: GitHubClient, first: errors.GitHubError, method: str, url: str,
                   where: str, json: Any, etag: str | None) -> sansio.Response:
        if method in _IDEMPOTENT:
            return await retry_after(client, first, method, url, where, json, etag)
        with structlog.contextvars.bound_contextvars(idempotent=False):
            try:
                return await retry_after(client, first, method, url, where, json, etag)
            except errors.GitHubError as exc:
                exc.may_have_landed = True
                raise
    return said


class GitHubClient:
    def __init__(
        self,
        api_url: str,
        token: str | TokenSource,
        *,
        pacer: Pacer | None = None,
        retry: RetryPolicy = RetryPolicy(),
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        cache: ResponseCache | None = None,
    ) -> None:
        # Encoded once here (an IDN host, say); paths are quoted by `routes` and next-page URLs
        # come encoded from GitHub, so aiohttp need not parse and quote every URL again.
        self.api_url = str(yarl.URL(api_url.rstrip("/")))
        self._auth: TokenSource = StaticToken(token) if isinstance(token, str) else token
        self.pacer = pacer or Pacer()
        self._retry = retry
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._session: aiohttp.ClientSession | None = None
        self.stats = ClientStats()
        self.cache = cache
        # asked once: a debug event per request costs its timing and template only when wanted
        self._request_events = structlog.get_logger("syncer.github").bind().is_enabled_for(
            logging.DEBUG)

    async def __aenter__(self) -> GitHubClient:
        connector = aiohttp.TCPConnector(limit=0, ssl=self._ssl)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, trust_env=_proxy_configured(),
            headers={"Accept": sansio.ACCEPT, "X-GitHub-Api-Version": sansio.API_VERSION,
                     "User-Agent": USER_AGENT},
            skip_auto_headers=("Accept-Encoding",),
        )
        # aiohttp silently sends a PUT or DELETE again when a reused connection drops: a write
        # that landed then looks like a first try answered 404 (a DELETE) or 422 (a PUT after a
        # key rotation). Retries are ours alone, so they know the earlier try may have landed.
        self._session._retry_connection = False
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self, method: str, path: str, *, json: Any = None, etag: str | None = None
    ) -> sansio.Response:
        """Send one request, retrying what is worth retrying; raise its typed error otherwise."""
        if not path.startswith(("http://", "https://")):
            url, where = self.api_url + path, path
        elif path.startswith(self.api_url + "/"):  # a Link header's next page
            url, where = path, path[len(self.api_url):]
        else:
            raise errors.ForeignLink(
                f"{method} {_path_of(path)}: the next page's link leaves {self.api_url} "
                f"(for {urlsplit(path).hostname}); not followed, so the token is not sent there")
        cached = method == "GET" and etag is None and self.cache is not None
        if cached:
            etag = self.cache.etag_for(url)  # type: ignore[union-attr]
        try:  # the common case, without building a retry loop for every request
            response = await self._send_authenticated(method, url, where, json, etag)
        except errors.GitHubError as exc:
            if not should_retry(exc, self._retry) or self._retry.attempts < 2:
                raise
            response = await self._retry_after(exc, method, url, where, json, etag)
        if cached:
            assert self.cache is not None
            if response.status == 304 and etag is not None:
                return self.cache.replay(url, response)
            self.cache.remember(url, response)
        return response

    async def paginate(self, path: str, key: str | None = None,
                       per_page: int = 100) -> AsyncIterator[Any]:
        """Every item of a listing, following the Link header's rel="next" page by page.

        `key` names the array inside an object answer ({"total_count", "secrets": [...]});
        None for answers that are arrays themselves. `per_page`: GitHub's most for the listing.
        """
        url: str | None = path + ("&" if "?" in path else "?") + f"per_page={per_page}"
        while url is not None:
            response = await self.request("GET", url)
            items = response.data if key is None else (response.data or {}).get(key, [])
            for item in items or ():
                yield item
            url = response.next_url

    async def _send_authenticated(
        self, method: str, url: str, where: str, json: Any, etag: str | None, attempt: int = 1
    ) -> sansio.Response:
        """Send with the current token; after a 401, once more if the token source renewed it."""
        token = await self._auth.token()
        try:
            return await self._send_paced(method, url, where, json, etag, token, attempt)
        except errors.AuthFailed:
            if not await self._auth.renew(token):
                raise
        return await self._send_paced(method, url, where, json, etag, await self._auth.token(),
                                      attempt)

    async def _send_paced(
        self, method: str, url: str, where: str, json: Any, etag: str | None, token: str,
        attempt: int = 1,
    ) -> sansio.Response:
        async with self.pacer.slot(method):
            if not self._request_events:
                response = await self._send_once(method, url, where, json, etag, token)
            else:
                response = await self._send_logged(method, url, where, json, etag, token,
                                                   attempt)
        self.pacer.observe(response.rate_limit)
        return response

    async def _send_logged(self, method: str, url: str, where: str, json: Any,
                           etag: str | None, token: str, attempt: int) -> sansio.Response:
        """One exchange and a debug event for it: the route's template, never a body."""
        started = time.perf_counter()
        status: int | None = None
        remaining: int | None = None
        try:
            response = await self._send_once(method, url, where, json, etag, token)
            status = response.status
            remaining = response.rate_limit.remaining if response.rate_limit else None
            return response
        except errors.HTTPError as exc:
            status = exc.status
            raise
        finally:
            log.debug("request", method=method, route=routes.template_of(where), status=status,
                      attempt=attempt, ms=round((time.perf_counter() - started) * 1000, 1),
                      rate_limit_remaining=remaining)

    async def _send_once(
        self, method: str, url: str, where: str, json: Any, etag: str | None, token: str
    ) -> sansio.Response:
        assert self._session is not None, "use the client as an async context manager"
        headers = {"Authorization": f"Bearer {token}"}
        if etag:
            headers["If-None-Match"] = etag
        with _translate_aiohttp_errors(method, where):
            async with self._session.request(method, yarl.URL(url, encoded=True), json=json,
                                             headers=headers) as resp:
                body = await resp.read()
                status, raw_headers = resp.status, resp.headers
        # aiohttp's headers answer lower-case names as decipher asks (case-insensitive)
        try:
            return sansio.decipher(status, raw_headers, body, method=method, path=where)
        except errors.HTTPError as exc:
            if exc.status != 401:  # a 401 carries the unauthenticated budget, not this token's
                self.pacer.observe(sansio.RateLimit.from_headers(raw_headers))
            raise exc

    @_said_as_writes
    async def _retry_after(self, first: errors.GitHubError, method: str, url: str, where: str,
                           json: Any, etag: str | None) -> sansio.Response:
        """The first try failed in a way worth retrying: wait as its error asks, then let the
        retry policy drive tries 2, 3, ... (numbered as such in logs and in `attempts`)."""
        wait = wait_seconds(first, 1, self._retry)
        self._note_retry(first, 1, wait, method, where)
        await self.pacer.sleep(wait)  # a stopping run does not wait out a backoff

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            if exc is not None:
                self._note_retry(exc, state.attempt_number + 1,
                                 state.next_action.sleep if state.next_action else 0.0,
                                 method, where)

        async for attempt in retrying(self._retry, before_sleep=before_sleep, tries_done=1,
                                      sleep=self.pacer.sleep):
            with attempt:
                try:
                    response = await self._send_authenticated(
                        method, url, where, json, etag,
                        attempt.retry_state.attempt_number + 1)
                except errors.NotFound:
                    if method != "DELETE":
                        raise
                    # An earlier try deleted it and its answer was lost (a timeout, a 5xx
                    # after the fact), or someone else did: either way it is gone, as asked.
                    response = sansio.Response(404, None, None, None, None)
        return replace(response, attempts=attempt.retry_state.attempt_number + 1)

    def _note_retry(self, exc: BaseException, attempt: int, wait: float, method: str,
                    where: str) -> None:
        self.stats.retries += 1
        if isinstance(exc, errors.SecondaryRateLimited):
            self.pacer.pause(wait, "secondary rate limit")
            self.pacer.slow_down()
        elif isinstance(exc, errors.RateLimited):
            self.pacer.pause(wait, "primary rate limit")
        log.warning("retry", method=method, path=where, attempt=attempt, reason=_reason(exc),
                    wait_s=round(wait, 3))


def _proxy_configured() -> bool:
    """Whether the standard proxy variables are set. aiohttp's trust_env also looks up ~/.netrc
    in a thread for every request, which doubled syncer's CPU per request (measured), so it is
    only switched on when a proxy is actually configured."""
    names = ("https_proxy", "http_proxy", "all_proxy")
    return any(os.environ.get(n) or os.environ.get(n.upper()) for n in names)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, errors.HTTPError):
        return f"{exc.status} {type(exc).__name__}"
    return type(exc).__name__


def _path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@contextmanager
def _translate_aiohttp_errors(method: str, where: str) -> Iterator[None]:
    """aiohttp's and asyncio's exceptions become ours here, most specific first."""
    try:
        yield
    except aiohttp.ClientConnectorCertificateError as exc:
        raise errors.TLSError(
            f"{method} {where}: TLS certificate of {exc.host} not trusted "
            f"({exc.certificate_error}); a private CA is trusted with --ca-bundle PEM "
            "(ca_bundle in a config file)") from exc
    except aiohttp.ClientSSLError as exc:
        raise errors.TLSError(f"{method} {where}: TLS handshake failed ({exc})") from exc
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise errors.TransportError(f"{method} {where}: timed out") from exc
    except aiohttp.ClientConnectorError as exc:  # refused, unreachable, or a name not found
        error = exc.os_error
        # errno's own words; a name lookup's error numbers are negative (strerror has them)
        number = error.errno or 0
        reason = os.strerror(number) if number > 0 else error.strerror or str(error)
        raise errors.TransportError(
            f"{method} {where}: could not connect to {exc.host}:{exc.port} ({reason})") from exc
    except aiohttp.ClientError as exc:
        raise errors.TransportError(f"{method} {where}: {type(exc).__name__}") from exc
