"""``python -m syncer.fakehub`` / ``syncer fakehub ...``: run a fakehub until SIGINT/SIGTERM.

On start it prints, and flushes, ``GITHUB_API_URL=...`` and ``GITHUB_TOKEN=...`` (and
``FAKEHUB_ADMIN_TOKEN=...`` when an admin token is set), one per line, once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import signal
import ssl
import sys
from collections.abc import Sequence
from dataclasses import fields
from typing import TextIO

from .faults import Faults
from .hub import FakeHub
from .limits import Limits


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="syncer fakehub",
        description="A local imitation of GitHub's REST API for secrets (Actions, Dependabot, "
        "Codespaces, agents) and variables (Actions, agents). Under /api/v3 it answers as an "
        "Enterprise Server, which has no codespaces or agents endpoints (404). Each org gets "
        "repositories as an organisation might have them: services svc-* (topic backend), web "
        "apps web-* (frontend), api, dependency mirrors deps-*, libs, lib-*, tools-*, infra-*, "
        "docs; some public, some archived, some forks; the environments on the deployable ones "
        "(api, svc-*, web-*, infra-*) that are neither archived nor forks.",
    )
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one")
    p.add_argument("--org", action="append", dest="orgs", metavar="ORG",
                   help="organisation to create (repeatable; default: acme)")
    p.add_argument("--repos", type=int, default=10, metavar="N",
                   help="repositories per org (default 10); the first dozen are the same in "
                        "every org (api, svc-billing, web-storefront, deps-npm, libs, ...), the "
                        "rest drawn from --seed and the org's name")
    p.add_argument("--envs", default="production,staging", metavar="ENV,...",
                   help="comma-separated environments of each deployable repository (with "
                        "--plain-names: of every repository); '' for none "
                        "(default production,staging)")
    p.add_argument("--plain-names", action="store_true",
                   help="the plain world instead: repo-0001 ... repo-N, all private, no topics, "
                        "none archived or a fork, every one with --envs")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the generated repositories and of the faults below "
                        "(default 0): the same seed gives the same world and, to a client "
                        "sending one request at a time, the same faults")
    p.add_argument("--token", default=None, help="accepted token (default: a random one)")
    p.add_argument("--admin-token", default=None,
                   help="enables GET /_fakehub/state with this bearer token")
    faults = p.add_argument_group(
        "faults", "Drawn per request from --seed, before the request is applied unless said.")
    faults.add_argument("--latency-ms", type=float, default=0.0, metavar="MS",
                        help="added before every answer (default 0)")
    faults.add_argument("--jitter-ms", type=float, default=0.0, metavar="MS",
                        help="a further uniform 0..MS added before every answer (default 0)")
    faults.add_argument("--error-rate", type=float, default=0.0, metavar="P",
                        help="share of requests answered 500, 502 or 503 without being "
                             "applied, 0..1 (default 0)")
    faults.add_argument("--drop-rate", type=float, default=0.0, metavar="P",
                        help="share of connections closed without an answer, the request not "
                             "applied, 0..1 (default 0)")
    faults.add_argument("--slow-rate", type=float, default=0.0, metavar="P",
                        help="share of requests applied at once but answered only after "
                             "--slow-seconds, 0..1 (default 0)")
    faults.add_argument("--slow-seconds", type=float, default=30.0, metavar="S",
                        help="how late a slow answer leaves (default 30)")
    limits = p.add_argument_group(
        "rate limits",
        "GitHub's own limits are on by default (per token: 5,000 requests an hour, 900 points "
        "a minute with GET 1 and writes 5, 100 requests in flight; GraphQL its own 5,000 an "
        "hour). 0 turns one limit off.",
    )
    limits.add_argument("--no-limits", action="store_true",
                        help="an Enterprise Server with rate limiting disabled: no limits, no "
                             "x-ratelimit-* headers, GET /rate_limit answers 404")
    limits.add_argument("--points-per-minute", type=int, default=900, metavar="N",
                        help="secondary limit on REST points in a sliding minute (default 900)")
    limits.add_argument("--max-concurrent", type=int, default=100, metavar="N",
                        help="secondary limit on requests in flight (default 100)")
    limits.add_argument("--content-creation-per-minute", type=int, default=0, metavar="N",
                        help="GitHub's content-creation limit: at most N PUT/POST/PATCH/DELETE "
                             "in a sliding minute (GitHub: 80; off by default, as GitHub does "
                             "not document whether secret writes count)")
    limits.add_argument("--limit-status", type=int, choices=(403, 429), default=403,
                        help="the status of an answer over a limit (GitHub sends either)")
    limits.add_argument("--no-retry-after", action="store_true",
                        help="secondary-limit answers without retry-after (GitHub sometimes)")
    limits.add_argument("--time-scale", type=float, default=1.0, metavar="X",
                        help="a minute (and an hour) lasts 60/X seconds (default 1)")
    limits.add_argument("--primary-limit", type=int, default=5000, metavar="N",
                        help="requests per hour (default 5000)")
    limits.add_argument("--primary-remaining", type=int, default=None, metavar="N",
                        help="requests left in the first hour")
    limits.add_argument("--primary-reset-seconds", type=float, default=3600.0, metavar="S",
                        help="length of the primary window (default 3600)")
    p.add_argument("--legacy-env-routes-only", action="store_true",
                   help="answer 404 on /repos/{owner}/{repo}/environments/.../secrets and "
                        ".../variables (the /repositories/{id}/environments/... form works)")
    p.add_argument("--read-only-token", action="append", default=[], metavar="TOKEN",
                   help="also accept TOKEN, which may read but not write (403 'Resource not "
                        "accessible by personal access token'); repeatable")
    p.add_argument("--non-admin-token", action="append", default=[], metavar="TOKEN",
                   help="also accept TOKEN, without org admin: 403 on every /orgs/{org}/.../"
                        "secrets and .../variables endpoint, repository and environment ones "
                        "work; repeatable")
    p.add_argument("--plain-links", action="store_true",
                   help="pagination links repeat the requested path instead of GitHub's "
                        "/organizations/{id}/... and /repositories/{id}/... form")
    p.add_argument("--tls-cert", default=None, metavar="PEM", help="PEM certificate: serve HTTPS")
    p.add_argument("--tls-key", default=None, metavar="PEM", help="PEM private key for --tls-cert")
    return p


_LIMIT_FLAGS = ("points_per_minute", "max_concurrent", "content_creation_per_minute",
                "primary_limit", "primary_remaining")
_LIMIT_ANSWERS = ("limit_status", "no_retry_after")


def limits_from_args(args: argparse.Namespace, defaults: argparse.Namespace) -> Limits:
    """``--no-limits`` with a limit of its own is a contradiction (ValueError)."""
    if args.no_limits:
        given = [name for name in _LIMIT_FLAGS + _LIMIT_ANSWERS
                 if getattr(args, name) != getattr(defaults, name)]
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            raise ValueError(f"--no-limits turns every limit off; it cannot go with {flags}")
        return Limits.off()
    return Limits(
        primary_limit=args.primary_limit or None,
        primary_remaining=args.primary_remaining,
        primary_reset_seconds=args.primary_reset_seconds,
        points_per_minute=args.points_per_minute or None,
        max_concurrent=args.max_concurrent or None,
        time_scale=args.time_scale,
        limit_status=args.limit_status,
        retry_after=not args.no_retry_after,
        content_creation_per_minute=args.content_creation_per_minute or None,
    )


def hub_from_args(args: argparse.Namespace) -> FakeHub:
    limits = limits_from_args(args, build_parser().parse_args([]))
    # each field of Faults has its option of the same name (--latency-ms, ..., --seed)
    faults = Faults(**{field.name: getattr(args, field.name) for field in fields(Faults)})
    hub = FakeHub(
        tokens=(args.token,),
        limits=limits,
        faults=faults,
        admin_token=args.admin_token,
        legacy_env_routes_only=args.legacy_env_routes_only,
        read_only_tokens=args.read_only_token,
        non_admin_tokens=args.non_admin_token,
        id_links=not args.plain_links,
    )
    envs = tuple(e.strip() for e in args.envs.split(",") if e.strip())
    for org in args.orgs or ["acme"]:
        hub.add_org(org)
        if args.plain_names:
            hub.add_repos(org, args.repos, environments=envs)
        else:
            hub.add_varied_repos(org, args.repos, seed=args.seed, environments=envs)
    return hub


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if cert is None and key is None:
        return None
    if cert is None:
        raise ValueError("--tls-key needs --tls-cert")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def run(hub: FakeHub, args: argparse.Namespace, out: TextIO) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with hub.serve(args.host, args.port, tls_context(args.tls_cert, args.tls_key)) as url:
            lines = [f"GITHUB_API_URL={url}", f"GITHUB_TOKEN={args.token}"]
            if args.admin_token:
                lines.append(f"FAKEHUB_ADMIN_TOKEN={args.admin_token}")
            out.write("\n".join(lines) + "\n")
            out.flush()
            await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.token is None:
        args.token = "ghp_" + secrets.token_hex(18)
    if args.repos < 0:
        parser.error("--repos must not be negative")
    for name in _LIMIT_FLAGS:
        value = getattr(args, name)
        if value is not None and value < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    try:
        limits_from_args(args, parser.parse_args([]))
    except ValueError as exc:
        parser.error(str(exc))
    try:
        hub = hub_from_args(args)
        asyncio.run(run(hub, args, sys.stdout))
    except (OSError, ValueError) as exc:
        print(f"syncer fakehub: {exc}", file=sys.stderr)
        return 1
    return 0
