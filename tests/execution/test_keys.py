"""The public-key cache: one fetch per scope, shared; one re-fetch on a rejected key."""

import anyio
import pytest

from syncer.core.model import PublicKey, Scope
from syncer.execution.keys import KeyCache

A = Scope.of_repo("acme", "a")
B = Scope.of_repo("acme", "b")


class CountingFetch:
    def __init__(self, fail_first: bool = False) -> None:
        self.calls: list[tuple[Scope, PublicKey | None]] = []
        self.fail_first = fail_first

    async def __call__(self, scope: Scope, previous: PublicKey | None) -> PublicKey:
        self.calls.append((scope, previous))
        number = len(self.calls)
        await anyio.sleep(0.01)
        if self.fail_first and number == 1:
            raise RuntimeError("transient")
        return PublicKey(f"id{number}", "k")


@pytest.mark.anyio
async def test_concurrent_first_uses_share_one_fetch() -> None:
    """Fifty writers to one scope cause one fetch; another scope gets its own."""
    fetch = CountingFetch()
    cache = KeyCache(fetch)
    got: list[PublicKey] = []

    async def use(scope: Scope) -> None:
        got.append(await cache.get(scope))

    async with anyio.create_task_group() as tg:
        for i in range(50):
            tg.start_soon(use, A if i % 2 else B)
    assert sorted(s.repo for s, _ in fetch.calls) == ["a", "b"]
    assert len({k.key_id for k in got}) == 2


@pytest.mark.anyio
async def test_refresh_once_for_many_writers_with_the_same_stale_key() -> None:
    """Writers that all saw the stale key get one new key between them."""
    fetch = CountingFetch()
    cache = KeyCache(fetch)
    stale = await cache.get(A)
    fresh: list[PublicKey] = []

    async def refresh() -> None:
        fresh.append(await cache.refresh(A, stale))

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(refresh)
    assert len(fetch.calls) == 2 and fetch.calls[1] == (A, stale)
    assert {k.key_id for k in fresh} == {"id2"}
    assert (await cache.get(A)).key_id == "id2"


@pytest.mark.anyio
async def test_failed_fetch_is_not_cached() -> None:
    """A failed fetch is raised to its waiters and tried again on the next use."""
    cache = KeyCache(CountingFetch(fail_first=True))
    with pytest.raises(RuntimeError):
        await cache.get(A)
    assert (await cache.get(A)).key_id == "id2"


@pytest.mark.anyio
async def test_known_keys_need_no_fetch() -> None:
    """Keys remembered from an earlier run are used without a GET."""
    fetch = CountingFetch()
    cache = KeyCache(fetch, known={A: PublicKey("old", "k")})
    assert (await cache.get(A)).key_id == "old"
    assert fetch.calls == []


@pytest.mark.anyio
async def test_waiters_share_a_failed_fetch_and_outlive_a_cancelled_one() -> None:
    """Waiters get the fetching caller's error; when that caller is cancelled instead, one of
    them fetches the key and the rest share it."""
    fetch = CountingFetch(fail_first=True)
    cache = KeyCache(fetch)
    errors: list[BaseException] = []

    async def use() -> None:
        try:
            await cache.get(A)
        except RuntimeError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(use)
    assert len(fetch.calls) == 1 and len(errors) == 3

    got: list[PublicKey] = []

    async def fetcher_then_cancelled() -> None:
        with anyio.move_on_after(0.005):
            await cache.get(B)

    async def waiter() -> None:
        got.append(await cache.get(B))

    async with anyio.create_task_group() as tg:
        tg.start_soon(fetcher_then_cancelled)
        await anyio.sleep(0.001)
        for _ in range(3):
            tg.start_soon(waiter)
    assert [s for s, _ in fetch.calls] == [A, B, B]
    assert {k.key_id for k in got} == {"id3"}
