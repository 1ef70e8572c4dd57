"""fakehub's rate limits: GitHub's by default, Enterprise Server without them, and the ways
GitHub answers a limit (403 or 429, with or without retry-after, content creation, GraphQL)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from helpers import Headers, call
from helpers import hub_session as session
from openapi_check import validate_exchanges

from syncer.fakehub import FakeHub, Faults, Limits
from syncer.fakehub.cli import build_parser, hub_from_args, main

pytestmark = pytest.mark.anyio

TOKEN = "tok"
REPO = "/repos/acme/api"
GRAPHQL_QUERY = {"query": 'query { repository(owner: "acme", name: "api") { databaseId } }'}


def make_hub(**kwargs: Any) -> FakeHub:
    hub = FakeHub(tokens=(TOKEN,), record=True, **kwargs)
    hub.add_repo("acme", "api", environments=("production",))
    return hub


async def put_repo_secret(s: aiohttp.ClientSession, name: str) -> tuple[int, Any, Headers]:
    """A PUT with a body fakehub refuses (422) unless a limit answers first: limits are
    checked before the body, so this costs what any write costs without needing a key."""
    return await call(s, "PUT", f"{REPO}/actions/secrets/{name}",
                      json={"encrypted_value": "AAAA", "key_id": "1"})


# --------------------------------------------------------------------------- defaults


async def test_github_limits_are_on_by_default_and_rate_limit_is_free() -> None:
    """FakeHub() enforces GitHub's limits (5,000 an hour, 900 points a minute, 100 in flight,
    GraphQL 5,000 an hour); GET /rate_limit answers GitHub's shape, validated against the
    description, and does not count against the primary budget."""
    hub = make_hub()
    assert hub.limits == Limits()
    lim = hub.limits
    assert (lim.primary_limit, lim.points_per_minute, lim.max_concurrent) == (5000, 900, 100)
    assert lim.graphql_limit == 5000 and lim.content_creation_per_minute is None
    async with session(hub) as s:
        status, _, headers = await call(s, "GET", REPO)
        assert status == 200
        assert (headers["x-ratelimit-limit"], headers["x-ratelimit-used"]) == ("5000", "1")
        for _ in range(3):
            status, body, headers = await call(s, "GET", "/rate_limit")
            assert status == 200
        assert headers["x-ratelimit-used"] == "1"
        core, graphql = body["resources"]["core"], body["resources"]["graphql"]
        assert (core["limit"], core["remaining"], core["used"]) == (5000, 4999, 1)
        assert (graphql["limit"], graphql["used"]) == (5000, 0)
        assert body["rate"] == core
        status, body, _ = await call(s, "GET", "/api/v3/rate_limit")
        assert status == 200 and body["rate"]["used"] == 1
    assert validate_exchanges(hub.exchanges) == []


async def test_limits_off_is_an_enterprise_server_without_rate_limiting() -> None:
    """Limits.off(): no x-ratelimit-* header on any answer, GET /rate_limit 404 "Rate limiting
    is not enabled." (both path forms), and no limit at all: 150 requests in flight at once
    all succeed."""
    hub = make_hub(limits=Limits.off(), faults=Faults(latency_ms=200))
    async with session(hub) as s:
        results = await asyncio.gather(*(call(s, "GET", REPO) for _ in range(150)))
        answers = [*results, await put_repo_secret(s, "X"), await call(s, "GET", "/repos/acme/nope")]
        for path in ("/rate_limit", "/api/v3/rate_limit"):
            status, body, headers = await call(s, "GET", path)
            assert status == 404
            assert body["message"] == "Rate limiting is not enabled."
            assert body["documentation_url"].startswith("https://docs.github.com/")
            answers.append((status, body, headers))
    async with session(hub, token="wrong") as s:
        answers.append(await call(s, "GET", REPO))
    assert [a[0] for a in answers[:150]] == [200] * 150
    assert {a[0] for a in answers[150:]} == {401, 404, 422}
    for _, _, headers in answers:
        assert not [h for h in headers if h.lower().startswith("x-ratelimit")]
        assert headers["x-github-request-id"]
    assert not hub.violations
    assert validate_exchanges(hub.exchanges) == []


def test_limits_validate_their_fields() -> None:
    """A status other than 403/429, a non-positive limit, or limits that are off but set
    are refused; Limits.off() sets nothing."""
    off = Limits.off()
    assert not off.enabled and off.primary_limit is None and off.points_per_minute is None
    for bad in (
        {"limit_status": 400},
        {"points_per_minute": 0},
        {"content_creation_per_minute": -1},
        {"enabled": False},
    ):
        with pytest.raises(ValueError):
            Limits(**bad)


# --------------------------------------------------------------------------- how a limit answers


async def test_limit_answers_can_be_429_and_end_with_the_request_id() -> None:
    """limit_status=429: a secondary (points) and a primary answer are 429; each message ends
    with the request id its x-github-request-id header carries, as GitHub's do."""
    hub = make_hub(limits=Limits(points_per_minute=2, primary_limit=3, limit_status=429,
                                 time_scale=60))
    async with session(hub) as s:
        assert (await call(s, "GET", REPO))[0] == 200
        assert (await call(s, "GET", REPO))[0] == 200
        status, body, headers = await call(s, "GET", REPO)
        assert status == 429 and "secondary rate limit" in body["message"]
        assert headers["retry-after"] == "1"
        assert body["message"].endswith(
            f"please include the request ID {headers['x-github-request-id']}.")
        await asyncio.sleep(1)
        assert (await call(s, "GET", REPO))[0] == 200  # the refused one was not charged
        status, body, headers = await call(s, "GET", REPO)
        assert status == 429 and headers["x-ratelimit-remaining"] == "0"
        assert body["message"].startswith("API rate limit exceeded")
        assert body["message"].endswith(f"request ID {headers['x-github-request-id']}.")
    assert hub.violations == {"secondary_points": 1, "primary": 1}
    assert validate_exchanges(hub.exchanges) == []


