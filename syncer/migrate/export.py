"""--export-workflow: a GitHub Actions workflow for SRC that reads each secret by name and
seals it with DST's public key. Which jobs can read which secret (pure), the workflow's text
(pure), and the run that fetches DST's keys and writes the file."""

from __future__ import annotations

import inspect
import json
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from ..core.model import PublicKey, Repo, Scope
from ..execution.connect import Run
from ..execution.discover import for_each
from ..execution.writes import host_of
from .files import write_file
from .mapping import Inventory, Target, index_repos, scope_json, secrets_only
from .report import MISSING_TARGET
from .sides import reading

log = structlog.get_logger("syncer.migrate")


# -- export: a workflow in SRC that seals values for DST ---------------------------------------

def seal_for_export(values_by_name: Mapping[str, str | bytes],
                    export_spec: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Seal each spec entry's value (looked up by secret name) with the entry's DST public key.

    Entries without a value (empty: the secret was not readable where this ran) are left out;
    the caller reports them. The output carries ciphertexts and public data only. This function
    is copied verbatim into the export workflow, so it must stay self-contained.
    """
    import base64

    from nacl.public import PublicKey as NaclPublicKey
    from nacl.public import SealedBox

    sealed: list[dict[str, Any]] = []
    for entry in export_spec:
        value = values_by_name.get(entry["name"])
        if not value:
            continue
        raw = value.encode("utf-8") if isinstance(value, str) else value
        box = SealedBox(NaclPublicKey(base64.b64decode(entry["key"])))
        sealed.append({
            "dst": entry["dst"],
            "name": entry["name"],
            "key_id": entry["key_id"],
            "encrypted_value": base64.b64encode(box.encrypt(raw)).decode("ascii"),
            "visibility": entry.get("visibility"),
            "selected_repository_ids": entry.get("selected_repository_ids"),
        })
    return sealed


ENV_PREFIX = "SYNCER_EXPORT_"  # + each secret's name
# Outside ENV_PREFIX, so that no secret name (OUT, SPEC) can take their place.
SPEC_VARIABLE = "SYNCER_SPEC"
OUT_VARIABLE = "SYNCER_OUT"
SEALED_FORMAT = "syncer_sealed"

_SCRIPT_MAIN = '''

def main() -> int:
    spec = json.loads(os.environ["SYNCER_SPEC"])
    values = {e["name"]: os.environ.get("SYNCER_EXPORT_" + e["name"], "") for e in spec}
    unreadable = sorted(name for name, value in values.items() if not value)
    sealed = seal_for_export(values, spec)
    document = {"syncer_sealed": 1, "sealed": sealed}
    with open(os.environ.get("SYNCER_OUT", "sealed.json"), "w") as handle:
        json.dump(document, handle, indent=1)
    print(json.dumps(document))  # public keys' ciphertexts only: safe to show
    for name in unreadable:
        print(f"::error::{name} was empty in this job: not readable here, so not exported")
    return 1 if unreadable else 0


sys.exit(main())
'''


def export_script() -> str:
    """The sealing step's Python: seal_for_export's own source, and a main around it."""
    source = textwrap.dedent(inspect.getsource(seal_for_export))
    head = ("# syncer migrate --export-workflow: seal this job's secrets with DST's public keys.\n"
            "from __future__ import annotations\n\n"
            "import json\nimport os\nimport sys\n"
            "from typing import Any, Mapping, Sequence\n\n\n")
    return head + source + _SCRIPT_MAIN


@dataclass(frozen=True, slots=True)
class ExportJob:
    id: str
    title: str
    repository: str  # "org/repo" the job must run in
    environment: str | None
    targets: tuple[Target, ...]

    def spec(self, keys: Mapping[Scope, PublicKey]) -> list[dict[str, Any]]:
        """What the sealing step is given: names, DST scopes, public keys; never a value."""
        return [export_entry(t, keys[t.scope]) for t in self.targets]

    @property
    def scopes(self) -> set[Scope]:
        return {t.scope for t in self.targets}


@dataclass(frozen=True, slots=True)
class NotExported:
    target: Target
    why: str


def export_entry(target: Target, key: PublicKey) -> dict[str, Any]:
    selection = target.selection
    return {
        "name": target.name,
        "dst": scope_json(target.scope),
        "key_id": key.key_id,
        "key": key.key,
        "visibility": selection.visibility if selection else None,
        "selected_repository_ids": list(selection.repository_ids)
        if selection and selection.visibility == "selected" else None,
    }


def plan_export(inventory: Inventory, targets: Sequence[Target]
                ) -> tuple[list[ExportJob], list[NotExported]]:
    """Jobs that can read each exportable secret, and the secrets no workflow can read.

    A workflow reads `secrets.NAME` with precedence environment > repository > organisation, so:
    repository secrets are read by a job in that repository, environment secrets by a job with
    `environment:` set there, and org secrets by a job in a repository that can see them and has
    no repository secret of the same name (which would shadow them), chosen greedily so few
    jobs cover all. Dependabot secrets are invisible to Actions workflows; workflows do not run
    in archived repositories.
    """
    targets = secrets_only(targets)  # variables need no export: SRC returns their values
    skipped: list[NotExported] = []
    org_targets: list[Target] = []
    per_place: dict[tuple[str, str | None], list[Target]] = {}
    repos = index_repos(inventory.repos)
    for t in targets:
        src = t.source.scope
        if not t.writable:
            skipped.append(NotExported(t, f"{MISSING_TARGET}: {t.missing}"))
        elif src.app != "actions":
            skipped.append(NotExported(t, f"{src.app} secrets cannot be read by an Actions "
                                          "workflow: give this value with --values"))
        elif src.kind == "org":
            org_targets.append(t)
        elif repos.get((src.repo or "").lower(), Repo("", 0, archived=True)).archived:
            skipped.append(NotExported(t, f"{src.full_repo} is archived: workflows cannot run "
                                          "there; give this value with --values"))
        else:
            per_place.setdefault((src.repo or "", src.env), []).append(t)
    jobs: list[ExportJob] = []
    hosts, unreadable = _org_hosts(inventory, org_targets)
    for number, (host, chosen) in enumerate(hosts, 1):
        jobs.append(ExportJob(f"org_{number}", f"org secrets (read in {inventory.org}/{host.name})",
                              f"{inventory.org}/{host.name}", None, tuple(chosen)))
    skipped += [NotExported(t, "no repository of the source can read it in a workflow "
                               "(visibility, or shadowed by a repository secret): give this "
                               "value with --values") for t in unreadable]
    places = sorted(per_place, key=lambda p: (p[0].lower(), p[1] is not None, (p[1] or "").lower()))
    numbers = {"repo": 0, "env": 0}
    for repo, env in places:
        kind = "env" if env else "repo"
        numbers[kind] += 1
        title = f"{inventory.org}/{repo}" + (f" environment {env}" if env else "")
        jobs.append(ExportJob(f"{kind}_{numbers[kind]}", title, f"{inventory.org}/{repo}", env,
                              tuple(per_place[(repo, env)])))
    return jobs, skipped


def _org_hosts(inventory: Inventory, org_targets: Sequence[Target]
               ) -> tuple[list[tuple[Repo, list[Target]]], list[Target]]:
    repo_names: dict[str, set[str]] = {}
    for s in inventory.secrets:
        if s.scope.kind == "repo" and s.scope.app == "actions" and s.scope.repo \
                and not s.is_variable:
            repo_names.setdefault(s.scope.repo.lower(), set()).add(s.name.upper())
    candidates = sorted((r for r in inventory.repos
                         if not r.archived and r.name.lower() not in inventory.outside),
                        key=lambda r: r.name.lower())

    def readable(repo: Repo, target: Target) -> bool:
        secret = target.source
        if secret.name.upper() in repo_names.get(repo.name.lower(), set()):
            return False
        if secret.visibility == "selected":
            return repo.name.lower() in {n.lower() for n in secret.selected}
        if secret.visibility == "private":
            return repo.private
        return True

    hosts: list[tuple[Repo, list[Target]]] = []
    remaining = list(org_targets)
    while remaining and candidates:
        best = max(candidates, key=lambda r: sum(readable(r, t) for t in remaining))
        chosen = [t for t in remaining if readable(best, t)]
        if not chosen:
            break
        hosts.append((best, chosen))
        remaining = [t for t in remaining if t not in chosen]
    return hosts, remaining


@dataclass(frozen=True, slots=True)
class PinnedAction:
    """An action the export workflow uses, pinned to a commit: a tag can be moved to other
    code, and this workflow runs beside the source org's secrets (GitHub's security hardening
    guide for Actions asks for full-length commit SHAs)."""

    name: str  # owner/repo
    commit: str  # the full 40-hex commit the release tag named when this was written
    version: str  # that tag, for people reading the workflow

    @property
    def uses(self) -> str:
        """The value of a step's `uses:`, with the version as a YAML comment."""
        return f"{self.name}@{self.commit}  # {self.version}"


