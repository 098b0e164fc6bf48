/*
 * intake_visit.c - cadre supervision visits: the rules as pure functions,
 * recording one visit with its findings in one transaction, listing a
 * cadre's visits.  The rules are in intake_visit.h.
 */
#include "intake_visit.h"
#include "audit.h"
#include "clock.h"
#include "idem.h"
#include "intake_business.h"
#include "intake_server.h"
#include "log.h"
#include "mem.h"
#include "outbox.h"
#include "period.h"
#include "region.h"
#include "scope.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METHOD_RECORD "intake.record_visit"

/* ---- pure rules ---------------------------------------------------------------------------- */

bool intake_visit_mode_valid(const char *mode)
{
    return mode && (!strcmp(mode, "on_site") || !strcmp(mode, "joint") || !strcmp(mode, "video"));
}

bool intake_visit_mode_allowed(const char *mode, const char *risk_grade)
{
    if (!intake_visit_mode_valid(mode))
        return false;
    if (risk_grade && risk_grade[0] == 'D')
        return !strcmp(mode, "on_site");
    return true;
}

visit_time_t intake_visit_time_check(int64_t visited_at, int64_t now, int64_t max_age_s)
{
    if (visited_at > now + VISIT_FUTURE_SKEW_S)
        return VISIT_TIME_FUTURE;
    if (visited_at < now - max_age_s)
        return VISIT_TIME_TOO_OLD;
    return VISIT_TIME_OK;
}

/* True if s has a character other than ASCII white space. */
static bool s_has_text(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return true;
    return false;
}

int intake_visit_check(const Lz__RecordVisitRequest *in, int64_t now, int64_t max_age_s,
                       visit_checked_t *out, Lz__Status *status, char *field, size_t flen,
                       char *msg, size_t mlen)
{
#define FAIL(st, f, ...)                                                                           \
    do {                                                                                           \
        *status = (st);                                                                            \
        snprintf(field, flen, "%s", (f));                                                          \
        snprintf(msg, mlen, __VA_ARGS__);                                                          \
        return -1;                                                                                 \
    } while (0)
    if (!in->has_business_id)
        FAIL(LZ__STATUS__MISSING_FIELD, "business_id", "business_id is required");
    if (in->business_id <= 0)
        FAIL(LZ__STATUS__INVALID_FIELD, "business_id", "business_id must be a positive integer");
    if (in->has_cadre_id && in->cadre_id <= 0)
        FAIL(LZ__STATUS__INVALID_FIELD, "cadre_id", "cadre_id must be a positive integer");
    if (!in->visited_at)
        FAIL(LZ__STATUS__MISSING_FIELD, "visited_at", "visited_at is required");
    int64_t t;
    if (rfc3339_parse(in->visited_at, &t) != 0)
        FAIL(LZ__STATUS__INVALID_FIELD, "visited_at",
             "visited_at must be an RFC 3339 time like 2026-11-30T10:00:00+08:00");
    switch (intake_visit_time_check(t, now, max_age_s)) {
    case VISIT_TIME_FUTURE:
        FAIL(LZ__STATUS__INVALID_FIELD, "visited_at", "visited_at is in the future");
    case VISIT_TIME_TOO_OLD:
        FAIL(LZ__STATUS__INVALID_FIELD, "visited_at",
             "visited_at is more than %" PRId64 " days ago", max_age_s / 86400);
    case VISIT_TIME_OK:
        break;
    }
    const char *mode = "on_site";
    if (in->mode) {
        if (!intake_visit_mode_valid(in->mode))
            FAIL(LZ__STATUS__INVALID_FIELD, "mode", "mode must be one of: on_site, joint, video");
        mode = !strcmp(in->mode, "joint")   ? "joint"
               : !strcmp(in->mode, "video") ? "video"
                                            : "on_site";
    }
    if (in->note && strlen(in->note) > VISIT_NOTE_MAX)
        FAIL(LZ__STATUS__INVALID_FIELD, "note", "note must be at most %d bytes", VISIT_NOTE_MAX);
    if (in->n_findings > VISIT_FINDINGS_MAX)
        FAIL(LZ__STATUS__INVALID_FIELD, "findings", "at most %d findings", VISIT_FINDINGS_MAX);
    int open = 0;
    char f[64];
    for (size_t i = 0; i < in->n_findings; i++) {
        const Lz__VisitFinding *fi = in->findings[i];
        if (!fi->description) {
            snprintf(f, sizeof f, "findings[%zu].description", i);
            FAIL(LZ__STATUS__MISSING_FIELD, f, "a finding needs a description");
        }
        if (!s_has_text(fi->description) || strlen(fi->description) > VISIT_DESCRIPTION_MAX) {
            snprintf(f, sizeof f, "findings[%zu].description", i);
            FAIL(LZ__STATUS__INVALID_FIELD, f, "a description is 1 to %d bytes of text",
                 VISIT_DESCRIPTION_MAX);
        }
        if (fi->action && strlen(fi->action) > VISIT_ACTION_MAX) {
            snprintf(f, sizeof f, "findings[%zu].action", i);
            FAIL(LZ__STATUS__INVALID_FIELD, f, "an action is at most %d bytes", VISIT_ACTION_MAX);
        }
        bool fixed = fi->has_fixed && fi->fixed;
        if (fixed && !s_has_text(fi->action)) {
            snprintf(f, sizeof f, "findings[%zu].action", i);
            FAIL(LZ__STATUS__MISSING_FIELD, f, "a fixed finding needs the action taken");
        }
        if (!fixed)
            open++;
    }
    out->visited_at = t;
    out->mode = mode;
    out->problems_open = open;
    return 0;
#undef FAIL
}

