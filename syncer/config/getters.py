"""Typed getters over a parsed TOML table: each adds a problem and returns None (or the
default) when the value is missing where required, of the wrong type or out of range."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from typing import Any

from .problems import KeyPath, Problems, key_path

__all__ = ["get_bool", "get_choice", "get_int", "get_number", "get_str_list", "get_string",
           "get_table", "type_name", "unknown_key_message", "unknown_keys"]


def unknown_keys(p: Problems, table: Mapping[str, Any], path: KeyPath,
                  allowed: Sequence[str]) -> None:
    for key in table:
        if key not in allowed:
            p.add((*path, key), unknown_key_message(key, allowed))


def unknown_key_message(key: str, allowed: Sequence[str]) -> str:
    """"unknown key 'visiblity'; did you mean 'visibility'?", else the keys that are known."""
    close = difflib.get_close_matches(key.lower(), allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r}; did you mean {close[0]!r}?"
    return f"unknown key {key!r}; known keys here: {', '.join(allowed)}"


def type_name(value: object) -> str:
    names: dict[type, str] = {bool: "a boolean", int: "an integer", float: "a number",
                              str: "a string", list: "a list", dict: "a table"}
    return names.get(type(value), "a date or time")


def get_table(p: Problems, table: Mapping[str, Any], path: KeyPath,
           key: str) -> dict[str, Any] | None:
    value = table.get(key)
    if value is None or isinstance(value, dict):
        return value
    p.add((*path, key), f"must be a table ([{key_path(*path, key)}]), not {type_name(value)}")
    return None


def get_string(p: Problems, table: Mapping[str, Any], path: KeyPath, key: str, *,
            required: bool = False) -> str | None:
    if key not in table:
        if required:
            p.add((*path, key), "is required")
        return None
    value = table[key]
    if not isinstance(value, str):
        p.add((*path, key), f"must be a string, not {type_name(value)}")
        return None
    if not value.strip():
        p.add((*path, key), "must not be empty")
        return None
    return value


def get_choice(p: Problems, table: Mapping[str, Any], path: KeyPath, key: str,
            choices: Sequence[str], default: str | None) -> str | None:
    value = get_string(p, table, path, key, required=default is None)
    if value is None:
        return default if key not in table else None
    if value not in choices:
        close = difflib.get_close_matches(value.lower(), choices, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        p.add((*path, key), f"{value!r} is not one of {', '.join(choices)}{hint}")
        return None
    return value


def get_bool(p: Problems, table: Mapping[str, Any], path: KeyPath, key: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        p.add((*path, key), f"must be true or false, not {type_name(value)}")
        return default
    return value


def get_int(p: Problems, table: Mapping[str, Any], path: KeyPath, key: str, *, low: int,
         high: int | None = None, required: bool = False) -> int | None:
    if key not in table:
        if required:
            p.add((*path, key), "is required")
        return None
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int):
        p.add((*path, key), f"must be a whole number, not {type_name(value)}")
        return None
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        p.add((*path, key), f"{value} is out of range: must be {bounds}")
        return None
    return value


def get_number(p: Problems, table: Mapping[str, Any], path: KeyPath, key: str, *,
            low: float) -> float | None:
    if key not in table:
        return None
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        p.add((*path, key), f"must be a number, not {type_name(value)}")
        return None
    if not math.isfinite(value) or value < low:
        p.add((*path, key), f"{value} is out of range: must be a finite number, at least {low:g}")
        return None
    return float(value)


def get_str_list(p: Problems, table: Mapping[str, Any], path: KeyPath,
              key: str) -> tuple[str, ...] | None:
    if key not in table:
        return None
    value = table[key]
    if not isinstance(value, list):
        p.add((*path, key), f"must be a list of strings, not {type_name(value)}")
        return None
    good = True
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            what = "an empty string" if isinstance(item, str) else type_name(item)
            p.add((*path, key, i), f"must be a non-empty string, not {what}")
            good = False
    return tuple(value) if good else None

