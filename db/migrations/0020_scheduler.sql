-- 0020_scheduler.sql - the scheduler: tasks, escalation ladders, letters,
-- per-region ledger statistics, visit obligations, the deadlines done and
-- the events handled.
--
-- A task is something owed and not done by its deadline (DOMAIN.md "Tasks
-- and escalation").  It is opened once (dedupe is unique), walks up its
-- ladder (step = the last step fired, next_step_at = when the next one is
-- due, NULL when none is left) and closes when the owed thing arrives.

CREATE TABLE tasks (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('ledger_daily', 'ledger_weekly', 'ledger_monthly',
                                                'visit', 'unassigned', 'warning')),
    ladder        text NOT NULL,
    business_id   bigint,
    cadre_id      bigint,
    region_code   char(12) NOT NULL,
    period        text NOT NULL,
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    step          int  NOT NULL DEFAULT 0,
    deadline      timestamptz NOT NULL,          -- when it became owed: the ladder's base
    opened_at     timestamptz NOT NULL,
    closed_at     timestamptz,
    closed_by     text,                           -- ledger, visit, reply, assignment
    next_step_at  timestamptz,
    dedupe        text NOT NULL UNIQUE
);
CREATE INDEX tasks_due ON tasks (next_step_at) WHERE status = 'open' AND next_step_at IS NOT NULL;
CREATE INDEX tasks_business ON tasks (business_id, kind, period);
CREATE INDEX tasks_cadre ON tasks (cadre_id) WHERE cadre_id IS NOT NULL;
CREATE INDEX tasks_region ON tasks (region_code, id);

-- Escalation ladders (settings a regulator may change): steps with the delay
-- after the task's deadline, the letter a step issues (if any), and who is told
-- with which template.
CREATE TABLE ladders (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,31}$'),
    title       text NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL DEFAULT 'system'
);
CREATE TABLE ladder_steps (
    ladder      text NOT NULL REFERENCES ladders (name) ON DELETE CASCADE,
    step        int  NOT NULL CHECK (step BETWEEN 1 AND 16),
    delay_s     bigint NOT NULL CHECK (delay_s BETWEEN 0 AND 31622400),
    letter      text CHECK (letter IN ('reminder_letter', 'supervision_notice',
                                       'interview_summons', 'rectification_notice')),
    urgent      boolean NOT NULL DEFAULT false,
    PRIMARY KEY (ladder, step)
);
CREATE TABLE ladder_recipients (
    ladder      text NOT NULL,
    step        int  NOT NULL,
    position    int  NOT NULL,
    role        text NOT NULL,
    template    text NOT NULL,
    PRIMARY KEY (ladder, step, position),
    FOREIGN KEY (ladder, step) REFERENCES ladder_steps (ladder, step) ON DELETE CASCADE
);

INSERT INTO ladders (name, title) VALUES
    ('ledger', '三本账缺报'),
    ('visit', '包保督导与两书一函');
INSERT INTO ladder_steps (ladder, step, delay_s, letter) VALUES
    ('ledger', 1, 0, NULL),
    ('ledger', 2, 86400, NULL),
    ('ledger', 3, 259200, 'rectification_notice'),
    ('ledger', 4, 604800, NULL),
    ('visit', 1, 0, NULL),
    ('visit', 2, 604800, 'reminder_letter'),
    ('visit', 3, 1296000, 'supervision_notice'),
    ('visit', 4, 2592000, 'interview_summons');
INSERT INTO ladder_recipients (ladder, step, position, role, template) VALUES
    ('ledger', 1, 1, 'officer', 'ledger_reminder'),
    ('ledger', 2, 1, 'head', 'overdue_warning'),
    ('ledger', 2, 2, 'cadre:village', 'cadre_notice'),
    ('ledger', 3, 1, 'head', 'rectification_notice'),
    ('ledger', 3, 2, 'cadre:township', 'cadre_notice'),
    ('ledger', 4, 1, 'regulator:district', 'regulator_notice'),
    ('visit', 1, 1, 'cadre', 'cadre_notice'),
    ('visit', 2, 1, 'regulator:township', 'reminder_letter'),
    ('visit', 3, 1, 'regulator:district', 'supervision_notice'),
    ('visit', 4, 1, 'cadre', 'interview_summons');