# Checked against each action's repository: the commit its release tag (and major tag) names.
SETUP_PYTHON = PinnedAction("actions/setup-python", "a26af69be951a213d495a4c3e4e4022e16d87065",
                            "v5.6.0")
UPLOAD_ARTIFACT_V4 = PinnedAction("actions/upload-artifact",
                                  "ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2")
UPLOAD_ARTIFACT_V3 = PinnedAction("actions/upload-artifact",
                                  "ff15f0306b3f739f7b6fd43fb5d26cd321bd4de5", "v3.2.1")


def artifact_action(api_url: str) -> PinnedAction:
    """upload-artifact v4 on github.com (and GHE.com); Enterprise Server supports only v3."""
    host = host_of(api_url).lower()
    dotcom = host in ("api.github.com", "github.com") or host.endswith(".ghe.com")
    return UPLOAD_ARTIFACT_V4 if dotcom else UPLOAD_ARTIFACT_V3


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(text, ensure_ascii=False)


# What the sealing step imports, pinned to files whose hashes were checked when this was
# written: a new release, or a replaced file, of a package that runs beside the secrets is not
# taken on trust. Wheels for the workflow's Python 3.12 on Linux x86_64 and aarch64.
EXPORT_REQUIREMENTS = (
    "pynacl==1.6.2"
    " --hash=sha256:22de65bb9010a725b0dac248f353bb072969c94fa8d6b1f34b87d7953cf7bbe4"
    " --hash=sha256:8845c0631c0be43abdd865511c41eab235e0be69c81dc66a50911594198679b0",
    "cffi==2.1.1"
    " --hash=sha256:c1453022f490d2459a11819d83ad1d586e9ff65a12ac3e705ffebd46d3685dcf"
    " --hash=sha256:68e62fe11f30d5ca8289242866f0a5291402d8529ca2178ab8afc5c9694ae890",
    "pycparser==3.12"
    " --hash=sha256:a076f3f489b39b43ed13563a1dafe42447445bec2e294154ec5c57fcdda4c85e",
)


