/*
 * scheduler_sweep.c - the sweep: deadlines open tasks, ladders escalate them.
 *
 * A deadline (a ledger period, a visit period) is processed once per scope,
 * in one transaction: the owed set (the registry as of the deadline, one
 * COPY stream), the done set (Redis bitmap lz:done:<kind>:<period>, or the
 * records in PostgreSQL when the bitmap is gone), the missing ones inserted
 * as tasks (ON CONFLICT on the dedupe key: a task is opened once) at the
 * ladder steps already due, which fire right there from the names and phones
 * the scan brought, the per-region counts written to ledger_stats, and the
 * deadline marked done (a daily deadline also opens the day's unassigned
 * tasks).  Then the ladder steps due are fired in batches, each batch one
 * transaction that advances the tasks with an UPDATE re-checking each is
 * still open at the step read, and fires, for the rows it advanced, their
 * notification requests (outbox, binary COPY) and letters: a step is fired
 * once, and never for a closed task.  A process killed anywhere leaves
 * either a whole deadline or nothing, and whole batches: the next sweep
 * finishes the job.
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

typedef struct {
    char code[REGION_CODE_LEN + 1];
    char name[128];
    char phone[32], email[128], webhook[256], contact[64];
} s_region_t;

typedef struct {
    s_region_t *v;
    size_t n;
} s_regions_t;

typedef struct {
    int64_t business_id, id;
    char name[64], phone[16], level[16];
} s_cadre_t;

typedef struct {
    int64_t id, business_id, cadre_id, deadline;
    int step;
    const char *kind, *ladder, *region, *period, *bname, *head_name, *head_phone, *off_name,
        *off_phone;
} s_task_t;

/* Where the escalation batches spend their time (ms): read, advance, cadres, fire, outbox. */
static int64_t s_phase_ms[5];

/* An escalation batch's read: the tasks ($1, ids) with their businesses' names and phones,
 * those still open and due by $2 unless $3 (tasks just opened).  Probes of the primary keys,
 * one per id (LATERAL ... OFFSET 0: never a merge join that walks the index from its start,
 * nor a parallel plan). */
static const char s_batch_sql[] =
    "SELECT t.id, t.kind, t.ladder, coalesce(t.business_id, 0), coalesce(t.cadre_id, 0), "
    "t.region_code, t.period, CASE WHEN $3::bool THEN 0 ELSE t.step END, "
    "extract(epoch FROM t.deadline)::bigint, "
    "b.name, b.head_name, b.head_phone, b.officer_name, b.officer_phone "
    "FROM unnest($1::bigint[]) AS u(id) "
    "CROSS JOIN LATERAL (SELECT * FROM tasks x WHERE x.id = u.id OFFSET 0) t "
    "LEFT JOIN LATERAL (SELECT * FROM businesses y WHERE y.id = t.business_id OFFSET 0) b "
    "ON true "
    "WHERE $3::bool OR (t.status = 'open' AND t.next_step_at <= to_timestamp($2::bigint)) "
    "ORDER BY t.next_step_at, t.id";

static int s_escalate_batch(sched_t *s, int64_t as_of, const int64_t *ids_in, int nids, bool opened,
                            const ladder_t *ladders, int nladders, const s_regions_t *regions,
                            sweep_result_t *res, PGresult *pre, PGresult *pre_cadres,
                            bool *needed_cadres);

/* ---- small helpers ---------------------------------------------------------- */

static void s_i64(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%" PRId64, v);
}

/* COPY ... (FORMAT binary): the header, one field (length, bytes), the trailer.  Outbox rows go
 * in binary: a payload is sent as its bytes, not as hex text the server has to parse. */
#define COPY_BIN_HEADER_LEN 19

static void s_bin_header(buf_t *b)
{
    static const char h[COPY_BIN_HEADER_LEN] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
    buf_append(b, h, sizeof h);
}

static void s_bin_u32(buf_t *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    buf_append(b, x, 4);
}

static void s_bin_field(buf_t *b, const void *p, size_t n)
{
    s_bin_u32(b, (uint32_t)n);
    buf_append(b, p, n);
}

/* Send a binary COPY buffer (header + rows) with its trailer; nothing when it holds no row. */
static int s_flush_copy_bin(pg_t *pg, const char *sql, buf_t *b)
{
    if (buf_len(b) <= COPY_BIN_HEADER_LEN)
        return 0;
    buf_append(b, "\377\377", 2);
    if (buf_overflowed(b))
        return -1;
    return pg_copy_in(pg, sql, buf_data(b), buf_len(b));
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

/* A missing business as the owed scan saw it: what its first ladder steps need. */
typedef struct {
    int64_t id;
    char *row; /* the COPY row, fields split in place; the strings below point into it */
    const char *region, *name, *head_name, *head_phone, *off_name, *off_phone;
} s_miss_t;

typedef struct {
    s_miss_t *v;
    size_t n, cap;
} s_misses_t;

static void s_misses_free(s_misses_t *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].row);
    free(m->v);
    memset(m, 0, sizeof *m);
}

