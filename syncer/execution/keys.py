"""Each scope's public key, fetched once per run and shared by every write to that scope.

Concurrent first uses of a scope wait on a single fetch. A key GitHub rejected (422 on PUT) is
fetched again, once, by whichever writer notices first; the others get the new key. With the
opt-in persistent cache (`load_known`/`save_known`), a run reuses the keys an earlier run saw
and sends no key GET at all until GitHub rejects one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from ..core.model import PublicKey, Scope
from ..inputs import load_json
from ..store.atomic import write_json_atomically

Fetch = Callable[[Scope, "PublicKey | None"], Awaitable[PublicKey]]


class KeyCache:
    def __init__(self, fetch: Fetch, known: dict[Scope, PublicKey] | None = None) -> None:
        """`fetch(scope, previous)` gets a scope's key; `known` seeds keys remembered elsewhere."""
        self._fetch = fetch
        self._known: dict[Scope, PublicKey] = dict(known or {})
        self._pending: dict[Scope, asyncio.Future[PublicKey]] = {}

    async def get(self, scope: Scope) -> PublicKey:
        key = self._known.get(scope)
        return key if key is not None else await self._fetch_once(scope, None)

    async def refresh(self, scope: Scope, stale: PublicKey) -> PublicKey:
        """A key other than `stale`: the one another writer already fetched, or a fresh one."""
        key = self._known.get(scope)
        if key is not None and key.key_id != stale.key_id:
            return key
        self._known.pop(scope, None)
        return await self._fetch_once(scope, stale)

    def known(self) -> dict[Scope, PublicKey]:
        return dict(self._known)

    async def _fetch_once(self, scope: Scope, previous: PublicKey | None) -> PublicKey:
        """The first caller fetches the key itself (a task per fetch cost ~30 µs of CPU per
        target); callers meanwhile wait for its answer, and fetch themselves if it was
        cancelled."""
        while (pending := self._pending.get(scope)) is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not pending.cancelled() or (task is not None and task.cancelling()):
                    raise
        pending = asyncio.get_running_loop().create_future()
        self._pending[scope] = pending
        try:
            key = await self._fetch(scope, previous)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                pending.cancel()
            else:
                pending.set_exception(exc)
                pending.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            del self._pending[scope]
        self._known[scope] = key
        pending.set_result(key)
        return key


def load_known(path: Path, host: str) -> dict[Scope, PublicKey]:
    """Public keys remembered for `host` by an earlier run (public keys are not secrets)."""
    try:
        document = load_json(path)
        entries = document.get(host, [])
        return {Scope(e["kind"], e["org"], e.get("repo"), e.get("env"), e["app"]):
                PublicKey(e["key_id"], e["key"]) for e in entries}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}  # no cache, or an unreadable one: keys are fetched as usual


def save_known(path: Path, host: str, known: dict[Scope, PublicKey]) -> None:
    try:
        document = load_json(path)
        if not isinstance(document, dict):
            document = {}
    except (OSError, ValueError):
        document = {}
    document[host] = [{"kind": s.kind, "org": s.org, "repo": s.repo, "env": s.env, "app": s.app,
                       "key_id": k.key_id, "key": k.key} for s, k in known.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    # a cache: a key lost to a power cut is fetched again, so no fsync
    write_json_atomically(path, document, durable=False)
