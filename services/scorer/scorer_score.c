/*
 * scorer_score.c - scores from PostgreSQL, grades and their history, the
 * full recompute (see scorer_score.h).
 */
#include "scorer_score.h"
#include "log.h"
#include "mem.h"
#include "outbox.h"
#include "region.h"
#include "scorer.pb-c.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int scorer_cfg_probe(pg_t *pg, scorer_cfg_t *cfg)
{
    PGresult *res = pg_query(pg,
                             "SELECT to_regclass('public.warnings') IS NOT NULL, "
                             "to_regclass('public.tasks') IS NOT NULL",
                             0, NULL);
    if (!res)
        return -1;
    cfg->notifier_warnings = pg_bool(res, 0, 0);
    cfg->scheduler_tasks = pg_bool(res, 0, 1);
    pg_free(&res);
    return 0;
}

void scorer_region_prefix(const char *code, char *out, size_t len)
{
    region_level_t l;
    size_t n = region_level_of(code, &l) == 0 ? region_prefix_len(l) : 0;
    snprintf(out, len, "%.*s", (int)n, code ? code : "");
}

static void s_i64(char *buf, size_t len, int64_t v)
{
    snprintf(buf, len, "%" PRId64, v);
}

/* ---- businesses ---------------------------------------------------------------- */

#define S_BSQL_HEAD                                                                                \
    "SELECT b.id, b.name, b.region_code, b.type, b.scale, b.status, b.insured, b.risk_grade, "     \
    "extract(epoch FROM b.created_at)::bigint, extract(epoch FROM b.updated_at)::bigint, "         \
    "coalesce(a.daily_on_time, 0), coalesce(a.daily_late, 0), coalesce(a.weekly_on_time, 0), "     \
    "coalesce(a.weekly_late, 0), coalesce(a.monthly_on_time, 0), coalesce(a.monthly_late, 0), "    \
    "coalesce(a.problems_opened, 0), coalesce(a.problems_fixed, 0), "                              \
    "(SELECT string_agg(extract(epoch FROM (d.day::timestamp AT TIME ZONE "                        \
    "'Asia/Shanghai'))::bigint::text, ',') FROM business_rest_days d WHERE d.business_id = b.id "  \
    "AND d.day >= (to_timestamp($6::bigint) AT TIME ZONE 'Asia/Shanghai')::date "                  \
    "AND d.day < (to_timestamp($7::bigint) AT TIME ZONE 'Asia/Shanghai')::date), "                 \
    "e.ed, e.ew, e.em, "                                                                           \
    "(SELECT count(*) FROM problems p WHERE p.business_id = b.id AND p.fixed_at IS NULL), "        \
    "(SELECT i.outcome FROM score_inspections i WHERE i.business_id = b.id AND i.quarter = $5 "    \
    "ORDER BY i.inspected_at DESC, i.plan_id DESC LIMIT 1), "                                      \
    "(SELECT count(*) FROM score_inspections i WHERE i.business_id = b.id AND i.quarter = $5 "     \
    "AND i.outcome = 'fail'), "
#define S_BSQL_WARN(table)                                                                         \
    "(SELECT count(*) FROM " table " w WHERE w.business_id = b.id AND w.answered_at IS NULL "      \
    "AND w.rectify_by < to_timestamp($8::bigint) AND w.issued_at >= to_timestamp($6::bigint) "     \
    "AND w.issued_at < to_timestamp($7::bigint)), "
#define S_BSQL_TAIL                                                                                \
    "g.grade FROM businesses b "                                                                   \
    "LEFT JOIN score_business_q a ON a.business_id = b.id AND a.quarter = $5 "                     \
    "LEFT JOIN score_grades g ON g.business_id = b.id "                                            \
    "LEFT JOIN LATERAL (SELECT "                                                                   \
    "count(*) FILTER (WHERE r.kind = 'daily' AND r.period_start >= to_timestamp($9::bigint)) ed, " \
    "count(*) FILTER (WHERE r.kind = 'weekly' AND r.period_start >= to_timestamp($10::bigint)) "   \
    "ew, "                                                                                         \
    "count(*) FILTER (WHERE r.kind = 'monthly' AND r.period_start >= to_timestamp($11::bigint)) "  \
    "em FROM records r WHERE r.business_id = b.id AND r.period_start >= "                          \
    "to_timestamp(least($9::bigint, $10::bigint, $11::bigint)) "                                   \
    "AND r.period_start < to_timestamp($7::bigint)) e ON true "                                    \
    "WHERE ($1::bigint[] IS NULL OR b.id = ANY($1::bigint[])) AND ($1::bigint[] IS NOT NULL OR "   \
    "(b.region_code LIKE $2 || '%' AND b.id > $3::bigint)) ORDER BY b.id LIMIT $4::int"

