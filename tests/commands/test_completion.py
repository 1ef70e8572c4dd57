"""`syncer completion bash|zsh|fish`: scripts made from the argument parser, driven in a real
bash the way readline drives them (COMP_WORDS, COMP_CWORD)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from helpers import syncer_process

from syncer import cli
from syncer.commands import completion


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    done = syncer_process(["completion", "bash"], {})
    assert done.returncode == 0, done.stderr
    path = tmp_path_factory.mktemp("completion") / "syncer.bash"
    path.write_bytes(done.stdout)
    return path


def complete(script: Path, *words: str, wordbreaks: str = " \t\n\"'><=;|&(:") -> list[str]:
    """What `_syncer` offers for `words` (the last one being completed), in a bash subprocess;
    `wordbreaks` is bash's COMP_WORDBREAKS (its default here)."""
    driver = (f'source "{script}"\nCOMP_WORDBREAKS="$WORDBREAKS"\nCOMP_WORDS=("$@")\n'
              "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n_syncer\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", driver, "bash", *words],
                          capture_output=True, text=True, timeout=30, check=True,
                          env={"PATH": os.environ["PATH"], "WORDBREAKS": wordbreaks})
    return [line for line in done.stdout.splitlines() if line]


def test_the_bash_script_parses(bash_script: Path) -> None:
    """`bash -n` accepts the script."""
    subprocess.run(["bash", "-n", str(bash_script)], check=True, timeout=30)


def test_a_command_is_completed_from_its_first_letters(bash_script: Path) -> None:
    """`syncer se<TAB>` gives set; `syncer <TAB>` every command the parser has."""
    assert complete(bash_script, "syncer", "se") == ["set"]
    parser_commands = [c.subcommands for c in completion.commands(cli.build_parser())][0]
    assert complete(bash_script, "syncer", "") == [name for name, _ in parser_commands]


def test_options_choices_and_nested_commands(bash_script: Path) -> None:
    """A subcommand's own options, --app's choices (after options that take values, which
    are skipped), `config`'s actions and the shells of `completion`."""
    assert "--value-from" in complete(bash_script, "syncer", "set", "--v")
    assert complete(bash_script, "syncer", "set", "--org", "acme", "--app", "") == [
        "actions", "dependabot", "codespaces", "agents"]
    assert complete(bash_script, "syncer", "audit", "--format", "c") == ["csv"]
    assert complete(bash_script, "syncer", "config", "") == ["schema", "check"]
    assert complete(bash_script, "syncer", "config", "check", "--") == ["--help", "--config"]
    assert complete(bash_script, "syncer", "completion", "") == ["bash", "zsh", "fish"]


def test_value_sources_are_offered_and_file_paths_completed(bash_script: Path,
                                                             tmp_path: Path) -> None:
    """--value-from and --app-key offer env:, file: and cmd:; after file: (split at ':' by
    bash, as readline does) a path is completed, and only the part after ':' is replaced."""
    assert complete(bash_script, "syncer", "set", "X", "--value-from", "") == [
        "env:", "file:", "cmd:"]
    assert complete(bash_script, "syncer", "rotate", "--app-key", "e") == ["env:"]
    (tmp_path / "deploy-key.pem").write_text("x")
    typed = str(tmp_path / "deploy-")
    assert complete(bash_script, "syncer", "set", "--value-from", "file", ":", typed) == [
        str(tmp_path / "deploy-key.pem")]
    assert complete(bash_script, "syncer", "set", "--value-from", "file:" + typed,
                    wordbreaks=" ") == ["file:" + str(tmp_path / "deploy-key.pem")]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_parse_where_the_shell_exists(shell: str) -> None:
    """The zsh and fish scripts pass the shell's own syntax check (`-n`); skipped where that
    shell is not installed. The fish script names every command and --app's choices."""
    text = completion.script(shell, cli.build_parser())
    if shell == "fish":
        assert "-a set " in text and "-l app -x -a 'actions dependabot codespaces agents'" in text
        assert "-l value-from -x -a 'env: file: cmd:'" in text
    if shell == "zsh":  # bash's functions, run by zsh's bashcompinit
        subprocess.run(["bash", "-n"], input=text, text=True, check=True, timeout=30)
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed here")
    subprocess.run([shell, "-n"], input=text, text=True, check=True, timeout=30)


def test_fish_completes_commands_choices_and_sources() -> None:
    """fish's own `complete -C` with the script loaded: `syncer se` gives set, --app its
    choices, --value-from the sources, `config` its actions. Skipped without fish."""
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed here")
    text = completion.script("fish", cli.build_parser())

    def fish_complete(line: str) -> list[str]:
        done = subprocess.run(["fish", "--no-config", "-c", f"source; complete -C '{line}'"],
                              input=text, capture_output=True, text=True, check=True,
                              timeout=30)
        return [row.split("\t")[0] for row in done.stdout.splitlines()]

    assert fish_complete("syncer se") == ["set"]
    assert sorted(fish_complete("syncer set --app ")) == ["actions", "agents", "codespaces", "dependabot"]
    assert sorted(fish_complete("syncer set --value-from ")) == ["cmd:", "env:", "file:"]
    assert sorted(fish_complete("syncer config ")) == ["check", "schema"]


def test_zsh_runs_the_bash_functions_through_bashcompinit(tmp_path: Path) -> None:
    """In zsh with compinit, the script registers _syncer for syncer, and bashcompinit's
    compgen -F (what zsh calls on TAB) gets the commands, --app's choices and `config`'s
    actions from it (zsh filters by the typed prefix itself). Skipped without zsh."""
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed here")
    script = tmp_path / "syncer.zsh"
    script.write_text(completion.script("zsh", cli.build_parser()))
    driver = (f"autoload -U +X compinit && compinit -u -d {tmp_path}/zcompdump\n"
              f"source {script}\nprint -r -- $_comps[syncer]\n"
              "t() { local -a words COMP_WORDS COMPREPLY; local COMP_CWORD; words=(\"$@\"); "
              "CURRENT=$#; COMP_WORDS=(\"$@\"); COMP_CWORD=$(( $# - 1 )); "
              "print -r -- \"$(compgen -F _syncer -- ${words[CURRENT]} | tr '\\n' ' ')\"; }\n"
              "t syncer se\nt syncer set --app ''\nt syncer config ''\n")
    done = subprocess.run(["zsh", "-f", "-c", driver], capture_output=True, text=True,
                          check=True, timeout=30)
    registered, commands, apps, actions = done.stdout.splitlines()
    assert registered == "_bash_complete -o default -F _syncer"
    assert "set" in commands.split()
    assert apps.split() == ["actions", "dependabot", "codespaces", "agents"]
    assert actions.split() == ["schema", "check"]
