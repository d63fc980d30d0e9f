-- pgaudit_django storage, version 3: append-only audit tables and least privilege.
-- Rendered by migration pgaudit.0003_storage. {schema} is the quoted schema that holds the audit
-- tables (current_schema() of the migrating connection); it pins the search_path of every
-- SECURITY DEFINER function so that no caller can substitute a table or function of their own.
-- See docs/operations.md for the model this implements.

-- =============================================================================================
-- Who may remove audit rows: maintenance tokens
-- =============================================================================================

-- The transactions currently allowed to delete audit rows: the retention and partition
-- functions (sql/0003_partitions.sql) and a DBA's explicit pgaudit_begin_maintenance(). A token
-- is a row here, not a session variable: any session can set any custom variable, but nobody
-- except the owner can write this table, so a session cannot hand itself the right to rewrite
-- history. A token names the transaction (txid), so it dies with it.
CREATE TABLE pgaudit_maintenance (
    txid      bigint PRIMARY KEY,
    started   timestamptz NOT NULL DEFAULT clock_timestamp(),
    role_name name NOT NULL DEFAULT session_user,
    reason    text NOT NULL
);
REVOKE ALL ON pgaudit_maintenance FROM PUBLIC;

-- Test databases only: Django's test framework empties tables between TransactionTestCase
-- tests with TRUNCATE. A row here (one per database name) lets TRUNCATE through; nothing else.
-- Written only by pgaudit_allow_test_truncate(), owner-only, which the library calls when
-- Django's test runner creates a test database (pgaudit_django/storage/testing.py). Keyed by
-- database name so that a copy of a test database restored under another name is not affected.
CREATE TABLE pgaudit_test_mode (
    database_name name PRIMARY KEY,
    enabled_at    timestamptz NOT NULL DEFAULT now(),
    enabled_by    name NOT NULL DEFAULT session_user
);
REVOKE ALL ON pgaudit_test_mode FROM PUBLIC;

-- Does the current transaction hold a maintenance token? Never assigns a transaction id.
CREATE FUNCTION pgaudit_maintenance_allowed() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM pgaudit_maintenance WHERE txid = txid_current_if_assigned())
$$;