def render_workflow(jobs: Sequence[ExportJob], keys: Mapping[Scope, PublicKey], *,
                    source_org: str, dest_org: str, upload_action: PinnedAction,
                    file_name: str = "syncer-export.yml") -> str:
    """The export workflow as YAML text; it holds secret names, public keys and key ids only."""
    repositories = sorted({j.repository for j in jobs}, key=str.lower)
    script = export_script()
    out = [
        f"# syncer migrate --export-workflow: {source_org} -> {dest_org}",
        "#",
        "# Reads each secret by name inside the source organisation, seals it with the",
        f"# destination's ({dest_org}) public key and uploads only ciphertexts as artifacts.",
        "# A repository or environment secret can only be read by a workflow running in that",
        "# repository (and environment), so commit this file unchanged as",
        f"# .github/workflows/{file_name} on the default branch of each repository below;",
        "# every job runs only in its own repository (see its `if:`). Then, in each one:",
        f"#   gh workflow run {file_name} -R OWNER/REPO",
        "#   gh run download RUN_ID -R OWNER/REPO -D sealed/OWNER-REPO",
        "# and import:  syncer migrate --from ... --to ... --import-sealed sealed/",
        "# Environment jobs are subject to the environment's protection rules (reviewers,",
        "# branch policies). Delete the file afterwards. Repositories:",
        *[f"#   {r}" for r in repositories],
        f"name: {_q(f'syncer export {source_org} to {dest_org}')}",
        '"on":',
        "  workflow_dispatch: {}",
        "permissions: {}",
        "jobs:",
    ]
    if not jobs:
        out[-1] = "jobs: {}"
    indented_script = textwrap.indent(script, " " * 12)
    for job in jobs:
        out_file = f"sealed-{job.id}.json"
        spec = job.spec(keys)
        spec_text = json.dumps(spec, separators=(",", ":"))
        out += [
            f"  {job.id}:",
            f"    name: {_q(job.title)}",
            f"    if: {_q(f'github.repository == {_sq(job.repository)}')}",
            "    runs-on: ubuntu-latest",
        ]
        if job.environment is not None:
            out.append(f"    environment: {_q(job.environment)}")
        out += [
            "    steps:",
            f"      - uses: {SETUP_PYTHON.uses}",
            "        with:",
            '          python-version: "3.12"',
            "      - name: Install PyNaCl (pinned, hash-checked)",
            "        run: |",
            '          cat > "$RUNNER_TEMP/syncer-requirements.txt" <<\'EOF\'',
            *(f"          {line}" for line in EXPORT_REQUIREMENTS),
            "          EOF",
            "          python -m pip install --quiet --only-binary :all: --require-hashes "
            '-r "$RUNNER_TEMP/syncer-requirements.txt"',
            "      - name: Seal with the destination's public keys",
            "        shell: python",
            "        env:",
            f"          {OUT_VARIABLE}: {_q(out_file)}",
            f"          {SPEC_VARIABLE}: {_q(spec_text)}",
        ]
        out += [f"          {ENV_PREFIX}{e['name']}: {_q('${{ secrets.' + e['name'] + ' }}')}"
                for e in spec]
        out += [
            "        run: |",
            indented_script.rstrip("\n"),
            f"      - uses: {upload_action.uses}",
            "        if: always()",
            "        with:",
            f"          name: {_q(f'syncer-sealed-{job.id}')}",
            f"          path: {_q(out_file)}",
        ]
    return "\n".join(out) + "\n"


