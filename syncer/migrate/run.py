"""`syncer migrate --from SRC --to DST`: copy an organisation's secrets to another organisation.

GitHub never returns a secret's value, so what migrates is the *shape* — names, scopes,
visibility, selected repositories — and the values come from the operator. SRC and DST may be
on different hosts (an Enterprise Server and github.com): each side has its own API URL, token
and pacing (`--from-api-url`/`--to-api-url`, `--from-token-env`/`--to-token-env`).

Inventory (read from SRC, nothing written there): Actions, Dependabot, Codespaces and agents
secrets and Actions and agents variables (with their values: GitHub returns them) of the
organisation (visibility; selected repositories), of every repository (`--repos GLOB` narrows
which; archived ones are included, their secrets still exist) and Actions secrets and variables
of every environment; `--name GLOB` keeps only the secrets and variables so called. Variables
are planned by value (as `apply` plans them), so one DST holds already is unchanged. Each
goes to the same place in DST, matched by name: see mapping.py for the mapping and for
the values-file key syntax (`actions:repo:api:DB_PASSWORD`, `actions:env:api:production:TOKEN`,
`dependabot:org:NPM`, `codespaces:repo:api:REGISTRY`, or a bare `NAME` for every secret so
called). `--repos` narrows repository and environment secrets only; org secrets always migrate,
with their whole selection.

The report counts each status and lists the items under it, unchanged ones only with
--verbose; its cost (requests, retries, waits, paced time, seconds since the process started)
is one RunCost shared by the text, the JSON and the log's summary event.

Modes (one per run):
  --plan-out FILE      write the plan (JSON: every target, its source and DST scope, visibility
                       and selection, status ok / missing target) and a values template beside
                       it (FILE with its suffix replaced by `.values.toml`); write nothing to DST.
                       The template is never overwritten (once filled in it holds secrets).
  --values FILE        migrate: values from a .env, .toml or .json file (see values_file.py).
                       Missing values and missing targets are listed; without --allow-partial
                       nothing is written when anything is missing. Writes go through the
                       engine with DST's settings; the state file (as for `syncer apply`) makes
                       a second run with the same values write nothing. --dry-run plans only.
  --export-workflow FILE
                       write a GitHub Actions workflow for SRC that reads each secret by name
                       and seals it with DST's public key (fetched now; the workflow holds
                       public keys and key ids only), uploading ciphertexts as artifacts. Where
                       to put it and how to run it is in the workflow's header; in short: the
                       same file on the default branch of every listed SRC repository, each job
                       runs only in its own repository. Dependabot secrets, and secrets of
                       archived SRC repositories, cannot be read by a workflow: they are listed
                       for --values.
  --import-sealed PATH write the workflow's ciphertexts to DST as they are, with their key ids
                       (PATH: a file, or a directory of them as `gh run download` leaves them;
                       repeatable). A key id DST no longer accepts (422) is reported as stale —
                       re-export — without failing the others.

The machinery returns what was done (plan_out.PlanWritten, export.Exported, Migrated,
sealed.Imported) and never an exit code: syncer/commands/migrate.py prints the report and
decides the exit code (0 done; 1 something missing, stale or failed; 2 bad input, nothing
written; 3 token missing or rejected; 4 another run holds the state lock).

Where each part lives: sides.py reads SRC and DST; mapping.py maps the inventory to targets;
values.py matches a values file (and writes the template's text); plan_out.py, export.py and
sealed.py are the three other modes; report.py builds the report; files.py writes files.

Why the import reuses the engine: the engine asks a KeyCache for each scope's key and a Sealer
to seal; here the cache is seeded with the exported key ids and the sealer hands back the
exported ciphertext, so pacing, retries, per-target failures, interruption and outcome events
are the engine's own and there is still a single code path that writes secrets. A stale key_id
makes the engine refresh the key once; the seeded cache answers that refresh with a 422
naming the problem instead of fetching (re-sealing needs the plaintext, which syncer does not
have), and that target alone fails.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import structlog

from ..core.model import Action, Outcome, Scope, SecretValue
from ..core.plan import WRITES, Desired, PlanItem, make_plan, variables_over_limit
from ..execution.connect import Run, Settings, connect
from ..execution.discover import existing
from ..execution.interrupt import Interrupt
from ..execution.writes import host_of, remembered_in, state_key, write_planned
from ..exits import UsageError
from ..github.client import TokenSource
from ..store.state import State
from .export import Exported, export_workflow
from .files import refuse_to_replace
from .mapping import Inventory, Target, key_of, map_targets, secrets_only
from .plan_out import PlanWritten, write_plan
from .report import Written, build_report
from .sealed import Imported, SealedEntry, import_rounds, import_sealed, read_sealed
from .sides import cost_of, leave_behind_absent, log_inventory, read_destination, read_source, reading
from .values import match_values, read_values, template_path
from .values_file import ValuesFile

log = structlog.get_logger("syncer.migrate")


@dataclass(frozen=True)
class MigrateRequest:
    source: str
    dest: str
    repos: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # --name globs: only secrets so called
    values: str | None = None
    allow_partial: bool = False
    dry_run: bool = False
    plan_out: str | None = None
    export_workflow: str | None = None
    import_sealed: tuple[str, ...] = ()
    state: str | None = None
    fresh: bool = False
    format: str = "text"
    quiet: bool = False
    report: str | None = None  # --report PATH: the run's JSON report
    verbose: bool = False  # list unchanged items too

    @property
    def uses_state(self) -> bool:
        """The state file records what a migration or an import wrote; a plan or an export
        writes nothing to DST."""
        return not (self.plan_out or self.export_workflow)

    @property
    def locks_state(self) -> bool:
        """An import holds the state's lock even for a dry run; a migration only when it writes."""
        return bool(self.import_sealed) or not (self.plan_out or self.export_workflow
                                                or self.dry_run)


