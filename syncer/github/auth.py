"""Where the token comes from: environment variables, the gh CLI, or a GitHub App.

- `env_token`, `gh_token` (local_tokens.py): a token already on this machine.
- `AppInstallationToken`: a `TokenSource` (see client.py) for a GitHub App: it signs a JWT
  with the App's private key, finds the org's installation, exchanges the JWT for an
  installation token, and exchanges again shortly before that token's one-hour expiry, or at
  once after a 401. Concurrent callers share one exchange (single flight).
- `InstallationTokens` (org_tokens.py): one `AppInstallationToken` per org, for a run that
  spans orgs; the org of the work at hand is named with `acting_for(org)`.

Nothing here logs or raises with a token, a JWT or the private key in it: every credential
is handed to `on_secret` (execution/credentials.py registers it for redaction) as soon as it exists, and
exceptions carry GitHub's message, the method and the path, never a header.

This module knows nothing about config files: execution/credentials.py reads the key and
builds these.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Final, Self
from urllib.parse import quote

import aiohttp
import anyio
import structlog

if TYPE_CHECKING:  # cryptography and jwt load only for GitHub App runs: start-up time
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from . import errors, sansio
from .client import USER_AGENT, _translate_aiohttp_errors

log = structlog.get_logger("syncer.github.auth")

#: GitHub accepts an App JWT whose `exp` is at most 10 minutes ahead of its own clock; 9
#: leaves a minute for our clock running ahead. `iat` 60 s back covers it running behind.
JWT_LIFETIME: Final = 540
JWT_BACKDATE: Final = 60
#: Exchange again when less than this is left of an installation token (GitHub: one hour).
REFRESH_MARGIN: Final = 300.0
#: Clock differences under this are Date-header rounding, not skew.
_SKEW_TOLERANCE: Final = 2.0

OnSecret = Callable[[str], None]


def _ignore(_secret: str) -> None:
    return None



# ---------------------------------------------------------------------------------------------
# GitHub App


class AppKeyError(ValueError):
    """The App's private key is not a usable PEM RSA private key (the key is not quoted)."""


class AppAuthFailed(errors.AuthFailed):
    """The App could not get an installation token; the message says why and what to check."""


def load_app_key(private_key_pem: str | bytes) -> RSAPrivateKey:
    """The RSA private key of a PEM text, or AppKeyError (never quoting the text)."""
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    pem = private_key_pem.encode() if isinstance(private_key_pem, str) else private_key_pem
    try:
        key = load_pem_private_key(pem.strip() + b"\n", password=None)
    except (ValueError, TypeError):
        raise AppKeyError("not a PEM private key without a passphrase (as GitHub issues "
                          "them: -----BEGIN RSA PRIVATE KEY-----)") from None
    except Exception:  # noqa: BLE001 - e.g. an unsupported algorithm; never echo the key
        raise AppKeyError("not a usable PEM private key") from None
    if not isinstance(key, RSAPrivateKey):
        raise AppKeyError("not an RSA key; GitHub Apps sign their JWTs with RS256")
    return key


@dataclass(frozen=True, slots=True)
class _Issued:
    value: str
    expires_at: float  # epoch seconds, GitHub's clock
    lifetime: float  # seconds it had to live when issued


