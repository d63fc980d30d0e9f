"""Create the trigger app that hosts audit triggers for models the project does not own."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:  # importlib.resources.abc only exists from Python 3.11
        from importlib.abc import Traversable

TEMPLATE_PACKAGES = ("pgaudit_django._migrations_templates", "migrations_templates")


def template_root() -> Traversable:
    for package in TEMPLATE_PACKAGES:
        try:
            root = resources.files(package) / "trigger_app"
        except ModuleNotFoundError:
            continue
        if root.is_dir():
            return root
    raise CommandError("pgaudit_django's migrations_templates are missing from this install.")


def render_app(app_name: str, target: Path) -> list[Path]:
    label = app_name.rsplit(".", 1)[-1]
    values = {
        "{{ app_name }}": app_name,
        "{{ app_label }}": label,
        "{{ class_name }}": "".join(p.title() for p in label.split("_")) + "Config",
    }
    written = []

    def copy(node: Traversable, dest: Path) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        for child in node.iterdir():
            if child.is_dir():
                copy(child, dest / child.name)
            elif child.name.endswith("-tpl"):
                text = child.read_text()
                for key, value in values.items():
                    text = text.replace(key, value)
                out = dest / child.name[: -len("-tpl")]
                out.write_text(text)
                written.append(out)

    copy(template_root(), target)
    return written


class Command(BaseCommand):
    help = "Create the app hosting audit triggers for third-party models (AUDIT_TRIGGERS_APP)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("app_name", nargs="?", default="audit_triggers")
        parser.add_argument("--directory", default=".", help="Where to create the app folder.")

    def handle(self, *args: Any, **options: Any) -> None:
        app_name: str = options["app_name"]
        if not app_name.replace(".", "_").isidentifier():
            raise CommandError(f"{app_name!r} is not a valid Python package name.")
        target = Path(options["directory"]) / app_name.rsplit(".", 1)[-1]
        if target.exists() and any(target.iterdir()):
            raise CommandError(f"{target} already exists and is not empty.")
        for path in render_app(app_name, target):
            self.stdout.write(f"created {path}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Add {app_name!r} to INSTALLED_APPS (after the apps it tracks), set "
                f"AUDIT_TRIGGERS_APP = {app_name.rsplit('.', 1)[-1]!r}, then run makemigrations "
                "and migrate."
            )
        )
