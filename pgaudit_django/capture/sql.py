"""SQL of the audit triggers, generated per model.

Design (measured, see docs/capture.md and benchmarks/):

* One trigger per operation, ``FOR EACH STATEMENT`` with transition tables: a 50,000-row
  ``QuerySet.update()`` runs the trigger once and writes its audit rows with one
  ``INSERT … SELECT``.
* The diff is generated column by column for the model (no ``jsonb_each`` over a whole row).
* Statements touching more than ``SMALL_STATEMENT_ROWS`` rows run with JIT off and, for UPDATE,
  with the OLD/NEW join planned afresh through ``EXECUTE``: a plan cached on a one-row statement
  was seen to turn a 20,000-row UPDATE from 0.4 s into 253 s on a persistent connection.
  Smaller statements use plans PL/pgSQL caches (made for small transition tables only, so never
  reused for a big one): planning that UPDATE costs about 300 µs, more than writing the row.
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
# Above this many rows a statement is "big": JIT off, and UPDATE plans made for its real size.
SMALL_STATEMENT_ROWS = 1000


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    if "\x00" in value:
        raise ValueError("SQL literals cannot contain NUL bytes")
    return "'" + value.replace("'", "''") + "'"


def _json_key(name: str) -> str:
    """A field name as a JSON string (field names are identifiers: nothing to escape in SQL)."""
    return json.dumps(name, ensure_ascii=False)


def _json(alias: str, col: Column, marker: str) -> str:
    """SQL text expression: the column's value as JSON text; SQL NULL becomes ``null``."""
    ref = f"{alias}.{quote_ident(col.column)}"
    if col.masked:
        # Keep the fact that a value exists (or changed) without the value itself.
        masked = quote_literal(json.dumps(marker, ensure_ascii=False))
        return f"CASE WHEN {ref} IS NULL THEN 'null' ELSE {masked} END"
    return f"coalesce(to_json({ref})::text, 'null')"


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
        parts += [(True, before), (False, _json(alias, col, spec.mask_marker)), (True, after)]
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
        old_value, new_value = _json("o", col, spec.mask_marker), _json("n", col, spec.mask_marker)
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
# its id differs between databases.
PREAMBLE = """
    SELECT c.context_id, c.user_id, c.disabled INTO _pgaudit_ctx, _pgaudit_user, _pgaudit_off
    FROM pgaudit_context() AS c;
    _pgaudit_ct := pgaudit_content_type({app_label}, {model_name});
    IF _pgaudit_off THEN
        -- Captures are off in this context (disabled(), or a session that asked for it): the
        -- rows are skipped, the statement is not; no session can switch capture off silently.
        INSERT INTO pgaudit_auditlog ({_INSERT_COLUMNS})
        VALUES (now(), 'AUDIT_SKIPPED', _pgaudit_ct, TG_TABLE_NAME::text, NULL, '',
                jsonb_build_object('operation', TG_OP), _pgaudit_ctx, _pgaudit_user);
        RETURN NULL;
    END IF;"""


def declare() -> list[tuple[str, str]]:
    """PL/pgSQL variables; the first one runs before django-pgtrigger's "ignore" check.

    pgtrigger lets any session skip a trigger by naming it in ``pgtrigger.ignore``. Evaluating
    ``pgaudit_note_bypass`` in DECLARE records such a skip in the audit trail before pgtrigger's
    check returns early. The setting is read inline first: when nothing is ignored (every
    statement but an emergency's) that saves a function call per statement.
    """
    bypass = (
        "BOOLEAN := CASE WHEN coalesce(current_setting('pgtrigger.ignore', true), '')"
        " IN ('', '{}') THEN false"
        " ELSE pgaudit_note_bypass(TG_NAME, TG_TABLE_NAME, TG_OP) END"
    )
    return [
        ("_pgaudit_bypass", bypass),
        ("_pgaudit_ctx", "BIGINT"),
        ("_pgaudit_user", "pgaudit_auditlog.user_id%TYPE"),
        ("_pgaudit_ct", "INTEGER"),
        ("_pgaudit_off", "BOOLEAN"),
        ("_pgaudit_jit", "TEXT"),
    ]


def _preamble(spec: CaptureSpec) -> str:
    return PREAMBLE.format(
        app_label=quote_literal(spec.app_label),
        model_name=quote_literal(spec.model_name),
        _INSERT_COLUMNS=_INSERT_COLUMNS,
    )


