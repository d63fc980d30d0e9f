"""Registers N generated tracked models in an isolated app registry; run as a script.

``python -m tests.capture.scale.many_models N`` prints one JSON line: how many triggers were
attached, how many distinct function names they have, and how long registration took. Used by
tests/capture/test_scale.py (names only, never timings) and by benchmarks (timings).
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(count: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.db import models
    from django.test.utils import isolate_apps

    import pgaudit_django

    started = time.perf_counter()
    names: set[str] = set()
    triggers = 0
    with isolate_apps("tests.testapp"):
        for i in range(count):
            # "shop"-style names: Model150 and Model324 clash under django-pgtrigger's 20-bit
            # digest for the trigger pgaudit_update.
            attrs = {
                "__module__": "tests.testapp.models",
                "name": models.CharField(max_length=20),
                "Meta": type("Meta", (), {"app_label": "shop", "db_table": f"shop_model{i}"}),
            }
            model = type(f"Model{i}", (models.Model,), attrs)
            pgaudit_django.track()(model)
            for trigger in model._meta.triggers:  # type: ignore[attr-defined]
                triggers += 1
                names.add(trigger.get_pgid(model))
    elapsed = time.perf_counter() - started
    print(json.dumps({"triggers": triggers, "distinct_names": len(names), "seconds": elapsed}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
