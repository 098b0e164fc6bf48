/*
 * sampler_plan.c - spot-check plans.
 *
 * Creation builds the frame from the registry (active businesses of the region, minus
 * those inspected last quarter when the plan says so), runs the pure draw
 * (sampler_draw.c) with the districts' rosters and the exclusions (cadres by phone,
 * declared conflicts), and stores plan, frame, roster, exclusions and list in one
 * transaction with the request id's answer and an audit entry.  Storing the inputs is
 * what makes verification independent of later registry changes.  No event is written:
 * nothing may announce an upcoming inspection.
 */
#include "sampler_plan.h"
#include "audit.h"
#include "idem.h"
#include "log.h"
#include "mem.h"
#include "period.h"
#include "region.h"
#include "scope.h"

#include <inttypes.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METHOD_CREATE  "sampler.create_plan"
#define PLAN_ITEMS_MAX 20000 /* drawn businesses one GET answers; more: filter by region */
#define PLAN_COLUMNS                                                                               \
    "p.id, p.quarter, p.region_code, p.seed, p.frame_digest, p.algorithm, p.list_hash, "           \
    "p.n_per_stratum, p.stratum_level, p.weighted, p.weight_a, p.weight_b, p.weight_c, "           \
    "p.weight_d, p.exclude_previous, p.frame_size, p.strata_count, p.drawn, p.inspectors_short, "  \
    "to_char(p.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+08:00\"'), "  \
    "(SELECT count(*) FROM inspections i WHERE i.plan_id = p.id)"

/* ---- pure helpers ---------------------------------------------------------------------------- */

int sampler_settings_resolve(const Lz__PlanSettings *req, const sampler_defaults_t *d,
                             sampler_settings_t *out, char *field, size_t flen, char *msg,
                             size_t mlen)
{
    out->n_per_stratum = d->n_per_stratum;
    out->township = d->township;
    out->weighted = d->weighted;
    memcpy(out->weight, d->weight, sizeof out->weight);
    out->exclude_previous = d->exclude_previous;
    if (!req)
        return 0;
    if (req->has_n_per_stratum) {
        if (req->n_per_stratum < 1 || req->n_per_stratum > SAMPLE_N_MAX) {
            snprintf(field, flen, "settings.n_per_stratum");
            snprintf(msg, mlen, "n_per_stratum must be 1 to %d", SAMPLE_N_MAX);
            return -1;
        }
        out->n_per_stratum = req->n_per_stratum;
    }
    if (req->stratum_level) {
        if (strcmp(req->stratum_level, "community") && strcmp(req->stratum_level, "township")) {
            snprintf(field, flen, "settings.stratum_level");
            snprintf(msg, mlen, "stratum_level must be one of: community, township");
            return -1;
        }
        out->township = !strcmp(req->stratum_level, "township");
    }
    if (req->has_weighted)
        out->weighted = req->weighted;
    const protobuf_c_boolean has[4] = {req->has_weight_a, req->has_weight_b, req->has_weight_c,
                                       req->has_weight_d};
    const int32_t w[4] = {req->weight_a, req->weight_b, req->weight_c, req->weight_d};
    for (int i = 0; i < 4; i++) {
        if (!has[i])
            continue;
        if (w[i] < 1 || w[i] > SAMPLE_WEIGHT_MAX) {
            snprintf(field, flen, "settings.weight_%c", 'a' + i);
            snprintf(msg, mlen, "a weight must be 1 to %d", SAMPLE_WEIGHT_MAX);
            return -1;
        }
        out->weight[i] = w[i];
    }
    if (req->has_exclude_previous)
        out->exclude_previous = req->exclude_previous;
    return 0;
}

uint32_t sampler_weight_of(const sampler_settings_t *s, char g)
{
    if (!s->weighted || g < 'A' || g > 'D')
        return 1;
    return (uint32_t)s->weight[g - 'A'];
}

bool sampler_seed_valid(const char *seed)
{
    if (!seed)
        return false;
    size_t n = strlen(seed);
    if (n < 1 || n > SAMPLE_SEED_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)seed[i] < 0x20 || seed[i] == 0x7f)
            return false;
    return true;
}

void sampler_stratum_of(const char *region_code, bool township, char out[SAMPLE_CODE_LEN + 1])
{
    size_t n = region_code ? strnlen(region_code, SAMPLE_CODE_LEN) : 0;
    memcpy(out, region_code ? region_code : "", n);
    out[n] = '\0';
    if (township && n == SAMPLE_CODE_LEN)
        memcpy(out + 9, "000", 3);
}

/* ---- small helpers --------------------------------------------------------------------------- */

/* A growing text buffer for COPY data and id arrays. */
typedef struct {
    char *p;
    size_t len, cap;
} s_sb_t;

static void s_sb_add(s_sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_sb_add(s_sb_t *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n + 1;
        b->p = xrealloc(b->p, b->cap);
    }
}

/* The code range [lo, hi] of the jurisdiction of code, truncated to at most keep digits. */
static int s_range(const char *code, size_t keep, char lo[13], char hi[13])
{
    region_level_t l;
    if (region_level_of(code, &l) != 0)
        return -1;
    size_t n = region_prefix_len(l);
    if (n > keep)
        n = keep;
    memcpy(lo, code, n);
    memcpy(hi, code, n);
    memset(lo + n, '0', SAMPLE_CODE_LEN - n);
    memset(hi + n, '9', SAMPLE_CODE_LEN - n);
    lo[SAMPLE_CODE_LEN] = hi[SAMPLE_CODE_LEN] = '\0';
    return 0;
}

static void s_hex_copy(char dst[2 * SAMPLE_HASH_LEN + 1], const char *src)
{
    snprintf(dst, 2 * SAMPLE_HASH_LEN + 1, "%s", src ? src : "");
}

