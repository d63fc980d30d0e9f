"""Markdown (and JSON) of a run: medians, min–max, paired ratios, audit rows, bytes."""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.runner import Options, Results, Sample
from benchmarks.subjects import Subject

STORAGE_TARGETS = {"insert": 300, "update": 150}
READ_TARGET = 1.02
PLAN_TARGET = 1.25  # "about what the big UPDATE costs alone"


def ms(seconds: float) -> str:
    value = seconds * 1000
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def spread(values: list[float]) -> str:
    if not values:
        return "—"
    med = statistics.median(values)
    if len(values) == 1:
        return ms(med)
    return f"{ms(med)} ({ms(min(values))}–{ms(max(values))})"


def ratio_text(value: float) -> str:
    return f"{value:.2f}×" if value < 10 else f"{value:.0f}×"


def paired_ratios(audited: list[Sample], baseline: list[Sample]) -> list[float]:
    """Ratio per repetition: both were measured side by side in the same repetition."""
    return [a.seconds / b.seconds for a, b in zip(audited, baseline, strict=False) if b.seconds > 0]


def ratio_cell(ratios: list[float]) -> str:
    if not ratios:
        return "—"
    med = statistics.median(ratios)
    if len(ratios) == 1:
        return ratio_text(med)
    return f"**{ratio_text(med)}** ({min(ratios):.2f}–{max(ratios):.2f})"


def capture_note(samples: list[Sample], expected: int) -> str | None:
    rows = min(s.rows for s in samples)
    if rows == 0:
        return "not captured"
    if rows < expected:
        return f"partial ({rows:,}/{expected:,})"
    return None


def met(value: float | None, target: float | None) -> str:
    if value is None or target is None:
        return ""
    return "met" if value <= target else "**missed**"


def render(
    subjects: list[Subject],
    options: Options,
    results: Results,
    machine: dict[str, str],
    missing_peers: dict[str, str],
    large: Any = None,
) -> str:
    out: list[str] = []
    add = out.append
    add("## Benchmark results")
    add("")
    add(
        f"{machine['date']}; {machine['cpus']} CPUs ({machine['machine']}); PostgreSQL "
        f"{machine['postgresql']} (synchronous_commit={machine['synchronous_commit']}, "
        f"shared_buffers={machine['shared_buffers']}); Django {machine['django']}; Python "
        f"{machine['python']}. {options.reps} interleaved repetition(s)"
        + (" — **--quick smoke run, timings meaningless**" if options.quick else "")
        + "."
    )
    add("")
    _writes(out, subjects, options, results)
    _peers(out, subjects, options, results, missing_peers)
    _storage(out, subjects, results, missing_peers)
    _reads(out, results)
    _plan(out, results)
    if large is not None:
        from benchmarks.large import render_large

        render_large(out, large)
    if results.failures:
        add("")
        add("**Capture failures:** " + "; ".join(results.failures))
    return "\n".join(out)


def _writes(out: list[str], subjects: list[Subject], options: Options, results: Results) -> None:
    add = out.append
    add("### Writes: pgaudit_django against the same workload on an unaudited table")
    add("")
    add(
        "| workload | rows | unaudited ms, median (min–max) | pgaudit_django ms | "
        "ratio, median of paired (range) | target | | audit rows written (attributed) | "
        "context only |"
    )
    add("|---|---:|---:|---:|---:|---:|---|---:|---:|")
    for workload in options.workloads:
        base = results.samples.get((workload.key, "plain"), [])
        ours = results.samples.get((workload.key, "pgaudit"), [])
        ratios = paired_ratios(ours, base)
        med = statistics.median(ratios) if ratios else None
        rows = results.sizes.get(workload.key, options.rows(workload))
        written = f"{ours[-1].rows:,} ({ours[-1].attributed:,})" if ours else "—"
        context_only = paired_ratios(results.samples.get((workload.key, "context_only"), []), base)
        only = ratio_text(statistics.median(context_only)) if context_only else "—"
        add(
            f"| {workload.title} | {rows:,} | {spread([s.seconds for s in base])} | "
            f"{spread([s.seconds for s in ours])} | {ratio_cell(ratios)} | "
            f"≤ {workload.target:.2f}× | {met(med, workload.target)} | {written} | {only} |"
        )
    add("")
    add(
        '"context only": the unaudited table written with `pgaudit_django.context()` and the '
        "connection wrapper on (no trigger): the part of the ratio paid before PostgreSQL's "
        "triggers run."
    )
    add("")


def _peers(
    out: list[str],
    subjects: list[Subject],
    options: Options,
    results: Results,
    missing_peers: dict[str, str],
) -> None:
    audited = [s for s in subjects if s.key not in ("plain", "context_only")]
    if len(audited) == 1 and not missing_peers:
        return
    add = out.append
    add("### Ratios against the peers (same run, same unaudited baseline)")
    add("")
    titles = [s.title for s in audited] + list(missing_peers)
    add("| workload | " + " | ".join(titles) + " |")
    add("|---|" + "---:|" * len(titles))
    for workload in options.workloads:
        base = results.samples.get((workload.key, "plain"), [])
        rows = results.sizes.get(workload.key, options.rows(workload))
        cells = []
        for subject in audited:
            key = (workload.key, subject.key)
            if key in results.errors:
                cells.append(f"n/a ({results.errors[key]})")
                continue
            samples = results.samples.get(key, [])
            if not samples:
                cells.append("—")
                continue
            ratios = paired_ratios(samples, base)
            text = ratio_text(statistics.median(ratios)) if ratios else "—"
            if len(samples) < options.reps:
                text += f" (n={len(samples)})"
            note = capture_note(samples, rows)
            cells.append(f"{note} ({text})" if note else text)
        cells += [f"n/a ({reason})" for reason in missing_peers.values()]
        add(f"| {workload.title} | " + " | ".join(cells) + " |")
    add("")
    add(
        '"not captured": the library wrote no audit row for that write path (its time is shown '
        "for completeness). (n=1): the first repetition took over "
        f"{options.peer_budget_s:.0f} s, so it was not repeated."
    )
    add("")


