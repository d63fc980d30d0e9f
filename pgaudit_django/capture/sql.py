"""SQL of the audit triggers, generated per model.

Design (measured, see docs/capture.md and benchmarks/):

* One trigger per operation, ``FOR EACH STATEMENT`` with transition tables: a 50,000-row
  ``QuerySet.update()`` runs the trigger once and writes its audit rows with one
  ``INSERT … SELECT``.
* The diff is generated column by column for the model (no ``jsonb_each`` over a whole row).
* The UPDATE join of OLD and NEW runs through ``EXECUTE`` so PL/pgSQL cannot cache a generic
  plan for it: a plan cached on a one-row statement was seen to turn a 20,000-row UPDATE from
  0.4 s into 253 s on a persistent connection.
* The join is a FULL JOIN on the primary key: a row whose key changed has no partner and is
  recorded as two UPDATE entries (under the old key with ``new`` null, under the new key with
  ``old`` null) instead of vanishing.
* Attribution comes from ``pgaudit_context()`` (see sql/0001_functions.sql), called once per
  statement; its ``disabled`` flag is set when auditing is deliberately off (``disabled()``).
"""

from __future__ import annotations

from pgaudit_django.capture.spec import CaptureSpec, Column

OLD_TABLE = "pgaudit_old"
NEW_TABLE = "pgaudit_new"
# jsonb_build_object takes at most 100 arguments: 50 key/value pairs.
_MAX_PAIRS = 50


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    if "\x00" in value:
        raise ValueError("SQL literals cannot contain NUL bytes")
    return "'" + value.replace("'", "''") + "'"


def _value(alias: str, col: Column, marker: str) -> str:
    ref = f"{alias}.{quote_ident(col.column)}"
    if col.masked:
        # Keep the fact that a value exists (or changed) without the value itself.
        return f"CASE WHEN {ref} IS NULL THEN NULL ELSE to_jsonb({quote_literal(marker)}::text) END"
    return ref


def _object(pairs: list[tuple[str, str]]) -> str:
    """jsonb_build_object over any number of pairs (chunked under the 100-argument limit)."""
    chunks = [pairs[i : i + _MAX_PAIRS] for i in range(0, len(pairs), _MAX_PAIRS)] or [[]]
    parts = [
        "jsonb_build_object(" + ", ".join(f"{quote_literal(k)}, {v}" for k, v in chunk) + ")"
        for chunk in chunks
    ]
    return " || ".join(parts)


def _snapshot(spec: CaptureSpec, alias: str, side: str) -> str:
    """Every captured field as {"old": …, "new": …} with one side null (CREATE and DELETE)."""
    pairs = []
    for col in spec.columns:
        value = _value(alias, col, spec.mask_marker)
        pair = f"'old', {value}, 'new', NULL" if side == "old" else f"'old', NULL, 'new', {value}"
        pairs.append((col.attname, f"jsonb_build_object({pair})"))
    return _object(pairs)


def _diff(spec: CaptureSpec) -> str:
    """Only the changed fields; unchanged ones contribute an empty object."""
    terms = []
    for col in spec.columns:
        o, n = f"o.{quote_ident(col.column)}", f"n.{quote_ident(col.column)}"
        pair = (
            f"jsonb_build_object('old', {_value('o', col, spec.mask_marker)}, "
            f"'new', {_value('n', col, spec.mask_marker)})"
        )
        terms.append(
            f"CASE WHEN {o} IS DISTINCT FROM {n} "
            f"THEN jsonb_build_object({quote_literal(col.attname)}, {pair}) ELSE '{{}}'::jsonb END"
        )
    return "\n           || ".join(terms) if terms else "'{}'::jsonb"


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
    IF _pgaudit_off THEN
        RETURN NULL;  -- disabled() for this transaction; the application recorded that itself
    END IF;
    _pgaudit_ct := pgaudit_content_type({app_label}, {model_name});
    -- Transition tables of large statements push plan costs over jit_above_cost, and compiling
    -- the plan then costs more than the insert. Off for our statement only, restored after.
    PERFORM set_config('jit', 'off', true);
