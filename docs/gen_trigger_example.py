"""Print the SQL pgaudit_django installs for the test project's ``Invoice`` model.

docs/capture.md shows this SQL; it is generated, never written by hand, so the page cannot drift
from the code:

    python docs/gen_trigger_example.py            # print the four trigger functions
    python docs/gen_trigger_example.py --write    # refresh the blocks in docs/capture.md
    python docs/gen_trigger_example.py --check    # exit 1 if docs/capture.md is stale (CI)

No database is needed: the SQL is compiled the way ``makemigrations`` compiles it.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CAPTURE_MD = REPO / "docs" / "capture.md"
ACTIONS = ("insert", "update", "delete", "truncate")
# The generated blocks in capture.md sit between these markers (one pair per action).
# A block may be indented (inside an admonition): the code keeps the marker's indentation.
BLOCK = re.compile(
    r"^(?P<indent>[ ]*)<!-- BEGIN generated: (?P<action>\w+) -->\n"
    r".*?^(?P=indent)<!-- END generated -->",
    re.DOTALL | re.MULTILINE,
)


def _setup_django() -> None:
    import django
    from django.conf import settings

    if not settings.configured:
        # Only what compiling needs; the engine is never connected to.
        settings.configure(
            INSTALLED_APPS=[
                "django.contrib.contenttypes",
                "django.contrib.auth",
                "pgtrigger",
                "pgaudit_django",
                "tests.testapp",
            ],
            DATABASES={"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "unused"}},
            DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        )
    django.setup()


def _dedent(text: str, by: int = 12) -> str:
    """Remove up to ``by`` leading spaces per line: django-pgtrigger's template indentation."""
    return "\n".join(
        line[min(by, len(line) - len(line.lstrip(" "))) :] for line in text.split("\n")
    )


def _tidy(sql: str, func: str) -> str:
    """Tidy the template's blank lines; the function body keeps its own indentation."""
    text = sql
    text = "\n".join(line.rstrip() for line in text.strip("\n").split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text) + "\n"


def trigger_sql() -> dict[str, str]:
    """{action: the SQL that installs that trigger}, without pgtrigger's shared helper."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    _setup_django()
    from tests.testapp.models import Invoice

    found = {}
    for trigger in Invoice._meta.triggers:  # type: ignore[attr-defined]
        action = trigger.name.removeprefix("pgaudit_")
        if action not in ACTIONS:
            continue
        # The library's own template (capture/compiled.py): the whole installation SQL.
        sql = trigger.compile(Invoice).install_sql
        found[action] = _tidy(sql, trigger.get_func(Invoice))
    return found


def render(markdown: str, sql: dict[str, str]) -> str:
    def block(match: re.Match[str]) -> str:
        action, indent = match["action"], match["indent"]
        if action not in sql:
            raise SystemExit(f"capture.md asks for a {action!r} block; no such trigger")
        code = "".join(f"{indent}{line}".rstrip() + "\n" for line in sql[action].splitlines())
        return (
            f"{indent}<!-- BEGIN generated: {action} -->\n{indent}```sql\n{code}{indent}```\n"
            f"{indent}<!-- END generated -->"
        )

    return BLOCK.sub(block, markdown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="update docs/capture.md in place")
    mode.add_argument("--check", action="store_true", help="fail if docs/capture.md is stale")
    args = parser.parse_args(argv)
    sql = trigger_sql()
    if not (args.write or args.check):
        for action in ACTIONS:
            print(f"-- {action.upper()}\n{sql[action]}")
        return 0
    current = CAPTURE_MD.read_text(encoding="utf-8")
    wanted = render(current, sql)
    if args.write:
        CAPTURE_MD.write_text(wanted, encoding="utf-8")
        return 0
    if wanted != current:
        diff = difflib.unified_diff(
            current.splitlines(), wanted.splitlines(), "docs/capture.md", "generated", lineterm=""
        )
        print("\n".join(diff))
        print("docs/capture.md is stale: run python docs/gen_trigger_example.py --write")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
