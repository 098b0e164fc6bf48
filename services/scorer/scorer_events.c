/*
 * scorer_events.c - consumers of the scorer's topics and the running aggregates
 * (see scorer_events.h).
 */
#include "scorer_events.h"
#include "buf.h"
#include "business.pb-c.h"
#include "clock.h"
#include "ledger.pb-c.h"
#include "log.h"
#include "mem.h"
#include "notify.pb-c.h"
#include "sampler.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_GROUP     "scorer"
#define S_ARRAY_MAX (256u * 1024 * 1024)
#define S_READ_MAX  1000 /* entries per XREADGROUP (outbox_consume's maximum) */

const char *const scorer_topics[] = {
    "ledger.accepted",     "problem.opened", "problem.fixed",    "visit.recorded",
    "inspection.recorded", "warning.issued", "warning.answered", NULL};

/* ---- decoding (pure) ---------------------------------------------------------- */

static void s_region(scorer_event_t *out, const char *r)
{
    snprintf(out->region, sizeof out->region, "%s", r ? r : "");
}

static int s_ledger(const uint8_t *p, size_t len, scorer_event_t *out)
{
    Lz__LedgerAccepted *m = lz__ledger_accepted__unpack(NULL, len, p);
    if (!m)
        return -1;
    int rc = -1;
    period_kind_t k;
    if (m->has_business_id && m->kind && m->period && m->status &&
        period_kind_parse(m->kind, &k) == 0 && k != PERIOD_QUARTERLY &&
        score_quarter_of_text(m->period, out->quarter) == 0) {
        out->type = SEV_LEDGER;
        out->business_id = m->business_id;
        out->kind = (int)k;
        out->late = strcmp(m->status, "late") == 0;
        s_region(out, m->region_code);
        rc = 0;
    }
    lz__ledger_accepted__free_unpacked(m, NULL);
    return rc;
}

/* problem.opened comes as ProblemEvent (ledgers) or ProblemOpenedEvent
 * (visits); both carry problem_id and business_id as fields 1 and 2. */
static int s_problem(const uint8_t *p, size_t len, scorer_event_type_t type, scorer_event_t *out)
{
    Lz__ProblemEvent *m = lz__problem_event__unpack(NULL, len, p);
    if (m) {
        int rc = m->has_problem_id && m->has_business_id ? 0 : -1;
        out->problem_id = m->problem_id;
        out->business_id = m->business_id;
        s_region(out, m->region_code);
        lz__problem_event__free_unpacked(m, NULL);
        out->type = type;
        return rc;
    }
    Lz__ProblemOpenedEvent *o = lz__problem_opened_event__unpack(NULL, len, p);
    if (!o)
        return -1;
    int rc = o->has_problem_id && o->has_business_id ? 0 : -1;
    out->problem_id = o->problem_id;
    out->business_id = o->business_id;
    s_region(out, o->region_code);
    lz__problem_opened_event__free_unpacked(o, NULL);
    out->type = type;
    return rc;
}

static int s_visit(const uint8_t *p, size_t len, scorer_event_t *out)
{
    Lz__VisitRecordedEvent *m = lz__visit_recorded_event__unpack(NULL, len, p);
    if (!m)
        return -1;
    int rc = -1;
    if (m->has_visit_id && m->has_cadre_id && m->has_business_id && m->has_visited_at &&
        score_quarter_of_time(m->visited_at, out->quarter) == 0) {
        out->type = SEV_VISIT;
        out->visit_id = m->visit_id;
        out->cadre_id = m->cadre_id;
        out->business_id = m->business_id;
        out->findings = m->has_findings ? m->findings : 0;
        out->findings_open = m->has_problems_open ? m->problems_open : 0;
        if (out->findings_open > out->findings)
            out->findings_open = out->findings;
        s_region(out, m->region_code);
        rc = 0;
    }
    lz__visit_recorded_event__free_unpacked(m, NULL);
    return rc;
}

static int s_inspection(const uint8_t *p, size_t len, scorer_event_t *out)
{
    Lz__InspectionRecordedEvent *m = lz__inspection_recorded_event__unpack(NULL, len, p);
    if (!m)
        return -1;
    int rc = -1;
    if (m->has_plan_id && m->has_business_id && m->has_inspected_at &&
        score_insp_parse(m->outcome, &out->outcome) == 0 &&
        score_quarter_of_time(m->inspected_at, out->quarter) == 0) {
        out->type = SEV_INSPECTION;
        out->plan_id = m->plan_id;
        out->business_id = m->business_id;
        out->at = m->inspected_at;
        s_region(out, m->region_code);
        rc = 0;
    }
    lz__inspection_recorded_event__free_unpacked(m, NULL);
    return rc;
}