static const char S_BSQL_NOTIFIER[] = S_BSQL_HEAD S_BSQL_WARN("warnings") S_BSQL_TAIL;
static const char S_BSQL_OWN[] = S_BSQL_HEAD S_BSQL_WARN("score_warnings") S_BSQL_TAIL;

static size_t s_parse_rest(const char *s, int64_t *out, size_t max)
{
    size_t n = 0;
    while (s && *s && n < max) {
        char *end;
        out[n++] = strtoll(s, &end, 10);
        s = *end == ',' ? end + 1 : NULL;
    }
    return n;
}

static void s_compute_business(const scorer_cfg_t *cfg, const period_t *q, int64_t as_of,
                               const PGresult *res, int r, scorer_bscore_t *b)
{
    memset(b, 0, sizeof *b);
    b->id = pg_int(res, r, 0);
    snprintf(b->name, sizeof b->name, "%s", pg_str(res, r, 1));
    snprintf(b->region, sizeof b->region, "%s", pg_str(res, r, 2));
    snprintf(b->type, sizeof b->type, "%s", pg_str(res, r, 3));
    snprintf(b->scale, sizeof b->scale, "%s", pg_str(res, r, 4));
    snprintf(b->status, sizeof b->status, "%s", pg_str(res, r, 5));
    b->insured = pg_bool(res, r, 6);
    b->registry_grade = pg_str(res, r, 7)[0];
    int64_t created = pg_int(res, r, 8), updated = pg_int(res, r, 9);
    int64_t horizon = as_of;
    if (strcmp(b->status, "active") != 0 && updated < horizon)
        horizon = updated;
    int64_t rest[128];
    size_t nrest = s_parse_rest(pg_str(res, r, 18), rest, 128);
    static const period_kind_t kinds[3] = {PERIOD_DAILY, PERIOD_WEEKLY, PERIOD_MONTHLY};
    for (int k = 0; k < 3; k++) {
        score_ledger_t *l = &b->in.ledger[k];
        l->on_time = (int)pg_int(res, r, 10 + 2 * k);
        l->late = (int)pg_int(res, r, 11 + 2 * k);
        l->owed = score_owed(kinds[k], q, created, horizon, cfg->grace_s, rest, nrest) +
                  (int)pg_int(res, r, 19 + k);
    }
    b->in.problems_opened = (int)pg_int(res, r, 16);
    b->in.problems_fixed = (int)pg_int(res, r, 17);
    b->open_problems = (int)pg_int(res, r, 22);
    score_insp_t insp = SCORE_INSP_NONE;
    if (pg_str(res, r, 23))
        score_insp_parse(pg_str(res, r, 23), &insp);
    b->in.inspection = insp;
    b->failed_inspection = pg_int(res, r, 24) > 0;
    b->in.warnings_unanswered = (int)pg_int(res, r, 25);
    b->stored_grade = pg_str(res, r, 26) ? pg_str(res, r, 26)[0] : '\0';
    score_business(&b->in, &cfg->s, &b->compliance);
    score_risk(score_type_index(b->type), score_scale_index(b->scale), b->compliance.score,
               b->in.inspection, &cfg->s, &b->risk, &b->grade);
}