static int s_miss_cmp(const void *a, const void *b)
{
    int64_t x = ((const s_miss_t *)a)->id, y = ((const s_miss_t *)b)->id;
    return x < y ? -1 : x > y;
}

static const s_miss_t *s_miss_find(const s_misses_t *m, int64_t id)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->v[mid].id == id)
            return &m->v[mid];
        if (m->v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The next COPY text field at *p (ended by a tab or the end), unescaped in place and
 * NUL-terminated; "" for \N.  *p moves past it. */
static const char *s_field_text(char **p, char *end)
{
    char *start = *p, *w = *p, *r = *p;
    while (r < end && *r != '\t') {
        if (*r == '\\' && r + 1 < end) {
            r++;
            *w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r == 'r' ? '\r' : *r == 'N' ? '\0' : *r;
            r++;
        } else {
            *w++ = *r++;
        }
    }
    *p = r < end ? r + 1 : r;
    *w = '\0';
    return start;
}

/*
 * The businesses of the scope not in the done bitmap (ids 1..max id), COPYed into the temp table
 * sched_notdone, so the owed scan returns the names and phones of the missing ones (their first
 * step needs them; read in the scan, they cost no second pass over the registry).  *used = false
 * (nothing loaded) when more than a quarter are not done: the scan then sends no details.
 */
static int s_notdone_load(sched_t *s, const unsigned char *done, size_t donelen, bool *used)
{
    *used = false;
    if (pg_exec(s->pg,
                "CREATE TEMP TABLE IF NOT EXISTS sched_notdone (id bigint) ON COMMIT DELETE ROWS",
                0, NULL) != 0)
        return -1;
    PGresult *r = pg_query(s->pg, "SELECT coalesce(max(id), 0) FROM businesses", 0, NULL);
    if (!r)
        return -1;
    int64_t maxid = pg_int(r, 0, 0);
    pg_free(&r);
    int64_t n = 0;
    for (int64_t id = 1; id <= maxid; id++)
        n += !bitmap_test(done, donelen, id);
    if (n == 0 || n > maxid / 4)
        return 0;
    buf_t *b = buf_new(COPY_MAX);
    for (int64_t id = 1; id <= maxid; id++)
        if (!bitmap_test(done, donelen, id))
            buf_printf(b, "%" PRId64 "\n", id);
    int rc = buf_overflowed(b) ? -1 : s_flush_copy(s, "COPY sched_notdone FROM STDIN", b);
    buf_destroy(&b);
    if (rc == 0)
        rc = pg_exec(s->pg, "ANALYZE sched_notdone", 0, NULL);
    if (rc == 0)
        rc = pg_exec(s->pg, "SET LOCAL work_mem = '256MB'", 0, NULL);
    *used = rc == 0;
    return rc;
}

/*
 * Stream the scope's businesses (COPY text: id, region, active, created before the deadline,
 * changed at or after it) and count them: owed / submitted / missing per community, the missing
 * ones appended to miss as COPY rows "id\tregion\n".  One pass, no paging: 15M rows are a few
 * seconds of server time, and the client keeps only the counts and the missing rows.
 */
static int s_owed_scan(sched_t *s, const deadline_t *d, const unsigned char *done, size_t donelen,
                       const unsigned char *rest, size_t restlen, region_counts_t *counts,
                       buf_t *miss, bool details, s_misses_t *misses)
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
    /* no scope: no filter (a LIKE '%' per row of the registry is CPU for nothing) */
    char *sql = xasprintf(
        "COPY (SELECT b.id, b.region_code, b.status = 'active', b.created_at < q.dl, "
        "b.updated_at >= q.dl%s FROM businesses b%s, (SELECT to_timestamp(current_setting("
        "'lz.sched_deadline')::bigint) AS dl, current_setting('lz.sched_like') AS lk) q%s) "
        "TO STDOUT",
        details ? ", n.id IS NOT NULL, CASE WHEN n.id IS NOT NULL THEN b.name END, "
                  "CASE WHEN n.id IS NOT NULL THEN b.head_name END, "
                  "CASE WHEN n.id IS NOT NULL THEN b.head_phone END, "
                  "CASE WHEN n.id IS NOT NULL THEN b.officer_name END, "
                  "CASE WHEN n.id IS NOT NULL THEN b.officer_phone END"
                : "",
        details ? " LEFT JOIN sched_notdone n ON n.id = b.id" : "",
        s->scope[0] ? " WHERE b.region_code LIKE q.lk" : "");
    PGresult *res = PQexec(conn, sql);
    free(sql);
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
                    if (details && q < end && *q == 't') {
                        /* the row is kept: its fields split in place */
                        if (misses->n == misses->cap) {
                            misses->cap = misses->cap ? misses->cap * 2 : 65536;
                            misses->v = xrealloc(misses->v, misses->cap * sizeof *misses->v);
                        }
                        s_miss_t *m = &misses->v[misses->n++];
                        m->id = id;
                        m->row = xmemdup(row, (size_t)n + 1);
                        char *w = m->row + (code - row), *wend = m->row + n;
                        if (wend > m->row && wend[-1] == '\n')
                            wend--;
                        w[REGION_CODE_LEN] = '\0';
                        m->region = w;
                        w = m->row + (q - row) + 2; /* past "t\t" */
                        m->name = s_field_text(&w, wend);
                        m->head_name = s_field_text(&w, wend);
                        m->head_phone = s_field_text(&w, wend);
                        m->off_name = s_field_text(&w, wend);
                        m->off_phone = s_field_text(&w, wend);
                    }
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

static int s_fire(sched_t *s, const s_task_t *t, const ladder_t *l, int stepno, int64_t due,
                  const s_cadre_t *cadres, size_t ncadres, const s_cadre_t *own,
                  const s_regions_t *regions, buf_t *outbox);

/* Does a step from..to of l name a cadre (whose phone the scan does not bring)? */
static bool s_steps_need_cadres(const ladder_t *l, int from, int to)
{
    for (int k = from; k <= to; k++) {
        const ladder_step_t *st = ladder_step(l, k);
        for (int j = 0; st && j < st->nrecipients; j++) {
            ladder_role_t role;
            if (ladder_role_parse(st->r[j].role, &role) != 0 || role.kind == ROLE_CADRE ||
                role.kind == ROLE_CADRE_AT)
                return true;
        }
    }
    return false;
}

/*
 * Fire steps 1..k0 of the tasks a deadline just opened (ins: their id and business id) from
 * the names and phones the owed scan brought (misses, sorted by id): no read of the registry.
 * Outbox rows go by binary COPY every 20,000 tasks.  0 or -1.
 */
static int s_fire_opened(sched_t *s, const deadline_t *d, const char *kind, const ladder_t *l,
                         PGresult *ins, int k0, const s_misses_t *misses,
                         const s_regions_t *regions, sweep_result_t *res)
{
    int64_t ph0 = clock_mono_ms(), fire_ms = 0, copy_ms = 0;
    buf_t *outbox = buf_new(COPY_MAX);
    s_bin_header(outbox);
    int rc = 0, n = PQntuples(ins);
    for (int i = 0; i < n && rc == 0; i++) {
        int64_t bid = pg_int(ins, i, 1);
        const s_miss_t *m = s_miss_find(misses, bid);
        s_task_t t = {.id = pg_int(ins, i, 0),
                      .kind = kind,
                      .ladder = l->name,
                      .business_id = bid,
                      .region = m ? m->region : "",
                      .period = d->period,
                      .deadline = d->deadline,
                      .bname = m ? m->name : "",
                      .head_name = m ? m->head_name : "",
                      .head_phone = m ? m->head_phone : "",
                      .off_name = m ? m->off_name : "",
                      .off_phone = m ? m->off_phone : ""};
        for (int step = 0; step < k0 && rc == 0; step++) {
            int64_t due;
            ladder_next_due(l, t.deadline, step, &due);
            rc = s_fire(s, &t, l, step + 1, due, NULL, 0, NULL, regions, outbox);
            res->escalated++;
        }
        if (rc == 0 && ((i + 1) % 20000 == 0 || i + 1 == n)) {
            int64_t c0 = clock_mono_ms();
            rc = s_flush_copy_bin(
                s->pg, "COPY outbox (topic, key, payload) FROM STDIN (FORMAT binary)", outbox);
            buf_reset(outbox);
            s_bin_header(outbox);
            copy_ms += clock_mono_ms() - c0;
        }
    }
    fire_ms = clock_mono_ms() - ph0 - copy_ms;
    s_phase_ms[3] += fire_ms;
    s_phase_ms[4] += copy_ms;
    buf_destroy(&outbox);
    return rc;
}

/* One ledger deadline inside the caller's transaction; *opened gets the tasks opened. */
static int s_ledger_deadline(sched_t *s, const deadline_t *d, int64_t as_of, const ladder_t *ladder,
                             const s_regions_t *regions, sweep_result_t *res, int64_t *opened)
{
    unsigned char *bm = NULL, *rest = NULL;
    size_t bmlen = 0, restlen = 0;
    bool from_pg = false;
    int rc = -1;
    region_counts_t *counts = region_counts_new();
    region_counts_t *extra = region_counts_new();
    buf_t *miss = buf_new(MISSING_MAX);
    s_misses_t misses = {NULL, 0, 0};
    int64_t t0 = clock_mono_ms(), t1 = 0, t2 = 0, t3 = 0, t4 = 0;
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
    bool details = false;
    if (s_notdone_load(s, bm, bmlen, &details) != 0)
        goto out;
    if (s_owed_scan(s, d, bm, bmlen, rest, restlen, counts, miss, details, &misses) != 0)
        goto out;
    qsort(misses.v, misses.n, sizeof *misses.v, s_miss_cmp);
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
    char kind[32], dl[24], next[24], k0txt[16];
    snprintf(kind, sizeof kind, "ledger_%s", d->kind);
    s_i64(dl, sizeof dl, d->deadline);
    /* the steps already due by as_of are fired here, in the deadline's transaction, for the
     * tasks it opens (the rows are inserted at that step): no second pass over them */
    int k0 = ladder_due_count(ladder, d->deadline, 0, as_of);
    int64_t nxt;
    bool has_next = ladder_next_due(ladder, d->deadline, k0, &nxt);
    if (has_next)
        s_i64(next, sizeof next, nxt);
    snprintf(k0txt, sizeof k0txt, "%d", k0);
    const char *p[6] = {kind, d->period, dl, has_next ? next : NULL, ladder->name, k0txt};
    PGresult *ins = pg_query(
        s->pg,
        "INSERT INTO tasks (kind, ladder, business_id, region_code, period, deadline, opened_at, "
        "step, next_step_at, dedupe) "
        "SELECT $1, $5, m.business_id, m.region_code, $2, to_timestamp($3::bigint), "
        "to_timestamp($3::bigint), $6::int, to_timestamp($4::bigint), "
        "$1 || ':' || m.business_id || ':' || $2 "
        "FROM sched_missing m ORDER BY m.business_id ON CONFLICT (dedupe) DO NOTHING "
        "RETURNING id, business_id",
        6, p);
    if (!ins)
        goto out;
    *opened = PQntuples(ins);
    t2 = clock_mono_ms();
    memset(s_phase_ms, 0, sizeof s_phase_ms);
    if (k0 > 0 && details && !s_steps_need_cadres(ladder, 1, k0)) {
        /* the scan brought the missing businesses' names and phones: fire from them */
        if (s_fire_opened(s, d, kind, ladder, ins, k0, &misses, regions, res) != 0) {
            pg_free(&ins);
            goto out;
        }
    } else if (k0 > 0) {
        int64_t *ids = xmalloc(((size_t)*opened + 1) * sizeof *ids);
        for (int64_t i = 0; i < *opened; i++)
            ids[i] = pg_int(ins, (int)i, 0);
        pg_free(&ins);
        for (int64_t off = 0; off < *opened; off += s->batch) {
            int64_t m = *opened - off < s->batch ? *opened - off : s->batch;
            if (s_escalate_batch(s, as_of, ids + off, (int)m, true, ladder, 1, regions, res, NULL,
                                 NULL, NULL) < 0) {
                free(ids);
                goto out;
            }
        }
        free(ids);
    }
    pg_free(&ins);
    t4 = clock_mono_ms();
    if (s_write_stats(s, d, counts) != 0)
        goto out;
    t3 = clock_mono_ms();
    log_info("deadline %s %s timing: owed and missing sets %" PRId64 " ms, tasks %" PRId64
             " ms, steps due at opening %" PRId64 " ms (read %" PRId64 ", fire %" PRId64
             ", outbox %" PRId64 "), region counts %" PRId64 " ms",
             d->kind, d->period, t1 - t0, t2 - t1, t4 - t2, s_phase_ms[0], s_phase_ms[3],
             s_phase_ms[4], t3 - t4);
    rc = 0;
out:
    free(bm);
    free(rest);
    s_misses_free(&misses);
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
    /* the level owing each grade's visits, {A,B,C,D} ("": every assigned cadre) */
    char bygrade[96];
    snprintf(bygrade, sizeof bygrade, "{\"%s\",\"%s\",\"%s\",\"%s\"}", s->level_by_grade[0],
             s->level_by_grade[1], s->level_by_grade[2], s->level_by_grade[3]);
    const char *p1[6] = {d->period, start, dl, levels, like, bygrade};
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
        /* the grade in effect when the period began (the scorer's latest, else the imported
         * one) names the level that owes; a business with no cadre of that level: all do */
        "CROSS JOIN LATERAL (SELECT coalesce(($6::text[])[ascii(coalesce((SELECT g.grade "
        "  FROM scheduler_grades g WHERE g.business_id = b.id "
        "  AND g.changed_at <= to_timestamp($2::bigint) ORDER BY g.changed_at DESC LIMIT 1), "
        "  b.risk_grade)) - 64], '') AS level) lv "
        "WHERE a.until IS NULL AND c.status = 'active' AND c.level = ANY($4::text[]) "
        "AND b.status = 'active' AND b.region_code LIKE $5 AND a.since < to_timestamp($3::bigint) "
        "AND (lv.level = '' OR c.level = lv.level OR NOT EXISTS (SELECT 1 FROM assignments a2 "
        "  JOIN cadres c2 ON c2.id = a2.cadre_id WHERE a2.business_id = a.business_id "
        "  AND a2.until IS NULL AND c2.status = 'active' AND c2.level = lv.level)) "
        "ON CONFLICT (cadre_id, business_id, period) DO UPDATE SET owed = EXCLUDED.owed, "
        "done = GREATEST(visit_obligations.done, EXCLUDED.done)",
        6, p1);
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

static int s_unassigned(sched_t *s, int64_t as_of, bool open_new, const ladder_t *visit,
                        sweep_result_t *res);

static int s_process_deadline(sched_t *s, const deadline_t *d, int64_t as_of,
                              const ladder_t *ledger, const ladder_t *visit,
                              const s_regions_t *regions, sweep_result_t *res)
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
                 : s_ledger_deadline(s, d, as_of, ledger, regions, res, &n);
    /* the daily deadline's pass over the registry is also the day's check for businesses
     * without a cadre (as of that deadline): once a day, in the same transaction */
    if (rc == 0 && !strcmp(d->kind, "daily")) {
        int64_t t1 = clock_mono_ms();
        sweep_result_t u = {0};
        rc = s_unassigned(s, d->deadline, true, visit, &u);
        n += u.opened;
        log_info("unassigned check at deadline %s: %" PRId64 " tasks in %" PRId64 " ms", d->period,
                 u.opened, clock_mono_ms() - t1);
    }
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
    res->opened += n;
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
    /* the anti-join as a merge of two index-only scans (businesses_pkey, assignments_business)
     * in one process: a parallel hash anti-join read both heaps and spilled to disk (~3x
     * slower on a loaded 2-core machine); the few ids left are then read from the heap.  The
     * settings are transaction-local: open_new runs last in a daily deadline's transaction */
    if (open_new && pg_exec(s->pg,
                            "SELECT set_config('enable_hashjoin', 'off', true), "
                            "set_config('max_parallel_workers_per_gather', '0', true)",
                            0, NULL) != 0) {
        free(like);
        return -1;
    }
    PGresult *r =
        !open_new
            ? NULL
            : pg_query(
                  s->pg,
                  "WITH x AS MATERIALIZED ("
                  "  SELECT b.id FROM businesses b WHERE NOT EXISTS (SELECT 1 FROM assignments a "
                  "  WHERE a.business_id = b.id AND a.until IS NULL)), "
                  "n AS MATERIALIZED ("
                  "  SELECT b.id, b.region_code, b.created_at FROM x JOIN businesses b ON b.id = "
                  "x.id "
                  "  WHERE b.status = 'active' AND b.region_code LIKE $1), "
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
        char key[24];
        s_i64(key, sizeof key, t->id);
        buf_append(outbox, "\0\3", 2); /* three fields */
        s_bin_field(outbox, "notify.request", strlen("notify.request"));
        s_bin_field(outbox, key, strlen(key));
        s_bin_field(outbox, bytes, len);
        free(bytes);
    }
    return 0;
}

