"""Deciphering GitHub's answers: pure functions over (status, headers, body)."""

import json

import pytest

from syncer.github import errors
from syncer.github.sansio import RateLimit, decipher, next_link

RATE = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999", "x-ratelimit-used": "1",
        "x-ratelimit-reset": "1700000000", "x-ratelimit-resource": "core"}


def body(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_success_carries_data_etag_next_link_and_rate_limit() -> None:
    """A 200 yields its JSON, ETag, rel=next URL and the primary budget."""
    headers = {**RATE, "etag": 'W/"abc"',
               "link": '<https://h/x?page=2>; rel="next", <https://h/x?page=9>; rel="last"'}
    r = decipher(200, headers, body({"a": 1}))
    assert r.data == {"a": 1}
    assert r.etag == 'W/"abc"'
    assert r.next_url == "https://h/x?page=2"
    assert r.rate_limit == RateLimit(5000, 4999, 1, 1700000000.0, "core")


def test_not_modified_and_no_content_have_no_data() -> None:
    """304 and 204 are successes without a body."""
    assert decipher(304, {}, b"").data is None
    assert decipher(204, RATE, b"").status == 204


def test_next_link_absent_when_only_prev_and_last() -> None:
    """Only rel="next" counts; the last page has none."""
    assert next_link('<https://h/x?page=1>; rel="prev", <https://h/x?page=1>; rel="first"') is None
    assert next_link(None) is None


def test_primary_limit_spent_is_rate_limited_with_reset() -> None:
    """403 with x-ratelimit-remaining 0 is the primary limit, waiting until reset."""
    headers = {**RATE, "x-ratelimit-remaining": "0"}
    with pytest.raises(errors.RateLimited) as info:
        decipher(403, headers, body({"message": "API rate limit exceeded for user."}))
    assert info.value.reset_at == 1700000000.0


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_limit_with_retry_after(status: int) -> None:
    """403/429 whose message mentions the secondary limit carries retry-after."""
    msg = "You have exceeded a secondary rate limit. Please wait a few minutes."
    with pytest.raises(errors.SecondaryRateLimited) as info:
        decipher(status, {**RATE, "retry-after": "17"}, body({"message": msg}))
    assert info.value.retry_after == 17.0


def test_secondary_limit_without_retry_after() -> None:
    """Without retry-after the hint is None (the policy then waits at least a minute)."""
    with pytest.raises(errors.SecondaryRateLimited) as info:
        decipher(403, RATE, body({"message": "secondary rate limit"}))
    assert info.value.retry_after is None


def test_plain_403_is_forbidden_not_a_limit() -> None:
    """A 403 with budget left and no limit words is a permission problem, not retried."""
    with pytest.raises(errors.Forbidden) as info:
        decipher(403, RATE, body({"message": "Resource not accessible by integration"}))
    assert not info.value.retryable


@pytest.mark.parametrize("status,kind,retryable", [
    (401, errors.AuthFailed, False), (404, errors.NotFound, False),
    (409, errors.Conflict, False), (500, errors.ServerError, True),
    (502, errors.ServerError, True), (503, errors.ServerError, True),
])
def test_status_maps_to_typed_error(status: int, kind: type, retryable: bool) -> None:
    """Each status becomes its typed error with the right retry hint."""
    with pytest.raises(kind) as info:
        decipher(status, RATE, body({"message": "m"}), method="GET", path="/x")
    assert info.value.retryable is retryable
    assert info.value.status == status


def test_improperly_encrypted_is_key_mismatch() -> None:
    """GitHub's 'improperly encrypted' 422 asks for a fresh key; a missing key_id does not."""
    msg = "Bad request - validation failed due to an improperly encrypted secret"
    with pytest.raises(errors.KeyMismatch):
        decipher(422, RATE, body({"message": msg}))
    with pytest.raises(errors.Invalid) as info:
        decipher(422, RATE, body({"message": '"key_id" wasn\'t supplied'}))
    assert not isinstance(info.value, errors.KeyMismatch)


def test_validation_details_are_part_of_the_message() -> None:
    """GitHub's errors[] details are kept so the user sees why."""
    data = {"message": "Validation Failed", "errors": [{"message": "name is invalid"}]}
    with pytest.raises(errors.Invalid) as info:
        decipher(422, RATE, body(data))
    assert "name is invalid" in str(info.value)
