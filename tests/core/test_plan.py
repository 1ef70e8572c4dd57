"""The planner: Desired × Actual × State → Plan, as plain data."""

from syncer.core.model import OrgSelection, Scope
from syncer.core.plan import (
    Change,
    Desired,
    Existing,
    Remembered,
    counts,
    make_plan,
    variables_over_limit,
)

REPO = Scope.of_repo("acme", "api")
ENV = Scope.of_env("acme", "api", "production")
ORG = Scope.of_org("acme")
T0 = "2026-11-01T10:00:00Z"
T_LATER = "2026-11-02T09:00:00Z"


def memory(entries: dict):
    return lambda scope, name: entries.get((scope, name))


def plan_one(want: Desired, existing: dict | None, remembered: Remembered | None):
    (item,) = make_plan([want], {want.scope: existing}, memory({(want.scope, want.name): remembered}))
    return item


def test_absent_secret_is_created() -> None:
    """A secret GitHub does not have is created."""
    assert plan_one(Desired(REPO, "A", "f1"), {}, None).change is Change.CREATE


def test_ours_and_untouched_is_unchanged() -> None:
    """Same fingerprint and GitHub's updated_at not newer than ours: nothing to write."""
    item = plan_one(Desired(REPO, "A", "f1"), {"A": Existing(T0)}, Remembered("f1", T0))
    assert item.change is Change.UNCHANGED


def test_clock_skew_within_tolerance_is_not_drift() -> None:
    """updated_at a couple of seconds after the Date we recorded is still our own write."""
    item = plan_one(Desired(REPO, "A", "f1"), {"A": Existing("2026-11-01T10:00:02Z")},
                    Remembered("f1", T0))
    assert item.change is Change.UNCHANGED


def test_changed_on_github_is_drifted() -> None:
    """GitHub's updated_at newer than our write means someone changed it: drifted, rewrite."""
    item = plan_one(Desired(REPO, "A", "f1"), {"A": Existing(T_LATER)}, Remembered("f1", T0))
    assert item.change is Change.DRIFTED and T_LATER in item.why


def test_new_value_or_unknown_history_is_update() -> None:
    """A different fingerprint, or a secret we never wrote, is updated."""
    assert plan_one(Desired(REPO, "A", "f2"), {"A": Existing(T0)},
                    Remembered("f1", T0)).change is Change.UPDATE
    assert plan_one(Desired(REPO, "A", "f1"), {"A": Existing(T0)}, None).change is Change.UPDATE


def test_org_selection_change_is_update() -> None:
    """An org secret whose visibility or selection differs is rewritten with the wanted ones."""
    want = Desired(ORG, "A", "f1", OrgSelection("selected", (1, 2)))
    same = {"A": Existing(T0, OrgSelection("selected", (1, 2)))}
    other = {"A": Existing(T0, OrgSelection("selected", (1,)))}
    assert plan_one(want, same, Remembered("f1", T0)).change is Change.UNCHANGED
    assert plan_one(want, other, Remembered("f1", T0)).change is Change.UPDATE


def test_a_selection_changed_on_github_is_drift_one_the_config_changed_is_not() -> None:
    """Syncer recorded the selection it wrote: GitHub differing from it while the config still
    wants it is someone else's change (drifted); the config wanting another is an update."""
    want = Desired(ORG, "A", "f1", OrgSelection("selected", (1, 2)))
    widened = {"A": Existing(T0, OrgSelection("selected", (1, 2, 3)))}
    wrote_this = Remembered("f1", T0, "selected:1,2")
    wrote_other = Remembered("f1", T0, "selected:1")
    assert plan_one(want, widened, wrote_this).change is Change.DRIFTED
    assert plan_one(want, widened, wrote_other).change is Change.UPDATE
    assert plan_one(want, widened, Remembered("f1", T0)).change is Change.UPDATE  # older state


def test_a_secret_deleted_after_syncer_wrote_it_is_drift() -> None:
    """Absent on GitHub though the state remembers writing this value: drifted; with another
    value wanted now (the config changed too), or never written by syncer, a create."""
    assert plan_one(Desired(REPO, "A", "f1"), {}, Remembered("f1", T0)).change is Change.DRIFTED
    assert plan_one(Desired(REPO, "A", "f2"), {}, Remembered("f1", T0)).change is Change.CREATE
    assert plan_one(Desired(REPO, "A", "f1"), {}, None).change is Change.CREATE
    narrower = Desired(ORG, "A", "f1", OrgSelection("selected", (1,)))  # the config's change
    assert plan_one(narrower, {}, Remembered("f1", T0, "selected:1,2")).change is Change.CREATE


def test_only_drift_and_pruning_what_syncer_never_wrote_undo_changes_on_github() -> None:
    """--detailed-exitcode's question: pruning a secret the config no longer declares but
    syncer wrote is the config's change; pruning one added elsewhere undoes that change."""
    actual = {REPO: {"A": Existing(T0), "THEIRS": Existing(T0), "OURS_ONCE": Existing(T0),
                     "OURS_THEN_THEIRS": Existing(T_LATER)}}
    plan = make_plan([Desired(REPO, "A", "f1")], actual,
                     memory({(REPO, "A"): Remembered("f1", T0),
                             (REPO, "OURS_ONCE"): Remembered("f0", T0),
                             (REPO, "OURS_THEN_THEIRS"): Remembered("f0", T0)}), prune=True)
    assert {i.name: i.undoes_a_change_on_github for i in plan} == {
        "A": False, "THEIRS": True, "OURS_ONCE": False, "OURS_THEN_THEIRS": True}


