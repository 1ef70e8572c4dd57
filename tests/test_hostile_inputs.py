"""Input files a user (or someone editing their config) gets wrong on purpose or by accident:
devices and endless files, deep nesting, and `file:` paths leading out of the config's folder.
Each is refused in one line with exit 2, never with a traceback or an unbounded read."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from helpers import syncer_process

import syncer.config.duplicates as config_module
import syncer.migrate.values_file as values_file_module
from syncer.config.duplicates import duplicate_problems
from syncer.config.load import load_config, parse_config, read_values
from syncer.config.model import OrgTarget, RepoSelector, SecretSpec
from syncer.config.problems import ConfigError
from syncer.inputs import MAX_INPUT_BYTES, load_json
from syncer.migrate.values_file import ValuesFileError, parse_values, read_values_file
from syncer.sources import Source

ORG = '[github]\norg = "acme"\n'


def nested(depth: int) -> str:
    return "x = " + "[" * depth + "1" + "]" * depth + "\n"


def one_line_refusal(done: object) -> str:
    """The single stderr line of a finished syncer process that exited 2."""
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]


# -- size and nesting caps ----------------------------------------------------------------------

@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_as_config_is_refused_by_its_size(device: str) -> None:
    """`syncer plan -c /dev/zero` reads 10 MB and one byte, no more, and says the file is too
    large (exit 2) instead of reading until the kernel ends it."""
    line = one_line_refusal(syncer_process(["plan", "-c", device], {}, timeout=60))
    assert f"{device}: larger than 10 MB" in line


def test_a_config_just_over_the_cap_is_refused_and_one_at_it_is_read(tmp_path: Path) -> None:
    """The cap is on bytes read, exact: a file of MAX_INPUT_BYTES is parsed (here: a comment),
    one byte more is refused as too large."""
    at_cap = tmp_path / "at.toml"
    at_cap.write_bytes(b"#" + b" " * (MAX_INPUT_BYTES - 2) + b"\n")
    over = tmp_path / "over.toml"
    over.write_bytes(b"#" + b" " * (MAX_INPUT_BYTES - 1) + b"\n")
    assert load_config(at_cap).secrets == ()
    with pytest.raises(ConfigError, match="larger than 10 MB"):
        load_config(over)


@pytest.mark.parametrize("depth", [500, 5000])
def test_a_deeply_nested_config_is_one_line_exit_2(tmp_path: Path, depth: int) -> None:
    """`x = [[[[…]]]]` 500 or 5,000 deep: one line naming the file, its line and the cap, exit 2
    (it was a RecursionError traceback, exit 1)."""
    config = tmp_path / "deep.toml"
    config.write_text(ORG + nested(depth))
    line = one_line_refusal(syncer_process(["plan", "-c", str(config)], {}))
    assert f"{config}:3: arrays or tables are nested too deeply ({depth} levels)" in line


def test_nesting_inside_strings_and_comments_does_not_count() -> None:
    """Brackets in strings and comments are text, not nesting: a config with many of them
    loads as usual."""
    text = (ORG + "# " + "[" * 100 + "\n[[secret]]\nname = 'A'\nvalue = 'env:A'\n"
            f"[secret.repos]\nmatch = ['x{'[' * 100}']\nexclude = [\"\"\"{'{' * 100}\"\"\"]\n")
    assert [s.name for s in parse_config(text, "c.toml").secrets] == ["A"]


@pytest.mark.parametrize("suffix", [".env", ".toml", ".json"])
def test_a_device_as_values_file_is_refused_by_its_size(tmp_path: Path, suffix: str) -> None:
    """A values file that is /dev/zero behind a name with the right extension: one problem,
    too large."""
    link = tmp_path / f"values{suffix}"
    link.symlink_to("/dev/zero")
    with pytest.raises(ValuesFileError) as info:
        read_values_file(link)
    assert info.value.problems == [f"{link}: larger than 10 MB, the most syncer reads from an "
                                   "input file (is it the right file, and not a device?)"]


@pytest.mark.parametrize(("suffix", "text"), [
    (".json", '{"A": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    (".toml", nested(5000)),
])
def test_a_deeply_nested_values_file_is_one_problem(tmp_path: Path, suffix: str,
                                                    text: str) -> None:
    """JSON or TOML values nested thousands deep: one problem with its line, no traceback."""
    path = tmp_path / f"values{suffix}"
    path.write_text(text)
    with pytest.raises(ValuesFileError) as info:
        read_values_file(path)
    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith(f"{path}:1: ")
    assert "nested too deeply" in info.value.problems[0]


@pytest.mark.parametrize("content", ["deep", "device"])
def test_sealed_files_too_deep_or_endless_are_refused_before_anything(tmp_path: Path,
                                                                      content: str) -> None:
    """`migrate --import-sealed` with a file nested 100,000 deep or a device: exit 2 naming the
    file, before any connection (no token is even looked for), no traceback."""
    sealed = tmp_path / "sealed.json"
    if content == "deep":
        sealed.write_text("[" * 100_000 + "]" * 100_000)
    else:
        sealed.symlink_to("/dev/zero")
    done = syncer_process(["migrate", "--from", "a", "--to", "b", "--import-sealed",
                           str(sealed)], {})
    assert done.returncode == 2
    err = done.stderr.decode()
    assert "Traceback" not in err and str(sealed) in err
    assert ("nested too deeply" if content == "deep" else "larger than 10 MB") in err


# -- file: paths and [sync] confine_files -------------------------------------------------------

def write_config(folder: Path, value: str, *, confine: bool, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "syncer.toml"
    config.write_text(f"{ORG}{extra}[sync]\nconfine_files = {str(confine).lower()}\n"
                      f"[[secret]]\nname = \"A\"\nvalue = {value!r}\n"
                      "[secret.repos]\nmatch = [\"*\"]\n")
    return config


def test_a_relative_file_source_is_read_from_the_configs_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`file:value.txt` is the file beside the config, wherever syncer is started from."""
    config = write_config(tmp_path / "conf", "file:value.txt", confine=True)
    (tmp_path / "conf" / "value.txt").write_bytes(b"beside the config")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "value.txt").write_bytes(b"in the working directory")
    monkeypatch.chdir(tmp_path / "elsewhere")
    values = read_values(load_config(os.path.relpath(config)))
    assert values[(0, "A")].reveal() == b"beside the config"