scorer_bscore_t *scorer_business_scores(pg_t *pg, const scorer_cfg_t *cfg, const period_t *q,
                                        int64_t as_of, const int64_t *ids, size_t nids,
                                        const char *region, int64_t after, int limit, size_t *n)
{
    *n = 0;
    char *idarr = NULL;
    if (ids) {
        size_t cap = nids * 21 + 3, off = 0;
        idarr = xmalloc(cap);
        idarr[off++] = '{';
        for (size_t i = 0; i < nids; i++)
            off += (size_t)snprintf(idarr + off, cap - off, "%s%" PRId64, i ? "," : "", ids[i]);
        snprintf(idarr + off, cap - off, "}");
        limit = (int)nids + 1;
    }
    char qtext[PERIOD_TEXT_MAX], qs[24], qe[24], asof[24], nd[3][24], aft[24], lim[16];
    period_format(q, qtext, sizeof qtext);
    s_i64(qs, sizeof qs, period_start(q));
    s_i64(qe, sizeof qe, period_end(q));
    s_i64(asof, sizeof asof, as_of);
    static const period_kind_t kinds[3] = {PERIOD_DAILY, PERIOD_WEEKLY, PERIOD_MONTHLY};
    for (int k = 0; k < 3; k++)
        s_i64(nd[k], sizeof nd[k], score_not_due_from(kinds[k], q, as_of, cfg->grace_s));
    s_i64(aft, sizeof aft, after);
    snprintf(lim, sizeof lim, "%d", limit);
    const char *params[] = {
        idarr, region ? region : "", aft, lim, qtext, qs, qe, asof, nd[0], nd[1], nd[2]};
    PGresult *res = cfg->notifier_warnings
                        ? pg_query_prepared(pg, "scorer_bscores_n", S_BSQL_NOTIFIER, 11, params)
                        : pg_query_prepared(pg, "scorer_bscores_o", S_BSQL_OWN, 11, params);
    free(idarr);
    if (!res)
        return NULL;
    int rows = PQntuples(res);
    scorer_bscore_t *out = xcalloc((size_t)rows + 1, sizeof *out);
    for (int r = 0; r < rows; r++)
        s_compute_business(cfg, q, as_of, res, r, &out[r]);
    pg_free(&res);
    *n = (size_t)rows;
    return out;
}

/* ---- cadres ------------------------------------------------------------------------- */

#define S_CSQL_HEAD                                                                                \
    "SELECT c.id, c.name, c.level, c.region_code, coalesce(q.visits, 0), "                         \
    "coalesce(q.findings, 0), coalesce(q.findings_fixed, 0), coalesce(s.owed, 0), "                \
    "coalesce(s.done, 0), coalesce(i.pass, 0), coalesce(i.remarks, 0), coalesce(i.fail, 0), "
#define S_CSQL_TASKS                                                                               \
    "(SELECT count(*) FROM tasks t WHERE t.cadre_id = c.id AND t.opened_at >= "                    \
    "to_timestamp($3::bigint) AND t.opened_at < to_timestamp($4::bigint)) "
#define S_CSQL_TAIL                                                                                \
    "FROM cadres c LEFT JOIN score_cadre_q q ON q.cadre_id = c.id AND q.quarter = $2 "             \
    "LEFT JOIN LATERAL (SELECT count(*) * $5::int AS owed, "                                       \
    "sum(least(coalesce(p.visits, 0), $5::int)) AS done FROM (SELECT DISTINCT a.business_id "      \
    "FROM assignments a JOIN businesses b ON b.id = a.business_id WHERE a.cadre_id = c.id "        \
    "AND a.since < to_timestamp($4::bigint) AND (a.until IS NULL OR a.until > "                    \
    "to_timestamp($3::bigint)) AND b.status = 'active') ab LEFT JOIN score_visit_pairs p ON "      \
    "p.cadre_id = c.id AND p.business_id = ab.business_id AND p.quarter = $2) s ON true "          \
    "LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE i.outcome = 'pass') pass, "                  \
    "count(*) FILTER (WHERE i.outcome = 'pass_with_remarks') remarks, "                            \
    "count(*) FILTER (WHERE i.outcome = 'fail') fail FROM score_inspections i "                    \
    "WHERE i.quarter = $2 AND i.business_id IN (SELECT a.business_id FROM assignments a "          \
    "WHERE a.cadre_id = c.id AND a.since < to_timestamp($4::bigint) AND (a.until IS NULL OR "      \
    "a.until > to_timestamp($3::bigint)))) i ON true "                                             \
    "WHERE c.region_code LIKE $1 || '%' AND c.status = 'active' ORDER BY c.id"

