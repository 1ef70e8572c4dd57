"""A problem found in a config file, the error listing them all, and the collector the checks
add to (each problem placed on its key's line)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..exits import UsageError

__all__ = ["MAX_PROBLEMS_SHOWN", "ConfigError", "KeyPath", "Problem", "Problems", "key_path"]

#: a key's place in the parsed file: ("secret", 2, "repos", "match")
KeyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None
    key: str  # a key path such as "secret[2].repos.match"; "" for the file as a whole
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


#: problems shown in a ConfigError's message; a file of a million wrong keys is not a million
#: lines of output
MAX_PROBLEMS_SHOWN = 50


class ConfigError(UsageError):
    """Every problem found in a config file (or its value sources), one per line in str() (the
    first MAX_PROBLEMS_SHOWN, then how many more)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        shown = [str(p) for p in self.problems[:MAX_PROBLEMS_SHOWN]]
        if len(self.problems) > MAX_PROBLEMS_SHOWN:
            shown.append(f"… and {len(self.problems) - MAX_PROBLEMS_SHOWN} more problems "
                         "(fix these first)")
        super().__init__("\n".join(shown))


def key_path(*parts: str | int) -> str:
    """`key_path("secret", 2, "repos")` → "secret[2].repos"."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


class Problems:
    """The problems found so far in one file, each placed on the line of its key (`where`:
    see `toml_lines.locate_keys`)."""

    def __init__(self, file: str, where: Mapping[KeyPath, int]) -> None:
        self.file = file
        self.where = where
        self.problems: list[Problem] = []

    def add(self, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(self.file, self.line_of(path), key_path(*path), message))

    def line_of(self, path: KeyPath) -> int | None:
        """Line of `path`, or of its closest located parent."""
        while path:
            if path in self.where:
                return self.where[path]
            path = path[:-1]
        return None
