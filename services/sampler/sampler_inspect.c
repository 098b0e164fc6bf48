/*
 * sampler_inspect.c - inspections of drawn businesses, declared conflicts, and the
 * published results of a plan.
 *
 * An inspection is recorded by an inspector assigned to that business in that plan, once;
 * its findings become problems (source "inspection") in intake's problems table, each
 * open one with a problem.opened event, and the inspection itself an inspection.recorded
 * event for the scorer - all in one transaction with the request id's answer and an audit
 * entry.
 */
#include "sampler_inspect.h"
#include "audit.h"
#include "pbjson.h"
#include "sampler_brief.h"
#include "idem.h"
#include "business.pb-c.h"
#include "clock.h"
#include "common.pb-c.h"
#include "log.h"
#include "mem.h"
#include "period.h"
#include "scope.h"
#include "sampler_server.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METHOD_INSPECT  "sampler.record_inspection"
#define METHOD_CONFLICT "sampler.declare_conflict"

/* ---- pure rules ------------------------------------------------------------------------------ */

bool sampler_outcome_valid(const char *outcome)
{
    return outcome && (!strcmp(outcome, "pass") || !strcmp(outcome, "pass_with_remarks") ||
                       !strcmp(outcome, "fail"));
}

static bool s_has_text(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return true;
    return false;
}

int sampler_inspection_check(const Lz__RecordInspectionRequest *in, int64_t now,
                             inspection_checked_t *out, Lz__Status *status, char *field,
                             size_t flen, char *msg, size_t mlen)
{
#define FAIL(st, f, ...)                                                                           \
    do {                                                                                           \
        *status = (st);                                                                            \
        snprintf(field, flen, "%s", (f));                                                          \
        snprintf(msg, mlen, __VA_ARGS__);                                                          \
        return -1;                                                                                 \
    } while (0)
    if (!in->has_plan_id)
        FAIL(LZ__STATUS__MISSING_FIELD, "plan_id", "plan_id is required");
    if (in->plan_id <= 0)
        FAIL(LZ__STATUS__INVALID_FIELD, "plan_id", "plan_id must be a positive integer");
    if (!in->has_business_id)
        FAIL(LZ__STATUS__MISSING_FIELD, "business_id", "business_id is required");
    if (in->business_id <= 0)
        FAIL(LZ__STATUS__INVALID_FIELD, "business_id", "business_id must be a positive integer");
    out->outcome = NULL; /* derived from the answers (check_outcome); given, it must agree */
    if (in->outcome && !sampler_outcome_valid(in->outcome))
        FAIL(LZ__STATUS__INVALID_FIELD, "outcome",
             "outcome must be one of: pass, pass_with_remarks, fail");
    if (in->outcome)
        out->outcome = !strcmp(in->outcome, "pass")   ? "pass"
                       : !strcmp(in->outcome, "fail") ? "fail"
                                                      : "pass_with_remarks";
    if (in->n_answers == 0)
        FAIL(LZ__STATUS__INVALID_FIELD, "answers",
             "answers are required: the inspection checklist, every key item answered");
    if (in->has_checklist_version && in->checklist_version < 1)
        FAIL(LZ__STATUS__INVALID_FIELD, "checklist_version",
             "checklist_version must be a positive integer");
    int64_t t = now;
    if (in->inspected_at) {
        if (rfc3339_parse(in->inspected_at, &t) != 0)
            FAIL(LZ__STATUS__INVALID_FIELD, "inspected_at",
                 "inspected_at must be an RFC 3339 time like 2026-11-30T10:00:00+08:00");
        if (t > now + INSPECTION_FUTURE_SKEW_S)
            FAIL(LZ__STATUS__INVALID_FIELD, "inspected_at", "inspected_at is in the future");
        if (t < now - INSPECTION_MAX_AGE_S)
            FAIL(LZ__STATUS__INVALID_FIELD, "inspected_at", "inspected_at is more than %d days ago",
                 INSPECTION_MAX_AGE_S / 86400);
    }
    if (in->note && strlen(in->note) > INSPECTION_NOTE_MAX)
        FAIL(LZ__STATUS__INVALID_FIELD, "note", "note must be at most %d bytes",
             INSPECTION_NOTE_MAX);
    if (in->n_findings > INSPECTION_FINDINGS_MAX)
        FAIL(LZ__STATUS__INVALID_FIELD, "findings", "at most %d findings", INSPECTION_FINDINGS_MAX);
    int open = 0;
    char f[64];
    for (size_t i = 0; i < in->n_findings; i++) {
        const Lz__InspectionFinding *fi = in->findings[i];
        snprintf(f, sizeof f, "findings[%zu].description", i);
        if (!fi->description)
            FAIL(LZ__STATUS__MISSING_FIELD, f, "a finding needs a description");
        if (!s_has_text(fi->description) || strlen(fi->description) > INSPECTION_TEXT_MAX)
            FAIL(LZ__STATUS__INVALID_FIELD, f, "a description is 1 to %d bytes of text",
                 INSPECTION_TEXT_MAX);
        snprintf(f, sizeof f, "findings[%zu].action", i);
        if (fi->action && strlen(fi->action) > INSPECTION_TEXT_MAX)
            FAIL(LZ__STATUS__INVALID_FIELD, f, "an action is at most %d bytes",
                 INSPECTION_TEXT_MAX);
        bool fixed = fi->has_fixed && fi->fixed;
        if (fixed && !s_has_text(fi->action))
            FAIL(LZ__STATUS__MISSING_FIELD, f, "a fixed finding needs the action taken");
        snprintf(f, sizeof f, "findings[%zu].item_code", i);
        if (fi->item_code && (strlen(fi->item_code) < 1 || strlen(fi->item_code) > 8))
            FAIL(LZ__STATUS__INVALID_FIELD, f, "item_code is 1 to 8 characters");
        if (!fixed)
            open++;
    }
    for (size_t i = 0; i < in->n_findings; i++)
        for (size_t j = 0; j < i && in->findings[i]->item_code; j++)
            if (in->findings[j]->item_code &&
                !strcmp(in->findings[j]->item_code, in->findings[i]->item_code)) {
                snprintf(f, sizeof f, "findings[%zu].item_code", i);
                FAIL(LZ__STATUS__INVALID_FIELD, f, "item %.8s has more than one finding",
                     in->findings[i]->item_code);
            }
    out->inspected_at = t;
    out->problems_open = open;
    return 0;
#undef FAIL
}

