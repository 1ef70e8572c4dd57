"""values_file: .env, TOML and JSON values files read faithfully, every problem with its line,
and never a value in a message."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.core.names import MAX_VALUE_BYTES
from syncer.migrate.values_file import (
    ValuesFile,
    ValuesFileError,
    format_of,
    parse_values,
    read_values_file,
)

SECRET = "s3cr3t-canary-91f0"


def as_dict(values: ValuesFile) -> dict[str, tuple[bytes, int | None]]:
    return {e.key: (e.value.reveal(), e.line) for e in values.entries}


def problems_of(text: str, fmt: str) -> list[str]:
    with pytest.raises(ValuesFileError) as caught:
        parse_values(text, fmt, "v")  # type: ignore[arg-type]
    assert SECRET not in str(caught.value)
    return caught.value.problems


# -- dotenv ------------------------------------------------------------------------------------

def test_dotenv_forms() -> None:
    """Comments, blank lines, `export`, unquoted values with trailing comments, literal single
    quotes, double quotes with escapes, `=` inside values, and keys with colons."""
    text = (
        "# a comment\n"
        "\n"
        "PLAIN=abc def   # trailing comment\n"
        "export EXPORTED=x\n"
        "HASH=a#b\n"
        "SINGLE='lit \\n #not a comment'\n"
        'DOUBLE="tab\\tquote\\" back\\\\ nl\\n"  # comment\n'
        "EQUALS=a=b=c\n"
        "actions:env:api:prod:TOKEN = spaced\n"
        "EMPTY=\n"
    )
    assert as_dict(parse_values(text, "dotenv")) == {
        "PLAIN": (b"abc def", 3),
        "EXPORTED": (b"x", 4),
        "HASH": (b"a#b", 5),
        "SINGLE": (b"lit \\n #not a comment", 6),
        "DOUBLE": (b'tab\tquote" back\\ nl\n', 7),
        "EQUALS": (b"a=b=c", 8),
        "actions:env:api:prod:TOKEN": (b"spaced", 9),
        "EMPTY": (b"", 10),
    }


def test_dotenv_quoted_values_may_span_lines() -> None:
    """A PEM key in double or single quotes keeps its newlines; the key's line is where it
    starts and the next key's line is counted right."""
    text = 'PEM="-----BEGIN-----\nabc\n-----END-----"\nNEXT=1\nLIT=\'a\nb\'\n'
    assert as_dict(parse_values(text, "dotenv")) == {
        "PEM": (b"-----BEGIN-----\nabc\n-----END-----", 1),
        "NEXT": (b"1", 4),
        "LIT": (b"a\nb", 5),
    }


def test_dotenv_problems_name_lines_not_contents() -> None:
    """A line without '=' (perhaps a pasted secret), text after a closing quote, a repeated
    key and an unclosed quote are each reported with their line; no value is quoted."""
    text = (f"A={SECRET}\n"
            f"{SECRET}\n"
            f"B='{SECRET}' trailing{SECRET}\n"
            f"A={SECRET}2\n"
            f'C="{SECRET}\n')
    assert problems_of(text, "dotenv") == [
        "v:2: expected KEY=VALUE",
        "v:3: unexpected text after the closing quote",
        "v:4 (A): the key is given again (first at line 1)",
        "v:5: the quoted value is never closed",
    ]


# -- TOML --------------------------------------------------------------------------------------

def test_toml_flat_pairs_with_lines() -> None:
    """Quoted and bare keys, literal and multi-line strings; each key keeps its line."""
    text = ('# header\n'
            '"actions:repo:api:DB" = \'x\'\n'
            "NAME = '''\nline1\nline2'''\n"
            "'dependabot:org:NPM' = \"y\"\n")
    assert as_dict(parse_values(text, "toml")) == {
        "actions:repo:api:DB": (b"x", 2),
        "NAME": (b"line1\nline2", 3),
        "dependabot:org:NPM": (b"y", 6),
    }


