#!/usr/bin/env bash
# Install syncer from the action's own checkout (ACTION_PATH) into a venv (SYNCER_VENV).
set -euo pipefail
: "${ACTION_PATH:?}" "${SYNCER_VENV:?}"
python3 -m venv "$SYNCER_VENV"
"$SYNCER_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$ACTION_PATH"
"$SYNCER_VENV/bin/syncer" --version