/* Append field to b as a CSV field (quoted when it holds a comma, quote or line break). */
static void s_csv_field(char **b, size_t *len, size_t *cap, const char *s, bool last)
{
    s = s ? s : "";
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    size_t need = 2 * strlen(s) + 4;
    if (*len + need >= *cap) {
        *cap = (*cap + need) * 2;
        *b = xrealloc(*b, *cap);
    }
    if (quote)
        (*b)[(*len)++] = '"';
    for (; *s; s++) {
        if (*s == '"')
            (*b)[(*len)++] = '"';
        (*b)[(*len)++] = *s;
    }
    if (quote)
        (*b)[(*len)++] = '"';
    if (last) {
        (*b)[(*len)++] = '\r';
        (*b)[(*len)++] = '\n';
    } else {
        (*b)[(*len)++] = ',';
    }
    (*b)[*len] = '\0';
}

char *sampler_public_csv(const Lz__PublicPlan *p, size_t *len)
{
    size_t cap = 256, n = 0;
    char *b = xmalloc(cap);
    b[0] = '\0';
    static const char *const head[] = {"plan_id",       "quarter",    "stratum",     "business_id",
                                       "business_name", "license_no", "region_code", "outcome",
                                       "inspected_at",  "findings"};
    size_t nh = sizeof head / sizeof head[0];
    for (size_t i = 0; i < nh; i++)
        s_csv_field(&b, &n, &cap, head[i], i + 1 == nh);
    char pid[24], bid[24], fc[16];
    snprintf(pid, sizeof pid, "%" PRId64, p->id);
    for (size_t i = 0; i < p->n_items; i++) {
        const Lz__PublicItem *it = p->items[i];
        snprintf(bid, sizeof bid, "%" PRId64, it->business_id);
        snprintf(fc, sizeof fc, "%d", (int)it->findings);
        const char *row[] = {pid,
                             p->quarter,
                             it->stratum,
                             bid,
                             it->business_name,
                             it->license_no,
                             it->region_code,
                             it->outcome,
                             it->inspected_at,
                             fc};
        for (size_t k = 0; k < nh; k++)
            s_csv_field(&b, &n, &cap, row[k], k + 1 == nh);
    }
    *len = n;
    return b;
}

/* ---- recording ------------------------------------------------------------------------------- */