/* Fill plan and settings from row r of a PLAN_COLUMNS result (strings point into res). */
static void s_plan_fill(const PGresult *res, int r, Lz__Plan *plan, Lz__PlanSettings *set)
{
    plan->has_id = 1;
    plan->id = pg_int(res, r, 0);
    plan->quarter = (char *)pg_str(res, r, 1);
    plan->region = (char *)pg_str(res, r, 2);
    plan->seed = (char *)pg_str(res, r, 3);
    plan->frame_digest = (char *)pg_str(res, r, 4);
    plan->algorithm = (char *)pg_str(res, r, 5);
    plan->list_hash = (char *)pg_str(res, r, 6);
    set->has_n_per_stratum = set->has_weighted = set->has_exclude_previous = 1;
    set->has_weight_a = set->has_weight_b = set->has_weight_c = set->has_weight_d = 1;
    set->n_per_stratum = (int32_t)pg_int(res, r, 7);
    set->stratum_level = (char *)pg_str(res, r, 8);
    set->weighted = pg_bool(res, r, 9);
    set->weight_a = (int32_t)pg_int(res, r, 10);
    set->weight_b = (int32_t)pg_int(res, r, 11);
    set->weight_c = (int32_t)pg_int(res, r, 12);
    set->weight_d = (int32_t)pg_int(res, r, 13);
    set->exclude_previous = pg_bool(res, r, 14);
    plan->settings = set;
    plan->has_frame_size = plan->has_strata_count = plan->has_drawn = 1;
    plan->has_inspectors_short = plan->has_inspected = 1;
    plan->frame_size = (int32_t)pg_int(res, r, 15);
    plan->strata_count = (int32_t)pg_int(res, r, 16);
    plan->drawn = (int32_t)pg_int(res, r, 17);
    plan->inspectors_short = (int32_t)pg_int(res, r, 18);
    plan->created_at = (char *)pg_str(res, r, 19);
    plan->inspected = (int32_t)pg_int(res, r, 20);
}

/* ---- creation -------------------------------------------------------------------------------- */

/* Load the frame of region under settings for quarter q; units (caller frees) or NULL. */
static sample_unit_t *s_load_frame(pg_t *pg, const char *region, const sampler_settings_t *set,
                                   const period_t *q, size_t *n, sampler_phases_t *ph, int64_t *t0)
{
    char lo[13], hi[13], from[RFC3339_TEXT_MAX], to[RFC3339_TEXT_MAX];
    period_t prev;
    if (s_range(region, SAMPLE_CODE_LEN, lo, hi) != 0 || period_add(q, -1, &prev) != 0 ||
        rfc3339_format(period_start(&prev), from, sizeof from) == 0 ||
        rfc3339_format(period_end(&prev), to, sizeof to) == 0)
        return NULL;
    const char *params[] = {lo, hi, set->exclude_previous ? "true" : "false", from, to};
    PGresult *res = pg_query_prepared(
        pg, "sampler_frame",
        "SELECT b.region_code, b.id, b.risk_grade FROM businesses b "
        "WHERE b.status = 'active' AND b.region_code BETWEEN $1 AND $2 "
        "AND NOT ($3::bool AND EXISTS (SELECT 1 FROM inspections i WHERE i.business_id = b.id "
        "AND i.inspected_at >= $4::timestamptz AND i.inspected_at < $5::timestamptz))",
        5, params);
    if (!res)
        return NULL;
    sampler_phase(ph, "frame query", t0);
    size_t rows = (size_t)PQntuples(res);
    sample_unit_t *u = xcalloc(rows ? rows : 1, sizeof *u);
    for (size_t i = 0; i < rows; i++) {
        sampler_stratum_of(pg_str(res, (int)i, 0), set->township, u[i].stratum);
        u[i].business_id = pg_int(res, (int)i, 1);
        const char *g = pg_str(res, (int)i, 2);
        u[i].weight = sampler_weight_of(set, g ? g[0] : 'A');
    }
    pg_free(&res);
    sampler_phase(ph, "frame rows to units", t0);
    sample_frame_sort(u, rows);
    *n = rows;
    sampler_phase(ph, "sort the frame", t0);
    return u;
}

/* Load the active inspectors of the districts of region; roster (caller frees) or NULL. */
static sample_inspector_t *s_load_roster(pg_t *pg, const char *region, size_t *n)
{
    char lo[13], hi[13];
    if (s_range(region, 6, lo, hi) != 0)
        return NULL;
    const char *params[] = {lo, hi};
    PGresult *res = pg_query_prepared(pg, "sampler_roster",
                                      "SELECT region_code, id FROM inspectors WHERE status = "
                                      "'active' AND region_code BETWEEN $1 AND $2 ORDER BY id",
                                      2, params);
    if (!res)
        return NULL;
    size_t rows = (size_t)PQntuples(res);
    sample_inspector_t *r = xcalloc(rows ? rows : 1, sizeof *r);
    for (size_t i = 0; i < rows; i++) {
        snprintf(r[i].district, sizeof r[i].district, "%s", pg_str(res, (int)i, 0));
        r[i].inspector_id = pg_int(res, (int)i, 1);
    }
    pg_free(&res);
    *n = rows;
    return r;
}

/* Exclusions of the drawn businesses: their cadres' phones, declared conflicts. */
#define EXCLUSIONS_BY_ID_MAX 5000 /* drawn businesses up to which exclusions are asked by id */

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * Exclusions of the drawn businesses: inspectors with the phone of one of their current
 * cadres ('c'), declared conflicts ('x'); a pair both ways is 'c'.  A small plan asks by the
 * drawn ids; a big one (a province: 90,000 ids, whose ANY() index probes take a second)
 * reads every pair of a cadre who is also an inspector and every conflict, sorted, and keeps
 * those of drawn businesses - the same set.
 */
