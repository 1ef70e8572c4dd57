"""The planner: Desired × Actual × State → Plan, as plain data."""

from syncer.model import OrgSelection, Scope
from syncer.plan import Change, Desired, Existing, Remembered, counts, make_plan

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
