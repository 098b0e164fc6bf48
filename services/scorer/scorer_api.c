/*
 * scorer_api.c - score and ranking reads: scorer.business_score,
 * scorer.cadre_score, scorer.rankings, scorer.compute_rankings.
 *
 * Every read checks the caller again (common/scope.h): a business outside
 * the caller's jurisdiction is "not found", never shown.
 */
#include "log.h"
#include "mem.h"
#include "region.h"
#include "scope.h"
#include "scorer.pb-c.h"
#include "scorer_rank.h"
#include "scorer_server.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Parse the quarter (default: the one holding as_of); 0, or -1 with an answer set. */
static int s_quarter(const char *text, int64_t as_of, period_t *q, rpc_reply_t *rep)
{
    if (text && text[0]) {
        if (period_parse_kind(PERIOD_QUARTERLY, text, q) != 0) {
            rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "quarter",
                            "quarter must look like 2026-Q4");
            return -1;
        }
        return 0;
    }
    return period_containing(PERIOD_QUARTERLY, as_of, q);
}

static Lz__ScoreComponent **s_components(const score_result_t *r, Lz__ScoreComponent *store)
{
    Lz__ScoreComponent **ptrs = xcalloc(r->n + 1, sizeof *ptrs);
    for (size_t i = 0; i < r->n; i++) {
        lz__score_component__init(&store[i]);
        store[i].name = (char *)r->comp[i].name;
        store[i].has_value = store[i].has_weight = store[i].has_points = 1;
        store[i].value = r->comp[i].value;
        store[i].weight = r->comp[i].weight;
        store[i].points = r->comp[i].points;
        store[i].detail = (char *)r->comp[i].detail;
        ptrs[i] = &store[i];
    }
    return ptrs;
}

/* Is business_id assigned (now) to the calling cadre?  -1 on a database failure. */
static int s_cadre_has(scorer_t *self, const Lz__Caller *c, int64_t business_id)
{
    if (!c || !c->has_cadre_id)
        return 0;
    char b[24], k[24];
    snprintf(b, sizeof b, "%" PRId64, business_id);
    snprintf(k, sizeof k, "%" PRId64, c->cadre_id);
    const char *params[] = {k, b};
    PGresult *res = pg_query_prepared(self->pg, "scorer_cadre_has",
                                      "SELECT 1 FROM assignments WHERE cadre_id = $1::bigint AND "
                                      "business_id = $2::bigint AND until IS NULL",
                                      2, params);
    if (!res)
        return -1;
    int n = PQntuples(res);
    pg_free(&res);
    return n > 0;
}

void scorer_business_score(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    scorer_t *self = ctx;
    Lz__BusinessScoreRequest *in =
        (Lz__BusinessScoreRequest *)rpc_unpack(req, &lz__business_score_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    int64_t as_of;
    period_t q;
    scorer_bscore_t *b = NULL;
    if (!in->has_id || in->id <= 0) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "id", "a business id is needed");
        goto done;
    }
    if (scorer_as_of(self, in->as_of, &as_of) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "as_of", "as_of must be RFC 3339");
        goto done;
    }
    if (s_quarter(in->quarter, as_of, &q, rep) != 0)
        goto done;
    /* a past quarter is judged at its end */
    if (period_end(&q) < as_of)
        as_of = period_end(&q);
    size_t n = 0;
    b = scorer_business_scores(self->pg, &self->cfg, &q, as_of, &in->id, 1, "", 0, 0, &n);
    if (!b) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        goto done;
    }
    bool visible = n == 1 && scope_business_visible(req->caller, b->id, b->region);
    if (n == 1 && !visible && scope_has_role(req->caller, "cadre")) {
        int has = s_cadre_has(self, req->caller, b->id);
        if (has < 0) {
            rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
            goto done;
        }
        visible = has == 1;
    }
    if (!visible) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "id", "no such business");
        goto done;
    }
    char qtext[PERIOD_TEXT_MAX], at[RFC3339_TEXT_MAX], grade[2] = {b->grade, 0},
                                                       stored[2] = {b->stored_grade, 0};
    period_format(&q, qtext, sizeof qtext);
    rfc3339_format(as_of, at, sizeof at);
    Lz__BusinessScore out = LZ__BUSINESS_SCORE__INIT;
    Lz__ScoreComponent cs[SCORE_COMP_MAX], rs[SCORE_COMP_MAX];
    out.has_business_id = out.has_score = out.has_risk = 1;
    out.has_open_problems = out.has_insured = 1;
    out.business_id = b->id;
    out.quarter = qtext;
    out.score = b->compliance.score;
    out.grade = grade;
    out.risk = b->risk.score;
    out.name = b->name;
    out.region_code = b->region;
    out.as_of = at;
    out.stored_grade = b->stored_grade ? stored : NULL;
    out.open_problems = b->open_problems;
    out.insured = b->insured;
    out.n_components = b->compliance.n;
    out.components = s_components(&b->compliance, cs);
    out.n_risk_components = b->risk.n;
    out.risk_components = s_components(&b->risk, rs);
    rpc_reply_ok(rep, &out.base);
    free(out.components);
    free(out.risk_components);