def test_toml_tables_and_non_strings_are_refused() -> None:
    """A table (an unquoted dotted or colon key) or a non-string value is a problem, by line."""
    text = 'A = 1\nactions.repo = "x"\n[section]\nB = "y"\n'
    problems = problems_of(text, "toml")
    assert problems[0] == "v:1 (A): the value must be a string"
    assert problems[1].startswith("v:2: a table")
    assert problems[2].startswith("v:3: a table")


def test_toml_syntax_errors_keep_the_line_and_drop_quoted_characters() -> None:
    """tomllib's message and line are kept, but not the character it quotes from the file."""
    problems = problems_of(f'A = "ok"\nB = "{SECRET}\u0007"\n', "toml")
    assert problems == ["v:2: not valid TOML: Illegal character"]
    assert problems_of('A = "x"\nA = "y"\n', "toml")[0].startswith("v:2: not valid TOML")


# -- JSON --------------------------------------------------------------------------------------

def test_json_object_with_lines() -> None:
    """A flat object; each key's line is where the key starts."""
    text = '{\n  "A": "1",\n  "actions:org:B":\n    "two\\nlines"\n}\n'
    assert as_dict(parse_values(text, "json")) == {"A": (b"1", 2),
                                                   "actions:org:B": (b"two\nlines", 3)}
    assert as_dict(parse_values("{}", "json")) == {}


def test_json_problems() -> None:
    """Repeated keys, non-string values, syntax errors and a non-object are reported by line;
    json's messages describe the grammar, never the text."""
    assert problems_of('{"A": "x",\n "A": "y"}', "json") == [("v:2 (A): the key is given again (first at "
                                                              "line 1)")]
    assert problems_of('{"A": 1,\n "B": "x"}', "json") == ["v:1: the value must be a string"]
    assert problems_of(f'{{"A": "{SECRET}",\n "B" "x"}}', "json") == [
        "v:2: not valid JSON: expected ':' after a key"]
    assert problems_of(f'["{SECRET}"]', "json") == [
        "v:1: not valid JSON: expected one object of string keys and string values"]
    assert problems_of('{"A": "x"} extra', "json") == [("v:1: not valid JSON: extra data after "
                                                        "the object")]
    assert problems_of('{"A": "x",}', "json") == [("v:1: not valid JSON: expected a key in "
                                                  "double quotes")]


# -- common ------------------------------------------------------------------------------------

def test_format_follows_the_extension() -> None:
    """.env (also the bare name .env), .dotenv, .toml, .json; anything else is unknown."""
    assert [format_of(p) for p in ("prod.env", ".env", "x.dotenv", "v.TOML", "v.json",
                                   "v.yaml")] == ["dotenv", "dotenv", "dotenv", "toml", "json",
                                                  None]


def test_oversized_values_are_refused_by_key() -> None:
    """A value over GitHub's 48 KB is reported with its key and size, not its content."""
    problems = problems_of("BIG=" + "x" * (MAX_VALUE_BYTES + 1) + "\n", "dotenv")
    assert problems == [(f"v:1 (BIG): the value is {MAX_VALUE_BYTES + 1} bytes; GitHub allows "
                        f"at most {MAX_VALUE_BYTES}")]


def test_read_values_file_checks_type_and_encoding(tmp_path: Path) -> None:
    """Unknown extensions and non-UTF-8 bytes are refused with the file (and line) named; a
    byte-order mark is ignored; values are the UTF-8 bytes of the text."""
    with pytest.raises(ValuesFileError, match="unknown values file type"):
        read_values_file(tmp_path / "values.yaml")
    bad = tmp_path / "v.env"
    bad.write_bytes(b"A=1\nB=\xff\n")
    with pytest.raises(ValuesFileError, match=r"v\.env:2: not UTF-8"):
        read_values_file(bad)
    good = tmp_path / "v.json"
    good.write_bytes('\ufeff{"A": "é"}'.encode())
    assert as_dict(read_values_file(good)) == {"A": ("é".encode(), 1)}
    with pytest.raises(ValuesFileError, match="cannot read"):
        read_values_file(tmp_path / "missing.env")