void sampler_record_inspection(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    sampler_t *self = ctx;
    Lz__RecordInspectionRequest *in =
        (Lz__RecordInspectionRequest *)rpc_unpack(req, &lz__record_inspection_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    const Lz__Caller *c = req->caller;
    PGresult *res = NULL;
    char *detail = NULL, *rc_json = NULL, *answers_json = NULL;
    brief_checklist_t cl = {0};
    record_check_t rc;
    memset(&rc, 0, sizeof rc);
    if (!scope_has_role(c, "inspector") || !c->has_inspector_id || c->inspector_id <= 0) {
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL,
                        "only the inspectors assigned to a business record its inspection");
        goto done;
    }
    if (!req->request_id || !req->request_id[0] || strlen(req->request_id) > 64) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "request_id", "a write needs a request_id");
        goto done;
    }
    inspection_checked_t chk;
    Lz__Status st;
    char field[64], msg[160];
    if (sampler_inspection_check(in, clock_now_s(), &chk, &st, field, sizeof field, msg,
                                 sizeof msg) != 0) {
        rpc_reply_error(rep, st, field, "%s", msg);
        goto done;
    }
    if (idem_begin_req(self->pg, METHOD_INSPECT, req, rep) != 1)
        goto done;

    /* the transaction is open from here: every failure rolls back */
    char pid[24], bid[24], iid[24], at[RFC3339_TEXT_MAX], nf[16];
    snprintf(pid, sizeof pid, "%" PRId64, in->plan_id);
    snprintf(bid, sizeof bid, "%" PRId64, in->business_id);
    snprintf(iid, sizeof iid, "%" PRId64, c->inspector_id);
    snprintf(nf, sizeof nf, "%zu", in->n_findings);
    if (rfc3339_format(chk.inspected_at, at, sizeof at) == 0) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "inspected_at",
                        "inspected_at is not valid");
        goto done;
    }
    const char *ap[] = {pid, bid, iid};
    res = pg_query_prepared(self->pg, "sampler_insp_assigned",
                            "SELECT b.region_code, p.quarter, b.type, b.status FROM sampling_items "
                            "si JOIN sampling_plans p ON p.id = si.plan_id "
                            "JOIN businesses b ON b.id = si.business_id "
                            "WHERE si.plan_id = $1::bigint AND si.business_id = $2::bigint "
                            "AND (si.inspector_1 = $3::bigint OR si.inspector_2 = $3::bigint)",
                            3, ap);
    if (!res) {
        sampler_db_failed(self->pg, rep);
        goto done;
    }
    if (PQntuples(res) != 1) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, "business_id",
                        "inspector %" PRId64 " is not assigned to business %" PRId64
                        " in plan %" PRId64,
                        c->inspector_id, in->business_id, in->plan_id);
        goto done;
    }
    char region[16], quarter[16], type[32], bstatus[16];
    snprintf(region, sizeof region, "%s", pg_str(res, 0, 0));
    snprintf(quarter, sizeof quarter, "%s", pg_str(res, 0, 1));
    snprintf(type, sizeof type, "%s", pg_str(res, 0, 2));
    snprintf(bstatus, sizeof bstatus, "%s", pg_str(res, 0, 3));
    pg_free(&res);

    /* the checklist and the answers: nothing is written when they are wrong */
    int found = sampler_checklist_load(self->pg, type,
                                       in->has_checklist_version ? in->checklist_version : 0, &cl);
    if (found < 0) {
        sampler_db_failed(self->pg, rep);
        goto done;
    }
    if (found == 0) {
        pg_rollback(self->pg);
        if (in->has_checklist_version)
            rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "checklist_version",
                            "no inspection checklist version %d for type %s",
                            (int)in->checklist_version, type);
        else
            rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL,
                            "no inspection checklist for type %s", type);
        goto done;
    }
    check_answers_t sum;
    if (check_answers(cl.items, cl.nitems, in->answers, in->n_answers, &sum, field, sizeof field,
                      msg, sizeof msg) != 0) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, field, "%s", msg);
        goto done;
    }
    /* a finding naming an item must name a failed one: it is that item's problem */
    size_t free_findings = 0;
    for (size_t i = 0; i < in->n_findings; i++) {
        const char *code = in->findings[i]->item_code;
        if (!code) {
            free_findings++;
            continue;
        }
        size_t k = 0;
        while (k < in->n_answers && strcmp(in->answers[k]->code, code) != 0)
            k++;
        if (k == in->n_answers || in->answers[k]->ok) {
            pg_rollback(self->pg);
            rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "findings",
                            "findings[%zu] names %.8s, which is not a failed item of this "
                            "inspection",
                            i, code);
            goto done;
        }
    }
    const char *outcome = check_outcome(sum.key_failed, sum.failed - sum.key_failed, free_findings,
                                        self->fail_general);
    if (chk.outcome && strcmp(chk.outcome, outcome) != 0) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "outcome",
                        "the answers give %s (%d key and %d general items failed, %zu other "
                        "findings), not %s",
                        outcome, sum.key_failed, sum.failed - sum.key_failed, free_findings,
                        chk.outcome);
        goto done;
    }

    /* the record check as of the inspection */
    period_t q;
    if (period_parse_kind(PERIOD_QUARTERLY, quarter, &q) != 0 ||
        sampler_record_check_load(self->pg, self, in->business_id, region, bstatus, &q,
                                  chk.inspected_at, &rc) != 0) {
        sampler_db_failed(self->pg, rep);
        goto done;
    }
    json_t *rcj = pbjson_from_message(&rc.msg.base);
    rc_json = json_dumps(rcj, JSON_COMPACT);
    json_decref(rcj);
    json_t *aj = json_array();
    for (size_t i = 0; i < in->n_answers; i++)
        json_array_append_new(aj, pbjson_from_message(&in->answers[i]->base));
    answers_json = json_dumps(aj, JSON_COMPACT);
    json_decref(aj);

    char clid[24];
    snprintf(clid, sizeof clid, "%" PRId64, cl.id);
    snprintf(nf, sizeof nf, "%zu", (size_t)sum.failed + free_findings);
    const char *ip[] = {
        pid,  bid,          region, iid, outcome, nf, in->note ? in->note : "", at, req->request_id,
        clid, answers_json, rc_json};
    res =
        pg_query_prepared(self->pg, "sampler_insp_insert",
                          "INSERT INTO inspections (plan_id, business_id, region_code, "
                          "inspector_id, outcome, findings, note, inspected_at, request_id, "
                          "checklist_id, answers, record_check) "
                          "VALUES ($1::bigint, $2::bigint, $3, $4::bigint, $5, $6::int, $7, "
                          "$8::timestamptz, $9, $10::bigint, $11::jsonb, $12::jsonb) RETURNING id",
                          12, ip);
    if (!res || PQntuples(res) != 1) {
        if (pg_unique_violation(self->pg)) {
            pg_rollback(self->pg);
            rpc_reply_error(rep, LZ__STATUS__CONFLICT, "business_id",
                            "business %" PRId64 " was already inspected in plan %" PRId64,
                            in->business_id, in->plan_id);
        } else {
            sampler_db_failed(self->pg, rep);
        }
        goto done;
    }
    int64_t inspection_id = pg_int(res, 0, 0);
    pg_free(&res);
    char sid[24];
    snprintf(sid, sizeof sid, "%" PRId64, inspection_id);

    /* problems: one per failed item (its finding when one names it), one per other finding */
    int problems_open = 0;
    size_t nprob = (size_t)sum.failed + free_findings;
    for (size_t n = 0, ai = 0, fi = 0; n < nprob; n++) {
        const char *code = NULL, *action = "";
        char *owned = NULL;
        const char *desc;
        bool fixed = false;
        if (ai < in->n_answers) {
            while (ai < in->n_answers && in->answers[ai]->ok)
                ai++;
        }
        if (ai < in->n_answers) {
            const Lz__InspectionAnswer *x = in->answers[ai++];
            code = x->code;
            const Lz__InspectionFinding *f = NULL;
            for (size_t k = 0; k < in->n_findings && !f; k++)
                if (in->findings[k]->item_code && !strcmp(in->findings[k]->item_code, code))
                    f = in->findings[k];
            size_t d = 0;
            while (d < cl.nitems && strcmp(cl.items[d].code, code) != 0)
                d++;
            if (f) {
                desc = f->description;
                action = f->action ? f->action : "";
                fixed = f->has_fixed && f->fixed;
            } else {
                owned =
                    xasprintf("%s：%s", d < cl.nitems ? pg_str(cl.res, (int)d, 3) : code, x->note);
                desc = owned;
            }
        } else {
            while (fi < in->n_findings && in->findings[fi]->item_code)
                fi++;
            const Lz__InspectionFinding *f = in->findings[fi++];
            desc = f->description;
            action = f->action ? f->action : "";
            fixed = f->has_fixed && f->fixed;
        }
        const char *pp[] = {bid, region, sid, code, desc, action, at, fixed ? "true" : "false"};
        res = pg_query_prepared(
            self->pg, "sampler_insp_problem",
            "INSERT INTO problems (business_id, region_code, source, source_id, item_code, "
            "description, action, opened_at, fixed_at, fixed_action) VALUES ($1::bigint, $2, "
            "'inspection', $3::bigint, $4, $5, $6, $7::timestamptz, CASE WHEN $8::bool THEN "
            "$7::timestamptz END, CASE WHEN $8::bool THEN $6 END) RETURNING id",
            8, pp);
        free(owned);
        if (!res || PQntuples(res) != 1) {
            sampler_db_failed(self->pg, rep);
            goto done;
        }
        int64_t problem_id = pg_int(res, 0, 0);
        pg_free(&res);
        if (!fixed) {
            problems_open++;
            Lz__ProblemOpenedEvent ev = LZ__PROBLEM_OPENED_EVENT__INIT;
            ev.has_problem_id = ev.has_business_id = ev.has_source_id = ev.has_opened_at = 1;
            ev.problem_id = problem_id;
            ev.business_id = in->business_id;
            ev.region_code = region;
            ev.source = "inspection";
            ev.source_id = inspection_id;
            ev.opened_at = chk.inspected_at;
            if (sampler_event(self->pg, "problem.opened", in->business_id, &ev.base) != 0) {
                sampler_db_failed(self->pg, rep);
                goto done;
            }
        }
    }
    Lz__InspectionRecordedEvent ev = LZ__INSPECTION_RECORDED_EVENT__INIT;
    ev.has_inspection_id = ev.has_plan_id = ev.has_business_id = ev.has_inspected_at = 1;
    ev.has_findings = ev.has_problems_open = ev.has_inspector_id = 1;
    ev.inspection_id = inspection_id;
    ev.plan_id = in->plan_id;
    ev.business_id = in->business_id;
    ev.outcome = (char *)outcome;
    ev.inspected_at = chk.inspected_at;
    ev.findings = (int32_t)nprob;
    ev.problems_open = problems_open;
    ev.region_code = region;
    ev.quarter = quarter;
    ev.inspector_id = c->inspector_id;
    ev.has_checklist_version = ev.has_items_failed = ev.has_key_items_failed = 1;
    ev.has_ledgers_owed = ev.has_ledgers_missing = ev.has_ledgers_late = 1;
    ev.has_visits_owed = ev.has_visits_met = ev.has_problems_overdue = 1;
    ev.checklist_version = cl.version;
    ev.items_failed = sum.failed;
    ev.key_items_failed = sum.key_failed;
    for (int k = 0; k < 3; k++) {
        ev.ledgers_owed += rc.ledgers[k].owed;
        ev.ledgers_missing += rc.ledgers[k].missing;
        ev.ledgers_late += rc.ledgers[k].late;
    }
    ev.visits_owed = rc.visits_owed;
    ev.visits_met = rc.visits_met;
    ev.problems_overdue = rc.problems_overdue;
    Lz__RecordInspectionReply out = LZ__RECORD_INSPECTION_REPLY__INIT;
    out.has_id = out.has_problems_open = 1;
    out.id = inspection_id;
    out.problems_open = problems_open;
    out.outcome = (char *)outcome;
    out.has_checklist_version = out.has_items_failed = out.has_key_items_failed = 1;
    out.checklist_version = cl.version;
    out.items_failed = sum.failed;
    out.key_items_failed = sum.key_failed;
    char object[48];
    snprintf(object, sizeof object, "inspections/%s", sid);
    detail = xasprintf("{\"plan_id\":%s,\"business_id\":%s,\"outcome\":\"%s\",\"findings\":%s,"
                       "\"checklist_version\":%d,\"items_failed\":%d}",
                       pid, bid, outcome, nf, cl.version, sum.failed);
    if (sampler_event(self->pg, "inspection.recorded", in->business_id, &ev.base) != 0 ||
        audit_write(self->pg, c, "inspection.record", object, req->request_id, detail) != 0) {
        sampler_db_failed(self->pg, rep);
        goto done;
    }
    rpc_reply_created(rep, &out.base);
    if (idem_finish(self->pg, METHOD_INSPECT, req->request_id, rep) != 0 ||
        pg_commit(self->pg) != 0)
        sampler_db_failed(self->pg, rep);
