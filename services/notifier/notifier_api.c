/*
 * notifier_api.c - the notifier's methods: warnings (issue, reply),
 * notification lists, message templates, SMS delivery receipts.
 *
 * Writes claim their request id with common/idem.h and store the answer in
 * the same transaction as the change, its outbox events and its audit
 * entry, so a repeated request id gets the first answer back.
 */
#include "audit.h"
#include "idem.h"
#include "log.h"
#include "mem.h"
#include "notifier_render.h"
#include "notifier_server.h"
#include "notify.pb-c.h"
#include "outbox.h"
#include "period.h"
#include "region.h"
#include "scope.h"

#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REASON_MAX        2000
#define RECTIFICATION_MAX 4000

static void s_db_failed(notifier_t *self, rpc_reply_t *rep)
{
    pg_rollback(self->pg);
    rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
}

static bool s_has_text(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return true;
    return false;
}

static int s_event(notifier_t *self, const char *topic, const char *key, const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = xmalloc(len + 1);
    protobuf_c_message_pack(m, buf);
    int rc = outbox_write(self->pg, topic, key, buf, len);
    free(buf);
    return rc;
}

/* "2026-12-01 18:00" in local time. */
static void s_local_text(int64_t t, char *out, size_t len)
{
    char r[RFC3339_TEXT_MAX];
    if (rfc3339_format(t, r, sizeof r) == 0) {
        snprintf(out, len, "%" PRId64, t);
        return;
    }
    snprintf(out, len, "%.10s %.5s", r, r + 11);
}

/* ---- warnings ----------------------------------------------------------------------------- */

#define M_ISSUE "notifier.issue_warning"
#define M_REPLY "notifier.reply_warning"