@dataclass(frozen=True)
class Prepared:
    """A request whose local inputs were read and checked before the state is opened and
    before any request: the values file, or the sealed files in rounds."""

    request: MigrateRequest
    values: ValuesFile | None = None
    sealed: tuple[SealedEntry, ...] = ()
    rounds: tuple[tuple[SealedEntry, ...], ...] = ()


@dataclass(frozen=True)
class Migrated(Written):
    """What --values (or --dry-run) planned and wrote, and what its report says beside."""

    plan: tuple[PlanItem, ...] = ()
    source_host: str = ""
    notes: tuple[str, ...] = field(default=())  # left behind, ignored keys, writes held back


Done = PlanWritten | Exported | Migrated | Imported


def prepare(request: MigrateRequest, settings_for: Callable[[str], Settings]) -> Prepared:
    """Read the local inputs and refuse, as a UsageError, what cannot work: a bad values or
    sealed file, SRC and DST the same, a file to write whose path holds something else."""
    if request.import_sealed:
        entries = read_sealed(request.import_sealed, request.dest)
        rounds, problems = import_rounds(entries)
        if problems:
            raise UsageError("cannot import:\n" + "\n".join(problems))
        settings_for("to")  # a bad --to-api-url is said before the state is opened
        return Prepared(request, sealed=tuple(entries), rounds=tuple(map(tuple, rounds)))
    values = read_values(request.values) if request.values else None
    src_settings, dst_settings = settings_for("from"), settings_for("to")
    if (host_of(src_settings.api_url) == host_of(dst_settings.api_url)
            and request.source.lower() == request.dest.lower()):
        raise UsageError(f"--from and --to are the same organisation ({request.source}) on the "
                         "same host")
    if request.plan_out and os.path.exists(template_path(request.plan_out)):
        raise UsageError(f"{template_path(request.plan_out)} exists and may hold values: move "
                         "it aside to get a new template")
    if request.plan_out:
        refuse_to_replace(request.plan_out, b'{\n  "syncer_migration_plan":', "migration plan")
    if request.export_workflow:
        refuse_to_replace(request.export_workflow, b"# syncer migrate --export-workflow:",
                          "export workflow")
    return Prepared(request, values=values)


async def run_migrate(prepared: Prepared, state: State | None, *,
                      settings_for: Callable[[str], Settings],
                      token_for: Callable[[str], str | TokenSource],
                      stop: Interrupt | None = None) -> Done:
    """Read both sides and do what the request's mode says; `state` (None for a plan or an
    export: request.uses_state) is the caller's, locked by it when request.locks_state."""
    request = prepared.request
    src_settings, dst_settings = settings_for("from"), settings_for("to")
    async with _connect_both(src_settings, token_for("from"), dst_settings, token_for("to"),
                             stop) as (src, dst):
        inventory = await read_source(src, request.source, request.repos, request.names)
        if request.import_sealed:
            assert state is not None
            targets = map_targets(inventory, await read_destination(dst, request.dest,
                                                                    inventory))
            return await import_sealed(prepared.sealed, prepared.rounds, src, dst, targets,
                                       state, dry_run=request.dry_run, quiet=request.quiet)
        destination = await read_destination(dst, request.dest, inventory)
        inventory = leave_behind_absent(inventory, destination)
        targets = map_targets(inventory, destination)
        log_inventory(inventory, targets)
        if request.plan_out:
            return write_plan(request.plan_out, inventory, targets,
                              source=host_of(src_settings.api_url), source_org=request.source,
                              dest=host_of(dst_settings.api_url), dest_org=request.dest)
        if request.export_workflow:
            return await export_workflow(request.export_workflow, dst, inventory, targets,
                                         source_org=request.source, dest_org=request.dest,
                                         source_api_url=src_settings.api_url)
        assert state is not None
        return await _migrate(request, src, dst, inventory, targets, prepared.values, state)


