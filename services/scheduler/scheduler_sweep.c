/*
 * scheduler_sweep.c - the sweep: deadlines open tasks, ladders escalate them.
 *
 * A deadline (a ledger period, a visit period) is processed once per scope,
 * in one transaction: the owed set (registry as of the deadline, paged by
 * id), the done set (Redis bitmap lz:done:<kind>:<period>, or the records in
 * PostgreSQL when the bitmap is gone), the missing ones inserted as tasks
 * (ON CONFLICT on the dedupe key: a task is opened once), the per-region
 * counts written to ledger_stats, and the deadline marked done.  Then ladder
 * steps due are fired in batches, each batch one transaction that advances
 * the tasks and writes their notification requests (outbox, COPY) and
 * letters: a step is fired once, and never for a closed task (the rows are
 * locked, closing waits).  A process killed anywhere leaves either a whole
 * deadline or nothing, and whole batches: the next sweep finishes the job.
 */
#include "buf.h"
#include "clock.h"
#include "log.h"
#include "mem.h"
#include "notify.pb-c.h"
#include "scheduler_ladder.h"
#include "scheduler_server.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEADLINES_MAX 2048
#define COPY_MAX      ((size_t)256 * 1024 * 1024)
/* missing businesses of one deadline as COPY text, ~21 bytes each: a day nobody delivered in a
 * registry of 15M is ~320 MB */
#define MISSING_MAX ((size_t)768 * 1024 * 1024)

/* ---- small helpers ---------------------------------------------------------- */

static void s_i64(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%" PRId64, v);
}

static void s_copy_hex(buf_t *b, const uint8_t *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    buf_append(b, "\\\\x", 3);
    for (size_t i = 0; i < n; i++) {
        buf_putc(b, hx[p[i] >> 4]);
        buf_putc(b, hx[p[i] & 15]);
    }
}

static char *s_scope_like(const sched_t *s)
{
    return xasprintf("%s%%", s->scope);
}

int sched_ladder_load(pg_t *pg, const char *name, ladder_t *out)
{
    memset(out, 0, sizeof *out);
    const char *p[1] = {name};
    PGresult *r = pg_query_prepared(
        pg, "sched_ladder_load",
        "SELECT s.step, s.delay_s, coalesce(s.letter, ''), s.urgent, r.role, r.template "
        "FROM ladder_steps s LEFT JOIN ladder_recipients r ON r.ladder = s.ladder AND r.step = "
        "s.step "
        "WHERE s.ladder = $1 ORDER BY s.step, r.position",
        1, p);
    if (!r)
        return -1;
    snprintf(out->name, sizeof out->name, "%s", name);
    for (int i = 0; i < PQntuples(r); i++) {
        int step = (int)pg_int(r, i, 0);
        if (step < 1 || step > LADDER_STEPS_MAX)
            continue;
        ladder_step_t *st = &out->steps[step - 1];
        if (step > out->nsteps) {
            out->nsteps = step;
            st->step = step;
            st->delay_s = pg_int(r, i, 1);
            snprintf(st->letter, sizeof st->letter, "%s", pg_str(r, i, 2));
            st->urgent = pg_bool(r, i, 3);
        }
        if (pg_str(r, i, 4) && st->nrecipients < LADDER_RECIPIENTS_MAX) {
            snprintf(st->r[st->nrecipients].role, sizeof st->r[0].role, "%s", pg_str(r, i, 4));
            snprintf(st->r[st->nrecipients].template_, sizeof st->r[0].template_, "%s",
                     pg_str(r, i, 5));
            st->nrecipients++;
        }
    }
    int n = PQntuples(r);
    pg_free(&r);
    return n > 0 ? 0 : 1;
}

/* ---- ledger deadlines ----------------------------------------------------------- */

/* The done bitmap of kind/period: Redis, or rebuilt from the records when the key is gone.
 * Sets *bm (caller frees) and *len; *from_pg tells which.  0 or -1. */
static int s_done_bitmap(sched_t *s, const deadline_t *d, unsigned char **bm, size_t *len,
                         bool *from_pg)
{
    *bm = NULL;
    *len = 0;
    *from_pg = false;
    redisReply *r = rds_cmd(s->rds, "GET lz:done:%s:%s", d->kind, d->period);
    if (!r)
        return -1;
    if (r->type == REDIS_REPLY_STRING) {
        *bm = xmemdup(r->str, r->len ? (size_t)r->len : 1);
        *len = (size_t)r->len;
        rds_free(&r);
        return 0;
    }
    rds_free(&r);
    char start[24];
    s_i64(start, sizeof start, d->start);
    const char *p[3] = {d->kind, d->period, start};
    PGresult *q =
        pg_query_prepared(s->pg, "sched_done_pg",
                          "SELECT business_id FROM records WHERE kind = $1 AND period = $2 "
                          "AND period_start = to_timestamp($3::bigint)",
                          3, p);
    if (!q)
        return -1;
    int64_t maxid = -1;
    for (int i = 0; i < PQntuples(q); i++)
        if (pg_int(q, i, 0) > maxid)
            maxid = pg_int(q, i, 0);
    *len = maxid >= 0 ? (size_t)(maxid / 8 + 1) : 0;
    *bm = xcalloc(*len ? *len : 1, 1);
    for (int i = 0; i < PQntuples(q); i++)
        bitmap_set(*bm, *len, pg_int(q, i, 0));
    pg_free(&q);
    *from_pg = true;
    return 0;
}

/* Late and problem counters of every community from intake's hash lz:cnt:<kind>:<period>. */
static int s_counters(sched_t *s, const deadline_t *d, region_counts_t *late_problems)
{
    redisReply *r = rds_cmd(s->rds, "HGETALL lz:cnt:%s:%s", d->kind, d->period);
    if (!r)
        return -1;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        const char *f = r->element[i]->str;
        if (!f || r->element[i]->len < REGION_CODE_LEN + 2 || f[REGION_CODE_LEN] != ':')
            continue;
        char code[REGION_CODE_LEN + 1];
        memcpy(code, f, REGION_CODE_LEN);
        code[REGION_CODE_LEN] = '\0';
        region_level_t lv;
        if (region_level_of(code, &lv) != 0 || lv != REGION_COMMUNITY)
            continue;
        if (s->scope[0] && strncmp(code, s->scope, strlen(s->scope)) != 0)
            continue;
        int64_t v = strtoll(r->element[i + 1]->str ? r->element[i + 1]->str : "0", NULL, 10);
        region_count_t *c = region_counts_get(late_problems, code);
        if (!c)
            continue;
        if (!strcmp(f + REGION_CODE_LEN + 1, "late"))
            c->late = v;
        else if (!strcmp(f + REGION_CODE_LEN + 1, "problems"))
            c->problems = v;
    }
    rds_free(&r);
    return 0;
}

static int s_flush_copy(sched_t *s, const char *sql, buf_t *b)
{
    if (buf_len(b) == 0)
        return 0;
    int rc = pg_copy_in(s->pg, sql, buf_data(b), buf_len(b));
    buf_reset(b);
    return rc;
}