static sample_exclusion_t *s_load_exclusions(pg_t *pg, const sample_result_t *r, size_t *n,
                                             char **reasons)
{
    PGresult *res;
    int64_t *drawn = NULL;
    if (r->npicks <= EXCLUSIONS_BY_ID_MAX) {
        s_sb_t ids = {0};
        s_sb_add(&ids, "{");
        for (size_t i = 0; i < r->npicks; i++)
            s_sb_add(&ids, "%s%" PRId64, i ? "," : "", r->picks[i].business_id);
        s_sb_add(&ids, "}");
        const char *params[] = {ids.p};
        res = pg_query_prepared(
            pg, "sampler_exclusions",
            "SELECT business_id, inspector_id, min(reason) FROM ("
            "SELECT a.business_id, i.id AS inspector_id, 'cadre' AS reason FROM assignments a "
            "JOIN cadres c ON c.id = a.cadre_id JOIN inspectors i ON i.phone = c.phone "
            "WHERE a.until IS NULL AND a.business_id = ANY ($1::bigint[]) "
            "UNION ALL SELECT business_id, inspector_id, 'conflict' FROM inspection_conflicts "
            "WHERE business_id = ANY ($1::bigint[])) x GROUP BY 1, 2 ORDER BY 1, 2",
            1, params);
        free(ids.p);
    } else {
        drawn = xcalloc(r->npicks, sizeof *drawn);
        for (size_t i = 0; i < r->npicks; i++)
            drawn[i] = r->picks[i].business_id;
        qsort(drawn, r->npicks, sizeof *drawn, s_cmp_i64);
        res = pg_query_prepared(
            pg, "sampler_exclusions_all",
            "SELECT a.business_id, i.id, 'cadre' AS reason FROM cadres c JOIN inspectors i ON "
            "i.phone = c.phone JOIN assignments a ON a.cadre_id = c.id AND a.until IS NULL "
            "UNION ALL SELECT business_id, inspector_id, 'conflict' FROM inspection_conflicts "
            "ORDER BY 1, 2, 3",
            0, NULL);
    }
    if (!res) {
        free(drawn);
        return NULL;
    }
    size_t rows = (size_t)PQntuples(res), k = 0;
    sample_exclusion_t *e = xcalloc(rows ? rows : 1, sizeof *e);
    *reasons = xcalloc(rows ? rows : 1, 1);
    for (size_t i = 0; i < rows; i++) {
        int64_t b = pg_int(res, (int)i, 0), insp = pg_int(res, (int)i, 1);
        if (drawn && !bsearch(&b, drawn, r->npicks, sizeof *drawn, s_cmp_i64))
            continue;
        if (k > 0 && e[k - 1].business_id == b && e[k - 1].inspector_id == insp)
            continue; /* sorted: 'cadre' came first */
        e[k].business_id = b;
        e[k].inspector_id = insp;
        (*reasons)[k++] = !strcmp(pg_str(res, (int)i, 2), "cadre") ? 'c' : 'x';
    }
    pg_free(&res);
    free(drawn);
    *n = k;
    return e;
}

/* Store frame, roster, exclusions and list of plan pid by COPY; 0 or -1. */
static int s_store_inputs(pg_t *pg, const char *pid, const sample_input_t *in, const char *reasons,
                          const sample_result_t *r, sampler_phases_t *ph, int64_t *t0)
{
    s_sb_t b = {0};
    int rc = 0;
    /* one row per stratum: the frame is sorted by stratum, then id */
    s_sb_t w = {0};
    for (size_t i = 0; i < in->nframe;) {
        size_t j = i;
        s_sb_add(&b, "%s\t%s\t{", pid, in->frame[i].stratum);
        w.len = 0;
        for (; j < in->nframe && !strcmp(in->frame[j].stratum, in->frame[i].stratum); j++) {
            s_sb_add(&b, "%s%" PRId64, j > i ? "," : "", in->frame[j].business_id);
            s_sb_add(&w, "%s%" PRIu32, j > i ? "," : "", in->frame[j].weight);
        }
        s_sb_add(&b, "}\t{%s}\n", w.p);
        i = j;
    }
    free(w.p);
    if (b.len && pg_copy_in(pg,
                            "COPY sampling_frame (plan_id, stratum, business_ids, weights) "
                            "FROM STDIN",
                            b.p, b.len) != 0)
        rc = -1;
    sampler_phase(ph, "COPY frame", t0);
    b.len = 0;
    for (size_t i = 0; rc == 0 && i < in->nroster; i++)
        s_sb_add(&b, "%s\t%s\t%" PRId64 "\n", pid, in->roster[i].district,
                 in->roster[i].inspector_id);
    if (rc == 0 && b.len &&
        pg_copy_in(pg, "COPY sampling_roster (plan_id, district, inspector_id) FROM STDIN", b.p,
                   b.len) != 0)
        rc = -1;
    b.len = 0;
    for (size_t i = 0; rc == 0 && i < in->nexclusions; i++)
        s_sb_add(&b, "%s\t%" PRId64 "\t%" PRId64 "\t%s\n", pid, in->exclusions[i].business_id,
                 in->exclusions[i].inspector_id, reasons[i] == 'c' ? "cadre" : "conflict");
    if (rc == 0 && b.len &&
        pg_copy_in(pg,
                   "COPY sampling_exclusions (plan_id, business_id, inspector_id, reason) "
                   "FROM STDIN",
                   b.p, b.len) != 0)
        rc = -1;
    sampler_phase(ph, "COPY roster, exclusions", t0);
    b.len = 0;
    for (size_t i = 0; rc == 0 && i < r->npicks; i++) {
        const sample_pick_t *p = &r->picks[i];
        char i1[24] = "\\N", i2[24] = "\\N";
        if (p->inspectors[0])
            snprintf(i1, sizeof i1, "%" PRId64, p->inspectors[0]);
        if (p->inspectors[1])
            snprintf(i2, sizeof i2, "%" PRId64, p->inspectors[1]);
        s_sb_add(&b, "%s\t%s\t%" PRId64 "\t%d\t%s\t%s\n", pid, p->stratum, p->business_id,
                 p->position, i1, i2);
    }
    if (rc == 0 && b.len &&
        pg_copy_in(pg,
                   "COPY sampling_items (plan_id, stratum, business_id, position, "
                   "inspector_1, inspector_2) FROM STDIN",
                   b.p, b.len) != 0)
        rc = -1;
    free(b.p);
    return rc;
}

