"""Answers to GET requests kept between runs, so a re-run can ask "changed?" with If-None-Match.

GitHub answers 304 when nothing changed, and 304s do not count against the hourly budget.
Only listings and public keys pass through here (repositories as GitHub describes them, secret
names and dates, public keys), never a value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..inputs import load_json
from ..store.atomic import write_json_atomically
from .sansio import Response

_VERSION = 2
#: The fields syncer reads of the answers it caches: a repository as GitHub describes it is
#: ~5 KB of JSON, of which syncer needs a few dozen bytes (30,000 repositories: 358 MB of
#: memory for a plan, 91 MB with only these kept).
_KEEP = frozenset({"name", "id", "archived", "fork", "private", "topics", "created_at",
                   "updated_at", "visibility", "key_id", "key", "total_count", "secrets",
                   "environments", "repositories", "variables", "value"})
_LARGEST = 1 << 30  # a cache file past this is not read (it would be rebuilt)


def _slim(data: Any) -> Any:
    """Only the fields syncer reads, at any depth."""
    if isinstance(data, list):
        return [_slim(d) for d in data]
    if isinstance(data, dict):
        return {k: _slim(v) for k, v in data.items() if k in _KEEP}
    return data


class ResponseCache:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._entries: dict[str, dict[str, Any]] = {}
        self.hits = 0
        if path is not None and path.exists():
            try:
                document = load_json(path, _LARGEST)
                if document.get("version") == _VERSION:
                    self._entries = dict(document.get("entries", {}))
            except (OSError, ValueError, AttributeError):
                self._entries = {}  # a cache is only an optimisation: start empty

    def etag_for(self, url: str) -> str | None:
        entry = self._entries.get(url)
        return entry["etag"] if entry else None

    def remember(self, url: str, response: Response) -> None:
        if response.status == 200 and response.etag:
            # kept as text: one string costs far less memory than the objects it holds
            self._entries[url] = {"etag": response.etag,
                                  "data": json.dumps(_slim(response.data), separators=(",", ":")),
                                  "next": response.next_url}

    def replay(self, url: str, not_modified: Response) -> Response:
        """The cached answer for `url`, standing in for GitHub's 304."""
        entry = self._entries[url]
        self.hits += 1
        return Response(200, json.loads(entry["data"]), entry["etag"], entry["next"],
                        not_modified.rate_limit, not_modified.http_date, not_modified.attempts)

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        document = {"version": _VERSION, "entries": self._entries}
        # a cache lost to a power cut costs some requests, so no fsync
        write_json_atomically(self.path, document, durable=False)