static int s_warning_issued(const uint8_t *p, size_t len, scorer_event_t *out)
{
    Lz__WarningIssuedEvent *m = lz__warning_issued_event__unpack(NULL, len, p);
    if (!m)
        return -1;
    int rc = -1;
    if (m->has_warning_id && m->has_business_id && m->has_issued_at_ms &&
        score_quarter_of_time(m->issued_at_ms / 1000, out->quarter) == 0) {
        out->type = SEV_WARNING_ISSUED;
        out->warning_id = m->warning_id;
        out->business_id = m->business_id;
        out->at = m->issued_at_ms / 1000;
        out->rectify_by = m->has_rectify_by_ms ? m->rectify_by_ms / 1000 : 0;
        s_region(out, m->region_code);
        rc = 0;
    }
    lz__warning_issued_event__free_unpacked(m, NULL);
    return rc;
}

static int s_warning_answered(const uint8_t *p, size_t len, scorer_event_t *out)
{
    Lz__WarningAnsweredEvent *m = lz__warning_answered_event__unpack(NULL, len, p);
    if (!m)
        return -1;
    int rc = -1;
    if (m->has_warning_id && m->has_business_id && m->has_answered_at_ms) {
        out->type = SEV_WARNING_ANSWERED;
        out->warning_id = m->warning_id;
        out->business_id = m->business_id;
        out->at = m->answered_at_ms / 1000;
        out->rectify_by = m->has_rectify_by_ms ? m->rectify_by_ms / 1000 : 0;
        s_region(out, m->region_code);
        rc = 0;
    }
    lz__warning_answered_event__free_unpacked(m, NULL);
    return rc;
}

int scorer_event_decode(const char *topic, const uint8_t *payload, size_t len, int64_t outbox_id,
                        scorer_event_t *out)
{
    memset(out, 0, sizeof *out);
    out->outbox_id = outbox_id;
    if (!topic || outbox_id <= 0)
        return -1;
    if (!strcmp(topic, "ledger.accepted"))
        return s_ledger(payload, len, out);
    if (!strcmp(topic, "problem.opened"))
        return s_problem(payload, len, SEV_PROBLEM_OPENED, out);
    if (!strcmp(topic, "problem.fixed"))
        return s_problem(payload, len, SEV_PROBLEM_FIXED, out);
    if (!strcmp(topic, "visit.recorded"))
        return s_visit(payload, len, out);
    if (!strcmp(topic, "inspection.recorded"))
        return s_inspection(payload, len, out);
    if (!strcmp(topic, "warning.issued"))
        return s_warning_issued(payload, len, out);
    if (!strcmp(topic, "warning.answered"))
        return s_warning_answered(payload, len, out);
    return 1;
}

/* ---- arrays as PostgreSQL literals ---------------------------------------------- */

typedef struct {
    buf_t *b;
    size_t n;
} s_arr_t;

static void s_arr_init(s_arr_t *a)
{
    a->b = buf_new(S_ARRAY_MAX);
    a->n = 0;
    buf_putc(a->b, '{');
}

static void s_arr_int(s_arr_t *a, int64_t v)
{
    buf_printf(a->b, "%s%" PRId64, a->n++ ? "," : "", v);
}

static void s_arr_text(s_arr_t *a, const char *s)
{
    buf_append_str(a->b, a->n++ ? ",\"" : "\"");
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            buf_putc(a->b, '\\');
        buf_putc(a->b, *s);
    }
    buf_putc(a->b, '"');
}

/* Close the literal and return it (caller frees); NULL when it overflowed. */
static char *s_arr_done(s_arr_t *a)
{
    buf_putc(a->b, '}');
    char *s = buf_overflowed(a->b) ? NULL : buf_steal(a->b, NULL);
    buf_destroy(&a->b);
    return s;
}

static void s_free_all(char **p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(p[i]);
}

/* Run sql with n array parameters, freeing them; 0 or -1. */
static int s_exec_arrays(pg_t *pg, const char *name, const char *sql, s_arr_t *arrs, size_t n)
{
    char *p[16] = {0};
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        p[i] = s_arr_done(&arrs[i]);
        ok = ok && p[i];
    }
    PGresult *res = ok ? pg_query_prepared(pg, name, sql, (int)n, (const char *const *)p) : NULL;
    s_free_all(p, n);
    if (!ok)
        log_error("scorer batch too large for one statement");
    if (!res)
        return -1;
    pg_free(&res);
    return 0;
}

/* ---- applying ----------------------------------------------------------------------- */

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * Idempotency, set-based: the outbox ids a transaction counted are stored
 * as one score_processed_sets row (lo, hi, the sorted ids), not one row per
 * event.  A batch looks up the sets whose [lo, hi] overlaps its own (GiST on
 * the range: the few recent sets of each topic, or the handful around an old
 * id redelivered) and joins their ids with its own; the ids found were
 * counted before.  Two transactions counting the same id at once (an entry
 * reclaimed while its first delivery is still being applied) cannot both
 * miss each other: an outbox id always comes on the same topic, and a
 * transaction first takes a transaction-level advisory lock per topic
 * (event type) it carries, in type order.
 */