/* Is id in the sorted ids[0..n)? */
static bool s_has_id(const int64_t *ids, size_t n, int64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ids[mid] == id)
            return true;
        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static const ladder_t *s_ladder_of(const ladder_t *ladders, int nladders, const char *name)
{
    for (int k = 0; k < nladders; k++)
        if (!strcmp(ladders[k].name, name))
            return &ladders[k];
    return NULL;
}

/*
 * One batch of tasks ids_in[0..nids) whose due steps fire.  opened = false: a slice of the
 * sweep's list of due tasks, in a transaction of its own: the rows are read (not locked), their
 * step and next time advanced by one UPDATE that re-checks each one is still open and at the
 * step read (a task closed or fired meanwhile is left out: it is not in what the UPDATE
 * returns), and the steps fire for the rows advanced.  opened = true: tasks the caller's
 * transaction just opened with their step already set to the steps due (a deadline's tasks):
 * those steps fire from the first, nothing is updated.  Returns tasks handled, or -1.
 */
static int s_escalate_batch(sched_t *s, int64_t as_of, const int64_t *ids_in, int nids, bool opened,
                            const ladder_t *ladders, int nladders, const s_regions_t *regions,
                            sweep_result_t *res, PGresult *pre, PGresult *pre_cadres,
                            bool *needed_cadres)
{
    char asof[24];
    s_i64(asof, sizeof asof, as_of);
    buf_t *list = buf_new(COPY_MAX);
    buf_putc(list, '{');
    for (int i = 0; i < nids; i++)
        buf_printf(list, "%s%" PRId64, i ? "," : "", ids_in[i]);
    buf_putc(list, '}');
    if (!opened && pg_begin(s->pg) != 0) {
        buf_destroy(&list);
        pg_free(&pre);
        pg_free(&pre_cadres);
        return -1;
    }
    int64_t ph0 = clock_mono_ms(), ph1, ph2, ph3, ph4;
    const char *p[3] = {buf_data(list), asof, opened ? "t" : "f"};
    /* pre: the same read, done ahead on the sweep's second connection (taken over here) */
    PGresult *r = pre ? pre : pg_query_prepared(s->pg, "sched_due_batch", s_batch_sql, 3, p);
    buf_destroy(&list);
    if (!r) {
        pg_free(&pre_cadres);
        if (!opened)
            pg_rollback(s->pg);
        return -1;
    }
    int n = PQntuples(r);
    if (n == 0) {
        pg_free(&pre_cadres);
        pg_free(&r);
        if (!opened)
            pg_rollback(s->pg);
        return 0;
    }
    /* the new step and next time of each task; the cadres only when a step due names one */
    bool need_cadres = false;
    int *newstep = xcalloc((size_t)n + 1, sizeof *newstep);
    int64_t *next = xcalloc((size_t)n + 1, sizeof *next);
    for (int i = 0; i < n; i++) {
        const ladder_t *l = s_ladder_of(ladders, nladders, pg_str(r, i, 2));
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
        newstep[i] = step + due_n;
        if (!l || !ladder_next_due(l, pg_int(r, i, 8), newstep[i], &next[i]))
            next[i] = -1;
    }
    int rc = 0;
    ph1 = clock_mono_ms();
    /* advance the rows (not for tasks just opened: their step is already set); the ones the
     * UPDATE returns are the ones to fire */
    int64_t *fired = NULL;
    size_t nfired = 0;
    if (!opened) {
        buf_t *u_id = buf_new(COPY_MAX), *u_old = buf_new(COPY_MAX), *u_step = buf_new(COPY_MAX),
              *u_next = buf_new(COPY_MAX);
        buf_putc(u_id, '{');
        buf_putc(u_old, '{');
        buf_putc(u_step, '{');
        buf_putc(u_next, '{');
        for (int i = 0; i < n; i++) {
            buf_printf(u_id, "%s%s", i ? "," : "", pg_str(r, i, 0));
            buf_printf(u_old, "%s%s", i ? "," : "", pg_str(r, i, 7));
            buf_printf(u_step, "%s%d", i ? "," : "", newstep[i]);
            buf_printf(u_next, "%s%" PRId64, i ? "," : "", next[i]);
        }
        buf_putc(u_id, '}');
        buf_putc(u_old, '}');
        buf_putc(u_step, '}');
        buf_putc(u_next, '}');
        const char *u[4] = {buf_data(u_id), buf_data(u_old), buf_data(u_step), buf_data(u_next)};
        PGresult *ur = pg_query_prepared(
            s->pg, "sched_advance",
            "UPDATE tasks t SET step = v.step, next_step_at = CASE WHEN v.nxt < 0 THEN NULL "
            "ELSE to_timestamp(v.nxt) END "
            "FROM unnest($1::bigint[], $2::int[], $3::int[], $4::bigint[]) AS v(id, old, step, "
            "nxt) "
            "WHERE t.id = v.id AND t.status = 'open' AND t.step = v.old RETURNING t.id",
            4, u);
        buf_destroy(&u_id);
        buf_destroy(&u_old);
        buf_destroy(&u_step);
        buf_destroy(&u_next);
        if (!ur) {
            rc = -1;
        } else {
            nfired = (size_t)PQntuples(ur);
            fired = xmalloc((nfired + 1) * sizeof *fired);
            for (size_t i = 0; i < nfired; i++)
                fired[i] = pg_int(ur, (int)i, 0);
            pg_free(&ur);
            qsort(fired, nfired, sizeof *fired, s_cmp_i64);
        }
    }
    ph2 = clock_mono_ms();
    buf_t *ids = buf_new(COPY_MAX), *own_ids = buf_new(COPY_MAX);
    buf_putc(ids, '{');
    buf_putc(own_ids, '{');
    for (int i = 0; need_cadres && i < n; i++) {
        buf_printf(ids, "%s%s", i ? "," : "", pg_str(r, i, 3));
        buf_printf(own_ids, "%s%s", i ? "," : "", pg_str(r, i, 4));
    }
    buf_putc(ids, '}');
    buf_putc(own_ids, '}');
    PGresult *cr = NULL;
    if (needed_cadres)
        *needed_cadres = need_cadres;
    if (rc == 0 && need_cadres && pre_cadres) {
        cr = pre_cadres; /* read ahead with the batch (s_cadres_sql) */
        pre_cadres = NULL;
    } else if (rc == 0 && need_cadres) {
        const char *cp[2] = {buf_data(ids), buf_data(own_ids)};
        cr = pg_query_prepared(
            s->pg, "sched_cadres",
            "SELECT a.business_id, c.id, c.name, c.phone, c.level FROM assignments a "
            "CROSS JOIN LATERAL (SELECT * FROM cadres y WHERE y.id = a.cadre_id OFFSET 0) c "
            "WHERE a.until IS NULL AND c.status = 'active' "
            "AND a.business_id = ANY($1::bigint[]) "
            "UNION ALL SELECT -1, c.id, c.name, c.phone, c.level FROM cadres c WHERE c.id = "
            "ANY($2::bigint[]) "
            "ORDER BY 1, 2",
            2, cp);
        if (!cr)
            rc = -1;
    }
    buf_destroy(&ids);
    buf_destroy(&own_ids);
    pg_free(&pre_cadres);
    size_t nc = cr ? (size_t)PQntuples(cr) : 0;
    s_cadre_t *cadres = xcalloc(nc + 1, sizeof *cadres);
    for (size_t i = 0; i < nc; i++) {
        cadres[i].business_id = pg_int(cr, (int)i, 0);
        cadres[i].id = pg_int(cr, (int)i, 1);
        snprintf(cadres[i].name, sizeof cadres[i].name, "%s", pg_str(cr, (int)i, 2));
        snprintf(cadres[i].phone, sizeof cadres[i].phone, "%s", pg_str(cr, (int)i, 3));
        snprintf(cadres[i].level, sizeof cadres[i].level, "%s", pg_str(cr, (int)i, 4));
    }
    pg_free(&cr);
    ph3 = clock_mono_ms();
    buf_t *outbox = buf_new(COPY_MAX);
    s_bin_header(outbox);
    int handled = 0;
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
        if (!opened && !s_has_id(fired, nfired, t.id))
            continue; /* closed or fired meanwhile */
        handled++;
        const ladder_t *l = s_ladder_of(ladders, nladders, t.ladder);
        const s_cadre_t *own = NULL;
        for (size_t k = 0; k < nc && t.cadre_id; k++)
            if (cadres[k].business_id == -1 && cadres[k].id == t.cadre_id)
                own = &cadres[k];
        for (int step = t.step; l && step < newstep[i] && rc == 0; step++) {
            int64_t due;
            ladder_next_due(l, t.deadline, step, &due);
            rc = s_fire(s, &t, l, step + 1, due, cadres, nc, own, regions, outbox);
            res->escalated++;
        }
    }
    ph4 = clock_mono_ms();
    if (rc == 0 && buf_overflowed(outbox))
        rc = -1;
    if (rc == 0)
        rc = s_flush_copy_bin(s->pg, "COPY outbox (topic, key, payload) FROM STDIN (FORMAT binary)",
                              outbox);
    s_phase_ms[0] += ph1 - ph0;
    s_phase_ms[1] += ph2 - ph1;
    s_phase_ms[2] += ph3 - ph2;
    s_phase_ms[3] += ph4 - ph3;
    s_phase_ms[4] += clock_mono_ms() - ph4;
    buf_destroy(&outbox);
    free(cadres);
    free(fired);
    free(newstep);
    free(next);
    pg_free(&r);
    if (opened)
        return rc == 0 ? handled : -1;
    if (rc != 0 || pg_commit(s->pg) != 0) {
        pg_rollback(s->pg);
        return -1;
    }
    return handled;
}