void sampler_create_plan(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    sampler_t *self = ctx;
    Lz__CreatePlanRequest *in =
        (Lz__CreatePlanRequest *)rpc_unpack(req, &lz__create_plan_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    const Lz__Caller *c = req->caller;
    sample_unit_t *frame = NULL;
    sample_inspector_t *roster = NULL;
    sample_exclusion_t *excl = NULL;
    char *reasons = NULL;
    sample_result_t r;
    memset(&r, 0, sizeof r);
    PGresult *res = NULL;
    char *detail = NULL;
    if (!scope_is_admin(c) && !scope_is_regulator(c)) {
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL, "only regulators make sampling plans");
        goto done;
    }
    if (!req->request_id || !req->request_id[0] || strlen(req->request_id) > 64) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "request_id", "a write needs a request_id");
        goto done;
    }
    period_t q;
    if (!in->quarter) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "quarter", "quarter is required");
        goto done;
    }
    if (period_parse_kind(PERIOD_QUARTERLY, in->quarter, &q) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "quarter",
                        "quarter must be a quarter like 2026-Q4");
        goto done;
    }
    if (!in->region) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "region", "region is required");
        goto done;
    }
    region_level_t level;
    if (region_level_of(in->region, &level) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "region",
                        "region must be a 12-digit region code");
        goto done;
    }
    if (!scope_region_visible(c, in->region)) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "region", "no region %s", in->region);
        goto done;
    }
    if (!in->seed) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "seed", "seed is required");
        goto done;
    }
    if (!sampler_seed_valid(in->seed)) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "seed",
                        "seed must be 1 to %d bytes of text without control characters",
                        SAMPLE_SEED_MAX);
        goto done;
    }
    sampler_settings_t set;
    char field[64], msg[160];
    if (sampler_settings_resolve(in->settings, &self->defaults, &set, field, sizeof field, msg,
                                 sizeof msg) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, field, "%s", msg);
        goto done;
    }
    if (set.township && level == REGION_COMMUNITY) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "settings.stratum_level",
                        "a community cannot be split into townships");
        goto done;
    }
    sampler_phases_t *ph = self->phases;
    int64_t t0 = sampler_phase_start(ph);
    if (idem_begin_req(self->pg, METHOD_CREATE, req, rep) != 1)
        goto done;

    /* the transaction is open from here: every failure rolls back */
    const char *rp[] = {in->region, in->quarter};
    res = pg_query_prepared(self->pg, "sampler_plan_exists",
                            "SELECT (SELECT 1 FROM regions WHERE code = $1), (SELECT id FROM "
                            "sampling_plans WHERE region_code = $1 AND quarter = $2)",
                            2, rp);
    if (!res || PQntuples(res) != 1) {
        sampler_db_failed(self->pg, rep);
        goto done;
    }
    if (PQgetisnull(res, 0, 0)) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "region", "no region %s", in->region);
        goto done;
    }
    if (!PQgetisnull(res, 0, 1)) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__CONFLICT, "quarter",
                        "region %s already has plan %s for %s", in->region, pg_str(res, 0, 1),
                        in->quarter);
        goto done;
    }
    pg_free(&res);
    sample_input_t di;
    memset(&di, 0, sizeof di);
    di.seed = in->seed;
    di.quarter = in->quarter;
    di.region = in->region;
    di.n_per_stratum = set.n_per_stratum;
    sampler_phase(ph, "begin, request id, plan exists", &t0);
    frame = s_load_frame(self->pg, in->region, &set, &q, &di.nframe, ph, &t0);
    roster = frame ? s_load_roster(self->pg, in->region, &di.nroster) : NULL;
    sampler_phase(ph, "roster query", &t0);
    if (!frame || !roster) {
        sampler_db_failed(self->pg, rep);
        goto done;
    }
    di.frame = frame;
    di.roster = roster;
    if (sample_draw_businesses(&di, &r) != 0) {
        pg_rollback(self->pg);
        log_error("the frame of region %s is not valid", in->region);
        rpc_reply_error(rep, LZ__STATUS__INTERNAL, NULL, "the frame is not valid");
        goto done;
    }
    sampler_phase(ph, "draw businesses (digest, key, streams)", &t0);
    excl = s_load_exclusions(self->pg, &r, &di.nexclusions, &reasons);
    if (!excl) {
        sampler_db_failed(self->pg, rep);
        goto done;
    }
    sampler_phase(ph, "exclusions query (cadres, conflicts)", &t0);
    di.exclusions = excl;
    sample_assign_inspectors(&di, &r);
    sampler_phase(ph, "assign inspectors, list hash", &t0);

    char fd[2 * SAMPLE_HASH_LEN + 1], lh[2 * SAMPLE_HASH_LEN + 1], caller[96];
    sample_hex(r.frame_digest, fd);
    sample_hex(r.list_hash, lh);
    sampler_caller_key(c, caller, sizeof caller);
    char nps[16], wa[16], wb[16], wc[16], wd[16], fs[24], sc[24], dr[24], sh[24];
    snprintf(nps, sizeof nps, "%d", set.n_per_stratum);
    snprintf(wa, sizeof wa, "%d", set.weight[0]);
    snprintf(wb, sizeof wb, "%d", set.weight[1]);
    snprintf(wc, sizeof wc, "%d", set.weight[2]);
    snprintf(wd, sizeof wd, "%d", set.weight[3]);
    snprintf(fs, sizeof fs, "%zu", di.nframe);
    snprintf(sc, sizeof sc, "%zu", r.nstrata);
    snprintf(dr, sizeof dr, "%zu", r.npicks);
    snprintf(sh, sizeof sh, "%zu", r.short_inspectors);
    const char *ip[] = {in->quarter,
                        in->region,
                        in->seed,
                        SAMPLE_ALGORITHM,
                        nps,
                        set.township ? "township" : "community",
                        set.weighted ? "true" : "false",
                        wa,
                        wb,
                        wc,
                        wd,
                        set.exclude_previous ? "true" : "false",
                        fd,
                        lh,
                        fs,
                        sc,
                        dr,
                        sh,
                        caller,
                        req->request_id};
    res = pg_query_prepared(
        self->pg, "sampler_plan_insert",
        "INSERT INTO sampling_plans (quarter, region_code, seed, algorithm, n_per_stratum, "
        "stratum_level, weighted, weight_a, weight_b, weight_c, weight_d, exclude_previous, "
        "frame_digest, list_hash, frame_size, strata_count, drawn, inspectors_short, "
        "created_by, request_id) VALUES ($1, $2, $3, $4, $5::int, $6, $7::bool, $8::int, "
        "$9::int, $10::int, $11::int, $12::bool, $13, $14, $15::int, $16::int, $17::int, "
        "$18::int, $19, $20) RETURNING id",
        20, ip);
    if (!res || PQntuples(res) != 1) {
        if (pg_unique_violation(self->pg)) {
            pg_rollback(self->pg);
            rpc_reply_error(rep, LZ__STATUS__CONFLICT, "quarter",
                            "region %s already has a plan for %s", in->region, in->quarter);
        } else {
            sampler_db_failed(self->pg, rep);
        }
        goto done;
    }
    char pid[24];
    snprintf(pid, sizeof pid, "%s", pg_str(res, 0, 0));
    pg_free(&res);
    sampler_phase(ph, "insert plan row", &t0);
    if (s_store_inputs(self->pg, pid, &di, reasons, &r, ph, &t0) != 0) {
        sampler_db_failed(self->pg, rep);
        goto done;
    }
    sampler_phase(ph, "COPY list", &t0);
    const char *pp[] = {pid};
    res = pg_query_prepared(self->pg, "sampler_plan_read",
                            "SELECT " PLAN_COLUMNS " FROM sampling_plans p WHERE p.id = $1::bigint",
                            1, pp);
    if (!res || PQntuples(res) != 1) {
        sampler_db_failed(self->pg, rep);
        goto done;
    }
    Lz__Plan plan = LZ__PLAN__INIT;
    Lz__PlanSettings ps = LZ__PLAN_SETTINGS__INIT;
    s_plan_fill(res, 0, &plan, &ps);
    char object[48];
    snprintf(object, sizeof object, "sampling_plans/%s", pid);
    detail = xasprintf("{\"quarter\":\"%s\",\"region\":\"%s\",\"drawn\":%zu,\"list_hash\":\"%s\"}",
                       in->quarter, in->region, r.npicks, lh);
    if (audit_write(self->pg, c, "sampling.plan_create", object, req->request_id, detail) != 0) {
        sampler_db_failed(self->pg, rep);
        goto done;
    }
    sampler_phase(ph, "read back, audit", &t0);
    rpc_reply_created(rep, &plan.base);
    if (idem_finish(self->pg, METHOD_CREATE, req->request_id, rep) != 0 ||
        pg_commit(self->pg) != 0) {
        sampler_db_failed(self->pg, rep);
        goto done;
    }
    sampler_phase(ph, "request id answer, commit", &t0);
    log_info("plan %s: %s %s, frame %zu in %zu strata, %zu drawn, %zu inspector slots short", pid,
             in->quarter, in->region, di.nframe, r.nstrata, r.npicks, r.short_inspectors);
