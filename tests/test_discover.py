"""Reading what scopes hold: one scope GitHub will not show fails alone."""

from __future__ import annotations

from typing import cast

import pytest

from syncer.discover import existing
from syncer.github import errors
from syncer.github.api import SecretInfo, SecretsAPI
from syncer.model import Scope
from syncer.plan import Change, Desired, Unreadable, make_plan

FINE, HIDDEN, BROKEN = (Scope.of_repo("acme", name) for name in ("fine", "hidden", "broken"))


class ThreeRepos:
    """The part of SecretsAPI that `existing` calls, answering as GitHub would for three repos:
    one readable, one refused (403), one failing past every retry (502)."""

    def __init__(self, token_rejected: bool = False) -> None:
        self.token_rejected = token_rejected

    async def secrets(self, scope: Scope) -> list[SecretInfo]:
        if self.token_rejected:
            raise errors.AuthFailed(401, "Bad credentials")
        if scope == HIDDEN:
            raise errors.Forbidden(403, "Resource not accessible by personal access token",
                                   method="GET", path="/repos/acme/hidden/actions/secrets")
        if scope == BROKEN:
            raise errors.ServerError(502, "Bad Gateway")
        return [SecretInfo("X", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")]


@pytest.mark.anyio
async def test_a_scope_github_refuses_to_show_is_unreadable_and_the_others_are_read() -> None:
    actual = await existing(cast(SecretsAPI, ThreeRepos()), [FINE, HIDDEN, BROKEN], 2)
    fine, hidden, broken = actual[FINE], actual[HIDDEN], actual[BROKEN]
    assert isinstance(fine, dict) and set(fine) == {"X"}
    assert isinstance(hidden, Unreadable) and "403" in hidden.reason
    assert isinstance(broken, Unreadable) and "502" in broken.reason

    plan = make_plan([Desired(s, "X", "hmac-sha256:" + "0" * 64) for s in (FINE, HIDDEN, BROKEN)],
                     actual, lambda scope, name: None, prune=True)
    changes = {item.scope: item.change for item in plan}
    assert changes == {FINE: Change.UPDATE, HIDDEN: Change.UNREADABLE, BROKEN: Change.UNREADABLE}


@pytest.mark.anyio
async def test_a_rejected_token_still_ends_the_reading() -> None:
    with pytest.raises(errors.AuthFailed):
        await existing(cast(SecretsAPI, ThreeRepos(token_rejected=True)), [FINE, HIDDEN], 2)
