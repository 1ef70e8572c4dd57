"""`syncer completion bash|zsh|fish`: a completion script made from the argument parser itself
(commands/parser.build_parser()), so a new command, option or choice is completed without a second list."""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..exits import Exit
from . import Output, Request, Session

SHELLS = ("bash", "zsh", "fish")
#: What an option whose metavar is SOURCE takes on the command line (generate:N is for config
#: files only: on the command line nobody would keep the value).
SOURCE_PREFIXES = ("env:", "file:", "cmd:")
_SOURCE_METAVAR = "SOURCE"
_PATH_METAVARS = ("FILE", "PATH", "PEM")


@dataclass(frozen=True, slots=True)
class Option:
    flags: tuple[str, ...]
    help: str
    takes_value: bool
    values: tuple[str, ...] = ()  # its choices, or SOURCE_PREFIXES
    paths: bool = False  # its value is a file


@dataclass(frozen=True, slots=True)
class Command:
    """One command (`()` is syncer itself, `("config", "check")` a nested one)."""

    path: tuple[str, ...]
    options: tuple[Option, ...]
    subcommands: tuple[tuple[str, str], ...]  # (name, help)
    arguments: tuple[str, ...] = ()  # the choices of a positional argument (completion's SHELL)

    @property
    def key(self) -> str:
        return " ".join(self.path)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Print a completion script for SHELL. bash: "
                          "source <(syncer completion bash); zsh: source <(syncer completion "
                          "zsh); fish: syncer completion fish | source.")
    parser.set_defaults(log_format="auto", log_level=None, quiet=True)
    parser.add_argument("shell", choices=SHELLS, metavar="SHELL", help=", ".join(SHELLS))


@dataclass(frozen=True)
class ScriptRequest(Request):
    shell: str


def request_from(namespace: argparse.Namespace) -> ScriptRequest:
    return ScriptRequest(namespace.shell)


async def run(request: ScriptRequest, session: Session) -> str:
    from .parser import build_parser

    return script(request.shell, build_parser())


def report(request: ScriptRequest, result: str, output: Output) -> int:
    output.stdout.write(result)
    return int(Exit.OK)


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    tree = list(commands(parser))
    if shell == "fish":
        return fish_script(tree)
    bash = bash_script(tree)
    if shell == "zsh":  # zsh runs bash's completion functions through bashcompinit
        return ("# zsh completion for syncer: source <(syncer completion zsh)\n"
                "autoload -U +X bashcompinit && bashcompinit\n" + bash)
    return bash


# ---------------------------------------------------------------------------------------------
# The parser, as plain data


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[Command]:
    """`parser` and every subcommand under it, depth first."""
    options: list[Option] = []
    subcommands: list[tuple[str, str]] = []
    arguments: list[str] = []
    nested: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                subcommands.append((name, helps.get(name, "")))
                nested.append((name, sub))
        elif action.option_strings:
            if action.help != argparse.SUPPRESS:
                options.append(_option(action))
        elif action.choices:
            arguments.extend(str(choice) for choice in action.choices)
    yield Command(path, tuple(options), tuple(subcommands), tuple(arguments))
    for name, sub in nested:
        yield from commands(sub, (*path, name))


def _option(action: argparse.Action) -> Option:
    takes_value = action.nargs != 0
    values: tuple[str, ...] = ()
    if action.choices:
        values = tuple(str(choice) for choice in action.choices)
    elif action.metavar == _SOURCE_METAVAR:
        values = SOURCE_PREFIXES
    return Option(tuple(action.option_strings), _short_help(action.help), takes_value, values,
                  paths=action.metavar in _PATH_METAVARS)


def _short_help(text: str | None) -> str:
    first = (text or "").replace("%%", "%").split("; ")[0].split(" (")[0]
    return first if len(first) <= 60 else first[:59] + "…"


# ---------------------------------------------------------------------------------------------
# bash (and zsh, through bashcompinit)