def _by_size(transition_table: str, small: str, big: str) -> str:
    """``small`` for statements of at most SMALL_STATEMENT_ROWS rows, else ``big`` with JIT off.

    Two separate statements in the function body get two separate PL/pgSQL plan caches, so a
    plan made for a handful of rows is never reused for 50,000.
    """
    return f"""
    PERFORM FROM {transition_table} OFFSET {SMALL_STATEMENT_ROWS} LIMIT 1;
    IF NOT FOUND THEN{small}
        RETURN NULL;
    END IF;
    -- Transition tables of large statements push plan costs over jit_above_cost, and compiling
    -- the plan then costs more than the insert. Off for our statement only, restored after.
    _pgaudit_jit := current_setting('jit');
    PERFORM set_config('jit', 'off', true);{big}
    PERFORM set_config('jit', _pgaudit_jit, true);
    RETURN NULL;"""


def _table_name_expr() -> str:
    # The table is only stored when the content type is unknown (e.g. a data migration on a
    # fresh database, before Django created content types): it costs bytes on every row.
    return "CASE WHEN _pgaudit_ct IS NULL THEN TG_TABLE_NAME::text END"


def _snapshot_insert(spec: CaptureSpec, action: str, alias: str, table: str) -> str:
    side = "new" if alias == "n" else "old"
    pk = f"{alias}.{quote_ident(spec.pk_column)}"
    object_repr = _repr(spec, alias)
    return f"""
        INSERT INTO pgaudit_auditlog ({_INSERT_COLUMNS})
        SELECT now(), '{action}', _pgaudit_ct, {_table_name_expr()}, {pk}::text, {object_repr},
               {_snapshot(spec, alias, side)},
               _pgaudit_ctx, _pgaudit_user
        FROM {table} AS {alias};"""


def insert_function(spec: CaptureSpec) -> str:
    statement = _snapshot_insert(spec, "CREATE", "n", NEW_TABLE)
    return _preamble(spec) + _by_size(NEW_TABLE, statement, statement)


def delete_function(spec: CaptureSpec) -> str:
    statement = _snapshot_insert(spec, "DELETE", "o", OLD_TABLE)
    return _preamble(spec) + _by_size(OLD_TABLE, statement, statement)


def _update_statement(spec: CaptureSpec, values: tuple[str, str, str, str]) -> str:
    """The UPDATE entries; ``values`` are the SQL for content type, table name, context, user."""
    pk = quote_ident(spec.pk_column)
    repr_expr = (
        "''"
        if spec.repr_column is None
        else f"left(coalesce(n.{quote_ident(spec.repr_column)}::text, "
        f"o.{quote_ident(spec.repr_column)}::text, ''), 255)"
    )
    ct, table_name, context, user = values
    return f"""
        INSERT INTO pgaudit_auditlog ({_INSERT_COLUMNS})
        SELECT now(), 'UPDATE', {ct}, {table_name}, coalesce(n.{pk}, o.{pk})::text, {repr_expr},
               {_diff(spec)},
               {context}, {user}
        FROM {OLD_TABLE} AS o
        FULL JOIN {NEW_TABLE} AS n ON n.{pk} = o.{pk}
        WHERE {_changed(spec)}"""


def update_function(spec: CaptureSpec) -> str:
    small = _update_statement(
        spec, ("_pgaudit_ct", _table_name_expr(), "_pgaudit_ctx", "_pgaudit_user")
    )
    big = f"""
    -- EXECUTE: planned afresh for each big statement's transition tables (module docstring).
    EXECUTE {dollar_quote(_update_statement(spec, ("$1", "$2", "$3", "$4")))}
    USING _pgaudit_ct, {_table_name_expr()}, _pgaudit_ctx, _pgaudit_user;"""
    return _preamble(spec) + _by_size(NEW_TABLE, small + ";", big)


def truncate_function(spec: CaptureSpec) -> str:
    return f"""{_preamble(spec)}
    INSERT INTO pgaudit_auditlog ({_INSERT_COLUMNS})
    VALUES (now(), 'TRUNCATE', _pgaudit_ct, TG_TABLE_NAME::text, NULL, '', NULL,
            _pgaudit_ctx, _pgaudit_user);
    RETURN NULL;"""


def dollar_quote(body: str) -> str:
    tag = "$pgaudit$"
    if tag in body:  # pragma: no cover - a column name would have to contain the tag
        raise ValueError("cannot dollar-quote a body containing $pgaudit$")
    return f"{tag}{body}\n    {tag}"
