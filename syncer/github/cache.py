"""Answers to GET requests kept between runs, so a re-run can ask "changed?" with If-None-Match.

GitHub answers 304 when nothing changed, and 304s do not count against the hourly budget.
Only listings and public keys pass through here (repositories as GitHub describes them, secret
names and dates, public keys), never a value.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .sansio import Response

_VERSION = 1


class ResponseCache:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._entries: dict[str, dict[str, Any]] = {}
        self.hits = 0
        if path is not None and path.exists():
            try:
                document = json.loads(path.read_text())
                if document.get("version") == _VERSION:
                    self._entries = dict(document.get("entries", {}))
            except (OSError, ValueError, AttributeError):
                self._entries = {}  # a cache is only an optimisation: start empty

    def etag_for(self, url: str) -> str | None:
        entry = self._entries.get(url)
        return entry["etag"] if entry else None

    def remember(self, url: str, response: Response) -> None:
        if response.status == 200 and response.etag:
            self._entries[url] = {"etag": response.etag, "data": response.data,
                                  "next": response.next_url}

    def replay(self, url: str, not_modified: Response) -> Response:
        """The cached answer for `url`, standing in for GitHub's 304."""
        entry = self._entries[url]
        self.hits += 1
        return Response(200, entry["data"], entry["etag"], entry["next"], not_modified.rate_limit,
                        not_modified.http_date, not_modified.attempts)

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".")
        with os.fdopen(fd, "w") as out:
            json.dump({"version": _VERSION, "entries": self._entries}, out)
        os.replace(temp, self.path)
