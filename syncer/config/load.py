"""The config file: TOML → frozen dataclasses, with every problem found in one pass.

`load_config` checks the whole file before anything talks to GitHub and raises one
`ConfigError` listing every problem with its file, line and key path (`secret[2].repos.match`),
never just the first. It reads no secret value: value sources are only checked for syntax, so a
config loads on a machine where the variables and files it names are absent. `read_values` is
the separate step that reads them, again reporting every unreadable source at once
(`read_variable_values` for the `[[variable]]` tables).

A `[[variable]]` (an Actions or agent configuration variable) takes the same targeting keys as a
`[[secret]]`; its value is no secret, so it may be written in the file itself (`value =
"eu-west-1"`) as well as named by a source. A literal value on a `[[secret]]` stays an error.

No message ever quotes a secret value: a literal value written where a source belongs, a token
pasted into `token_env`, a password in `api_url` are all refused without being repeated.

`config.example.toml` documents every key. Key paths count `[[secret]]` tables from 0, like the
indexes of `Config.secrets` and the keys `read_values` returns (`[[variable]]` tables likewise,
with `Config.variables`).

The file's checks live beside this module: the plain data in `model`, the keys in `keys`, the
checks in `checks` (with `getters` and `duplicates`), line finding in `toml_lines`, the URL
policy in `url_policy`. This module is the I/O edge: it reads the file and the value sources.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..core.model import SecretValue
from ..core.names import value_problem
from ..inputs import MAX_NESTING, InputTooLarge, read_capped
from ..sources import Source, SourceError, read_source
from .checks import (
    config_from,
    outside_problem,
)
from .model import (
    Config,
    SecretSpec,
)
from .problems import ConfigError, Problem, Problems, key_path
from .toml_lines import locate_keys, syntax_problem, toml_nesting, too_deep


def load_config(path: str | Path) -> Config:
    """The config in `path`, or ConfigError with every problem found.

    Relative `file:` sources, `ca_bundle` and `state` are taken relative to the file's folder.
    """
    file = str(path)
    try:
        text = read_capped(Path(path).expanduser()).decode("utf-8-sig")
    except OSError as exc:
        problem = Problem(file, None, "", f"cannot read: {exc.strerror or exc}")
        raise ConfigError([problem]) from None
    except InputTooLarge as exc:
        raise ConfigError([Problem(file, None, "", str(exc))]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(file, None, "", f"not UTF-8 text (byte {exc.start})")]) from None
    return parse_config(text, file, base_dir=Path(path).expanduser().absolute().parent)


def parse_config(text: str, path: str = "<config>", *,
                 base_dir: str | Path | None = None) -> Config:
    """The config in `text` (`path` only names it in messages), or ConfigError with every problem.

    Relative paths are taken relative to `base_dir`, or left as written when it is None.
    """
    if (deepest := toml_nesting(text)).depth > MAX_NESTING:
        raise ConfigError([Problem(path, deepest.line, "", too_deep(deepest.depth))])
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([syntax_problem(exc, text, path)]) from None
    except RecursionError:  # not expected under the cap; a traceback is never the answer
        raise ConfigError([Problem(path, None, "", too_deep(None))]) from None
    found = Problems(path, locate_keys(text))
    config = config_from(found, raw, path, None if base_dir is None else Path(base_dir))
    if found.problems:
        raise ConfigError(sorted(found.problems, key=lambda p: (p.line is None, p.line or 0)))
    return config


def read_values(config: Config, environ: Mapping[str, str] | None = None,
                ) -> dict[tuple[int, str], SecretValue]:
    """Each secret's value, keyed by (index in config.secrets, name).

    Raises ConfigError naming every source that cannot be read (unset variable, unreadable file,
    failing command, empty or oversized value); no message contains a value. A source used by
    several secrets is read once (one command run, one consistent value), except `generate:N`,
    which makes a fresh value for each secret.
    """
    return read_all_values(config, environ, variables=False)[0]


def read_variable_values(config: Config, environ: Mapping[str, str] | None = None,
                         ) -> dict[tuple[int, str], SecretValue]:
    """Each variable's value, keyed by (index in config.variables, name), as `read_values`
    reads secrets'; a value written in the config is taken as it is. A value must be text
    (GitHub stores variables as strings) and fit GitHub's size limit."""
    return read_all_values(config, environ, secrets=False)[1]


Values = dict[tuple[int, str], SecretValue]


def read_all_values(config: Config, environ: Mapping[str, str] | None = None, *,
                    secrets: bool = True, variables: bool = True) -> tuple[Values, Values]:
    """`read_values` and `read_variable_values` in one: ConfigError names every source of
    either that cannot be read."""
    problems: list[Problem] = []
    done: dict[Source, SecretValue | SourceError] = {}
    found = (_read_all(config, config.secrets if secrets else (), environ, problems, done),
             _read_all(config, config.variables if variables else (), environ, problems, done))
    if problems:
        raise ConfigError(problems)
    return found


def _read_all(config: Config, specs: Sequence[SecretSpec], environ: Mapping[str, str] | None,
              problems: list[Problem], done: dict[Source, SecretValue | SourceError]) -> Values:
    values: Values = {}
    for index, spec in enumerate(specs):
        if isinstance(spec.value, str):  # a variable's value, checked when the file was read
            values[(index, spec.name)] = SecretValue(spec.value.encode())
            continue
        got = done[spec.value] if spec.value in done else _read(spec.value, environ,
                                                                _confined_to(config))
        if spec.value.kind != "generate":
            done[spec.value] = got
        if not isinstance(got, SourceError) and spec.target == "variable":
            got = _as_variable_value(spec.value, got)
        if isinstance(got, SourceError):
            problems.append(Problem(config.path, spec.line,
                                    key_path(spec.target, index, "value"),
                                    str(got).replace("secret value", f"{spec.target} value")))
        else:
            values[(index, spec.name)] = got
    return values


def _as_variable_value(source: Source, value: SecretValue) -> SecretValue | SourceError:
    """`value` if it can be a variable's: text, within GitHub's size."""
    try:
        value.reveal().decode("utf-8")
    except UnicodeDecodeError:
        return SourceError(f"{source}: a variable's value must be text (UTF-8); binary values "
                           "belong in secrets")
    if problem := value_problem(value.reveal()):
        return SourceError(f"{source}: {problem.replace('secret value', 'variable value')}")
    return value


def _confined_to(config: Config) -> str | None:
    return config.base_dir if config.sync.confine_files and config.base_dir else None


def _read(source: Source, environ: Mapping[str, str] | None,
          confined_to: str | None) -> SecretValue | SourceError:
    # checked again as it is read: a link may have been changed since the config was loaded
    if (source.kind == "file" and confined_to is not None
            and (problem := outside_problem(source.arg, source.arg, confined_to))):
        return SourceError(problem)
    try:
        return read_source(source, environ=environ)
    except SourceError as exc:
        return exc