def _sq(text: str) -> str:
    """A single-quoted string of the Actions expression language."""
    return "'" + text.replace("'", "''") + "'"




# -- the export run ----------------------------------------------------------------------------

#: Beyond this many jobs one workflow file may hit GitHub's limits (256 jobs per run is the
#: documented matrix limit; a cap for plain jobs is not documented): warn, suggest --repos.
LARGE_WORKFLOW_JOBS = 250


@dataclass(frozen=True)
class Exported:
    """What --export-workflow wrote, and what it could not export."""

    workflow: str  # its path
    jobs: tuple[ExportJob, ...]
    skipped: tuple[NotExported, ...]
    left_behind: tuple[str, ...]  # Inventory.unread

    @property
    def exported(self) -> int:
        return sum(len(j.targets) for j in self.jobs)


async def export_workflow(path: str, dst: Run, inventory: Inventory, targets: Sequence[Target], *,
                          source_org: str, dest_org: str, source_api_url: str) -> Exported:
    """Write the workflow to `path`, with DST's public keys of every scope it seals for."""
    jobs, skipped = plan_export(inventory, targets)
    needed = set().union(*(j.scopes for j in jobs))
    keys: dict[Scope, PublicKey] = {}

    async def fetch(scope: Scope) -> None:
        # Straight from DST, never a cached key: the import cannot re-seal, so a stale key
        # here would only come back as a failed import.
        keys[scope] = await dst.api.public_key(scope)

    with reading(f"reading {dest_org}'s public keys"):
        await for_each(sorted(needed, key=str), fetch, dst.settings.concurrency)
    text = render_workflow(jobs, keys, source_org=source_org, dest_org=dest_org,
                           upload_action=artifact_action(source_api_url),
                           file_name=Path(path).name)
    write_file(path, text)
    done = Exported(path, tuple(jobs), tuple(skipped), inventory.unread)
    if len(jobs) > LARGE_WORKFLOW_JOBS:
        log.warning("migrate.large_workflow", jobs=len(jobs), message="a workflow this large may "
                    "exceed GitHub's limits; export with --repos in parts if GitHub refuses it")
    log.info("migrate.export", workflow=path, jobs=len(jobs), exported=done.exported,
             not_exported=len(skipped))
    return done