static int s_write_stats(sched_t *s, const deadline_t *d, region_counts_t *rc)
{
    buf_t *b = buf_new(COPY_MAX);
    size_t cur = 0;
    const region_count_t *r;
    while ((r = region_counts_next(rc, &cur)))
        buf_printf(
            b, "%s\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n",
            r->code, r->owed, r->submitted, r->on_time, r->late, r->missing, r->problems);
    int rc2 = pg_exec(
        s->pg,
        "CREATE TEMP TABLE IF NOT EXISTS sched_stats_stage (region_code char(12), owed int, "
        "submitted int, on_time int, late int, missing int, problems int) "
        "ON COMMIT DELETE ROWS",
        0, NULL);
    if (rc2 == 0)
        rc2 = s_flush_copy(s, "COPY sched_stats_stage FROM STDIN", b);
    buf_destroy(&b);
    if (rc2 != 0)
        return -1;
    const char *p[2] = {d->kind, d->period};
    return pg_exec(
        s->pg,
        "INSERT INTO ledger_stats (region_code, kind, period, owed, submitted, on_time, late, "
        "missing, problems, computed_at) "
        "SELECT region_code, $1, $2, owed, submitted, on_time, late, missing, problems, now() "
        "FROM sched_stats_stage "
        "ON CONFLICT (region_code, kind, period) DO UPDATE SET owed = EXCLUDED.owed, "
        "submitted = EXCLUDED.submitted, on_time = EXCLUDED.on_time, late = EXCLUDED.late, "
        "missing = EXCLUDED.missing, problems = EXCLUDED.problems, computed_at = now()",
        2, p);
}

/* The businesses of the scope whose day is a declared rest day, as a bitmap (caller frees). */
static int s_rest_bitmap(sched_t *s, const char *day, unsigned char **bm, size_t *len)
{
    *bm = NULL;
    *len = 0;
    if (!day[0])
        return 0;
    const char *p[1] = {day};
    PGresult *r =
        pg_query_prepared(s->pg, "sched_rest_days",
                          "SELECT business_id FROM business_rest_days WHERE day = $1::date", 1, p);
    if (!r)
        return -1;
    int64_t maxid = -1;
    for (int i = 0; i < PQntuples(r); i++)
        if (pg_int(r, i, 0) > maxid)
            maxid = pg_int(r, i, 0);
    *len = maxid >= 0 ? (size_t)(maxid / 8 + 1) : 0;
    *bm = xcalloc(*len ? *len : 1, 1);
    for (int i = 0; i < PQntuples(r); i++)
        bitmap_set(*bm, *len, pg_int(r, i, 0));
    pg_free(&r);
    return 0;
}

/* "t"/"f" at *p (a COPY text field): its value, *p moved past the field's tab. */
static bool s_field_bool(const char **p, const char *end)
{
    bool v = *p < end && **p == 't';
    while (*p < end && **p != '\t')
        (*p)++;
    if (*p < end)
        (*p)++;
    return v;
}

/*
 * Stream the scope's businesses (COPY text: id, region, active, created before the deadline,
 * changed at or after it) and count them: owed / submitted / missing per community, the missing
 * ones appended to miss as COPY rows "id\tregion\n".  One pass, no paging: 15M rows are a few
 * seconds of server time, and the client keeps only the counts and the missing rows.
 */
static int s_owed_scan(sched_t *s, const deadline_t *d, const unsigned char *done, size_t donelen,
                       const unsigned char *rest, size_t restlen, region_counts_t *counts,
                       buf_t *miss)
{
    char dl[24];
    s_i64(dl, sizeof dl, d->deadline);
    char *like = s_scope_like(s);
    const char *p[2] = {dl, like};
    /* COPY takes no parameters: they go in as transaction-local settings */
    int rc = pg_exec(s->pg,
                     "SELECT set_config('lz.sched_deadline', $1, true), "
                     "set_config('lz.sched_like', $2, true)",
                     2, p);
    free(like);
    if (rc != 0)
        return -1;
    PGconn *conn = pg_conn(s->pg);
    PGresult *res = PQexec(conn, "COPY (SELECT b.id, b.region_code, b.status = 'active', "
                                 "b.created_at < q.dl, b.updated_at >= q.dl "
                                 "FROM businesses b, (SELECT to_timestamp(current_setting("
                                 "'lz.sched_deadline')::bigint) AS dl, current_setting("
                                 "'lz.sched_like') AS lk) q WHERE b.region_code LIKE q.lk) "
                                 "TO STDOUT");
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        log_error("owed scan: %s", PQerrorMessage(conn));
        PQclear(res);
        return -1;
    }
    PQclear(res);
    rc = 0;
    char last_code[REGION_CODE_LEN + 1] = "";
    region_count_t *c = NULL;
    char *row;
    int n;
    while ((n = PQgetCopyData(conn, &row, 0)) > 0) {
        const char *q = row, *end = row + n;
        int64_t id = 0;
        while (q < end && *q >= '0' && *q <= '9')
            id = id * 10 + (*q++ - '0');
        if (q + 1 + REGION_CODE_LEN >= end || *q != '\t') {
            PQfreemem(row);
            rc = -1;
            continue;
        }
        const char *code = q + 1;
        q = code + REGION_CODE_LEN + 1;
        owe_facts_t f = {.active = s_field_bool(&q, end)};
        /* the comparisons with the deadline were made by the server: stand-in instants */
        f.created_at = s_field_bool(&q, end) ? d->deadline - 1 : d->deadline;
        f.changed_at = s_field_bool(&q, end) ? d->deadline : d->deadline - 1;
        f.rest_day = bitmap_test(rest, restlen, id);
        if (deadline_owes(&f, d->deadline)) {
            if (!c || memcmp(last_code, code, REGION_CODE_LEN) != 0) {
                char tmp[REGION_CODE_LEN + 1];
                memcpy(tmp, code, REGION_CODE_LEN);
                tmp[REGION_CODE_LEN] = '\0';
                c = region_counts_get(counts, tmp);
                memcpy(last_code, tmp, sizeof last_code);
            }
            if (c) {
                c->owed++;
                if (bitmap_test(done, donelen, id)) {
                    c->submitted++;
                } else {
                    c->missing++;
                    buf_printf(miss, "%" PRId64 "\t%.12s\n", id, code);
                }
            }
        }
        PQfreemem(row);
    }
    if (n == -2) {
        log_error("owed scan: %s", PQerrorMessage(conn));
        rc = -1;
    }
    while ((res = PQgetResult(conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            log_error("owed scan: %s", PQresultErrorMessage(res));
            rc = -1;
        }
        PQclear(res);
    }
    if (rc == 0 && buf_overflowed(miss)) {
        log_error("owed scan: more missing businesses than the buffer holds");
        rc = -1;
    }
    return rc;
}

