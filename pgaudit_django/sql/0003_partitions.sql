-- pgaudit_django storage, version 3: time partitions and retention by partition.
-- Rendered by migration pgaudit.0003_storage ({schema}: see 0003_storage.sql).
--
-- pgaudit_auditlog (by "timestamp") and pgaudit_auditcontext (by "created") are cut into
-- periods of a month (or a week, or a day) at UTC boundaries, whatever the session TimeZone,
-- so every server and client agrees where a period starts. Both tables are cut the same way:
-- a captured row and its context carry the same now() and land in the same period.
-- The DEFAULT partitions of migration 0001 stay: a write never fails for want of a partition.
-- Partition names are for people (pgaudit_auditlog_y2026m01); the functions read bounds from
-- the catalog, never from names.
-- All functions run with TimeZone = UTC so that timestamps formatted into DDL are unambiguous.

-- ---------------------------------------------------------------------------------------------
-- Period arithmetic (in timestamp-without-time-zone space, so that "+ 1 month" does not depend
-- on the session's TimeZone)
-- ---------------------------------------------------------------------------------------------

CREATE FUNCTION pgaudit_period_start(p_ts timestamptz, p_unit text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
    SELECT date_trunc(p_unit, p_ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
$$;

CREATE FUNCTION pgaudit_period_end(p_start timestamptz, p_unit text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
    SELECT ((p_start AT TIME ZONE 'UTC') + ('1 ' || p_unit)::interval) AT TIME ZONE 'UTC'
$$;

CREATE FUNCTION pgaudit_partition_name(p_parent regclass, p_start timestamptz, p_unit text)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT (SELECT relname FROM pg_catalog.pg_class WHERE oid = p_parent) || '_'
        || to_char(p_start AT TIME ZONE 'UTC',
                   CASE p_unit WHEN 'month' THEN '"y"YYYY"m"MM'
                               WHEN 'week' THEN '"y"IYYY"w"IW'
                               ELSE '"y"YYYY"m"MM"d"DD' END)
$$;

-- The column each audit table is partitioned by; NULL for any other table.
CREATE FUNCTION pgaudit_partition_key(p_parent regclass) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE p_parent WHEN 'pgaudit_auditlog'::regclass THEN 'timestamp'
                         WHEN 'pgaudit_auditcontext'::regclass THEN 'created' END
$$;

-- ---------------------------------------------------------------------------------------------
-- The partitions as they are
-- ---------------------------------------------------------------------------------------------

-- Bounds of every partition of an audit table, parsed from the catalog's partition bound
-- expression ("FOR VALUES FROM ('…') TO ('…')" or "DEFAULT"). MINVALUE/MAXVALUE, which only a
-- hand-made partition could have, become -infinity/infinity.
CREATE FUNCTION pgaudit_partition_bounds(p_parent regclass)
RETURNS TABLE (partition regclass, lo timestamptz, hi timestamptz, is_default boolean)
LANGUAGE plpgsql STABLE SET TimeZone = 'UTC' AS $$
DECLARE
    r record;
    m text[];
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS part, pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = p_parent
    LOOP
        partition := r.part;
        IF r.bound = 'DEFAULT' THEN
            lo := NULL; hi := NULL; is_default := true;
        ELSE
            m := regexp_match(r.bound, '^FOR VALUES FROM \((.*)\) TO \((.*)\)$');
            is_default := false;
            lo := CASE WHEN m[1] = 'MINVALUE' THEN '-infinity'::timestamptz
                       ELSE btrim(m[1], '''')::timestamptz END;
            hi := CASE WHEN m[2] = 'MAXVALUE' THEN 'infinity'::timestamptz
                       ELSE btrim(m[2], '''')::timestamptz END;
        END IF;
        RETURN NEXT;
    END LOOP;
END;
$$;

-- Every partition of both audit tables, for the management commands and for monitoring.
-- security_only: a remainder kept by retention (only the security rows of a retired period).
CREATE FUNCTION pgaudit_partitions()
RETURNS TABLE (parent regclass, partition regclass, lo timestamptz, hi timestamptz,
               is_default boolean, security_only boolean, estimated_rows bigint, total_bytes bigint)
LANGUAGE sql STABLE AS $$
    SELECT b_parent, b.partition, b.lo, b.hi, b.is_default,
           c.relname LIKE '%\_sec', greatest(c.reltuples, 0)::bigint,
           pg_catalog.pg_total_relation_size(b.partition)
    FROM unnest(ARRAY['pgaudit_auditlog'::regclass, 'pgaudit_auditcontext'::regclass]) AS b_parent,
         LATERAL pgaudit_partition_bounds(b_parent) AS b
         JOIN pg_catalog.pg_class c ON c.oid = b.partition
    ORDER BY 1, b.is_default DESC, b.lo
$$;

-- ---------------------------------------------------------------------------------------------
-- Creating partitions
-- ---------------------------------------------------------------------------------------------

-- Attach a ready table as the partition [p_lo, p_hi) of p_parent, with its TRUNCATE guard.
-- The table carries a CHECK constraint matching the bounds, so ATTACH does not scan it (and a
-- detached partition can be attached again just as cheaply).
CREATE FUNCTION pgaudit_attach_partition(p_parent regclass, p_table text,
                                         p_lo timestamptz, p_hi timestamptz)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, {schema}, pg_temp SET TimeZone = 'UTC' AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER pgaudit_guard_truncate BEFORE TRUNCATE ON %I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION pgaudit_guard()', p_table);
    EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER pgaudit_guard_truncate', p_table);
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   p_parent, p_table, p_lo, p_hi);
END;
$$;

-- An empty table shaped like p_parent, constrained to [p_lo, p_hi).
CREATE FUNCTION pgaudit_new_partition_table(p_parent regclass, p_table text,
                                            p_lo timestamptz, p_hi timestamptz)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, {schema}, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    v_key text := pgaudit_partition_key(p_parent);
BEGIN
    -- Schema-qualified: pg_catalog comes first in this function's search_path.
    EXECUTE format('CREATE TABLE {schema}.%I (LIKE %s INCLUDING DEFAULTS, '
                   'CONSTRAINT %I CHECK (%I >= %L AND %I < %L))',
                   p_table, p_parent, left(p_table, 56) || '_bounds', v_key, p_lo, v_key, p_hi);
END;
$$;

-- The partition [p_lo, p_lo + 1 unit) of one audit table. Rows of that period already in the
-- DEFAULT partition are moved into it in the same transaction (PostgreSQL refuses to create a
-- partition whose rows sit in the DEFAULT one). Returns NULL when a partition overlapping the
-- period exists already (also after a change of AUDIT_PARTITION_INTERVAL: the old partitions
-- stay, new periods start where they end).
CREATE FUNCTION pgaudit_create_partition(p_parent regclass, p_lo timestamptz, p_unit text,
                                         OUT partition_name text, OUT moved_rows bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, {schema}, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    v_hi timestamptz := pgaudit_period_end(p_lo, p_unit);
    v_key text := pgaudit_partition_key(p_parent);
    v_default regclass;
    v_has_rows boolean := false;
    v_token boolean;
BEGIN
    moved_rows := 0;
    IF v_key IS NULL THEN
        RAISE EXCEPTION 'pgaudit: % is not a partitioned audit table', p_parent;
    END IF;
    IF EXISTS (SELECT 1 FROM pgaudit_partition_bounds(p_parent) b
               WHERE NOT b.is_default AND b.lo < v_hi AND p_lo < b.hi) THEN
        RETURN;
    END IF;
    partition_name := pgaudit_partition_name(p_parent, p_lo, p_unit);
    IF to_regclass(quote_ident(partition_name)) IS NOT NULL THEN
        RAISE WARNING 'pgaudit: a table named % exists but is not a partition of %; '
                      'period % left to the DEFAULT partition', partition_name, p_parent, p_lo;
        partition_name := NULL;
        RETURN;
    END IF;

    -- Maintenance: rows may be moved out of DEFAULT, and the event trigger marks this DDL as
    -- the library's own.
    v_token := pgaudit_maintenance_token('partition maintenance: ' || partition_name);
    PERFORM pgaudit_new_partition_table(p_parent, partition_name, p_lo, v_hi);
    SELECT b.partition INTO v_default FROM pgaudit_partition_bounds(p_parent) b WHERE b.is_default;
    IF v_default IS NOT NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I >= %L AND %I < %L)',
                       v_default, v_key, p_lo, v_key, v_hi) INTO v_has_rows;
    END IF;
    IF v_has_rows THEN
        -- Writers routed to the DEFAULT partition wait until the move is committed; writers of
        -- other periods do not.
        EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', v_default);
        EXECUTE format('WITH moved AS (DELETE FROM %s WHERE %I >= %L AND %I < %L RETURNING *) '
                       'INSERT INTO %I SELECT * FROM moved',
                       v_default, v_key, p_lo, v_key, v_hi, partition_name);
        GET DIAGNOSTICS moved_rows = ROW_COUNT;
    END IF;
    PERFORM pgaudit_attach_partition(p_parent, partition_name, p_lo, v_hi);
    IF v_token THEN
        PERFORM pgaudit_end_maintenance();
    END IF;
END;
$$;

-- Partitions of both audit tables for every period from p_from to p_to (the period containing
-- p_to included). Serialised by an advisory lock, so cron and a migrate may run together.
CREATE FUNCTION pgaudit_ensure_partitions_between(p_from timestamptz, p_to timestamptz,
                                                  p_unit text DEFAULT 'month')
RETURNS TABLE (partition_name text, moved_rows bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, {schema}, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    period timestamptz;
    parent regclass;
    made record;
    n integer := 0;
    v_token boolean;
BEGIN
    IF p_unit NOT IN ('month', 'week', 'day') THEN
        RAISE EXCEPTION 'pgaudit: partition unit must be month, week or day, not %', p_unit;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('pgaudit_partitions'));
    v_token := pgaudit_maintenance_token('partition maintenance');
    period := pgaudit_period_start(p_from, p_unit);
    WHILE period <= p_to LOOP
        n := n + 1;
        IF n > 5000 THEN
            RAISE EXCEPTION 'pgaudit: refusing to create more than 5000 periods at once';
        END IF;
        FOREACH parent IN ARRAY ARRAY['pgaudit_auditlog'::regclass, 'pgaudit_auditcontext'::regclass]
        LOOP
            SELECT * INTO made FROM pgaudit_create_partition(parent, period, p_unit);
            IF made.partition_name IS NOT NULL THEN
                partition_name := made.partition_name;
                moved_rows := made.moved_rows;
                RETURN NEXT;
            END IF;
        END LOOP;
        period := pgaudit_period_end(period, p_unit);
    END LOOP;
    IF v_token THEN
        PERFORM pgaudit_end_maintenance();
    END IF;
END;
$$;

-- What `migrate` (post_migrate), `manage.py pgaudit_partitions` and a cron job call: the
-- current period and the next p_months_ahead months exist, and every period that has rows
-- waiting in a DEFAULT partition (a clock far off, an import of old data) gets its own
-- partition, with the rows moved into it.
CREATE FUNCTION pgaudit_ensure_partitions(p_months_ahead integer DEFAULT 3,
                                          p_unit text DEFAULT 'month')
RETURNS TABLE (partition_name text, moved_rows bigint)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, {schema}, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    parent regclass;
    def regclass;
    waiting timestamptz;
BEGIN
    IF p_months_ahead < 0 OR p_months_ahead > 120 THEN
        RAISE EXCEPTION 'pgaudit: months ahead must be between 0 and 120, not %', p_months_ahead;
    END IF;
    FOREACH parent IN ARRAY ARRAY['pgaudit_auditlog'::regclass, 'pgaudit_auditcontext'::regclass]
    LOOP
        SELECT b.partition INTO def FROM pgaudit_partition_bounds(parent) b WHERE b.is_default;
        CONTINUE WHEN def IS NULL;
        FOR waiting IN EXECUTE format('SELECT DISTINCT pgaudit_period_start(%I, %L) FROM %s',
                                      pgaudit_partition_key(parent), p_unit, def)
        LOOP
            RETURN QUERY SELECT * FROM pgaudit_ensure_partitions_between(waiting, waiting, p_unit);
        END LOOP;
    END LOOP;
    RETURN QUERY SELECT * FROM pgaudit_ensure_partitions_between(
        now(), ((now() AT TIME ZONE 'UTC') + make_interval(months => p_months_ahead)) AT TIME ZONE 'UTC',
        p_unit);
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- Retention: whole partitions leave, in constant time
-- ---------------------------------------------------------------------------------------------

-- Removes one partition of an audit table: DETACH, then DROP (both metadata operations: the
-- cost does not depend on the number of rows). Optionally keeps part of it:
--  * pgaudit_auditlog: rows whose action is in p_keep_actions (security events kept longer
--    than changes). They are found through pgaudit_log_event_idx, so the cost grows with the
--    kept rows, not with the period's captured changes.
--  * pgaudit_auditcontext: the contexts still referenced by rows that remain (kept security
--    rows and the event tables' rows) — found by index from those rows, one day of margin
--    either side for client clocks.
-- Kept rows go into a new, small table attached for the same period ("<name>_sec").
-- Writes one RETENTION row to the audit trail (who, what, how many) and returns its summary;
-- the event trigger, when installed, records the DETACH/DROP themselves.
CREATE FUNCTION pgaudit_retire_partition(p_partition regclass, p_keep_actions text[] DEFAULT NULL,
                                         p_reason text DEFAULT '')
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, {schema}, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    parent regclass;
    b record;
    part_name text;
    base_name text;
    keep_name text;
    estimated bigint;
    kept bigint := 0;
    keep_actions text[] := coalesce(p_keep_actions, '{}');
    summary jsonb;
    v_token boolean;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('pgaudit_partitions'));
    SELECT i.inhparent::regclass INTO parent FROM pg_inherits i WHERE i.inhrelid = p_partition;
    IF parent IS NULL OR pgaudit_partition_key(parent) IS NULL THEN
        RAISE EXCEPTION 'pgaudit: % is not a partition of an audit table', p_partition;
    END IF;
    SELECT * INTO b FROM pgaudit_partition_bounds(parent) x WHERE x.partition = p_partition;
    IF b.is_default THEN
        RAISE EXCEPTION 'pgaudit: the DEFAULT partition % is never dropped; '
                        'run pgaudit_ensure_partitions() to move its rows into partitions',
                        p_partition;
    END IF;
    IF keep_actions && ARRAY['CREATE', 'UPDATE', 'DELETE', 'TRUNCATE'] THEN
        RAISE EXCEPTION 'pgaudit: captured changes cannot be kept as security rows';
    END IF;
    SELECT relname, greatest(reltuples, -1)::bigint INTO part_name, estimated
    FROM pg_class WHERE oid = p_partition;
    base_name := regexp_replace(part_name, '_sec$', '');
    keep_name := left(base_name, 50) || '_keep';

    v_token := pgaudit_maintenance_token('retention: ' || part_name);
    EXECUTE format('ALTER TABLE %s DETACH PARTITION %s', parent, p_partition);

    IF parent = 'pgaudit_auditlog'::regclass THEN
        IF cardinality(keep_actions) > 0 THEN
            -- The NOT IN clause repeats the partial index's predicate so the planner uses it.
            PERFORM pgaudit_new_partition_table(parent, keep_name, b.lo, b.hi);
            EXECUTE format('INSERT INTO %I SELECT * FROM %s WHERE action = ANY (%L) '
                           'AND action NOT IN (''CREATE'', ''UPDATE'', ''DELETE'', ''TRUNCATE'')',
                           keep_name, p_partition, keep_actions);
            GET DIAGNOSTICS kept = ROW_COUNT;
        END IF;
    ELSE
        PERFORM pgaudit_new_partition_table(parent, keep_name, b.lo, b.hi);
        EXECUTE format($q$
            INSERT INTO %I
            SELECT c.* FROM %s AS c
            WHERE c.id IN (
                SELECT l.context_id FROM pgaudit_auditlog AS l
                WHERE l.action NOT IN ('CREATE', 'UPDATE', 'DELETE', 'TRUNCATE')
                  AND l.timestamp >= %L::timestamptz - interval '1 day'
                  AND l.timestamp < %L::timestamptz + interval '1 day'
                  AND l.context_id IS NOT NULL
                UNION
                SELECT e.context_id FROM pgaudit_loginattempt AS e
                WHERE e.timestamp >= %L::timestamptz - interval '1 day'
                  AND e.timestamp < %L::timestamptz + interval '1 day'
                UNION
                SELECT e.context_id FROM pgaudit_dataexport AS e
                WHERE e.timestamp >= %L::timestamptz - interval '1 day'
                  AND e.timestamp < %L::timestamptz + interval '1 day'
                UNION
                SELECT e.context_id FROM pgaudit_systemevent AS e
                WHERE e.timestamp >= %L::timestamptz - interval '1 day'
                  AND e.timestamp < %L::timestamptz + interval '1 day')
            $q$, keep_name, p_partition, b.lo, b.hi, b.lo, b.hi, b.lo, b.hi, b.lo, b.hi);
        GET DIAGNOSTICS kept = ROW_COUNT;
    END IF;

    EXECUTE format('DROP TABLE %s', p_partition);
    IF kept > 0 THEN
        EXECUTE format('ALTER TABLE %I RENAME TO %I', keep_name, left(base_name, 59) || '_sec');
        PERFORM pgaudit_attach_partition(parent, left(base_name, 59) || '_sec', b.lo, b.hi);
    ELSIF to_regclass(quote_ident(keep_name)) IS NOT NULL THEN
        EXECUTE format('DROP TABLE %I', keep_name);
    END IF;

    summary := jsonb_build_object(
        'table', parent::text, 'partition', part_name, 'from', b.lo, 'to', b.hi,
        'estimated_rows', estimated, 'kept_rows', kept, 'kept_actions', to_jsonb(keep_actions),
        'reason', p_reason, 'session_user', session_user::text);
    INSERT INTO pgaudit_auditlog (timestamp, action, table_name, object_repr, changes)
    VALUES (now(), 'RETENTION', parent::text, left(part_name, 255), summary);
    RAISE LOG 'pgaudit retention by %: %', session_user, summary;
    IF v_token THEN
        PERFORM pgaudit_end_maintenance();
    END IF;
    RETURN summary;
END;
$$;

-- Retention of the ORM-side event tables (plain tables, few rows): DELETE by age, optionally
-- only some SystemEvent types. Records a RETENTION row like pgaudit_retire_partition.
CREATE FUNCTION pgaudit_purge_events(p_table regclass, p_before timestamptz,
                                     p_event_types text[] DEFAULT NULL, p_reason text DEFAULT '')
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, {schema}, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    removed bigint;
    v_token boolean;
BEGIN
    IF p_table NOT IN ('pgaudit_loginattempt'::regclass, 'pgaudit_dataexport'::regclass,
                       'pgaudit_systemevent'::regclass) THEN
        RAISE EXCEPTION 'pgaudit: % is not an audit event table', p_table;
    END IF;
    IF p_event_types IS NOT NULL AND p_table <> 'pgaudit_systemevent'::regclass THEN
        RAISE EXCEPTION 'pgaudit: event types only apply to pgaudit_systemevent';
    END IF;
    v_token := pgaudit_maintenance_token('retention: ' || p_table::text);
    IF p_event_types IS NULL THEN
        EXECUTE format('DELETE FROM %s WHERE timestamp < %L', p_table, p_before);
    ELSE
        EXECUTE format('DELETE FROM %s WHERE timestamp < %L AND event_type = ANY (%L)',
                       p_table, p_before, p_event_types);
    END IF;
    GET DIAGNOSTICS removed = ROW_COUNT;
    IF removed > 0 THEN
        INSERT INTO pgaudit_auditlog (timestamp, action, table_name, object_repr, changes)
        VALUES (now(), 'RETENTION', p_table::text, p_table::text,
                jsonb_build_object('table', p_table::text, 'before', p_before,
                                   'event_types', to_jsonb(p_event_types), 'deleted_rows', removed,
                                   'reason', p_reason, 'session_user', session_user::text));
    END IF;
    IF v_token THEN
        PERFORM pgaudit_end_maintenance();
    END IF;
    RETURN removed;
END;
$$;

-- Partition maintenance and retention are the owner's (run `migrate`, cron or the management
-- commands with the owner's credentials). Reading the partition list is harmless.
REVOKE EXECUTE ON FUNCTION
    pgaudit_attach_partition(regclass, text, timestamptz, timestamptz),
    pgaudit_new_partition_table(regclass, text, timestamptz, timestamptz),
    pgaudit_create_partition(regclass, timestamptz, text),
    pgaudit_ensure_partitions_between(timestamptz, timestamptz, text),
    pgaudit_ensure_partitions(integer, text),
    pgaudit_retire_partition(regclass, text[], text),
    pgaudit_purge_events(regclass, timestamptz, text[], text)
FROM PUBLIC;
