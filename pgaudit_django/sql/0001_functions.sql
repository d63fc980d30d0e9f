-- pgaudit_django support functions, version 1 (rendered by migration pgaudit.0001_initial).

-- The acting context of the current transaction.
--
-- The application sends `SELECT set_config('pgaudit.context', '<json>', true)` in the same
-- round trip as each write statement (docs/attribution.md). The first audited statement of a
-- transaction turns that JSON into a pgaudit_auditcontext row; later statements with the same
-- JSON reuse it through two transaction-local settings, so a 5,000-statement transaction writes
-- one context row. Both settings are transaction-local: they vanish at COMMIT/ROLLBACK and are
-- restored by a savepoint rollback together with the context row they point at.
-- The cache only names a row; the user and the "disabled" flag are read from that row, which
-- must belong to this transaction: a session forging the cache settings can neither switch
-- capture off nor borrow another transaction's context (it just gets a fresh context row).
-- Sessions that never set a context (psql, cron SQL, other programs) still get a row naming the
-- database role, application_name and client address.
-- Malformed JSON never fails the user's write: it is recorded with source 'invalid'.
CREATE OR REPLACE FUNCTION pgaudit_context(
    OUT context_id bigint, OUT user_id {user_pk_type}, OUT disabled boolean
) LANGUAGE plpgsql AS $$
DECLARE
    src    text := coalesce(current_setting('pgaudit.context', true), '');
    cached text := coalesce(current_setting('pgaudit.context_cache', true), '');
    c      jsonb;
BEGIN
    IF cached ~ '^[0-9]{1,18}$' AND src = coalesce(current_setting('pgaudit.context_src', true), '') THEN
        SELECT a.id, a.user_id, a.capture_disabled INTO context_id, user_id, disabled
        FROM pgaudit_auditcontext AS a
        WHERE a.created = now() AND a.id = cached::bigint AND a.transaction_id = txid_current();
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;

    BEGIN
        c := CASE WHEN src = '' THEN NULL ELSE src::jsonb END;
        user_id := nullif(c->>'user', '')::{user_pk_type};
        INSERT INTO pgaudit_auditcontext (
            source, application_name, client_addr, backend_pid, user_id, user_label,
            ip_address, user_agent, session_hash, request_id, method, path, route, reason,
            metadata, capture_disabled)
        VALUES (
            CASE WHEN c IS NULL THEN 'database' ELSE left(coalesce(c->>'src', 'app'), 16) END,
            left(current_setting('application_name'), 64), inet_client_addr(), pg_backend_pid(),
            user_id, left(coalesce(c->>'user_label', ''), 150),
            (c->>'ip')::inet, left(coalesce(c->>'ua', ''), 512),
            left(coalesce(c->>'session', ''), 64), left(coalesce(c->>'request_id', ''), 64),
            left(coalesce(c->>'method', ''), 16), left(coalesce(c->>'path', ''), 512),
            left(coalesce(c->>'route', ''), 255), left(coalesce(c->>'reason', ''), 512),
            c->'meta', coalesce((c->>'disabled')::boolean, false))
        RETURNING id, capture_disabled INTO context_id, disabled;
    EXCEPTION WHEN OTHERS THEN
        -- Keep the write and the audit row; keep what was sent, for a reviewer.
        user_id := NULL;
        disabled := false;
        INSERT INTO pgaudit_auditcontext (source, application_name, client_addr, backend_pid, metadata)
        VALUES ('invalid', left(current_setting('application_name'), 64), inet_client_addr(),
                pg_backend_pid(),
                jsonb_build_object('error', SQLERRM, 'raw', left(src, 2000)))
        RETURNING id INTO context_id;
    END;
    PERFORM set_config('pgaudit.context_src', src, true);
    PERFORM set_config('pgaudit.context_cache', context_id::text, true);
END;
$$;

-- Content type id by natural key, resolved at run time: ids differ between databases.
-- PL/pgSQL, not LANGUAGE sql: the triggers call it from a PL/pgSQL expression, where a SQL
-- function is planned again in every transaction (about 30 µs, measured by the benchmarks on
-- every autocommit write); PL/pgSQL keeps the plan for the session.
CREATE OR REPLACE FUNCTION pgaudit_content_type(p_app_label text, p_model text)
RETURNS integer LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT id FROM django_content_type WHERE app_label = p_app_label AND model = p_model);
END;
$$;

-- Called from the DECLARE section of every audit trigger, i.e. before django-pgtrigger's
-- "pgtrigger.ignore" check. When a session asked pgtrigger to skip an audit trigger, the skip
-- itself is written to the trail (action 'AUDIT_BYPASS'): the bypass stays possible for
-- emergencies but is never silent.
CREATE OR REPLACE FUNCTION pgaudit_note_bypass(p_trigger name, p_table name, p_op text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    ignored text := current_setting('pgtrigger.ignore', true);
    ctx record;
BEGIN
    IF ignored IS NULL OR ignored = '' OR ignored = '{}' THEN
        RETURN false;
    END IF;
    IF NOT (p_trigger::text = ANY (ignored::text[])) THEN
        RETURN false;
    END IF;
    SELECT * INTO ctx FROM pgaudit_context();
    INSERT INTO pgaudit_auditlog (timestamp, action, table_name, changes, context_id, user_id)
    VALUES (now(), 'AUDIT_BYPASS', p_table::text,
            jsonb_build_object('mechanism', 'pgtrigger.ignore', 'trigger', p_trigger::text,
                               'operation', p_op, 'statement', left(current_query(), 2000)),
            ctx.context_id, ctx.user_id);
    RETURN true;
EXCEPTION WHEN invalid_text_representation THEN
    RETURN false;
END;
$$;

-- Fills context_id/user_id of rows the application writes through the ORM (events), so they
-- carry the same attribution as captured rows. Row-level, but its WHEN clause keeps it from
-- firing for trigger-written rows, which always carry a context.
CREATE OR REPLACE FUNCTION pgaudit_fill_context() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ctx record;
BEGIN
    SELECT * INTO ctx FROM pgaudit_context();
    NEW.context_id := ctx.context_id;
    IF NEW.user_id IS NULL THEN
        NEW.user_id := ctx.user_id;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER pgaudit_fill_context BEFORE INSERT ON pgaudit_auditlog
    FOR EACH ROW WHEN (NEW.context_id IS NULL) EXECUTE FUNCTION pgaudit_fill_context();