/* The cadres of the businesses of tasks $1 (ids), for a batch read ahead: the same rows as
 * sched_cadres (business, cadre, name, phone, level; business -1 for a task's own cadre), keyed
 * by task ids as the businesses are not known yet; probes only (LATERAL ... OFFSET 0). */
static const char s_cadres_sql[] =
    "SELECT t.business_id, c.id, c.name, c.phone, c.level FROM unnest($1::bigint[]) AS u(id) "
    "CROSS JOIN LATERAL (SELECT x.business_id FROM tasks x WHERE x.id = u.id OFFSET 0) t "
    "CROSS JOIN LATERAL (SELECT a.cadre_id FROM assignments a WHERE a.business_id = "
    "t.business_id AND a.until IS NULL OFFSET 0) a "
    "CROSS JOIN LATERAL (SELECT * FROM cadres y WHERE y.id = a.cadre_id OFFSET 0) c "
    "WHERE c.status = 'active' "
    "UNION ALL SELECT -1, c.id, c.name, c.phone, c.level FROM cadres c WHERE c.id IN "
    "(SELECT x.cadre_id FROM tasks x WHERE x.id = ANY($1::bigint[])) "
    "ORDER BY 1, 2";

/* Send the read of a batch (s_batch_sql for ids[0..n)) on rd without waiting; 0 or -1.
 * cadres: s_cadres_sql (statement "sched_cadres_ahead") instead. */
