"""Runs the workloads, interleaved: every repetition runs every workload on every subject.

Other processes share this machine (2 cores), so absolute timings drift. Interleaving puts the
audited and unaudited runs of one repetition side by side, the subject order rotates between
repetitions, and ratios are taken per repetition (paired) before the median.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings

from benchmarks.storage import StorageResult, empty_audit_tables, measure_storage
from benchmarks.subjects import PgauditSubject, Subject, set_pgaudit_wrapper
from benchmarks.views import SELECTS_PER_REQUEST
from benchmarks.workloads import WORKLOADS, Workload, populate, timed


class CaptureError(AssertionError):
    """--quick: a workload's changes were not all captured and attributed."""


@dataclass
class Sample:
    seconds: float
    rows: int  # audit rows written
    attributed: int


@dataclass
class Options:
    reps: int
    quick: bool
    workloads: tuple[Workload, ...] = WORKLOADS
    # A (signal-based) peer whose single repetition exceeds this is not repeated.
    peer_budget_s: float = 30.0
    read_rounds: int = 8
    read_requests: int = 25
    storage_rows: int = 5_000
    plan_rows: int = 50_000
    empty_audit_each_rep: bool = True

    def rows(self, workload: Workload) -> int:
        return workload.quick_rows if self.quick else workload.rows