-- Numbered letters (提醒书, 督办书, 约谈函, 整改通知书): kept and retrievable.
CREATE TABLE letters (
    id           bigserial PRIMARY KEY,
    number       text NOT NULL UNIQUE,
    kind         text NOT NULL CHECK (kind IN ('reminder_letter', 'supervision_notice',
                                               'interview_summons', 'rectification_notice')),
    task_id      bigint NOT NULL REFERENCES tasks (id),
    step         int NOT NULL,
    recipient    text NOT NULL,
    region_code  char(12) NOT NULL,               -- the issuing region
    deadline     timestamptz,
    body         text NOT NULL,
    created_at   timestamptz NOT NULL,
    UNIQUE (task_id, step)
);
-- The next letter number per issuing region, year and kind.
CREATE TABLE letter_counters (
    region_code  char(12) NOT NULL,
    year         int NOT NULL,
    kind         text NOT NULL,
    last         int NOT NULL,
    PRIMARY KEY (region_code, year, kind)
);

-- Who answers for a region ("a region's regulator"): phone, e-mail, webhook.
CREATE TABLE region_contacts (
    region_code  char(12) NOT NULL,
    role         text NOT NULL DEFAULT 'regulator',
    name         text NOT NULL DEFAULT '',
    phone        text,
    email        text,
    webhook      text,
    PRIMARY KEY (region_code, role)
);

-- Ledger statistics per region (every level) and period, written at the
-- deadline sweep and kept current by late ledgers; read by rankings and
-- GET /api/v1/stats/ledgers.
CREATE TABLE ledger_stats (
    region_code  char(12) NOT NULL,
    kind         text NOT NULL,
    period       text NOT NULL,
    owed         int NOT NULL DEFAULT 0,
    submitted    int NOT NULL DEFAULT 0,
    on_time      int NOT NULL DEFAULT 0,
    late         int NOT NULL DEFAULT 0,
    missing      int NOT NULL DEFAULT 0,
    problems     int NOT NULL DEFAULT 0,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (region_code, kind, period)
);

-- Supervision visits owed per assigned (cadre, business) and period.
CREATE TABLE visit_obligations (
    cadre_id     bigint NOT NULL,
    business_id  bigint NOT NULL,
    region_code  char(12) NOT NULL,
    period       text NOT NULL,
    owed         int NOT NULL DEFAULT 1,
    done         int NOT NULL DEFAULT 0,
    PRIMARY KEY (cadre_id, business_id, period)
);
CREATE INDEX visit_obligations_region ON visit_obligations (region_code, period);

-- Deadlines already processed, per scope (the region prefix a scheduler
-- serves; '' = everything): a deadline is done once.
CREATE TABLE scheduler_deadlines (
    scope        text NOT NULL,
    kind         text NOT NULL,                 -- daily, weekly, monthly, visit
    period       text NOT NULL,
    deadline     timestamptz NOT NULL,
    opened       int NOT NULL,
    done_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, kind, period)
);

-- The instant each scope has been swept up to (catch-up starts here).
CREATE TABLE scheduler_watermark (
    scope        text PRIMARY KEY,
    swept_to     timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Events consumed (outbox ids), so a redelivered event changes nothing.
CREATE TABLE scheduler_events (
    outbox_id    bigint PRIMARY KEY,
    topic        text NOT NULL,
    handled_at   timestamptz NOT NULL DEFAULT now()
);

-- Warnings as the notifier announced them: an unanswered one at rectify_by
-- becomes a task on the visit ladder.
CREATE TABLE scheduler_warnings (
    warning_id   bigint PRIMARY KEY,
    business_id  bigint NOT NULL,
    rectify_by   timestamptz NOT NULL,
    answered_at  timestamptz
);
CREATE INDEX scheduler_warnings_due ON scheduler_warnings (rectify_by) WHERE answered_at IS NULL;