static int s_read_send(pg_t *rd, int64_t as_of, const int64_t *ids, int n, bool cadres)
{
    char asof[24];
    s_i64(asof, sizeof asof, as_of);
    buf_t *list = buf_new(COPY_MAX);
    buf_putc(list, '{');
    for (int i = 0; i < n; i++)
        buf_printf(list, "%s%" PRId64, i ? "," : "", ids[i]);
    buf_putc(list, '}');
    const char *p[3] = {buf_data(list), asof, "f"};
    int ok = !buf_overflowed(list) &&
             PQsendQueryPrepared(pg_conn(rd), cadres ? "sched_cadres_ahead" : "sched_due_batch",
                                 cadres ? 1 : 3, p, NULL, NULL, 0);
    buf_destroy(&list);
    return ok ? 0 : -1;
}

/* The rows of the read sent on rd (caller frees), or NULL (logged) when it failed; rd is left
 * idle either way. */
static PGresult *s_read_get(pg_t *rd)
{
    PGconn *c = pg_conn(rd);
    PGresult *r = NULL, *x;
    bool bad = false;
    while ((x = PQgetResult(c))) {
        if (PQresultStatus(x) != PGRES_TUPLES_OK || r) {
            if (!bad)
                log_warn("escalation read ahead failed: %s", PQresultErrorMessage(x));
            bad = true;
            PQclear(x);
        } else {
            r = x;
        }
    }
    if (bad && r) {
        PQclear(r);
        r = NULL;
    }
    return r;
}

