"""Which API base URLs syncer accepts: http(s) only, plain http only to loopback unless allowed,
and never a URL that carries a credential (user info, a query, a fragment). Pure."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import yarl

__all__ = ["api_url_problem", "is_loopback"]


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1 (also written as an IPv4-mapped IPv6 address)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host.lower().rstrip(".") == "localhost"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def api_url_problem(url: str, allow_insecure_http: bool = False) -> str | None:
    """Why `url` cannot be the API base URL, or None. Never repeats what may hold a credential:
    user info, a query or fragment (`?access_token=`), text where the port belongs."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed "[": not repeated, it may hold a token
        return "is not a valid URL (not repeated here, in case it holds a token)"
    if parts.username is not None or parts.password is not None:
        return ("must not contain a user name or password (not repeated here); "
                "name the token's environment variable (--token-env, or token_env in a config "
                "file)")
    try:
        parts.port  # noqa: B018 — raises ValueError on a bad port
    except ValueError:
        return f"the port of the URL for {parts.hostname!r} is not a number from 0 to 65535"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        # not repeated: a token pasted into GITHUB_API_URL lands here
        return ("is not an http(s) URL (not repeated here, in case it is a token); expected "
                "https://api.github.com, for Enterprise Server https://HOST/api/v3, for "
                "GHE.com https://api.SUBDOMAIN.ghe.com")
    shown = repr(f"{parts.scheme}://{parts.netloc}")  # the path, too, may hold a pasted token
    if parts.query or parts.fragment:
        return f"{shown} must not have a query or fragment (not repeated here)"
    try:
        str(yarl.URL(url))  # as the client will encode it (an IDN host, say)
    except ValueError as exc:
        return f"{shown} is not a valid URL ({exc})"
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback(parts.hostname):
        return ("plain http:// would send the token unencrypted; use https://, or allow it "
                "with --allow-insecure-http (allow_insecure_http = true in a config file; "
                "loopback addresses are always allowed)")
    return None
