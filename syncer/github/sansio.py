"""Pure request building and answer deciphering: no sockets, no event loop.

`decipher(status, headers, body)` turns whatever GitHub answered into data or a typed error
(see errors.py); everything the client does afterwards branches on that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

from . import errors

API_VERSION = "2022-11-28"
ACCEPT = "application/vnd.github+json"

_LINK = re.compile(r'<(?P<url>[^>]+)>\s*;\s*rel="(?P<rel>[^"]+)"')
_SECONDARY_HINTS = ("secondary rate limit", "abuse detection", "blocked from content creation")
_PERMISSION_HINT = "resource not accessible by"  # "... personal access token" / "... integration"
# GitHub Enterprise Server with rate limiting off answers GET /rate_limit 404 with one of these
_LIMITS_OFF_HINTS = ("rate limiting is not enabled", "no rate limit for white listed users")
#: GitHub's 401 messages for an App JWT refused for its times (octokit's auth-app matches them too)
_JWT_TIMES_MESSAGES = ("'Expiration time' claim", "'Issued at' claim")


@dataclass(frozen=True, slots=True)
class RateLimit:
    """GitHub's x-ratelimit-* headers; truthy while requests remain."""

    limit: int
    remaining: int
    used: int
    reset_at: float
    resource: str = "core"

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit | None:
        try:
            return cls(
                limit=int(headers["x-ratelimit-limit"]),
                remaining=int(headers["x-ratelimit-remaining"]),
                used=int(headers.get("x-ratelimit-used", "0")),
                reset_at=float(headers["x-ratelimit-reset"]),
                resource=headers.get("x-ratelimit-resource", "core"),
            )
        except (KeyError, ValueError):
            return None

    def __bool__(self) -> bool:
        return self.remaining > 0


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    data: Any
    etag: str | None
    next_url: str | None
    rate_limit: RateLimit | None
    http_date: str | None = None  # the answer's Date header, as sent
    attempts: int = 1

    @property
    def date(self) -> str | None:
        """The Date header as GitHub writes timestamps (parsed only when asked: it is slow)."""
        return http_date_to_iso(self.http_date)


def next_link(link_header: str | None) -> str | None:
    """The URL of rel="next" in a Link header; never built by hand (rel="last" may be missing)."""
    if not link_header:
        return None
    for match in _LINK.finditer(link_header):
        if match.group("rel") == "next":
            return match.group("url")
    return None


@lru_cache(maxsize=8)  # a Date header changes once a second; answers in that second share it
def http_date_to_iso(value: str | None) -> str | None:
    """'Mon, 23 Nov 2026 18:00:17 GMT' → '2026-11-23T18:00:17Z' (GitHub's timestamp format)."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return None


def lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def decipher(
    status: int, headers: Mapping[str, str], body: bytes, *, method: str = "", path: str = ""
) -> Response:
    """Data of a successful answer (304 included, with data None), or raise its typed error.

    `headers` must answer lower-case names: a dict from `lower_keys`, or a case-insensitive
    mapping such as aiohttp's.
    """
    data = _json_or_none(body)
    if status < 400:
        return Response(
            status=status,
            data=data,
            etag=headers.get("etag"),
            next_url=next_link(headers.get("link")),
            rate_limit=RateLimit.from_headers(headers),
            http_date=headers.get("date"),
        )
    raise error_for(status, headers, data, method=method, path=path)


def error_for(
    status: int, headers: Mapping[str, str], data: Any, *, method: str = "", path: str = ""
) -> errors.HTTPError:
    message = _message(data) or _REASONS.get(status, "error")
    where = {"method": method, "path": path}
    if status in (403, 429):
        limited = _rate_limit_error(status, headers, message, where)
        if limited is not None:
            return limited
        if status == 403 and _PERMISSION_HINT in message.lower():
            return errors.PermissionDenied(status, message, **where)
        if status == 403:
            return errors.Forbidden(status, message, **where)
    if status == 401:
        if message.startswith(_JWT_TIMES_MESSAGES):
            return errors.JWTTimesRefused(status, message, **where)
        return errors.AuthFailed(status, message, **where)
    if status == 404 and RateLimit.from_headers(headers) is None and any(
            hint in message.lower() for hint in _LIMITS_OFF_HINTS):
        return errors.RateLimitingOff(status, message, **where)
    if status == 404:
        return errors.NotFound(status, message, **where)
    if status == 409:
        return errors.Conflict(status, message, **where)
    if status == 422:
        if _is_key_problem(message):
            return errors.KeyMismatch(status, message, **where)
        return errors.Invalid(status, message, **where)
    if status >= 500 or status == 429:
        return errors.ServerError(status, message, **where)
    return errors.HTTPError(status, message, **where)


def _rate_limit_error(
    status: int, headers: Mapping[str, str], message: str, where: dict[str, str]
) -> errors.HTTPError | None:
    retry_after = _seconds(headers.get("retry-after"))
    if any(hint in message.lower() for hint in _SECONDARY_HINTS):
        return errors.SecondaryRateLimited(status, message, retry_after=retry_after, **where)
    rate = RateLimit.from_headers(headers)
    if rate is not None and rate.remaining == 0:
        return errors.RateLimited(status, message, reset_at=rate.reset_at, **where)
    if retry_after is not None or status == 429:
        # A limit answer without GitHub's usual words: treat it as the secondary limit.
        return errors.SecondaryRateLimited(status, message, retry_after=retry_after, **where)
    return None


def _is_key_problem(message: str) -> bool:
    """A 422 that a fresh public key may cure: undecryptable value, or an unknown key_id.

    A missing key_id ("wasn't supplied") is our bug, not a stale key.
    """
    lowered = message.lower()
    return "improperly encrypted" in lowered or ("key_id" in lowered and "wasn't" not in lowered)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _json_or_none(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _message(data: Any) -> str:
    if isinstance(data, dict):
        message = str(data.get("message") or "")
        details = data.get("errors")
        if isinstance(details, list) and details:
            parts = [d.get("message") or d.get("code") if isinstance(d, dict) else str(d)
                     for d in details]
            message = f"{message} ({'; '.join(str(p) for p in parts if p)})"
        return message
    return ""


_REASONS = {401: "Bad credentials", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
            422: "Validation Failed", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable"}
