"""Unit tests of fakehub's pure parts: rules, routing, limiter and fault plan (no sockets)."""

from __future__ import annotations

import base64

import pytest

from syncer.fakehub import Faults, Limits
from syncer.fakehub.api import build_routes
from syncer.fakehub.faults import FaultPlan
from syncer.fakehub.limits import LimitExceeded, RateLimiter
from syncer.fakehub.routes import Router
from syncer.fakehub.rules import (
    ApiError,
    Page,
    etag_for,
    etag_matches,
    link_header,
    name_problem,
    page_of,
    parse_secret_put,
    repo_query,
)

KEY_ID = "123"
B64 = base64.b64encode(b"x" * 80).decode()


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize("name", ["A", "_X", "abc_123", "Z9", "GITHUBX", "MY_GITHUB_TOKEN"])
def test_valid_names(name: str) -> None:
    """Letters, digits and underscores, not starting with a digit or GITHUB_, are valid."""
    assert name_problem(name) is None


@pytest.mark.parametrize("name", ["", "1ABC", "A-B", "A B", "A.B", "GITHUB_TOKEN", "github_x", "É"])
def test_invalid_names(name: str) -> None:
    """Anything else is refused, GITHUB_ compared case-insensitively."""
    assert name_problem(name) is not None


def test_put_body_requires_key_id_with_githubs_message() -> None:
    """A missing key_id reads `"key_id" wasn't supplied` (GitHub's observed text)."""
    with pytest.raises(ApiError) as err:
        parse_secret_put({"encrypted_value": B64}, org_level=False)
    assert err.value.status == 422
    assert '"key_id" wasn\'t supplied' in err.value.message


def test_put_body_rejects_non_base64_citing_the_pattern() -> None:
    """A value outside the schema's base64 pattern is a 422 quoting that pattern."""
    with pytest.raises(ApiError) as err:
        parse_secret_put({"encrypted_value": "not base64!", "key_id": KEY_ID}, org_level=False)
    assert err.value.status == 422
    assert "A-Za-z0-9+" in err.value.message and "does not match" in err.value.message


def test_org_put_body_needs_visibility_and_ids_only_with_selected() -> None:
    """Org PUT: visibility is required; selected_repository_ids only with `selected`."""
    with pytest.raises(ApiError, match="visibility"):
        parse_secret_put({"encrypted_value": B64, "key_id": KEY_ID}, org_level=True)
    with pytest.raises(ApiError):
        parse_secret_put(
            {"encrypted_value": B64, "key_id": KEY_ID, "visibility": "all",
             "selected_repository_ids": []},
            org_level=True,
        )
    put = parse_secret_put(
        {"encrypted_value": B64, "key_id": KEY_ID, "visibility": "selected",
         "selected_repository_ids": [1, "2", 2]},
        org_level=True,
    )
    assert put.selected_repository_ids == (1, 2)


def test_per_page_defaults_and_clamp() -> None:
    """per_page defaults to 30, is clamped to 100; page counts from 1."""
    assert page_of({}, 10) == Page(1, 30, 10)
    assert page_of({"per_page": "500", "page": "3"}, 1000) == Page(3, 100, 1000)
    assert page_of({"per_page": "0", "page": "-1"}, 5) == Page(1, 30, 5)


def test_link_header_rels_like_github() -> None:
    """First page: next+last; middle: prev+next+last+first; last: prev+first; one page: none."""
    q = {"per_page": "10"}
    first = link_header("http://h", "/x", q, Page(1, 10, 35))
    assert first is not None and 'rel="next"' in first and 'rel="last"' in first
    assert 'rel="prev"' not in first and "page=4" in first
    middle = link_header("http://h", "/x", q, Page(2, 10, 35))
    assert middle is not None
    assert [p.split("rel=")[1] for p in middle.split(", ")] == [
        '"prev"', '"next"', '"last"', '"first"'
    ]
    last = link_header("http://h", "/x", q, Page(4, 10, 35))
    assert last is not None and 'rel="next"' not in last and 'rel="first"' in last
    assert link_header("http://h", "/x", q, Page(1, 10, 10)) is None
    assert "<http://h/x?per_page=10&page=2>" in first


def test_etag_weak_comparison() -> None:
    """If-None-Match matches weakly, in lists, and with `*`."""
    tag = etag_for(b"{}")
    assert tag.startswith('W/"')
    assert etag_matches(tag, tag)
    assert etag_matches(tag.removeprefix("W/"), tag)
    assert etag_matches(f'"other", {tag}', tag)
    assert etag_matches("*", tag)
    assert not etag_matches('"other"', tag)
    assert not etag_matches(None, tag)