done:
    free(detail);
    pg_free(&res);
    sample_result_clear(&r);
    free(reasons);
    free(excl);
    free(roster);
    free(frame);
    protobuf_c_message_free_unpacked(&in->base, NULL);
    malloc_trim(0); /* give a big frame's memory back, once (sampler_tune_malloc) */
}

/* ---- reading --------------------------------------------------------------------------------- */

/*
 * Who may see plan row 0 of res: 2 everything (admin, a regulator over its region), 1 an
 * inspector's own items, 0 nobody else (answered 404: the list is hidden).  -1 on failure.
 */
static int s_visibility(pg_t *pg, const Lz__Caller *c, const PGresult *plan)
{
    if (scope_is_admin(c))
        return 2;
    if (scope_is_regulator(c))
        return scope_region_visible(c, pg_str(plan, 0, 2)) ? 2 : 0;
    if (!scope_has_role(c, "inspector") || !c->has_inspector_id || c->inspector_id <= 0)
        return 0;
    char pid[24], iid[24];
    snprintf(pid, sizeof pid, "%" PRId64, pg_int(plan, 0, 0));
    snprintf(iid, sizeof iid, "%" PRId64, c->inspector_id);
    const char *params[] = {pid, iid};
    PGresult *res = pg_query_prepared(pg, "sampler_insp_visible",
                                      "SELECT EXISTS (SELECT 1 FROM sampling_items WHERE plan_id "
                                      "= $1::bigint AND (inspector_1 = $2::bigint OR inspector_2 "
                                      "= $2::bigint))",
                                      2, params);
    if (!res)
        return -1;
    int v = pg_bool(res, 0, 0) ? 1 : 0;
    pg_free(&res);
    return v;
}

/* Load plan id with PLAN_COLUMNS and check the caller may see it.  Returns the result
 * (caller frees) with *vis set, or NULL with rep answered. */
static PGresult *s_plan_for(pg_t *pg, const Lz__Caller *c, int64_t id, int *vis, rpc_reply_t *rep)
{
    if (!c || !c->role || scope_has_role(c, "business") || scope_has_role(c, "cadre")) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "id", "no plan %" PRId64, id);
        return NULL;
    }
    char pid[24];
    snprintf(pid, sizeof pid, "%" PRId64, id);
    const char *pp[] = {pid};
    PGresult *res = pg_query_prepared(
        pg, "sampler_plan_get",
        "SELECT " PLAN_COLUMNS " FROM sampling_plans p WHERE p.id = $1::bigint", 1, pp);
    if (!res) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        return NULL;
    }
    *vis = PQntuples(res) == 1 ? s_visibility(pg, c, res) : 0;
    if (*vis < 0) {
        pg_free(&res);
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        return NULL;
    }
    if (*vis == 0) {
        pg_free(&res);
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "id", "no plan %" PRId64, id);
        return NULL;
    }
    return res;
}

