-- 0012_ledgers.sql - the three ledgers, problems and cadre visits.
--
-- Records, visits and problems grow every day: each is range-partitioned
-- by month on its time column (partitions made ahead by
-- lz_ensure_partitions).  A record stores only what failed (item codes and
-- notes), never a copy of the checklist: the checklist version it answered
-- says what the other items were.

CREATE TABLE records (
    id             bigserial,
    business_id    bigint NOT NULL,
    region_code    char(12) NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('daily', 'weekly', 'monthly')),
    period         text NOT NULL,
    period_start   timestamptz NOT NULL,   -- first local instant of the period
    checklist_id   bigint NOT NULL,
    status         text NOT NULL CHECK (status IN ('on_time', 'late')),
    submitted_by   text NOT NULL,
    submitted_at   timestamptz NOT NULL,
    failed_codes   text[] NOT NULL DEFAULT '{}',
    failed_notes   text[] NOT NULL DEFAULT '{}',
    summary        text,                   -- weekly/monthly free text
    request_id     text NOT NULL,
    PRIMARY KEY (id, period_start),
    UNIQUE (business_id, kind, period, period_start),
    CHECK (cardinality(failed_codes) = cardinality(failed_notes))
) PARTITION BY RANGE (period_start);
CREATE INDEX records_region ON records (region_code, kind, period);

CREATE TABLE visits (
    id             bigserial,
    cadre_id       bigint NOT NULL,
    business_id    bigint NOT NULL,
    region_code    char(12) NOT NULL,
    visited_at     timestamptz NOT NULL,
    mode           text NOT NULL CHECK (mode IN ('on_site', 'joint', 'video')),
    note           text NOT NULL DEFAULT '',
    request_id     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, visited_at)
) PARTITION BY RANGE (visited_at);
CREATE INDEX visits_cadre ON visits (cadre_id, visited_at);
CREATE INDEX visits_business ON visits (business_id, visited_at);

-- A problem: a failed ledger item not fixed at once, a visit finding, an
-- inspection finding.  Open until marked fixed (清单制 + 销号制).
CREATE TABLE problems (
    id             bigserial,
    business_id    bigint NOT NULL,
    region_code    char(12) NOT NULL,
    source         text NOT NULL CHECK (source IN ('ledger', 'visit', 'inspection')),
    source_id      bigint NOT NULL,
    item_code      text,
    description    text NOT NULL,
    action         text NOT NULL DEFAULT '',
    opened_at      timestamptz NOT NULL,
    fixed_at       timestamptz,
    fixed_action   text,
    PRIMARY KEY (id, opened_at)
) PARTITION BY RANGE (opened_at);
CREATE INDEX problems_open ON problems (business_id) WHERE fixed_at IS NULL;
CREATE INDEX problems_id ON problems (id);
CREATE INDEX problems_region ON problems (region_code, opened_at);

SELECT lz_ensure_partitions('records', 3, 3);
SELECT lz_ensure_partitions('visits', 3, 3);
SELECT lz_ensure_partitions('problems', 3, 3);
