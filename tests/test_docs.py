"""The documentation cannot drift from the code it describes."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_trigger_example", DOCS / "gen_trigger_example.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_capture_page_shows_the_sql_the_code_generates() -> None:
    generator = _generator()
    current = generator.CAPTURE_MD.read_text(encoding="utf-8")
    assert generator.render(current, generator.trigger_sql()) == current, (
        "docs/capture.md is stale: run python docs/gen_trigger_example.py --write"
    )


def test_every_setting_the_code_reads_is_documented() -> None:
    read = set()
    for path in (REPO / "pgaudit_django").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        read |= set(re.findall(r"getattr\(\s*settings,\s*[\"'](AUDIT_[A-Z0-9_]+)[\"']", text))
    assert read, "no AUDIT_* settings found: the pattern no longer matches the code"
    documented = set(
        re.findall(r"^\| `(AUDIT_[A-Z0-9_]+)` \|", (DOCS / "settings.md").read_text(), re.M)
    )
    assert sorted(read - documented) == [], "add these to docs/settings.md"
    assert sorted(documented - read) == [], "docs/settings.md lists settings nothing reads"
