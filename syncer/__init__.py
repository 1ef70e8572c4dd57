"""syncer: keep GitHub Actions secrets in sync across whole organisations."""

__version__ = "0.1.0"