/* ---- recording ----------------------------------------------------------------------------- */

static void s_db_failed(intake_t *self, rpc_reply_t *rep)
{
    pg_rollback(self->pg);
    rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
}

/* Pack msg and write it to the outbox under topic, keyed by the business id; 0 or -1. */
static int s_event(intake_t *self, const char *topic, int64_t business_id,
                   const ProtobufCMessage *msg)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = xmalloc(len + 1);
    protobuf_c_message_pack(msg, buf);
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, business_id);
    int rc = outbox_write(self->pg, topic, key, buf, len);
    free(buf);
    return rc;
}

void intake_record_visit(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    intake_t *self = ctx;
    Lz__RecordVisitRequest *in =
        (Lz__RecordVisitRequest *)rpc_unpack(req, &lz__record_visit_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    PGresult *res = NULL;
    char *detail = NULL;
    const Lz__Caller *c = req->caller;
    int64_t cadre_id = 0;
    if (scope_has_role(c, "cadre") && c->has_cadre_id && c->cadre_id > 0) {
        if (in->has_cadre_id && in->cadre_id != c->cadre_id) {
            rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, "cadre_id",
                            "a cadre records visits only as itself");
            goto done;
        }
        cadre_id = c->cadre_id;
    } else if (scope_is_admin(c)) {
        if (!in->has_cadre_id) {
            rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "cadre_id", "cadre_id is required");
            goto done;
        }
        cadre_id = in->cadre_id;
    } else {
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL, "only cadres and admins record visits");
        goto done;
    }
    if (!req->request_id || !req->request_id[0] || strlen(req->request_id) > 64) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "request_id", "a write needs a request_id");
        goto done;
    }
    visit_checked_t chk;
    Lz__Status st;
    char field[64], msg[160];
    if (intake_visit_check(in, clock_now_s() + self->clock_offset_s,
                           (int64_t)self->visit_max_age_days * 86400, &chk, &st, field,
                           sizeof field, msg, sizeof msg) != 0) {
        rpc_reply_error(rep, st, field, "%s", msg);
        goto done;
    }
    if (cadre_id <= 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "cadre_id",
                        "cadre_id must be a positive integer");
        goto done;
    }
    if (idem_begin_req(self->pg, METHOD_RECORD, req, rep) != 1)
        goto done;

    /* the transaction is open from here: every failure rolls back */
    char bid[24], cid[24], at[RFC3339_TEXT_MAX];
    snprintf(bid, sizeof bid, "%" PRId64, in->business_id);
    snprintf(cid, sizeof cid, "%" PRId64, cadre_id);
    if (rfc3339_format(chk.visited_at, at, sizeof at) == 0) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "visited_at", "visited_at is not valid");
        goto done;
    }
    const char *lp[] = {bid, cid};
    res = pg_query_prepared(self->pg, "intake_visit_target",
                            "SELECT (SELECT 1 FROM cadres WHERE id = $2::bigint), b.region_code, "
                            "b.risk_grade, EXISTS (SELECT 1 FROM assignments a WHERE "
                            "a.business_id = b.id AND a.cadre_id = $2::bigint AND a.until IS NULL) "
                            "FROM (SELECT $1::bigint AS id) k "
                            "LEFT JOIN businesses b ON b.id = k.id",
                            2, lp);
    if (!res || PQntuples(res) != 1) {
        s_db_failed(self, rep);
        goto done;
    }
    if (PQgetisnull(res, 0, 0)) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "cadre_id", "no cadre %" PRId64, cadre_id);
        goto done;
    }
    if (PQgetisnull(res, 0, 1) || !pg_bool(res, 0, 3)) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "business_id",
                        "no business %" PRId64 " assigned to cadre %" PRId64, in->business_id,
                        cadre_id);
        goto done;
    }
    char region[REGION_CODE_LEN + 1], grade[2];
    snprintf(region, sizeof region, "%s", pg_str(res, 0, 1));
    snprintf(grade, sizeof grade, "%s", pg_str(res, 0, 2));
    pg_free(&res);
    if (!intake_visit_mode_allowed(chk.mode, grade)) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "mode",
                        "a risk-%s business needs an on_site visit", grade);
        goto done;
    }
    const char *vp[] = {cid, bid, region, at, chk.mode, in->note ? in->note : "", req->request_id};
    res = pg_query_prepared(self->pg, "intake_visit_insert",
                            "INSERT INTO visits (cadre_id, business_id, region_code, visited_at, "
                            "mode, note, request_id) VALUES ($1::bigint, $2::bigint, $3, "
                            "$4::timestamptz, $5, $6, $7) RETURNING id",
                            7, vp);
    if (!res || PQntuples(res) != 1) {
        s_db_failed(self, rep);
        goto done;
    }
    int64_t visit_id = pg_int(res, 0, 0);
    pg_free(&res);
    char vid[24];
    snprintf(vid, sizeof vid, "%" PRId64, visit_id);
    for (size_t i = 0; i < in->n_findings; i++) {
        const Lz__VisitFinding *f = in->findings[i];
        bool fixed = f->has_fixed && f->fixed;
        const char *pp[] = {bid,
                            region,
                            vid,
                            f->description,
                            f->action ? f->action : "",
                            at,
                            fixed ? "true" : "false"};
        res = pg_query_prepared(
            self->pg, "intake_visit_problem",
            "INSERT INTO problems (business_id, region_code, source, source_id, description, "
            "action, opened_at, fixed_at, fixed_action) VALUES ($1::bigint, $2, 'visit', "
            "$3::bigint, $4, $5, $6::timestamptz, CASE WHEN $7::bool THEN $6::timestamptz END, "
            "CASE WHEN $7::bool THEN $5 END) RETURNING id",
            7, pp);
        if (!res || PQntuples(res) != 1) {
            s_db_failed(self, rep);
            goto done;
        }
        int64_t pid = pg_int(res, 0, 0);
        pg_free(&res);
        if (!fixed) {
            Lz__ProblemOpenedEvent ev = LZ__PROBLEM_OPENED_EVENT__INIT;
            ev.has_problem_id = ev.has_business_id = ev.has_source_id = ev.has_opened_at = 1;
            ev.problem_id = pid;
            ev.business_id = in->business_id;
            ev.region_code = region;
            ev.source = "visit";
            ev.source_id = visit_id;
            ev.opened_at = chk.visited_at;
            if (s_event(self, "problem.opened", in->business_id, &ev.base) != 0) {
                s_db_failed(self, rep);
                goto done;
            }
        }
    }
    Lz__VisitRecordedEvent ev = LZ__VISIT_RECORDED_EVENT__INIT;
    ev.has_visit_id = ev.has_cadre_id = ev.has_business_id = ev.has_visited_at = 1;
    ev.has_findings = ev.has_problems_open = 1;
    ev.visit_id = visit_id;
    ev.cadre_id = cadre_id;
    ev.business_id = in->business_id;
    ev.region_code = region;
    ev.visited_at = chk.visited_at;
    ev.mode = (char *)chk.mode;
    ev.findings = (int32_t)in->n_findings;
    ev.problems_open = chk.problems_open;
    Lz__RecordVisitReply out = LZ__RECORD_VISIT_REPLY__INIT;
    out.has_id = out.has_problems_open = 1;
    out.id = visit_id;
    out.problems_open = chk.problems_open;
    json_t *dj = json_pack("{sIsIsssIsi}", "cadre_id", (json_int_t)cadre_id, "business_id",
                           (json_int_t)in->business_id, "mode", chk.mode, "findings",
                           (json_int_t)in->n_findings, "problems_open", chk.problems_open);
    detail = dj ? json_dumps(dj, JSON_COMPACT) : NULL;
    json_decref(dj);
    char object[40];
    snprintf(object, sizeof object, "visits/%" PRId64, visit_id);
    if (s_event(self, "visit.recorded", in->business_id, &ev.base) != 0 ||
        audit_write(self->pg, c, "visit.record", object, req->request_id, detail) != 0) {
        s_db_failed(self, rep);
        goto done;
    }
    rpc_reply_created(rep, &out.base);
    if (idem_finish(self->pg, METHOD_RECORD, req->request_id, rep) != 0 || pg_commit(self->pg) != 0)
        s_db_failed(self, rep);
