"""Peer libraries' copies of the benchmark model, one app per peer (installed with --peers)."""
