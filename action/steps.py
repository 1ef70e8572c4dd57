"""The action's helpers that are easier in Python than in bash (run by action/run.sh with the
Python syncer was installed with; standard library only).

    steps.py check-app CONFIG APP_ID KEY_SET   exit 1 with a one-line problem, or 0
    steps.py summary --command ... --exit-code N --stdout F --log F --report F
        prints the Markdown step summary and writes the JSON report

No value or token passes through here: the plan JSON and the log name secrets and places only.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

KEY_VARIABLE = "SYNCER_APP_PRIVATE_KEY"
MAX_ROWS = 300  # GitHub keeps at most 1 MiB of summary per step
MEANINGS = {
    0: "done: everything written, or already right",
    1: "some targets failed, could not be read, or are missing (listed)",
    2: "bad arguments, config, value source or state file; nothing was written",
    3: "no token, or the token was rejected",
    4: "another syncer run holds the state's lock",
    5: "changes to make (plan), or changes made on GitHub undone (apply)",
}


def check_app(config: str, app_id: str, key_given: bool) -> str | None:
    """Why the App inputs do not fit the config, or None. plan and apply read the App from the
    config's [github.app]: the key must come from the variable the action fills."""
    try:
        app = tomllib.loads(Path(config).read_text()).get("github", {}).get("app")
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return f"cannot read {config}: {exc}"
    if not app_id or not key_given:
        return "app-id and app-private-key go together"
    if not isinstance(app, dict):
        return (f"{config} has no [github.app]: add app_id = {app_id} and "
                f"private_key = \"env:{KEY_VARIABLE}\"")
    if str(app.get("app_id")) != app_id:
        return f"{config}: [github.app].app_id is not the app-id input ({app_id})"
    if app.get("private_key") != f"env:{KEY_VARIABLE}":
        return f"{config}: [github.app].private_key must be \"env:{KEY_VARIABLE}\""
    return None


def events(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The JSON log events among syncer's stderr lines (the rest is text for people)."""
    found = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and "event" in event:
            found.append(event)
    return found


def _json(text: str) -> Any:
    """The plan JSON, or None when syncer stopped before printing it (exit 2, 3, 4)."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def errors(lines: Iterable[str]) -> list[str]:
    return [line.strip() for line in lines if line.startswith("syncer: error:")]


def report(command: str, exit_code: int, stdout: str, log_lines: Sequence[str]) -> dict[str, Any]:
    """Counts and one row per change: from the plan JSON (plan), or the write events and the
    final summary event (apply)."""
    logged = events(log_lines)
    counts: dict[str, Any] = {}
    changes: list[dict[str, str]] = []
    plan = _json(stdout) if command == "plan" else None
    if plan is not None:
        counts = dict(plan["counts"])
        changes = [{"secret": i["name"], "where": i["scope"], "change": i["change"],
                    "why": i.get("why") or ""} for i in plan["items"]
                   if i["change"] != "unchanged"]
    elif command == "apply":
        summaries = [e for e in logged if e["event"] == "summary"]
        if summaries:
            counts = {k: v for k, v in summaries[-1].items() if isinstance(v, int)
                      and not isinstance(v, bool)}
        changes = [{"secret": e["secret"], "where": e["scope"], "change": e["outcome"],
                    "why": e.get("error", "")} for e in logged if e["event"] == "write"]
    return {"command": command, "exit_code": exit_code,
            "meaning": MEANINGS.get(exit_code, "interrupted"), "counts": counts,
            "changes": changes, "errors": errors(log_lines)}


def markdown(rep: dict[str, Any]) -> str:
    lines = [f"### syncer {rep['command']}: exit {rep['exit_code']}", "", rep["meaning"], ""]
    counts = {k: v for k, v in rep["counts"].items() if v}
    if counts:
        lines += ["| " + " | ".join(counts) + " |", "|" + " --- |" * len(counts),
                  "| " + " | ".join(str(v) for v in counts.values()) + " |", ""]
    if rep["changes"]:
        lines += ["| secret | where | change | why |", "| --- | --- | --- | --- |"]
        lines += [f"| {_cell(c['secret'])} | {_cell(c['where'])} | {c['change']} | "
                  f"{_cell(c['why'])} |" for c in rep["changes"][:MAX_ROWS]]
        if len(rep["changes"]) > MAX_ROWS:
            lines.append(f"\n… and {len(rep['changes']) - MAX_ROWS} more (see the report)")
    elif not rep["errors"]:
        lines.append("No changes.")
    if rep["errors"]:
        lines += ["", "```", *rep["errors"], "```"]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["check-app"]:
        config, app_id, key_set = (list(argv[1:]) + ["", "", ""])[:3]
        problem = check_app(config, app_id, bool(key_set))
        if problem:
            print(problem)
            return 1
        return 0
    parser = argparse.ArgumentParser(prog="steps.py summary")
    parser.add_argument("what", choices=["summary"])
    parser.add_argument("--command", required=True)
    parser.add_argument("--exit-code", type=int, required=True)
    parser.add_argument("--stdout", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--report", required=True)
    args = parser.parse_args(argv)
    rep = report(args.command, args.exit_code, Path(args.stdout).read_text(),
                 Path(args.log).read_text().splitlines())
    Path(args.report).write_text(json.dumps(rep, indent=2) + "\n")
    sys.stdout.write(markdown(rep))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