def _storage(
    out: list[str], subjects: list[Subject], results: Results, missing_peers: dict[str, str]
) -> None:
    add = out.append
    add("### Storage per audit row (bytes)")
    add("")
    add(
        "| library | INSERT: tuple | heap | total incl. indexes | one-field UPDATE: tuple | "
        "heap | total incl. indexes |"
    )
    add("|---|---:|---:|---:|---:|---:|---:|")
    for subject in subjects:
        if subject.key in results.storage_errors:
            add(f"| {subject.title} | n/a ({results.storage_errors[subject.key]}) |||||| ")
            continue
        stored = results.storage.get(subject.key)
        if stored is None:
            continue
        i, u = stored.insert, stored.update
        add(
            f"| {subject.title} | {i.tuple:.0f} | {i.heap:.0f} | {i.total:.0f} | "
            f"{u.tuple:.0f} | {u.heap:.0f} | {u.total:.0f} |"
        )
    for peer, reason in missing_peers.items():
        add(f"| {peer} | n/a ({reason}) |||||| ")
    add("")
    ours = results.storage.get("pgaudit")
    if ours is not None:
        add(
            f"Targets: ≤ {STORAGE_TARGETS['insert']} bytes per INSERT "
            f"(heap {ours.insert.heap:.0f}: {met(ours.insert.heap, STORAGE_TARGETS['insert'])}; "
            f"total {ours.insert.total:.0f}: {met(ours.insert.total, STORAGE_TARGETS['insert'])}), "
            f"≤ {STORAGE_TARGETS['update']} per one-field UPDATE "
            f"(heap {ours.update.heap:.0f}: {met(ours.update.heap, STORAGE_TARGETS['update'])}; "
            f"total {ours.update.total:.0f}: {met(ours.update.total, STORAGE_TARGETS['update'])})."
        )
        add("")


def _reads(out: list[str], results: Results) -> None:
    if not results.reads and not results.read_errors:
        return
    add = out.append
    add("### Reads: a request running 50 SELECTs and no write (Django test client)")
    add("")
    add("| middleware | ms per request, median (min–max) | ratio (paired) | target |")
    add("|---|---:|---:|---|")
    base = results.reads.get("none", [])
    for key, title in results.read_titles.items():
        if key in results.read_errors:
            add(f"| {title} | n/a ({results.read_errors[key]}) | | |")
            continue
        values = results.reads.get(key, [])
        ratios = [v / b for v, b in zip(values, base, strict=False) if b > 0]
        med = statistics.median(ratios) if ratios else None
        target = "" if key == "none" else f"≤ {READ_TARGET:.2f}×"
        verdict = met(med, READ_TARGET) if key == "pgaudit" else ""
        add(
            f"| {title} | {spread(values)} | {ratio_cell(ratios) if key != 'none' else '1'} | "
            f"{target} {verdict} |"
        )
    add("")


def _plan(out: list[str], results: Results) -> None:
    if not results.plan:
        return
    add = out.append
    add("### Plan stability: a 1-row UPDATE, then a big UPDATE, on the same connection")
    add("")
    add("| table | big UPDATE alone, ms | after a 1-row UPDATE, ms | ratio (paired) |")
    add("|---|---:|---:|---:|")
    for key, variants in results.plan.items():
        alone, after = variants.get("alone", []), variants.get("after_small", [])
        ratios = [a / b for a, b in zip(after, alone, strict=False) if b > 0]
        title = "pgaudit_django" if key == "pgaudit" else "unaudited"
        add(f"| {title} | {spread(alone)} | {spread(after)} | {ratio_cell(ratios)} |")
    add("")


def as_json(
    subjects: list[Subject],
    options: Options,
    results: Results,
    machine: dict[str, str],
    large: Any = None,
) -> dict[str, Any]:
    return {
        "machine": machine,
        "reps": options.reps,
        "quick": options.quick,
        "workloads": {
            w.key: {
                "rows": results.sizes.get(w.key, options.rows(w)),
                "target": w.target,
                "subjects": {
                    s.key: [
                        {"seconds": x.seconds, "audit_rows": x.rows, "attributed": x.attributed}
                        for x in results.samples.get((w.key, s.key), [])
                    ]
                    for s in subjects
                },
            }
            for w in options.workloads
        },
        "errors": {f"{w}/{s}": e for (w, s), e in results.errors.items()},
        "storage": {
            k: {"insert": v.insert.__dict__, "update": v.update.__dict__}
            for k, v in results.storage.items()
        },
        "reads": results.reads,
        "plan": results.plan,
        "large": getattr(large, "as_dict", lambda: None)() if large is not None else None,
        "failures": results.failures,
    }
