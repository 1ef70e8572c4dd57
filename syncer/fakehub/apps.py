"""GitHub Apps: registered apps, their installations, App JWTs and installation tokens.

What GitHub documents, and fakehub does:
- An App authenticates as itself with a JWT signed RS256 by its private key: ``iss`` is the App
  ID (or, since 2024, its client ID), ``iat`` the issue time, ``exp`` at most 10 minutes ahead.
  Only the ``/app/...`` and ``/orgs/{org}/installation`` endpoints take a JWT.
- ``POST /app/installations/{id}/access_tokens`` answers 201 with an installation token and
  its ``expires_at`` one hour later; afterwards the token is answered 401 ``Bad credentials``.
  An installation token acts within its installation's organisation only.

GitHub's messages for a refused JWT (observed in issue threads; octokit's auth-app matches the
time ones to detect clock skew):
- bad signature, a key that is not the App's, an unknown App ID, anything not a JWT:
  ``A JSON web token could not be decoded``
- ``exp`` missing or past: ``'Expiration time' claim ('exp') must be a numeric value
  representing the future time at which the assertion expires``
- ``exp`` more than 10 minutes ahead: ``'Expiration time' claim ('exp') is too far in the
  future``
- ``iat`` missing, not an integer, or in the future: ``'Issued at' claim ('iat') must be an
  Integer representing the time that the assertion was issued``

fakehub's choices where GitHub is silent: ``exp`` is checked before ``iat``; an ``iat`` up to
60 s ahead of fakehub's clock is tolerated (clock drift); ``exp`` is compared with the server's
clock (so a client whose clock runs ahead gets "too far in the future", as reported). A token
(fixed or installation) on an App endpoint gets the JWT message; a JWT on any other endpoint
gets ``Bad credentials``. ``expires_at`` is shown truncated to the second, so a token is good
at least until the time shown. The rate-limit budget belongs to the installation, not to each
of its tokens. Narrowing a token (``repositories``, ``repository_ids``, ``permissions`` in the
body) is answered 422 rather than silently ignored: fakehub does not model per-token
permissions.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from typing import TYPE_CHECKING, Any, Final

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from . import rules
from .rules import ApiError

if TYPE_CHECKING:
    from .world import Org

JWT_MAX_SECONDS: Final = 600
IAT_LEEWAY_SECONDS: Final = 60
DEFAULT_TOKEN_TTL: Final = 3600.0

UNDECODABLE: Final = "A JSON web token could not be decoded"
EXP_NOT_FUTURE: Final = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at "
    "which the assertion expires"
)
EXP_TOO_FAR: Final = "'Expiration time' claim ('exp') is too far in the future"
IAT_INVALID: Final = (
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was "
    "issued"
)
NOT_ACCESSIBLE: Final = "Resource not accessible by integration"

#: What a fakehub installation may do: everything syncer's endpoints need.
PERMISSIONS: Final = {
    "metadata": "read",
    "secrets": "write",
    "environments": "write",
    "dependabot_secrets": "write",
    "codespaces_secrets": "write",
    "organization_secrets": "write",
    "actions_variables": "write",  # "Variables" (repository)
    "organization_actions_variables": "write",  # "Organization variables"
}
_TOKEN_ALPHABET: Final = string.ascii_letters + string.digits


@dataclass(slots=True, eq=False)
class App:
    id: int
    slug: str
    client_id: str
    public_key: RSAPublicKey
    created_at: datetime


@dataclass(slots=True, eq=False)
class Installation:
    id: int
    app: App
    org: Org
    created_at: datetime


@dataclass(slots=True, eq=False)
class InstallationToken:
    value: str
    installation: Installation
    expires_at: float  # epoch seconds

    @property
    def expires_at_iso(self) -> str:
        """Whole seconds, truncated: the token is good at least until the time shown."""
        return rules.iso(datetime.fromtimestamp(int(self.expires_at), UTC))


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request authenticated as.

    ``kind``: ``token`` (a fixed token, any organisation), ``app`` (an App JWT) or
    ``installation`` (an installation token; ``org`` is its organisation, lower-cased).
    ``limit_key`` names the rate-limit budget: per token, per App, per installation.
    ``read_only``: a token that may read but not write; ``org_admin=False``: a token that
    may not use organisation secrets (see ``api.check_permission``).
    """

    kind: str
    limit_key: str
    app_id: int | None = None
    org: str | None = None
    read_only: bool = False
    org_admin: bool = True