/* One ledger deadline inside the caller's transaction; *opened gets the tasks opened. */
static int s_ledger_deadline(sched_t *s, const deadline_t *d, const ladder_t *ladder,
                             int64_t *opened)
{
    unsigned char *bm = NULL, *rest = NULL;
    size_t bmlen = 0, restlen = 0;
    bool from_pg = false;
    int rc = -1;
    region_counts_t *counts = region_counts_new();
    region_counts_t *extra = region_counts_new();
    buf_t *miss = buf_new(MISSING_MAX);
    int64_t t0 = clock_mono_ms(), t1 = 0, t2 = 0, t3 = 0;
    char day[16] = "";
    if (!strcmp(d->kind, "daily"))
        snprintf(day, sizeof day, "%s", d->period);
    if (s_done_bitmap(s, d, &bm, &bmlen, &from_pg) != 0 ||
        (!from_pg && s_counters(s, d, extra) != 0) || s_rest_bitmap(s, day, &rest, &restlen) != 0)
        goto out;
    if (pg_exec(s->pg,
                "CREATE TEMP TABLE IF NOT EXISTS sched_missing (business_id bigint, region_code "
                "char(12)) "
                "ON COMMIT DELETE ROWS",
                0, NULL) != 0)
        goto out;
    if (s_owed_scan(s, d, bm, bmlen, rest, restlen, counts, miss) != 0)
        goto out;
    t1 = clock_mono_ms();
    if (s_flush_copy(s, "COPY sched_missing FROM STDIN", miss) != 0)
        goto out;
    /* late and problems per community, then every ancestor */
    size_t cur = 0;
    region_count_t *c;
    while ((c = (region_count_t *)region_counts_next(counts, &cur))) {
        region_count_t *e = region_counts_get(extra, c->code);
        c->late = e->late < c->submitted ? e->late : c->submitted;
        c->on_time = c->submitted - c->late;
        c->problems = e->problems;
    }
    region_counts_rollup(counts);
    char kind[32], dl[24], first[24];
    snprintf(kind, sizeof kind, "ledger_%s", d->kind);
    s_i64(dl, sizeof dl, d->deadline);
    int64_t due;
    bool has_first = ladder_next_due(ladder, d->deadline, 0, &due);
    if (has_first)
        s_i64(first, sizeof first, due);
    const char *p[5] = {kind, d->period, dl, has_first ? first : NULL, ladder->name};
    PGresult *ins = pg_query(
        s->pg,
        "INSERT INTO tasks (kind, ladder, business_id, region_code, period, deadline, opened_at, "
        "next_step_at, dedupe) "
        "SELECT $1, $5, m.business_id, m.region_code, $2, to_timestamp($3::bigint), "
        "to_timestamp($3::bigint), to_timestamp($4::bigint), $1 || ':' || m.business_id || ':' || "
        "$2 "
        "FROM sched_missing m ORDER BY m.business_id ON CONFLICT (dedupe) DO NOTHING",
        5, p);
    if (!ins)
        goto out;
    *opened = strtoll(PQcmdTuples(ins), NULL, 10);
    pg_free(&ins);
    t2 = clock_mono_ms();
    if (s_write_stats(s, d, counts) != 0)
        goto out;
    t3 = clock_mono_ms();
    log_info("deadline %s %s timing: owed and missing sets %" PRId64 " ms, tasks %" PRId64
             " ms, region counts %" PRId64 " ms",
             d->kind, d->period, t1 - t0, t2 - t1, t3 - t2);
    rc = 0;
out:
    free(bm);
    free(rest);
    buf_destroy(&miss);
    region_counts_destroy(&counts);
    region_counts_destroy(&extra);
    return rc;
}

/* ---- visit deadlines ------------------------------------------------------------ */

static const char *const s_levels[4] = {"city", "county", "township", "village"};

static int s_visit_deadline(sched_t *s, const deadline_t *d, visit_freq_t f, const ladder_t *ladder,
                            int64_t *opened)
{
    char levels[64];
    size_t used = 0;
    levels[used++] = '{';
    for (int i = 0; i < 4; i++)
        if (s->visit_freq[i] == f)
            used += (size_t)snprintf(levels + used, sizeof levels - used, "%s%s",
                                     used > 1 ? "," : "", s_levels[i]);
    snprintf(levels + used, sizeof levels - used, "}");
    char *like = s_scope_like(s);
    char start[24], dl[24], first[24];
    s_i64(start, sizeof start, d->start);
    s_i64(dl, sizeof dl, d->deadline - s->grace_s);
    int64_t due;
    bool has = ladder_next_due(ladder, d->deadline, 0, &due);
    if (has)
        s_i64(first, sizeof first, due);
    const char *p1[5] = {d->period, start, dl, levels, like};
    int rc = pg_exec(
        s->pg,
        "INSERT INTO visit_obligations (cadre_id, business_id, region_code, period, owed, done) "
        "SELECT a.cadre_id, a.business_id, b.region_code, $1, 1, "
        "  (SELECT count(*) FROM visits v WHERE v.cadre_id = a.cadre_id AND v.business_id = "
        "a.business_id "
        "   AND v.visited_at >= to_timestamp($2::bigint) AND v.visited_at < "
        "to_timestamp($3::bigint)) "
        "FROM assignments a JOIN cadres c ON c.id = a.cadre_id JOIN businesses b ON b.id = "
        "a.business_id "
        "WHERE a.until IS NULL AND c.status = 'active' AND c.level = ANY($4::text[]) "
        "AND b.status = 'active' AND b.region_code LIKE $5 AND a.since < to_timestamp($3::bigint) "
        "ON CONFLICT (cadre_id, business_id, period) DO UPDATE SET owed = EXCLUDED.owed, "
        "done = GREATEST(visit_obligations.done, EXCLUDED.done)",
        5, p1);
    if (rc == 0) {
        char dls[24];
        s_i64(dls, sizeof dls, d->deadline);
        const char *p2[5] = {d->period, dls, has ? first : NULL, levels, like};
        PGresult *r =
            pg_query(s->pg,
                     "INSERT INTO tasks (kind, ladder, business_id, cadre_id, region_code, period, "
                     "deadline, "
                     "opened_at, next_step_at, dedupe) "
                     "SELECT 'visit', 'visit', o.business_id, o.cadre_id, o.region_code, $1, "
                     "to_timestamp($2::bigint), "
                     "to_timestamp($2::bigint), to_timestamp($3::bigint), "
                     "'visit:' || o.cadre_id || ':' || o.business_id || ':' || $1 "
                     "FROM visit_obligations o JOIN cadres c ON c.id = o.cadre_id "
                     "WHERE o.period = $1 AND o.done < o.owed AND c.level = ANY($4::text[]) "
                     "AND o.region_code LIKE $5 "
                     "ON CONFLICT (dedupe) DO NOTHING",
                     5, p2);
        if (r) {
            *opened = strtoll(PQcmdTuples(r), NULL, 10);
            pg_free(&r);
        } else {
            rc = -1;
        }
    }
    free(like);
    return rc;
}

/* ---- the deadlines of a window ------------------------------------------------------ */