def test_missing_environment_is_reported_not_written() -> None:
    """A scope that does not exist is a missing target, not a create."""
    item = plan_one(Desired(ENV, "A", "f1"), None, None)
    assert item.change is Change.MISSING_TARGET and "environment" in item.why


def test_prune_only_when_asked_only_managed_scopes_only_prefix() -> None:
    """Undeclared secrets are pruned only with prune on, in declared scopes, under the prefix."""
    other = Scope.of_repo("acme", "web")
    actual = {REPO: {"A": Existing(T0), "CI_OLD": Existing(T0), "KEEP": Existing(T0)},
              other: {"CI_X": Existing(T0)}}
    want = [Desired(REPO, "A", "f1")]
    none = make_plan(want, actual, memory({}))
    assert Change.PRUNE.value not in [i.change.value for i in none]
    pruned = make_plan(want, actual, memory({}), prune=True, prune_prefix="ci_")
    assert [(i.scope, i.name) for i in pruned if i.change is Change.PRUNE] == [(REPO, "CI_OLD")]
    everything = make_plan(want, actual, memory({}), prune=True)
    assert counts(everything)["prune"] == 2


def test_actions_carry_selection_and_op() -> None:
    """Plan items become engine actions: PUT with selection, DELETE for prune."""
    want = Desired(ORG, "A", "f1", OrgSelection("all"))
    item = plan_one(want, {}, None)
    assert item.action().selection == OrgSelection("all")
    assert item.action().op.value == "put"


VARS = REPO.variables()


def test_a_variable_is_planned_by_its_listed_value_not_by_time() -> None:
    """A variable's listed value (its fingerprint) decides: the config's value is unchanged
    whoever wrote it and whenever; another value is drifted where syncer wrote the config's,
    else an update; times play no part."""
    want = Desired(VARS, "A", "f1")
    assert plan_one(want, {"A": Existing(T_LATER, fingerprint="f1")},
                    Remembered("f1", T0)).change is Change.UNCHANGED
    assert plan_one(want, {"A": Existing(T0, fingerprint="f1")}, None).change is Change.UNCHANGED
    drifted = plan_one(want, {"A": Existing(T0, fingerprint="f9")}, Remembered("f1", T0))
    assert drifted.change is Change.DRIFTED and drifted.why == "value changed on GitHub"
    assert plan_one(want, {"A": Existing(T0, fingerprint="f9")},
                    Remembered("f0", T0)).change is Change.UPDATE
    assert plan_one(want, {"A": Existing(T0, fingerprint="f9")}, None).change is Change.UPDATE


def test_a_variables_write_says_whether_it_exists() -> None:
    """Actions for variables carry what the listing said (POST to create, PATCH to update);
    a secret's do not (a PUT either way)."""
    listed = {"A": Existing(T0, fingerprint="f9")}
    assert plan_one(Desired(VARS, "A", "f1"), listed, None).action().exists is True
    assert plan_one(Desired(VARS, "B", "f1"), listed, None).action().exists is False
    assert plan_one(Desired(REPO, "A", "f1"), {"A": Existing(T0)}, None).action().exists is None


def test_pruning_a_variable_someone_else_rewrote_undoes_a_change() -> None:
    """An undeclared variable whose value is the one syncer wrote is syncer's own; with
    another value it was rewritten on GitHub (pruning it undoes that change)."""
    actual = {VARS: {"A": Existing(T0, fingerprint="f1"), "OLD": Existing(T0, fingerprint="f2"),
                     "HAND": Existing(T0, fingerprint="f3")}}
    remembered = memory({(VARS, "OLD"): Remembered("f2", T0), (VARS, "HAND"): Remembered("f0", T0)})
    plan = make_plan([Desired(VARS, "A", "f1")], actual, remembered, prune=True)
    prunes = {i.name: i.written_by_syncer for i in plan if i.change is Change.PRUNE}
    assert prunes == {"OLD": True, "HAND": False}


def test_variables_past_githubs_limit_count_what_is_there() -> None:
    """A scope's variables there now and those the config adds are counted against GitHub's
    limit (500 a repository); the same name counts once, secrets and unread scopes not at all."""
    there = {f"OLD_{n}": Existing(T0, fingerprint="f") for n in range(499)}
    want = [Desired(VARS, "NEW", "f"), Desired(VARS, "OLD_1", "f")]
    assert variables_over_limit(want, {VARS: there}) == []
    over = variables_over_limit([*want, Desired(VARS, "NEWER", "f")], {VARS: there})
    assert [(o.scope, o.count, o.limit) for o in over] == [(VARS, 501, 500)]
    assert variables_over_limit([Desired(REPO, "NEW", "f")], {REPO: there | {"X": Existing(T0),
                                                                             "Y": Existing(T0)}}) == []
