"""fakehub: a faithful local imitation of GitHub's REST API for Actions, Dependabot,
Codespaces and agents secrets and Actions and agents variables (aiohttp.web), with real
sealed-box keys, rate limits and fault injection.

It imports nothing from the rest of ``syncer``: it is an independent witness of GitHub's
behaviour, derived from GitHub's documentation and OpenAPI description, not from the client.

    hub = FakeHub(tokens=("tok",), limits=Limits(), faults=Faults(), record=True)
    # Limits() are GitHub's own and the default; Limits.off() is an Enterprise Server with
    # rate limiting disabled; FakeHub(read_only_tokens=..., non_admin_tokens=...) adds tokens
    # with less power
    hub.add_repos("acme", 500, environments=("production", "staging"))   # repo-0001 ...
    hub.add_varied_repos("acme-ops", 40, seed=0)   # svc-*, web-*, api, deps-*, ... as the CLI
    hub.set_secret("TOKEN", b"v", org="acme", selected=["repo-0001"])
    async with hub.serve() as url:          # or: with hub.serve_in_thread() as url
        ...                                 # url + "/..." (github.com) or url + "/api/v3/..."
    hub.plaintext("TOKEN", repo="acme/repo-0001")   # what a client stored, decrypted
    hub.plaintext("TOKEN", repo="acme/repo-0001", app="agents")   # an agents secret
    hub.set_variable("REGION", "eu", org="acme", visibility="private")   # app="agents" too
    hub.variable_value("REGION", repo="acme/repo-0001", env="production")  # str or None
    hub.variables(repo="acme/repo-0001")    # {name: value}, in name order
    hub.count("PUT"), hub.violations, hub.exchanges

GitHub Apps: ``hub.register_app(app_id, public_key_pem)``, ``hub.add_installation(org,
app_id)``; fakehub verifies the App's RS256 JWTs as GitHub does (same 401 messages), serves
``GET /orgs/{org}/installation``, ``GET /app/installations`` and ``POST
/app/installations/{installation_id}/access_tokens``, and its installation tokens act in
their org only and expire after ``FakeHub(installation_token_ttl=3600.0)`` seconds.

Modules: ``rules`` (GitHub's rules as pure functions), ``world`` (data model), ``apps``
(Apps, installations, JWTs, installation tokens), ``views`` (JSON shapes), ``api`` (endpoint
handlers), ``routes`` (template trie), ``limits``, ``faults``, ``app`` (the aiohttp edge),
``hub`` (this API), ``cli`` (``python -m syncer.fakehub``).
"""

from .faults import Faults
from .hub import Exchange, FakeHub
from .limits import Limits

__all__ = ["Exchange", "FakeHub", "Faults", "Limits"]
