"""A file of secret values for `syncer migrate --values`: a flat mapping of key → value.

The format follows the extension:

    .env / .dotenv   KEY=VALUE lines (below)
    .toml            top-level `"key" = "value"` pairs, no tables
    .json            one object of string → string

What a key means (scope and name, or a name alone) is mapping.py's business; this module only
reads the file faithfully, remembers the line of every key, and collects *every* problem in one
pass, each as "FILE:LINE: what is wrong". Neither a value nor a key appears in a message: a
pasted secret split at an `=` (base64 padding, a URL's query) looks like a key, so problems
name the line; only a key whose line cannot be told (rare TOML keys) is named.

dotenv, precisely (no variable expansion, no command substitution):
- blank lines and lines whose first non-blank character is `#` are ignored;
- `export ` before the key is allowed and ignored;
- `KEY=VALUE`: the key is everything before the first `=`, blanks around it trimmed (so a key
  cannot contain `=`; use TOML or JSON for an environment name with `=` in it);
- an unquoted VALUE runs to the end of the line or to ` #` (a comment), blanks trimmed;
- `'VALUE'` is literal, `"VALUE"` understands `\\n \\r \\t \\" \\\\`; both may span lines (PEM
  keys); after the closing quote only blanks or a `# comment` may follow.

Files are UTF-8 (a byte-order mark is ignored); values are written as their UTF-8 bytes.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..config.toml_lines import toml_nesting
from ..core.model import SecretValue
from ..core.names import MAX_VALUE_BYTES, env_name_shown
from ..inputs import MAX_NESTING, InputTooLarge, read_capped
from ..sources import warn_if_readable_by_others

Format = Literal["dotenv", "toml", "json"]
FORMATS: dict[str, Format] = {".env": "dotenv", ".dotenv": "dotenv", ".toml": "toml",
                              ".json": "json"}


class ValuesFileError(Exception):
    """The file cannot be used; `problems` lists each one as "FILE:LINE: message"."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    value: SecretValue
    line: int | None  # 1-based; None when the format does not let us tell (rare TOML keys)


@dataclass(frozen=True, slots=True)
class ValuesFile:
    path: str
    entries: tuple[Entry, ...]

    def where(self, entry: Entry) -> str:
        """Where an entry is, for messages (see the module docstring)."""
        return located(self.path, entry.line, entry.key)


def located(path: str, line: int | None, key: str) -> str:
    """"FILE:LINE (KEY)" of a key, or, when its line cannot be told, "FILE: key 'KEY'". A
    key is named only when it is shaped like one (a conventional upper-case name, scoped or
    not): a pasted value split at "=" can look like a key, and is not repeated."""
    if line is None:
        return f"{path}: key {key!r}"
    return f"{path}:{line} ({key})" if _key_shown(key) else f"{path}:{line}"


def _key_shown(key: str) -> bool:
    *scope, name = key.split(":")
    return env_name_shown(name) and all(re.fullmatch(r"[A-Za-z0-9_.-]+", part) for part in scope)


def format_of(path: str | Path) -> Format | None:
    """The format a file name asks for (`.env` itself counts as dotenv), or None."""
    name = Path(path).name.lower()
    if name == ".env":
        return "dotenv"
    return FORMATS.get(Path(name).suffix)


