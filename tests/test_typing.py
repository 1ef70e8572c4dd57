"""The package type-checks under mypy --strict (configured in pyproject.toml)."""

from pathlib import Path

import pytest


def test_mypy_strict_finds_nothing() -> None:
    """mypy --strict over syncer/ reports no error: types are part of the contract."""
    api = pytest.importorskip("mypy.api")
    root = Path(__file__).parent.parent
    out, err, status = api.run(["--config-file", str(root / "pyproject.toml"),
                                "--cache-dir", "/dev/null", str(root / "syncer")])
    assert status == 0, out + err