async def test_secondary_answers_without_retry_after() -> None:
    """retry_after=False: a secondary-limit answer carries no retry-after (GitHub sometimes
    sends none), only the x-ratelimit-* headers."""
    hub = make_hub(limits=Limits(max_concurrent=1, retry_after=False),
                   faults=Faults(latency_ms=200))
    async with session(hub) as s:
        results = await asyncio.gather(call(s, "GET", REPO), call(s, "GET", REPO))
    refused = [r for r in results if r[0] == 403]
    assert len(refused) == 1
    _, body, headers = refused[0]
    assert "secondary rate limit" in body["message"]
    assert "retry-after" not in {h.lower() for h in headers}
    assert "x-ratelimit-remaining" in headers
    assert hub.violations == {"secondary_concurrency": 1}


async def test_content_creation_limit_counts_writes_in_a_sliding_minute() -> None:
    """content_creation_per_minute=2: the third write in a (scaled) minute is refused with
    GitHub's content-creation message, counted under its own kind and not charged; reads go
    on; after the retry-after the next write goes through."""
    hub = make_hub(limits=Limits(content_creation_per_minute=2, time_scale=60))
    async with session(hub) as s:
        assert (await put_repo_secret(s, "A"))[0] == 422
        assert (await call(s, "DELETE", f"{REPO}/actions/secrets/NONE"))[0] == 404
        used = (await call(s, "GET", REPO))[2]["x-ratelimit-used"]
        status, body, headers = await put_repo_secret(s, "B")
        assert status == 403
        assert body["message"].startswith(
            "You have exceeded a secondary rate limit and have been temporarily blocked from "
            "content creation. Please retry your request again later.")
        assert body["message"].endswith(f"request ID {headers['x-github-request-id']}.")
        assert headers["x-ratelimit-used"] == used
        assert 1 <= int(headers["retry-after"]) <= 1
        assert (await call(s, "GET", REPO))[0] == 200
        await asyncio.sleep(int(headers["retry-after"]))
        assert (await put_repo_secret(s, "C"))[0] == 422
    assert hub.violations == {"secondary_content_creation": 1}
    assert validate_exchanges(hub.exchanges) == []


async def test_content_creation_answers_429_without_retry_after() -> None:
    """The content-creation limit follows limit_status and retry_after like the others."""
    hub = make_hub(limits=Limits(content_creation_per_minute=1, limit_status=429,
                                 retry_after=False))
    async with session(hub) as s:
        await put_repo_secret(s, "A")
        status, body, headers = await put_repo_secret(s, "B")
    assert status == 429 and "content creation" in body["message"]
    assert "retry-after" not in {h.lower() for h in headers}
    assert hub.violations == {"secondary_content_creation": 1}


async def test_graphql_has_its_own_primary_budget() -> None:
    """GraphQL answers carry x-ratelimit-resource: graphql and spend their own budget, not
    core's; past it GitHub's GraphQL answers 200 with a RATE_LIMITED error."""
    hub = make_hub(limits=Limits(graphql_limit=2, primary_limit=10))
    async with session(hub) as s:
        for used in ("1", "2"):
            status, body, headers = await call(s, "POST", "/graphql", json=GRAPHQL_QUERY)
            assert status == 200 and body["data"]["repository"]["databaseId"]
            assert (headers["x-ratelimit-resource"], headers["x-ratelimit-used"]) == (
                "graphql", used)
        status, body, headers = await call(s, "POST", "/api/graphql", json=GRAPHQL_QUERY)
        assert status == 200 and body["errors"][0]["type"] == "RATE_LIMITED"
        assert headers["x-ratelimit-remaining"] == "0"
        _, _, headers = await call(s, "GET", REPO)
        assert (headers["x-ratelimit-resource"], headers["x-ratelimit-used"]) == ("core", "1")
        _, body, _ = await call(s, "GET", "/rate_limit")
    assert body["resources"]["graphql"]["used"] == 2 and body["resources"]["core"]["used"] == 1
    assert hub.violations == {"primary_graphql": 1}


# --------------------------------------------------------------------------- the command line


def test_cli_limit_flags() -> None:
    """--no-limits is Limits.off(); --limit-status, --no-retry-after and
    --content-creation-per-minute land in Limits; 0 turns one limit off."""
    parse = build_parser().parse_args
    assert hub_from_args(parse(["--token", "t", "--no-limits"])).limits == Limits.off()
    hub = hub_from_args(parse(["--token", "t", "--limit-status", "429", "--no-retry-after",
                               "--content-creation-per-minute", "40", "--time-scale", "60",
                               "--points-per-minute", "0"]))
    assert hub.limits == Limits(limit_status=429, retry_after=False,
                                content_creation_per_minute=40, time_scale=60,
                                points_per_minute=None)


@pytest.mark.parametrize("argv", [
    ["--no-limits", "--points-per-minute", "100"],
    ["--no-limits", "--limit-status", "429"],
    ["--limit-status", "500"],
    ["--content-creation-per-minute", "-1"],
])
def test_cli_contradictory_or_bad_limit_flags_exit_2(argv: list[str]) -> None:
    """--no-limits with a limit or a way of answering one, a status GitHub never sends for a
    limit, or a negative count is a usage error."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