void notifier_issue_warning(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    notifier_t *self = ctx;
    const Lz__Caller *c = req->caller;
    if (!scope_is_admin(c) && !scope_is_regulator(c)) {
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL, "only regulators and admins warn");
        return;
    }
    Lz__IssueWarningRequest *in =
        (Lz__IssueWarningRequest *)rpc_unpack(req, &lz__issue_warning_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    PGresult *res = NULL;
    int64_t rectify_by = 0;
    int64_t now_s = notifier_now_ms(self->conf) / 1000;
    if (!in->has_business_id) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "business_id", "business_id is required");
        goto done;
    }
    if (in->business_id <= 0) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "business_id",
                        "business_id must be positive");
        goto done;
    }
    if (!in->reason) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "reason", "reason is required");
        goto done;
    }
    if (!s_has_text(in->reason) || strlen(in->reason) > REASON_MAX) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "reason", "reason is 1 to %d bytes of text",
                        REASON_MAX);
        goto done;
    }
    if (!in->rectify_by) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "rectify_by", "rectify_by is required");
        goto done;
    }
    if (rfc3339_parse(in->rectify_by, &rectify_by) != 0 || rectify_by <= now_s) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "rectify_by",
                        "rectify_by must be a future RFC 3339 time like 2026-12-01T18:00:00+08:00");
        goto done;
    }
    if (idem_begin_req(self->pg, M_ISSUE, req, rep) != 1)
        goto done;
    char bid[24];
    snprintf(bid, sizeof bid, "%" PRId64, in->business_id);
    const char *bp[] = {bid};
    res = pg_query_prepared(self->pg, "nt_warn_business",
                            "SELECT region_code, name, head_phone, head_name FROM businesses "
                            "WHERE id = $1::bigint",
                            1, bp);
    if (!res) {
        s_db_failed(self, rep);
        goto done;
    }
    if (PQntuples(res) != 1 || !scope_business_visible(c, in->business_id, pg_str(res, 0, 0))) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "business_id", "no business %" PRId64,
                        in->business_id);
        goto done;
    }
    char region[REGION_CODE_LEN + 1], name[512], phone[32], head[256];
    snprintf(region, sizeof region, "%s", pg_str(res, 0, 0));
    snprintf(name, sizeof name, "%s", pg_str(res, 0, 1) ? pg_str(res, 0, 1) : "");
    snprintf(phone, sizeof phone, "%s", pg_str(res, 0, 2) ? pg_str(res, 0, 2) : "");
    snprintf(head, sizeof head, "%s", pg_str(res, 0, 3) ? pg_str(res, 0, 3) : "");
    pg_free(&res);
    char by[RFC3339_TEXT_MAX], who[128];
    rfc3339_format(rectify_by, by, sizeof by);
    snprintf(who, sizeof who, "%s:%s", c->role, c->name ? c->name : "");
    const char *wp[] = {bid, region, in->reason, by, who};
    res = pg_query_prepared(self->pg, "nt_warn_insert",
                            "INSERT INTO warnings (business_id, region_code, reason, rectify_by, "
                            "issued_by) VALUES ($1::bigint, $2, $3, $4::timestamptz, $5) "
                            "RETURNING id, (extract(epoch FROM issued_at) * 1000)::bigint",
                            5, wp);
    if (!res || PQntuples(res) != 1) {
        s_db_failed(self, rep);
        goto done;
    }
    int64_t wid = pg_int(res, 0, 0), issued_ms = pg_int(res, 0, 1);
    pg_free(&res);

    char key[48], by_text[32];
    snprintf(key, sizeof key, "warning:%" PRId64, wid);
    s_local_text(rectify_by, by_text, sizeof by_text);
    Lz__NotifyParam p1 = LZ__NOTIFY_PARAM__INIT, p2 = LZ__NOTIFY_PARAM__INIT,
                    p3 = LZ__NOTIFY_PARAM__INIT;
    p1.key = "business_name";
    p1.value = name;
    p2.key = "reason";
    p2.value = in->reason;
    p3.key = "rectify_by";
    p3.value = by_text;
    Lz__NotifyParam *ps[] = {&p1, &p2, &p3};
    Lz__NotifyRequest nr = LZ__NOTIFY_REQUEST__INIT;
    nr.dedupe_key = key;
    nr.template_ = "warning";
    nr.channel = "sms";
    nr.to = phone;
    nr.to_name = head;
    nr.has_business_id = nr.has_created_at_ms = 1;
    nr.business_id = in->business_id;
    nr.region_code = region;
    nr.n_params = 3;
    nr.params = ps;
    nr.created_at_ms = issued_ms;
    Lz__WarningIssuedEvent ev = LZ__WARNING_ISSUED_EVENT__INIT;
    ev.has_warning_id = ev.has_business_id = ev.has_rectify_by_ms = ev.has_issued_at_ms = 1;
    ev.warning_id = wid;
    ev.business_id = in->business_id;
    ev.region_code = region;
    ev.rectify_by_ms = rectify_by * 1000;
    ev.issued_at_ms = issued_ms;
    ev.reason = in->reason;
    Lz__IssueWarningReply out = LZ__ISSUE_WARNING_REPLY__INIT;
    out.has_id = 1;
    out.id = wid;
    char object[48];
    snprintf(object, sizeof object, "warnings/%" PRId64, wid);
    json_t *dj = json_pack("{sIss}", "business_id", (json_int_t)in->business_id, "rectify_by", by);
    char *detail = dj ? json_dumps(dj, JSON_COMPACT) : NULL;
    json_decref(dj);
    int rc = (phone[0] ? s_event(self, self->conf->topic, key, &nr.base) : 0) ||
             s_event(self, "warning.issued", bid, &ev.base) ||
             audit_write(self->pg, c, "warning.issue", object, req->request_id, detail);
    free(detail);
    if (!rc) {
        rpc_reply_created(rep, &out.base);
        rc = idem_finish(self->pg, M_ISSUE, req->request_id, rep) || pg_commit(self->pg);
    }
    if (rc) {
        s_db_failed(self, rep);
        goto done;
    }
    if (!phone[0])
        log_warn("warning %" PRId64 ": business %" PRId64 " has no head phone, nobody notified",
                 wid, in->business_id);
done:
    pg_free(&res);
    lz__issue_warning_request__free_unpacked(in, NULL);
}

