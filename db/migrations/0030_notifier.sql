-- 0030_notifier.sql - the notifier: message templates, deliveries with every
-- attempt, the dedupe keys that make a request delivered once, and warnings.

-- Message templates, one per kind of message (proto/notify.proto's list).
-- body holds {{param}} placeholders filled from the request's params; an admin
-- edits them through PUT /api/v1/templates/{name}.
CREATE TABLE notify_templates (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
    title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 20000),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text
);

INSERT INTO notify_templates (name, title, body) VALUES
('ledger_reminder', '台账填报提醒',
 '【两责】{{business_name}}：您单位{{period}}的{{owed}}尚未填报，请于{{deadline}}前登录系统完成填报。'),
('overdue_warning', '台账逾期警示',
 '【两责】{{business_name}}：您单位{{period}}的{{owed}}已逾期未报（截止{{deadline}}），请立即补报，逾期将上报监管部门。'),
('cadre_notice', '包保干部提醒',
 '【两责】{{to_name}}同志：您包保的{{business_name}}{{period}}的{{owed}}尚未完成，请于{{deadline}}前督促落实。'),
('rectification_notice', '整改通知书',
 '整改通知书 {{letter_no}}
{{business_name}}：
经查，你单位存在以下问题：{{body}}
请于{{deadline}}前完成整改，并将整改情况报送{{issuer}}。
{{issuer}}　{{date}}'),
('reminder_letter', '提醒书',
 '提醒书 {{letter_no}}
{{recipient}}：
{{body}}
请于{{deadline}}前落实并反馈。
{{issuer}}　{{date}}'),
('supervision_notice', '督办书',
 '督办书 {{letter_no}}
{{recipient}}：
{{body}}
请于{{deadline}}前办结，并书面报告办理结果。
{{issuer}}　{{date}}'),
('interview_summons', '约谈函',
 '约谈函 {{letter_no}}
{{recipient}}：
{{body}}
请于{{deadline}}到{{place}}接受约谈。
{{issuer}}　{{date}}'),
('regulator_notice', '监管提示',
 '【两责】{{to_name}}：{{region_name}}{{period}}的{{owed}}存在逾期未完成情况（截止{{deadline}}），请督促处理。'),
('warning', '监管警示',
 '【两责】{{business_name}}：监管部门对您单位发出警示：{{reason}}。请于{{rectify_by}}前完成整改并在系统中回复。')
ON CONFLICT (name) DO NOTHING;

-- One row per dedupe key, unpartitioned so the key is unique over every
-- month: a request seen twice finds its key here and is delivered once.
CREATE TABLE notify_keys (
    dedupe_key   text PRIMARY KEY CHECK (length(dedupe_key) BETWEEN 1 AND 200),
    delivery_id  bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Deliveries, partitioned by month.  request holds the packed lz.NotifyRequest.
-- status: queued (waiting for its time), held (quiet hours / daily cap: next_at
-- says when), sending (an attempt is under way), sent (the provider accepted
-- it), delivered (a receipt confirmed it), failed (permanent error),
-- dead (out of attempts).
CREATE TABLE deliveries (
    id            bigserial,
    created_at    timestamptz NOT NULL DEFAULT now(),
    dedupe_key    text NOT NULL,
    template      text NOT NULL,
    channel       text NOT NULL CHECK (channel IN ('sms', 'webhook', 'email')),
    recipient     text NOT NULL,
    urgent        boolean NOT NULL DEFAULT false,
    business_id   bigint,
    cadre_id      bigint,
    region_code   char(12),
    task_id       bigint,
    letter_id     bigint,
    request       bytea NOT NULL,
    status        text NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'held', 'sending', 'sent', 'delivered', 'failed', 'dead')),
    attempts      int NOT NULL DEFAULT 0,
    next_at       timestamptz,
    last_error    text,
    provider_ref  text,
    sent_at       timestamptz,
    delivered_at  timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
SELECT lz_ensure_partitions('deliveries', 3);
CREATE INDEX deliveries_id ON deliveries (id);
CREATE INDEX deliveries_status ON deliveries (status, id);
CREATE INDEX deliveries_region ON deliveries (region_code, id);
CREATE INDEX deliveries_business ON deliveries (business_id, id) WHERE business_id IS NOT NULL;
CREATE INDEX deliveries_cadre ON deliveries (cadre_id, id) WHERE cadre_id IS NOT NULL;
CREATE INDEX deliveries_provider_ref ON deliveries (provider_ref) WHERE provider_ref IS NOT NULL;

-- Every attempt with its outcome, append-only.
CREATE TABLE delivery_attempts (
    delivery_id  bigint NOT NULL,
    attempt      int NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    outcome      text NOT NULL CHECK (outcome IN ('ok', 'transient', 'permanent', 'held')),
    http_status  int,
    detail       text,
    duration_ms  int,
    PRIMARY KEY (delivery_id, attempt, at)
) PARTITION BY RANGE (at);
SELECT lz_ensure_partitions('delivery_attempts', 3);
REVOKE UPDATE, DELETE, TRUNCATE ON delivery_attempts FROM lz_app;
GRANT SELECT, INSERT ON delivery_attempts TO lz_app;

-- Warnings a regulator gives a business; the business answers with its
-- rectification; the scheduler turns an unanswered one into a task.
CREATE TABLE warnings (
    id             bigserial PRIMARY KEY,
    business_id    bigint NOT NULL,
    region_code    char(12) NOT NULL,
    reason         text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    rectify_by     timestamptz NOT NULL,
    issued_at      timestamptz NOT NULL DEFAULT now(),
    issued_by      text NOT NULL,
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered')),
    rectification  text,
    answered_at    timestamptz
);
CREATE INDEX warnings_business ON warnings (business_id, id);
CREATE INDEX warnings_region ON warnings (region_code, id);
