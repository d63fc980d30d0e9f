"""Package discovery for setuptools; all other metadata lives in pyproject.toml.

The design keeps the migration templates in the top-level ``migrations_templates/`` folder, but
installed code must find them inside the package. ``package_dir`` maps that folder into the wheel
as ``pgaudit_django._migrations_templates``; pyproject's ``packages.find`` cannot list a package
mapped from outside its search root, hence this file. ``migrations_templates/__init__.py`` must
exist: setuptools' editable-install finder only resolves mapped folders that are regular packages.

At run time: ``importlib.resources.files("pgaudit_django._migrations_templates")`` works for
wheel and editable installs alike (checked with pip 23 and setuptools 84).
"""

from setuptools import find_namespace_packages, setup

TEMPLATES = "pgaudit_django._migrations_templates"
# Namespace discovery would otherwise list bytecode folders left by test runs as packages.
PYCACHE = ["__pycache__", "*.__pycache__", "*.__pycache__.*"]

setup(
    packages=[
        *find_namespace_packages(include=["pgaudit_django", "pgaudit_django.*"], exclude=PYCACHE),
        TEMPLATES,
        *(
            f"{TEMPLATES}.{sub}"
            for sub in find_namespace_packages("migrations_templates", exclude=PYCACHE)
        ),
    ],
    package_dir={TEMPLATES: "migrations_templates"},
)
