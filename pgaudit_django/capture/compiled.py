"""The installation SQL of one audit trigger: the library's own template, not django-pgtrigger's.

django-pgtrigger's template (``pgtrigger.compiler.UpsertTriggerSql``) is right for most triggers
and wrong for an audit trigger, in three ways that each let somebody switch capture off:

* its function starts with a call to ``_pgtrigger_should_ignore()``: a public function that any
  role able to ``CREATE OR REPLACE`` it (the owner) can make return true, and that honours
  ``pgtrigger.ignore``, a setting every session may set;
* the function is ``SECURITY INVOKER`` with the caller's ``search_path``: PostgreSQL searches
  ``pg_temp`` first, so a session's ``CREATE TEMP TABLE pgaudit_auditlog (…)`` receives the audit
  rows, which vanish with the session;
* the trigger is ``ENABLE ORIGIN``: ``session_replication_role = replica`` skips it.

This template is versioned like pgtrigger's (migrations reference the class by its import path
and store the hash): **never change what it renders**. A new template is a new class.

Design of what it renders (docs/capture.md, "The installed SQL"):

* ``SECURITY DEFINER``: the function runs as its owner (the role that ran ``migrate``), so the
  application role needs no privilege on the audit tables at all to have its writes recorded,
  and cannot write audit rows of its own making.
* ``SET search_path = pg_catalog, <schema>, pg_temp``: names resolve to the audit schema's
  tables, never to a temporary shadow. The schema is not known when ``makemigrations`` writes
  the SQL, so the function is created with a search path naming no schema at all (nothing
  resolves: safe) and pinned to ``current_schema()`` in the same transaction.
* ``SET jit = off``: the transition tables of big statements push plan costs over
  ``jit_above_cost``, and compiling the plan costs more than the insert.
* ``ENABLE ALWAYS``: fires under ``session_replication_role = replica`` too.
"""

from __future__ import annotations

from pgtrigger import compiler

_TEMPLATE = """
CREATE OR REPLACE FUNCTION {pgid}()
RETURNS TRIGGER
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $pgaudit_fn$
DECLARE
{declare}
BEGIN
{func}
END;
$pgaudit_fn$;
DO $pgaudit_pin$
BEGIN
    EXECUTE 'ALTER FUNCTION ' || quote_ident(current_schema()) || '.{pgid}() '
         || 'SET search_path = pg_catalog, ' || quote_ident(current_schema()) || ', pg_temp';
END;
$pgaudit_pin$;
DROP TRIGGER IF EXISTS {pgid} ON {table};
CREATE TRIGGER {pgid}
    {when} {operation} ON {table}
    {referencing}
    FOR EACH STATEMENT EXECUTE FUNCTION {pgid}();
ALTER TABLE {table} ENABLE ALWAYS TRIGGER {pgid};
COMMENT ON TRIGGER {pgid} ON {table} IS '{hash}';
"""


class AuditTriggerSql(compiler.UpsertTriggerSql):
    """Version 1 of the audit trigger's installation SQL (see the module docstring)."""

    def get_template(self) -> str:
        return _TEMPLATE

    def get_defaults(self, pgid: str) -> dict[str, str]:
        # Keys may be added, never changed: migrations store only the values that differ.
        return {"declare": "", "referencing": ""}