@pytest.mark.parametrize(("written", "why"), [
    ("file:../outside.txt", 'a path through ".."'),
    ("file:inside/../../outside.txt", 'a path through ".."'),
    ("file:~/outside.txt", "a home-directory path"),
    ("file:{root}/outside.txt", "outside, once symbolic links are followed"),
    ("file:link.txt", "outside, once symbolic links are followed"),
    ("file:linked-dir/outside.txt", "outside, once symbolic links are followed"),
])
def test_confine_files_refuses_every_way_out_of_the_folder(tmp_path: Path, written: str,
                                                           why: str) -> None:
    """With confine_files = true a file: source leaving the config's folder (by "..", ~, an
    absolute path, a symbolic link to a file or through a linked folder) is a config problem
    naming the key, found on load, before any value is read."""
    (tmp_path / "outside.txt").write_bytes(b"not for this config")
    folder = tmp_path / "conf"
    folder.mkdir()
    (folder / "link.txt").symlink_to(tmp_path / "outside.txt")
    (folder / "linked-dir").symlink_to(tmp_path)
    config = write_config(folder, written.format(root=tmp_path), confine=True)
    with pytest.raises(ConfigError) as info:
        load_config(config)
    [problem] = info.value.problems
    assert problem.key == "secret[0].value" and problem.line == 7
    assert why in problem.message and "confine_files = true" in problem.message


def test_confine_files_allows_files_and_links_inside(tmp_path: Path) -> None:
    """Inside the folder (a sub-folder, an absolute path to it, a link to another file inside)
    all is as without the option."""
    folder = tmp_path / "conf"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "v").write_bytes(b"inside")
    (folder / "link").symlink_to(folder / "sub" / "v")
    for written in ("file:sub/v", f"file:{folder}/sub/v", "file:link", "file:./sub/../sub/v"):
        if ".." in written:
            continue  # ".." is refused as written even when it stays inside
        config = write_config(folder, written, confine=True)
        assert read_values(load_config(config))[(0, "A")].reveal() == b"inside"


def test_confine_files_checks_the_app_key_too(tmp_path: Path) -> None:
    """The GitHub App's private_key = "file:…" is a file: source like any other."""
    (tmp_path / "app.pem").write_text("-----BEGIN-----\n")
    config = write_config(tmp_path / "conf", "env:A", confine=True,
                          extra='[github.app]\napp_id = 1\nprivate_key = "file:../app.pem"\n')
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert [p.key for p in info.value.problems] == ["github.app.private_key"]


def test_confine_files_checks_again_when_reading(tmp_path: Path) -> None:
    """A file replaced by a link leading out between loading the config and reading the values
    is refused at the read."""
    (tmp_path / "outside.txt").write_bytes(b"not for this config")
    folder = tmp_path / "conf"
    config = write_config(folder, "file:v.txt", confine=True)
    (folder / "v.txt").write_bytes(b"inside")
    loaded = load_config(config)
    (folder / "v.txt").unlink()
    (folder / "v.txt").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(ConfigError) as info:
        read_values(loaded)
    assert "outside, once symbolic links are followed" in str(info.value)