void sampler_get_plan(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    sampler_t *self = ctx;
    Lz__GetPlanRequest *in =
        (Lz__GetPlanRequest *)rpc_unpack(req, &lz__get_plan_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    PGresult *plan = NULL, *items = NULL, *sizes = NULL;
    Lz__PlanStratum *strata = NULL, **stratap = NULL;
    Lz__PlanItem *it = NULL, **itp = NULL;
    Lz__PlanInspector *insp = NULL, **inspp = NULL;
    char lo[13] = "000000000000", hi[13] = "999999999999";
    if (in->region && s_range(in->region, SAMPLE_CODE_LEN, lo, hi) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "region",
                        "region must be a 12-digit region code");
        goto done;
    }
    int vis = 0;
    plan = s_plan_for(self->pg, req->caller, in->id, &vis, rep);
    if (!plan)
        goto done;
    char pid[24], iid[24];
    snprintf(pid, sizeof pid, "%" PRId64, in->id);
    snprintf(iid, sizeof iid, "%" PRId64, vis == 1 ? req->caller->inspector_id : (int64_t)0);
    const char *ip[] = {pid, lo, hi, iid};
    items = pg_query_prepared(
        self->pg, "sampler_plan_items",
        "SELECT si.stratum, si.business_id, si.position, si.inspector_1, i1.name, i1.badge_no, "
        "si.inspector_2, i2.name, i2.badge_no, b.name, b.address, i.outcome "
        "FROM sampling_items si LEFT JOIN businesses b ON b.id = si.business_id "
        "LEFT JOIN inspections i ON i.plan_id = si.plan_id AND i.business_id = si.business_id "
        "LEFT JOIN inspectors i1 ON i1.id = si.inspector_1 "
        "LEFT JOIN inspectors i2 ON i2.id = si.inspector_2 "
        "WHERE si.plan_id = $1::bigint AND si.stratum BETWEEN $2 AND $3 AND ($4::bigint = 0 OR "
        "si.inspector_1 = $4::bigint OR si.inspector_2 = $4::bigint) "
        "ORDER BY si.stratum, si.position LIMIT 20001",
        4, ip);
    const char *sp[] = {pid, lo, hi};
    sizes = items ? pg_query_prepared(self->pg, "sampler_plan_sizes",
                                      "SELECT stratum, cardinality(business_ids) FROM "
                                      "sampling_frame WHERE plan_id = $1::bigint AND stratum "
                                      "BETWEEN $2 AND $3 ORDER BY 1",
                                      3, sp)
                  : NULL;
    if (!items || !sizes) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        goto done;
    }
    int n = PQntuples(items), ns = PQntuples(sizes);
    if (n > PLAN_ITEMS_MAX) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "region",
                        "the plan lists more than %d businesses: ask for part of it with region",
                        PLAN_ITEMS_MAX);
        goto done;
    }
    Lz__Plan out = LZ__PLAN__INIT;
    Lz__PlanSettings ps = LZ__PLAN_SETTINGS__INIT;
    s_plan_fill(plan, 0, &out, &ps);
    strata = xcalloc((size_t)n + 1, sizeof *strata);
    stratap = xcalloc((size_t)n + 1, sizeof *stratap);
    it = xcalloc((size_t)n + 1, sizeof *it);
    itp = xcalloc((size_t)n + 1, sizeof *itp);
    insp = xcalloc(2 * (size_t)n + 1, sizeof *insp);
    inspp = xcalloc(2 * (size_t)n + 1, sizeof *inspp);
    size_t nst = 0, ni = 0;
    int si = 0;
    for (int i = 0; i < n; i++) {
        const char *stratum = pg_str(items, i, 0);
        if (nst == 0 || strcmp(strata[nst - 1].region, stratum) != 0) {
            Lz__PlanStratum *s = &strata[nst];
            lz__plan_stratum__init(s);
            s->region = (char *)stratum;
            s->drawn = &itp[i];
            s->has_size = s->has_inspected = s->has_pending = 1;
            while (si < ns && strcmp(pg_str(sizes, si, 0), stratum) < 0)
                si++;
            if (si < ns && !strcmp(pg_str(sizes, si, 0), stratum))
                s->size = (int32_t)pg_int(sizes, si, 1);
            stratap[nst++] = s;
        }
        Lz__PlanStratum *s = &strata[nst - 1];
        Lz__PlanItem *x = &it[i];
        lz__plan_item__init(x);
        itp[i] = x;
        s->n_drawn++;
        x->has_business_id = x->has_position = 1;
        x->business_id = pg_int(items, i, 1);
        x->position = (int32_t)pg_int(items, i, 2);
        x->business_name = (char *)pg_str(items, i, 9);
        x->address = (char *)pg_str(items, i, 10);
        x->outcome = (char *)pg_str(items, i, 11);
        x->status = x->outcome ? "inspected" : "pending";
        if (x->outcome)
            s->inspected++;
        else
            s->pending++;
        x->inspectors = &inspp[ni];
        for (int k = 0; k < 2; k++) {
            if (PQgetisnull(items, i, 3 + 3 * k))
                continue;
            Lz__PlanInspector *p = &insp[ni];
            lz__plan_inspector__init(p);
            p->has_id = 1;
            p->id = pg_int(items, i, 3 + 3 * k);
            p->name = (char *)pg_str(items, i, 4 + 3 * k);
            p->badge_no = (char *)pg_str(items, i, 5 + 3 * k);
            inspp[ni++] = p;
            x->n_inspectors++;
        }
    }
    out.strata = stratap;
    out.n_strata = nst;
    rpc_reply_ok(rep, &out.base);
done:
    free(inspp);
    free(insp);
    free(itp);
    free(it);
    free(stratap);
    free(strata);
    pg_free(&sizes);
    pg_free(&items);
    pg_free(&plan);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* The next integer of a PostgreSQL array text ("{1,2,3}") at *p, advancing *p; 0 at its end. */
static int64_t s_next_int(const char **p)
{
    const char *s = *p;
    while (*s && (*s < '0' || *s > '9') && *s != '-')
        s++;
    if (!*s) {
        *p = s;
        return 0;
    }
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    *p = end;
    return (int64_t)v;
}

/* ---- verification ---------------------------------------------------------------------------- */

