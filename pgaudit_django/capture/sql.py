"""SQL of the audit triggers, generated per model.

Design (measured, see docs/capture.md and benchmarks/):

* One trigger per operation, ``FOR EACH STATEMENT`` with transition tables: a 50,000-row
  ``QuerySet.update()`` runs the trigger once and writes its audit rows with one
  ``INSERT … SELECT``.
* The diff is generated column by column for the model (no ``jsonb_each`` over a whole row).
* The function around this SQL (``capture/compiled.py``) is ``SECURITY DEFINER`` with a fixed
  ``search_path`` and ``jit = off``: the statements here name tables unqualified and resolve them
  in the audit schema only, never in ``pg_temp``.
* Every operation is one statement with one cached plan, whatever the statement's size (see
  ``update_function`` for why a cached UPDATE plan cannot turn quadratic).
* ``changes`` is built as JSON text and cast to ``jsonb`` once per row. Nested
  ``jsonb_build_object`` calls serialize every inner object and re-read it into the outer one,
  and ``jsonb || jsonb`` re-serializes both sides; the text route gives the same ``jsonb``
  (``to_json`` and ``to_jsonb`` convert values by the same rules) at about half the cost.
* The join is a FULL JOIN on the primary key: a row whose key changed has no partner and is
  recorded as two UPDATE entries (under the old key with ``new`` null, under the new key with
  ``old`` null) instead of vanishing.
* Attribution comes from ``pgaudit_context()`` (see sql/0001_functions.sql), called once per
  statement; its ``disabled`` flag is set when auditing is deliberately off (``disabled()``).
"""

from __future__ import annotations

import json

from pgaudit_django.capture.spec import CaptureSpec, Column

OLD_TABLE = "pgaudit_old"
NEW_TABLE = "pgaudit_new"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    if "\x00" in value:
        raise ValueError("SQL literals cannot contain NUL bytes")
    return "'" + value.replace("'", "''") + "'"


def _json_key(name: str) -> str:
    """A field name as a JSON string (field names are identifiers: nothing to escape in SQL)."""
    return json.dumps(name, ensure_ascii=False)


# How a value of each unbounded kind is measured and hashed without converting it to JSON:
# ``octet_length`` of text and bytea reads the TOAST header only; jsonb has no such length, and
# its stored (possibly compressed) size decides, which is conservative.
_SIZE_AND_BYTES = {
    "text": ("octet_length({ref})", "octet_length({ref})", "convert_to({ref}, 'UTF8')"),
    "bytes": ("octet_length({ref})", "octet_length({ref})", "{ref}"),
    "json": (
        "pg_column_size({ref})",
        "octet_length({ref}::text)",
        "convert_to({ref}::text, 'UTF8')",
    ),
}
# The key of the object that stands in for a value too large to copy (docs/capture.md).
OMITTED_KEY = "$pgaudit_omitted"


def _json(alias: str, col: Column, marker: str, max_bytes: int) -> str:
    """SQL text expression: the column's value as JSON text; SQL NULL becomes ``null``."""
    ref = f"{alias}.{quote_ident(col.column)}"
    if col.masked:
        # Keep the fact that a value exists (or changed) without the value itself.
        masked = quote_literal(json.dumps(marker, ensure_ascii=False))
        return f"CASE WHEN {ref} IS NULL THEN 'null' ELSE {masked} END"
    value = f"coalesce(to_json({ref})::text, 'null')"
    if col.unbounded is None:
        return value
    # A value too large to copy (jsonb documents stop at 256 MB: copying it would fail the
    # user's write) is recorded by its size and SHA-256 instead; the write always succeeds.
    size, length, octets = (t.format(ref=ref) for t in _SIZE_AND_BYTES[col.unbounded])
    omitted = (
        f"""'{{"{OMITTED_KEY}":true,"bytes":' || {length} || ',"sha256":"'"""
        f""" || encode(sha256({octets}), 'hex') || '"}}'"""
    )
    return f"CASE WHEN {size} > {max_bytes} THEN {omitted} ELSE {value} END"