done:
    free(b);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

void scorer_cadre_score(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    scorer_t *self = ctx;
    Lz__CadreScoreRequest *in =
        (Lz__CadreScoreRequest *)rpc_unpack(req, &lz__cadre_score_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    int64_t as_of;
    period_t q;
    scorer_cscore_t *all = NULL;
    PGresult *res = NULL;
    if (!in->has_id || in->id <= 0) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "id", "a cadre id is needed");
        goto done;
    }
    if (scorer_as_of(self, in->as_of, &as_of) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "as_of", "as_of must be RFC 3339");
        goto done;
    }
    if (s_quarter(in->quarter, as_of, &q, rep) != 0)
        goto done;
    if (period_end(&q) < as_of)
        as_of = period_end(&q);
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, in->id);
    const char *params[] = {id};
    res = pg_query_prepared(self->pg, "scorer_cadre_region",
                            "SELECT region_code FROM cadres WHERE id = $1::bigint", 1, params);
    if (!res) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        goto done;
    }
    const Lz__Caller *c = req->caller;
    bool self_cadre = scope_has_role(c, "cadre") && c->has_cadre_id && c->cadre_id == in->id;
    if (PQntuples(res) != 1 || !(self_cadre || scope_region_visible(c, pg_str(res, 0, 0)))) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "id", "no such cadre");
        goto done;
    }
    /* the cadre's district: it is ranked against the others there */
    char group[13], prefix[13];
    region_level_t l;
    const char *region = pg_str(res, 0, 0);
    if (region_level_of(region, &l) == 0 && l >= REGION_DISTRICT)
        snprintf(group, sizeof group, "%.6s000000", region);
    else
        snprintf(group, sizeof group, "%s", region);
    scorer_region_prefix(group, prefix, sizeof prefix);
    size_t n = 0;
    all = scorer_cadre_scores(self->pg, &self->cfg, &q, as_of, prefix, &n);
    if (!all) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        goto done;
    }
    const scorer_cscore_t *me = NULL;
    for (size_t i = 0; i < n; i++)
        if (all[i].id == in->id)
            me = &all[i];
    if (!me) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "id", "the cadre is not active");
        goto done;
    }
    char qtext[PERIOD_TEXT_MAX];
    period_format(&q, qtext, sizeof qtext);
    Lz__CadreScore out = LZ__CADRE_SCORE__INIT;
    Lz__ScoreComponent cs[SCORE_COMP_MAX];
    out.has_cadre_id = out.has_score = out.has_rank = out.has_ranked = 1;
    out.has_commended = out.has_on_notice = 1;
    out.cadre_id = me->id;
    out.quarter = qtext;
    out.score = me->result.score;
    out.rank = me->standing.rank;
    out.ranked = me->ranked;
    out.district = (char *)me->group;
    out.commended = me->standing.commended;
    out.on_notice = me->standing.on_notice;
    out.name = (char *)me->name;
    out.level = (char *)me->level;
    out.n_components = me->result.n;
    out.components = s_components(&me->result, cs);
    rpc_reply_ok(rep, &out.base);
    free(out.components);
done:
    free(all);
    pg_free(&res);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

int scorer_scope_region(const Lz__Caller *c, const char *given, char *out, size_t len,
                        rpc_reply_t *rep)
{
    if (given && given[0]) {
        if (!region_code_valid(given)) {
            rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "region", "not a region code");
            return -1;
        }
        if (!scope_region_visible(c, given)) {
            rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "region", "no such region");
            return -1;
        }
        snprintf(out, len, "%s", given);
        return 0;
    }
    if (scope_is_regulator(c)) {
        snprintf(out, len, "%s", c->region);
        return 0;
    }
    if (scope_is_admin(c)) {
        snprintf(out, len, "%s", "");
        return 0;
    }
    rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL, "only regulators see this");
    return -1;
}