int sampler_plan_verify(pg_t *pg, int64_t plan_id, sampler_verify_t *out)
{
    return sampler_plan_verify_timed(pg, plan_id, out, NULL);
}

int sampler_plan_verify_timed(pg_t *pg, int64_t plan_id, sampler_verify_t *out,
                              sampler_phases_t *ph)
{
    int64_t t0 = sampler_phase_start(ph);
    memset(out, 0, sizeof *out);
    char pid[24];
    snprintf(pid, sizeof pid, "%" PRId64, plan_id);
    const char *pp[] = {pid};
    PGresult *plan = pg_query_prepared(pg, "sampler_verify_plan",
                                       "SELECT seed, quarter, region_code, n_per_stratum, "
                                       "frame_digest, list_hash, algorithm FROM sampling_plans "
                                       "WHERE id = $1::bigint",
                                       1, pp);
    if (!plan)
        return -1;
    if (PQntuples(plan) != 1) {
        pg_free(&plan);
        return 0;
    }
    snprintf(out->algorithm, sizeof out->algorithm, "%s", pg_str(plan, 0, 6));
    s_hex_copy(out->frame_digest, pg_str(plan, 0, 4));
    s_hex_copy(out->stored_hash, pg_str(plan, 0, 5));
    if (strcmp(out->algorithm, SAMPLE_ALGORITHM) != 0) {
        log_error("plan %s was drawn by %s, which this build does not know", pid, out->algorithm);
        pg_free(&plan);
        return -1;
    }
    PGresult *fr = pg_query_prepared(pg, "sampler_verify_frame",
                                     "SELECT stratum, business_ids, weights, "
                                     "cardinality(business_ids) FROM sampling_frame "
                                     "WHERE plan_id = $1::bigint ORDER BY stratum",
                                     1, pp);
    PGresult *ro = fr ? pg_query_prepared(pg, "sampler_verify_roster",
                                          "SELECT district, inspector_id FROM sampling_roster "
                                          "WHERE plan_id = $1::bigint",
                                          1, pp)
                      : NULL;
    PGresult *ex = ro ? pg_query_prepared(pg, "sampler_verify_excl",
                                          "SELECT business_id, inspector_id FROM "
                                          "sampling_exclusions WHERE plan_id = $1::bigint",
                                          1, pp)
                      : NULL;
    PGresult *li = ex ? pg_query_prepared(pg, "sampler_verify_items",
                                          "SELECT stratum, business_id, position, "
                                          "coalesce(inspector_1, 0), coalesce(inspector_2, 0) "
                                          "FROM sampling_items WHERE plan_id = $1::bigint "
                                          "ORDER BY stratum, position",
                                          1, pp)
                      : NULL;
    int rc = -1;
    if (!li)
        goto done;
    sampler_phase(ph, "reload plan, frame, roster, exclusions, list", &t0);
    size_t ns = (size_t)PQntuples(fr), nr = (size_t)PQntuples(ro), ne = (size_t)PQntuples(ex),
           nl = (size_t)PQntuples(li), nf = 0;
    for (size_t i = 0; i < ns; i++)
        nf += (size_t)pg_int(fr, (int)i, 3);
    sample_unit_t *u = xcalloc(nf + 1, sizeof *u);
    size_t k = 0;
    for (size_t i = 0; i < ns; i++) {
        size_t n = (size_t)pg_int(fr, (int)i, 3);
        const char *stratum = pg_str(fr, (int)i, 0);
        const char *ids = pg_str(fr, (int)i, 1), *ws = pg_str(fr, (int)i, 2);
        for (size_t j = 0; j < n && k < nf; j++, k++) {
            sampler_stratum_of(stratum, false, u[k].stratum);
            u[k].business_id = s_next_int(&ids);
            u[k].weight = (uint32_t)s_next_int(&ws);
        }
    }
    sample_frame_sort(u, nf);
    sampler_phase(ph, "frame to units, sort", &t0);
    sample_inspector_t *rs = xcalloc(nr + 1, sizeof *rs);
    for (size_t i = 0; i < nr; i++) {
        snprintf(rs[i].district, sizeof rs[i].district, "%s", pg_str(ro, (int)i, 0));
        rs[i].inspector_id = pg_int(ro, (int)i, 1);
    }
    sample_exclusion_t *es = xcalloc(ne + 1, sizeof *es);
    for (size_t i = 0; i < ne; i++) {
        es[i].business_id = pg_int(ex, (int)i, 0);
        es[i].inspector_id = pg_int(ex, (int)i, 1);
    }
    sample_pick_t *stored = xcalloc(nl + 1, sizeof *stored);
    for (size_t i = 0; i < nl; i++) {
        snprintf(stored[i].stratum, sizeof stored[i].stratum, "%s", pg_str(li, (int)i, 0));
        stored[i].business_id = pg_int(li, (int)i, 1);
        stored[i].position = (int)pg_int(li, (int)i, 2);
        stored[i].inspectors[0] = pg_int(li, (int)i, 3);
        stored[i].inspectors[1] = pg_int(li, (int)i, 4);
    }
    uint8_t h[SAMPLE_HASH_LEN];
    sample_list_hash(stored, nl, h);
    sample_hex(h, out->items_hash);
    out->drawn = (int)nl;
    sample_input_t in = {.seed = pg_str(plan, 0, 0),
                         .quarter = pg_str(plan, 0, 1),
                         .region = pg_str(plan, 0, 2),
                         .n_per_stratum = (int)pg_int(plan, 0, 3),
                         .frame = u,
                         .nframe = nf,
                         .roster = rs,
                         .nroster = nr,
                         .exclusions = es,
                         .nexclusions = ne};
    sampler_phase(ph, "roster, exclusions, stored list hash", &t0);
    sample_result_t r;
    if (sample_draw(&in, &r) == 0) {
        sample_hex(r.list_hash, out->recomputed_hash);
        sample_hex(r.frame_digest, out->recomputed_frame_digest);
        sample_result_clear(&r);
    } else {
        snprintf(out->recomputed_hash, sizeof out->recomputed_hash, "invalid-frame");
    }
    sampler_phase(ph, "re-draw (digest, key, draw, inspectors, hash)", &t0);
    out->match = !strcmp(out->stored_hash, out->recomputed_hash) &&
                 !strcmp(out->stored_hash, out->items_hash) &&
                 !strcmp(out->frame_digest, out->recomputed_frame_digest);
    free(stored);
    free(es);
    free(rs);
    free(u);
    rc = 1;
done:
    pg_free(&li);
    pg_free(&ex);
    pg_free(&ro);
    pg_free(&fr);
    pg_free(&plan);
    return rc;
}