def test_without_confine_files_paths_may_leave_the_folder(tmp_path: Path) -> None:
    """The option is off by default: `file:../v` is read as before."""
    (tmp_path / "v").write_bytes(b"next door")
    config = write_config(tmp_path / "conf", "file:../v", confine=False)
    assert read_values(load_config(config))[(0, "A")].reveal() == b"next door"


def test_plan_with_a_path_leaving_a_confined_folder_exits_2(tmp_path: Path) -> None:
    """End to end: `syncer plan` stops with exit 2 and the problem, before any request."""
    config = write_config(tmp_path / "conf", "file:../x", confine=True)
    line = one_line_refusal(syncer_process(["plan", "-c", str(config)], {}))
    assert "secret[0].value: file:../x: a path through" in line


# -- JSON files syncer keeps for itself (for the modules reading them) ---------------------------

@pytest.mark.parametrize(("content", "error"), [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("{\"a\": ", "Expecting value"),
])
def test_load_json_turns_every_unusable_document_into_a_value_error(tmp_path: Path, content: str,
                                                                    error: str) -> None:
    """`load_json` never lets a RecursionError out: a cache, state or key file damaged into
    deep nesting is a ValueError, which its reader already handles as a damaged file."""
    path = tmp_path / "doc.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=error):
        load_json(path)


def test_load_json_reads_no_more_than_its_cap(tmp_path: Path) -> None:
    """A device behind the name is refused after the cap, as a ValueError too."""
    link = tmp_path / "doc.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(ValueError, match="larger than 10 MB"):
        load_json(link)
    (tmp_path / "ok.json").write_text('{"a": [1]}')
    assert load_json(tmp_path / "ok.json") == {"a": [1]}


# -- many secrets -------------------------------------------------------------------------------

def _pairwise_duplicates(specs: list[tuple[int, SecretSpec]]) -> list[tuple[int, str]]:
    """The earlier definition of duplicate_problems: every secret against every earlier one."""
    found = []
    for n, (index, spec) in enumerate(specs):
        for earlier_index, earlier in specs[:n]:
            if where := config_module._same_target(earlier, spec):
                line = f" (line {earlier.line})" if earlier.line else ""
                found.append((index, f"{spec.name} is already written to {where} by "
                              f"secret[{earlier_index}]{line}; the two values would overwrite "
                              "each other on every run"))
                break
    return found


def _random_spec(rng: random.Random, line: int) -> SecretSpec:
    target = rng.choice(["org", "repos", "envs", "org+repos"])
    repos = None
    if target != "org":
        repos = RepoSelector(match=tuple(rng.sample(["*", "API", "api", "web", "svc-*"],
                                                    rng.randint(1, 2))),
                             regex=rng.choice([None, None, None, "a"]),
                             topics=rng.choice([(), (), ("x",)]))
    return SecretSpec(name=rng.choice(["A", "B"]), value=Source("env", "V"),
                      app=rng.choice(["actions", "actions", "dependabot"]),
                      org=rng.choice(["acme", "ACME", "other"]),
                      org_target=OrgTarget("all") if "org" in target else None, repos=repos,
                      environments=(tuple(rng.sample(["prod", "Prod", "stage"], rng.randint(1, 2)))
                                    if target == "envs" else ()),
                      line=line)


def test_duplicates_found_as_every_pair_would_find_them() -> None:
    """The linear duplicate check names the same secrets, the same earlier secret and the same
    place as comparing every pair did, over thousands of random configs."""
    rng = random.Random(19)
    for _ in range(2000):
        specs = [(i, _random_spec(rng, 10 * i)) for i in range(rng.randint(2, 8))]
        assert duplicate_problems(specs) == _pairwise_duplicates(specs), specs


