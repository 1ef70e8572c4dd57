"""Finding lines in the raw TOML text, which tomllib does not give: the line of each key (for
problems), the nesting depth (checked before tomllib recurses), and a syntax error's line."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..inputs import MAX_NESTING
from .problems import KeyPath, Problem

__all__ = ["Nesting", "locate_keys", "syntax_problem", "too_deep", "toml_nesting"]


_HEADER = re.compile(r"\s*(\[\[?)([^\[\]]*)\]\]?\s*(?:#.*)?$")
_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_KEY = re.compile(rf"\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")


def locate_keys(text: str) -> dict[KeyPath, int]:
    """Best-effort line (1-based) of each table header and key in TOML `text`.

    Paths index arrays of tables from 0: the third `[[secret]]` header is ("secret", 2) and its
    `[secret.repos]` table ("secret", 2, "repos"). Keys inside inline tables and values spanning
    lines are not located; look up their closest located parent instead (see Problems.line_of).
    """
    where: dict[KeyPath, int] = {}
    arrays: dict[tuple[str, ...], int] = {}  # [[header]] counts by unindexed name path
    table: KeyPath = ()
    depth, open_string = 0, ""
    for number, line in enumerate(text.splitlines(), start=1):
        start = 0
        if depth == 0 and not open_string:
            if header := _HEADER.match(line):
                names = tuple(_key_parts(header.group(2)))
                if header.group(1) == "[[":
                    arrays[names] = arrays.get(names, 0) + 1
                table = _indexed(names, arrays)
                where.setdefault(table, number)
                continue
            if key := _KEY.match(line):
                where.setdefault(table + tuple(_key_parts(key.group(1))), number)
                start = key.end()
        depth, open_string, _ = _scan(line, start, depth, open_string)
    return where


def _key_parts(dotted: str) -> list[str]:
    return [p[1:-1] if p[:1] in "\"'" else p for p in re.findall(_KEY_PART, dotted)]


def _indexed(names: tuple[str, ...], arrays: Mapping[tuple[str, ...], int]) -> KeyPath:
    path: list[str | int] = []
    for i, name in enumerate(names):
        path.append(name)
        if count := arrays.get(names[: i + 1]):
            path.append(count - 1)
    return tuple(path)


@dataclass(frozen=True, slots=True)
class Nesting:
    depth: int
    line: int | None = None  # where that depth is first reached


def toml_nesting(text: str) -> Nesting:
    """The deepest nesting of arrays and inline tables in TOML `text` (a `[[table]]` header
    counts 2), and its line; strings and comments are skipped. Pure."""
    deepest, depth, open_string = Nesting(0), 0, ""
    for number, line in enumerate(text.splitlines(), start=1):
        depth, open_string, most = _scan(line, 0, depth, open_string)
        if most > deepest.depth:
            deepest = Nesting(most, number)
    return deepest


def too_deep(depth: int | None) -> str:
    found = "" if depth is None else f" ({depth} levels)"
    return (f"arrays or tables are nested too deeply{found}; syncer reads at most "
            f"{MAX_NESTING} levels")


def _scan(line: str, i: int, depth: int, open_string: str) -> tuple[int, str, int]:
    """Bracket depth and open multi-line string after `line`, and the deepest depth within it;
    strings and comments skipped."""
    deepest = depth
    while i < len(line):
        if open_string:
            end = line.find(open_string, i)
            if end < 0:
                break
            i, open_string = end + 3, ""
        elif line[i] == "#":
            break
        elif line.startswith(('"""', "'''"), i):
            i, open_string = i + 3, line[i:i + 3]
        elif line[i] == '"':
            i = _after_basic_string(line, i + 1)
        elif line[i] == "'":
            end = line.find("'", i + 1)
            i = len(line) if end < 0 else end + 1
        else:
            depth += (line[i] in "[{") - (line[i] in "]}")
            if depth > deepest:
                deepest = depth
            i += 1
    return max(depth, 0), open_string, deepest


def _after_basic_string(line: str, i: int) -> int:
    while i < len(line):
        if line[i] == "\\":
            i += 2
        elif line[i] == '"':
            return i + 1
        else:
            i += 1
    return i


_AT = re.compile(r"\s*\(at (?:line (\d+), column \d+|end of document)\)$")
_ORG_TABLE_LINE = re.compile(r"\s*(\[\s*secret\s*\.\s*org\s*\]|org\s*=\s*\{)")
_ORG_STRING_LINE = re.compile(r"\s*org\s*=\s*[\"']")
_SECRET_HEADER_LINE = re.compile(r"\s*\[\[\s*secret\s*\]\]")


def syntax_problem(exc: tomllib.TOMLDecodeError, text: str, file: str) -> Problem:
    """tomllib's message with its position turned into a line (tomllib quotes no values)."""
    message = str(exc).splitlines()[0] if str(exc) else "invalid TOML"
    line: int | None = getattr(exc, "lineno", None)
    if at := _AT.search(message):
        message = message[: at.start()]
        if line is None:
            line = int(at.group(1)) if at.group(1) else max(1, len(text.splitlines()))
    if line and _org_string_and_table(text.splitlines(), line):
        message += ("; a [[secret]] cannot have both org = \"NAME\" and a [secret.org] table: "
                    "write the organisation as owner = \"NAME\"")
    return Problem(file, line, "", f"TOML syntax: {message}")


def _org_string_and_table(lines: Sequence[str], line: int) -> bool:
    """Whether `line` opens an org table in a [[secret]] that already has org = "NAME"."""
    if line > len(lines) or not _ORG_TABLE_LINE.match(lines[line - 1]):
        return False
    for previous in reversed(lines[: line - 1]):
        if _SECRET_HEADER_LINE.match(previous):
            return False
        if _ORG_STRING_LINE.match(previous):
            return True
    return False