/* A second connection for reading batches ahead, its read prepared; NULL when none. */
static pg_t *s_reader(sched_t *s)
{
    if (!s->pg_url[0])
        return NULL;
    pg_t *rd = pg_connect(s->pg_url, 1, 0);
    if (!rd)
        return NULL;
    pg_exec(rd, "SET jit = off", 0, NULL);
    PGresult *pr = PQprepare(pg_conn(rd), "sched_due_batch", s_batch_sql, 3, NULL);
    bool ok = pr && PQresultStatus(pr) == PGRES_COMMAND_OK;
    PQclear(pr);
    pr = ok ? PQprepare(pg_conn(rd), "sched_cadres_ahead", s_cadres_sql, 1, NULL) : NULL;
    ok = pr && PQresultStatus(pr) == PGRES_COMMAND_OK;
    PQclear(pr);
    if (!ok) {
        log_warn("escalation read ahead off: %s", pg_errmsg(rd));
        pg_destroy(&rd);
    }
    return rd;
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
            "SELECT t.id FROM tasks t WHERE t.status = 'open' AND t.laddered "
            "AND t.deadline <= to_timestamp($1::bigint) "
            "AND t.next_step_at <= to_timestamp($1::bigint) AND t.region_code LIKE $2 "
            "ORDER BY t.next_step_at, t.id",
            2, p);
        if (!r) {
            rc = -1;
            break;
        }
        int n = PQntuples(r);
        int64_t t_list = clock_mono_ms();
        memset(s_phase_ms, 0, sizeof s_phase_ms);
        int64_t *ids = xmalloc(((size_t)n + 1) * sizeof *ids);
        for (int i = 0; i < n; i++)
            ids[i] = pg_int(r, i, 0);
        pg_free(&r);
        int64_t handled = 0;
        /* with more than one batch, batch k+1 is read on a second connection while batch k
         * advances, fires and commits on the first (the reads lock nothing: the guarded UPDATE
         * decides what fires); without that connection each batch reads for itself */
        pg_t *rd = n > s->batch ? s_reader(s) : NULL;
        /* and, on a third, the cadres of batch k+1 when batch k-1 needed its cadres (a batch
         * that needs none drops them; one that needs them and has none reads them itself) */
        pg_t *rc2 = rd ? s_reader(s) : NULL;
        bool sent = rd && s_read_send(rd, as_of, ids, n < s->batch ? n : s->batch, false) == 0;
        bool sent_c = false, needed = false;
        for (int off = 0; off < n && rc == 0; off += s->batch) {
            PGresult *pre = NULL, *pre_c = NULL;
            int64_t w0 = clock_mono_ms();
            if (sent)
                pre = s_read_get(rd);
            if (sent_c)
                pre_c = s_read_get(rc2);
            s_phase_ms[0] += clock_mono_ms() - w0;
            sent = sent_c = false;
            int nx = off + s->batch, mx = n - nx < s->batch ? n - nx : s->batch;
            if (pre && nx < n)
                sent = s_read_send(rd, as_of, ids + nx, mx, false) == 0;
            if (sent && needed && rc2)
                sent_c = s_read_send(rc2, as_of, ids + nx, mx, true) == 0;
            int m = s_escalate_batch(s, as_of, ids + off, n - off < s->batch ? n - off : s->batch,
                                     false, ladders, nladders, regions, res, pre, pre_c, &needed);
            if (m < 0)
                rc = -1;
            else
                handled += m;
        }
        if (sent)
            PQclear(s_read_get(rd));
        if (sent_c)
            PQclear(s_read_get(rc2));
        pg_destroy(&rd);
        pg_destroy(&rc2);
        free(ids);
        if (n > 0)
            log_info("escalation: %d tasks due, %" PRId64 " handled in %" PRId64
                     " ms (list %" PRId64 ", read %" PRId64 ", advance %" PRId64 ", cadres %" PRId64
                     ", fire %" PRId64 ", outbox %" PRId64 ", commit and rest %" PRId64 ")",
                     n, handled, clock_mono_ms() - t0, t_list - t0, s_phase_ms[0], s_phase_ms[1],
                     s_phase_ms[2], s_phase_ms[3], s_phase_ms[4],
                     clock_mono_ms() - t_list - s_phase_ms[0] - s_phase_ms[1] - s_phase_ms[2] -
                         s_phase_ms[3] - s_phase_ms[4]);
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
    if (s_regions_load(s, &regions) != 0)
        goto out;
    int n = s_deadlines(s, from, as_of, dls, DEADLINES_MAX);
    log_info("sweep of scope '%s': deadlines after %" PRId64 " up to %" PRId64 ": %d", s->scope,
             from, as_of, n);
    if (n < 0)
        goto out;
    for (int i = 0; i < n; i++) {
        if (s_process_deadline(s, &dls[i], as_of, &ladders[0], &ladders[1], &regions, res) != 0)
            goto out;
        res->deadlines++;
    }
    int64_t t1 = clock_mono_ms();
    if (s_warnings(s, as_of, &ladders[1], res) != 0)
        goto out;
    int64_t t2 = clock_mono_ms();
    /* unassigned tasks whose business got a cadre (or stopped) close in every sweep; new ones
     * open with the daily deadline (s_process_deadline) */
    if (s_unassigned(s, as_of, false, &ladders[1], res) != 0)
        goto out;
    int64_t t3 = clock_mono_ms();
    log_info("sweep timing: warnings %" PRId64 " ms, unassigned closed %" PRId64 " ms", t2 - t1,
             t3 - t2);
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