static const char S_CSQL_T[] = S_CSQL_HEAD S_CSQL_TASKS S_CSQL_TAIL;
static const char S_CSQL_0[] = S_CSQL_HEAD "0 " S_CSQL_TAIL;

static int s_by_group(const void *a, const void *b)
{
    const scorer_cscore_t *x = a, *y = b;
    int c = strcmp(x->group, y->group);
    return c ? c : (x->id < y->id ? -1 : x->id > y->id);
}

scorer_cscore_t *scorer_cadre_scores(pg_t *pg, const scorer_cfg_t *cfg, const period_t *q,
                                     int64_t as_of, const char *region, size_t *n)
{
    (void)as_of;
    *n = 0;
    char qtext[PERIOD_TEXT_MAX], qs[24], qe[24], per[16];
    period_format(q, qtext, sizeof qtext);
    s_i64(qs, sizeof qs, period_start(q));
    s_i64(qe, sizeof qe, period_end(q));
    snprintf(per, sizeof per, "%d", cfg->visits_per_quarter);
    const char *params[] = {region ? region : "", qtext, qs, qe, per};
    PGresult *res = cfg->scheduler_tasks
                        ? pg_query_prepared(pg, "scorer_cscores_t", S_CSQL_T, 5, params)
                        : pg_query_prepared(pg, "scorer_cscores_0", S_CSQL_0, 5, params);
    if (!res)
        return NULL;
    int rows = PQntuples(res);
    scorer_cscore_t *out = xcalloc((size_t)rows + 1, sizeof *out);
    for (int r = 0; r < rows; r++) {
        scorer_cscore_t *c = &out[r];
        c->id = pg_int(res, r, 0);
        snprintf(c->name, sizeof c->name, "%s", pg_str(res, r, 1));
        snprintf(c->level, sizeof c->level, "%s", pg_str(res, r, 2));
        snprintf(c->region, sizeof c->region, "%s", pg_str(res, r, 3));
        region_level_t l;
        if (region_level_of(c->region, &l) == 0 && l >= REGION_DISTRICT)
            snprintf(c->group, sizeof c->group, "%.6s000000", c->region);
        else
            snprintf(c->group, sizeof c->group, "%s", c->region);
        c->in.visits = (int)pg_int(res, r, 4);
        c->in.findings = (int)pg_int(res, r, 5);
        c->in.findings_fixed = (int)pg_int(res, r, 6);
        c->in.visits_owed = (int)pg_int(res, r, 7);
        c->in.visits_done = (int)pg_int(res, r, 8);
        c->in.insp_pass = (int)pg_int(res, r, 9);
        c->in.insp_remarks = (int)pg_int(res, r, 10);
        c->in.insp_fail = (int)pg_int(res, r, 11);
        c->in.overdue_tasks = (int)pg_int(res, r, 12);
        score_cadre(&c->in, &cfg->s, &c->result);
    }
    pg_free(&res);
    qsort(out, (size_t)rows, sizeof *out, s_by_group);
    double *sc = xcalloc((size_t)rows + 1, sizeof *sc);
    score_standing_t *st = xcalloc((size_t)rows + 1, sizeof *st);
    for (size_t i = 0; i < (size_t)rows;) {
        size_t j = i;
        while (j < (size_t)rows && !strcmp(out[j].group, out[i].group))
            j++;
        for (size_t k = i; k < j; k++)
            sc[k - i] = out[k].result.score;
        score_standings(sc, j - i, &cfg->s, st);
        for (size_t k = i; k < j; k++) {
            out[k].standing = st[k - i];
            out[k].ranked = (int)(j - i);
        }
        i = j;
    }
    free(sc);
    free(st);
    *n = (size_t)rows;
    return out;
}

/* ---- grades -------------------------------------------------------------------------- */

static json_t *s_components_json(const score_result_t *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->n; i++)
        json_array_append_new(a,
                              json_pack("{s:s,s:f,s:f,s:f,s:s}", "name", r->comp[i].name, "value",
                                        r->comp[i].value, "weight", r->comp[i].weight, "points",
                                        r->comp[i].points, "detail", r->comp[i].detail));
    return a;
}

