-- 0014_businesses_import_fast.sql - cheaper business imports.
--
-- The businesses import (intake_import.c) checks in its staging step that
-- every region_code of the file exists with the level community, holding
-- those regions FOR KEY SHARE until it commits; so the per-row foreign key
-- check from businesses.region_code to regions (about 30 % of the INSERT of
-- a million rows) repeated a check already made.  It goes; what it
-- guaranteed beyond the import — a region a business lies in never
-- disappears nor changes its code — is kept by the triggers below, for
-- every writer (lz_app and the owner alike).  A delete that races an import
-- waits on the import's KEY SHARE lock and then sees its businesses.
--
-- businesses_credit goes too: no query looks businesses up by credit code
-- (the list's q= searches name and license_no), and each index costs every
-- imported row a B-tree insert and a WAL record.
ALTER TABLE businesses DROP CONSTRAINT IF EXISTS businesses_region_code_fkey;
DROP INDEX IF EXISTS businesses_credit;

CREATE FUNCTION lz_region_keep_referenced() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        IF EXISTS (SELECT 1 FROM businesses) THEN
            RAISE EXCEPTION 'regions cannot be truncated while businesses lie in them'
                USING ERRCODE = '23503';
        END IF;
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM businesses WHERE region_code = OLD.code) THEN
        RAISE EXCEPTION 'region % has businesses: it cannot be deleted or recoded', OLD.code
            USING ERRCODE = '23503', TABLE = 'businesses';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER regions_keep_referenced_delete BEFORE DELETE ON regions
    FOR EACH ROW EXECUTE FUNCTION lz_region_keep_referenced();
CREATE TRIGGER regions_keep_referenced_recode BEFORE UPDATE OF code ON regions
    FOR EACH ROW WHEN (OLD.code IS DISTINCT FROM NEW.code)
    EXECUTE FUNCTION lz_region_keep_referenced();
CREATE TRIGGER regions_keep_referenced_truncate BEFORE TRUNCATE ON regions
    FOR EACH STATEMENT EXECUTE FUNCTION lz_region_keep_referenced();