#define S_LOCK_CLASS 7052 /* advisory lock class of the scorer's apply */

static int s_lock_types(pg_t *pg, const scorer_event_t *ev, size_t n)
{
    bool has[SEV_WARNING_ANSWERED + 1] = {false};
    for (size_t i = 0; i < n; i++)
        if ((int)ev[i].type >= 0 && ev[i].type <= SEV_WARNING_ANSWERED)
            has[ev[i].type] = true;
    s_arr_t a;
    s_arr_init(&a);
    for (int t = 0; t <= SEV_WARNING_ANSWERED; t++)
        if (has[t])
            s_arr_int(&a, t);
    char *p = s_arr_done(&a);
    if (!p)
        return -1;
    char cls[16];
    snprintf(cls, sizeof cls, "%d", S_LOCK_CLASS);
    const char *params[] = {cls, p};
    /* the array is in type order; unnest keeps it */
    PGresult *res = pg_query_prepared(pg, "scorer_lock",
                                      "SELECT count(pg_advisory_xact_lock($1::int, t)) FROM "
                                      "unnest($2::int[]) t",
                                      2, params);
    free(p);
    if (!res)
        return -1;
    pg_free(&res);
    return 0;
}

/* Set dup on the events counted before (or twice in ev) and record the new
 * ids as one set.  0 or -1. */
static int s_mark_processed(pg_t *pg, scorer_event_t *ev, size_t n)
{
    if (s_lock_types(pg, ev, n) != 0)
        return -1;
    /* the batch's ids, sorted, each once */
    int64_t *ids = xcalloc(n + 1, sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = ev[i].outbox_id;
    qsort(ids, n, sizeof *ids, s_cmp_i64);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || ids[m - 1] != ids[i])
            ids[m++] = ids[i];
    s_arr_t a;
    s_arr_init(&a);
    for (size_t i = 0; i < m; i++)
        s_arr_int(&a, ids[i]);
    char *p = s_arr_done(&a);
    if (!p) {
        free(ids);
        return -1;
    }
    char lo[24], hi[24];
    snprintf(lo, sizeof lo, "%" PRId64, ids[0]);
    snprintf(hi, sizeof hi, "%" PRId64, ids[m - 1]);
    const char *params[] = {lo, hi, p};
    PGresult *res = pg_query_prepared(
        pg, "scorer_seen",
        "SELECT DISTINCT x FROM (SELECT unnest(s.ids) x FROM score_processed_sets s WHERE "
        "int8range(s.lo, s.hi, '[]') && int8range($1::bigint, $2::bigint, '[]')) c "
        "JOIN unnest($3::bigint[]) b(y) ON c.x = b.y",
        3, params);
    free(p);
    if (!res) {
        free(ids);
        return -1;
    }
    int nseen = PQntuples(res);
    int64_t *seen = xcalloc((size_t)nseen + 1, sizeof *seen);
    for (int r = 0; r < nseen; r++)
        seen[r] = pg_int(res, r, 0);
    pg_free(&res);
    qsort(seen, (size_t)nseen, sizeof *seen, s_cmp_i64);
    /* fresh = ids - seen, still sorted */
    size_t nf = 0;
    for (size_t i = 0; i < m; i++)
        if (!bsearch(&ids[i], seen, (size_t)nseen, sizeof *seen, s_cmp_i64))
            ids[nf++] = ids[i];
    free(seen);
    /* an id twice in one batch counts once: the first time (used[] marks
     * the fresh ids already given to an event) */
    bool *used = xcalloc(nf + 1, sizeof *used);
    for (size_t i = 0; i < n; i++) {
        const int64_t *hit = bsearch(&ev[i].outbox_id, ids, nf, sizeof *ids, s_cmp_i64);
        size_t k = hit ? (size_t)(hit - ids) : 0;
        ev[i].dup = !hit || used[k];
        if (hit)
            used[k] = true;
    }
    free(used);
    int rc = 0;
    if (nf > 0) {
        s_arr_init(&a);
        for (size_t i = 0; i < nf; i++)
            s_arr_int(&a, ids[i]);
        p = s_arr_done(&a);
        snprintf(lo, sizeof lo, "%" PRId64, ids[0]);
        snprintf(hi, sizeof hi, "%" PRId64, ids[nf - 1]);
        const char *ip[] = {lo, hi, p};
        res = p ? pg_query_prepared(pg, "scorer_processed",
                                    "INSERT INTO score_processed_sets (lo, hi, ids) VALUES "
                                    "($1::bigint, $2::bigint, $3::bigint[])",
                                    3, ip)
                : NULL;
        free(p);
        rc = res ? 0 : -1;
        pg_free(&res);
    }
    free(ids);
    return rc;
}