/* Store one grade change: history row and outbox event; 0 or -1. */
static int s_grade_changed(pg_t *pg, const scorer_bscore_t *b, char old, const char *quarter,
                           int64_t as_of)
{
    json_t *why = json_pack("{s:o,s:o}", "risk", s_components_json(&b->risk), "compliance",
                            s_components_json(&b->compliance));
    char *reasons = json_dumps(why, JSON_COMPACT);
    json_decref(why);
    char id[24], risk[24], comp[24], at[24], oldg[2] = {old, 0}, newg[2] = {b->grade, 0};
    s_i64(id, sizeof id, b->id);
    snprintf(risk, sizeof risk, "%.2f", b->risk.score);
    snprintf(comp, sizeof comp, "%.2f", b->compliance.score);
    s_i64(at, sizeof at, as_of);
    const char *params[] = {id,   b->region, quarter, old ? oldg : NULL, newg, risk,
                            comp, reasons,   at};
    int rc = pg_exec(pg,
                     "INSERT INTO score_grade_history (business_id, region_code, quarter, "
                     "old_grade, new_grade, risk, compliance, reasons, changed_at) VALUES "
                     "($1::bigint, $2, $3, $4, $5, $6::numeric, $7::numeric, $8::jsonb, "
                     "to_timestamp($9::bigint))",
                     9, params);
    if (rc == 0) {
        Lz__GradeChanged ev = LZ__GRADE_CHANGED__INIT;
        ev.has_business_id = ev.has_risk = ev.has_compliance = ev.has_changed_at = 1;
        ev.business_id = b->id;
        ev.region_code = (char *)b->region;
        ev.quarter = (char *)quarter;
        ev.old_grade = old ? oldg : NULL;
        ev.new_grade = newg;
        ev.risk = b->risk.score;
        ev.compliance = b->compliance.score;
        ev.reasons = reasons;
        ev.changed_at = as_of;
        size_t len = lz__grade_changed__get_packed_size(&ev);
        uint8_t *buf = xmalloc(len + 1);
        lz__grade_changed__pack(&ev, buf);
        rc = outbox_write(pg, "score.grade_changed", id, buf, len);
        free(buf);
    }
    free(reasons);
    return rc;
}

