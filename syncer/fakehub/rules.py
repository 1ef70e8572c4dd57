"""GitHub's rules as pure functions: names, request bodies, pagination, ETags, error bodies.

Nothing here performs I/O or knows about aiohttp; every function maps plain values to plain
values so the rules can be read (and tested) on their own.

Where GitHub does not document a behaviour, the stricter reading is taken and the function's
docstring says so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlencode

APPS: Final = ("actions", "dependabot", "codespaces", "agents")  # secrets
VARIABLE_APPS: Final = ("actions", "agents")  # configuration variables
DOTCOM_ONLY_APPS: Final = ("codespaces", "agents")  # not on Enterprise Server (404 there)
#: apps whose org-level PUT schema takes repository ids as strings too (Codespaces and agents
#: take integers only)
STRING_ID_APPS: Final = ("actions", "dependabot")
VISIBILITIES: Final = ("all", "private", "selected")

MAX_VALUE_BYTES: Final = 48 * 1024
MAX_ORG_SECRETS: Final = 1000
MAX_REPO_SECRETS: Final = 100
MAX_ENV_SECRETS: Final = 100
# GitHub documents these for Actions variables; for agent variables it documents no limit,
# and fakehub applies the Actions ones (agent secrets likewise take the Actions secret limits).
MAX_ORG_VARIABLES: Final = 1000
MAX_REPO_VARIABLES: Final = 500
MAX_ENV_VARIABLES: Final = 100

DEFAULT_PER_PAGE: Final = 30
MAX_PER_PAGE: Final = 100
# Variable listings: "The number of results per page (max 30)", default 10 (OpenAPI).
VARIABLES_DEFAULT_PER_PAGE: Final = 10
VARIABLES_MAX_PER_PAGE: Final = 30

DOCS: Final = "https://docs.github.com/rest"
BASE64_PATTERN: Final = (
    "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$"
)
_BASE64_RE: Final = re.compile(BASE64_PATTERN)
_NAME_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

IMPROPERLY_ENCRYPTED: Final = (
    "Bad request - validation failed due to an improperly encrypted secret"
)


# --------------------------------------------------------------------------- errors


class ApiError(Exception):
    """An answer GitHub gives instead of doing what was asked (status >= 400)."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: Sequence[Mapping[str, Any]] = (),
        *,
        documentation_url: str = DOCS,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.errors = tuple(errors)
        self.documentation_url = documentation_url
        self.headers: dict[str, str] = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """GitHub's error shape: message, documentation_url, errors (when any), status."""
        out: dict[str, Any] = {"message": self.message, "documentation_url": self.documentation_url}
        if self.errors:
            out["errors"] = [dict(e) for e in self.errors]
        out["status"] = str(self.status)
        return out


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def bad_credentials() -> ApiError:
    return ApiError(401, "Bad credentials")


def invalid_request(detail: str) -> ApiError:
    """GitHub's JSON-schema failures read ``Invalid request.\\n\\n<detail>``."""
    return ApiError(422, f"Invalid request.\n\n{detail}")


def validation_failed(resource: str, field: str, message: str, code: str = "custom") -> ApiError:
    """The ``Validation Failed`` form GitHub uses for semantic (not schema) failures."""
    return ApiError(
        422,
        "Validation Failed",
        ({"resource": resource, "code": code, "field": field, "message": message},),
    )


# --------------------------------------------------------------------------- names & values


def normalize_name(name: str) -> str:
    """Secret names are case-insensitive; GitHub stores and returns them upper-case."""
    return name.upper()


def name_problem(name: str, kind: str = "Secret") -> str | None:
    """Why ``name`` is not a valid secret (or, with ``kind="Variable"``, variable) name, or
    None when it is.

    Rules (GitHub docs, the same for both): only ``[A-Za-z0-9_]``, must not start with a
    digit, must not start with ``GITHUB_`` (compared case-insensitively, as names are
    case-insensitive).
    """
    if not name:
        return f"{kind} name is required."
    if not _NAME_RE.match(name):
        if name[0].isdigit():
            return f"{kind} names must not start with a number."
        return (
            f"{kind} names can only contain alphanumeric characters ([a-z], [A-Z], [0-9]) "
            "or underscores (_). Spaces are not allowed."
        )
    if name.upper().startswith("GITHUB_"):
        return f"{kind} names must not start with GITHUB_."
    return None