typedef struct {
    int64_t id, business_id, opened_at, cadre_id, visited_at;
    char region[13];
    bool visit;
} s_problem_t;

static int s_cmp_problem(const void *a, const void *b)
{
    return s_cmp_i64(&((const s_problem_t *)a)->id, &((const s_problem_t *)b)->id);
}

/* Look up the problems of the new problem events (sorted by id in *out). */
static int s_lookup_problems(pg_t *pg, const scorer_event_t *ev, size_t n, s_problem_t **out,
                             size_t *nout)
{
    *out = NULL;
    *nout = 0;
    s_arr_t a;
    s_arr_init(&a);
    for (size_t i = 0; i < n; i++)
        if (!ev[i].dup && (ev[i].type == SEV_PROBLEM_OPENED || ev[i].type == SEV_PROBLEM_FIXED))
            s_arr_int(&a, ev[i].problem_id);
    if (a.n == 0) {
        buf_destroy(&a.b);
        return 0;
    }
    char *p = s_arr_done(&a);
    if (!p)
        return -1;
    const char *params[] = {p};
    PGresult *res = pg_query_prepared(
        pg, "scorer_problems",
        "SELECT p.id, p.business_id, p.region_code, extract(epoch FROM p.opened_at)::bigint, "
        "p.source = 'visit', v.cadre_id, extract(epoch FROM v.visited_at)::bigint "
        "FROM problems p LEFT JOIN visits v ON p.source = 'visit' AND v.id = p.source_id "
        "WHERE p.id = ANY($1::bigint[])",
        1, params);
    free(p);
    if (!res)
        return -1;
    int m = PQntuples(res);
    s_problem_t *pr = xcalloc((size_t)m + 1, sizeof *pr);
    for (int r = 0; r < m; r++) {
        pr[r].id = pg_int(res, r, 0);
        pr[r].business_id = pg_int(res, r, 1);
        snprintf(pr[r].region, sizeof pr[r].region, "%s", pg_str(res, r, 2));
        pr[r].opened_at = pg_int(res, r, 3);
        pr[r].visit = pg_bool(res, r, 4) && pg_str(res, r, 5);
        pr[r].cadre_id = pg_int(res, r, 5);
        pr[r].visited_at = pg_int(res, r, 6);
    }
    pg_free(&res);
    qsort(pr, (size_t)m, sizeof *pr, s_cmp_problem);
    *out = pr;
    *nout = (size_t)m;
    return 0;
}

enum { B_DOT, B_DL, B_WOT, B_WL, B_MOT, B_ML, B_PO, B_PF, B_N };

typedef struct {
    s_arr_t b, q, r, v[B_N];
} s_bdelta_t;

static void s_bdelta_add(s_bdelta_t *d, int64_t b, const char *q, const char *r, int col)
{
    s_arr_int(&d->b, b);
    s_arr_text(&d->q, q);
    s_arr_text(&d->r, r);
    for (int i = 0; i < B_N; i++)
        s_arr_int(&d->v[i], i == col ? 1 : 0);
}

enum { C_VISITS, C_FINDINGS, C_FIXED, C_N };

typedef struct {
    s_arr_t c, q, r, v[C_N];
} s_cdelta_t;

static void s_cdelta_add(s_cdelta_t *d, int64_t c, const char *q, const char *r, int visits,
                         int findings, int fixed)
{
    s_arr_int(&d->c, c);
    s_arr_text(&d->q, q);
    s_arr_text(&d->r, r);
    s_arr_int(&d->v[C_VISITS], visits);
    s_arr_int(&d->v[C_FINDINGS], findings);
    s_arr_int(&d->v[C_FIXED], fixed);
}

static const char S_SQL_BUSINESS[] =
    "INSERT INTO score_business_q AS s (business_id, quarter, region_code, daily_on_time, "
    "daily_late, weekly_on_time, weekly_late, monthly_on_time, monthly_late, problems_opened, "
    "problems_fixed, updated_at) "
    "SELECT b, q, max(r), sum(a), sum(c), sum(d), sum(e), sum(f), sum(g), sum(h), sum(i), now() "
    "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::int[], $6::int[], "
    "$7::int[], $8::int[], $9::int[], $10::int[], $11::int[]) AS t(b, q, r, a, c, d, e, f, g, h, "
    "i) "
    "GROUP BY b, q ORDER BY b, q "
    "ON CONFLICT (business_id, quarter) DO UPDATE SET "
    "daily_on_time = s.daily_on_time + EXCLUDED.daily_on_time, "
    "daily_late = s.daily_late + EXCLUDED.daily_late, "
    "weekly_on_time = s.weekly_on_time + EXCLUDED.weekly_on_time, "
    "weekly_late = s.weekly_late + EXCLUDED.weekly_late, "
    "monthly_on_time = s.monthly_on_time + EXCLUDED.monthly_on_time, "
    "monthly_late = s.monthly_late + EXCLUDED.monthly_late, "
    "problems_opened = s.problems_opened + EXCLUDED.problems_opened, "
    "problems_fixed = s.problems_fixed + EXCLUDED.problems_fixed, "
    "updated_at = EXCLUDED.updated_at";