int scorer_regrade(pg_t *pg, const scorer_cfg_t *cfg, int64_t as_of, int limit)
{
    period_t q;
    if (period_containing(PERIOD_QUARTERLY, as_of, &q) != 0)
        return -1;
    char qtext[PERIOD_TEXT_MAX], lim[16], at[24];
    period_format(&q, qtext, sizeof qtext);
    snprintf(lim, sizeof lim, "%d", limit);
    s_i64(at, sizeof at, as_of);
    if (pg_begin(pg) != 0)
        return -1;
    const char *p1[] = {lim};
    PGresult *res = pg_query_prepared(
        pg, "scorer_take_dirty",
        "WITH d AS (SELECT business_id FROM score_dirty ORDER BY daily, business_id "
        "LIMIT $1::int "
        "FOR UPDATE SKIP LOCKED) DELETE FROM score_dirty s USING d WHERE s.business_id = "
        "d.business_id RETURNING s.business_id",
        1, p1);
    if (!res)
        goto fail;
    size_t nids = (size_t)PQntuples(res);
    int64_t *ids = xcalloc(nids + 1, sizeof *ids);
    for (size_t i = 0; i < nids; i++)
        ids[i] = pg_int(res, (int)i, 0);
    pg_free(&res);
    if (nids == 0) {
        free(ids);
        return pg_commit(pg) == 0 ? 0 : -1;
    }
    size_t n = 0;
    scorer_bscore_t *b = scorer_business_scores(pg, cfg, &q, as_of, ids, nids, "", 0, 0, &n);
    free(ids);
    if (!b)
        goto fail;
    /* the grades, all at once; then the changes one by one (they are few) */
    size_t cap = n * 64 + 16;
    char *gi = xmalloc(cap), *gg = xmalloc(cap), *gr = xmalloc(cap), *gc = xmalloc(cap);
    size_t oi = 0, og = 0, orr = 0, oc = 0, ng = 0;
    gi[oi++] = gg[og++] = gr[orr++] = gc[oc++] = '{';
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        int owed = b[i].in.ledger[0].owed + b[i].in.ledger[1].owed + b[i].in.ledger[2].owed;
        if (owed == 0 && b[i].in.inspection == SCORE_INSP_NONE)
            continue; /* nothing to judge yet: the last grade stands */
        char old = b[i].stored_grade ? b[i].stored_grade : b[i].registry_grade;
        if (b[i].grade != old)
            rc = s_grade_changed(pg, &b[i], old, qtext, as_of);
        const char *sep = ng++ ? "," : "";
        oi += (size_t)snprintf(gi + oi, cap - oi, "%s%" PRId64, sep, b[i].id);
        og += (size_t)snprintf(gg + og, cap - og, "%s%c", sep, b[i].grade);
        orr += (size_t)snprintf(gr + orr, cap - orr, "%s%.2f", sep, b[i].risk.score);
        oc += (size_t)snprintf(gc + oc, cap - oc, "%s%.2f", sep, b[i].compliance.score);
    }
    snprintf(gi + oi, cap - oi, "}");
    snprintf(gg + og, cap - og, "}");
    snprintf(gr + orr, cap - orr, "}");
    snprintf(gc + oc, cap - oc, "}");
    if (rc == 0 && ng > 0) {
        const char *params[] = {gi, gg, gr, gc, qtext, at};
        rc = pg_exec(pg,
                     "INSERT INTO score_grades AS s (business_id, grade, risk, compliance, "
                     "quarter, changed_at) SELECT i, g, r, c, $5, to_timestamp($6::bigint) FROM "
                     "unnest($1::bigint[], $2::text[], $3::numeric[], $4::numeric[]) AS "
                     "t(i, g, r, c) ON CONFLICT (business_id) DO UPDATE SET grade = "
                     "EXCLUDED.grade, risk = EXCLUDED.risk, compliance = EXCLUDED.compliance, "
                     "quarter = EXCLUDED.quarter, changed_at = CASE WHEN s.grade <> "
                     "EXCLUDED.grade THEN EXCLUDED.changed_at ELSE s.changed_at END",
                     6, params);
    }
    free(gi);
    free(gg);
    free(gr);
    free(gc);
    free(b);
    if (rc != 0 || pg_commit(pg) != 0)
        goto fail;
    return (int)nids;
fail:
    pg_rollback(pg);
    return -1;
}

int scorer_mark_all_dirty(pg_t *pg)
{
    PGresult *res = pg_query(pg,
                             "INSERT INTO score_dirty (business_id, daily) SELECT id, true "
                             "FROM businesses WHERE status = 'active' ON CONFLICT DO NOTHING",
                             0, NULL);
    if (!res)
        return -1;
    int n = (int)strtol(PQcmdTuples(res), NULL, 10);
    pg_free(&res);
    return n;
}

/* ---- the full recompute ------------------------------------------------------------------- */

static const char S_RC_BUSINESS[] =
    "CREATE TEMP TABLE scorer_rc_b ON COMMIT DROP AS SELECT business_id, "
    "sum(dot)::int dot, sum(dl)::int dl, sum(wot)::int wot, sum(wl)::int wl, sum(mot)::int mot, "
    "sum(ml)::int ml, sum(po)::int po, sum(pf)::int pf FROM ("
    "SELECT business_id, "
    "count(*) FILTER (WHERE kind = 'daily' AND status = 'on_time') dot, "
    "count(*) FILTER (WHERE kind = 'daily' AND status = 'late') dl, "
    "count(*) FILTER (WHERE kind = 'weekly' AND status = 'on_time') wot, "
    "count(*) FILTER (WHERE kind = 'weekly' AND status = 'late') wl, "
    "count(*) FILTER (WHERE kind = 'monthly' AND status = 'on_time') mot, "
    "count(*) FILTER (WHERE kind = 'monthly' AND status = 'late') ml, 0::bigint po, 0::bigint pf "
    "FROM records WHERE period_start >= to_timestamp($1::bigint) AND period_start < "
    "to_timestamp($2::bigint) AND region_code LIKE $3 || '%' GROUP BY business_id "
    "UNION ALL SELECT business_id, 0, 0, 0, 0, 0, 0, count(*), count(fixed_at) FROM problems "
    "WHERE opened_at >= to_timestamp($1::bigint) AND opened_at < to_timestamp($2::bigint) "
    "AND region_code LIKE $3 || '%' AND (fixed_at IS NULL OR fixed_at <> opened_at) "
    "GROUP BY business_id) u GROUP BY business_id";