def test_repo_query_direction_defaults_and_strict_enums() -> None:
    """direction: asc for full_name, else desc; unknown enum values are a 422."""
    assert repo_query({}).direction == "desc"
    assert repo_query({"sort": "full_name"}).direction == "asc"
    with pytest.raises(ApiError):
        repo_query({"type": "everything"})


def test_router_prefers_literals_and_knows_ghes_prefix() -> None:
    """public-key is the key route, not a secret; /api/v3 maps to the same templates."""
    router = Router(build_routes())
    m = router.match("GET", "/repos/o/r/actions/secrets/public-key")
    assert m is not None and m.route.template.endswith("/public-key") and not m.ghes
    m = router.match("PUT", "/api/v3/repos/o/r/actions/secrets/FOO")
    assert m is not None and m.ghes and m.params["secret_name"] == "FOO"
    m = router.match("GET", "/repos/o/r/environments/prod%2Feu/secrets")
    assert m is not None and m.params["environment_name"] == "prod/eu"
    assert router.match("POST", "/repos/o/r/actions/secrets/FOO") is None
    assert router.match("GET", "/repos/o/r/actions/secrets/") is None
    assert router.match("HEAD", "/rate_limit") is not None


def test_limiter_points_window_and_retry_after() -> None:
    """Points slide out of a (scaled) minute; retry-after is the exact wait, at least 1 s."""
    clock = FakeClock()
    limiter = RateLimiter(Limits(points_per_minute=10, time_scale=1.0), clock, clock)
    for _ in range(2):
        adm, _ = limiter.admit("t", "PUT", counts_primary=True)
        limiter.release(adm, refund=False)
    with pytest.raises(LimitExceeded) as err:
        limiter.admit("t", "GET", counts_primary=True)
    assert err.value.violation == "secondary_points"
    assert err.value.headers["retry-after"] == "60"
    clock.t += 59.5
    with pytest.raises(LimitExceeded) as err:
        limiter.admit("t", "GET", counts_primary=True)
    assert err.value.headers["retry-after"] == "1"
    clock.t += 0.5
    limiter.admit("t", "GET", counts_primary=True)


def test_limiter_primary_budget_refund_and_reset() -> None:
    """The primary budget shrinks per request, 304s are refunded, and the window resets."""
    clock = FakeClock()
    limiter = RateLimiter(
        Limits(primary_limit=5, primary_remaining=2, primary_reset_seconds=100), clock, clock
    )
    adm, view = limiter.admit("t", "GET", counts_primary=True)
    assert (view.limit, view.remaining, view.used) == (5, 1, 4)
    assert limiter.release(adm, refund=True).remaining == 2
    for _ in range(2):
        limiter.release(limiter.admit("t", "GET", counts_primary=True)[0], refund=False)
    with pytest.raises(LimitExceeded) as err:
        limiter.admit("t", "GET", counts_primary=True)
    assert err.value.violation == "primary"
    assert err.value.headers["x-ratelimit-remaining"] == "0"
    limiter.admit("t", "GET", counts_primary=False)  # /rate_limit still answers
    clock.t += 100
    _, view = limiter.admit("t", "GET", counts_primary=True)
    assert view.remaining == 4  # a full window after the reset


def test_limiter_concurrency() -> None:
    """More than max_concurrent requests in flight for one token is a secondary violation."""
    clock = FakeClock()
    limiter = RateLimiter(Limits(max_concurrent=1, time_scale=30), clock, clock)
    adm, _ = limiter.admit("t", "GET", counts_primary=True)
    with pytest.raises(LimitExceeded) as err:
        limiter.admit("t", "GET", counts_primary=True)
    assert err.value.violation == "secondary_concurrency"
    assert err.value.headers["retry-after"] == "2"
    limiter.admit("other", "GET", counts_primary=True)  # per token
    limiter.release(adm, refund=False)
    limiter.admit("t", "GET", counts_primary=True)


def test_fault_plan_is_reproducible() -> None:
    """The same seed draws the same faults in the same order; rates are honoured."""
    faults = Faults(error_rate=0.3, drop_rate=0.2, slow_rate=0.1, jitter_ms=5, seed=42)
    a, b = FaultPlan(faults), FaultPlan(faults)
    first = [a.decide() for _ in range(1000)]
    assert first == [b.decide() for _ in range(1000)]
    drops = sum(d.drop for d in first)
    errors = sum(d.error_status is not None for d in first)
    assert 150 < drops < 250 and 180 < errors < 300
    assert {d.error_status for d in first} == {None, 500, 502, 503}
    assert FaultPlan(Faults()).decide() == FaultPlan(Faults(seed=9)).decide()  # off: no draw


def test_fault_and_limit_values_are_checked() -> None:
    """Rates outside [0, 1] and a non-positive time scale are refused."""
    with pytest.raises(ValueError):
        Faults(error_rate=1.5)
    with pytest.raises(ValueError):
        Limits(time_scale=0)