static int s_deadline_cmp(const void *a, const void *b)
{
    const deadline_t *x = a, *y = b;
    if (x->deadline != y->deadline)
        return x->deadline < y->deadline ? -1 : 1;
    int c = strcmp(x->kind, y->kind);
    return c ? c : strcmp(x->period, y->period);
}

static visit_freq_t s_freq_of_period(const char *period)
{
    if (strchr(period, 'Q'))
        return VISIT_QUARTERLY;
    if (strchr(period, 'H'))
        return VISIT_HALFYEARLY;
    if (strlen(period) == 4)
        return VISIT_YEARLY;
    return VISIT_MONTHLY;
}

static int s_deadlines(sched_t *s, int64_t from, int64_t to, deadline_t *out, int max)
{
    int n = 0;
    for (int k = PERIOD_DAILY; k <= PERIOD_MONTHLY; k++) {
        int m = deadline_ledger_list((period_kind_t)k, s->grace_s, from, to, out + n, max - n);
        if (m < 0)
            return -1;
        n += m;
    }
    bool seen[4] = {false, false, false, false};
    for (int i = 0; i < 4; i++) {
        if (seen[s->visit_freq[i]])
            continue;
        seen[s->visit_freq[i]] = true;
        int m = deadline_visit_list(s->visit_freq[i], s->grace_s, from, to, out + n, max - n);
        if (m < 0)
            return -1;
        n += m;
    }
    qsort(out, (size_t)n, sizeof *out, s_deadline_cmp);
    return n;
}

static int s_process_deadline(sched_t *s, const deadline_t *d, const ladder_t *ledger,
                              const ladder_t *visit, int64_t *opened)
{
    const char *p[3] = {s->scope, d->kind, d->period};
    PGresult *r =
        pg_query_prepared(s->pg, "sched_dl_done",
                          "SELECT 1 FROM scheduler_deadlines WHERE scope = $1 AND kind = $2 "
                          "AND period = $3",
                          3, p);
    if (!r)
        return -1;
    bool done = PQntuples(r) > 0;
    pg_free(&r);
    if (done)
        return 0;
    int64_t t0 = clock_mono_ms();
    if (pg_begin(s->pg) != 0)
        return -1;
    int64_t n = 0;
    int rc = !strcmp(d->kind, "visit")
                 ? s_visit_deadline(s, d, s_freq_of_period(d->period), visit, &n)
                 : s_ledger_deadline(s, d, ledger, &n);
    if (rc == 0) {
        char dl[24], nn[24];
        s_i64(dl, sizeof dl, d->deadline);
        s_i64(nn, sizeof nn, n);
        const char *q[5] = {s->scope, d->kind, d->period, dl, nn};
        rc = pg_exec(s->pg,
                     "INSERT INTO scheduler_deadlines (scope, kind, period, deadline, opened) "
                     "VALUES ($1, $2, $3, to_timestamp($4::bigint), $5::int)",
                     5, q);
    }
    if (rc != 0 || pg_commit(s->pg) != 0) {
        pg_rollback(s->pg);
        return -1;
    }
    *opened += n;
    log_info("deadline %s %s (scope '%s'): %" PRId64 " tasks opened in %" PRId64 " ms", d->kind,
             d->period, s->scope, n, clock_mono_ms() - t0);
    return 0;
}

/* ---- unassigned businesses and unanswered warnings ------------------------------------ */

/* Unassigned businesses: open their tasks when open_new (a scan of the whole registry: once a
 * day), and close those of businesses that got a cadre or stopped (every sweep). */
static int s_unassigned(sched_t *s, int64_t as_of, bool open_new, const ladder_t *visit,
                        sweep_result_t *res)
{
    char *like = s_scope_like(s);
    char asof[24], grace[24], d0[24];
    s_i64(asof, sizeof asof, as_of);
    s_i64(grace, sizeof grace, s->unassigned_grace_s);
    int64_t first = visit->nsteps ? visit->steps[0].delay_s : 0;
    s_i64(d0, sizeof d0, first);
    const char *p[4] = {like, asof, grace, d0};
    PGresult *r =
        !open_new
            ? NULL
            : pg_query(
                  s->pg,
                  "WITH n AS MATERIALIZED ("
                  "  SELECT b.id, b.region_code, b.created_at FROM businesses b "
                  "  WHERE b.status = 'active' AND b.region_code LIKE $1 "
                  "  AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.business_id = b.id AND "
                  "a.until IS "
                  "NULL)), "
                  "u AS (SELECT n.id, n.region_code, extract(epoch FROM coalesce((SELECT "
                  "max(a.until) "
                  "  FROM assignments a WHERE a.business_id = n.id), n.created_at))::bigint AS "
                  "since FROM n) "
                  "INSERT INTO tasks (kind, ladder, business_id, region_code, period, deadline, "
                  "opened_at, "
                  "next_step_at, dedupe) "
                  "SELECT 'unassigned', 'visit', u.id, left(u.region_code, 9) || '000', "
                  "  to_char(to_timestamp(u.since) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'), "
                  "  to_timestamp(u.since + $3::bigint), to_timestamp(u.since + $3::bigint), "
                  "  to_timestamp(u.since + $3::bigint + $4::bigint), 'unassigned:' || u.id || ':' "
                  "|| "
                  "u.since "
                  "FROM u WHERE u.since + $3::bigint <= $2::bigint "
                  "ON CONFLICT (dedupe) DO NOTHING",
                  4, p);
    if (open_new && !r) {
        free(like);
        return -1;
    }
    if (r)
        res->opened += strtoll(PQcmdTuples(r), NULL, 10);
    pg_free(&r);
    const char *q[2] = {like, asof};
    r = pg_query(s->pg,
                 "UPDATE tasks t SET status = 'closed', closed_at = to_timestamp($2::bigint), "
                 "closed_by = 'assignment', next_step_at = NULL "
                 "WHERE t.kind = 'unassigned' AND t.status = 'open' AND t.region_code LIKE $1 "
                 "AND (EXISTS (SELECT 1 FROM assignments a WHERE a.business_id = t.business_id "
                 "             AND a.until IS NULL) "
                 "  OR NOT EXISTS (SELECT 1 FROM businesses b WHERE b.id = t.business_id "
                 "                 AND b.status = 'active'))",
                 2, q);
    free(like);
    if (!r)
        return -1;
    res->closed += strtoll(PQcmdTuples(r), NULL, 10);
    pg_free(&r);
    return 0;
}

static int s_warnings(sched_t *s, int64_t as_of, const ladder_t *visit, sweep_result_t *res)
{
    char *like = s_scope_like(s);
    char asof[24], d0[24];
    s_i64(asof, sizeof asof, as_of);
    s_i64(d0, sizeof d0, visit->nsteps ? visit->steps[0].delay_s : 0);
    const char *p[3] = {like, asof, d0};
    PGresult *r = pg_query(
        s->pg,
        "INSERT INTO tasks (kind, ladder, business_id, region_code, period, deadline, opened_at, "
        "next_step_at, dedupe) "
        "SELECT 'warning', 'visit', w.business_id, b.region_code, "
        "  to_char(w.rectify_by AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'), w.rectify_by, "
        "w.rectify_by, "
        "  w.rectify_by + make_interval(secs => $3::bigint), 'warning:' || w.warning_id "
        "FROM scheduler_warnings w JOIN businesses b ON b.id = w.business_id "
        "WHERE w.answered_at IS NULL AND w.rectify_by <= to_timestamp($2::bigint) "
        "AND b.region_code LIKE $1 "
        "ON CONFLICT (dedupe) DO NOTHING",
        3, p);
    free(like);
    if (!r)
        return -1;
    res->opened += strtoll(PQcmdTuples(r), NULL, 10);
    pg_free(&r);
    return 0;
}

