"""syncer's benchmarks: fakehub and the clients as separate processes. See README.md."""