def bash_script(tree: Sequence[Command]) -> str:
    def case(name: str, rows: list[tuple[str, str]]) -> str:
        body = "".join(f'        "{key}") echo "{words}" ;;\n' for key, words in rows if words)
        return f'{name}() {{\n    case "$1" in\n{body}    esac\n}}\n'

    def values(command: Command) -> Iterator[tuple[str, str]]:
        for option in command.options:
            words = "@paths" if option.paths else " ".join(option.values)
            for flag in option.flags:
                yield f"{command.key}|{flag}", words

    return "\n".join([
        "# bash completion for syncer: source <(syncer completion bash)",
        "# (generated from syncer's argument parser by `syncer completion bash`)",
        case("_syncer_subcommands", [(c.key, " ".join(n for n, _ in c.subcommands))
                                     for c in tree]),
        case("_syncer_arguments", [(c.key, " ".join(c.arguments)) for c in tree]),
        case("_syncer_options", [(c.key, " ".join(f for o in c.options for f in o.flags))
                                 for c in tree]),
        case("_syncer_valued", [(c.key, " ".join(f for o in c.options if o.takes_value
                                                 for f in o.flags)) for c in tree]),
        case("_syncer_values", [row for c in tree for row in values(c)]).replace(
            'case "$1" in', 'case "$1|$2" in'),
        _BASH_MAIN,
    ])


_BASH_MAIN = r'''_syncer() {
    local words=() i w cur path="" skip=0 n candidates
    # bash splits "file:PATH" at the ':' of COMP_WORDBREAKS: join the pieces again
    for ((i = 0; i <= COMP_CWORD; i++)); do
        w="${COMP_WORDS[i]}"
        n=${#words[@]}
        if ((n > 1)) && [[ $w == :* || ${words[n - 1]} == *: ]]; then
            words[n - 1]+="$w"
        else
            words+=("$w")
        fi
    done
    n=$((${#words[@]} - 1))
    cur="${words[n]}"
    for ((i = 1; i < n; i++)); do
        w="${words[i]}"
        if ((skip)); then skip=0; continue; fi
        case "$w" in
            --*=*) ;;
            -*) [[ " $(_syncer_valued "$path") " == *" $w "* ]] && skip=1 ;;
            *) [[ " $(_syncer_subcommands "$path") " == *" $w "* ]] && path="${path:+$path }$w" ;;
        esac
    done
    if ((skip)); then
        candidates="$(_syncer_values "$path" "${words[n - 1]}")"
    elif [[ $cur == -* ]]; then
        candidates="$(_syncer_options "$path")"
    else
        candidates="$(_syncer_subcommands "$path") $(_syncer_arguments "$path")"
    fi
    if [[ $candidates == "@paths" ]]; then
        COMPREPLY=($(compgen -f -- "$cur"))
    elif [[ " $candidates " == *" file: "* && $cur == file:* ]]; then
        COMPREPLY=($(compgen -f -P file: -- "${cur#file:}"))
    else
        COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
    fi
    if ((${#COMPREPLY[@]} == 1)) && [[ ${COMPREPLY[0]} == *: ]] && type compopt >/dev/null 2>&1; then
        compopt -o nospace 2>/dev/null  # env: is followed by the variable's name, not a space
    fi
    # readline replaces only what follows the word's last ':'; drop what precedes it
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local before="${cur%"${cur##*:}"}"
        for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]="${COMPREPLY[i]#"$before"}"; done
    fi
}
complete -o default -F _syncer syncer
'''


# ---------------------------------------------------------------------------------------------
# fish


def fish_script(tree: Sequence[Command]) -> str:
    lines = ["# fish completion for syncer: syncer completion fish | source",
             "# (generated from syncer's argument parser by `syncer completion fish`)",
             "complete -c syncer -f"]
    for command in tree:
        here = _fish_condition(command.path)
        names = [name for name, _ in command.subcommands]
        if names:
            # once a subcommand is given, its siblings are no longer offered
            offer = (f"{here}; and not __fish_seen_subcommand_from {' '.join(names)}"
                     if command.path else here)
            for name, help_text in command.subcommands:
                lines.append(f"complete -c syncer -n {_fish_quote(offer)} -a {name} "
                             f"-d {_fish_quote(_short_help(help_text))}")
        if command.arguments:
            lines.append(f"complete -c syncer -n {_fish_quote(here)} "
                         f"-a {_fish_quote(' '.join(command.arguments))}")
        for option in command.options:
            flags = " ".join(f"-l {f[2:]}" if f.startswith("--") else f"-s {f[1:]}"
                             for f in option.flags)
            value = ""
            if option.paths:
                value = " -r -F"
            elif option.values:
                value = f" -x -a {_fish_quote(' '.join(option.values))}"
            elif option.takes_value:
                value = " -x"
            lines.append(f"complete -c syncer -n {_fish_quote(here)} {flags}{value} "
                         f"-d {_fish_quote(option.help)}")
    return "\n".join(lines) + "\n"


def _fish_condition(path: tuple[str, ...]) -> str:
    if not path:
        return "__fish_use_subcommand"
    return "; and ".join(f"__fish_seen_subcommand_from {name}" for name in path)


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