void notifier_reply_warning(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    notifier_t *self = ctx;
    const Lz__Caller *c = req->caller;
    if (!scope_is_admin(c) && !(scope_has_role(c, "business") && c->has_business_id)) {
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL,
                        "only the business warned (or an admin) replies");
        return;
    }
    Lz__ReplyWarningRequest *in =
        (Lz__ReplyWarningRequest *)rpc_unpack(req, &lz__reply_warning_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    PGresult *res = NULL;
    if (!in->has_id || in->id <= 0) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "id", "no such warning");
        goto done;
    }
    if (!in->rectification) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "rectification",
                        "rectification is required");
        goto done;
    }
    if (!s_has_text(in->rectification) || strlen(in->rectification) > RECTIFICATION_MAX) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "rectification",
                        "rectification is 1 to %d bytes of text", RECTIFICATION_MAX);
        goto done;
    }
    if (idem_begin_req(self->pg, M_REPLY, req, rep) != 1)
        goto done;
    char wid[24];
    snprintf(wid, sizeof wid, "%" PRId64, in->id);
    const char *wp[] = {wid};
    res = pg_query_prepared(self->pg, "nt_reply_load",
                            "SELECT business_id, region_code, status, "
                            "(extract(epoch FROM rectify_by) * 1000)::bigint FROM warnings "
                            "WHERE id = $1::bigint FOR UPDATE",
                            1, wp);
    if (!res) {
        s_db_failed(self, rep);
        goto done;
    }
    if (PQntuples(res) != 1 || !scope_business_visible(c, pg_int(res, 0, 0), pg_str(res, 0, 1))) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "id", "no warning %" PRId64, in->id);
        goto done;
    }
    if (strcmp(pg_str(res, 0, 2), "open") != 0) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__CONFLICT, "id", "warning %" PRId64 " was answered already",
                        in->id);
        goto done;
    }
    int64_t business_id = pg_int(res, 0, 0), rectify_by_ms = pg_int(res, 0, 3);
    char region[REGION_CODE_LEN + 1];
    snprintf(region, sizeof region, "%s", pg_str(res, 0, 1));
    pg_free(&res);
    const char *up[] = {wid, in->rectification};
    res = pg_query_prepared(self->pg, "nt_reply_update",
                            "UPDATE warnings SET status = 'answered', rectification = $2, "
                            "answered_at = now() WHERE id = $1::bigint "
                            "RETURNING (extract(epoch FROM answered_at) * 1000)::bigint",
                            2, up);
    if (!res || PQntuples(res) != 1) {
        s_db_failed(self, rep);
        goto done;
    }
    int64_t answered_ms = pg_int(res, 0, 0);
    pg_free(&res);
    char at[RFC3339_TEXT_MAX], bid[24], object[48];
    rfc3339_format(answered_ms / 1000, at, sizeof at);
    snprintf(bid, sizeof bid, "%" PRId64, business_id);
    snprintf(object, sizeof object, "warnings/%" PRId64, in->id);
    Lz__WarningAnsweredEvent ev = LZ__WARNING_ANSWERED_EVENT__INIT;
    ev.has_warning_id = ev.has_business_id = ev.has_rectify_by_ms = ev.has_answered_at_ms = 1;
    ev.warning_id = in->id;
    ev.business_id = business_id;
    ev.region_code = region;
    ev.rectify_by_ms = rectify_by_ms;
    ev.answered_at_ms = answered_ms;
    Lz__ReplyWarningReply out = LZ__REPLY_WARNING_REPLY__INIT;
    out.has_id = 1;
    out.id = in->id;
    out.status = "answered";
    out.answered_at = at;
    if (s_event(self, "warning.answered", bid, &ev.base) ||
        audit_write(self->pg, c, "warning.reply", object, req->request_id, NULL)) {
        s_db_failed(self, rep);
        goto done;
    }
    rpc_reply_ok(rep, &out.base);
    if (idem_finish(self->pg, M_REPLY, req->request_id, rep) || pg_commit(self->pg))
        s_db_failed(self, rep);
done:
    pg_free(&res);
    lz__reply_warning_request__free_unpacked(in, NULL);
}

/* ---- notifications ------------------------------------------------------------------------ */

static char *s_time(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    char buf[RFC3339_TEXT_MAX];
    if (rfc3339_format(pg_int(res, row, col), buf, sizeof buf) == 0)
        return NULL;
    return xstrdup(buf);
}

