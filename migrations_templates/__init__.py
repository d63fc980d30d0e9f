"""Migration templates, installed as ``pgaudit_django._migrations_templates`` (see setup.py).

This file must stay: setuptools' editable-install finder only maps regular packages, so without it
``importlib.resources.files("pgaudit_django._migrations_templates")`` fails in ``pip install -e``.
"""
