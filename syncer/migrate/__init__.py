"""The machinery of `syncer migrate` (the command itself: syncer/commands/migrate.py).

    run.py          the request, its local inputs checked (prepare), and each mode run
    sides.py        reading SRC's inventory and DST's repositories and environments
    mapping.py      inventory → targets in DST, and the key naming each secret (pure)
    values.py       a values file matched to the targets; the values template's text
    values_file.py  reading .env, .toml and .json values files
    plan_out.py     --plan-out: the plan document and the template, written
    export.py       --export-workflow: which jobs read which secret, the workflow, written
    sealed.py       --import-sealed: the sealed files read, checked and written to DST
    report.py       the report's items, counts, cost and text/JSON rendering (pure)
    files.py        writing migrate's files, never over someone else's

Each mode returns what it did; it prints nothing and decides no exit code.
"""
