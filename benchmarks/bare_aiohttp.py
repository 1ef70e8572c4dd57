"""The plainest client that does syncer's job: a yardstick, not a tool.

List the org's repositories (following ``Link: rel="next"``), then for every repository GET its
public key and PUT the sealed value: two requests per target, no key cache, no retries, no
pacing, no logging. ``--concurrency 1`` awaits every request one by one (the sequential
baseline); more runs that many workers over one aiohttp session.

Standalone (aiohttp and PyNaCl only), so it runs as its own process and its CPU is its own:

    GITHUB_TOKEN=... python benchmarks/bare_aiohttp.py --api-url URL --org acme --concurrency 64
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import ssl
import sys
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
from nacl.public import PublicKey, SealedBox

_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


def seal(public_key_b64: str, value: bytes) -> str:
    box = SealedBox(PublicKey(base64.b64decode(public_key_b64)))
    return base64.b64encode(box.encrypt(value)).decode("ascii")


class Bare:
    def __init__(self, session: aiohttp.ClientSession, api_url: str, org: str) -> None:
        self.session = session
        self.api_url = api_url.rstrip("/")
        self.org = org
        self.requests = 0

    async def get(self, url: str) -> tuple[Any, str | None]:
        self.requests += 1
        async with self.session.get(url) as response:
            response.raise_for_status()
            match = _NEXT.search(response.headers.get("Link", ""))
            return await response.json(), (match.group(1) if match else None)

    async def repos(self) -> list[str]:
        names: list[str] = []
        url: str | None = f"{self.api_url}/orgs/{self.org}/repos?per_page=100"
        while url is not None:
            page, url = await self.get(url)
            names += [item["name"] for item in page]
        return names

    async def set_secret(self, repo: str, name: str, value: bytes) -> None:
        base = f"{self.api_url}/repos/{self.org}/{repo}/actions/secrets"
        key, _ = await self.get(base + "/public-key")
        body = {"encrypted_value": seal(key["key"], value), "key_id": key["key_id"]}
        self.requests += 1
        async with self.session.put(f"{base}/{name}", json=body) as response:
            response.raise_for_status()
            await response.read()


async def sequential(bare: Bare, repos: list[str], name: str, value: bytes) -> None:
    """One request at a time, exactly as a plain script would write it."""
    for repo in repos:
        await bare.set_secret(repo, name, value)


async def concurrent(bare: Bare, repos: list[str], name: str, value: bytes, workers: int) -> None:
    todo: Iterator[str] = iter(repos)

    async def worker() -> None:
        for repo in todo:
            await bare.set_secret(repo, name, value)

    await asyncio.gather(*(worker() for _ in range(workers)))


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    token = os.environ["GITHUB_TOKEN"]
    context: ssl.SSLContext | bool = (ssl.create_default_context(cafile=args.ca_file)
                                      if args.ca_file else True)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "bare-aiohttp-bench"}
    value = os.environ.get("BARE_VALUE", "bare-benchmark-value").encode()
    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=0, ssl=context)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        bare = Bare(session, args.api_url, args.org)
        repos = await bare.repos()
        if args.limit:
            repos = repos[:args.limit]
        if args.concurrency == 1:
            await sequential(bare, repos, args.name, value)
        else:
            await concurrent(bare, repos, args.name, value, args.concurrency)
    return {"targets": len(repos), "requests": bare.requests,
            "seconds": round(time.perf_counter() - started, 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--org", default="acme")
    parser.add_argument("--name", default="BARE_SECRET")
    parser.add_argument("--concurrency", type=int, default=1, help="1: sequential baseline")
    parser.add_argument("--limit", type=int, default=0, help="only the first N repositories")
    parser.add_argument("--ca-file", help="trust this CA (fakehub over HTTPS)")
    result = asyncio.run(main_async(parser.parse_args()))
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