done:
    free(detail);
    pg_free(&res);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* ---- listing ------------------------------------------------------------------------------- */

void intake_list_cadre_visits(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    intake_t *self = ctx;
    Lz__ListCadreVisitsRequest *in =
        (Lz__ListCadreVisitsRequest *)rpc_unpack(req, &lz__list_cadre_visits_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    PGresult *res = NULL;
    Lz__Visit *items = NULL;
    Lz__Visit **ptrs = NULL;
    char(*times)[RFC3339_TEXT_MAX] = NULL;
    const Lz__Caller *c = req->caller;
    if (!in->has_id) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "id", "id is required");
        goto done;
    }
    int limit;
    if (intake_limit(in->has_limit, in->limit, &limit) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "limit", "limit must be 1 to %d",
                        INTAKE_LIMIT_MAX);
        goto done;
    }
    int64_t to = clock_now_s() + self->clock_offset_s + 1, from;
    if (in->to && rfc3339_parse(in->to, &to) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "to", "to must be an RFC 3339 time");
        goto done;
    }
    from = to - VISIT_LIST_DEFAULT_S;
    if (in->from && rfc3339_parse(in->from, &from) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "from", "from must be an RFC 3339 time");
        goto done;
    }
    if (from >= to || to - from > VISIT_WINDOW_MAX_S) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "from",
                        "from must be before to, at most 366 days apart");
        goto done;
    }
    int64_t keys[2] = {from, 0};
    if (in->cursor && intake_cursor_decode(in->cursor, keys, 2) != 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "cursor", "cursor is not valid");
        goto done;
    }
    /* who may see this cadre */
    char cid[24];
    snprintf(cid, sizeof cid, "%" PRId64, in->id);
    const char *cp[] = {cid};
    res = pg_query_prepared(self->pg, "intake_cadre_region",
                            "SELECT region_code FROM cadres WHERE id = $1::bigint", 1, cp);
    if (!res) {
        s_db_failed(self, rep);
        goto done;
    }
    bool visible = false;
    if (PQntuples(res) == 1) {
        if (scope_has_role(c, "cadre"))
            visible = c->has_cadre_id && c->cadre_id == in->id;
        else
            visible = scope_region_visible(c, pg_str(res, 0, 0));
    }
    pg_free(&res);
    if (!visible) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "id", "no cadre %" PRId64, in->id);
        goto done;
    }
    char from_t[24], to_t[24], k0[24], k1[24], lim[16];
    snprintf(from_t, sizeof from_t, "%" PRId64, from);
    snprintf(to_t, sizeof to_t, "%" PRId64, to);
    snprintf(k0, sizeof k0, "%" PRId64, keys[0]);
    snprintf(k1, sizeof k1, "%" PRId64, keys[1]);
    snprintf(lim, sizeof lim, "%d", limit + 1);
    const char *params[] = {cid, from_t, to_t, k0, k1, lim};
    res = pg_query(self->pg,
                   "SELECT v.id, v.cadre_id, v.business_id, b.name, v.region_code, "
                   "extract(epoch FROM v.visited_at)::bigint, v.mode, v.note "
                   "FROM visits v LEFT JOIN businesses b ON b.id = v.business_id "
                   "WHERE v.cadre_id = $1::bigint "
                   "AND v.visited_at >= to_timestamp($2::bigint) "
                   "AND v.visited_at < to_timestamp($3::bigint) "
                   "AND (v.visited_at, v.id) > (to_timestamp($4::bigint), $5::bigint) "
                   "ORDER BY v.visited_at, v.id LIMIT $6::int",
                   6, params);
    if (!res) {
        s_db_failed(self, rep);
        goto done;
    }
    int n = PQntuples(res);
    bool more = n > limit;
    if (more)
        n = limit;
    Lz__VisitList out = LZ__VISIT_LIST__INIT;
    char next[INTAKE_CURSOR_MAX + 1];
    if (n > 0) {
        items = xcalloc((size_t)n, sizeof *items);
        ptrs = xcalloc((size_t)n, sizeof *ptrs);
        times = xcalloc((size_t)n, sizeof *times);
        for (int i = 0; i < n; i++) {
            Lz__Visit *v = &items[i];
            lz__visit__init(v);
            v->has_id = v->has_cadre_id = v->has_business_id = 1;
            v->id = pg_int(res, i, 0);
            v->cadre_id = pg_int(res, i, 1);
            v->business_id = pg_int(res, i, 2);
            v->business_name = (char *)pg_str(res, i, 3);
            v->region_code = (char *)pg_str(res, i, 4);
            if (rfc3339_format(pg_int(res, i, 5), times[i], sizeof times[i]) > 0)
                v->visited_at = times[i];
            v->mode = (char *)pg_str(res, i, 6);
            v->note = (char *)pg_str(res, i, 7);
            ptrs[i] = v;
        }
        if (more) {
            int64_t last[2] = {pg_int(res, n - 1, 5), items[n - 1].id};
            if (intake_cursor_encode(last, 2, next, sizeof next) == 0)
                out.next_cursor = next;
        }
    }
    out.n_items = (size_t)n;
    out.items = ptrs;
    rpc_reply_ok(rep, &out.base);
done:
    free(times);
    free(ptrs);
    free(items);
    pg_free(&res);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}