static const char S_SQL_CADRE[] =
    "INSERT INTO score_cadre_q AS s (cadre_id, quarter, region_code, visits, findings, "
    "findings_fixed, updated_at) "
    "SELECT c, q, max(r), sum(v), sum(f), sum(x), now() FROM unnest($1::bigint[], $2::text[], "
    "$3::text[], $4::int[], $5::int[], $6::int[]) AS t(c, q, r, v, f, x) GROUP BY c, q ORDER BY c, "
    "q "
    "ON CONFLICT (cadre_id, quarter) DO UPDATE SET visits = s.visits + EXCLUDED.visits, "
    "findings = s.findings + EXCLUDED.findings, "
    "findings_fixed = s.findings_fixed + EXCLUDED.findings_fixed, "
    "region_code = CASE WHEN EXCLUDED.region_code <> '' THEN EXCLUDED.region_code "
    "ELSE s.region_code END, updated_at = EXCLUDED.updated_at";

static const char S_SQL_PAIRS[] =
    "INSERT INTO score_visit_pairs AS s (cadre_id, business_id, quarter, visits) "
    "SELECT c, b, q, count(*) FROM unnest($1::bigint[], $2::bigint[], $3::text[]) AS t(c, b, q) "
    "GROUP BY c, b, q ORDER BY c, b, q ON CONFLICT (cadre_id, business_id, quarter) DO UPDATE SET "
    "visits = s.visits + EXCLUDED.visits";

static scorer_apply_stats_t s_stats;

void scorer_apply_stats(scorer_apply_stats_t *out, bool reset)
{
    *out = s_stats;
    if (reset)
        memset(&s_stats, 0, sizeof s_stats);
}

/* Add the time since *t to *acc and restart *t. */
static void s_lap(int64_t *acc, int64_t *t)
{
    int64_t now = clock_mono_us();
    *acc += now - *t;
    *t = now;
}

