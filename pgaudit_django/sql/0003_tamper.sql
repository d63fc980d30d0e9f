-- pgaudit_django storage, version 3: tamper detection (an event trigger recording DDL).
-- Rendered by migration pgaudit.0003_storage ({schema}: see 0003_storage.sql).
--
-- Row triggers cannot see DDL, and DDL is how audit capture is switched off: dropping or
-- replacing a trigger function, DISABLE TRIGGER, detaching a partition. This function records
-- such DDL into the audit trail as an 'AUDIT_DDL' row (who, when, which objects, the
-- statement) and into the server log (RAISE LOG), which SQL cannot erase afterwards.
-- What counts:
--   * functions named pgaudit_* or pgaudit_cap_* (our support functions and the audit
--     trigger functions django-pgtrigger generates): created/replaced, altered, dropped;
--   * triggers named pgaudit_cap_* (the audit triggers): created/replaced, renamed,
--     dropped; triggers named pgaudit_* (guards, context fillers) likewise, except while a
--     maintenance function adds them to a new partition;
--   * tables named pgaudit_* that are audit tables, their partitions or event tables: ALTER
--     (including ATTACH/DETACH PARTITION and DISABLE TRIGGER) and DROP; any GRANT/REVOKE
--     whose statement names a pgaudit_* object;
--   * on a tracked table (one that has audit triggers): ALTER TABLE ... DISABLE TRIGGER or
--     ENABLE REPLICA TRIGGER, and any ALTER TABLE that leaves an audit trigger disabled;
--     CREATE RULE (a DO INSTEAD rule can divert writes away from the triggers).
-- TRUNCATE is not DDL: the guard triggers refuse it (sql/0003_storage.sql).
-- It never raises: DDL, and migrations in particular, must never fail because of it. DDL run by
-- `migrate` (django-pgtrigger re-creates trigger functions when a model changes) is recorded
-- like any other; the statement shows what it was.
-- Creating an event trigger needs a superuser: migration 0003 installs it when the migrating
-- role is one, otherwise a superuser runs `SELECT pgaudit_install_event_triggers();` once.

CREATE FUNCTION pgaudit_record_ddl() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $$
DECLARE
    r record;
    v_objects jsonb := '[]'::jsonb;
    item jsonb;
    obj_name text;
    first_table text;
    maintenance boolean := false;
    v_statement text := left(coalesce(current_query(), ''), 4000);
    ctx record;