@dataclass
class Results:
    samples: dict[tuple[str, str], list[Sample]] = field(default_factory=dict)
    errors: dict[tuple[str, str], str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    storage: dict[str, StorageResult] = field(default_factory=dict)
    storage_errors: dict[str, str] = field(default_factory=dict)
    reads: dict[str, list[float]] = field(default_factory=dict)  # variant -> s/request per rep
    read_titles: dict[str, str] = field(default_factory=dict)
    read_errors: dict[str, str] = field(default_factory=dict)
    read_variants: list[ReadVariant] = field(default_factory=list, repr=False)
    plan: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def rotated(items: list[Any], by: int) -> list[Any]:
    if not items:
        return items
    by %= len(items)
    return items[by:] + items[:by]


def bench_user() -> Any:
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    if not user.has_usable_password():
        user.set_password("bench")
        user.save()
    return user


OURS = ("plain", "pgaudit", "context_only")


def _is_peer(subject: Subject) -> bool:
    return subject.key not in OURS


def run_writes(
    subjects: list[Subject], user: Any, options: Options, results: Results, rep: int
) -> None:
    """One repetition of every write workload on every subject (order rotated by ``rep``)."""
    if options.empty_audit_each_rep:
        for subject in subjects:
            empty_audit_tables(subject)
    for workload in options.workloads:
        rows = options.rows(workload)
        results.sizes[workload.key] = rows
        for subject in rotated(subjects, rep):
            key = (workload.key, subject.key)
            if key in results.errors:
                continue
            done = results.samples.get(key, [])
            if _is_peer(subject) and done and done[0].seconds > options.peer_budget_s:
                continue  # one repetition of a very slow peer is enough to rank it
            try:
                sample = _run_one(subject, workload, rows, user)
            except Exception as exc:
                if not _is_peer(subject):
                    raise
                results.errors[key] = f"{type(exc).__name__}: {exc}".splitlines()[0][:120]
                log(f"  {workload.key:18} {subject.key:16} FAILED {results.errors[key]}")
                _recover()
                continue
            results.samples.setdefault(key, []).append(sample)
            log(
                f"  {workload.key:18} {subject.key:16} {sample.seconds * 1000:9.1f} ms"
                f"  audit rows {sample.rows}"
            )
            if isinstance(subject, PgauditSubject):
                _check_complete(results, workload.key, rows, sample)


def _recover() -> None:
    """After a peer's failure: leave no broken transaction behind."""
    with contextlib.suppress(Exception):  # the connection is being thrown away anyway
        connection.close()


def _run_one(subject: Subject, workload: Workload, rows: int, user: Any) -> Sample:
    state = workload.setup(subject, rows)
    marker = subject.marker()
    gc.collect()
    with subject.acting(user):
        seconds = timed(lambda: workload.timed(subject, rows, state))
    captured = subject.captured_since(marker, user)
    return Sample(seconds, captured.rows, captured.attributed)


def _check_complete(results: Results, what: str, expected: int, sample: Sample) -> None:
    if sample.rows != expected or sample.attributed != expected:
        results.failures.append(
            f"{what}: {expected} rows changed, {sample.rows} audit rows, "
            f"{sample.attributed} attributed to the acting user"
        )


def run_storage(subjects: list[Subject], user: Any, options: Options, results: Results) -> None:
    for subject in subjects:
        if not subject.audit_tables():
            continue
        try:
            result = measure_storage(subject, user, options.storage_rows)
        except Exception as exc:
            if not _is_peer(subject):
                raise
            results.storage_errors[subject.key] = f"{type(exc).__name__}: {exc}".splitlines()[0]
            _recover()
            continue
        results.storage[subject.key] = result
        log(
            f"  storage {subject.key:16} INSERT {result.insert.heap:.0f} B heap /"
            f" {result.insert.total:.0f} B total; UPDATE {result.update.heap:.0f} /"
            f" {result.update.total:.0f}"
        )
        if isinstance(subject, PgauditSubject):
            for what, measured in (("INSERT", result.insert), ("UPDATE", result.update)):
                if measured.rows != options.storage_rows:
                    results.failures.append(
                        f"storage {what}: {options.storage_rows} rows changed, "
                        f"{measured.rows} audit rows"
                    )


# --------------------------------------------------------------------------------------------
# Reads: a request doing 50 SELECTs and no write, with and without the audit machinery.

READ_MIDDLEWARE = {
    "pgaudit": "pgaudit_django.middleware.AuditMiddleware",
    "pghistory_row": "pghistory.middleware.HistoryMiddleware",
    "auditlog": "auditlog.middleware.AuditlogMiddleware",
    "simple_history": "simple_history.middleware.HistoryRequestMiddleware",
}


@dataclass
class ReadVariant:
    key: str
    title: str
    middleware: list[str]
    wrapper: bool
    client: Client


def _read_variants(subjects: list[Subject], user: Any) -> Iterator[ReadVariant | str]:
    base = list(getattr(settings, "BASE_MIDDLEWARE", []))
    wanted = [("none", "no audit library", base, False)]
    for subject in subjects:
        extra = READ_MIDDLEWARE.get(subject.key)
        if extra is not None:
            title = "pghistory" if subject.key.startswith("pghistory") else subject.title
            wanted.append((subject.key, title, [*base, extra], subject.uses_pgaudit_wrapper))
    for key, title, middleware, wrapper in wanted:
        try:
            # The test client loads its middleware chain on its first request and keeps it.
            with override_settings(MIDDLEWARE=middleware):
                set_pgaudit_wrapper(wrapper)
                client = Client()
                client.force_login(user)
                response = client.get("/reads/")
                if response.status_code != 200:
                    raise RuntimeError(f"GET /reads/ answered {response.status_code}")
        except Exception as exc:
            yield f"{key}|{title}|{type(exc).__name__}: {exc}"
            continue
        yield ReadVariant(key, title, middleware, wrapper, client)


def run_reads(
    subjects: list[Subject], user: Any, options: Options, results: Results, rep: int
) -> None:
    plain = subjects[0]
    populate(plain, SELECTS_PER_REQUEST)
    if not results.read_variants:
        for item in _read_variants(subjects, user):
            if isinstance(item, str):
                key, title, error = item.split("|", 2)
                results.read_errors[key] = error
                results.read_titles[key] = title
            else:
                results.read_variants.append(item)
                results.read_titles[item.key] = item.title
    variants = results.read_variants
    marker = PgauditSubject(plain.model).marker()
    spent = {v.key: 0.0 for v in variants}
    for round_ in range(options.read_rounds):
        for variant in rotated(variants, rep + round_):
            set_pgaudit_wrapper(variant.wrapper)
            client = variant.client
            started = time.perf_counter()
            for _ in range(options.read_requests):
                client.get("/reads/")
            spent[variant.key] += time.perf_counter() - started
    requests = options.read_rounds * options.read_requests
    for key, seconds in spent.items():
        results.reads.setdefault(key, []).append(seconds / requests)
    after = PgauditSubject(plain.model).marker()
    if after != marker:
        results.failures.append(f"reads: {after - marker} audit rows written by read-only requests")


# --------------------------------------------------------------------------------------------
# Plan stability: a one-row UPDATE, then a big one, on the same connection.


def _fresh_connection() -> None:
    connection.close()
    connection.ensure_connection()


def run_plan(
    subjects: list[Subject], user: Any, options: Options, results: Results, rep: int
) -> None:
    rows = options.plan_rows
    for subject in rotated([s for s in subjects if s.key in ("plain", "pgaudit")], rep):
        table = subject.table
        big = f'UPDATE "{table}" SET qty = qty + 1'
        measured: dict[str, float] = {}
        for variant in rotated(["alone", "after_small"], rep):
            populate(subject, rows)
            _fresh_connection()
            marker = subject.marker()
            with subject.acting(user), connection.cursor() as cursor:
                if variant == "after_small":
                    cursor.execute(f'UPDATE "{table}" SET qty = qty + 1 WHERE id = 1')
                started = time.perf_counter()
                cursor.execute(big)
                measured[variant] = time.perf_counter() - started
            captured = subject.captured_since(marker, user)
            expected = rows + (1 if variant == "after_small" else 0)
            if isinstance(subject, PgauditSubject):
                _check_complete(
                    results, f"plan stability ({variant})", expected, Sample(0, *_pair(captured))
                )
        by_variant = results.plan.setdefault(subject.key, {})
        for variant, seconds in measured.items():
            by_variant.setdefault(variant, []).append(seconds)
        log(
            f"  plan {subject.key:8} alone {measured['alone'] * 1000:.0f} ms,"
            f" after a 1-row UPDATE {measured['after_small'] * 1000:.0f} ms"
        )


def _pair(captured: Any) -> tuple[int, int]:
    return int(captured.rows), int(captured.attributed)


def run_all(
    subjects: list[Subject],
    options: Options,
    *,
    extra_per_rep: Callable[[int], None] | None = None,
) -> Results:
    user = bench_user()
    results = Results()
    log("storage (bytes per audit row)")
    run_storage(subjects, user, options, results)
    for rep in range(options.reps):
        log(f"repetition {rep + 1}/{options.reps}: writes, reads, plan stability")
        run_writes(subjects, user, options, results, rep)
        run_reads(subjects, user, options, results, rep)
        run_plan(subjects, user, options, results, rep)
        if extra_per_rep is not None:
            extra_per_rep(rep)
    return results