void scorer_rankings(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    scorer_t *self = ctx;
    Lz__RankingsRequest *in =
        (Lz__RankingsRequest *)rpc_unpack(req, &lz__rankings_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    scorer_rank_row_t *rows = NULL;
    Lz__RankingItem *items = NULL;
    Lz__RankingItem **ptrs = NULL;
    char region[13], prefix[13] = "", period[PERIOD_TEXT_MAX];
    const char *level = in->level && in->level[0] ? in->level : "township";
    if (strcmp(level, "township") != 0 && strcmp(level, "district") != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "level", "level is township or district");
        goto done;
    }
    if (scorer_scope_region(req->caller, in->region, region, sizeof region, rep) != 0)
        goto done;
    if (region[0])
        scorer_region_prefix(region, prefix, sizeof prefix);
    if (in->period && in->period[0]) {
        period_t p;
        if (period_parse(in->period, &p) != 0 ||
            (p.kind != PERIOD_DAILY && p.kind != PERIOD_QUARTERLY)) {
            rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "period",
                            "period is a day (2026-11-29) or a quarter (2026-Q4)");
            goto done;
        }
        snprintf(period, sizeof period, "%s", in->period);
    } else {
        int64_t now;
        period_t d;
        scorer_as_of(self, NULL, &now);
        period_containing(PERIOD_DAILY, now, &d);
        period_format(&d, period, sizeof period);
    }
    size_t n = 0;
    const char *source = "redis";
    rows = scorer_rank_read(self->pg, self->rds, level, period, prefix, &n, &source);
    if (!rows) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        goto done;
    }
    items = xcalloc(n + 1, sizeof *items);
    ptrs = xcalloc(n + 1, sizeof *ptrs);
    for (size_t i = 0; i < n; i++) {
        Lz__RankingItem *it = &items[i];
        lz__ranking_item__init(it);
        it->region = rows[i].region;
        it->name = rows[i].name;
        it->has_rank = it->has_ledger_on_time_rate = it->has_visit_completion = it->has_score = 1;
        it->has_ledgers_owed = it->has_ledgers_on_time = it->has_visits_owed = it->has_visits_done =
            1;
        it->rank = rows[i].rank;
        it->ledger_on_time_rate = rows[i].ledger_rate;
        it->visit_completion = rows[i].visit_rate;
        it->score = rows[i].score;
        it->ledgers_owed = rows[i].ledgers_owed;
        it->ledgers_on_time = rows[i].ledgers_on_time;
        it->visits_owed = rows[i].visits_owed;
        it->visits_done = rows[i].visits_done;
        ptrs[i] = it;
    }
    Lz__Rankings out = LZ__RANKINGS__INIT;
    out.level = (char *)level;
    out.period = period;
    out.n_items = n;
    out.items = ptrs;
    out.source = (char *)source;
    rpc_reply_ok(rep, &out.base);
done:
    free(ptrs);
    free(items);
    free(rows);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

void scorer_compute_rankings(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    scorer_t *self = ctx;
    Lz__ComputeRankingsRequest *in =
        (Lz__ComputeRankingsRequest *)rpc_unpack(req, &lz__compute_rankings_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    int64_t as_of;
    if (!scope_is_admin(req->caller)) {
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL, "admins only");
        goto done;
    }
    if (scorer_as_of(self, in->as_of, &as_of) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "as_of", "as_of must be RFC 3339");
        goto done;
    }
    /* computing takes longer than a request may: the background loop of any
     * scorer worker takes it from the queue within a round */
    period_t d, q;
    char dt[PERIOD_TEXT_MAX], qt[PERIOD_TEXT_MAX], at[24];
    period_containing(PERIOD_DAILY, as_of, &d);
    period_containing(PERIOD_QUARTERLY, as_of, &q);
    period_format(&d, dt, sizeof dt);
    period_format(&q, qt, sizeof qt);
    snprintf(at, sizeof at, "%" PRId64, as_of);
    if (rds_do(self->rds, "RPUSH %s %s", SCORER_RANK_QUEUE, at) != 0) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "redis unavailable");
        goto done;
    }
    Lz__ComputeRankingsReply out = LZ__COMPUTE_RANKINGS_REPLY__INIT;
    out.day = dt;
    out.quarter = qt;
    rpc_reply_ok(rep, &out.base);
done:
    protobuf_c_message_free_unpacked(&in->base, NULL);
}
