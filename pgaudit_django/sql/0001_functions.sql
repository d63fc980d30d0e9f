-- pgaudit_django support functions, version 1 (rendered by migration pgaudit.0001_initial).

-- The acting context of the current statement.
--
-- The application sends `SELECT set_config('pgaudit_django.context', '<json>', true)` in the
-- same round trip as each write statement (docs/attribution.md). The first audited statement
-- with a given JSON in a transaction turns it into a pgaudit_auditcontext row; later statements
-- with the same JSON reuse it. Every context of the transaction is remembered (a nested
-- context() that returns must not make the outer one write a second, identical row): the
-- transaction-local setting pgaudit_django.context_cache lists "id:md5-of-json" entries, newest
-- first; pgaudit_django.context_src and pgaudit_django.context_current hold the JSON and the
-- row of the context in use (the common case of one context per transaction costs no hashing). Both vanish at COMMIT/ROLLBACK and are
-- restored by a savepoint rollback together with the context rows they point at.
-- The cache only names a row; the user and the "disabled" flag are read from that row, which
-- must belong to this transaction: a session forging the cache settings can neither switch
-- capture off nor borrow another transaction's context (it just gets a fresh context row).
-- Sessions that never set a context (psql, cron SQL, other programs) still get a row naming the
-- database role, application_name and client address.
-- Malformed JSON (or a value of the wrong type) never fails the user's write: it is recorded
-- with source 'invalid'. Only data errors count as malformed: a lock timeout, deadlock,
-- serialization failure, full disk or cancel while writing the context row fails the statement
-- (the user's write fails as it would for any lock timeout; it never commits unattributed).
-- SECURITY DEFINER: the application role may not write pgaudit_auditcontext itself. The fixed
-- search_path makes every name resolve in the audit schema, never to a temporary shadow.
CREATE OR REPLACE FUNCTION pgaudit_context(
    OUT context_id bigint, OUT user_id {user_pk_type}, OUT disabled boolean
) LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $$
DECLARE
    src        text := coalesce(current_setting('pgaudit_django.context', true), '');
    known      text := coalesce(current_setting('pgaudit_django.context_cache', true), '');
    src_md5    text;
    cached     bigint;
    c          jsonb;
    v_source   text;
    v_label    text;
    v_ip       inet;
    v_ua       text;
    v_session  text;
    v_request  text;
    v_method   text;
    v_path     text;
    v_route    text;
    v_reason   text;
    v_meta     jsonb;
    v_error    text;
BEGIN
    IF known <> '' THEN
        IF src = coalesce(current_setting('pgaudit_django.context_src', true), '') THEN
            cached := substring(coalesce(current_setting('pgaudit_django.context_current', true), '')
                                FROM '^[0-9]{1,18}$')::bigint;
        ELSE
            src_md5 := md5(src);
            cached := substring(known FROM '(?:^| )([0-9]{1,18}):' || src_md5)::bigint;
        END IF;
        IF cached IS NOT NULL THEN
            SELECT a.id, a.user_id, a.capture_disabled INTO context_id, user_id, disabled
            FROM pgaudit_auditcontext AS a
            WHERE a.created = now() AND a.id = cached AND a.transaction_id = txid_current();
            IF FOUND THEN
                PERFORM set_config('pgaudit_django.context_src', src, true);
                PERFORM set_config('pgaudit_django.context_current', context_id::text, true);
                RETURN;
            END IF;
        END IF;
    END IF;

    -- Parse everything first, in a block that catches data errors only.
    BEGIN
        c := CASE WHEN src = '' THEN NULL ELSE src::jsonb END;
        v_source := CASE WHEN c IS NULL THEN 'database' ELSE left(coalesce(c->>'src', 'app'), 16) END;
        user_id := nullif(c->>'user', '')::{user_pk_type};
        v_label := left(coalesce(c->>'user_label', ''), 150);
        v_ip := (c->>'ip')::inet;
        v_ua := left(coalesce(c->>'ua', ''), 512);
        v_session := left(coalesce(c->>'session', ''), 64);
        v_request := left(coalesce(c->>'request_id', ''), 64);
        v_method := left(coalesce(c->>'method', ''), 16);
        v_path := left(coalesce(c->>'path', ''), 512);
        v_route := left(coalesce(c->>'route', ''), 255);
        v_reason := left(coalesce(c->>'reason', ''), 512);
        v_meta := c->'meta';
        disabled := coalesce((c->>'disabled')::boolean, false);
    EXCEPTION WHEN data_exception THEN
        -- Keep the write and the audit row; keep what was sent, for a reviewer.
        v_error := SQLERRM;
    END;

    IF v_error IS NULL THEN
        INSERT INTO pgaudit_auditcontext (
            source, application_name, client_addr, backend_pid, user_id, user_label,
            ip_address, user_agent, session_hash, request_id, method, path, route, reason,
            metadata, capture_disabled)
        VALUES (
            v_source, left(current_setting('application_name'), 64), inet_client_addr(),
            pg_backend_pid(), user_id, v_label, v_ip, v_ua, v_session, v_request, v_method,
            v_path, v_route, v_reason, v_meta, disabled)
        RETURNING id INTO context_id;
    ELSE
        user_id := NULL;
        disabled := false;
        INSERT INTO pgaudit_auditcontext (source, application_name, client_addr, backend_pid, metadata)
        VALUES ('invalid', left(current_setting('application_name'), 64), inet_client_addr(),
                pg_backend_pid(),
                jsonb_build_object('error', v_error,
                                   'raw', left(src, 2000)))
        RETURNING id INTO context_id;
    END IF;
    -- Newest first; at most 32 remembered contexts per transaction (each entry ~45 bytes).
    PERFORM set_config('pgaudit_django.context_cache',
                       context_id::text || ':' || coalesce(src_md5, md5(src))
                       || coalesce(' ' || nullif(array_to_string(
                              (string_to_array(known, ' '))[1:31], ' '), ''), ''),
                       true);
    PERFORM set_config('pgaudit_django.context_src', src, true);
    PERFORM set_config('pgaudit_django.context_current', context_id::text, true);
END;
$$;

-- Content type id by natural key, resolved at run time: ids differ between databases. The
-- capture triggers look it up inline; this function serves the SQL written by hand
-- (docs/capture.md) and the ORM-side event writers.
CREATE OR REPLACE FUNCTION pgaudit_content_type(p_app_label text, p_model text)
RETURNS integer LANGUAGE plpgsql STABLE SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    RETURN (SELECT id FROM django_content_type WHERE app_label = p_app_label AND model = p_model);
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
