-- 0003_outbox_audit_tokens.sql - the outbox, the audit log and API tokens.

-- Events written in the same transaction as the change that caused them,
-- relayed to Redis streams (lz:stream:<topic>) by common/outbox.c.
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    topic       text NOT NULL CHECK (topic ~ '^[a-z][a-z0-9_.]{0,62}$'),
    key         text NOT NULL DEFAULT '',
    payload     bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    relayed_at  timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE relayed_at IS NULL;

-- Who did what and when.  Append-only: the service role may insert and
-- read, never update or delete.
CREATE TABLE audit_log (
    id          bigserial,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_role  text NOT NULL,
    actor_id    bigint,
    actor_name  text,
    action      text NOT NULL,
    object      text,
    request_id  text,
    detail      jsonb,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
SELECT lz_ensure_partitions('audit_log', 3);
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM lz_app;
GRANT SELECT, INSERT ON audit_log TO lz_app;

-- Bearer tokens, stored only as SHA-256 hashes of the token text.
CREATE TABLE api_tokens (
    id            bigserial PRIMARY KEY,
    token_hash    bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    role          text NOT NULL CHECK (role IN ('admin', 'regulator', 'cadre', 'inspector', 'business')),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    region_code   char(12),
    business_id   bigint,
    cadre_id      bigint,
    inspector_id  bigint,
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    CHECK (role <> 'regulator' OR region_code IS NOT NULL),
    CHECK (role <> 'business' OR business_id IS NOT NULL),
    CHECK (role <> 'cadre' OR cadre_id IS NOT NULL),
    CHECK (role <> 'inspector' OR inspector_id IS NOT NULL)
);