int scorer_apply(pg_t *pg, scorer_event_t *ev, size_t n)
{
    if (n == 0)
        return 0;
    int64_t t = clock_mono_us();
    s_stats.batches++;
    s_stats.events += (int64_t)n;
    if (s_mark_processed(pg, ev, n) != 0)
        return -1;
    s_lap(&s_stats.us_processed, &t);
    s_problem_t *pr = NULL;
    size_t npr = 0;
    if (s_lookup_problems(pg, ev, n, &pr, &npr) != 0)
        return -1;
    s_lap(&s_stats.us_problems, &t);

    s_bdelta_t bd;
    s_cdelta_t cd;
    s_arr_t pc, pb, pq, dirty, ip, ib, io, it, iq, wi, wb, wt, wr, wq, wa;
    s_arr_t *all[] = {&bd.b, &bd.q, &bd.r, &cd.c, &cd.q, &cd.r, &pc, &pb, &pq, &dirty, &ip,
                      &ib,   &io,   &it,   &iq,   &wi,   &wb,   &wt, &wr, &wq, &wa};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        s_arr_init(all[i]);
    for (int i = 0; i < B_N; i++)
        s_arr_init(&bd.v[i]);
    for (int i = 0; i < C_N; i++)
        s_arr_init(&cd.v[i]);

    size_t nb = 0, nc = 0, np = 0, ni = 0, nw = 0, na = 0;
    for (size_t i = 0; i < n; i++) {
        scorer_event_t *e = &ev[i];
        if (e->dup)
            continue;
        switch (e->type) {
        case SEV_LEDGER:
            s_bdelta_add(&bd, e->business_id, e->quarter, e->region,
                         e->kind * 2 + (e->late ? 1 : 0));
            nb++;
            break;
        case SEV_PROBLEM_OPENED:
        case SEV_PROBLEM_FIXED: {
            s_problem_t key = {.id = e->problem_id};
            const s_problem_t *p = bsearch(&key, pr, npr, sizeof *pr, s_cmp_problem);
            char q[PERIOD_TEXT_MAX];
            if (!p || score_quarter_of_time(p->opened_at, q) != 0) {
                log_warn("problem %" PRId64 " of event %" PRId64 " not found: not counted",
                         e->problem_id, e->outbox_id);
                break;
            }
            e->business_id = p->business_id;
            s_bdelta_add(&bd, p->business_id, q, p->region,
                         e->type == SEV_PROBLEM_OPENED ? B_PO : B_PF);
            nb++;
            if (e->type == SEV_PROBLEM_FIXED && p->visit &&
                score_quarter_of_time(p->visited_at, q) == 0) {
                s_cdelta_add(&cd, p->cadre_id, q, "", 0, 0, 1);
                nc++;
            }
            break;
        }
        case SEV_VISIT:
            s_cdelta_add(&cd, e->cadre_id, e->quarter, "", 1, e->findings,
                         e->findings - e->findings_open);
            nc++;
            s_arr_int(&pc, e->cadre_id);
            s_arr_int(&pb, e->business_id);
            s_arr_text(&pq, e->quarter);
            np++;
            break;
        case SEV_INSPECTION:
            s_arr_int(&ip, e->plan_id);
            s_arr_int(&ib, e->business_id);
            s_arr_text(&io, e->outcome == SCORE_INSP_FAIL      ? "fail"
                            : e->outcome == SCORE_INSP_REMARKS ? "pass_with_remarks"
                                                               : "pass");
            s_arr_int(&it, e->at);
            s_arr_text(&iq, e->quarter);
            ni++;
            break;
        case SEV_WARNING_ISSUED:
        case SEV_WARNING_ANSWERED:
            s_arr_int(&wi, e->warning_id);
            s_arr_int(&wb, e->business_id);
            s_arr_int(&wt, e->type == SEV_WARNING_ISSUED ? e->at : 0);
            s_arr_int(&wr, e->type == SEV_WARNING_ISSUED ? e->rectify_by : 0);
            s_arr_text(&wq, e->quarter);
            s_arr_int(&wa, e->type == SEV_WARNING_ANSWERED ? e->at : 0);
            nw++;
            break;
        }
        if (e->business_id > 0) {
            s_arr_int(&dirty, e->business_id);
            na++;
        }
    }
    free(pr);
    for (size_t i = 0; i < n; i++)
        s_stats.fresh += !ev[i].dup;
    s_lap(&s_stats.us_build, &t);

    int rc = 0;
    if (nb > 0) {
        s_arr_t arr[] = {bd.b,    bd.q,    bd.r,    bd.v[0],    bd.v[1],   bd.v[2],
                         bd.v[3], bd.v[4], bd.v[5], bd.v[B_PO], bd.v[B_PF]};
        rc = s_exec_arrays(pg, "scorer_business_delta", S_SQL_BUSINESS, arr, 11);
    } else {
        buf_destroy(&bd.b.b);
        buf_destroy(&bd.q.b);
        buf_destroy(&bd.r.b);
        for (int i = 0; i < B_N; i++)
            buf_destroy(&bd.v[i].b);
    }
    s_lap(&s_stats.us_business, &t);
    if (nc > 0) {
        s_arr_t arr[] = {cd.c, cd.q, cd.r, cd.v[0], cd.v[1], cd.v[2]};
        if (s_exec_arrays(pg, "scorer_cadre_delta", S_SQL_CADRE, arr, 6) != 0)
            rc = -1;
    } else {
        buf_destroy(&cd.c.b);
        buf_destroy(&cd.q.b);
        buf_destroy(&cd.r.b);
        for (int i = 0; i < C_N; i++)
            buf_destroy(&cd.v[i].b);
    }
    if (np > 0) {
        s_arr_t arr[] = {pc, pb, pq};
        if (s_exec_arrays(pg, "scorer_pairs_delta", S_SQL_PAIRS, arr, 3) != 0)
            rc = -1;
    } else {
        buf_destroy(&pc.b);
        buf_destroy(&pb.b);
        buf_destroy(&pq.b);
    }
    s_lap(&s_stats.us_cadre, &t);
    if (ni > 0) {
        s_arr_t arr[] = {ip, ib, io, it, iq};
        if (s_exec_arrays(
                pg, "scorer_inspections",
                "INSERT INTO score_inspections AS s (plan_id, business_id, outcome, "
                "inspected_at, quarter) SELECT p, b, o, to_timestamp(t), q FROM "
                "unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[]) "
                "AS u(p, b, o, t, q) ON CONFLICT (plan_id, business_id) DO UPDATE SET "
                "outcome = EXCLUDED.outcome, inspected_at = EXCLUDED.inspected_at, "
                "quarter = EXCLUDED.quarter",
                arr, 5) != 0)
            rc = -1;
    } else {
        s_arr_t *z[] = {&ip, &ib, &io, &it, &iq};
        for (size_t i = 0; i < 5; i++)
            buf_destroy(&z[i]->b);
    }
    if (nw > 0) {
        s_arr_t arr[] = {wi, wb, wt, wr, wq, wa};
        if (s_exec_arrays(
                pg, "scorer_warnings",
                "INSERT INTO score_warnings AS s (warning_id, business_id, issued_at, rectify_by, "
                "quarter, answered_at) SELECT i, b, CASE WHEN t > 0 THEN to_timestamp(t) END, "
                "CASE WHEN r > 0 THEN to_timestamp(r) END, NULLIF(q, ''), "
                "CASE WHEN a > 0 THEN to_timestamp(a) END FROM unnest($1::bigint[], $2::bigint[], "
                "$3::bigint[], $4::bigint[], $5::text[], $6::bigint[]) AS u(i, b, t, r, q, a) "
                "ON CONFLICT (warning_id) DO UPDATE SET "
                "issued_at = coalesce(EXCLUDED.issued_at, s.issued_at), "
                "rectify_by = coalesce(EXCLUDED.rectify_by, s.rectify_by), "
                "quarter = coalesce(EXCLUDED.quarter, s.quarter), "
                "answered_at = coalesce(EXCLUDED.answered_at, s.answered_at)",
                arr, 6) != 0)
            rc = -1;
    } else {
        s_arr_t *z[] = {&wi, &wb, &wt, &wr, &wq, &wa};
        for (size_t i = 0; i < 6; i++)
            buf_destroy(&z[i]->b);
    }
    s_lap(&s_stats.us_other, &t);
    if (na > 0) {
        s_arr_t arr[] = {dirty};
        if (s_exec_arrays(
                pg, "scorer_dirty",
                "INSERT INTO score_dirty (business_id) SELECT b FROM (SELECT DISTINCT "
                "unnest($1::bigint[]) b) u WHERE NOT EXISTS (SELECT 1 FROM score_dirty d "
                "WHERE d.business_id = u.b AND NOT d.daily) ORDER BY b "
                "ON CONFLICT (business_id) DO UPDATE SET daily = false WHERE score_dirty.daily",
                arr, 1) != 0)
            rc = -1;
    } else {
        buf_destroy(&dirty.b);
    }
    s_lap(&s_stats.us_dirty, &t);
    return rc;
}