class AppInstallationToken:
    """A `TokenSource` handing out a GitHub App's installation token for one organisation.

    `token()` answers from memory until less than `refresh_margin` (at most a quarter of the
    token's lifetime, so compressed lifetimes in tests work alike) is left, then exchanges a
    new JWT for a new token; `renew(rejected)` after a 401 exchanges at once unless another
    caller already did. Concurrent callers wait on the one exchange in progress.

    Requests go through a small aiohttp session of its own (proxies from the environment,
    `ssl_context` for a private CA), or through `session` when given. `clock` is epoch
    seconds; a skew against GitHub's clock is learnt from the Date header when GitHub refuses
    a JWT for its times (then the exchange is tried once more) or answers an exchange.
    """

    def __init__(
        self,
        api_url: str,
        app_id: int,
        private_key_pem: str | bytes,
        org: str,
        installation_id: int | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = REFRESH_MARGIN,
        on_secret: OnSecret = _ignore,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.app_id = app_id
        self.org = org
        self._key = load_app_key(private_key_pem)
        self._installation_id = installation_id
        self._found_installation: int | None = None
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None
        self._clock = clock
        self._margin = refresh_margin
        self._on_secret = on_secret
        self._skew = 0.0  # GitHub's clock minus ours
        self._issued: _Issued | None = None
        self._lock = anyio.Lock()
        self._attempts = 0  # exchanges begun; with _last_error, the outcome waiters share
        self._last_error: Exception | None = None
        self.exchanges = 0  # installation tokens obtained so far

    def __repr__(self) -> str:
        return f"AppInstallationToken(app_id={self.app_id}, org={self.org!r})"

    # ---- TokenSource

    async def token(self) -> str:
        issued = self._issued
        if issued is not None and not self._due(issued):
            return issued.value
        return (await self._refresh(issued)).value

    async def renew(self, rejected: str) -> bool:
        issued = self._issued
        if issued is None or issued.value != rejected:
            return True  # another caller has already replaced the rejected token
        await self._refresh(issued)
        return True

    async def prime(self) -> None:
        """Get the first token now, so a wrong App setup fails before any work starts."""
        await self.token()

    async def aclose(self) -> None:
        """Close the session this source opened (a later token() opens a new one)."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ---- refreshing

    def _now(self) -> float:
        """GitHub's time, as well as we know it."""
        return self._clock() + self._skew

    def _due(self, issued: _Issued) -> bool:
        margin = min(self._margin, issued.lifetime / 4)
        return issued.expires_at - self._now() <= margin

    async def _refresh(self, seen: _Issued | None) -> _Issued:
        """Exchange for a new token, unless someone replaced `seen` while we waited; when the
        exchange we waited on failed, share its error rather than sending another at once
        (the client's retry policy decides when to try again)."""
        attempts_before = self._attempts
        async with self._lock:
            current = self._issued
            if current is not None and current is not seen and not self._due(current):
                return current
            if self._attempts != attempts_before and self._last_error is not None:
                raise self._last_error.with_traceback(None)
            self._attempts += 1
            try:
                fresh = await self._exchange()
            except Exception as exc:
                self._last_error = exc
                raise
            self._last_error = None
            self._issued = fresh
            return fresh

    async def _exchange(self) -> _Issued:
        installation_id = await self._installation()
        path = f"/app/installations/{installation_id}/access_tokens"
        try:
            response = await self._app_request("POST", path)
        except errors.NotFound:
            if self._installation_id is not None or self._found_installation is None:
                raise self._failure(404, "POST", path, (
                    f"GitHub App {self.app_id} has no installation {installation_id} "
                    "(check the installation id: [github.app].installation_id or "
                    "--app-installation-id)")) from None
            self._found_installation = None  # uninstalled and installed again: look it up anew
            installation_id = await self._installation()
            path = f"/app/installations/{installation_id}/access_tokens"
            response = await self._app_request_or_missing("POST", path, (
                f"GitHub App {self.app_id}'s installation on {self.org} vanished while "
                "syncer was getting a token for it"))
        data = response.data if isinstance(response.data, dict) else {}
        value, expires_text = data.get("token"), data.get("expires_at")
        expires_at = _epoch(expires_text) if isinstance(expires_text, str) else None
        if not isinstance(value, str) or not value or expires_at is None:
            raise errors.ServerError(response.status, "installation token answer without "
                                     "token or expires_at", method="POST", path=path)
        self._on_secret(value)
        self.exchanges += 1
        lifetime = max(0.0, expires_at - self._now())
        log.debug("installation_token", org=self.org, installation_id=installation_id,
                  expires_at=expires_text, lifetime_s=round(lifetime, 1))
        return _Issued(value, expires_at, lifetime)

    async def installed_orgs(self) -> list[str]:
        """The organisations this App is installed on (GET /app/installations, as the App)."""
        orgs: list[str] = []
        path: str | None = "/app/installations?per_page=100"
        while path is not None:
            response = await self._app_request("GET", path)
            for installation in response.data or ():
                account = installation.get("account") or {}
                if account.get("type", "Organization") == "Organization" and account.get("login"):
                    orgs.append(account["login"])
            following = response.next_url
            path = (following[len(self.api_url):]
                    if following and following.startswith(self.api_url + "/") else None)
        return orgs

    async def _installation(self) -> int:
        if self._installation_id is not None:
            return self._installation_id
        if self._found_installation is None:
            path = f"/orgs/{quote(self.org, safe='')}/installation"
            response = await self._app_request_or_missing("GET", path, (
                f"GitHub App {self.app_id} is not installed on organisation {self.org} "
                "(install it, or check the App id: app_id or --app-id)"))
            found = response.data.get("id") if isinstance(response.data, dict) else None
            if not isinstance(found, int):
                raise errors.ServerError(response.status, "installation answer without id",
                                         method="GET", path=path)
            self._found_installation = found
        return self._found_installation

    # ---- one request authenticated as the App

    async def _app_request(self, method: str, path: str) -> sansio.Response:
        """Send with a fresh JWT; once more if GitHub refused it for its times (clock skew).

        Answers that a retry may cure (5xx, rate limits, transport) keep their types so the
        client's retry policy handles them; the others become AppAuthFailed.
        """
        for attempt in (1, 2):
            status, headers, body = await self._send(method, path)
            self._learn_clock(headers, always=False)
            try:
                return sansio.decipher(status, headers, body, method=method, path=path)
            except errors.AuthFailed as exc:
                if attempt == 1 and isinstance(exc, errors.JWTTimesRefused):
                    self._learn_clock(headers, always=True)
                    continue
                raise self._failure(exc.status, method, path, (
                    f"GitHub refused GitHub App {self.app_id}'s JWT ({exc.message}); check that "
                    "the App id and private key (app_id and private_key, or --app-id and --app-key) "
                    "belong to the same App")) from None
            except errors.NotFound:
                raise
            except errors.HTTPError as exc:
                if exc.retryable:
                    raise
                raise self._failure(exc.status, method, path,
                                    f"GitHub App {self.app_id}: {exc.message}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        session = self._session_now()
        token = self._jwt()
        url = self.api_url + path
        with _translate_aiohttp_errors(method, path):
            async with session.request(method, url,
                                       headers={"Authorization": f"Bearer {token}"}) as resp:
                return resp.status, sansio.lower_keys(resp.headers), await resp.read()

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl), timeout=self._timeout,
                headers={"Accept": sansio.ACCEPT, "X-GitHub-Api-Version": sansio.API_VERSION,
                         "User-Agent": USER_AGENT},
                trust_env=True,  # HTTPS_PROXY / NO_PROXY, as curl and gh honour them
            )
            self._owns_session = True
        return self._session

    def jwt(self) -> str:
        """A new JWT for this App (RS256; iss the App ID as a string; iat 60 s back; exp 9 min
        ahead), both in GitHub's time as far as we know it."""
        return self._jwt()

    def _jwt(self) -> str:
        import jwt

        now = int(self._now())
        claims = {"iat": now - JWT_BACKDATE, "exp": now + JWT_LIFETIME, "iss": str(self.app_id)}
        token = jwt.encode(claims, self._key, algorithm="RS256")
        self._on_secret(token)
        return token

    def _learn_clock(self, headers: Mapping[str, str], *, always: bool) -> None:
        """Take GitHub's clock from the Date header when ours is clearly off (or `always`)."""
        server = _http_date(headers.get("date"))
        if server is None:
            return
        offset = server - self._clock()
        if always or abs(offset - self._skew) > _SKEW_TOLERANCE:
            self._skew = offset if abs(offset) > _SKEW_TOLERANCE else 0.0
            if self._skew:
                log.warning("clock_skew", seconds=round(self._skew, 1),
                            message="this machine's clock differs from GitHub's; "
                                    "using GitHub's for the App's JWTs")

    async def _app_request_or_missing(self, method: str, path: str, missing: str
                                      ) -> sansio.Response:
        """`_app_request`, with GitHub's 404 told as `missing` says."""
        try:
            return await self._app_request(method, path)
        except errors.NotFound:
            raise self._failure(404, method, path, missing) from None

    def _failure(self, status: int, method: str, path: str, message: str) -> AppAuthFailed:
        return AppAuthFailed(status, message, method=method, path=path)


def _epoch(iso: str) -> float | None:
    """'2026-05-01T12:00:00Z' → epoch seconds."""
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None


def _http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None