/* ---- escalation ---------------------------------------------------------------------- */

/* A person or address a step tells. */
typedef struct {
    const char *channel, *to, *name;
    int64_t cadre_id;
} s_rcpt_t;

typedef struct {
    int64_t business_id, id;
    char name[64], phone[16], level[16];
} s_cadre_t;

typedef struct {
    char code[REGION_CODE_LEN + 1];
    char name[128];
    char phone[32], email[128], webhook[256], contact[64];
} s_region_t;

typedef struct {
    s_region_t *v;
    size_t n;
} s_regions_t;

/* Region names and regulator contacts of the scope (not communities), sorted by code. */
static int s_regions_load(sched_t *s, s_regions_t *out)
{
    char *like = s_scope_like(s);
    const char *p[1] = {like};
    PGresult *r = pg_query(
        s->pg,
        "SELECT g.code, g.name, coalesce(c.phone, ''), coalesce(c.email, ''), "
        "coalesce(c.webhook, ''), coalesce(c.name, '') "
        "FROM regions g LEFT JOIN region_contacts c ON c.region_code = g.code "
        "AND c.role = 'regulator' "
        "WHERE g.level <> 'community' AND (g.code LIKE $1 OR $1 LIKE rtrim(g.code, '0') || '%') "
        "ORDER BY g.code",
        1, p);
    free(like);
    if (!r)
        return -1;
    out->n = (size_t)PQntuples(r);
    out->v = xcalloc(out->n + 1, sizeof *out->v);
    for (size_t i = 0; i < out->n; i++) {
        s_region_t *g = &out->v[i];
        snprintf(g->code, sizeof g->code, "%s", pg_str(r, (int)i, 0));
        snprintf(g->name, sizeof g->name, "%s", pg_str(r, (int)i, 1));
        snprintf(g->phone, sizeof g->phone, "%s", pg_str(r, (int)i, 2));
        snprintf(g->email, sizeof g->email, "%s", pg_str(r, (int)i, 3));
        snprintf(g->webhook, sizeof g->webhook, "%s", pg_str(r, (int)i, 4));
        snprintf(g->contact, sizeof g->contact, "%s", pg_str(r, (int)i, 5));
    }
    pg_free(&r);
    return 0;
}