int scorer_apply_tx(pg_t *pg, scorer_event_t *ev, size_t n)
{
    if (pg_begin(pg) != 0)
        return -1;
    if (scorer_apply(pg, ev, n) != 0) {
        pg_rollback(pg);
        return -1;
    }
    int64_t t = clock_mono_us();
    if (pg_commit(pg) != 0) {
        pg_rollback(pg);
        return -1;
    }
    s_lap(&s_stats.us_commit, &t);
    return 0;
}

/* ---- consuming ------------------------------------------------------------------------ */

struct scorer_events_s {
    rds_t *rds;
    size_t ntopics;
    outbox_consumer_t **consumers;
    /* the round in progress */
    pg_t *pg;
    size_t topic;
    scorer_event_t *staged;
    char (*ids)[48];
    size_t nstaged, cap;
    char name[64]; /* the consumer's name in the group */
};

scorer_events_t *scorer_events_new(rds_t *rds, const char *name, int max_attempts,
                                   int64_t claim_idle_ms)
{
    scorer_events_t *self = xcalloc(1, sizeof *self);
    self->rds = rds;
    snprintf(self->name, sizeof self->name, "%s", name ? name : "");
    while (scorer_topics[self->ntopics])
        self->ntopics++;
    self->consumers = xcalloc(self->ntopics, sizeof *self->consumers);
    for (size_t i = 0; i < self->ntopics; i++) {
        self->consumers[i] =
            outbox_consumer_new(rds, scorer_topics[i], S_GROUP, name, max_attempts, claim_idle_ms);
        if (!self->consumers[i]) {
            scorer_events_destroy(&self);
            return NULL;
        }
    }
    return self;
}

void scorer_events_destroy(scorer_events_t **self_p)
{
    scorer_events_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->ntopics; i++)
        outbox_consumer_destroy(&self->consumers[i]);
    free(self->consumers);
    free(self->staged);
    free(self->ids);
    free(self);
    *self_p = NULL;
}

/* The handler: a first delivery is staged (left pending until the batch is
 * committed); a redelivery is applied alone, now. */
static int s_stage(void *ctx, const outbox_event_t *oe)
{
    scorer_events_t *self = ctx;
    scorer_event_t ev;
    int64_t t0 = clock_mono_us();
    int rc = scorer_event_decode(oe->topic, oe->payload, oe->payload_len, oe->outbox_id, &ev);
    if (rc == 1)
        return 0;
    if (rc != 0) {
        outbox_consumer_set_error(self->consumers[self->topic], "payload does not decode");
        return -1;
    }
    if (oe->deliveries > 1) {
        if (scorer_apply_tx(self->pg, &ev, 1) != 0) {
            outbox_consumer_set_error(self->consumers[self->topic], pg_errmsg(self->pg));
            return -1;
        }
        return 0;
    }
    if (self->nstaged == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 256;
        self->staged = xrealloc(self->staged, self->cap * sizeof *self->staged);
        self->ids = xrealloc(self->ids, self->cap * sizeof *self->ids);
    }
    self->staged[self->nstaged] = ev;
    snprintf(self->ids[self->nstaged], sizeof self->ids[0], "%s", oe->stream_id);
    self->nstaged++;
    s_stats.us_decode += clock_mono_us() - t0;
    return -1; /* pending until the batch commits */
}

