"""`syncer demo`: the README's first command, as a real process."""

from helpers import syncer_process


def test_demo_sets_and_verifies_every_repository() -> None:
    """The demo needs no token or network, writes 200 repositories, checks each, exits 0."""
    done = syncer_process(["demo"], {}, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    err = done.stderr.decode()
    assert "created 200" in err
    assert "verified: fakehub decrypted DEMO_API_KEY in all 200 repositories" in err


def test_demo_prints_the_flags_it_runs_with_and_what_pacing_would_cost() -> None:
    """What the demo prints is what it runs (pacing off, as fakehub enforces no limits there),
    and it says what GitHub's pacing would cost for the same writes on github.com."""
    done = syncer_process(["demo", "--repos", "150"], {}, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    err = done.stderr.decode()
    assert "syncer set DEMO_API_KEY --org acme --concurrency 32 --points-per-minute 0" in err
    assert "one write a second: these 150 writes would take about 2 minutes" in err