def test_a_config_of_many_secrets_is_not_checked_pair_by_pair(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """3,000 secrets are compared with at most one earlier secret each (they were compared with
    every earlier one: 4.5 million comparisons, minutes for the 100,000 a 10 MB file holds)."""
    calls = []
    same_target = config_module._same_target

    def counted(a: SecretSpec, b: SecretSpec) -> str | None:
        calls.append(1)
        return same_target(a, b)

    monkeypatch.setattr(config_module, "_same_target", counted)
    text = ORG + "".join(f'[[secret]]\nname = "S{i % 1000}"\nvalue = "env:V"\n'
                         f'[secret.repos]\nmatch = ["r{i}"]\n' for i in range(3000))
    assert len(parse_config(text, "c.toml").secrets) == 3000
    assert len(calls) <= 3000


# -- large values files: line numbers found in one pass -----------------------------------------

class _CountingText(str):
    """Text that adds up how many characters `str.count` was asked to scan."""

    scanned = 0

    def count(self, sub: str, start: int | None = None, end: int | None = None) -> int:  # type: ignore[override]
        begin, stop, _ = slice(start, end).indices(len(self))
        type(self).scanned += max(0, stop - begin)
        return super().count(sub, begin, stop)


def test_json_values_file_lines_are_counted_once_through() -> None:
    """Each key's line in a JSON values file of 5,000 keys is right, and the text is scanned for
    line ends about once in all (it was rescanned from the start for every key: hours for the
    hundreds of thousands of keys 10 MB can hold)."""
    body = ",\n".join(f' "actions:repo:r{i}:NAME": "v{i}"' for i in range(5000))
    text = _CountingText("{\n" + body + "\n}\n")
    _CountingText.scanned = 0
    entries = parse_values(text, "json", "v.json").entries
    assert [e.line for e in entries] == list(range(2, 5002))
    assert _CountingText.scanned <= len(text)


def test_toml_values_file_lines_are_found_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every form of top-level key gets its first line, with one look at each line (each key
    used to search the whole file again)."""
    text = ("# comment\n"
            '"actions:repo:api:NAME" = "a"\n'
            "'actions:org:LITERAL' = \"b\"\n"
            "BARE = \"c\"\n"
            '"café" = "d"\n'
            '"quo\\"ted" = "e"\n'
            "dotted.inner = \"f\"\n"
            "[table]\n"
            "x = \"g\"\n")
    matched = []
    pattern = values_file_module._TOML_KEY_AT

    class Counting:
        def match(self, line: str) -> object:
            matched.append(line)
            return pattern.match(line)

    monkeypatch.setattr(values_file_module, "_TOML_KEY_AT", Counting())
    assert values_file_module._toml_key_lines(text.splitlines()) == {
        "actions:repo:api:NAME": 2, "actions:org:LITERAL": 3, "BARE": 4, "café": 5,
        'quo"ted': 6, "dotted": 7, "table": 8, "x": 9}
    assert len(matched) == len(text.splitlines())
    with pytest.raises(ValuesFileError) as info:  # tables are refused, at their line
        parse_values(text, "toml", "v.toml")
    assert [p.split(": ", 1)[0] for p in info.value.problems] == ["v.toml:7", "v.toml:8"]


def test_a_config_with_thousands_of_problems_shows_the_first_fifty() -> None:
    """5,000 unknown keys: every one is in ConfigError.problems, the message shows the first 50
    and says how many more there are, rather than 5,000 lines."""
    text = "".join(f"k{i} = 1\n" for i in range(5000))
    with pytest.raises(ConfigError) as info:
        parse_config(text, "c.toml")
    assert len(info.value.problems) == 5000
    lines = str(info.value).splitlines()
    assert len(lines) == 51 and lines[0].startswith("c.toml:1: k0: unknown key")
    assert lines[-1] == "… and 4950 more problems (fix these first)"


def test_files_syncer_keeps_for_itself_nested_thousands_deep_are_no_traceback(tmp_path) -> None:
    """The response cache and the key cache start empty, and the state file is named
    corrupt, when a file of theirs is nested thousands deep: no RecursionError escapes."""
    from syncer.execution.keys import load_known
    from syncer.github.cache import ResponseCache
    from syncer.store.state import State
    from syncer.store.state_format import StateError

    deep = "[" * 5000 + "]" * 5000
    for name in ("responses.json", "public-keys.json", "state.json"):
        (tmp_path / name).write_text(deep)
    assert ResponseCache(tmp_path / "responses.json").etag_for("/x") is None
    assert load_known(tmp_path / "public-keys.json", "api.github.com") == {}
    with pytest.raises(StateError, match="corrupt"):
        State.open(tmp_path / "state.json")


def test_the_response_cache_keeps_only_what_syncer_reads(tmp_path) -> None:
    """A repository as GitHub describes it is kilobytes; the cache keeps the fields syncer
    reads, and replays them as they came."""
    from syncer.github.cache import ResponseCache
    from syncer.github.sansio import Response

    repo = {"name": "api", "id": 7, "archived": False, "fork": False, "private": True,
            "topics": ["backend"], "owner": {"login": "acme", "avatar_url": "x" * 500},
            "description": "d" * 2000}
    cache = ResponseCache(tmp_path / "responses.json")
    cache.remember("/orgs/acme/repos", Response(200, [repo], '"e1"', None, None))
    cache.save()
    again = ResponseCache(tmp_path / "responses.json")
    replayed = again.replay("/orgs/acme/repos", Response(304, None, '"e1"', None, None))
    assert replayed.data == [{k: repo[k] for k in ("name", "id", "archived", "fork",
                                                    "private", "topics")}]
    assert "avatar_url" not in (tmp_path / "responses.json").read_text()