@asynccontextmanager
async def _connect_both(src_settings: Settings, src_token: str | TokenSource,
                        dst_settings: Settings, dst_token: str | TokenSource,
                        stop: Interrupt | None) -> AsyncIterator[tuple[Run, Run]]:
    """One connection when both sides are the same host and token (one budget to pace), else
    two; both stop on the command's `stop`."""
    stop = stop or Interrupt()
    if src_settings == dst_settings and src_token == dst_token:
        async with connect(dst_settings, dst_token, stop=stop) as run:
            yield run, run
        return
    async with connect(src_settings, src_token, stop=stop) as src, \
            connect(dst_settings, dst_token, stop=stop) as dst:
        yield src, dst


# -- --values: the migration itself -------------------------------------------------------------

async def _migrate(request: MigrateRequest, src: Run, dst: Run, inventory: Inventory,
                   targets: Sequence[Target], values: ValuesFile | None, state: State
                   ) -> Migrated:
    writing = not request.dry_run
    matching = match_values(targets, values, inventory.outside, inventory.left_out_names)
    if matching.problems:
        raise UsageError("the values file does not fit the inventory of "
                         f"{request.source}:\n" + "\n".join(matching.problems))
    for note in matching.ignored:
        log.warning("migrate.ignored_key", message=note)
    api_url = dst.settings.api_url
    value_of = {(t.scope, t.name): matching.values[key_of(t.source)]
                for t in secrets_only(targets) if key_of(t.source) in matching.values}
    value_of |= {(t.scope, t.name): SecretValue(t.source.value.encode())  # GitHub returned it
                 for t in targets if t.source.value is not None and t.writable}

    def fingerprint(scope: Scope, name: str, value: bytes) -> str:
        return state.fingerprint(value, state_key(api_url, scope, name))

    desired = [Desired(t.scope, t.name,
                       fingerprint(t.scope, t.name, value_of[(t.scope, t.name)].reveal()),
                       t.selection)
               for t in targets if (t.scope, t.name) in value_of]
    with reading(f"reading {request.dest}"):
        # a variable's listed value fingerprinted as ours: one DST already holds is unchanged
        actual = await existing(dst.api, [d.scope for d in desired], dst.settings.concurrency,
                                value_fingerprint=fingerprint)
    if over := variables_over_limit(desired, actual):  # GitHub would refuse the writes past it
        raise UsageError("\n".join(f"{o}; nothing was written" for o in over))

    plan = make_plan(desired, actual, remembered_in(state, api_url))
    missing = bool(matching.missing) or any(not t.writable or t.unmapped for t in targets)
    blocked = missing and not request.allow_partial
    to_write = [item for item in plan if item.change in WRITES]
    outcomes: list[Outcome] = []
    resumed: list[Action] = []
    if writing and not blocked and to_write:
        outcomes, resumed = await _write_resumably(request, dst, to_write, value_of, state)
    why = "dry run" if not writing else "held back"
    items = build_report(targets, matching.missing, plan, outcomes, not_written_why=why,
                         resumed=[(a.scope, a.name) for a in resumed])
    cost = cost_of(src, dst)
    notes = [*(f"left behind: {why}" for why in inventory.unread),
             *(f"note: {n}" for n in matching.ignored)]
    if blocked and to_write and writing:
        notes.append(f"nothing written: {len(to_write)} writes held back because items are "
                     "missing; supply them, or pass --allow-partial to migrate the rest")
    # durations, as the text's, from the process start
    return Migrated(tuple(items), tuple(outcomes), cost,
                    dst.summary(outcomes, time.monotonic() - cost.seconds),
                    host_of(dst.settings.api_url), tuple(plan), host_of(src.settings.api_url),
                    tuple(notes))


async def _write_resumably(request: MigrateRequest, dst: Run, to_write: list[PlanItem],
                           value_of: dict[tuple[Scope, str], SecretValue], state: State
                           ) -> tuple[list[Outcome], list[Action]]:
    """The writes, journalled exactly as `syncer apply` journals them (resume.write_planned):
    a migration killed half-way resumes when run again with the same inputs."""
    return await write_planned(dst, state, to_write, lambda a: value_of[(a.scope, a.name)],
                               command="migrate", labels=[request.source, request.dest],
                               fresh=request.fresh,
                               show_progress=False if request.quiet else None)
