"""`syncer demo`: the README's first command, as a real process."""

from helpers import syncer_process


def test_demo_sets_and_verifies_every_repository() -> None:
    """The demo needs no token or network, writes 200 repositories, checks each, exits 0."""
    done = syncer_process(["demo"], {}, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    err = done.stderr.decode()
    assert "created 200" in err
    assert "verified: fakehub decrypted DEMO_API_KEY in all 200 repositories" in err
