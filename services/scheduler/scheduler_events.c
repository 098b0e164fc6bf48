/*
 * scheduler_events.c - closing tasks as the owed things arrive.
 *
 * Consumers (group "scheduler") of intake's ledger.accepted and
 * visit.recorded, the notifier's warning.issued and warning.answered, and the
 * scorer's score.grade_changed (kept in scheduler_grades: the visits owed follow it).
 * Each event is handled in one transaction that first records its outbox id
 * in scheduler_events: a redelivered event finds it there and changes
 * nothing.  Closing is UPDATE ... WHERE status = 'open': it waits for an
 * escalation batch holding the task and never reopens anything.
 */
#include "business.pb-c.h"
#include "ledger.pb-c.h"
#include "log.h"
#include "mem.h"
#include "notify.pb-c.h"
#include "scheduler_server.h"
#include "scorer.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Begin and claim the event; 1 = new (transaction open), 0 = seen before, -1 = failure. */
static int s_claim(sched_t *s, const outbox_event_t *ev)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, ev->outbox_id);
    const char *p[2] = {id, ev->topic ? ev->topic : ""};
    if (pg_begin(s->pg) != 0)
        return -1;
    PGresult *r =
        pg_query_prepared(s->pg, "sched_ev_claim",
                          "INSERT INTO scheduler_events (outbox_id, topic) VALUES ($1::bigint, $2) "
                          "ON CONFLICT DO NOTHING",
                          2, p);
    if (!r) {
        pg_rollback(s->pg);
        return -1;
    }
    bool fresh = strcmp(PQcmdTuples(r), "1") == 0;
    pg_free(&r);
    if (!fresh) {
        pg_rollback(s->pg);
        return 0;
    }
    return 1;
}

static int s_finish(sched_t *s, int rc)
{
    if (rc == 0 && pg_commit(s->pg) == 0)
        return 0;
    pg_rollback(s->pg);
    return -1;
}

int sched_on_ledger_accepted(void *ctx, const outbox_event_t *ev)
{
    sched_t *s = ctx;
    Lz__LedgerAccepted *m = lz__ledger_accepted__unpack(NULL, ev->payload_len, ev->payload);
    if (!m || !m->kind || !m->period || !m->has_business_id) {
        log_warn("ledger.accepted %" PRId64 " does not parse; dropped", ev->outbox_id);
        if (m)
            lz__ledger_accepted__free_unpacked(m, NULL);
        return 0;
    }
    int c = s_claim(s, ev);
    if (c <= 0) {
        lz__ledger_accepted__free_unpacked(m, NULL);
        return c;
    }
    char dedupe[128], at[24];
    snprintf(dedupe, sizeof dedupe, "ledger_%s:%" PRId64 ":%s", m->kind, m->business_id, m->period);
    snprintf(at, sizeof at, "%" PRId64, m->submitted_at);
    const char *p[2] = {dedupe, at};
    PGresult *r = pg_query_prepared(
        s->pg, "sched_close_ledger",
        "UPDATE tasks SET status = 'closed', closed_at = to_timestamp($2::bigint), "
        "closed_by = 'ledger', next_step_at = NULL "
        "WHERE dedupe = $1 AND status = 'open' RETURNING id, region_code",
        2, p);
    int rc = r ? 0 : -1;
    if (r && PQntuples(r) == 1) {
        /* it was missing at the deadline: it is now submitted (late, or on time if the
         * deadline had a grace the record beat), in the community and every ancestor */
        char region[REGION_CODE_LEN + 1];
        snprintf(region, sizeof region, "%s", pg_str(r, 0, 1));
        bool late = m->status && !strcmp(m->status, "late");
        for (;;) {
            const char *q[4] = {region, m->kind, m->period, late ? "1" : "0"};
            rc =
                pg_exec(s->pg,
                        "UPDATE ledger_stats SET submitted = submitted + 1, late = late + $4::int, "
                        "on_time = on_time + 1 - $4::int, missing = greatest(missing - 1, 0), "
                        "computed_at = now() WHERE region_code = $1 AND kind = $2 AND period = $3",
                        4, q);
            char parent[REGION_CODE_LEN + 1];
            if (rc != 0 || region_parent(region, parent) != 0)
                break;
            memcpy(region, parent, sizeof region);
        }
        log_info("task %s closed by a %s ledger", pg_str(r, 0, 0), late ? "late" : "on-time");
    }
    pg_free(&r);
    lz__ledger_accepted__free_unpacked(m, NULL);
    return s_finish(s, rc);
}