def read_values_file(path: str | Path) -> ValuesFile:
    """Read and parse `path`; ValuesFileError lists every problem found."""
    shown = str(path)
    fmt = format_of(path)
    if fmt is None:
        problem = f"{shown}: unknown values file type; name it *.env, *.toml or *.json"
        raise ValuesFileError([problem])
    try:
        data = read_capped(path, on_open=lambda fd: warn_if_readable_by_others(fd, shown))
    except OSError as exc:
        raise ValuesFileError([f"{shown}: cannot read: {exc.strerror or exc}"]) from None
    except InputTooLarge as exc:
        raise ValuesFileError([f"{shown}: {exc}"]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ValuesFileError([f"{shown}:{line}: not UTF-8 (byte {exc.start})"]) from None
    return parse_values(text, fmt, shown)


def parse_values(text: str, fmt: Format, path: str = "<values>") -> ValuesFile:
    """Pure: the entries of a values file's text, or ValuesFileError with every problem."""
    problems: list[str] = []
    raw = {"dotenv": _parse_dotenv, "toml": _parse_toml, "json": _parse_json}[fmt](
        text, path, problems)
    entries: list[Entry] = []
    first_line: dict[str, int | None] = {}
    for key, value, line in raw:
        at = located(path, line, key)
        if not key:
            problems.append(f"{at}: empty key")
            continue
        if key in first_line:
            problems.append(f"{at}: the key is given again (first at line {first_line[key]})")
            continue
        first_line[key] = line
        encoded = value.encode("utf-8")
        if len(encoded) > MAX_VALUE_BYTES:
            problems.append(f"{at}: the value is {len(encoded)} bytes; GitHub allows "
                            f"at most {MAX_VALUE_BYTES}")
            continue
        entries.append(Entry(key, SecretValue(encoded), line))
    if problems:
        raise ValuesFileError(problems)
    return ValuesFile(path, tuple(entries))


# -- dotenv ------------------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_COMMENT_AFTER = re.compile(r"\s*(#.*)?")


def _parse_dotenv(text: str, path: str, problems: list[str]
                  ) -> Iterator[tuple[str, str, int | None]]:
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        number = index + 1
        line = lines[index]
        index += 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, rest = line.partition("=")
        key = key.strip()
        if key.startswith(("export ", "export\t")):
            key = key[len("export"):].strip()
        if not sep:
            # Not quoted back: a line without "=" may be a value pasted on its own.
            problems.append(f"{path}:{number}: expected KEY=VALUE")
            continue
        rest = rest.lstrip()
        if rest[:1] in ("'", '"'):
            parsed = _quoted(rest, lines, index)
            if parsed is None:
                problems.append(f"{path}:{number}: the quoted value is never closed")
                index = len(lines)
                continue
            value, after, index = parsed
            if not _COMMENT_AFTER.fullmatch(after):
                problems.append(f"{path}:{number}: unexpected text after the closing quote")
                continue
            yield key, value, number
            continue
        yield key, _unquoted(rest), number


def _unquoted(rest: str) -> str:
    at = rest.find(" #")
    tab = rest.find("\t#")
    cuts = [c for c in (at, tab) if c >= 0]
    return (rest[:min(cuts)] if cuts else rest).strip()


def _quoted(rest: str, lines: list[str], index: int) -> tuple[str, str, int] | None:
    """(value, text after the closing quote, index of the next line), or None if unclosed."""
    quote, body = rest[0], rest[1:]
    out: list[str] = []
    while True:
        position = 0
        while position < len(body):
            char = body[position]
            if quote == '"' and char == "\\" and position + 1 < len(body):
                following = body[position + 1]
                out.append(_ESCAPES.get(following, "\\" + following))
                position += 2
                continue
            if char == quote:
                return "".join(out), body[position + 1:], index
            out.append(char)
            position += 1
        if index >= len(lines):
            return None
        out.append("\n")
        body = lines[index]
        index += 1


# -- TOML --------------------------------------------------------------------------------------

_TOML_WHERE = re.compile(r"\s*\((?:at line (\d+), column \d+|at end of document)\)\s*$")
_ECHOING = ("Found invalid character", "Illegal character")


def _parse_toml(text: str, path: str, problems: list[str]
                ) -> Iterator[tuple[str, str, int | None]]:
    if (deepest := toml_nesting(text)).depth > MAX_NESTING:
        problems.append(f"{path}:{deepest.line}: arrays or tables are nested too deeply; the "
                        "values file must be flat")
        return
    try:
        document = tomllib.loads(text)
    except RecursionError:  # not expected under the cap; a traceback is never the answer
        problems.append(f"{path}: arrays or tables are nested too deeply; the values file must "
                        "be flat")
        return
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_WHERE.search(message)
        line = found.group(1) if found and found.group(1) else None
        what = message[:found.start()] if found else message
        if what.startswith(_ECHOING):  # these quote a character of the file: maybe of a value
            what = what.split(" ", 2)[0] + " character"
        problems.append(f"{path}:{line}: not valid TOML: {what}" if line
                        else f"{path}: not valid TOML: {what}")
        return
    first_lines = _toml_key_lines(text.splitlines())
    for key, value in document.items():
        line = first_lines.get(key)
        at = located(path, line, key)
        if isinstance(value, dict):
            problems.append(f"{at}: a table; the values file must be flat "
                            '(quote keys with dots or colons: "actions:repo:api:NAME" = "...")')
        elif not isinstance(value, str):
            problems.append(f"{at}: the value must be a string")
        else:
            yield key, value, line


_TOML_KEY_AT = re.compile(r"""\s*(\[\[?\s*)?("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*([=.\]])""")


def _toml_key_lines(lines: list[str]) -> dict[str, int]:
    """The first line defining each top-level key (bare, "basic" or 'literal' form) as a pair,
    a dotted key or a table header; one pass, however many keys."""
    found: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        at = _TOML_KEY_AT.match(line)
        if at is None:
            continue
        header, token, after = at.groups()
        if after != "." and after != ("]" if header else "="):
            continue
        if token.startswith('"'):
            try:
                key = json.loads(token)  # TOML's basic-string escapes are JSON's (but \U)
            except ValueError:
                continue
        else:
            key = token[1:-1] if token.startswith("'") else token
        found.setdefault(key, number)
    return found


# -- JSON --------------------------------------------------------------------------------------

_DECODER = json.JSONDecoder()
_BLANK = re.compile(r"\s*")


def _skip_blanks(text: str, position: int) -> int:
    found = _BLANK.match(text, position)
    return found.end() if found else position


def _parse_json(text: str, path: str, problems: list[str]
                ) -> Iterator[tuple[str, str, int | None]]:
    """A flat object, read pair by pair so each key keeps its line (json.loads forgets it)."""
    counted = [0, 1]  # a position and its line: positions only grow, so count from there

    def line_of(position: int) -> int:
        start, line = counted if position >= counted[0] else (0, 1)
        counted[:] = [position, line + text.count("\n", start, position)]
        return counted[1]

    def fail(position: int, what: str) -> None:
        problems.append(f"{path}:{line_of(position)}: not valid JSON: {what}")

    position = _skip_blanks(text, 0)
    if text[position:position + 1] != "{":
        fail(position, "expected one object of string keys and string values")
        return
    position = _skip_blanks(text, position + 1)
    if text[position:position + 1] == "}":
        position += 1
    else:
        while True:
            if text[position:position + 1] != '"':
                fail(position, "expected a key in double quotes")
                return
            key_line = line_of(position)
            try:
                key, position = _DECODER.raw_decode(text, position)
            except json.JSONDecodeError as exc:
                fail(exc.pos, exc.msg)
                return
            position = _skip_blanks(text, position)
            if text[position:position + 1] != ":":
                fail(position, "expected ':' after a key")
                return
            position = _skip_blanks(text, position + 1)
            try:
                value, position = _DECODER.raw_decode(text, position)
            except json.JSONDecodeError as exc:
                fail(exc.pos, exc.msg)  # json's messages describe the grammar, not the text
                return
            except RecursionError:  # [[[[…]]]] thousands deep: no value, and no traceback
                problems.append(f"{path}:{key_line}: the value must be a string (this one is "
                                "nested too deeply to read)")
                return
            if isinstance(value, str):
                yield key, value, key_line
            else:
                problems.append(f"{path}:{key_line}: the value must be a string")
            position = _skip_blanks(text, position)
            following = text[position:position + 1]
            position += 1
            if following == "}":
                break
            if following != ",":
                fail(position - 1, "expected ',' or '}'")
                return
            position = _skip_blanks(text, position)
    if text[position:].strip():
        fail(position, "extra data after the object")
