"""Typed errors for everything GitHub (or the network on the way) can answer.

GitHubError
├── ForeignLink                    a next-page link leaves the API URL: not followed
├── TransportError                 connection refused/reset/dropped, timeout    retry with backoff
└── HTTPError (status, message)
    ├── ServerError                5xx                                           retry with backoff
    ├── RateLimited                primary limit spent: wait until `reset_at`
    ├── SecondaryRateLimited       secondary limit: wait `retry_after`, then back off
    ├── AuthFailed                 401: the token is no good; stop the whole run
    │   └── JWTTimesRefused        401 for a GitHub App JWT's iat/exp: the clocks differ;
    │                              sign again on GitHub's time, once
    ├── Forbidden                  403 without rate-limit signs: fail that target
    │   └── PermissionDenied       403 "Resource not accessible by ...": the token lacks a
    │                              permission; never retried
    ├── NotFound                   404: fail that target
    │   ├── OrgNotFound            an organisation's repositories: no such org, or no access
    │   └── RateLimitingOff        GET /rate_limit on an Enterprise Server with limits off
    ├── Conflict                   409: fail that target
    └── Invalid                    422: fail that target
        └── KeyMismatch            422 "improperly encrypted": re-fetch the key once, re-encrypt

Callers branch on the type and on the fields each error carries; the message never contains a
request body, so a secret cannot leak through a traceback.
"""

from __future__ import annotations


class GitHubError(Exception):
    """Anything that went wrong talking to GitHub."""

    #: Worth another attempt of the same request after some wait.
    retryable: bool = False
    #: Met by a retry of a write: an earlier try may have been applied (its answer lost, a 5xx
    #: after the fact), so this error may be GitHub answering our own write.
    may_have_landed: bool = False


class ForeignLink(GitHubError):
    """A Link header's next page is not under the API URL: following it would send the token
    to another host (or over plain http)."""


class TransportError(GitHubError):
    """The request got no HTTP answer: connection refused, reset, dropped, or timed out."""

    retryable = True


class HTTPError(GitHubError):
    def __init__(self, status: int, message: str, *, method: str = "", path: str = "") -> None:
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        where = f"{method} {path}: " if method else ""
        super().__init__(f"{where}{status} {message}".strip())


class ServerError(HTTPError):
    retryable = True


class RateLimited(HTTPError):
    """The primary (hourly) budget is spent until `reset_at` (epoch seconds)."""

    retryable = True

    def __init__(self, status: int, message: str, *, reset_at: float, **kw: str) -> None:
        super().__init__(status, message, **kw)
        self.reset_at = reset_at


class SecondaryRateLimited(HTTPError):
    """GitHub's secondary limit; `retry_after` seconds when GitHub said, else None."""

    retryable = True

    def __init__(self, status: int, message: str, *, retry_after: float | None, **kw: str) -> None:
        super().__init__(status, message, **kw)
        self.retry_after = retry_after


class AuthFailed(HTTPError):
    pass


class JWTTimesRefused(AuthFailed):
    """GitHub refused a GitHub App JWT for its 'Issued at' or 'Expiration time' claim: this
    machine's clock differs from GitHub's."""


class Forbidden(HTTPError):
    pass


class PermissionDenied(Forbidden):
    """The token lacks a permission for this kind of request (a fine-grained token's, a
    classic token's scope, a GitHub App's)."""


class NotFound(HTTPError):
    pass


class OrgNotFound(NotFound):
    """The organisation's repositories could not be listed: it does not exist, or the token
    may not see it (the message says both)."""


class RateLimitingOff(NotFound):
    """GitHub Enterprise Server answering that its rate limiting is not enabled."""


class Conflict(HTTPError):
    pass


class Invalid(HTTPError):
    pass


class KeyMismatch(Invalid):
    """The value was not sealed with the scope's current public key (stale or rotated key)."""


class TLSError(TransportError):
    """The server's certificate was not trusted; retrying will not change that."""

    retryable = False


#: What ends a whole run rather than one target or scope: the token is no good, or the budget
#: is spent (when not waiting for its reset).
RUN_ENDING: tuple[type[GitHubError], ...] = (AuthFailed, RateLimited)
