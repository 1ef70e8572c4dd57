"""Validate recorded fakehub exchanges against GitHub's OpenAPI description.

``validate_exchanges(exchanges)`` finds each exchange's operation by method and path
template (in github.com's secrets and variables-agents descriptions, or the files given),
validates the request JSON against the operation's ``requestBody`` schema and the
response JSON against the schema documented for the answered status. It returns a list of
problems (empty when everything conforms).

OpenAPI 3.0 is not JSON Schema: ``nullable: true`` is translated into a ``"null"`` type (or an
``anyOf`` with null where a schema has no ``type``), ``format`` is not checked, and the
validator is Draft 4 (OpenAPI 3.0's boolean ``exclusiveMinimum`` semantics).

Every error answer (>= 400), documented or not, must have GitHub's error shape (``message``
and ``documentation_url`` strings), a little stricter than the description's Basic Error,
which requires neither. A 304 has no body; any other undocumented status is a problem.
Exchanges on ``/_fakehub/*``, on the legacy ``/repositories/{repository_id}/...`` routes and
on ``/graphql`` (not in the github.com REST description) are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import jsonschema

SPEC_DIR = Path(__file__).parent / "openapi"
SPEC_PATH = SPEC_DIR / "api.github.com.secrets.json"
VARIABLES_SPEC_PATH = SPEC_DIR / "api.github.com.variables-agents.json"
#: what exchanges are checked against unless told otherwise: github.com's secrets, variables
#: and agents operations (one operation is in one file only, but for a few shared paths)
#: GET /user/orgs (--all-orgs), an operation beyond the secrets and variables subsets
USER_ORGS_SPEC_PATH = SPEC_DIR / "api.github.com.user-orgs.json"
DEFAULT_SPECS = (SPEC_PATH, VARIABLES_SPEC_PATH, USER_ORGS_SPEC_PATH)
GHES_VARIABLES_SPEC_PATH = SPEC_DIR / "ghes-3.19.variables.json"
SKIPPED_PREFIXES = ("/_fakehub", "/repositories/", "/graphql")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["message", "documentation_url"],
    "properties": {
        "message": {"type": "string"},
        "documentation_url": {"type": "string"},
        "status": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}


class ExchangeLike(Protocol):
    @property
    def method(self) -> str: ...
    @property
    def template(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def request_json(self) -> Any: ...
    @property
    def status(self) -> int: ...
    @property
    def response_json(self) -> Any: ...


def openapi_to_jsonschema(schema: Any) -> Any:
    """Translate OpenAPI 3.0 schema dialect into plain JSON Schema (recursively)."""
    if isinstance(schema, list):
        return [openapi_to_jsonschema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROPPED:
            continue
        if key in _NAMED_SCHEMAS and isinstance(value, dict):  # names here are not keywords
            out[key] = {name: openapi_to_jsonschema(sub) for name, sub in value.items()}
        else:
            out[key] = openapi_to_jsonschema(value)
    if schema.get("nullable") is True:
        if "type" in out:
            kind = out["type"]
            out["type"] = [*kind, "null"] if isinstance(kind, list) else [kind, "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


_DROPPED = frozenset({"nullable", "format", "example", "examples", "x-github", "discriminator"})
_NAMED_SCHEMAS = frozenset({"properties", "patternProperties", "definitions"})


Specs = Path | str | Sequence[Path | str] | None


@lru_cache(maxsize=8)
def _operations(spec_paths: tuple[str, ...]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every operation of the given descriptions; an operation in more than one (GET of an
    environment) is taken from the first."""
    ops: dict[tuple[str, str], dict[str, Any]] = {}
    for spec_path in spec_paths:
        spec = json.loads(Path(spec_path).read_text())
        for template, item in spec["paths"].items():
            for method, op in item.items():
                if isinstance(op, dict) and "responses" in op:
                    ops.setdefault((method.upper(), template), op)
    return ops


def _spec_key(spec_path: Specs) -> tuple[str, ...]:
    if spec_path is None:
        return tuple(str(p) for p in DEFAULT_SPECS)
    if isinstance(spec_path, (str, Path)):
        return (str(spec_path),)
    return tuple(str(p) for p in spec_path)


def _json_schema(content: Mapping[str, Any] | None) -> Any:
    if not content:
        return None
    media = content.get("application/json") or next(iter(content.values()), None)
    if not media or "schema" not in media:
        return None
    return openapi_to_jsonschema(media["schema"])


def _errors(schema: Any, instance: Any, where: str) -> list[str]:
    validator = jsonschema.Draft4Validator(schema)
    return [
        f"{where}: {'/'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}"
        for err in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    ]


def validate_exchange(exchange: ExchangeLike, spec_path: Specs = None) -> list[str]:
    """Problems with one exchange (empty list when it conforms or is skipped)."""
    if exchange.template.startswith(SKIPPED_PREFIXES):
        return []
    method = "GET" if exchange.method == "HEAD" else exchange.method
    label = f"{exchange.method} {exchange.path} -> {exchange.status}"
    op = _operations(_spec_key(spec_path)).get((method, exchange.template))
    if op is None:
        return [f"{label}: no operation {method} {exchange.template} in the description"]
    problems: list[str] = []
    request_body = op.get("requestBody")
    if exchange.request_json is not None:
        schema = _json_schema(request_body.get("content")) if request_body else None
        if schema is None:
            problems.append(f"{label}: a JSON body was sent, the operation takes none")
        elif exchange.status < 400:  # bodies the server accepted must have conformed
            problems += _errors(schema, exchange.request_json, f"{label}: request")
    problems += _check_response(op, exchange, label)
    return problems


def _check_response(op: Mapping[str, Any], exchange: ExchangeLike, label: str) -> list[str]:
    status = str(exchange.status)
    documented = op["responses"].get(status)
    if documented is None:
        if exchange.status == 304:
            return [] if exchange.response_json is None else [f"{label}: 304 with a body"]
        if exchange.status >= 400:
            return _errors(ERROR_SCHEMA, exchange.response_json, f"{label}: error body")
        return [f"{label}: status {status} is not documented for this operation"]
    problems: list[str] = []
    if exchange.status >= 400:  # stricter than Basic Error: GitHub always sends these two
        problems += _errors(ERROR_SCHEMA, exchange.response_json, f"{label}: error body")
    schema = _json_schema(documented.get("content"))
    if schema is None:
        if exchange.status < 400 and exchange.response_json is not None:
            problems.append(f"{label}: a body was answered where none is documented")
        return problems
    if exchange.response_json is None:
        return [*problems, f"{label}: no JSON body, the description documents one"]
    return problems + _errors(schema, exchange.response_json, f"{label}: response")


def validate_exchanges(exchanges: Iterable[ExchangeLike], spec_path: Specs = None) -> list[str]:
    """Problems across all exchanges; empty when every exchange conforms."""
    problems: list[str] = []
    for exchange in exchanges:
        problems += validate_exchange(exchange, spec_path)
    return problems