BEGIN
    BEGIN
        maintenance := pgaudit_maintenance_allowed();
    EXCEPTION WHEN OTHERS THEN
        maintenance := false;  -- e.g. while pgaudit's own objects are being dropped
    END;

    IF TG_EVENT = 'ddl_command_end' THEN
        FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
            item := NULL;
            IF r.command_tag IN ('GRANT', 'REVOKE') THEN
                -- No object identity is reported for GRANT/REVOKE: the statement names them.
                IF v_statement ~* '\mpgaudit_' THEN
                    item := jsonb_build_object(
                        'kind', 'privileges', 'object_type', r.object_type,
                        'names', (SELECT jsonb_agg(DISTINCT lower(m[1]))
                                  FROM regexp_matches(v_statement, '\m(pgaudit_\w+)', 'gi') AS m));
                END IF;
            ELSIF r.classid = 'pg_proc'::regclass THEN
                SELECT jsonb_build_object('kind', 'function', 'name', p.proname::text)
                INTO item FROM pg_proc p
                WHERE p.oid = r.objid
                  AND (p.proname LIKE 'pgaudit\_%' OR p.proname LIKE 'pgaudit\_cap\_%');
            ELSIF r.classid = 'pg_trigger'::regclass THEN
                SELECT jsonb_build_object('kind', 'trigger', 'name', t.tgname::text,
                                          'table', t.tgrelid::regclass::text)
                INTO item FROM pg_trigger t
                WHERE t.oid = r.objid
                  AND (t.tgname LIKE 'pgaudit\_cap\_%'
                       OR (t.tgname LIKE 'pgaudit\_%' AND NOT maintenance));
            ELSIF r.classid = 'pg_rewrite'::regclass THEN
                SELECT jsonb_build_object('kind', 'rule', 'name', w.rulename::text,
                                          'table', w.ev_class::regclass::text)
                INTO item FROM pg_rewrite w
                WHERE w.oid = r.objid
                  AND EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = w.ev_class
                              AND t.tgname LIKE 'pgaudit\_cap\_%');
            ELSIF r.classid = 'pg_class'::regclass AND r.objsubid = 0 THEN
                SELECT c.relname::text INTO obj_name FROM pg_class c WHERE c.oid = r.objid;
                IF obj_name LIKE 'pgaudit\_%'
                   AND (obj_name IN ('pgaudit_auditlog', 'pgaudit_auditcontext',
                                     'pgaudit_loginattempt', 'pgaudit_dataexport',
                                     'pgaudit_systemevent', 'pgaudit_maintenance',
                                     'pgaudit_test_mode')
                        OR EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = r.objid))
                   AND r.command_tag = 'ALTER TABLE' THEN
                    item := jsonb_build_object('kind', 'audit table', 'name', obj_name);
                ELSIF r.command_tag = 'ALTER TABLE'
                      AND EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = r.objid
                                  AND t.tgname LIKE 'pgaudit\_cap\_%')
                      AND (v_statement ~* '(disable|enable\s+replica)\s+trigger'
                           OR EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = r.objid
                                      AND t.tgname LIKE 'pgaudit\_cap\_%'
                                      AND t.tgenabled IN ('D', 'R'))) THEN
                    item := jsonb_build_object(
                        'kind', 'tracked table', 'name', obj_name,
                        'disabled_audit_triggers', (
                            SELECT coalesce(jsonb_agg(t.tgname::text ORDER BY t.tgname), '[]')
                            FROM pg_trigger t WHERE t.tgrelid = r.objid
                              AND t.tgname LIKE 'pgaudit\_cap\_%'
                              AND t.tgenabled IN ('D', 'R')));
                END IF;
            END IF;
            IF item IS NOT NULL THEN
                v_objects := v_objects || jsonb_build_array(
                    item || jsonb_build_object('command', r.command_tag,
                                               'identity', r.object_identity));
            END IF;
        END LOOP;
    ELSE  -- sql_drop: the objects are already gone from the catalogs; names come from here
        FOR r IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
            obj_name := r.address_names[array_upper(r.address_names, 1)];
            IF (r.object_type = 'function'
                AND (obj_name LIKE 'pgaudit\_%' OR obj_name LIKE 'pgaudit\_cap\_%'))
               OR (r.object_type = 'trigger'
                   AND (obj_name LIKE 'pgaudit\_cap\_%'
                        OR (obj_name LIKE 'pgaudit\_%' AND NOT maintenance)))
               OR (r.object_type = 'table' AND obj_name LIKE 'pgaudit\_%')
               OR (r.object_type = 'event trigger' AND obj_name LIKE 'pgaudit\_%')
            THEN
                v_objects := v_objects || jsonb_build_array(jsonb_build_object(
                    'kind', r.object_type, 'name', obj_name, 'command', 'DROP',
                    'identity', r.object_identity));
            END IF;
        END LOOP;
    END IF;

    IF v_objects = '[]'::jsonb THEN
        RETURN;
    END IF;
    -- Outside the database first: a later TRUNCATE by a superuser cannot remove a log line.
    RAISE LOG 'pgaudit: DDL on audit objects by % (role %): % %', session_user,
        current_setting('role', true), TG_TAG, v_objects;
    first_table := coalesce(v_objects->0->>'table', v_objects->0->>'name',
                           v_objects->0->'names'->>0);
    BEGIN
        SELECT * INTO ctx FROM pgaudit_context();
        INSERT INTO pgaudit_auditlog (timestamp, action, table_name, object_repr, changes,
                                      context_id, user_id)
        VALUES (now(), 'AUDIT_DDL', left(first_table, 63), left(TG_TAG, 255),
                jsonb_build_object('command', TG_TAG, 'event', TG_EVENT, 'objects', v_objects,
                                   'statement', v_statement, 'session_user', session_user::text,
                                   'role', current_setting('role', true),
                                   'maintenance', maintenance),
                ctx.context_id, ctx.user_id);
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'pgaudit: could not record % in the audit trail: %', TG_TAG, SQLERRM;
    END;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'pgaudit: DDL recording failed for %: %', TG_TAG, SQLERRM;
END;
$$;

-- Creating event triggers needs a superuser: run once as one when migrate could not.
-- ENABLE ALWAYS: they also fire under session_replication_role = replica.
CREATE FUNCTION pgaudit_install_event_triggers() RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, {schema}, pg_temp AS $$
BEGIN
    DROP EVENT TRIGGER IF EXISTS pgaudit_ddl_end;
    DROP EVENT TRIGGER IF EXISTS pgaudit_ddl_drop;
    CREATE EVENT TRIGGER pgaudit_ddl_end ON ddl_command_end
        WHEN TAG IN ('ALTER TABLE', 'CREATE FUNCTION', 'ALTER FUNCTION', 'CREATE TRIGGER',
                     'ALTER TRIGGER', 'CREATE RULE', 'GRANT', 'REVOKE')
        EXECUTE FUNCTION pgaudit_record_ddl();
    CREATE EVENT TRIGGER pgaudit_ddl_drop ON sql_drop EXECUTE FUNCTION pgaudit_record_ddl();
    ALTER EVENT TRIGGER pgaudit_ddl_end ENABLE ALWAYS;
    ALTER EVENT TRIGGER pgaudit_ddl_drop ENABLE ALWAYS;
END;
$$;
REVOKE EXECUTE ON FUNCTION pgaudit_install_event_triggers() FROM PUBLIC;

-- For monitoring: are both event triggers there and enabled?
CREATE FUNCTION pgaudit_event_triggers_installed() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT count(*) = 2 FROM pg_catalog.pg_event_trigger
    WHERE evtname IN ('pgaudit_ddl_end', 'pgaudit_ddl_drop') AND evtenabled <> 'D'
$$;
