-- 0002_partitions.sql - monthly range partitions, created ahead.
--
-- Big, time-ordered tables are partitioned by month on a timestamptz column.
-- lz_ensure_partitions(table, months_ahead, months_back) creates the
-- partitions from months_back months before the current month to
-- months_ahead months after it (Asia/Shanghai months); it is idempotent and
-- called by migrations, by services' housekeeping and by loaders of history.
-- Partitions are named TABLE_pYYYYMM.
CREATE OR REPLACE FUNCTION lz_ensure_partitions(parent regclass, months_ahead int DEFAULT 3,
                                                months_back int DEFAULT 1)
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public
AS $$
DECLARE
    base date := date_trunc('month', (now() AT TIME ZONE 'Asia/Shanghai'))::date;
    m date;
    name text;
    made int := 0;
BEGIN
    FOR i IN -months_back..months_ahead LOOP
        m := (base + make_interval(months => i))::date;
        name := format('%s_p%s', parent::text, to_char(m, 'YYYYMM'));
        IF to_regclass(name) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                name, parent,
                (m::timestamp AT TIME ZONE 'Asia/Shanghai'),
                ((m + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai'));
            made := made + 1;
        END IF;
    END LOOP;
    RETURN made;
END
$$;

-- lz_ensure_partitions_all(): every partitioned table of the schema.
CREATE OR REPLACE FUNCTION lz_ensure_partitions_all(months_ahead int DEFAULT 3,
                                                    months_back int DEFAULT 1)
RETURNS int
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public
AS $$
DECLARE
    t regclass;
    made int := 0;
BEGIN
    FOR t IN SELECT c.oid::regclass FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' LOOP
        made := made + lz_ensure_partitions(t, months_ahead, months_back);
    END LOOP;
    RETURN made;
END
$$;