void notifier_list_notifications(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    notifier_t *self = ctx;
    const Lz__Caller *c = req->caller;
    Lz__ListNotificationsRequest *in = (Lz__ListNotificationsRequest *)rpc_unpack(
        req, &lz__list_notifications_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    char bid[24], cid[24], prefix[REGION_CODE_LEN + 1] = "", plen[8] = "0", cur[24], lim[8];
    const char *business = NULL, *cadre = NULL, *region = NULL, *cursor = NULL;
    if (in->has_business_id) {
        snprintf(bid, sizeof bid, "%" PRId64, in->business_id);
        business = bid;
    }
    if (in->has_cadre_id) {
        snprintf(cid, sizeof cid, "%" PRId64, in->cadre_id);
        cadre = cid;
    }
    if (in->status && !notifier_status_valid(in->status)) {
        rpc_reply_error(
            rep, LZ__STATUS__INVALID_FIELD, "status",
            "status must be one of queued, held, sending, sent, delivered, failed, dead");
        goto done;
    }
    int limit = in->has_limit ? in->limit : 100;
    if (limit < 1 || limit > 1000) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "limit", "limit must be 1 to 1000");
        goto done;
    }
    if (in->cursor) {
        char *end;
        long long v = strtoll(in->cursor, &end, 10);
        if (*end || v <= 0) {
            rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "cursor", "cursor is not valid");
            goto done;
        }
        snprintf(cur, sizeof cur, "%lld", v);
        cursor = cur;
    }
    const char *scope_region = NULL;
    if (scope_is_admin(c)) {
        scope_region = in->region;
    } else if (scope_is_regulator(c)) {
        scope_region = in->region ? in->region : c->region;
        if (!scope_region_visible(c, scope_region)) {
            rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "region",
                            "no region %s in your jurisdiction", scope_region);
            goto done;
        }
    } else if (scope_has_role(c, "business") && c->has_business_id) {
        snprintf(bid, sizeof bid, "%" PRId64, c->business_id);
        if (in->has_business_id && in->business_id != c->business_id) {
            rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "business_id", "no such business");
            goto done;
        }
        business = bid;
    } else if (scope_has_role(c, "cadre") && c->has_cadre_id) {
        snprintf(cid, sizeof cid, "%" PRId64, c->cadre_id);
        if (in->has_cadre_id && in->cadre_id != c->cadre_id) {
            rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "cadre_id", "no such cadre");
            goto done;
        }
        cadre = cid;
    } else {
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL, "notifications are not for this role");
        goto done;
    }
    if (scope_region) {
        region_level_t lvl;
        if (region_level_of(scope_region, &lvl) != 0) {
            rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "region",
                            "region is not a region code");
            goto done;
        }
        size_t n = region_prefix_len(lvl);
        snprintf(prefix, sizeof prefix, "%.*s", (int)n, scope_region);
        snprintf(plen, sizeof plen, "%zu", n);
        region = prefix;
    }
    snprintf(lim, sizeof lim, "%d", limit + 1);
    const char *p[] = {business, cadre, in->status, region, plen, cursor, lim};
    PGresult *res = pg_query_prepared(
        self->pg, "nt_list",
        "SELECT id, channel, recipient, template, status, attempts, "
        "extract(epoch FROM created_at)::bigint, "
        "extract(epoch FROM coalesce(delivered_at, sent_at))::bigint, dedupe_key, last_error, "
        "extract(epoch FROM CASE WHEN status IN ('queued', 'held') THEN next_at END)::bigint, "
        "business_id, region_code, urgent FROM deliveries "
        "WHERE ($1::bigint IS NULL OR business_id = $1::bigint) "
        "AND ($2::bigint IS NULL OR cadre_id = $2::bigint) "
        "AND ($3::text IS NULL OR status = $3) "
        "AND ($4::text IS NULL OR left(region_code, $5::int) = $4) "
        "AND ($6::bigint IS NULL OR id < $6::bigint) ORDER BY id DESC LIMIT $7::int",
        7, p);
    if (!res) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        goto done;
    }
    int rows = PQntuples(res), n = rows > limit ? limit : rows;
    Lz__NotificationList out = LZ__NOTIFICATION_LIST__INIT;
    Lz__Notification *items = xcalloc((size_t)n + 1, sizeof *items);
    Lz__Notification **ptrs = xcalloc((size_t)n + 1, sizeof *ptrs);
    for (int i = 0; i < n; i++) {
        Lz__Notification *it = &items[i];
        lz__notification__init(it);
        it->has_id = it->has_attempts = it->has_urgent = 1;
        it->id = pg_int(res, i, 0);
        it->channel = (char *)pg_str(res, i, 1);
        it->recipient = (char *)pg_str(res, i, 2);
        it->template_ = (char *)pg_str(res, i, 3);
        it->status = (char *)pg_str(res, i, 4);
        it->attempts = (int32_t)pg_int(res, i, 5);
        it->created_at = s_time(res, i, 6);
        it->delivered_at = s_time(res, i, 7);
        it->dedupe_key = (char *)pg_str(res, i, 8);
        it->last_error = (char *)pg_str(res, i, 9);
        it->next_at = s_time(res, i, 10);
        if (!PQgetisnull(res, i, 11)) {
            it->has_business_id = 1;
            it->business_id = pg_int(res, i, 11);
        }
        it->region_code = (char *)pg_str(res, i, 12);
        it->urgent = pg_bool(res, i, 13);
        ptrs[i] = it;
    }
    out.n_items = (size_t)n;
    out.items = ptrs;
    char next[24];
    if (rows > limit) {
        snprintf(next, sizeof next, "%" PRId64, items[n - 1].id);
        out.next_cursor = next;
    }
    rpc_reply_ok(rep, &out.base);
    for (int i = 0; i < n; i++) {
        free(items[i].created_at);
        free(items[i].delivered_at);
        free(items[i].next_at);
    }
    free(items);
    free(ptrs);
    pg_free(&res);
