"""A JSON Schema (2020-12) of the config file, made from config.KEYS: the keys and types the
checker knows, for editors (Taplo / Even Better TOML) and other tools.

The schema says what each key is; syncer's own checker (config.load_config) says more: a
secret's target, a name GitHub refuses, two secrets writing one place. A file the schema
accepts may still be refused by `syncer config check`, never the other way round for a key.
"""

from __future__ import annotations

import json
from typing import Any

from .keys import KEYS, Key

_NON_BLANK = {"type": "string", "minLength": 1, "pattern": r"\S"}


def config_schema() -> dict[str, Any]:
    """The whole schema: the top-level table, and each other table under $defs."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "syncer config",
        "description": "Which GitHub Actions secrets should exist where (see config.example.toml).",
        **_table(""),
        "$defs": {name: _table(name) for name in KEYS if name},
    }


def schema_json() -> str:
    """config_schema() as `syncer config schema` prints it and syncer.schema.json holds it."""
    return json.dumps(config_schema(), indent=2) + "\n"


def _table(name: str) -> dict[str, Any]:
    keys = KEYS[name]
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {key.name: _key(key) for key in keys},
        "additionalProperties": False,
    }
    if required := [key.name for key in keys if key.required]:
        schema["required"] = required
    return schema


def _key(key: Key) -> dict[str, Any]:
    return {"description": key.help, **_value(key)}


def _value(key: Key) -> dict[str, Any]:
    if key.type == "name_or_table":
        # if/then/else rather than oneOf: a problem inside the table is reported at its own key
        assert key.table is not None
        return {"if": {"type": "object"}, "then": _ref(key.table), "else": _string(key)}
    if key.type == "table":
        assert key.table is not None
        return _ref(key.table)
    if key.type == "tables":
        assert key.table is not None
        return {"type": "array", "items": _ref(key.table)}
    if key.type == "string":
        return _string(key)
    if key.type == "strings":
        return {"type": "array", "items": dict(_NON_BLANK)}
    if key.type == "choice":
        return {"type": "string", "enum": list(key.choices)}
    if key.type == "source":
        return {"type": "string", "pattern": f"^({'|'.join(key.choices)}):."}
    if key.type in ("integer", "number"):
        bounds = {"minimum": key.low, "maximum": key.high}
        return {"type": key.type, **{k: v for k, v in bounds.items() if v is not None}}
    if key.type == "boolean":
        return {"type": "boolean"}
    raise ValueError(f"config.KEYS: {key.name} has an unknown type {key.type!r}")


def _string(key: Key) -> dict[str, Any]:
    return {**_NON_BLANK, "pattern": f"^(?:{key.pattern})$"} if key.pattern else dict(_NON_BLANK)


def _ref(table: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{table}"}