static const s_region_t *s_region_find(const s_regions_t *rs, const char *code)
{
    size_t lo = 0, hi = rs->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strncmp(rs->v[mid].code, code, REGION_CODE_LEN);
        if (c == 0)
            return &rs->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The code of region's ancestor (or itself) at level: township, district or city. */
static void s_region_at(const char *region, const char *level, char out[REGION_CODE_LEN + 1])
{
    size_t keep = !strcmp(level, "township") ? 9 : !strcmp(level, "district") ? 6 : 4;
    memset(out, '0', REGION_CODE_LEN);
    out[REGION_CODE_LEN] = '\0';
    memcpy(out, region, keep);
}

typedef struct {
    int64_t id, business_id, cadre_id, deadline;
    int step;
    const char *kind, *ladder, *region, *period, *bname, *head_name, *head_phone, *off_name,
        *off_phone;
} s_task_t;

static const char *s_owed_text(const char *kind)
{
    if (!strcmp(kind, "ledger_daily"))
        return "日管控记录";
    if (!strcmp(kind, "ledger_weekly"))
        return "周排查报告";
    if (!strcmp(kind, "ledger_monthly"))
        return "月调度纪要";
    if (!strcmp(kind, "visit"))
        return "包保督导";
    if (!strcmp(kind, "unassigned"))
        return "包保干部落实";
    return "预警整改答复";
}

/* Resolve one recipient role for task t; false when nobody answers to it. */
static bool s_resolve(const ladder_role_t *role, const s_task_t *t, const s_cadre_t *cadres,
                      size_t ncadres, const s_cadre_t *own, const s_regions_t *regions,
                      s_rcpt_t *out)
{
    memset(out, 0, sizeof *out);
    switch (role->kind) {
    case ROLE_OFFICER:
        if (!t->off_phone || !t->off_phone[0])
            return false;
        *out = (s_rcpt_t){"sms", t->off_phone, t->off_name, 0};
        return true;
    case ROLE_HEAD:
    case ROLE_BUSINESS:
        if (!t->head_phone || !t->head_phone[0])
            return false;
        *out = (s_rcpt_t){"sms", t->head_phone, t->head_name, 0};
        return true;
    case ROLE_CADRE:
        if (own) {
            *out = (s_rcpt_t){"sms", own->phone, own->name, own->id};
            return true;
        }
        for (int lv = 3; lv >= 0; lv--)
            for (size_t i = 0; i < ncadres; i++)
                if (cadres[i].business_id == t->business_id &&
                    !strcmp(cadres[i].level, s_levels[lv])) {
                    *out = (s_rcpt_t){"sms", cadres[i].phone, cadres[i].name, cadres[i].id};
                    return true;
                }
        return false;
    case ROLE_CADRE_AT:
        for (size_t i = 0; i < ncadres; i++)
            if (cadres[i].business_id == t->business_id && !strcmp(cadres[i].level, role->level)) {
                *out = (s_rcpt_t){"sms", cadres[i].phone, cadres[i].name, cadres[i].id};
                return true;
            }
        return false;
    case ROLE_REGULATOR: {
        char code[REGION_CODE_LEN + 1];
        s_region_at(t->region, role->level, code);
        const s_region_t *g = s_region_find(regions, code);
        if (!g)
            return false;
        const char *name = g->contact[0] ? g->contact : g->name;
        if (g->webhook[0])
            *out = (s_rcpt_t){"webhook", g->webhook, name, 0};
        else if (g->email[0])
            *out = (s_rcpt_t){"email", g->email, name, 0};
        else if (g->phone[0])
            *out = (s_rcpt_t){"sms", g->phone, name, 0};
        else
            return false;
        return true;
    }
    }
    return false;
}

static void s_param(Lz__NotifyParam *pp, Lz__NotifyParam **ptrs, size_t *n, const char *k,
                    const char *v)
{
    lz__notify_param__init(&pp[*n]);
    pp[*n].key = (char *)k;
    pp[*n].value = (char *)(v ? v : "");
    ptrs[*n] = &pp[*n];
    (*n)++;
}

/* Fire one step of t at instant due: letter (if any) and notification requests into out/letters. */
static int s_fire(sched_t *s, const s_task_t *t, const ladder_t *l, int stepno, int64_t due,
                  const s_cadre_t *cadres, size_t ncadres, const s_cadre_t *own,
                  const s_regions_t *regions, buf_t *outbox)
{
    const ladder_step_t *st = ladder_step(l, stepno);
    char deadline_txt[RFC3339_TEXT_MAX], stepno_txt[16];
    rfc3339_format(t->deadline, deadline_txt, sizeof deadline_txt);
    snprintf(stepno_txt, sizeof stepno_txt, "%d", stepno);
    int64_t letter_id = 0;
    char number[256] = "";
    s_rcpt_t rc[LADDER_RECIPIENTS_MAX];
    memset(rc, 0, sizeof rc);
    for (int j = 0; j < st->nrecipients; j++) {
        ladder_role_t role;
        if (ladder_role_parse(st->r[j].role, &role) != 0 ||
            !s_resolve(&role, t, cadres, ncadres, own, regions, &rc[j]))
            rc[j].channel = NULL; /* nobody answers to it: skipped */
    }
    if (st->letter[0]) {
        char issuer_code[REGION_CODE_LEN + 1];
        s_region_at(t->region, "district", issuer_code);
        const s_region_t *g = s_region_find(regions, issuer_code);
        const char *issuer = g ? g->name : issuer_code;
        int y, m, d;
        local_date(due, &y, &m, &d);
        char year[8];
        snprintf(year, sizeof year, "%d", y);
        const char *p[3] = {issuer_code, year, st->letter};
        PGresult *r =
            pg_query_prepared(s->pg, "sched_letter_no",
                              "INSERT INTO letter_counters (region_code, year, kind, last) "
                              "VALUES ($1, $2::int, $3, 1) ON CONFLICT (region_code, year, kind) "
                              "DO UPDATE SET last = letter_counters.last + 1 RETURNING last",
                              3, p);
        if (!r)
            return -1;
        int64_t seq = pg_int(r, 0, 0);
        pg_free(&r);
        ladder_letter_number(issuer, y, st->letter, seq, number, sizeof number);
        const char *recipient = NULL;
        for (int j = 0; j < st->nrecipients && !recipient; j++)
            if (rc[j].channel)
                recipient = rc[j].name;
        if (!recipient)
            recipient = t->bname ? t->bname : issuer;
        int64_t nd;
        if (!ladder_next_due(l, t->deadline, stepno, &nd))
            nd = due + 7 * 86400;
        char date_txt[32], owed[128];
        snprintf(date_txt, sizeof date_txt, "%d年%d月%d日", y, m, d);
        snprintf(owed, sizeof owed, "%s（%s）", s_owed_text(t->kind), t->period);
        char nd_local[32];
        int ny, nm, ndd;
        local_date(nd, &ny, &nm, &ndd);
        snprintf(nd_local, sizeof nd_local, "%d年%d月%d日", ny, nm, ndd);
        ladder_letter_t lt = {.kind = st->letter,
                              .recipient = recipient,
                              .issuer = issuer,
                              .subject = t->bname ? t->bname : t->region,
                              .owed = owed,
                              .deadline = nd_local,
                              .date = date_txt};
        char *body = ladder_letter_body(&lt);
        char tid[24], sn[16], ndn[24], dn[24];
        s_i64(tid, sizeof tid, t->id);
        snprintf(sn, sizeof sn, "%d", stepno);
        s_i64(ndn, sizeof ndn, nd);
        s_i64(dn, sizeof dn, due);
        const char *q[9] = {number, st->letter, tid, sn, recipient, issuer_code, ndn, body, dn};
        r = pg_query_prepared(
            s->pg, "sched_letter_ins",
            "INSERT INTO letters (number, kind, task_id, step, recipient, region_code, "
            "deadline, body, created_at) VALUES ($1, $2, $3::bigint, $4::int, $5, $6, "
            "to_timestamp($7::bigint), $8, to_timestamp($9::bigint)) "
            "ON CONFLICT (task_id, step) DO UPDATE SET number = letters.number "
            "RETURNING id",
            9, q);
        free(body);
        if (!r)
            return -1;
        letter_id = pg_int(r, 0, 0);
        pg_free(&r);
    }
    int k = 0;
    for (int j = 0; j < st->nrecipients; j++) {
        if (!rc[j].channel)
            continue;
        k++;
        char dedupe[96];
        if (k == 1)
            snprintf(dedupe, sizeof dedupe, "task:%" PRId64 ":step:%d", t->id, stepno);
        else
            snprintf(dedupe, sizeof dedupe, "task:%" PRId64 ":step:%d:%d", t->id, stepno, k);
        Lz__NotifyRequest nr = LZ__NOTIFY_REQUEST__INIT;
        nr.dedupe_key = dedupe;
        nr.template_ = (char *)st->r[j].template_;
        nr.channel = (char *)rc[j].channel;
        nr.to = (char *)rc[j].to;
        nr.to_name = (char *)(rc[j].name ? rc[j].name : "");
        nr.has_urgent = true;
        nr.urgent = st->urgent;
        if (t->business_id) {
            nr.has_business_id = true;
            nr.business_id = t->business_id;
        }
        if (rc[j].cadre_id || t->cadre_id) {
            nr.has_cadre_id = true;
            nr.cadre_id = rc[j].cadre_id ? rc[j].cadre_id : t->cadre_id;
        }
        nr.region_code = (char *)t->region;
        nr.has_task_id = nr.has_step = true;
        nr.task_id = t->id;
        nr.step = stepno;
        if (letter_id) {
            nr.has_letter_id = true;
            nr.letter_id = letter_id;
        }
        nr.has_created_at_ms = true;
        nr.created_at_ms = due * 1000;
        Lz__NotifyParam pp[8];
        Lz__NotifyParam *ptrs[8];
        size_t np = 0;
        s_param(pp, ptrs, &np, "business_name", t->bname);
        s_param(pp, ptrs, &np, "owed", s_owed_text(t->kind));
        s_param(pp, ptrs, &np, "period", t->period);
        s_param(pp, ptrs, &np, "deadline", deadline_txt);
        s_param(pp, ptrs, &np, "kind", t->kind);
        s_param(pp, ptrs, &np, "step", stepno_txt);
        if (number[0])
            s_param(pp, ptrs, &np, "letter_number", number);
        nr.n_params = np;
        nr.params = ptrs;
        size_t len = lz__notify_request__get_packed_size(&nr);
        uint8_t *bytes = xmalloc(len ? len : 1);
        lz__notify_request__pack(&nr, bytes);
        buf_append_str(outbox, "notify.request\t");
        buf_printf(outbox, "%" PRId64 "\t", t->id);
        s_copy_hex(outbox, bytes, len);
        buf_putc(outbox, '\n');
        free(bytes);
    }
    return 0;
}

/*
 * One batch of due tasks in one transaction: ids[0..nids) (a slice of the sweep's list of due
 * tasks), locked and re-checked (a task closed or fired meanwhile is left out; one locked by
 * someone else is skipped and found by the next pass).  Returns tasks handled, or -1.
 */
static int s_escalate_batch(sched_t *s, int64_t as_of, const int64_t *ids_in, int nids,
                            const ladder_t *ladders, int nladders, const s_regions_t *regions,
                            sweep_result_t *res)
{
    char asof[24];
    s_i64(asof, sizeof asof, as_of);
    buf_t *list = buf_new(COPY_MAX);
    buf_putc(list, '{');
    for (int i = 0; i < nids; i++)
        buf_printf(list, "%s%" PRId64, i ? "," : "", ids_in[i]);
    buf_putc(list, '}');
    if (pg_begin(s->pg) != 0) {
        buf_destroy(&list);
        return -1;
    }
    const char *p[2] = {buf_data(list), asof};
    PGresult *r = pg_query_prepared(
        s->pg, "sched_due_batch",
        "SELECT t.id, t.kind, t.ladder, coalesce(t.business_id, 0), coalesce(t.cadre_id, 0), "
        "t.region_code, t.period, t.step, extract(epoch FROM t.deadline)::bigint, "
        "b.name, b.head_name, b.head_phone, b.officer_name, b.officer_phone "
        "FROM tasks t LEFT JOIN businesses b ON b.id = t.business_id "
        "WHERE t.id = ANY($1::bigint[]) AND t.status = 'open' "
        "AND t.next_step_at <= to_timestamp($2::bigint) "
        "ORDER BY t.next_step_at, t.id FOR UPDATE OF t SKIP LOCKED",
        2, p);
    buf_destroy(&list);
    if (!r) {
        pg_rollback(s->pg);
        return -1;
    }
    int n = PQntuples(r);
    if (n == 0) {
        pg_free(&r);
        pg_rollback(s->pg);
        return 0;
    }
    /* the cadres of these businesses, and the tasks' own cadres: only when a step due names one */
    bool need_cadres = false;
    for (int i = 0; i < n && !need_cadres; i++) {
        const ladder_t *l = NULL;
        for (int k = 0; k < nladders; k++)
            if (!strcmp(ladders[k].name, pg_str(r, i, 2)))
                l = &ladders[k];
        int step = (int)pg_int(r, i, 7);
        int due_n = l ? ladder_due_count(l, pg_int(r, i, 8), step, as_of) : 0;
        for (int k = step + 1; k <= step + due_n && !need_cadres; k++) {
            const ladder_step_t *st = ladder_step(l, k);
            for (int j = 0; st && j < st->nrecipients; j++) {
                ladder_role_t role;
                if (ladder_role_parse(st->r[j].role, &role) == 0 &&
                    (role.kind == ROLE_CADRE || role.kind == ROLE_CADRE_AT))
                    need_cadres = true;
            }
        }
    }
    buf_t *ids = buf_new(COPY_MAX), *own_ids = buf_new(COPY_MAX);
    buf_putc(ids, '{');
    buf_putc(own_ids, '{');
    for (int i = 0; i < n; i++) {
        buf_printf(ids, "%s%s", i ? "," : "", pg_str(r, i, 3));
        buf_printf(own_ids, "%s%s", i ? "," : "", pg_str(r, i, 4));
    }
    buf_putc(ids, '}');
    buf_putc(own_ids, '}');
    if (!need_cadres) {
        buf_reset(ids);
        buf_reset(own_ids);
        buf_append_str(ids, "{}");
        buf_append_str(own_ids, "{}");
    }
    const char *cp[2] = {buf_data(ids), buf_data(own_ids)};
    PGresult *cr = pg_query_prepared(
        s->pg, "sched_cadres",
        "SELECT a.business_id, c.id, c.name, c.phone, c.level FROM assignments a "
        "JOIN cadres c ON c.id = a.cadre_id WHERE a.until IS NULL AND c.status = 'active' "
        "AND a.business_id = ANY($1::bigint[]) "
        "UNION ALL SELECT -1, c.id, c.name, c.phone, c.level FROM cadres c WHERE c.id = "
        "ANY($2::bigint[]) "
        "ORDER BY 1, 2",
        2, cp);
    buf_destroy(&ids);
    buf_destroy(&own_ids);
    if (!cr) {
        pg_free(&r);
        pg_rollback(s->pg);
        return -1;
    }
    size_t nc = (size_t)PQntuples(cr);
    s_cadre_t *cadres = xcalloc(nc + 1, sizeof *cadres);
    for (size_t i = 0; i < nc; i++) {
        cadres[i].business_id = pg_int(cr, (int)i, 0);
        cadres[i].id = pg_int(cr, (int)i, 1);
        snprintf(cadres[i].name, sizeof cadres[i].name, "%s", pg_str(cr, (int)i, 2));
        snprintf(cadres[i].phone, sizeof cadres[i].phone, "%s", pg_str(cr, (int)i, 3));
        snprintf(cadres[i].level, sizeof cadres[i].level, "%s", pg_str(cr, (int)i, 4));
    }
    pg_free(&cr);
    buf_t *outbox = buf_new(COPY_MAX);
    buf_t *upd_id = buf_new(COPY_MAX), *upd_step = buf_new(COPY_MAX), *upd_next = buf_new(COPY_MAX);
    buf_putc(upd_id, '{');
    buf_putc(upd_step, '{');
    buf_putc(upd_next, '{');
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        s_task_t t = {.id = pg_int(r, i, 0),
                      .kind = pg_str(r, i, 1),
                      .ladder = pg_str(r, i, 2),
                      .business_id = pg_int(r, i, 3),
                      .cadre_id = pg_int(r, i, 4),
                      .region = pg_str(r, i, 5),
                      .period = pg_str(r, i, 6),
                      .step = (int)pg_int(r, i, 7),
                      .deadline = pg_int(r, i, 8),
                      .bname = pg_str(r, i, 9),
                      .head_name = pg_str(r, i, 10),
                      .head_phone = pg_str(r, i, 11),
                      .off_name = pg_str(r, i, 12),
                      .off_phone = pg_str(r, i, 13)};
        const ladder_t *l = NULL;
        for (int k = 0; k < nladders; k++)
            if (!strcmp(ladders[k].name, t.ladder))
                l = &ladders[k];
        const s_cadre_t *own = NULL;
        for (size_t k = 0; k < nc && t.cadre_id; k++)
            if (cadres[k].business_id == -1 && cadres[k].id == t.cadre_id)
                own = &cadres[k];
        int step = t.step;
        int64_t next = -1;
        if (l) {
            int due_n = ladder_due_count(l, t.deadline, t.step, as_of);
            for (int k = 1; k <= due_n && rc == 0; k++) {
                int64_t due;
                ladder_next_due(l, t.deadline, step, &due);
                rc = s_fire(s, &t, l, step + 1, due, cadres, nc, own, regions, outbox);
                step++;
                res->escalated++;
            }
            if (!ladder_next_due(l, t.deadline, step, &next))
                next = -1;
        }
        buf_printf(upd_id, "%s%" PRId64, i ? "," : "", t.id);
        buf_printf(upd_step, "%s%d", i ? "," : "", step);
        buf_printf(upd_next, "%s%" PRId64, i ? "," : "", next);
    }
    buf_putc(upd_id, '}');
    buf_putc(upd_step, '}');
    buf_putc(upd_next, '}');
    if (rc == 0 && buf_overflowed(outbox))
        rc = -1;
    if (rc == 0)
        rc = s_flush_copy(s, "COPY outbox (topic, key, payload) FROM STDIN", outbox);
    if (rc == 0) {
        const char *u[3] = {buf_data(upd_id), buf_data(upd_step), buf_data(upd_next)};
        rc = pg_exec(
            s->pg,
            "UPDATE tasks t SET step = v.step, next_step_at = CASE WHEN v.nxt < 0 THEN NULL "
            "ELSE to_timestamp(v.nxt) END "
            "FROM (SELECT unnest($1::bigint[]) AS id, unnest($2::int[]) AS step, "
            "unnest($3::bigint[]) AS nxt) v WHERE t.id = v.id",
            3, u);
    }
    buf_destroy(&outbox);
    buf_destroy(&upd_id);
    buf_destroy(&upd_step);
    buf_destroy(&upd_next);
    free(cadres);
    pg_free(&r);
    if (rc != 0 || pg_commit(s->pg) != 0) {
        pg_rollback(s->pg);
        return -1;
    }
    return n;
}