"""
EPILOGUE = """
    PERFORM set_config('jit', _pgaudit_jit, true);
    RETURN NULL;"""


def declare() -> list[tuple[str, str]]:
    """PL/pgSQL variables; the first one runs before django-pgtrigger's "ignore" check.

    pgtrigger lets any session skip a trigger by naming it in ``pgtrigger.ignore``. Evaluating
    ``pgaudit_note_bypass`` in DECLARE records such a skip in the audit trail before pgtrigger's
    check returns early.
    """
    return [
        ("_pgaudit_bypass", "BOOLEAN := pgaudit_note_bypass(TG_NAME, TG_TABLE_NAME, TG_OP)"),
        ("_pgaudit_ctx", "BIGINT"),
        ("_pgaudit_user", "pgaudit_auditlog.user_id%TYPE"),
        ("_pgaudit_ct", "INTEGER"),
        ("_pgaudit_off", "BOOLEAN"),
        ("_pgaudit_jit", "TEXT := current_setting('jit')"),
    ]


def _preamble(spec: CaptureSpec) -> str:
    return PREAMBLE.format(
        app_label=quote_literal(spec.app_label), model_name=quote_literal(spec.model_name)
    )


def _table_name_expr() -> str:
    # The table is only stored when the content type is unknown (e.g. a data migration on a
    # fresh database, before Django created content types): it costs bytes on every row.
    return "CASE WHEN _pgaudit_ct IS NULL THEN TG_TABLE_NAME::text END"


def insert_function(spec: CaptureSpec) -> str:
    pk = f"n.{quote_ident(spec.pk_column)}"
    return f"""{_preamble(spec)}
    INSERT INTO pgaudit_auditlog ({_INSERT_COLUMNS})
    SELECT now(), 'CREATE', _pgaudit_ct, {_table_name_expr()}, {pk}::text, {_repr(spec, "n")},
           {_snapshot(spec, "n", "new")},
           _pgaudit_ctx, _pgaudit_user
    FROM {NEW_TABLE} AS n;{EPILOGUE}"""


def delete_function(spec: CaptureSpec) -> str:
    pk = f"o.{quote_ident(spec.pk_column)}"
    return f"""{_preamble(spec)}
    INSERT INTO pgaudit_auditlog ({_INSERT_COLUMNS})
    SELECT now(), 'DELETE', _pgaudit_ct, {_table_name_expr()}, {pk}::text, {_repr(spec, "o")},
           {_snapshot(spec, "o", "old")},
           _pgaudit_ctx, _pgaudit_user
    FROM {OLD_TABLE} AS o;{EPILOGUE}"""


def update_function(spec: CaptureSpec) -> str:
    pk = quote_ident(spec.pk_column)
    repr_expr = (
        "''"
        if spec.repr_column is None
        else f"left(coalesce(n.{quote_ident(spec.repr_column)}::text, "
        f"o.{quote_ident(spec.repr_column)}::text, ''), 255)"
    )
    statement = f"""
    INSERT INTO pgaudit_auditlog ({_INSERT_COLUMNS})
    SELECT now(), 'UPDATE', $1, $2, coalesce(n.{pk}, o.{pk})::text, {repr_expr}, d.changes, $3, $4
    FROM {OLD_TABLE} AS o
    FULL JOIN {NEW_TABLE} AS n ON n.{pk} = o.{pk}
    CROSS JOIN LATERAL (SELECT {_diff(spec)} AS changes) AS d
    WHERE d.changes <> '{{}}'::jsonb"""
    return f"""{_preamble(spec)}
    -- EXECUTE: planned afresh for each statement's transition tables (see module docstring).
    EXECUTE {dollar_quote(statement)}
    USING _pgaudit_ct, {_table_name_expr()}, _pgaudit_ctx, _pgaudit_user;{EPILOGUE}"""


def truncate_function(spec: CaptureSpec) -> str:
    return f"""{_preamble(spec)}
    INSERT INTO pgaudit_auditlog ({_INSERT_COLUMNS})
    VALUES (now(), 'TRUNCATE', _pgaudit_ct, TG_TABLE_NAME::text, NULL, '', NULL,
            _pgaudit_ctx, _pgaudit_user);{EPILOGUE}"""


def dollar_quote(body: str) -> str:
    tag = "$pgaudit$"
    if tag in body:  # pragma: no cover - a column name would have to contain the tag
        raise ValueError("cannot dollar-quote a body containing $pgaudit$")
    return f"{tag}{body}\n    {tag}"