def check_name(name: str, kind: str = "Secret") -> str:
    """Return the canonical (upper-case) name or raise a 422."""
    problem = name_problem(name, kind)
    if problem is not None:
        raise validation_failed(kind, "name", problem)
    return normalize_name(name)


def value_problem(plaintext: bytes, kind: str = "Secret") -> str | None:
    """Secrets and variables hold at most 48 KB (48 * 1024 bytes; a variable's value counted
    in UTF-8)."""
    if len(plaintext) > MAX_VALUE_BYTES:
        return f"{kind} value is too large: at most {MAX_VALUE_BYTES} bytes (48 KB) are allowed."
    return None


# --------------------------------------------------------------------------- PUT bodies


@dataclass(frozen=True, slots=True)
class SecretPut:
    """A validated secret PUT body (ciphertext not yet opened).

    ``ciphertext`` and ``key_id`` are None for an org-level PUT that changes only who may
    read the secret (``visibility`` and ``selected_repository_ids``).
    """

    ciphertext: bytes | None
    key_id: str | None
    visibility: str | None = None
    selected_repository_ids: tuple[int, ...] | None = None


def _json_repr(value: Any) -> str:
    return json.dumps(value)


def _require_string(body: Mapping[str, Any], field: str) -> str:
    if field not in body or body[field] is None:
        raise invalid_request(f'"{field}" wasn\'t supplied.')
    value = body[field]
    if not isinstance(value, str):
        raise invalid_request(f"For 'properties/{field}', {_json_repr(value)} is not a string.")
    return value


def decode_encrypted_value(value: str) -> bytes:
    """Base64 text as GitHub checks it: the schema's pattern first, then decoding."""
    if not _BASE64_RE.match(value):
        escaped = BASE64_PATTERN.replace("/", "\\/")
        raise invalid_request(f"{value} does not match /{escaped}/.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):  # pragma: no cover - the pattern already excludes these
        raise ApiError(422, IMPROPERLY_ENCRYPTED) from None


def parse_secret_put(
    body: Any, *, org_level: bool, string_ids: bool = True, value_required: bool = False
) -> SecretPut:
    """Validate a secret PUT body.

    The Actions, Dependabot and Codespaces org-level schemas require only ``visibility``: a
    body without ``encrypted_value`` and ``key_id`` changes visibility and selection and keeps
    the value (``World.put_secret`` refuses it for a secret that does not exist yet, which
    would have no value). The agents org-level schema requires all three
    (``value_required``).

    Stricter readings (undocumented):
    - ``encrypted_value`` and ``key_id`` go together: one without the other is a 422
      (GitHub answers ``"key_id" wasn't supplied``); at repository and environment level
      both are required.
    - ``selected_repository_ids`` present at all (even ``[]``) with a visibility other than
      ``selected`` is a 422 ("You can only provide a list of repository ids when the
      visibility is set to selected").
    - On org level, string items in ``selected_repository_ids`` (allowed by the Actions and
      Dependabot schemas, hence ``string_ids``; Codespaces takes integers only) must be
      decimal integers.
    """
    if not isinstance(body, dict):
        raise invalid_request("Invalid input: an object is expected.")
    visibility: str | None = None
    if org_level:
        raw_vis = _require_string(body, "visibility")
        if raw_vis not in VISIBILITIES:
            raise invalid_request(
                f"For 'properties/visibility', {_json_repr(raw_vis)} is not one of "
                '["all", "private", "selected"].'
            )
        visibility = raw_vis
    ciphertext: bytes | None = None
    key_id: str | None = None
    if not org_level or value_required or _given(body, "encrypted_value") or _given(body, "key_id"):
        encrypted = _require_string(body, "encrypted_value")
        key_id = _require_string(body, "key_id")
        ciphertext = decode_encrypted_value(encrypted)
    selected: tuple[int, ...] | None = None
    if org_level and "selected_repository_ids" in body:
        selected = parse_repository_ids(body["selected_repository_ids"], allow_strings=string_ids)
        if visibility != "selected":
            raise ids_need_selected("Secret")
    return SecretPut(ciphertext, key_id, visibility, selected)


def _given(body: Mapping[str, Any], field: str) -> bool:
    return body.get(field) is not None


def parse_repository_ids(raw: Any, *, allow_strings: bool) -> tuple[int, ...]:
    """An array of repository ids (integers; decimal strings where the schema allows them)."""
    field = "selected_repository_ids"
    if not isinstance(raw, list):
        raise invalid_request(f"For 'properties/{field}', {_json_repr(raw)} is not an array.")
    out: list[int] = []
    for item in raw:
        if isinstance(item, bool):
            raise invalid_request(f"For 'items', {_json_repr(item)} is not an integer.")
        if isinstance(item, int):
            out.append(item)
        elif allow_strings and isinstance(item, str) and ascii_int(item) is not None:
            out.append(int(item))
        else:
            raise invalid_request(f"For 'items', {_json_repr(item)} is not an integer.")
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True, slots=True)
class VariableWrite:
    """A validated variable POST or PATCH body; None is "not given" (PATCH)."""

    name: str | None
    value: str | None
    visibility: str | None = None
    selected_repository_ids: tuple[int, ...] | None = None


