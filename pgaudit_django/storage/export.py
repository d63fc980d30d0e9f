"""Writing audit rows to a compressed file before retention removes them.

Rows leave PostgreSQL through ``COPY (SELECT row_to_json(t) ...) TO STDOUT``, streamed into a
gzip file, one JSON object per line. COPY's CSV mode is used with a quote character and a
delimiter that JSON never contains unescaped (\\x01, \\x02), so each line is the JSON text
exactly as PostgreSQL produced it (text mode would double every backslash).
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgaudit_django.capture.sql import quote_ident

COPY_OPTIONS = "(FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"


@dataclass(frozen=True)
class ExportedFile:
    path: Path
    rows: int
    size: int  # bytes on disk (compressed)


def copy_query_to_gzip(
    connection: Any, select_sql: str, params: list[Any], path: Path
) -> ExportedFile:
    """Stream ``select_sql`` (one json column) into ``path`` as gzip JSON lines."""
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    statement = connection.ops.compose_sql(f"COPY ({select_sql}) TO STDOUT {COPY_OPTIONS}", params)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    counter = _LineCounter()
    with connection.cursor() as cursor, gzip.open(tmp, "wb") as out:
        raw = cursor.cursor
        if is_psycopg3:
            with raw.copy(statement) as copy:
                for chunk in copy:
                    data = bytes(chunk)
                    counter.feed(data)
                    out.write(data)
        else:  # psycopg2
            counter.wrap(out)
            raw.copy_expert(statement, counter)
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    tmp.replace(path)  # complete files only: a crash leaves a ".part", never a short file
    return ExportedFile(path=path, rows=counter.lines, size=path.stat().st_size)


def export_relation(connection: Any, relation: str, order_by: str, path: Path) -> ExportedFile:
    """Every row of one table or partition."""
    return copy_query_to_gzip(
        connection,
        f"SELECT row_to_json(t) FROM {quote_ident(relation)} AS t ORDER BY {order_by}",
        [],
        path,
    )


class _LineCounter:
    """Counts newline bytes; for psycopg2 also acts as the file object ``copy_expert`` writes to."""

    def __init__(self) -> None:
        self.lines = 0
        self._target: Any = None

    def feed(self, data: bytes) -> None:
        self.lines += data.count(b"\n")

    def wrap(self, target: Any) -> None:
        self._target = target

    def write(self, data: bytes | str) -> int:
        chunk = data.encode() if isinstance(data, str) else data
        self.feed(chunk)
        return int(self._target.write(chunk))


def record_export(
    exported: ExportedFile, *, description: str, filters: dict[str, Any], using: str
) -> Any:
    """A ``DataExport`` row for the file: retention's exports are exports like any other."""
    from pgaudit_django.models import DataExport

    return DataExport.objects.using(using).create(
        username=_os_user(),
        export_type=description[:100],
        file_format="jsonl.gz",
        record_count=exported.rows,
        file_size=exported.size,
        filters=filters,
        file_path=str(exported.path)[:500],
    )


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()[:254]
    except Exception:  # no login name in some containers
        return ""