int sched_on_visit_recorded(void *ctx, const outbox_event_t *ev)
{
    sched_t *s = ctx;
    Lz__VisitRecordedEvent *m =
        lz__visit_recorded_event__unpack(NULL, ev->payload_len, ev->payload);
    if (!m || !m->has_cadre_id || !m->has_business_id || !m->region_code) {
        log_warn("visit.recorded %" PRId64 " does not parse; dropped", ev->outbox_id);
        if (m)
            lz__visit_recorded_event__free_unpacked(m, NULL);
        return 0;
    }
    int c = s_claim(s, ev);
    if (c <= 0) {
        lz__visit_recorded_event__free_unpacked(m, NULL);
        return c;
    }
    char cadre[24], biz[24], at[24];
    snprintf(cadre, sizeof cadre, "%" PRId64, m->cadre_id);
    snprintf(biz, sizeof biz, "%" PRId64, m->business_id);
    snprintf(at, sizeof at, "%" PRId64, m->visited_at);
    const char *p[1] = {cadre};
    PGresult *r = pg_query_prepared(s->pg, "sched_cadre_level",
                                    "SELECT level FROM cadres WHERE id = $1::bigint", 1, p);
    int rc = r ? 0 : -1;
    if (r && PQntuples(r) == 1) {
        int lv = 3;
        static const char *const levels[4] = {"city", "county", "township", "village"};
        for (int i = 0; i < 4; i++)
            if (!strcmp(pg_str(r, 0, 0), levels[i]))
                lv = i;
        char period[16];
        int64_t start, end;
        if (visit_period_of(s->visit_freq[lv], m->visited_at, period, sizeof period, &start,
                            &end) == 0) {
            const char *q[4] = {cadre, biz, m->region_code, period};
            rc = pg_exec(s->pg,
                         "INSERT INTO visit_obligations (cadre_id, business_id, region_code, "
                         "period, owed, done) "
                         "VALUES ($1::bigint, $2::bigint, $3, $4, 1, 1) "
                         "ON CONFLICT (cadre_id, business_id, period) DO UPDATE "
                         "SET done = visit_obligations.done + 1",
                         4, q);
        }
    }
    pg_free(&r);
    if (rc == 0) {
        const char *q[3] = {cadre, biz, at};
        rc = pg_exec(
            s->pg,
            "UPDATE tasks SET status = 'closed', closed_at = to_timestamp($3::bigint), "
            "closed_by = 'visit', next_step_at = NULL "
            "WHERE kind = 'visit' AND business_id = $2::bigint AND cadre_id = $1::bigint "
            "AND status = 'open' AND deadline <= to_timestamp($3::bigint) + interval '1 day'",
            3, q);
    }
    lz__visit_recorded_event__free_unpacked(m, NULL);
    return s_finish(s, rc);
}

int sched_on_warning_issued(void *ctx, const outbox_event_t *ev)
{
    sched_t *s = ctx;
    Lz__WarningIssuedEvent *m =
        lz__warning_issued_event__unpack(NULL, ev->payload_len, ev->payload);
    if (!m || !m->has_warning_id || !m->has_business_id || !m->has_rectify_by_ms) {
        log_warn("warning.issued %" PRId64 " does not parse; dropped", ev->outbox_id);
        if (m)
            lz__warning_issued_event__free_unpacked(m, NULL);
        return 0;
    }
    int c = s_claim(s, ev);
    if (c <= 0) {
        lz__warning_issued_event__free_unpacked(m, NULL);
        return c;
    }
    char id[24], biz[24], by[24];
    snprintf(id, sizeof id, "%" PRId64, m->warning_id);
    snprintf(biz, sizeof biz, "%" PRId64, m->business_id);
    snprintf(by, sizeof by, "%" PRId64, m->rectify_by_ms / 1000);
    const char *p[3] = {id, biz, by};
    int rc =
        pg_exec(s->pg,
                "INSERT INTO scheduler_warnings (warning_id, business_id, rectify_by) "
                "VALUES ($1::bigint, $2::bigint, to_timestamp($3::bigint)) ON CONFLICT DO NOTHING",
                3, p);
    lz__warning_issued_event__free_unpacked(m, NULL);
    return s_finish(s, rc);
}