done:
    free(rc_json);
    free(answers_json);
    sampler_record_check_clear(&rc);
    sampler_checklist_clear(&cl);
    free(detail);
    pg_free(&res);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* ---- conflicts ------------------------------------------------------------------------------- */

void sampler_declare_conflict(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    sampler_t *self = ctx;
    Lz__DeclareConflictRequest *in =
        (Lz__DeclareConflictRequest *)rpc_unpack(req, &lz__declare_conflict_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    const Lz__Caller *c = req->caller;
    PGresult *res = NULL;
    int64_t inspector = in->has_inspector_id ? in->inspector_id : 0;
    if (scope_has_role(c, "inspector") && c->has_inspector_id) {
        if (inspector && inspector != c->inspector_id) {
            rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, "inspector_id",
                            "an inspector declares conflicts only for itself");
            goto done;
        }
        inspector = c->inspector_id;
    } else if (!scope_is_admin(c) && !scope_is_regulator(c)) {
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL,
                        "inspectors and regulators declare conflicts");
        goto done;
    }
    if (inspector <= 0) {
        rpc_reply_error(
            rep, in->has_inspector_id ? LZ__STATUS__INVALID_FIELD : LZ__STATUS__MISSING_FIELD,
            "inspector_id", "inspector_id must be a positive integer");
        goto done;
    }
    if (!in->has_business_id || in->business_id <= 0) {
        rpc_reply_error(rep,
                        in->has_business_id ? LZ__STATUS__INVALID_FIELD : LZ__STATUS__MISSING_FIELD,
                        "business_id", "business_id must be a positive integer");
        goto done;
    }
    if (!in->reason || !s_has_text(in->reason) || strlen(in->reason) > INSPECTION_TEXT_MAX) {
        rpc_reply_error(rep, in->reason ? LZ__STATUS__INVALID_FIELD : LZ__STATUS__MISSING_FIELD,
                        "reason", "reason is 1 to %d bytes of text", INSPECTION_TEXT_MAX);
        goto done;
    }
    if (!req->request_id || !req->request_id[0] || strlen(req->request_id) > 64) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "request_id", "a write needs a request_id");
        goto done;
    }
    if (idem_begin_req(self->pg, METHOD_CONFLICT, req, rep) != 1)
        goto done;
    char iid[24], bid[24];
    snprintf(iid, sizeof iid, "%" PRId64, inspector);
    snprintf(bid, sizeof bid, "%" PRId64, in->business_id);
    const char *lp[] = {iid, bid};
    res = pg_query_prepared(self->pg, "sampler_conflict_target",
                            "SELECT (SELECT region_code FROM inspectors WHERE id = $1::bigint), "
                            "(SELECT region_code FROM businesses WHERE id = $2::bigint)",
                            2, lp);
    if (!res || PQntuples(res) != 1) {
        sampler_db_failed(self->pg, rep);
        goto done;
    }
    if (PQgetisnull(res, 0, 0) ||
        !(scope_has_role(c, "inspector") || scope_region_visible(c, pg_str(res, 0, 0)))) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "inspector_id", "no inspector %s", iid);
        goto done;
    }
    if (PQgetisnull(res, 0, 1)) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "business_id", "no business %s", bid);
        goto done;
    }
    pg_free(&res);
    const char *ip[] = {iid, bid, in->reason};
    Lz__Empty out = LZ__EMPTY__INIT;
    char object[96];
    snprintf(object, sizeof object, "inspection_conflicts/%s/%s", iid, bid);
    if (pg_exec(self->pg,
                "INSERT INTO inspection_conflicts (inspector_id, business_id, reason) VALUES "
                "($1::bigint, $2::bigint, $3) ON CONFLICT DO NOTHING",
                3, ip) != 0 ||
        audit_write(self->pg, c, "inspection.conflict", object, req->request_id, NULL) != 0) {
        sampler_db_failed(self->pg, rep);
        goto done;
    }
    rpc_reply_created(rep, &out.base);
    if (idem_finish(self->pg, METHOD_CONFLICT, req->request_id, rep) != 0 ||
        pg_commit(self->pg) != 0)
        sampler_db_failed(self->pg, rep);
