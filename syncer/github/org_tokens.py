"""Runs spanning organisations: one installation token per org (`InstallationTokens`), the
org of the work at hand named with `acting_for(org)`."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from .client import TokenSource

__all__ = ["InstallationTokens", "acting_for"]

_acting_for: ContextVar[str | None] = ContextVar("syncer_acting_for_org", default=None)


@contextmanager
def acting_for(org: str) -> Iterator[None]:
    """Requests made inside (by this task and tasks it starts) use `org`'s installation token."""
    reset = _acting_for.set(org.lower())
    try:
        yield
    finally:
        _acting_for.reset(reset)


class InstallationTokens:
    """A `TokenSource` with one installation token per organisation (an App is installed per
    org, and each installation's token acts in its own org only).

    The org is the one named by the innermost `acting_for(org)`; with a single org it needs
    no naming. Sources are made on first use by `make(org)` and kept for the run.
    """

    def __init__(self, make: Callable[[str], TokenSource], orgs: Collection[str] = ()) -> None:
        self._make = make
        self._orgs = {o.lower(): o for o in orgs}
        self._sources: dict[str, TokenSource] = {}

    @property
    def orgs(self) -> list[str]:
        return list(self._orgs.values())

    async def installed_orgs(self) -> list[str]:
        """Every organisation the App is installed on, each then served by its own
        installation token (--all-orgs)."""
        probe: Any = self._make("")
        try:
            orgs: list[str] = await probe.installed_orgs()
        finally:
            await probe.aclose()
        self._orgs = {o.lower(): o for o in orgs}
        return orgs

    def for_org(self, org: str) -> TokenSource:
        key = org.lower()
        if key not in self._sources:
            self._sources[key] = self._make(self._orgs.get(key, org))
        return self._sources[key]

    def _current(self) -> TokenSource:
        org = _acting_for.get()
        if org is None:
            if len(self._orgs) != 1:
                raise RuntimeError("a run spanning organisations must name the org of each "
                                   "request with syncer.github.auth.acting_for(org)")
            org = next(iter(self._orgs))
        return self.for_org(org)

    async def token(self) -> str:
        return await self._current().token()

    async def renew(self, rejected: str) -> bool:
        return await self._current().renew(rejected)

    async def prime(self) -> None:
        """Get every known org's first token now (see AppInstallationToken.prime)."""
        for org in self._orgs.values():
            source: Any = self.for_org(org)
            if hasattr(source, "prime"):
                await source.prime()

    async def aclose(self) -> None:
        for source in self._sources.values():
            closer: Any = getattr(source, "aclose", None)
            if closer is not None:
                await closer()