/*
 * Read up to count more new entries of topic t in one XREADGROUP and stage
 * them: the rest of a batch after outbox_consume's first read (which also
 * reclaimed the idle entries), so a batch of 5,000 costs one more round trip
 * instead of four reads and four reclaims.  Only first deliveries come this
 * way; an entry that does not parse or decode stays pending, and
 * outbox_consume's reclaim deals with it (retry, then the dead stream).
 * The count read, or -1.
 */
static int s_read_more(scorer_events_t *self, size_t t, int count)
{
    char stream[160];
    snprintf(stream, sizeof stream, "lz:stream:%s", scorer_topics[t]);
    redisReply *r = rds_cmd(self->rds, "XREADGROUP GROUP %s %s COUNT %d STREAMS %s >", S_GROUP,
                            self->name, count, stream);
    if (!r)
        return -1;
    int n = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2 &&
        r->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
        const redisReply *entries = r->element[0]->element[1];
        for (size_t i = 0; i < entries->elements; i++) {
            outbox_event_t oe;
            n++;
            if (outbox_event_parse(entries->element[i], &oe) != 0)
                continue;
            oe.topic = scorer_topics[t];
            oe.deliveries = 1;
            s_stage(self, &oe);
        }
    }
    rds_free(&r);
    return n;
}

/* Acknowledge the staged entries of topic; 0 or -1. */
static int s_ack_staged(scorer_events_t *self, const char *topic)
{
    size_t argc = self->nstaged + 3;
    const char **argv = xcalloc(argc, sizeof *argv);
    size_t *lens = xcalloc(argc, sizeof *lens);
    char stream[160];
    snprintf(stream, sizeof stream, "lz:stream:%s", topic);
    argv[0] = "XACK";
    argv[1] = stream;
    argv[2] = S_GROUP;
    for (size_t i = 0; i < self->nstaged; i++)
        argv[i + 3] = self->ids[i];
    for (size_t i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    redisReply *r = rds_cmd_argv(self->rds, (int)argc, argv, lens);
    free(argv);
    free(lens);
    if (!r)
        return -1;
    rds_free(&r);
    return 0;
}

int scorer_events_pump(scorer_events_t *self, pg_t *pg, int batch)
{
    int total = 0;
    bool failed = false;
    self->pg = pg;
    for (size_t t = 0; t < self->ntopics; t++) {
        self->topic = t;
        self->nstaged = 0;
        /* up to batch events in one transaction, read S_READ_MAX at a time */
        int dealt = 0;
        while (dealt < batch) {
            int want = batch - dealt < S_READ_MAX ? batch - dealt : S_READ_MAX;
            int64_t t0 = clock_mono_us(), d0 = s_stats.us_decode;
            int n = outbox_consume(self->consumers[t], s_stage, self, want, 0);
            s_stats.us_redis += clock_mono_us() - t0 - (s_stats.us_decode - d0);
            if (n < 0) {
                failed = true;
                break;
            }
            dealt += n;
            if (n < want)
                break;
            if (dealt < batch) {
                t0 = clock_mono_us();
                d0 = s_stats.us_decode;
                n = s_read_more(self, t, batch - dealt);
                s_stats.us_redis += clock_mono_us() - t0 - (s_stats.us_decode - d0);
                if (n < 0) {
                    failed = true;
                    break;
                }
                dealt += n;
                break;
            }
        }
        total += dealt;
        if (self->nstaged == 0)
            continue;
        if (scorer_apply_tx(pg, self->staged, self->nstaged) != 0) {
            log_warn("a batch of %zu %s events failed; they are retried one by one", self->nstaged,
                     scorer_topics[t]);
            failed = true;
            continue;
        }
        int64_t t0 = clock_mono_us();
        int ack = s_ack_staged(self, scorer_topics[t]);
        s_stats.us_redis += clock_mono_us() - t0;
        if (ack != 0)
            failed = true; /* counted already: redelivered, found in score_processed_sets */
    }
    self->nstaged = 0;
    return failed && total == 0 ? -1 : total;
}

int scorer_processed_purge(pg_t *pg, int64_t older_than_s)
{
    char age[32];
    snprintf(age, sizeof age, "%" PRId64, older_than_s);
    const char *params[] = {age};
    PGresult *res = pg_query_prepared(pg, "scorer_purge",
                                      "DELETE FROM score_processed_sets WHERE processed_at < "
                                      "now() - make_interval(secs => $1::bigint)",
                                      1, params);
    if (!res)
        return -1;
    int n = (int)strtol(PQcmdTuples(res), NULL, 10);
    pg_free(&res);
    return n;
}
