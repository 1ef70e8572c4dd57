"""Secret-name rules and value sources, checked before any request."""

import argparse
import io
import subprocess
import sys
import time
from typing import Any

import pytest
import structlog.testing

from syncer import cli, sources
from syncer.commands.options import name_argument
from syncer.core.model import SecretValue
from syncer.core.names import MAX_VALUE_BYTES, secret_name_problem, value_problem
from syncer.migrate.values_file import read_values_file
from syncer.sources import SourceError, parse_source, read_source


@pytest.mark.parametrize("name", ["API_KEY", "a", "_x1", "Deploy_Token_2"])
def test_good_names(name: str) -> None:
    """Letters, digits and underscores, not starting with a digit or GITHUB_."""
    assert secret_name_problem(name) is None


@pytest.mark.parametrize("name,why", [
    ("GITHUB_X", "GITHUB_"), ("github_token", "GITHUB_"), ("1ABC", "digit"),
    ("A-B", "letters, digits"), ("", "empty"), ("A B", "letters, digits"),
])
def test_bad_names(name: str, why: str) -> None:
    """Each rule GitHub enforces has its own message."""
    problem = secret_name_problem(name)
    assert problem is not None and why in problem


CLASSIC_TOKEN = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"  # 40 hex digits, as before 2021


# GitHub App installation tokens since April 2026: ghs_APPID_JWT, not 40 characters
NEW_APP_TOKEN = ("ghs_123456_eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjM0NTYifQ."
                 "c2lnbmF0dXJl-X_y")


@pytest.mark.parametrize("token", [CLASSIC_TOKEN, CLASSIC_TOKEN.upper(), NEW_APP_TOKEN,
                                   "ghp_" + "x" * 36, "github_pat_" + "y" * 40,
                                   "gho_" + "a1" * 18, "ghu_" + "b2" * 18, "ghr_" + "c3" * 18])
def test_tokens_are_no_names(token: str) -> None:
    """A token typed as a secret's name, or as an org, repository or environment (all logged
    and sent in URLs), is refused without being repeated."""
    problem = secret_name_problem(token)
    assert problem is not None and "token" in problem and token not in problem
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        name_argument(token)
    assert token not in str(refused.value)
    assert name_argument("acme-platform") == "acme-platform"


