/*
 * sampler_brief.c - what an inspection checks, read from the database: the business's
 * ledger record over the plan's quarter (records, rest days, status), its problems, its
 * cadres' visits against the owed frequency (sampler_check.c does the counting), and the
 * inspection checklist of its type.  The brief (GET .../plans/{plan_id}/businesses/
 * {business_id}/brief) shows it to the plan's regulators and the business's assigned
 * inspectors before the visit; business and cadre tokens get 404 like for the plan.
 */
#include "sampler_brief.h"
#include "clock.h"
#include "log.h"
#include "mem.h"
#include "scope.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BRIEF_PROBLEMS_MAX 100

static const char *const s_levels[4] = {"city", "county", "township", "village"};

/* ---- record check ---------------------------------------------------------------------------- */

static void s_build_msg(record_check_t *rc)
{
    Lz__RecordCheck *m = &rc->msg;
    lz__record_check__init(m);
    m->quarter = rc->quarter;
    m->from = rc->from;
    m->as_of = rc->as_of;
    m->status = rc->status;
    for (int k = 0; k < 3; k++) {
        Lz__LedgerTally *t = &rc->lt[k];
        const ledger_tally_t *x = &rc->ledgers[k];
        lz__ledger_tally__init(t);
        t->kind = (char *)check_kind_name(k);
        t->has_owed = t->has_submitted = t->has_on_time = t->has_late = 1;
        t->has_missing = t->has_extra = 1;
        t->owed = x->owed;
        t->submitted = x->submitted;
        t->on_time = x->on_time;
        t->late = x->late;
        t->missing = x->missing;
        t->extra = x->extra;
        for (size_t i = 0; i < x->nmissing_list; i++)
            rc->missp[k][i] = (char *)x->missing_list[i];
        t->missing_periods = rc->missp[k];
        t->n_missing_periods = x->nmissing_list;
        rc->ltp[k] = t;
    }
    m->ledgers = rc->ltp;
    m->n_ledgers = 3;
    m->has_problems_open = m->has_problems_overdue = 1;
    m->has_problems_opened_in_quarter = m->has_problems_fixed_in_quarter = 1;
    m->problems_open = rc->problems_open;
    m->problems_overdue = rc->problems_overdue;
    m->problems_opened_in_quarter = rc->opened_in_q;
    m->problems_fixed_in_quarter = rc->fixed_in_q;
    rc->vt = xcalloc(rc->nvisits + 1, sizeof *rc->vt);
    rc->vtp = xcalloc(rc->nvisits + 1, sizeof *rc->vtp);
    for (size_t i = 0; i < rc->nvisits; i++) {
        const brief_visit_t *v = &rc->visits[i];
        Lz__VisitTally *t = &rc->vt[i];
        lz__visit_tally__init(t);
        t->has_cadre_id = t->has_owed = t->has_met = t->has_visits = 1;
        t->has_current_visits = t->has_current = 1;
        t->cadre_id = v->cadre_id;
        t->cadre_name = (char *)v->name;
        t->level = (char *)v->level;
        t->frequency = (char *)visit_freq_name(v->freq);
        t->owed = v->t.owed;
        t->met = v->t.met;
        t->visits = v->t.visits;
        t->current_period = v->t.current_period[0] ? (char *)v->t.current_period : NULL;
        t->current_visits = v->t.current_visits;
        t->current = v->current;
        rc->vtp[i] = t;
    }
    m->visits = rc->vtp;
    m->n_visits = rc->nvisits;
    m->has_visits_owed = m->has_visits_met = m->has_rest_days = 1;
    m->visits_owed = rc->visits_owed;
    m->visits_met = rc->visits_met;
    m->rest_days = rc->rest_days;
}

