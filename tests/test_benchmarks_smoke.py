"""The benchmark suite's smoke run (``python -m benchmarks --quick``): every workload captured.

Runs the suite as a subprocess against the test server (it creates and drops its own
``bench_smoke_<pid>`` database there) and checks what CI needs from it: each workload's changes
produced exactly one audit row per affected row, each attributed to the acting user, the
unaudited baseline produced none, and read-only requests wrote nothing. Timings are not checked:
the quick sizes are far too small to mean anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_quick_benchmark_captures_every_change(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    # tests/settings.py has put the server's URL in the environment (DATABASE_URL or
    # PGAUDIT_DATABASE_URL); the child inherits it.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--db-name",
            f"bench_smoke_{os.getpid()}",
            "--json",
            str(out),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    data = json.loads(out.read_text())
    assert data["failures"] == []
    assert set(data["workloads"]) == {
        "create_autocommit",
        "create_atomic",
        "bulk_create",
        "queryset_update",
        "single_save",
        "queryset_delete",
        "raw_update",
    }
    for key, workload in data["workloads"].items():
        rows = workload["rows"]
        ours = workload["subjects"]["pgaudit"]
        assert ours, key
        for sample in ours:
            assert sample["audit_rows"] == rows, (key, sample)
            assert sample["attributed"] == rows, (key, sample)
        assert all(s["audit_rows"] == 0 for s in workload["subjects"]["plain"]), key
    assert data["storage"]["pgaudit"]["insert"]["rows"] > 0
    assert data["storage"]["pgaudit"]["update"]["rows"] > 0
    assert "## Benchmark results" in result.stdout