@dataclass(slots=True)
class Apps:
    """The Apps of one fakehub. Callers hold the world lock."""

    now: Callable[[], datetime]
    token_ttl: float = DEFAULT_TOKEN_TTL
    apps: dict[int, App] = field(default_factory=dict)
    installations: dict[int, Installation] = field(default_factory=dict)
    tokens: dict[str, InstallationToken] = field(default_factory=dict)  # valid, or not yet purged
    issued: list[str] = field(default_factory=list)  # every token ever issued (for tests)
    _installation_ids: Iterator[int] = field(default_factory=lambda: count(40_000_001))

    # ---- building

    def register(self, app_id: int, public_key_pem: str | bytes, slug: str | None = None) -> App:
        pem = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
        key = load_pem_public_key(pem)
        if not isinstance(key, RSAPublicKey):
            raise TypeError("a GitHub App key is an RSA key")
        if app_id in self.apps:
            raise ValueError(f"App {app_id} is already registered")
        app = App(app_id, slug or f"fakehub-app-{app_id}", f"Iv23li{app_id:014d}", key,
                  rules.whole_second(self.now()))
        self.apps[app_id] = app
        return app

    def install(self, org: Org, app_id: int) -> Installation:
        app = self.apps.get(app_id)
        if app is None:
            raise ValueError(f"no App {app_id}: register_app() it first")
        if self.of_org(org, app) is not None:
            raise ValueError(f"App {app_id} is already installed on {org.name}")
        installation = Installation(next(self._installation_ids), app, org,
                                    rules.whole_second(self.now()))
        self.installations[installation.id] = installation
        return installation

    # ---- lookups

    def of_org(self, org: Org, app: App) -> Installation | None:
        for installation in self.installations.values():
            if installation.app is app and installation.org is org:
                return installation
        return None

    def of_app(self, app: App) -> list[Installation]:
        return sorted((i for i in self.installations.values() if i.app is app),
                      key=lambda i: i.id)

    def installation(self, installation_id: str, app: App) -> Installation:
        """The App's installation with this id, or 404 (another App's installations too)."""
        number = rules.ascii_int(installation_id)
        found = None if number is None else self.installations.get(number)
        if found is None or found.app is not app:
            raise rules.not_found()
        return found

    # ---- authentication

    def verify_jwt(self, token: str) -> App:
        """The App whose valid JWT ``token`` is, or the 401 GitHub answers."""
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _unauthorized(UNDECODABLE) from None
        app = self._issuer(claims.get("iss"))
        if header.get("alg") != "RS256" or app is None:
            raise _unauthorized(UNDECODABLE)
        try:
            jwt.decode(token, app.public_key, algorithms=["RS256"],
                       options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                                "verify_aud": False, "verify_iss": False})
        except jwt.PyJWTError:
            raise _unauthorized(UNDECODABLE) from None
        now = self.now().timestamp()
        expires, issued = claims.get("exp"), claims.get("iat")
        if not isinstance(expires, (int, float)) or isinstance(expires, bool) or expires <= now:
            raise _unauthorized(EXP_NOT_FUTURE)
        if expires > now + JWT_MAX_SECONDS:
            raise _unauthorized(EXP_TOO_FAR)
        if type(issued) is not int or issued > now + IAT_LEEWAY_SECONDS:
            raise _unauthorized(IAT_INVALID)
        return app

    def _issuer(self, iss: Any) -> App | None:
        if isinstance(iss, int) and not isinstance(iss, bool):
            return self.apps.get(iss)
        if isinstance(iss, str):
            number = rules.ascii_int(iss)
            if number is not None:
                return self.apps.get(number)
            return next((a for a in self.apps.values() if a.client_id == iss), None)
        return None

    def issue(self, installation: Installation) -> InstallationToken:
        self._forget_expired()
        value = "ghs_" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(36))
        token = InstallationToken(value, installation, self.now().timestamp() + self.token_ttl)
        self.tokens[value] = token
        self.issued.append(value)
        return token

    def token(self, value: str) -> InstallationToken | None:
        """The installation token ``value`` while it is valid; None once expired or unknown."""
        found = self.tokens.get(value)
        if found is None or found.expires_at <= self.now().timestamp():
            return None
        return found

    def revoke(self, value: str) -> None:
        self.tokens.pop(value, None)

    def _forget_expired(self) -> None:
        now = self.now().timestamp()
        for value in [v for v, t in self.tokens.items() if t.expires_at <= now]:
            del self.tokens[value]


def check_token_request(body: Any) -> None:
    """The body of ``POST .../access_tokens``: absent or ``{}``; narrowing is refused (422)."""
    if body is None:
        return
    if not isinstance(body, dict):
        raise rules.invalid_request("Invalid input: an object is expected.")
    narrowing = sorted(k for k in ("repositories", "repository_ids", "permissions") if k in body)
    if narrowing:
        raise rules.validation_failed(
            "Installation", narrowing[0],
            "fakehub does not narrow installation tokens (repositories, repository_ids, "
            "permissions); ask for a token of the whole installation",
        )


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message)