int sampler_record_check_load(pg_t *pg, const sampler_t *self, int64_t business_id,
                              const char *region, const char *status, const period_t *q,
                              int64_t now, record_check_t *rc)
{
    memset(rc, 0, sizeof *rc);
    int64_t qs = period_start(q), qe = period_end(q);
    int64_t as_of = now < qe ? now : qe;
    if (as_of < qs)
        as_of = qs;
    period_format(q, rc->quarter, sizeof rc->quarter);
    rfc3339_format(qs, rc->from, sizeof rc->from);
    rfc3339_format(as_of, rc->as_of, sizeof rc->as_of);
    snprintf(rc->status, sizeof rc->status, "%s", status);
    int y, m, d;
    local_date(qs, &y, &m, &d);
    char bid[24], from[RFC3339_TEXT_MAX], to[RFC3339_TEXT_MAX], asof[RFC3339_TEXT_MAX],
        due[RFC3339_TEXT_MAX], year[RFC3339_TEXT_MAX];
    snprintf(bid, sizeof bid, "%" PRId64, business_id);
    rfc3339_format(qs, from, sizeof from);
    rfc3339_format(qe, to, sizeof to);
    rfc3339_format(as_of, asof, sizeof asof);
    rfc3339_format(as_of - (int64_t)self->problem_due_days * 86400, due, sizeof due);
    rfc3339_format(local_midnight(y, 1, 1), year, sizeof year);
    PGresult *rec = NULL, *rest = NULL, *prob = NULL, *asg = NULL, *vis = NULL;
    char **restv = NULL;
    check_record_t *recs = NULL;
    int rcode = -1;

    const char *rp[] = {bid, from, to};
    rec = pg_query_prepared(pg, "sampler_check_records",
                            "SELECT kind, period, status FROM records WHERE business_id = "
                            "$1::bigint AND period_start >= $2::timestamptz AND period_start < "
                            "$3::timestamptz",
                            3, rp);
    rest = rec ? pg_query_prepared(pg, "sampler_check_rest",
                                   "SELECT to_char(day, 'YYYY-MM-DD') FROM business_rest_days "
                                   "WHERE business_id = $1::bigint AND day >= ($2::timestamptz AT "
                                   "TIME ZONE 'Asia/Shanghai')::date AND day < ($3::timestamptz "
                                   "AT TIME ZONE 'Asia/Shanghai')::date ORDER BY 1",
                                   3, rp)
               : NULL;
    const char *pp[] = {bid, region, from, asof, due};
    prob = rest ? pg_query_prepared(
                      pg, "sampler_check_problems",
                      "SELECT (SELECT count(*) FROM problems WHERE business_id = $1::bigint AND "
                      "fixed_at IS NULL), (SELECT count(*) FROM problems WHERE business_id = "
                      "$1::bigint AND fixed_at IS NULL AND opened_at < $5::timestamptz), "
                      "count(*), count(*) FILTER (WHERE fixed_at IS NOT NULL AND fixed_at < "
                      "$4::timestamptz) FROM problems WHERE business_id = $1::bigint AND "
                      "region_code = $2 AND opened_at >= $3::timestamptz AND opened_at < "
                      "$4::timestamptz",
                      5, pp)
                : NULL;
    const char *ap[] = {bid, from, asof};
    asg = prob
              ? pg_query_prepared(pg, "sampler_check_assignments",
                                  "SELECT a.cadre_id, c.name, c.level, extract(epoch FROM "
                                  "a.since)::bigint, coalesce(extract(epoch FROM a.until)::bigint, "
                                  "0) FROM assignments a JOIN cadres c ON c.id = a.cadre_id WHERE "
                                  "a.business_id = $1::bigint AND a.since < $3::timestamptz AND "
                                  "(a.until IS NULL OR a.until > $2::timestamptz) ORDER BY "
                                  "a.cadre_id, a.since",
                                  3, ap)
              : NULL;
    const char *vp[] = {bid, year, asof};
    vis = asg ? pg_query_prepared(pg, "sampler_check_visits",
                                  "SELECT cadre_id, extract(epoch FROM visited_at)::bigint FROM "
                                  "visits WHERE business_id = $1::bigint AND visited_at >= "
                                  "$2::timestamptz AND visited_at < $3::timestamptz ORDER BY 1, 2",
                                  3, vp)
              : NULL;
    if (!vis)
        goto done;

    size_t nrec = (size_t)PQntuples(rec), nrest = (size_t)PQntuples(rest);
    recs = xcalloc(nrec + 1, sizeof *recs);
    size_t n = 0;
    for (size_t i = 0; i < nrec; i++) {
        int k = check_kind_of(pg_str(rec, (int)i, 0));
        if (k < 0)
            continue;
        recs[n].kind = k;
        snprintf(recs[n].period, sizeof recs[n].period, "%s", pg_str(rec, (int)i, 1));
        recs[n].late = !strcmp(pg_str(rec, (int)i, 2), "late");
        n++;
    }
    restv = xcalloc(nrest + 1, sizeof *restv);
    for (size_t i = 0; i < nrest; i++)
        restv[i] = (char *)pg_str(rest, (int)i, 0);
    rc->rest_days = (int)nrest;
    check_ledgers(q, as_of, self->grace_s, !strcmp(status, "active"), restv, nrest, recs, n,
                  rc->ledgers);
    rc->problems_open = (int)pg_int(prob, 0, 0);
    rc->problems_overdue = (int)pg_int(prob, 0, 1);
    rc->opened_in_q = (int)pg_int(prob, 0, 2);
    rc->fixed_in_q = (int)pg_int(prob, 0, 3);

    size_t na = (size_t)PQntuples(asg), nv = (size_t)PQntuples(vis);
    rc->visits = xcalloc(na + 1, sizeof *rc->visits);
    int64_t *at = xcalloc(nv + 1, sizeof *at);
    for (size_t i = 0; i < na; i++) {
        brief_visit_t *v = &rc->visits[rc->nvisits++];
        v->cadre_id = pg_int(asg, (int)i, 0);
        snprintf(v->name, sizeof v->name, "%s", pg_str(asg, (int)i, 1));
        snprintf(v->level, sizeof v->level, "%s", pg_str(asg, (int)i, 2));
        v->freq = VISIT_QUARTERLY;
        for (int l = 0; l < 4; l++)
            if (!strcmp(v->level, s_levels[l]))
                v->freq = self->visit_freq[l];
        check_assignment_t a = {v->freq, pg_int(asg, (int)i, 3), pg_int(asg, (int)i, 4)};
        v->current = a.until == 0;
        size_t nat = 0;
        for (size_t j = 0; j < nv; j++)
            if (pg_int(vis, (int)j, 0) == v->cadre_id)
                at[nat++] = pg_int(vis, (int)j, 1);
        check_visits(q, as_of, &a, at, nat, &v->t);
        if (strcmp(status, "active") != 0)
            v->t.owed = v->t.met = 0; /* only active businesses owe visits */
        rc->visits_owed += v->t.owed;
        rc->visits_met += v->t.met;
    }
    free(at);
    s_build_msg(rc);
    rcode = 0;
done:
    if (rcode != 0)
        log_error("the record check of business %s could not be read", bid);
    free(restv);
    free(recs);
    pg_free(&vis);
    pg_free(&asg);
    pg_free(&prob);
    pg_free(&rest);
    pg_free(&rec);
    return rcode;
}

