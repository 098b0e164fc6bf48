-- 0001_roles.sql - the roles services run as.
--
-- lz_app: every service and the gateway connect as this role.  It reads and
-- writes the tables it is granted, never changes the schema, and may only
-- append to the audit log.  Migrations run as the database owner.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lz_app') THEN
        CREATE ROLE lz_app LOGIN;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO lz_app', current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO lz_app;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- tables and sequences created from now on by the owner are usable by lz_app;
-- tables that must be append-only take back UPDATE and DELETE themselves
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO lz_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO lz_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO lz_app;