done:
    pg_free(&res);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* ---- published results ----------------------------------------------------------------------- */

void sampler_public_plan(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    sampler_t *self = ctx;
    Lz__PublicPlanRequest *in =
        (Lz__PublicPlanRequest *)rpc_unpack(req, &lz__public_plan_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    const Lz__Caller *c = req->caller;
    PGresult *plan = NULL, *items = NULL;
    Lz__PublicItem *it = NULL, **itp = NULL;
    char *csv = NULL;
    bool anonymous = !c || !c->role;
    if (in->format && strcmp(in->format, "json") != 0 && strcmp(in->format, "csv") != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "format", "format must be json or csv");
        goto done;
    }
    if (anonymous && !self->public_anonymous) {
        rpc_reply_error(rep, LZ__STATUS__UNAUTHORIZED, NULL,
                        "published results need a token here: use .../results with one");
        goto done;
    }
    if (!anonymous && (scope_has_role(c, "business") || scope_has_role(c, "cadre"))) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "id", "no plan %" PRId64, in->id);
        goto done;
    }
    char pid[24];
    snprintf(pid, sizeof pid, "%" PRId64, in->id);
    const char *pp[] = {pid};
    plan = pg_query_prepared(self->pg, "sampler_public_plan",
                             "SELECT id, quarter, region_code, seed, algorithm, frame_digest, "
                             "list_hash, drawn FROM sampling_plans WHERE id = $1::bigint",
                             1, pp);
    items = plan ? pg_query_prepared(
                       self->pg, "sampler_public_items",
                       "SELECT si.business_id, b.name, b.license_no, b.region_code, si.stratum, "
                       "i.outcome, to_char(i.inspected_at AT TIME ZONE 'Asia/Shanghai', "
                       "'YYYY-MM-DD\"T\"HH24:MI:SS\"+08:00\"'), i.findings "
                       "FROM sampling_items si JOIN inspections i ON i.plan_id = si.plan_id AND "
                       "i.business_id = si.business_id LEFT JOIN businesses b ON b.id = "
                       "si.business_id WHERE si.plan_id = $1::bigint "
                       "ORDER BY si.stratum, si.position",
                       1, pp)
                 : NULL;
    if (!items) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        goto done;
    }
    if (PQntuples(plan) != 1) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "id", "no plan %" PRId64, in->id);
        goto done;
    }
    size_t n = (size_t)PQntuples(items);
    Lz__PublicPlan out = LZ__PUBLIC_PLAN__INIT;
    out.has_id = out.has_drawn = out.has_inspected = 1;
    out.id = pg_int(plan, 0, 0);
    out.quarter = (char *)pg_str(plan, 0, 1);
    out.region = (char *)pg_str(plan, 0, 2);
    out.seed = (char *)pg_str(plan, 0, 3);
    out.algorithm = (char *)pg_str(plan, 0, 4);
    out.frame_digest = (char *)pg_str(plan, 0, 5);
    out.list_hash = (char *)pg_str(plan, 0, 6);
    out.drawn = (int32_t)pg_int(plan, 0, 7);
    out.inspected = (int32_t)n;
    it = xcalloc(n + 1, sizeof *it);
    itp = xcalloc(n + 1, sizeof *itp);
    for (size_t i = 0; i < n; i++) {
        Lz__PublicItem *x = &it[i];
        lz__public_item__init(x);
        x->has_business_id = x->has_findings = 1;
        x->business_id = pg_int(items, (int)i, 0);
        x->business_name = (char *)pg_str(items, (int)i, 1);
        x->license_no = (char *)pg_str(items, (int)i, 2);
        x->region_code = (char *)pg_str(items, (int)i, 3);
        x->stratum = (char *)pg_str(items, (int)i, 4);
        x->outcome = (char *)pg_str(items, (int)i, 5);
        x->inspected_at = (char *)pg_str(items, (int)i, 6);
        x->findings = (int32_t)pg_int(items, (int)i, 7);
        itp[i] = x;
    }
    out.items = itp;
    out.n_items = n;
    if (in->format && !strcmp(in->format, "csv")) {
        size_t len;
        csv = sampler_public_csv(&out, &len);
        out.csv = csv;
        out.items = NULL; /* the CSV carries them */
        out.n_items = 0;
    }
    rpc_reply_ok(rep, &out.base);
done:
    free(csv);
    free(itp);
    free(it);
    pg_free(&items);
    pg_free(&plan);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}