static const char S_RC_CADRE[] =
    "CREATE TEMP TABLE scorer_rc_c ON COMMIT DROP AS SELECT cadre_id, sum(v)::int visits, "
    "sum(f)::int findings, sum(x)::int fixed FROM ("
    "SELECT v.cadre_id, count(*) v, 0::bigint f, 0::bigint x FROM visits v "
    "WHERE v.visited_at >= to_timestamp($1::bigint) AND v.visited_at < to_timestamp($2::bigint) "
    "AND v.cadre_id IN (SELECT id FROM cadres WHERE region_code LIKE $3 || '%') GROUP BY 1 "
    "UNION ALL SELECT v.cadre_id, 0, count(*), count(p.fixed_at) FROM problems p JOIN visits v "
    "ON v.id = p.source_id WHERE p.source = 'visit' AND v.visited_at >= to_timestamp($1::bigint) "
    "AND v.visited_at < to_timestamp($2::bigint) AND v.cadre_id IN (SELECT id FROM cadres WHERE "
    "region_code LIKE $3 || '%') GROUP BY 1) u GROUP BY cadre_id";

static const char S_RC_PAIRS[] =
    "CREATE TEMP TABLE scorer_rc_p ON COMMIT DROP AS SELECT cadre_id, business_id, "
    "count(*)::int visits FROM visits WHERE visited_at >= to_timestamp($1::bigint) AND "
    "visited_at < to_timestamp($2::bigint) AND cadre_id IN (SELECT id FROM cadres WHERE "
    "region_code LIKE $3 || '%') GROUP BY 1, 2";

static const char S_DIFF_BUSINESS[] =
    "SELECT 'business ' || coalesce(rc.business_id, run.business_id) || ': recomputed ' || "
    "concat_ws('/', rc.dot, rc.dl, rc.wot, rc.wl, rc.mot, rc.ml, rc.po, rc.pf) || ' running ' || "
    "concat_ws('/', run.daily_on_time, run.daily_late, run.weekly_on_time, run.weekly_late, "
    "run.monthly_on_time, run.monthly_late, run.problems_opened, run.problems_fixed) "
    "FROM scorer_rc_b rc FULL JOIN (SELECT * FROM score_business_q WHERE quarter = $1 AND "
    "region_code LIKE $2 || '%') run ON run.business_id = rc.business_id "
    "WHERE (coalesce(rc.dot, 0), coalesce(rc.dl, 0), coalesce(rc.wot, 0), coalesce(rc.wl, 0), "
    "coalesce(rc.mot, 0), coalesce(rc.ml, 0), coalesce(rc.po, 0), coalesce(rc.pf, 0)) IS DISTINCT "
    "FROM (coalesce(run.daily_on_time, 0), coalesce(run.daily_late, 0), "
    "coalesce(run.weekly_on_time, 0), coalesce(run.weekly_late, 0), "
    "coalesce(run.monthly_on_time, 0), coalesce(run.monthly_late, 0), "
    "coalesce(run.problems_opened, 0), coalesce(run.problems_fixed, 0))";

static const char S_DIFF_CADRE[] =
    "SELECT 'cadre ' || coalesce(rc.cadre_id, run.cadre_id) || ': recomputed ' || "
    "concat_ws('/', rc.visits, rc.findings, rc.fixed) || ' running ' || "
    "concat_ws('/', run.visits, run.findings, run.findings_fixed) "
    "FROM scorer_rc_c rc FULL JOIN (SELECT * FROM score_cadre_q WHERE quarter = $1 AND cadre_id "
    "IN (SELECT id FROM cadres WHERE region_code LIKE $2 || '%')) run ON run.cadre_id = "
    "rc.cadre_id WHERE (coalesce(rc.visits, 0), coalesce(rc.findings, 0), coalesce(rc.fixed, 0)) "
    "IS DISTINCT FROM (coalesce(run.visits, 0), coalesce(run.findings, 0), "
    "coalesce(run.findings_fixed, 0))";