/*
 * Every ladder step due by as_of: the due tasks' ids are listed once in firing order
 * (next_step_at, id) - one index range scan - and handled s->batch at a time; a second pass
 * picks up what was locked by someone else, until a pass handles nothing.  0 or -1.
 */
static int s_escalate(sched_t *s, int64_t as_of, const ladder_t *ladders, int nladders,
                      const s_regions_t *regions, sweep_result_t *res)
{
    char *like = s_scope_like(s);
    char asof[24];
    s_i64(asof, sizeof asof, as_of);
    const char *p[2] = {asof, like};
    int rc = 0;
    for (;;) {
        int64_t t0 = clock_mono_ms();
        PGresult *r = pg_query_prepared(
            s->pg, "sched_due_list",
            "SELECT t.id FROM tasks t WHERE t.status = 'open' "
            "AND t.next_step_at <= to_timestamp($1::bigint) AND t.region_code LIKE $2 "
            "ORDER BY t.next_step_at, t.id",
            2, p);
        if (!r) {
            rc = -1;
            break;
        }
        int n = PQntuples(r);
        int64_t *ids = xmalloc(((size_t)n + 1) * sizeof *ids);
        for (int i = 0; i < n; i++)
            ids[i] = pg_int(r, i, 0);
        pg_free(&r);
        int64_t handled = 0;
        for (int off = 0; off < n && rc == 0; off += s->batch) {
            int m = s_escalate_batch(s, as_of, ids + off, n - off < s->batch ? n - off : s->batch,
                                     ladders, nladders, regions, res);
            if (m < 0)
                rc = -1;
            else
                handled += m;
        }
        free(ids);
        if (n > 0)
            log_info("escalation: %d tasks due, %" PRId64 " handled in %" PRId64 " ms", n, handled,
                     clock_mono_ms() - t0);
        if (rc != 0 || handled == 0)
            break;
    }
    free(like);
    return rc;
}

