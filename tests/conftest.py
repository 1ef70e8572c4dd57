"""Fixtures every test shares; the helpers end-to-end tests call are in helpers.py."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import Keys, app_keys

from syncer.fakehub import FakeHub

PROCESSES = Path(__file__).parent / "processes"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/processes/ (real processes, signals, kills) carry the `processes`
    marker: `-m processes` runs just them, `-m "not processes"` everything else."""
    for item in items:
        if item.path.is_relative_to(PROCESSES):
            item.add_marker(pytest.mark.processes)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def isolated_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own state directory: no test sees another's state or journal."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture
def url(hub: FakeHub) -> Iterator[str]:
    """The module's `hub` fixture served on loopback for the test's length."""
    with hub.serve_in_thread() as url:
        yield url


@pytest.fixture(scope="module")
def keys() -> Keys:
    """A GitHub App's key pair, one per test module."""
    return app_keys()