void sampler_record_check_clear(record_check_t *rc)
{
    free(rc->vtp);
    free(rc->vt);
    free(rc->visits);
    memset(rc, 0, sizeof *rc);
}

/* ---- checklist ------------------------------------------------------------------------------- */

int sampler_checklist_load(pg_t *pg, const char *type, int version, brief_checklist_t *cl)
{
    memset(cl, 0, sizeof *cl);
    char v[16];
    snprintf(v, sizeof v, "%d", version);
    const char *p[] = {type, v};
    cl->res = pg_query_prepared(
        pg, "sampler_checklist",
        "SELECT c.id, c.version, i.code, i.text, i.measure, i.category, i.required "
        "FROM checklists c JOIN checklist_items i ON i.checklist_id = c.id WHERE c.id = "
        "(SELECT id FROM checklists WHERE type = $1 AND kind = 'inspection' AND ($2::int = 0 OR "
        "version = $2::int) ORDER BY version DESC LIMIT 1) ORDER BY i.position, i.code",
        2, p);
    if (!cl->res)
        return -1;
    size_t n = (size_t)PQntuples(cl->res);
    if (n == 0) {
        pg_free(&cl->res);
        return 0;
    }
    cl->id = pg_int(cl->res, 0, 0);
    cl->version = (int)pg_int(cl->res, 0, 1);
    cl->items = xcalloc(n, sizeof *cl->items);
    for (size_t i = 0; i < n; i++) {
        cl->items[i].code = pg_str(cl->res, (int)i, 2);
        cl->items[i].required = pg_bool(cl->res, (int)i, 6);
    }
    cl->nitems = n;
    return 1;
}