done:
    lz__list_notifications_request__free_unpacked(in, NULL);
}

/* ---- templates ---------------------------------------------------------------------------- */

static void s_template_reply(rpc_reply_t *rep, const PGresult *res)
{
    Lz__Template t = LZ__TEMPLATE__INIT;
    t.name = (char *)pg_str(res, 0, 0);
    t.title = (char *)pg_str(res, 0, 1);
    t.body = (char *)pg_str(res, 0, 2);
    char names[RENDER_PARAMS_MAX][RENDER_NAME_MAX + 1];
    size_t n = notifier_template_params(t.body, names, RENDER_PARAMS_MAX);
    char *ptrs[RENDER_PARAMS_MAX];
    for (size_t i = 0; i < n; i++)
        ptrs[i] = names[i];
    t.n_params = n;
    t.params = ptrs;
    t.updated_at = s_time(res, 0, 3);
    rpc_reply_ok(rep, &t.base);
    free(t.updated_at);
}

void notifier_get_template(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    notifier_t *self = ctx;
    if (!scope_is_admin(req->caller) && !scope_is_regulator(req->caller)) {
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL,
                        "templates are for admins and regulators");
        return;
    }
    Lz__TemplateRequest *in =
        (Lz__TemplateRequest *)rpc_unpack(req, &lz__template_request__descriptor);
    if (!in || !in->name) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "name", "no such template");
        if (in)
            lz__template_request__free_unpacked(in, NULL);
        return;
    }
    const char *p[] = {in->name};
    PGresult *res = pg_query_prepared(self->pg, "nt_tpl_get",
                                      "SELECT name, title, body, extract(epoch FROM "
                                      "updated_at)::bigint FROM notify_templates WHERE name = $1",
                                      1, p);
    if (!res)
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
    else if (PQntuples(res) != 1)
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "name", "no template %s", in->name);
    else
        s_template_reply(rep, res);
    pg_free(&res);
    lz__template_request__free_unpacked(in, NULL);
}

