"""fakehub: a faithful local imitation of GitHub's REST API for Actions, Dependabot and
Codespaces secrets (aiohttp.web), with real sealed-box keys, rate limits and fault injection.

It imports nothing from the rest of ``syncer``: it is an independent witness of GitHub's
behaviour, derived from GitHub's documentation and OpenAPI description.
"""

from .faults import Faults
from .hub import Exchange, FakeHub
from .limits import Limits

__all__ = ["Exchange", "FakeHub", "Faults", "Limits"]