/* ---- the sweep ------------------------------------------------------------------- */

static int s_lock(sched_t *s, bool take)
{
    const char *p[1] = {s->scope};
    return pg_exec(s->pg,
                   take ? "SELECT pg_advisory_lock(2021, hashtext($1))"
                        : "SELECT pg_advisory_unlock(2021, hashtext($1))",
                   1, p);
}

int sched_sweep(sched_t *s, int64_t as_of, sweep_result_t *res)
{
    memset(res, 0, sizeof *res);
    if (s_lock(s, true) != 0)
        return -1;
    int rc = -1;
    deadline_t *dls = xcalloc(DEADLINES_MAX, sizeof *dls);
    s_regions_t regions = {NULL, 0};
    ladder_t ladders[2];
    if (sched_ladder_load(s->pg, "ledger", &ladders[0]) < 0 ||
        sched_ladder_load(s->pg, "visit", &ladders[1]) < 0)
        goto out;
    /* the window: from the watermark (or the first look-back) to as_of */
    const char *p[1] = {s->scope};
    PGresult *r =
        pg_query_prepared(s->pg, "sched_wm",
                          "SELECT extract(epoch FROM swept_to)::bigint FROM scheduler_watermark "
                          "WHERE scope = $1",
                          1, p);
    if (!r)
        goto out;
    int64_t from = PQntuples(r) ? pg_int(r, 0, 0) : as_of - s->lookback_s;
    pg_free(&r);
    if (as_of - from > s->catchup_max_s) {
        log_warn("scope '%s' was swept last %" PRId64 " s before; catching up %" PRId64 " s only",
                 s->scope, as_of - from, s->catchup_max_s);
        from = as_of - s->catchup_max_s;
    }
    int n = s_deadlines(s, from, as_of, dls, DEADLINES_MAX);
    log_info("sweep of scope '%s': deadlines after %" PRId64 " up to %" PRId64 ": %d", s->scope,
             from, as_of, n);
    if (n < 0)
        goto out;
    for (int i = 0; i < n; i++) {
        if (s_process_deadline(s, &dls[i], &ladders[0], &ladders[1], &res->opened) != 0)
            goto out;
        res->deadlines++;
    }
    int64_t t1 = clock_mono_ms();
    if (s_warnings(s, as_of, &ladders[1], res) != 0)
        goto out;
    int64_t t2 = clock_mono_ms();
    /* the unassigned scan reads the whole registry: once a day, the first sweep past midnight */
    int y, m, d;
    local_date(as_of, &y, &m, &d);
    int64_t midnight = local_midnight(y, m, d);
    if (s_unassigned(s, as_of, midnight > from && midnight <= as_of, &ladders[1], res) != 0)
        goto out;
    int64_t t3 = clock_mono_ms();
    if (s_regions_load(s, &regions) != 0)
        goto out;
    log_info("sweep timing: warnings %" PRId64 " ms, unassigned %" PRId64 " ms, regions %" PRId64
             " ms",
             t2 - t1, t3 - t2, clock_mono_ms() - t3);
    if (s_escalate(s, as_of, ladders, 2, &regions, res) != 0)
        goto out;
    char asof[24];
    snprintf(asof, sizeof asof, "%" PRId64, as_of);
    const char *w[2] = {s->scope, asof};
    if (pg_exec(
            s->pg,
            "INSERT INTO scheduler_watermark (scope, swept_to) VALUES ($1, "
            "to_timestamp($2::bigint)) "
            "ON CONFLICT (scope) DO UPDATE SET swept_to = GREATEST(scheduler_watermark.swept_to, "
            "EXCLUDED.swept_to), updated_at = now()",
            2, w) != 0)
        goto out;
    rc = 0;
out:
    free(regions.v);
    free(dls);
    s_lock(s, false);
    return rc;
}