void notifier_put_template(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    notifier_t *self = ctx;
    if (!scope_is_admin(req->caller)) {
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL, "only admins edit templates");
        return;
    }
    Lz__TemplateRequest *in =
        (Lz__TemplateRequest *)rpc_unpack(req, &lz__template_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    PGresult *res = NULL;
    if (!in->body || !in->title) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, in->body ? "title" : "body",
                        "%s is required", in->body ? "title" : "body");
        goto done;
    }
    if (!s_has_text(in->body) || strlen(in->body) > 20000) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "body", "body is 1 to 20000 bytes of text");
        goto done;
    }
    if (!s_has_text(in->title) || strlen(in->title) > 200) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "title", "title is 1 to 200 bytes of text");
        goto done;
    }
    char who[128], object[96];
    const Lz__Caller *c = req->caller;
    snprintf(who, sizeof who, "%s:%s", c->role, c->name ? c->name : "");
    snprintf(object, sizeof object, "notify_templates/%.60s", in->name ? in->name : "");
    const char *p[] = {in->name, in->title, in->body, who};
    if (pg_begin(self->pg) != 0) {
        s_db_failed(self, rep);
        goto done;
    }
    res = pg_query_prepared(self->pg, "nt_tpl_put",
                            "UPDATE notify_templates SET title = $2, body = $3, updated_at = "
                            "now(), updated_by = $4 WHERE name = $1 RETURNING name, title, body, "
                            "extract(epoch FROM updated_at)::bigint",
                            4, p);
    if (!res) {
        s_db_failed(self, rep);
        goto done;
    }
    if (PQntuples(res) != 1) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "name", "no template %s", in->name);
        goto done;
    }
    if (audit_write(self->pg, c, "template.update", object, req->request_id, NULL) ||
        pg_commit(self->pg)) {
        s_db_failed(self, rep);
        goto done;
    }
    s_template_reply(rep, res);
done:
    pg_free(&res);
    lz__template_request__free_unpacked(in, NULL);
}

/* ---- SMS receipts ------------------------------------------------------------------------- */

void notifier_sms_receipt(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    notifier_t *self = ctx;
    const char *want = self->conf->sms_callback_secret;
    Lz__SmsReceiptRequest *in =
        (Lz__SmsReceiptRequest *)rpc_unpack(req, &lz__sms_receipt_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    json_t *root = NULL;
    if (!want[0] || !in->secret || strlen(in->secret) != strlen(want) ||
        sodium_memcmp(in->secret, want, strlen(want)) != 0) {
        rpc_reply_error(rep, LZ__STATUS__UNAUTHORIZED, "secret", "wrong callback secret");
        goto done;
    }
    json_error_t err;
    root = in->csv ? json_loads(in->csv, 0, &err) : NULL;
    if (json_is_object(root)) {
        json_t *a = json_array();
        json_array_append(a, root);
        json_decref(root);
        root = a;
    }
    if (!json_is_array(root)) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "body",
                        "the body must be the provider's JSON receipts");
        goto done;
    }
    int accepted = 0;
    size_t i;
    json_t *r;
    json_array_foreach(root, i, r)
    {
        const char *sid = json_string_value(json_object_get(r, "sid"));
        const char *st = json_string_value(json_object_get(r, "report_status"));
        const char *msg = json_string_value(json_object_get(r, "errmsg"));
        if (!sid || !st || strlen(sid) > 128)
            continue;
        const char *p[] = {sid, !strcmp(st, "SUCCESS") ? "true" : "false", msg ? msg : st};
        PGresult *res = pg_query_prepared(
            self->pg, "nt_receipt",
            "UPDATE deliveries SET status = CASE WHEN $2::bool THEN 'delivered' ELSE 'failed' END, "
            "delivered_at = CASE WHEN $2::bool THEN now() END, "
            "last_error = CASE WHEN $2::bool THEN NULL ELSE 'receipt: ' || $3 END, "
            "updated_at = now() WHERE provider_ref = $1 AND status IN ('sent', 'sending') "
            "RETURNING id",
            3, p);
        if (!res) {
            rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
            goto done;
        }
        accepted += PQntuples(res);
        pg_free(&res);
    }
    Lz__SmsReceiptReply out = LZ__SMS_RECEIPT_REPLY__INIT;
    out.has_accepted = 1;
    out.accepted = accepted;
    rpc_reply_ok(rep, &out.base);
done:
    json_decref(root);
    lz__sms_receipt_request__free_unpacked(in, NULL);
}