def _concat(parts: list[tuple[bool, str]]) -> str:
    """``||`` of (is_literal, text) parts; neighbouring literals are merged into one."""
    merged: list[tuple[bool, str]] = []
    for is_literal, text in parts:
        if is_literal and merged and merged[-1][0]:
            merged[-1] = (True, merged[-1][1] + text)
        else:
            merged.append((is_literal, text))
    return "\n           || ".join(quote_literal(t) if lit else t for lit, t in merged)


def _snapshot(spec: CaptureSpec, alias: str, side: str) -> str:
    """Every captured field as {"old": …, "new": …} with one side null (CREATE and DELETE)."""
    if not spec.columns:
        return "'{}'::jsonb"
    parts: list[tuple[bool, str]] = []
    for i, col in enumerate(spec.columns):
        head = ("{" if i == 0 else ",") + _json_key(col.attname)
        if side == "old":
            before, after = head + ':{"old":', ',"new":null}'
        else:
            before, after = head + ':{"old":null,"new":', "}"
        parts += [
            (True, before),
            (False, _json(alias, col, spec.mask_marker, spec.max_value_bytes)),
            (True, after),
        ]
    parts.append((True, "}"))
    return f"({_concat(parts)})::jsonb"


def _changed(spec: CaptureSpec) -> str:
    """True when any captured field differs: the rows that get an UPDATE entry.

    The same per-column comparisons as ``_diff``, but cheap: a filter that called ``_diff``
    would build every row's JSON twice (PostgreSQL inlines the expression into the filter and
    into the output).
    """
    if not spec.columns:
        return "false"
    return "\n       OR ".join(
        f"o.{quote_ident(c.column)} IS DISTINCT FROM n.{quote_ident(c.column)}"
        for c in spec.columns
    )


def _diff(spec: CaptureSpec) -> str:
    """Only the changed fields; evaluated for the rows ``_changed`` lets through."""
    if not spec.columns:
        return "'{}'::jsonb"
    terms = []
    for col in spec.columns:
        o, n = f"o.{quote_ident(col.column)}", f"n.{quote_ident(col.column)}"
        head = quote_literal(_json_key(col.attname) + ':{"old":')
        middle = quote_literal(',"new":')
        old_value = _json("o", col, spec.mask_marker, spec.max_value_bytes)
        new_value = _json("n", col, spec.mask_marker, spec.max_value_bytes)
        terms.append(
            f"CASE WHEN {o} IS DISTINCT FROM {n}\n"
            f"                  THEN {head} || {old_value} || {middle} || {new_value} || '}}' END"
        )
    # array_to_string skips the NULLs of unchanged fields (and has no 100-argument limit).
    body = ",\n             ".join(terms)
    return f"('{{' || array_to_string(ARRAY[\n             {body}], ',') || '}}')::jsonb"


def _repr(spec: CaptureSpec, alias: str) -> str:
    if spec.repr_column is None:
        return "''"
    return f"left(coalesce({alias}.{quote_ident(spec.repr_column)}::text, ''), 255)"


_INSERT_COLUMNS = (
    "timestamp, action, content_type_id, table_name, object_id, object_repr, changes, "
    "context_id, user_id"
)

# Shared by every operation: who is acting, and which content type the rows belong to.
# The content type is looked up by natural key on every statement, never baked into the SQL:
# its id differs between databases. The lookup is inline (PL/pgSQL caches its plan for the
# session) and, like every name here, resolves through the function's fixed search_path: a
# temporary django_content_type cannot re-file the rows under another model.
PREAMBLE = """
    SELECT c.context_id, c.user_id, c.disabled INTO _pgaudit FROM pgaudit_context() AS c;
    SELECT ct.id INTO _pgaudit_ct FROM django_content_type AS ct
    WHERE ct.app_label = {app_label} AND ct.model = {model_name};
    IF _pgaudit.disabled THEN
        -- Captures are off in this context (disabled(), or a session that asked for it): the
        -- rows are skipped, the statement is not; no session can switch capture off silently.
        INSERT INTO pgaudit_auditlog ({_INSERT_COLUMNS})
        VALUES (now(), 'AUDIT_SKIPPED', _pgaudit_ct, TG_TABLE_NAME::text, NULL, '',
                jsonb_build_object('operation', TG_OP), _pgaudit.context_id, _pgaudit.user_id);
        RETURN NULL;
    END IF;"""