-- Take a token for the current transaction, silently (the callers record what they do).
-- Returns whether it was taken now: a function ends only a token it took itself, so it never
-- cancels a DBA's pgaudit_begin_maintenance() earlier in the same transaction.
CREATE FUNCTION pgaudit_maintenance_token(p_reason text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $$
DECLARE
    tx bigint := txid_current();
    taken integer;
BEGIN
    -- Tokens of finished transactions can never match again; forget them.
    DELETE FROM pgaudit_maintenance
    WHERE txid <> tx AND coalesce(txid_status(txid), 'committed') <> 'in progress';
    INSERT INTO pgaudit_maintenance (txid, reason) VALUES (tx, left(p_reason, 512))
    ON CONFLICT (txid) DO NOTHING;
    GET DIAGNOSTICS taken = ROW_COUNT;
    RETURN taken > 0;
END;
$$;

CREATE FUNCTION pgaudit_end_maintenance() RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $$
    DELETE FROM pgaudit_maintenance WHERE txid = txid_current_if_assigned()
$$;

-- The documented emergency door for a DBA (e.g. an erasure request): the rest of the current
-- transaction may change audit rows, and the trail says who opened the door and why.
CREATE FUNCTION pgaudit_begin_maintenance(p_reason text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $$
DECLARE
    tx bigint;
BEGIN
    IF coalesce(btrim(p_reason), '') = '' THEN
        RAISE EXCEPTION 'pgaudit_begin_maintenance() needs a reason';
    END IF;
    PERFORM pgaudit_maintenance_token(p_reason);
    tx := txid_current();
    INSERT INTO pgaudit_auditlog (timestamp, action, object_repr, changes)
    VALUES (now(), 'AUDIT_MAINTENANCE', left(p_reason, 255),
            jsonb_build_object('reason', left(p_reason, 2000), 'session_user', session_user::text,
                               'txid', tx, 'statement', left(current_query(), 2000)));
    RETURN tx;
END;
$$;

-- Turn the test-database TRUNCATE allowance on or off for the current database.
CREATE FUNCTION pgaudit_allow_test_truncate(p_on boolean) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    IF p_on THEN
        INSERT INTO pgaudit_test_mode (database_name) VALUES (current_database())
        ON CONFLICT (database_name) DO NOTHING;
    ELSE
        DELETE FROM pgaudit_test_mode WHERE database_name = current_database();
    END IF;
END;
$$;

-- Maintenance entry points are the owner's: revoked from PUBLIC (functions are executable by
-- everyone by default). `manage.py pgaudit_grants` never grants them to the application role.
REVOKE EXECUTE ON FUNCTION pgaudit_maintenance_token(text), pgaudit_end_maintenance(),
    pgaudit_begin_maintenance(text), pgaudit_allow_test_truncate(boolean) FROM PUBLIC;

-- =============================================================================================
-- The guard: UPDATE, DELETE and TRUNCATE refused
-- =============================================================================================

-- One function for every guard trigger. Arguments, if any, name the columns an UPDATE may
-- change (SystemEvent's resolution, DataExport's download counter): the rest of the row must
-- stay exactly as it was. SECURITY DEFINER because it reads the owner's private tables.
CREATE FUNCTION pgaudit_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_LEVEL = 'ROW' AND TG_NARGS > 0
       AND (to_jsonb(NEW) - TG_ARGV) = (to_jsonb(OLD) - TG_ARGV) THEN
        RETURN NEW;
    END IF;
    IF pgaudit_maintenance_allowed()
       OR (TG_OP = 'TRUNCATE'
           AND EXISTS (SELECT 1 FROM pgaudit_test_mode WHERE database_name = current_database()))
    THEN
        IF TG_LEVEL = 'STATEMENT' THEN
            RETURN NULL;  -- ignored for statement-level BEFORE triggers: the statement proceeds
        END IF;
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'pgaudit: % on % refused: audit records are append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Old audit data is removed by "manage.py pgaudit_retention" '
                     '(docs/operations.md); only allowed resolution/download columns may change.';
END;
$$;

-- The partitioned audit tables. Statement level on the partitioned table refuses even a
-- statement that matches no row; row level is cloned by PostgreSQL to every partition, present
-- and future, so a statement aimed at a partition directly is refused as well. TRUNCATE
-- triggers are statement level and never cloned: every partition gets its own
-- (pgaudit_create_partition adds it to each new one).
CREATE TRIGGER pgaudit_guard_statement BEFORE UPDATE OR DELETE OR TRUNCATE ON pgaudit_auditlog
    FOR EACH STATEMENT EXECUTE FUNCTION pgaudit_guard();
CREATE TRIGGER pgaudit_guard_rows BEFORE UPDATE OR DELETE ON pgaudit_auditlog
    FOR EACH ROW EXECUTE FUNCTION pgaudit_guard();

CREATE TRIGGER pgaudit_guard_statement BEFORE UPDATE OR DELETE OR TRUNCATE ON pgaudit_auditcontext
    FOR EACH STATEMENT EXECUTE FUNCTION pgaudit_guard();
CREATE TRIGGER pgaudit_guard_rows BEFORE UPDATE OR DELETE ON pgaudit_auditcontext
    FOR EACH ROW EXECUTE FUNCTION pgaudit_guard();

-- Every partition that exists already (the DEFAULT ones, and any kept from an earlier install
-- when this migration is applied again) gets its TRUNCATE guard, enabled always.
DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN
        SELECT inhrelid::regclass FROM pg_inherits
        WHERE inhparent IN ('pgaudit_auditlog'::regclass, 'pgaudit_auditcontext'::regclass)
    LOOP
        EXECUTE format('CREATE TRIGGER pgaudit_guard_truncate BEFORE TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION pgaudit_guard()', part);
        EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER pgaudit_guard_truncate', part);
    END LOOP;
END;
$$;

-- The ORM-side event tables (migration 0002). Login attempts never change; a data export may
-- count its downloads; a system event may be resolved.
CREATE TRIGGER pgaudit_guard_rows BEFORE UPDATE OR DELETE ON pgaudit_loginattempt
    FOR EACH ROW EXECUTE FUNCTION pgaudit_guard();
CREATE TRIGGER pgaudit_guard_rows BEFORE UPDATE OR DELETE ON pgaudit_dataexport
    FOR EACH ROW EXECUTE FUNCTION pgaudit_guard('download_count', 'last_downloaded');
CREATE TRIGGER pgaudit_guard_rows BEFORE UPDATE OR DELETE ON pgaudit_systemevent
    FOR EACH ROW EXECUTE FUNCTION pgaudit_guard(
        'resolved', 'resolved_at', 'resolved_by_id', 'resolved_by_username', 'resolution_notes');
CREATE TRIGGER pgaudit_guard_truncate BEFORE TRUNCATE ON pgaudit_loginattempt
    FOR EACH STATEMENT EXECUTE FUNCTION pgaudit_guard();
CREATE TRIGGER pgaudit_guard_truncate BEFORE TRUNCATE ON pgaudit_dataexport
    FOR EACH STATEMENT EXECUTE FUNCTION pgaudit_guard();
CREATE TRIGGER pgaudit_guard_truncate BEFORE TRUNCATE ON pgaudit_systemevent
    FOR EACH STATEMENT EXECUTE FUNCTION pgaudit_guard();

-- ENABLE ALWAYS: the guards fire even under session_replication_role = replica, the usual way
-- to switch triggers off wholesale (on a partitioned table this recurses to the partitions).
ALTER TABLE pgaudit_auditlog ENABLE ALWAYS TRIGGER pgaudit_guard_statement;
ALTER TABLE pgaudit_auditlog ENABLE ALWAYS TRIGGER pgaudit_guard_rows;
ALTER TABLE pgaudit_auditcontext ENABLE ALWAYS TRIGGER pgaudit_guard_statement;
ALTER TABLE pgaudit_auditcontext ENABLE ALWAYS TRIGGER pgaudit_guard_rows;
ALTER TABLE pgaudit_loginattempt ENABLE ALWAYS TRIGGER pgaudit_guard_rows;
ALTER TABLE pgaudit_loginattempt ENABLE ALWAYS TRIGGER pgaudit_guard_truncate;
ALTER TABLE pgaudit_dataexport ENABLE ALWAYS TRIGGER pgaudit_guard_rows;
ALTER TABLE pgaudit_dataexport ENABLE ALWAYS TRIGGER pgaudit_guard_truncate;
ALTER TABLE pgaudit_systemevent ENABLE ALWAYS TRIGGER pgaudit_guard_rows;
ALTER TABLE pgaudit_systemevent ENABLE ALWAYS TRIGGER pgaudit_guard_truncate;

-- =============================================================================================
-- Least privilege: the shared functions that write for the application
-- =============================================================================================

-- pgaudit_context() writes pgaudit_auditcontext rows on behalf of whoever writes a tracked
-- table: as SECURITY DEFINER it runs as the owner, so the application role needs no privilege
-- at all on pgaudit_auditcontext besides SELECT: it cannot insert or edit context rows of its
-- own making. session_user, which the context row records, is unaffected by SECURITY DEFINER.
-- The per-model capture functions (capture/compiled.py) are SECURITY DEFINER too: the
-- application role needs no privilege on pgaudit_auditlog to have its writes recorded.
-- pgaudit_context() is created SECURITY DEFINER with its search_path by migration 0001.
-- Note: a later CREATE OR REPLACE FUNCTION must repeat these attributes
-- (tests/storage/test_privileges.py fails if they go missing).

-- =============================================================================================
-- Indexes
-- =============================================================================================

-- ORM-side events (logins, views, exports, bypass and DDL records, retention records) are a
-- small fraction of the rows. A partial index on them serves the admin's and the summaries'
-- action filters for events, and lets retention copy out the security rows of a month it drops
-- without reading that month's captured changes (the predicate makes it free for those).
CREATE INDEX pgaudit_log_event_idx ON pgaudit_auditlog (action, timestamp)
    WHERE action NOT IN ('CREATE', 'UPDATE', 'DELETE', 'TRUNCATE');

-- BRIN on the time column, where it pays: aggregates over a time window inside a partition
-- (the summaries' "last 7/30 days" per action, per day, per model) must read heap rows, and
-- with only the primary key's btree the planner scans the whole month. Measured on a
-- 2,000,000-row month (docs/operations.md): a week's GROUP BY action took 233 ms (parallel
-- sequential scan) without it and 97 ms (bitmap scan over the BRIN) with it; the BRIN is 24 kB
-- next to the key's 60 MB, and inserts were not measurably slower (rows arrive in time order,
-- and only completed ranges get summarised, by autovacuum). The btrees of 0001 stay: point
-- lookups, ordering and count(*) (index-only) are theirs. No BRIN on pgaudit_auditcontext
-- (few rows, nothing aggregates it by time) nor on the event tables (btree time indexes
-- from 0002, few rows).
CREATE INDEX pgaudit_log_time_brin ON pgaudit_auditlog USING brin ("timestamp")
    WITH (autosummarize = on);

-- A reviewer's filter: writes that carried no request/context() attribution ('app': the
-- application's own connection outside any context; 'database': a session that sent nothing,
-- such as psql; 'invalid': unparseable context). Partial, so it only holds those contexts.
CREATE INDEX pgaudit_ctx_unattributed_idx ON pgaudit_auditcontext (source, created)
    WHERE source IN ('app', 'database', 'invalid');