void sampler_verify_plan(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    sampler_t *self = ctx;
    Lz__VerifyPlanRequest *in =
        (Lz__VerifyPlanRequest *)rpc_unpack(req, &lz__verify_plan_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    int vis = 0;
    PGresult *plan = s_plan_for(self->pg, req->caller, in->id, &vis, rep);
    if (plan) {
        pg_free(&plan);
        sampler_verify_t v;
        int rc = sampler_plan_verify(self->pg, in->id, &v);
        if (rc < 0) {
            rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "the plan could not be re-drawn");
        } else if (rc == 0) {
            rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "id", "no plan %" PRId64, in->id);
        } else {
            Lz__VerifyPlanReply out = LZ__VERIFY_PLAN_REPLY__INIT;
            out.has_match = out.has_drawn = 1;
            out.match = v.match;
            out.stored_hash = v.stored_hash;
            out.recomputed_hash = v.recomputed_hash;
            out.items_hash = v.items_hash;
            out.frame_digest = v.frame_digest;
            out.recomputed_frame_digest = v.recomputed_frame_digest;
            out.algorithm = v.algorithm;
            out.drawn = v.drawn;
            rpc_reply_ok(rep, &out.base);
        }
    }
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* ---- listing --------------------------------------------------------------------------------- */

#define PLAN_LIST_DEFAULT 100
#define PLAN_LIST_MAX     1000

void sampler_list_plans(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    sampler_t *self = ctx;
    Lz__ListPlansRequest *in =
        (Lz__ListPlansRequest *)rpc_unpack(req, &lz__list_plans_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    const Lz__Caller *c = req->caller;
    PGresult *res = NULL;
    Lz__Plan *plans = NULL, **pp = NULL;
    Lz__PlanSettings *sets = NULL;
    bool inspector = scope_has_role(c, "inspector") && c->has_inspector_id && c->inspector_id > 0;
    if (!scope_is_admin(c) && !scope_is_regulator(c) && !inspector) {
        /* business and cadre tokens: the gateway already answers 403 */
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL,
                        "plans are listed for regulators and inspectors");
        goto done;
    }
    char lo[13] = "000000000000", hi[13] = "999999999999";
    if (in->region) {
        if (s_range(in->region, SAMPLE_CODE_LEN, lo, hi) != 0) {
            rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "region",
                            "region must be a 12-digit region code");
            goto done;
        }
        if (scope_is_regulator(c) && !scope_region_visible(c, in->region)) {
            rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "region", "no region %s", in->region);
            goto done;
        }
    } else if (scope_is_regulator(c) && s_range(c->region, SAMPLE_CODE_LEN, lo, hi) != 0) {
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL, "the token's region is not valid");
        goto done;
    }
    period_t q;
    if (in->quarter && period_parse_kind(PERIOD_QUARTERLY, in->quarter, &q) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "quarter",
                        "quarter must be a quarter like 2026-Q4");
        goto done;
    }
    int limit = in->has_limit ? in->limit : PLAN_LIST_DEFAULT;
    if (limit < 1 || limit > PLAN_LIST_MAX) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "limit", "limit must be 1 to %d",
                        PLAN_LIST_MAX);
        goto done;
    }
    long long after = 0;
    if (in->cursor) {
        char *end = NULL;
        after = in->cursor[0] == 'p' ? strtoll(in->cursor + 1, &end, 10) : -1;
        if (after < 0 || !end || end == in->cursor + 1 || *end) {
            rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "cursor", "cursor is not valid");
            goto done;
        }
    }
    char at[24], iid[24], lim[16];
    snprintf(at, sizeof at, "%lld", after);
    snprintf(iid, sizeof iid, "%" PRId64, inspector ? c->inspector_id : (int64_t)0);
    snprintf(lim, sizeof lim, "%d", limit + 1);
    const char *params[] = {lo, hi, in->quarter, at, iid, lim};
    res = pg_query_prepared(
        self->pg, "sampler_plan_list",
        "SELECT " PLAN_COLUMNS " FROM sampling_plans p WHERE p.region_code BETWEEN $1 AND $2 "
        "AND ($3::text IS NULL OR p.quarter = $3::text) AND p.id > $4::bigint AND ($5::bigint = "
        "0 OR EXISTS (SELECT 1 FROM sampling_items si WHERE si.plan_id = p.id AND "
        "(si.inspector_1 = $5::bigint OR si.inspector_2 = $5::bigint))) ORDER BY p.id LIMIT "
        "$6::int",
        6, params);
    if (!res) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        goto done;
    }
    int n = PQntuples(res);
    bool more = n > limit;
    if (more)
        n = limit;
    plans = xcalloc((size_t)n + 1, sizeof *plans);
    sets = xcalloc((size_t)n + 1, sizeof *sets);
    pp = xcalloc((size_t)n + 1, sizeof *pp);
    for (int i = 0; i < n; i++) {
        lz__plan__init(&plans[i]);
        lz__plan_settings__init(&sets[i]);
        s_plan_fill(res, i, &plans[i], &sets[i]);
        pp[i] = &plans[i];
    }
    Lz__ListPlansReply out = LZ__LIST_PLANS_REPLY__INIT;
    out.items = pp;
    out.n_items = (size_t)n;
    char next[24];
    if (more && n > 0) {
        snprintf(next, sizeof next, "p%" PRId64, plans[n - 1].id);
        out.next_cursor = next;
    }
    rpc_reply_ok(rep, &out.base);
done:
    free(pp);
    free(sets);
    free(plans);
    pg_free(&res);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}
