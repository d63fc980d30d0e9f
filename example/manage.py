#!/usr/bin/env python
"""The example project's manage.py: ``python example/manage.py demo`` runs the guided tour."""

import os
import sys


def main() -> None:
    # pgaudit_django must be installed (pip install -e . or the wheel); the project's own
    # packages are found next to this file, which Python puts first on sys.path.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exampleproject.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