def _optional_string(body: Mapping[str, Any], field: str) -> str | None:
    if field not in body:
        return None
    return _require_string(body, field)


def parse_variable_write(body: Any, *, org_level: bool, create: bool) -> VariableWrite:
    """Validate the body of a variable POST (``create``) or PATCH.

    POST requires ``name`` and ``value``, and ``visibility`` at org level; PATCH requires
    nothing (a ``name`` renames the variable). Properties the level's schema does not have
    (``visibility`` on a repository variable) are ignored, as the schemas allow them.
    ``selected_repository_ids`` are integers (the schema's items). Stricter reading, as for
    secrets: ids given with a visibility other than ``selected`` are a 422 (for a PATCH
    without ``visibility`` that is checked against the variable's own, in ``World``). An
    empty value is accepted: the descriptions set no minimum length.
    """
    if not isinstance(body, dict):
        raise invalid_request("Invalid input: an object is expected.")
    if create:
        name: str | None = _require_string(body, "name")
        value: str | None = _require_string(body, "value")
    else:
        name, value = _optional_string(body, "name"), _optional_string(body, "value")
    if not org_level:
        return VariableWrite(name, value)
    visibility = _require_string(body, "visibility") if create else _optional_string(
        body, "visibility")
    if visibility is not None and visibility not in VISIBILITIES:
        raise invalid_request(
            f"For 'properties/visibility', {_json_repr(visibility)} is not one of "
            '["all", "private", "selected"].'
        )
    selected: tuple[int, ...] | None = None
    if "selected_repository_ids" in body:
        selected = parse_repository_ids(body["selected_repository_ids"], allow_strings=False)
        if visibility is not None and visibility != "selected":
            raise ids_need_selected("Variable")
    return VariableWrite(name, value, visibility, selected)


def ids_need_selected(kind: str) -> ApiError:
    """Repository ids given for a secret or variable whose visibility is not ``selected``
    (the descriptions: "You can only provide a list of repository ids when the visibility is
    set to selected")."""
    return validation_failed(
        kind,
        "selected_repository_ids",
        "You can only provide a list of repository ids when the visibility is set to selected.",
    )


def parse_selected_repos_body(body: Any) -> tuple[int, ...]:
    """Body of ``PUT .../{secret_name}/repositories``: ``selected_repository_ids`` required."""
    if not isinstance(body, dict):
        raise invalid_request("Invalid input: an object is expected.")
    if "selected_repository_ids" not in body:
        raise invalid_request('"selected_repository_ids" wasn\'t supplied.')
    return parse_repository_ids(body["selected_repository_ids"], allow_strings=False)


# --------------------------------------------------------------------------- time


def iso(ts: datetime) -> str:
    """ISO-8601 UTC with second precision, as GitHub writes timestamps."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def whole_second(ts: datetime) -> datetime:
    """GitHub keeps second precision; all stored timestamps are truncated to that."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC).replace(microsecond=0)


# --------------------------------------------------------------------------- pagination