int sched_on_warning_answered(void *ctx, const outbox_event_t *ev)
{
    sched_t *s = ctx;
    Lz__WarningAnsweredEvent *m =
        lz__warning_answered_event__unpack(NULL, ev->payload_len, ev->payload);
    if (!m || !m->has_warning_id) {
        log_warn("warning.answered %" PRId64 " does not parse; dropped", ev->outbox_id);
        if (m)
            lz__warning_answered_event__free_unpacked(m, NULL);
        return 0;
    }
    int c = s_claim(s, ev);
    if (c <= 0) {
        lz__warning_answered_event__free_unpacked(m, NULL);
        return c;
    }
    char id[24], at[24], biz[24], by[24], dedupe[48];
    snprintf(id, sizeof id, "%" PRId64, m->warning_id);
    snprintf(at, sizeof at, "%" PRId64, m->answered_at_ms / 1000);
    snprintf(biz, sizeof biz, "%" PRId64, m->business_id);
    snprintf(by, sizeof by, "%" PRId64, m->rectify_by_ms / 1000);
    snprintf(dedupe, sizeof dedupe, "warning:%" PRId64, m->warning_id);
    const char *p[4] = {id, at, biz, by};
    int rc = pg_exec(
        s->pg,
        "INSERT INTO scheduler_warnings (warning_id, business_id, rectify_by, answered_at) "
        "VALUES ($1::bigint, $3::bigint, to_timestamp($4::bigint), to_timestamp($2::bigint)) "
        "ON CONFLICT (warning_id) DO UPDATE SET answered_at = EXCLUDED.answered_at",
        4, p);
    if (rc == 0) {
        const char *q[2] = {dedupe, at};
        rc = pg_exec(
            s->pg,
            "UPDATE tasks SET status = 'closed', closed_at = to_timestamp($2::bigint), "
            "closed_by = 'reply', next_step_at = NULL WHERE dedupe = $1 AND status = 'open'",
            2, q);
    }
    lz__warning_answered_event__free_unpacked(m, NULL);
    return s_finish(s, rc);
}

int sched_on_grade_changed(void *ctx, const outbox_event_t *ev)
{
    sched_t *s = ctx;
    Lz__GradeChanged *m = lz__grade_changed__unpack(NULL, ev->payload_len, ev->payload);
    if (!m || !m->has_business_id || !m->has_changed_at || !m->new_grade ||
        strlen(m->new_grade) != 1 || m->new_grade[0] < 'A' || m->new_grade[0] > 'D') {
        log_warn("score.grade_changed %" PRId64 " does not parse; dropped", ev->outbox_id);
        if (m)
            lz__grade_changed__free_unpacked(m, NULL);
        return 0;
    }
    int c = s_claim(s, ev);
    if (c <= 0) {
        lz__grade_changed__free_unpacked(m, NULL);
        return c;
    }
    char biz[24], at[24];
    snprintf(biz, sizeof biz, "%" PRId64, m->business_id);
    snprintf(at, sizeof at, "%" PRId64, m->changed_at);
    const char *old = m->old_grade && strlen(m->old_grade) == 1 ? m->old_grade : NULL;
    const char *p[5] = {biz, at, m->new_grade, old, m->quarter};
    int rc = pg_exec(s->pg,
                     "INSERT INTO scheduler_grades (business_id, changed_at, grade, old_grade, "
                     "quarter) VALUES ($1::bigint, to_timestamp($2::bigint), $3, $4, $5) "
                     "ON CONFLICT (business_id, changed_at) DO UPDATE SET grade = EXCLUDED.grade, "
                     "old_grade = EXCLUDED.old_grade, quarter = EXCLUDED.quarter",
                     5, p);
    lz__grade_changed__free_unpacked(m, NULL);
    return s_finish(s, rc);
}
