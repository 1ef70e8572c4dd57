"""The state file's contents, with no file I/O: where a secret lives (StateKey), what syncer
wrote there (Record), the fingerprint's syntax, and the document's bytes (`to_document`,
`parse_document`, which names what is wrong with a damaged file)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["FINGERPRINT_PREFIX", "FINGERPRINT_RE", "FORMAT_VERSION", "Record", "StateError",
           "StateKey", "corrupt", "is_fingerprint", "parse_document", "to_document", "utc_now"]

FORMAT_VERSION = 1
FINGERPRINT_PREFIX = "hmac-sha256:"
FINGERPRINT_RE = re.compile(r"hmac-sha256:[0-9a-f]{64}")
_RECOVER = "move it aside or delete it; the next run then starts from GitHub's state"


class StateError(Exception):
    """The state file or its key cannot be read, parsed or written; the message says what to do."""


@dataclass(frozen=True, order=True)
class StateKey:
    """Where one secret lives. `scope` is like "acme", "acme/api" or "acme/api:production"."""

    host: str
    app: str
    scope: str
    name: str


@dataclass(frozen=True)
class Record:
    """What syncer wrote: the value's fingerprint, GitHub's updated_at after the write, when,
    and for an org secret who may read it (OrgSelection.as_text())."""

    fingerprint: str
    updated_at: str | None
    written_at: str
    selection: str | None = None

    @classmethod
    def now(cls, fingerprint: str, updated_at: str | None = None,
            selection: str | None = None) -> Record:
        return cls(fingerprint, updated_at, utc_now(), selection)


def utc_now() -> str:
    """The current time as ISO-8601 UTC with a Z, second precision (GitHub's own format)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_fingerprint(text: str) -> bool:
    return FINGERPRINT_RE.fullmatch(text) is not None

def corrupt(path: Path, what: str) -> StateError:
    return StateError(f"the state file {path} is corrupt ({what}); if that is the right file, "
                      f"{_RECOVER}")


def parse_document(path: Path, data: bytes) -> tuple[str | None, dict[StateKey, Record]]:
    """(key_check, records) from the file's bytes, or StateError naming the first problem."""
    try:
        document = json.loads(data)
    except RecursionError:
        raise corrupt(path, "nested too deeply to be syncer's") from None
    except UnicodeDecodeError as exc:
        raise corrupt(path, f"not UTF-8 at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        what = "empty" if not data.strip() else f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        raise corrupt(path, f"not valid JSON: {what}; truncated?") from None
    if not isinstance(document, dict):
        raise corrupt(path, "the top level is not an object")
    version = document.get("version")
    if version != FORMAT_VERSION:
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise StateError(f"the state file {path} was written by a newer syncer (format version "
                             f"{version}; this one reads {FORMAT_VERSION}); upgrade syncer")
        raise corrupt(path, f"unknown format version {version!r}")
    check = document.get("key_check")
    raw_records = document.get("records")
    if not isinstance(raw_records, list) or not isinstance(check, (str, type(None))):
        raise corrupt(path, '"records" is not a list or "key_check" is not a string')
    return check, _parse_records(path, raw_records)


def _parse_records(path: Path, raw_records: list[Any]) -> dict[StateKey, Record]:
    records: dict[StateKey, Record] = {}
    for index, raw in enumerate(raw_records):
        parsed = _parse_record(raw)
        if parsed is None:
            raise corrupt(path, f"record {index} is malformed")
        key, record = parsed
        if key in records:
            raise corrupt(path, f"record {index} repeats {key.scope} {key.name}")
        records[key] = record
    return records


def _parse_record(raw: Any) -> tuple[StateKey, Record] | None:
    if not isinstance(raw, dict):
        return None
    names = ("host", "app", "scope", "name", "fingerprint", "written_at")
    if not all(isinstance(raw.get(n), str) for n in names):
        return None
    if not all(isinstance(raw.get(n), (str, type(None))) for n in ("updated_at", "selection")):
        return None
    if not is_fingerprint(raw["fingerprint"]):
        return None
    key = StateKey(raw["host"], raw["app"], raw["scope"], raw["name"])
    return key, Record(raw["fingerprint"], raw.get("updated_at"), raw["written_at"],
                       raw.get("selection"))


def to_document(records: dict[StateKey, Record], key_check: str) -> bytes:
    rows = [
        {"host": k.host, "app": k.app, "scope": k.scope, "name": k.name,
         "fingerprint": r.fingerprint, "updated_at": r.updated_at, "written_at": r.written_at,
         **({"selection": r.selection} if r.selection is not None else {})}
        for k, r in sorted(records.items())
    ]
    head = json.dumps({"version": FORMAT_VERSION, "key_check": key_check})[:-1]
    lines = ",\n".join(json.dumps(row, separators=(",", ":")) for row in rows)
    return f'{head}, "records": [\n{lines}\n]}}\n'.encode()  # one record per line: diffable

