#!/usr/bin/env bash
# The action's step that runs syncer (see action.yml). Reads:
#   SYNCER_BIN        the syncer to run
#   XDG_STATE_HOME    where syncer keeps its state (the directory the Actions cache keeps)
#   REPORT_DIR        where the output, the log and report.json go
#   INPUT_COMMAND     plan | apply
#   INPUT_CONFIG      the config file
#   INPUT_ARGS        more options, split at spaces
#   INPUT_APP_ID      with SYNCER_APP_PRIVATE_KEY: the App the config's [github.app] must name
#   SYNCER_ACTION_TOKEN, SYNCER_APP_PRIVATE_KEY   credentials, read by syncer from the
#                     environment (named by --token-env, or by the config's env:), never argv
# Writes the Markdown summary to $GITHUB_STEP_SUMMARY and exit-code, report and state to
# $GITHUB_OUTPUT; exits with syncer's exit code.
set -euo pipefail
: "${SYNCER_BIN:?}" "${XDG_STATE_HOME:?}" "${REPORT_DIR:?}" "${INPUT_CONFIG:?}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="$(dirname "$SYNCER_BIN")/python"
summary="${GITHUB_STEP_SUMMARY:-/dev/null}"
outputs="${GITHUB_OUTPUT:-/dev/null}"
command="${INPUT_COMMAND:-plan}"

fail() {  # a mistake in the inputs: one line, exit 2, before syncer runs
    echo "::error::syncer action: $1"
    echo "exit-code=2" >> "$outputs"
    exit 2
}

case "$command" in
    plan | apply) ;;
    *) fail "command must be plan or apply" ;;
esac
args=("$command" -c "$INPUT_CONFIG" --log-format json --log-level info)
if [[ $command == plan ]]; then
    args+=(--format json)
fi
if [[ -n ${SYNCER_ACTION_TOKEN:-} && -n ${SYNCER_APP_PRIVATE_KEY:-} ]]; then
    fail "give token, or app-id and app-private-key, not both"
fi
if [[ -n ${SYNCER_ACTION_TOKEN:-} ]]; then
    args+=(--token-env SYNCER_ACTION_TOKEN)  # the variable's name; the token stays in it
fi
if [[ -n ${INPUT_APP_ID:-} || -n ${SYNCER_APP_PRIVATE_KEY:-} ]]; then
    problem="$("$python" "$here/steps.py" check-app "$INPUT_CONFIG" "${INPUT_APP_ID:-}" \
        "${SYNCER_APP_PRIVATE_KEY:+set}")" || fail "$problem"
fi
if [[ -n ${INPUT_ARGS:-} ]]; then
    read -ra extra <<< "$INPUT_ARGS"
    args+=("${extra[@]}")
fi

mkdir -p "$REPORT_DIR" "$XDG_STATE_HOME"
chmod 700 "$XDG_STATE_HOME"
printf '*\n' > "$XDG_STATE_HOME/.gitignore"  # inside the workspace: never committed by mistake

# stdout (plan JSON) to a file; the log to the job's log and to a file for the summary
set +e
"$SYNCER_BIN" "${args[@]}" 2>&1 > "$REPORT_DIR/stdout" | tee "$REPORT_DIR/log.jsonl" >&2
code=${PIPESTATUS[0]}
set -e

"$python" "$here/steps.py" summary --command "$command" --exit-code "$code" \
    --stdout "$REPORT_DIR/stdout" --log "$REPORT_DIR/log.jsonl" \
    --report "$REPORT_DIR/report.json" >> "$summary"
{
    echo "exit-code=$code"
    echo "report=$REPORT_DIR/report.json"
    if [[ -d $XDG_STATE_HOME/syncer ]]; then echo "state=written"; fi
} >> "$outputs"
exit "$code"
