"""Big projects: hundreds of tracked models register without name clashes (issue 12).

django-pgtrigger names a function ``pgtrigger_<name>_<5 hex digits>``: with the four audit
triggers of every model, the chance of a clash that stopped start-up with a KeyError was 16 % at
300 tracked models and 85 % at 1,000 (seen: ``Model150`` and ``Model324``). Audit triggers now
carry 48 bits of a digest and are checked for clashes by the library itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pgaudit_django.capture.triggers import PG_NAME_PREFIX, pg_name

ROOT = Path(__file__).resolve().parents[2]


def _pgtrigger_clashes(count: int) -> list[list[str]]:
    """Labels among shop.Model0..N that django-pgtrigger would give the same function name."""
    seen: dict[str, list[str]] = {}
    for i in range(count):
        for name in ("pgaudit_insert", "pgaudit_update", "pgaudit_delete", "pgaudit_truncate"):
            uri = f"shop.Model{i}:{name}"
            digest = hashlib.sha1(uri.encode()).hexdigest()[:5]
            seen.setdefault(f"{name}_{digest}", []).append(uri)
    return [uris for uris in seen.values() if len(uris) > 1]


@pytest.mark.slow
def test_600_tracked_models_register_with_distinct_function_names():
    # The set contains pgtrigger-style clashes (e.g. shop.Model150/shop.Model324 on
    # pgaudit_update): with pgtrigger's names, start-up stopped here with a KeyError.
    assert ["shop.Model150:pgaudit_update", "shop.Model324:pgaudit_update"] in _pgtrigger_clashes(
        600
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "tests.capture.scale.many_models", "600"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    assert facts["triggers"] == 600 * 4
    assert facts["distinct_names"] == 600 * 4


def test_pg_names_are_readable_bounded_and_distinct():
    names = {
        pg_name(action, f"shop_model{i}", f"shop.Model{i}:pgaudit_x")
        for i in range(2000)
        for action in ("CREATE", "UPDATE", "DELETE", "TRUNCATE")
    }
    assert len(names) == 8000
    assert all(n.startswith(PG_NAME_PREFIX) and len(n) <= 63 for n in names)
    long_table = pg_name("UPDATE", "x" * 80, "app.M:pgaudit_update")
    assert len(long_table) == 63 and long_table.startswith("pgaudit_cap_upd_xxx")