def test_a_token_given_as_the_org_is_not_repeated(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        cli.main(["set", "X", "--org", CLASSIC_TOKEN, "--value-from", "env:V"])
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert "looks like a GitHub token" in err and CLASSIC_TOKEN not in err


def test_value_size_rules() -> None:
    """Empty and over-48-KB values are refused without quoting the value."""
    assert value_problem(b"x" * MAX_VALUE_BYTES) is None
    too_big = value_problem(b"s3cr3t" * 10000)
    assert too_big is not None and "s3cr3t" not in too_big
    assert value_problem(b"") is not None


def test_secret_value_never_shows_itself() -> None:
    """repr, str and format of a SecretValue are masked."""
    v = SecretValue(b"hunter2")
    assert "hunter2" not in repr(v) + str(v) + f"{v}" + f"{[v]}"
    assert v.reveal() == b"hunter2"


def test_sources_parse() -> None:
    """Each source kind parses; anything else is refused with the syntax."""
    assert str(parse_source("env:X")) == "env:X"
    assert parse_source("-").kind == "stdin"
    for bad in ("plain-value", "env:", "http:x", "generate:x", "generate:1"):
        with pytest.raises(SourceError) as info:
            parse_source(bad)
        assert "plain-value" not in str(info.value)


def test_env_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """env:VAR reads the variable; a missing one is named where its name is conventional
    (NPM_TOKEN), not where it may be a value put there by env:$VAR."""
    assert read_source(parse_source("env:V"), environ={"V": "abc"}).reveal() == b"abc"
    with pytest.raises(SourceError, match="no such environment variable") as caught:
        read_source(parse_source("env:npm_AbC123xyz"), environ={})
    assert "AbC123" not in str(caught.value)
    with pytest.raises(SourceError, match="env:NPM_TOKEN: no such environment variable"):
        read_source(parse_source("env:NPM_TOKEN"), environ={})
    for value_shaped in ("hunter2", "AKIAIOSFODNN7EXAMPLE", "Passw0rd"):
        with pytest.raises(SourceError) as hidden:
            read_source(parse_source(f"env:{value_shaped}"), environ={})
        assert value_shaped not in str(hidden.value)


def test_file_source(tmp_path) -> None:
    """file:PATH reads bytes exactly; a missing file is named."""
    f = tmp_path / "v"
    f.write_bytes(b"line\n")
    assert read_source(parse_source(f"file:{f}")).reveal() == b"line\n"
    with pytest.raises(SourceError, match="No such file"):
        read_source(parse_source(f"file:{tmp_path / 'nope'}"))


@pytest.mark.parametrize(("mode", "warned"), [(0o600, False), (0o640, True), (0o644, True)])
def test_a_value_file_others_can_read_is_warned_about(tmp_path, mode, warned) -> None:
    """A file: source or values file that group or others may read: a warning naming the file
    and its mode (never the value), and the value is still read."""
    f = tmp_path / "v.env"
    f.write_bytes(b"S=s3cret-canary\n")
    f.chmod(mode)
    with structlog.testing.capture_logs() as events:
        assert read_source(parse_source(f"file:{f}")).reveal() == b"S=s3cret-canary\n"
        assert read_values_file(f).entries[0].value.reveal() == b"s3cret-canary"
    warnings = [e for e in events if e["event"] == "secret_file_readable_by_others"]
    assert len(warnings) == (2 if warned else 0)
    assert all(e["mode"] == f"{mode:04o}" and str(f) in e["file"] for e in warnings)
    assert "s3cret-canary" not in repr(events)


def test_a_cmd_source_does_not_read_our_standard_input() -> None:
    """A command (say, the one printing an App's key) never eats the value piped to syncer for
    `--value-from -`: it runs with no standard input of ours."""
    script = ("from syncer.sources import parse_source, read_source; "
              "print(read_source(parse_source(\"cmd:sh -c 'read x; echo got:$x.'\")).reveal())")
    done = subprocess.run([sys.executable, "-c", script], input=b"piped-value\n",
                          capture_output=True, check=True)
    assert done.stdout.strip() == b"b'got:.'"


def test_stdin_source() -> None:
    """- reads standard input; a one-line value loses the newline `echo "$V" |` adds, a
    multi-line one (a key file) keeps its bytes."""
    assert read_source(parse_source("-"), stdin=io.BytesIO(b"piped")).reveal() == b"piped"
    assert read_source(parse_source("-"), stdin=io.BytesIO(b"piped\n")).reveal() == b"piped"
    assert read_source(parse_source("-"), stdin=io.BytesIO(b"piped\r\n")).reveal() == b"piped"
    key = b"-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n"
    assert read_source(parse_source("-"), stdin=io.BytesIO(key)).reveal() == key
    with pytest.raises(SourceError, match="empty"):
        read_source(parse_source("-"), stdin=io.BytesIO(b""))


def test_cmd_source_runs_without_shell(capfd: pytest.CaptureFixture[str]) -> None:
    """cmd: runs argv directly (no shell) and drops one trailing newline; a failure gives the
    status, never the command's output: a traced script (set -x) writes values to stderr."""
    value = read_source(parse_source(f"cmd:{sys.executable} -c \"print('out $HOME')\""))
    assert value.reveal() == b"out $HOME"
    failing = ("import sys; v = 's3' + 'cret'; print(v); print('+ printf', v, file=sys.stderr);"
               " sys.exit(3)")
    with pytest.raises(SourceError, match="status 3 .*run it yourself") as caught:
        read_source(parse_source(f"cmd:{sys.executable} -c \"{failing}\""))
    captured = capfd.readouterr()
    assert "s3cret" not in str(caught.value) + captured.out + captured.err
    with pytest.raises(SourceError) as named:  # its arguments (a -token=...) are not repeated
        read_source(parse_source(f"cmd:{sys.executable} -c exit(1) --token=ghp_arg0123456789"))
    assert str(named.value).startswith(f"cmd:{sys.executable} …: exited with status 1")
    assert "ghp_arg" not in str(named.value)
    with pytest.raises(SourceError, match=r"^cmd:sh …: stopped by SIGKILL$"):
        read_source(parse_source("cmd:sh -c 'kill -KILL $$'"))
    with pytest.raises(SourceError, match=r"^cmd:sh …: stopped by signal 40$"):  # no name
        read_source(parse_source("cmd:sh -c 'kill -40 $$'"))


def test_generate_source() -> None:
    """generate:N makes a fresh URL-safe value each time."""
    a, b = (read_source(parse_source("generate:32")).reveal() for _ in range(2))
    assert a != b and len(a) >= 32


@pytest.mark.parametrize("option", ["--value", "--token"])
def test_options_are_not_abbreviated(option: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`--value X` is not taken for --value-from, nor `--token T` for --token-env."""
    with pytest.raises(SystemExit) as ended:
        cli.main(["set", "X", "--org", "acme", "--value-from", "env:V", option, "thing"])
    assert ended.value.code == 2
    assert f"unrecognized arguments: {option}," in capsys.readouterr().err


class _Endless(io.RawIOBase):
    """`yes | syncer ...`: a standard input that never ends."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        buffer[:] = b"y" * len(buffer)
        return len(buffer)


def test_a_source_with_no_end_is_refused_after_a_values_worth() -> None:
    """Standard input, a file or a command that never ends is refused as too large, having
    read no more than a value can be; a value of GitHub's largest size is taken whole."""
    with pytest.raises(SourceError, match="over 49152 bytes"):
        read_source(parse_source("-"), stdin=io.BufferedReader(_Endless()))
    largest = read_source(parse_source(
        f"cmd:{sys.executable} -c \"print('y' * 49152)\""))  # and print's newline
    assert len(largest.reveal()) == 49152


def test_a_command_that_does_not_end_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value command still running after the time allowed is stopped and named."""
    monkeypatch.setattr(sources, "_CMD_TIMEOUT_S", 0.2)
    with pytest.raises(SourceError, match=r"^cmd:sleep …: its output was still open after "
                                          r"0.2 s \(the command, or a process it started, "
                                          r"kept it open\); stopped$"):
        read_source(parse_source("cmd:sleep 30"))
    # a process it started holds the output open after the command itself is done: the time
    # allowed still ends the wait (killing the command alone would not)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"its output was still open after 0.2 s"):
        read_source(parse_source("cmd:sh -c 'sleep 8 & echo x'"))
    assert time.monotonic() - started < 4


@pytest.mark.parametrize("command,found", [
    ("printf %s abc | tr a-z A-Z", "`|`"),
    ("vault read -field=token secret/npm > /tmp/t", "a redirection (>, <)"),
    ("printf %s abc 2>/dev/null", "a redirection (>, <)"),
    ("sh script.sh $TOKEN_FILE", "a $ or ` expansion"),  # a shell, but not given -c
    ("sh -c 'vault read -format=json x' | jq -r .data.token", "`|`"),  # after the script
    ("get-token && echo done", "`&&`"),
    ("echo $HOME", "a $ or ` expansion"),
    ("vault read -address=$VAULT_ADDR secret/npm", "a $ or ` expansion"),
    ("echo $(cat token-ghp_notrepeated)", "a $ or ` expansion"),
    ("echo `cat f`", "a $ or ` expansion"),
])
def test_cmd_written_for_a_shell_is_refused_before_it_runs(command: str, found: str) -> None:
    """cmd: runs no shell, so a pipeline or an expansion would make a wrong value (written
    everywhere, exit 0): refused, pointing at sh -c, without repeating the arguments."""
    with pytest.raises(SourceError) as refused:
        parse_source(f"cmd:{command}")
    message = str(refused.value)
    program = command.split()[0]
    assert message == (f"cmd:{program} …: {found} would reach the program as a literal argument "
                       "(cmd: runs without a shell); for a pipeline, a redirection or a "
                       "$VARIABLE use cmd:sh -c '…'")
    assert "ghp_" not in message


def test_an_environment_assignment_before_the_program_is_refused_unrepeated() -> None:
    """`VAULT_TOKEN=… vault read x` would run a program named after the token: refused, and
    the source is shown without its first word, which holds the token."""
    with pytest.raises(SourceError) as refused:
        parse_source("cmd:VAULT_TOKEN=s.ghp_notrepeated vault read secret/npm")
    assert str(refused.value).startswith("cmd:…: an environment assignment (NAME=value) would "
                                         "be taken for the program's name")
    assert "notrepeated" not in str(refused.value)


@pytest.mark.parametrize("command", [
    "sh -c 'printf %s abc | tr a-z A-Z'",
    "/bin/bash -euc 'echo $HOME'",
    "jq -r '.a | .b' token.json",
    "jq -r --arg n prod '.[] | select(.name==$n) | .token' tokens.json",
    "jq -rn '$ENV.TOKEN'",
    "aws secretsmanager list-secrets --query 'SecretList[?Name==`prod`].ARN'",
    "node -e 'console.log(`${process.env.T}`)'",
    "perl -e '$_ = q(x); print'",
    "op run -- sh -c 'printf %s ${T}'",
    "timeout 20 sh -c 'vault read -field=token secret/x | tr -d \"\\n\"'",
    "env bash -ec 'cat $HOME/.token'",
    "pass show npm/token",
    "op read op://vault/item/field?attribute=otp",
    "printf %s cost-$5",
])
def test_cmd_without_shell_syntax_or_run_by_a_shell_is_accepted(command: str) -> None:
    assert parse_source(f"cmd:{command}").kind == "cmd"


@pytest.mark.parametrize("option", ["--timeout", "--points-per-minute"])
@pytest.mark.parametrize("given,problem", [
    ("ghp_" + "t" * 36, "must be a number (not repeated here)"),
    ("inf", "must be a number from 0 up"),
    ("-1", "must be a number from 0 up"),
])
def test_number_options_do_not_repeat_what_is_not_a_number(
        option: str, given: str, problem: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        cli.main(["set", "X", "--org", "acme", "--value-from", "env:V", f"{option}={given}"])
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert f"{option}: {problem}" in err and given not in err