static const char S_DIFF_PAIRS[] =
    "SELECT 'visits of cadre ' || coalesce(rc.cadre_id, run.cadre_id) || ' to business ' || "
    "coalesce(rc.business_id, run.business_id) || ': recomputed ' || coalesce(rc.visits, 0) || "
    "' running ' || coalesce(run.visits, 0) FROM scorer_rc_p rc FULL JOIN (SELECT * FROM "
    "score_visit_pairs WHERE quarter = $1 AND cadre_id IN (SELECT id FROM cadres WHERE "
    "region_code LIKE $2 || '%')) run ON run.cadre_id = rc.cadre_id AND run.business_id = "
    "rc.business_id WHERE coalesce(rc.visits, 0) <> coalesce(run.visits, 0)";

static const char *const S_FIX[] = {
    "DELETE FROM score_business_q WHERE quarter = $1 AND region_code LIKE $2 || '%'",
    "INSERT INTO score_business_q (business_id, quarter, region_code, daily_on_time, daily_late, "
    "weekly_on_time, weekly_late, monthly_on_time, monthly_late, problems_opened, "
    "problems_fixed) SELECT rc.business_id, $1, b.region_code, dot, dl, wot, wl, mot, ml, po, pf "
    "FROM scorer_rc_b rc JOIN businesses b ON b.id = rc.business_id WHERE $2 = $2",
    "DELETE FROM score_cadre_q WHERE quarter = $1 AND cadre_id IN (SELECT id FROM cadres WHERE "
    "region_code LIKE $2 || '%')",
    "INSERT INTO score_cadre_q (cadre_id, quarter, visits, findings, findings_fixed) SELECT "
    "cadre_id, $1, visits, findings, fixed FROM scorer_rc_c WHERE $2 = $2",
    "DELETE FROM score_visit_pairs WHERE quarter = $1 AND cadre_id IN (SELECT id FROM cadres "
    "WHERE region_code LIKE $2 || '%')",
    "INSERT INTO score_visit_pairs (cadre_id, business_id, quarter, visits) SELECT cadre_id, "
    "business_id, $1, visits FROM scorer_rc_p WHERE $2 = $2",
};

int scorer_recompute(pg_t *pg, const char *quarter, const char *region, bool fix, char *report,
                     size_t reportlen)
{
    period_t q;
    if (report && reportlen)
        report[0] = '\0';
    if (period_parse_kind(PERIOD_QUARTERLY, quarter, &q) != 0) {
        log_error("not a quarter: %s", quarter);
        return -1;
    }
    char qs[24], qe[24];
    s_i64(qs, sizeof qs, period_start(&q));
    s_i64(qe, sizeof qe, period_end(&q));
    const char *rp[] = {qs, qe, region ? region : ""};
    const char *dp[] = {quarter, region ? region : ""};
    if (pg_begin(pg) != 0)
        return -1;
    /* one consistent view of the records and of the running rows */
    if (pg_exec(pg, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", 0, NULL) != 0 ||
        pg_exec(pg, S_RC_BUSINESS, 3, rp) != 0 || pg_exec(pg, S_RC_CADRE, 3, rp) != 0 ||
        pg_exec(pg, S_RC_PAIRS, 3, rp) != 0)
        goto fail;
    int diffs = 0;
    size_t off = 0;
    const char *const diff_sql[] = {S_DIFF_BUSINESS, S_DIFF_CADRE, S_DIFF_PAIRS};
    for (size_t k = 0; k < 3; k++) {
        PGresult *res = pg_query(pg, diff_sql[k], 2, dp);
        if (!res)
            goto fail;
        for (int r = 0; r < PQntuples(res); r++, diffs++)
            if (report && diffs < 10 && off < reportlen)
                off += (size_t)snprintf(report + off, reportlen - off, "%s\n", pg_str(res, r, 0));
        pg_free(&res);
    }
    if (fix)
        for (size_t k = 0; k < sizeof S_FIX / sizeof S_FIX[0]; k++)
            if (pg_exec(pg, S_FIX[k], 2, dp) != 0)
                goto fail;
    if (pg_commit(pg) != 0)
        goto fail;
    return diffs;
fail:
    pg_rollback(pg);
    return -1;
}