@dataclass(frozen=True, slots=True)
class Page:
    page: int
    per_page: int
    total: int

    @property
    def start(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def stop(self) -> int:
        return self.start + self.per_page

    @property
    def last(self) -> int:
        return max(1, -(-self.total // self.per_page))


def ascii_int(raw: str) -> int | None:
    """The value of a string of ASCII digits ``0-9``, else None.

    Python's ``int`` and ``str.isdigit`` also take other scripts' digits (``"١٢"`` is 12,
    ``"²"`` passes ``isdigit`` but not ``int``); GitHub's Ruby reads ASCII digits only, so
    fakehub does too: such a page number is "not a number" and such an id names nothing.
    """
    if not raw or not raw.isascii() or not raw.isdigit():
        return None
    return int(raw)


def _positive_int(raw: str | None) -> int | None:
    if raw is None:
        return None
    value = ascii_int(raw.strip())
    return value if value is not None and value >= 1 else None


def page_of(
    query: Mapping[str, str],
    total: int,
    *,
    default: int = DEFAULT_PER_PAGE,
    maximum: int = MAX_PER_PAGE,
) -> Page:
    """``per_page`` defaults to 30 and is clamped to 100 (variable listings: 10 and 30);
    ``page`` counts from 1.

    Missing, non-numeric or non-positive values fall back to the defaults, as GitHub does.
    Digits of other scripts (``page=٢``) are non-numeric here: Ruby's ``String#to_i``, which
    reads GitHub's query parameters, gives 0 for them, and page 0 is page 1.
    """
    per_page = _positive_int(query.get("per_page")) or default
    per_page = min(per_page, maximum)
    page = _positive_int(query.get("page")) or 1
    return Page(page, per_page, total)


def link_header(origin: str, raw_path: str, query: Mapping[str, str], page: Page) -> str | None:
    """GitHub's ``Link`` header: ``prev``, ``next``, ``last``, ``first`` as they apply.

    ``origin`` is ``scheme://host[:port]``; ``raw_path`` the request's (percent-encoded)
    path including any ``/api/v3`` prefix; other query parameters are kept.

    First page: next + last. Middle: prev + next + last + first. Last page: prev + first.
    None when everything fits on one page (and the client asked for page 1).
    """
    rels: list[tuple[int, str]] = []
    if page.page > 1:
        rels.append((min(page.page - 1, page.last), "prev"))
    if page.page < page.last:
        rels.append((page.page + 1, "next"))
        rels.append((page.last, "last"))
    if page.page > 1:
        rels.append((1, "first"))
    if not rels:
        return None
    parts = []
    for number, rel in rels:
        params = {k: v for k, v in query.items() if k != "page"}
        params["page"] = str(number)
        parts.append(f'<{origin}{raw_path}?{urlencode(params)}>; rel="{rel}"')
    return ", ".join(parts)


# --------------------------------------------------------------------------- ETags


def etag_for(body: bytes) -> str:
    """A weak ETag over the serialized body, the form GitHub uses for JSON answers."""
    return 'W/"' + hashlib.sha256(body).hexdigest()[:40] + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison against an ``If-None-Match`` list (``*`` matches anything)."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


# --------------------------------------------------------------------------- repository filters


REPO_TYPES: Final = ("all", "public", "private", "forks", "sources", "member")
REPO_SORTS: Final = ("created", "updated", "pushed", "full_name")
DIRECTIONS: Final = ("asc", "desc")


@dataclass(frozen=True, slots=True)
class RepoQuery:
    type: str = "all"
    sort: str = "created"
    direction: str = "desc"


def _enum_param(query: Mapping[str, str], name: str, allowed: Sequence[str], default: str) -> str:
    value = query.get(name)
    if value is None:
        return default
    if value not in allowed:
        listed = ", ".join(f'"{a}"' for a in allowed)
        raise invalid_request(f"For '{name}', {_json_repr(value)} is not one of [{listed}].")
    return value


def repo_query(query: Mapping[str, str]) -> RepoQuery:
    """``GET /orgs/{org}/repos`` parameters.

    ``direction`` defaults to ``asc`` for ``full_name`` and ``desc`` otherwise (OpenAPI
    description). Stricter reading: a value outside the documented enums is a 422.
    """
    rtype = _enum_param(query, "type", REPO_TYPES, "all")
    sort = _enum_param(query, "sort", REPO_SORTS, "created")
    direction = _enum_param(
        query, "direction", DIRECTIONS, "asc" if sort == "full_name" else "desc"
    )
    return RepoQuery(rtype, sort, direction)