def declare() -> list[tuple[str, str]]:
    """PL/pgSQL variables of every audit trigger function.

    The context is a ``record``: a ``%TYPE`` declaration would be resolved when the function is
    created, before its search_path names the audit schema (``capture/compiled.py``).
    """
    return [("_pgaudit", "RECORD"), ("_pgaudit_ct", "INTEGER")]


def _preamble(spec: CaptureSpec) -> str:
    return PREAMBLE.format(
        app_label=quote_literal(spec.app_label),
        model_name=quote_literal(spec.model_name),
        _INSERT_COLUMNS=_INSERT_COLUMNS,
    )


def _table_name_expr() -> str:
    # The table is only stored when the content type is unknown (e.g. a data migration on a
    # fresh database, before Django created content types): it costs bytes on every row.
    return "CASE WHEN _pgaudit_ct IS NULL THEN TG_TABLE_NAME::text END"


_RETURN = """
    RETURN NULL;"""


def _snapshot_insert(spec: CaptureSpec, action: str, alias: str, table: str) -> str:
    side = "new" if alias == "n" else "old"
    pk = f"{alias}.{quote_ident(spec.pk_column)}"
    object_repr = _repr(spec, alias)
    return f"""
    INSERT INTO pgaudit_auditlog ({_INSERT_COLUMNS})
    SELECT now(), '{action}', _pgaudit_ct, {_table_name_expr()}, {pk}::text, {object_repr},
           {_snapshot(spec, alias, side)},
           _pgaudit.context_id, _pgaudit.user_id
    FROM {table} AS {alias};"""


def insert_function(spec: CaptureSpec) -> str:
    return _preamble(spec) + _snapshot_insert(spec, "CREATE", "n", NEW_TABLE) + _RETURN


def delete_function(spec: CaptureSpec) -> str:
    return _preamble(spec) + _snapshot_insert(spec, "DELETE", "o", OLD_TABLE) + _RETURN


def update_function(spec: CaptureSpec) -> str:
    """One cached plan for every statement size.

    The FULL JOIN can only be a hash or a merge join (PostgreSQL has no nested-loop FULL
    JOIN), so a plan cached for a one-row statement stays linear for a 50,000-row one: the
    nested loop that once turned a 20,000-row UPDATE from 0.4 s into 253 s cannot be chosen.
    Planning afresh would cost about 300 µs per statement, more than writing a row.
    """
    pk = quote_ident(spec.pk_column)
    repr_expr = (
        "''"
        if spec.repr_column is None
        else f"left(coalesce(n.{quote_ident(spec.repr_column)}::text, "
        f"o.{quote_ident(spec.repr_column)}::text, ''), 255)"
    )
    statement = f"""
    INSERT INTO pgaudit_auditlog ({_INSERT_COLUMNS})
    SELECT now(), 'UPDATE', _pgaudit_ct, {_table_name_expr()}, coalesce(n.{pk}, o.{pk})::text,
           {repr_expr},
           {_diff(spec)},
           _pgaudit.context_id, _pgaudit.user_id
    FROM {OLD_TABLE} AS o
    FULL JOIN {NEW_TABLE} AS n ON n.{pk} = o.{pk}
    WHERE {_changed(spec)};"""
    return _preamble(spec) + statement + _RETURN


def truncate_function(spec: CaptureSpec) -> str:
    return f"""{_preamble(spec)}
    INSERT INTO pgaudit_auditlog ({_INSERT_COLUMNS})
    VALUES (now(), 'TRUNCATE', _pgaudit_ct, TG_TABLE_NAME::text, NULL, '', NULL,
            _pgaudit.context_id, _pgaudit.user_id);
    RETURN NULL;"""