void sampler_checklist_clear(brief_checklist_t *cl)
{
    free(cl->items);
    pg_free(&cl->res);
    memset(cl, 0, sizeof *cl);
}

/* ---- the brief ------------------------------------------------------------------------------- */

void sampler_inspection_brief(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    sampler_t *self = ctx;
    Lz__InspectionBriefRequest *in =
        (Lz__InspectionBriefRequest *)rpc_unpack(req, &lz__inspection_brief_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    const Lz__Caller *c = req->caller;
    PGresult *item = NULL, *probs = NULL;
    brief_checklist_t cl = {0};
    record_check_t rc;
    memset(&rc, 0, sizeof rc);
    Lz__BriefProblem *bp = NULL, **bpp = NULL;
    Lz__BriefItem *bi = NULL, **bip = NULL;
    char(*opened)[RFC3339_TEXT_MAX] = NULL;
    if (!in->has_plan_id || in->plan_id <= 0 || !in->has_business_id || in->business_id <= 0 ||
        !c || !c->role || scope_has_role(c, "business") || scope_has_role(c, "cadre")) {
        /* the list is hidden: the same answer as for a business not drawn */
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "business_id", "no such drawn business");
        goto done;
    }
    char pid[24], bid[24];
    snprintf(pid, sizeof pid, "%" PRId64, in->plan_id);
    snprintf(bid, sizeof bid, "%" PRId64, in->business_id);
    const char *ip[] = {pid, bid};
    item = pg_query_prepared(
        self->pg, "sampler_brief_item",
        "SELECT p.quarter, p.region_code, coalesce(si.inspector_1, 0), coalesce(si.inspector_2, "
        "0), b.name, b.type, b.risk_grade, b.region_code, b.status, i.outcome "
        "FROM sampling_items si JOIN sampling_plans p ON p.id = si.plan_id JOIN businesses b ON "
        "b.id = si.business_id LEFT JOIN inspections i ON i.plan_id = si.plan_id AND "
        "i.business_id = si.business_id WHERE si.plan_id = $1::bigint AND si.business_id = "
        "$2::bigint",
        2, ip);
    if (!item) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        goto done;
    }
    bool visible = false;
    if (PQntuples(item) == 1) {
        if (scope_is_admin(c))
            visible = true;
        else if (scope_is_regulator(c))
            visible = scope_region_visible(c, pg_str(item, 0, 1));
        else if (scope_has_role(c, "inspector") && c->has_inspector_id && c->inspector_id > 0)
            visible =
                pg_int(item, 0, 2) == c->inspector_id || pg_int(item, 0, 3) == c->inspector_id;
    }
    if (!visible) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "business_id",
                        "no business %s drawn in plan %s", bid, pid);
        goto done;
    }
    period_t q;
    if (period_parse_kind(PERIOD_QUARTERLY, pg_str(item, 0, 0), &q) != 0 ||
        sampler_record_check_load(self->pg, self, in->business_id, pg_str(item, 0, 7),
                                  pg_str(item, 0, 8), &q, clock_now_s(), &rc) != 0) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        goto done;
    }
    char due[RFC3339_TEXT_MAX];
    int64_t now = clock_now_s();
    rfc3339_format(now - (int64_t)self->problem_due_days * 86400, due, sizeof due);
    const char *pp[] = {bid, due};
    probs = pg_query_prepared(
        self->pg, "sampler_brief_problems",
        "SELECT id, source, item_code, description, extract(epoch FROM opened_at)::bigint, "
        "opened_at < $2::timestamptz FROM problems WHERE business_id = $1::bigint AND fixed_at "
        "IS NULL ORDER BY opened_at, id LIMIT 100",
        2, pp);
    int found = probs ? sampler_checklist_load(self->pg, pg_str(item, 0, 5), 0, &cl) : -1;
    if (found < 0) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        goto done;
    }
    Lz__InspectionBrief out = LZ__INSPECTION_BRIEF__INIT;
    out.has_plan_id = out.has_business_id = 1;
    out.plan_id = in->plan_id;
    out.business_id = in->business_id;
    out.business_name = (char *)pg_str(item, 0, 4);
    out.type = (char *)pg_str(item, 0, 5);
    out.risk_grade = (char *)pg_str(item, 0, 6);
    out.region_code = (char *)pg_str(item, 0, 7);
    out.outcome = (char *)pg_str(item, 0, 9);
    out.check = &rc.msg;
    size_t np = (size_t)PQntuples(probs);
    bp = xcalloc(np + 1, sizeof *bp);
    bpp = xcalloc(np + 1, sizeof *bpp);
    opened = xcalloc(np + 1, sizeof *opened);
    for (size_t i = 0; i < np; i++) {
        Lz__BriefProblem *x = &bp[i];
        lz__brief_problem__init(x);
        x->has_id = x->has_days_open = x->has_overdue = 1;
        x->id = pg_int(probs, (int)i, 0);
        x->source = (char *)pg_str(probs, (int)i, 1);
        x->item_code = (char *)pg_str(probs, (int)i, 2);
        x->description = (char *)pg_str(probs, (int)i, 3);
        int64_t at = pg_int(probs, (int)i, 4);
        rfc3339_format(at, opened[i], sizeof opened[i]);
        x->opened_at = opened[i];
        x->days_open = (int32_t)((now - at) / 86400);
        x->overdue = pg_bool(probs, (int)i, 5);
        bpp[i] = x;
    }
    out.problems = bpp;
    out.n_problems = np;
    bi = xcalloc(cl.nitems + 1, sizeof *bi);
    bip = xcalloc(cl.nitems + 1, sizeof *bip);
    for (size_t i = 0; i < cl.nitems; i++) {
        Lz__BriefItem *x = &bi[i];
        lz__brief_item__init(x);
        x->code = (char *)pg_str(cl.res, (int)i, 2);
        x->text = (char *)pg_str(cl.res, (int)i, 3);
        x->measure = (char *)pg_str(cl.res, (int)i, 4);
        x->category = (char *)pg_str(cl.res, (int)i, 5);
        x->has_required = 1;
        x->required = pg_bool(cl.res, (int)i, 6);
        bip[i] = x;
    }
    out.items = bip;
    out.n_items = cl.nitems;
    if (found) {
        out.has_checklist_version = 1;
        out.checklist_version = cl.version;
    }
    rpc_reply_ok(rep, &out.base);
done:
    free(bip);
    free(bi);
    free(opened);
    free(bpp);
    free(bp);
    sampler_checklist_clear(&cl);
    sampler_record_check_clear(&rc);
    pg_free(&probs);
    pg_free(&item);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}
