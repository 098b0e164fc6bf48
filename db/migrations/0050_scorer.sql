-- 0050_scorer.sql - the scorer: running aggregates per business and cadre
-- and quarter, the events already counted, grades and their history,
-- inspections and warnings as the scorer saw them, ranking snapshots, the
-- red and notice lists and the rewards paid against the red list.
--
-- Every score_* aggregate can be recomputed from records, problems, visits
-- and the tables below (liangze score check); the running rows are updated
-- in the consumer's transaction together with score_processed, so an event
-- delivered twice counts once.

-- Outbox ids of the events already counted (idempotency); purged after the
-- streams' redelivery horizon.
CREATE TABLE score_processed (
    outbox_id     bigint PRIMARY KEY,
    processed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX score_processed_age ON score_processed (processed_at);

-- Per business and quarter (of the ledger's period, of the problem's opening).
CREATE TABLE score_business_q (
    business_id      bigint NOT NULL,
    quarter          text NOT NULL,
    region_code      char(12) NOT NULL,
    daily_on_time    int NOT NULL DEFAULT 0,
    daily_late       int NOT NULL DEFAULT 0,
    weekly_on_time   int NOT NULL DEFAULT 0,
    weekly_late      int NOT NULL DEFAULT 0,
    monthly_on_time  int NOT NULL DEFAULT 0,
    monthly_late     int NOT NULL DEFAULT 0,
    problems_opened  int NOT NULL DEFAULT 0,   -- left open when reported
    problems_fixed   int NOT NULL DEFAULT 0,   -- of those, fixed since
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (business_id, quarter)
);
CREATE INDEX score_business_q_region ON score_business_q (quarter, region_code);

-- Per cadre and quarter (of the visit).
CREATE TABLE score_cadre_q (
    cadre_id        bigint NOT NULL,
    quarter         text NOT NULL,
    region_code     char(12) NOT NULL DEFAULT '',
    visits          int NOT NULL DEFAULT 0,
    findings        int NOT NULL DEFAULT 0,
    findings_fixed  int NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cadre_id, quarter)
);

-- Visits per (cadre, business, quarter): visit completion per assignment.
CREATE TABLE score_visit_pairs (
    cadre_id     bigint NOT NULL,
    business_id  bigint NOT NULL,
    quarter      text NOT NULL,
    visits       int NOT NULL DEFAULT 0,
    PRIMARY KEY (cadre_id, business_id, quarter)
);

-- Inspections (sampler's inspection.recorded), one per plan and business.
CREATE TABLE score_inspections (
    plan_id       bigint NOT NULL,
    business_id   bigint NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('pass', 'pass_with_remarks', 'fail')),
    inspected_at  timestamptz NOT NULL,
    quarter       text NOT NULL,
    PRIMARY KEY (plan_id, business_id)
);
CREATE INDEX score_inspections_business ON score_inspections (business_id, inspected_at);

-- Warnings (notifier's warning.issued / warning.answered).
CREATE TABLE score_warnings (
    warning_id   bigint PRIMARY KEY,
    business_id  bigint NOT NULL,
    issued_at    timestamptz,
    rectify_by   timestamptz,
    answered_at  timestamptz,
    quarter      text
);
CREATE INDEX score_warnings_business ON score_warnings (business_id);

-- Businesses whose grade must be looked at again (written with the
-- aggregates, taken by the regrade job).
CREATE TABLE score_dirty (
    business_id  bigint PRIMARY KEY
);

-- The grade the scorer last gave each business.
CREATE TABLE score_grades (
    business_id  bigint PRIMARY KEY,
    grade        char(1) NOT NULL CHECK (grade IN ('A', 'B', 'C', 'D')),
    risk         numeric(6, 2) NOT NULL,
    compliance   numeric(6, 2) NOT NULL,
    quarter      text NOT NULL,
    changed_at   timestamptz NOT NULL
);

-- Every grade change with its reasons (append-only).
CREATE TABLE score_grade_history (
    id           bigserial PRIMARY KEY,
    business_id  bigint NOT NULL,
    region_code  char(12) NOT NULL,
    quarter      text NOT NULL,
    old_grade    char(1),
    new_grade    char(1) NOT NULL,
    risk         numeric(6, 2) NOT NULL,
    compliance   numeric(6, 2) NOT NULL,
    reasons      jsonb NOT NULL,
    changed_at   timestamptz NOT NULL
);
CREATE INDEX score_grade_history_business ON score_grade_history (business_id, id);
REVOKE UPDATE, DELETE, TRUNCATE ON score_grade_history FROM lz_app;

-- Ranking snapshots: per level (township, district), period (a day or a
-- quarter) and region.
CREATE TABLE score_rankings (
    level             text NOT NULL CHECK (level IN ('township', 'district')),
    period            text NOT NULL,
    region_code       char(12) NOT NULL,
    rank              int NOT NULL,
    score             numeric(8, 4) NOT NULL,
    ledgers_owed      bigint NOT NULL,
    ledgers_on_time   bigint NOT NULL,
    visits_owed       bigint NOT NULL,
    visits_done       bigint NOT NULL,
    computed_at       timestamptz NOT NULL,
    PRIMARY KEY (level, period, region_code)
);

-- Closed red and notice lists: a closed list never changes.
CREATE TABLE score_lists (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('red', 'notice')),
    quarter      text NOT NULL,
    region_code  char(12) NOT NULL,
    closed_at    timestamptz NOT NULL,
    closed_by    text NOT NULL,
    request_id   text NOT NULL,
    UNIQUE (kind, quarter, region_code)
);
CREATE TABLE score_list_entries (
    list_id      bigint NOT NULL REFERENCES score_lists (id),
    position     int NOT NULL,
    subject      text NOT NULL CHECK (subject IN ('business', 'cadre')),
    subject_id   bigint NOT NULL,
    name         text NOT NULL,
    region_code  char(12) NOT NULL,
    score        numeric(6, 2) NOT NULL,
    reasons      text[] NOT NULL,
    PRIMARY KEY (list_id, position),
    UNIQUE (list_id, subject, subject_id)
);
REVOKE UPDATE, DELETE, TRUNCATE ON score_lists, score_list_entries FROM lz_app;

-- Rewards from the insurance fund, against a business on a closed red list.
CREATE TABLE score_rewards (
    id           bigserial PRIMARY KEY,
    list_id      bigint NOT NULL REFERENCES score_lists (id),
    business_id  bigint NOT NULL,
    amount       numeric(12, 2) NOT NULL CHECK (amount > 0),
    note         text NOT NULL DEFAULT '',
    recorded_by  text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    request_id   text NOT NULL,
    UNIQUE (list_id, business_id)
);
REVOKE UPDATE, DELETE, TRUNCATE ON score_rewards FROM lz_app;
