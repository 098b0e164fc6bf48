/*
 * intake_checklist.c - publish a checklist version; declare and list rest
 * days (see intake_checklist.h).
 */
#include "intake_checklist.h"
#include "audit.h"
#include "clock.h"
#include "idem.h"
#include "intake_server.h"
#include "intake_write.h"
#include "log.h"
#include "mem.h"
#include "outbox.h"
#include "region.h"
#include "scope.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_METHOD_PUBLISH "intake.publish_checklist"
#define S_METHOD_REST    "intake.add_rest_days"

/* ---- rules (pure) ---------------------------------------------------------- */

static int s_err(ledger_error_t *err, Lz__Status st, const char *field, const char *msg)
{
    err->status = st;
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->message, sizeof err->message, "%s", msg);
    return -1;
}

/* Characters (UTF-8 code points) of s; -1 when s is not valid UTF-8 or has control characters. */
static long s_chars(const char *s)
{
    long n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; n++) {
        int len = *p < 0x80         ? 1
                  : (*p >> 5) == 6  ? 2
                  : (*p >> 4) == 14 ? 3
                  : (*p >> 3) == 30 ? 4
                                    : 0;
        if (len == 0 || (len == 1 && *p < 0x20))
            return -1;
        for (int i = 1; i < len; i++)
            if ((p[i] & 0xc0) != 0x80)
                return -1;
        p += len;
    }
    return n;
}

static bool s_code_ok(const char *c)
{
    size_t n = c ? strlen(c) : 0;
    if (n < 2 || n > 8 || !(c[0] >= 'A' && c[0] <= 'Z'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((c[i] >= 'A' && c[i] <= 'Z') || (c[i] >= '0' && c[i] <= '9')))
            return false;
    return true;
}

int checklist_check(const char *type, const char *kind, Lz__ChecklistItem *const *items, size_t n,
                    ledger_error_t *err)
{
    static const char *const types[] = {"production", "sales", "catering", "canteen",
                                        "small_workshop"};
    bool known = false;
    for (size_t i = 0; type && i < sizeof types / sizeof types[0]; i++)
        known |= strcmp(type, types[i]) == 0;
    if (!type || !type[0])
        return s_err(err, LZ__STATUS__MISSING_FIELD, "type", "type is required");
    if (!known)
        return s_err(err, LZ__STATUS__INVALID_FIELD, "type",
                     "type must be one of: production, sales, catering, canteen, small_workshop");
    if (!kind || !kind[0])
        return s_err(err, LZ__STATUS__MISSING_FIELD, "kind", "kind is required");
    if (strcmp(kind, "daily") && strcmp(kind, "weekly") && strcmp(kind, "monthly") &&
        strcmp(kind, "inspection")) /* inspection: the sampler's spot-check checklist */
        return s_err(err, LZ__STATUS__INVALID_FIELD, "kind",
                     "kind must be one of: daily, weekly, monthly, inspection");
    if (n == 0)
        return s_err(err, LZ__STATUS__MISSING_FIELD, "items", "items must not be empty");
    if (n > CHECKLIST_ITEMS_MAX)
        return s_err(err, LZ__STATUS__INVALID_FIELD, "items", "at most 100 items");
    for (size_t i = 0; i < n; i++) {
        const Lz__ChecklistItem *it = items[i];
        char field[64];
        snprintf(field, sizeof field, "items[%zu].code", i);
        if (!it->code || !it->code[0])
            return s_err(err, LZ__STATUS__MISSING_FIELD, field, "code is required");
        if (!s_code_ok(it->code))
            return s_err(err, LZ__STATUS__INVALID_FIELD, field,
                         "code must be a capital letter and 1 to 7 capitals or digits");
        for (size_t j = 0; j < i; j++)
            if (strcmp(items[j]->code, it->code) == 0)
                return s_err(err, LZ__STATUS__INVALID_FIELD, field, "code is given twice");
        long c;
        snprintf(field, sizeof field, "items[%zu].text", i);
        if (!it->text || (c = s_chars(it->text)) < 1)
            return s_err(err, it->text ? LZ__STATUS__INVALID_FIELD : LZ__STATUS__MISSING_FIELD,
                         field, "text is required (printable text)");
        if (c > CHECKLIST_TEXT_MAX)
            return s_err(err, LZ__STATUS__INVALID_FIELD, field, "text is longer than 200");
        snprintf(field, sizeof field, "items[%zu].category", i);
        if (!it->category || (c = s_chars(it->category)) < 1)
            return s_err(err, it->category ? LZ__STATUS__INVALID_FIELD : LZ__STATUS__MISSING_FIELD,
                         field, "category is required (printable text)");
        if (c > CHECKLIST_CAT_MAX)
            return s_err(err, LZ__STATUS__INVALID_FIELD, field, "category is longer than 50");
        snprintf(field, sizeof field, "items[%zu].measure", i);
        if (it->measure && ((c = s_chars(it->measure)) < 0 || c > CHECKLIST_MEASURE_MAX))
            return s_err(err, LZ__STATUS__INVALID_FIELD, field,
                         "measure must be printable text of at most 1000");
    }
    return 0;
}

int rest_check_days(char *const *days, size_t n, int64_t now, ledger_error_t *err)
{
    if (n == 0)
        return s_err(err, LZ__STATUS__MISSING_FIELD, "days", "days must not be empty");
    if (n > REST_DAYS_PER_REQUEST)
        return s_err(err, LZ__STATUS__INVALID_FIELD, "days", "at most 62 days at once");
    int y, m, d;
    local_date(now, &y, &m, &d);
    int64_t today = local_midnight(y, m, d);
    for (size_t i = 0; i < n; i++) {
        char field[32];
        snprintf(field, sizeof field, "days[%zu]", i);
        period_t p;
        if (!days[i] || strlen(days[i]) != 10 || period_parse_kind(PERIOD_DAILY, days[i], &p) != 0)
            return s_err(err, LZ__STATUS__INVALID_FIELD, field, "a day must be YYYY-MM-DD");
        int64_t start = period_start(&p);
        if (start < today)
            return s_err(err, LZ__STATUS__INVALID_FIELD, field,
                         "a rest day must be today or later");
        if (start > today + (int64_t)REST_DAYS_AHEAD * 86400)
            return s_err(err, LZ__STATUS__INVALID_FIELD, field,
                         "a rest day may be at most 366 days ahead");
    }
    return 0;
}

/* ---- publish ------------------------------------------------------------------ */

void intake_publish_checklist(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    intake_t *self = ctx;
    Lz__PublishChecklistRequest *in =
        (Lz__PublishChecklistRequest *)rpc_unpack(req, &lz__publish_checklist_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    PGresult *res = NULL;
    char *arrs[5] = {NULL};
    if (!scope_is_admin(req->caller) && !scope_is_regulator(req->caller)) {
        rpc_reply_error(rep, LZ__STATUS__FORBIDDEN, NULL, "only regulators publish checklists");
        goto done;
    }
    ledger_error_t err;
    if (checklist_check(in->type, in->kind, in->items, in->n_items, &err) != 0) {
        rpc_reply_error(rep, err.status, err.field, "%s", err.message);
        goto done;
    }
    if (idem_begin_req(self->pg, S_METHOD_PUBLISH, req, rep) != 1)
        goto done;
    char by[128];
    intake_caller_name(req->caller, by, sizeof by);
    const char *lp[] = {in->type, in->kind, by};
    res = pg_query_prepared(self->pg, "checklist_publish",
                            "WITH l AS (SELECT pg_advisory_xact_lock(hashtext('checklist:' || $1 "
                            "|| ':' || $2))) "
                            "INSERT INTO checklists (type, kind, version, published_by) "
                            "SELECT $1, $2, coalesce((SELECT max(version) FROM checklists "
                            "WHERE type = $1 AND kind = $2), 0) + 1, $3 FROM l "
                            "RETURNING id, version, extract(epoch FROM published_at)::bigint",
                            3, lp);
    if (!res || PQntuples(res) != 1)
        goto failed;
    int64_t id = pg_int(res, 0, 0);
    int32_t version = (int32_t)pg_int(res, 0, 1);
    int64_t at = pg_int(res, 0, 2);
    pg_free(&res);
    buf_t *c = intake_arr_new(), *t = intake_arr_new(), *m = intake_arr_new(),
          *g = intake_arr_new(), *r = intake_arr_new();
    for (size_t i = 0; i < in->n_items; i++) {
        const Lz__ChecklistItem *it = in->items[i];
        intake_arr_text(c, it->code);
        intake_arr_text(t, it->text);
        intake_arr_text(m, it->measure ? it->measure : "");
        intake_arr_text(g, it->category);
        intake_arr_bool(r, it->has_required ? it->required : true);
    }
    char idtxt[24];
    snprintf(idtxt, sizeof idtxt, "%" PRId64, id);
    arrs[0] = intake_arr_done(&c);
    arrs[1] = intake_arr_done(&t);
    arrs[2] = intake_arr_done(&m);
    arrs[3] = intake_arr_done(&g);
    arrs[4] = intake_arr_done(&r);
    const char *ip[] = {idtxt, arrs[0], arrs[1], arrs[2], arrs[3], arrs[4]};
    if (pg_exec(self->pg,
                "INSERT INTO checklist_items (checklist_id, position, code, text, measure, "
                "category, required) SELECT $1, n, c, t, m, g, r FROM unnest($2::text[], "
                "$3::text[], $4::text[], $5::text[], $6::bool[]) WITH ORDINALITY AS u(c, t, m, "
                "g, r, n)",
                6, ip) != 0)
        goto failed;

    Lz__ChecklistPublished ev = LZ__CHECKLIST_PUBLISHED__INIT;
    ev.has_checklist_id = ev.has_version = ev.has_items = ev.has_published_at = 1;
    ev.checklist_id = id;
    ev.type = in->type;
    ev.kind = in->kind;
    ev.version = version;
    ev.items = (int32_t)in->n_items;
    ev.published_by = by;
    ev.published_at = at;
    size_t len = protobuf_c_message_get_packed_size(&ev.base);
    uint8_t *bin = xmalloc(len ? len : 1);
    protobuf_c_message_pack(&ev.base, bin);
    char key[64], object[48];
    snprintf(key, sizeof key, "%s:%s", in->type, in->kind);
    snprintf(object, sizeof object, "checklists/%" PRId64, id);
    json_t *d = json_pack("{s:s,s:s,s:i,s:i}", "type", in->type, "kind", in->kind, "version",
                          version, "items", (int)in->n_items);
    char *dj = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    int wrc = outbox_write(self->pg, "checklist.published", key, bin, len);
    if (wrc == 0)
        wrc = audit_write(self->pg, req->caller, "checklist.publish", object, req->request_id, dj);
    free(bin);
    free(dj);

    Lz__Checklist out = LZ__CHECKLIST__INIT;
    out.type = in->type;
    out.kind = in->kind;
    out.has_version = out.has_id = 1;
    out.version = version;
    out.id = id;
    out.n_items = in->n_items;
    out.items = in->items;
    for (size_t i = 0; i < in->n_items; i++)
        if (!in->items[i]->has_required) {
            in->items[i]->has_required = 1;
            in->items[i]->required = true;
        }
    if (wrc != 0)
        goto failed;
    rpc_reply_created(rep, &out.base);
    if (idem_finish(self->pg, S_METHOD_PUBLISH, req->request_id, rep) != 0 ||
        pg_commit(self->pg) != 0)
        goto failed;
    log_info("checklist %s/%s version %d published by %s", in->type, in->kind, version, by);
    goto done;
failed:
    if (pg_in_transaction(self->pg))
        pg_rollback(self->pg);
    rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
done:
    for (int i = 0; i < 5; i++)
        free(arrs[i]);
    pg_free(&res);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

/* ---- rest days ---------------------------------------------------------------- */

/*
 * Check the business exists and the caller may declare (or read) its rest
 * days: admin, a regulator of its region, the business itself.  0, or -1
 * with rep set (404 outside the caller's scope).
 */
static int s_rest_business(intake_t *self, const Lz__Envelope *req, const Lz__RestDaysRequest *in,
                           rpc_reply_t *rep)
{
    if (!in->has_business_id) {
        rpc_reply_error(rep, LZ__STATUS__MISSING_FIELD, "business_id", "business_id is required");
        return -1;
    }
    char bid[24];
    snprintf(bid, sizeof bid, "%" PRId64, in->business_id);
    const char *p[] = {bid};
    PGresult *res = pg_query_prepared(self->pg, "rest_business",
                                      "SELECT region_code FROM businesses WHERE id = $1", 1, p);
    if (!res) {
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
        return -1;
    }
    bool ok = PQntuples(res) == 1 &&
              scope_business_visible(req->caller, in->business_id, pg_str(res, 0, 0));
    pg_free(&res);
    if (!ok) {
        rpc_reply_error(rep, LZ__STATUS__NOT_FOUND, "business_id", "no business %" PRId64,
                        in->business_id);
        return -1;
    }
    return 0;
}

/* Fill out with the business's rest days from `from` on; the result to free after replying. */
static PGresult *s_rest_list(intake_t *self, int64_t business_id, const char *from,
                             Lz__RestDays *out)
{
    char bid[24];
    snprintf(bid, sizeof bid, "%" PRId64, business_id);
    const char *p[] = {bid, from};
    PGresult *res = pg_query_prepared(self->pg, "rest_list",
                                      "SELECT to_char(day, 'YYYY-MM-DD') FROM business_rest_days "
                                      "WHERE business_id = $1 AND day >= $2::date ORDER BY day "
                                      "LIMIT 1000",
                                      2, p);
    if (!res)
        return NULL;
    out->has_business_id = 1;
    out->business_id = business_id;
    out->n_days = (size_t)PQntuples(res);
    out->days = xcalloc(out->n_days + 1, sizeof *out->days);
    for (size_t i = 0; i < out->n_days; i++)
        out->days[i] = (char *)pg_str(res, (int)i, 0);
    return res;
}

static void s_today(intake_t *self, char out[16])
{
    int y, m, d;
    local_date(clock_now_s() + self->clock_offset_s, &y, &m, &d);
    snprintf(out, 16, "%04d-%02d-%02d", y, m, d);
}

void intake_add_rest_days(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    intake_t *self = ctx;
    Lz__RestDaysRequest *in =
        (Lz__RestDaysRequest *)rpc_unpack(req, &lz__rest_days_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    PGresult *res = NULL;
    char *days = NULL;
    Lz__RestDays out = LZ__REST_DAYS__INIT;
    int64_t now = clock_now_s() + self->clock_offset_s; /* the handler boundary */
    if (s_rest_business(self, req, in, rep) != 0)
        goto done;
    ledger_error_t err;
    if (rest_check_days(in->days, in->n_days, now, &err) != 0) {
        rpc_reply_error(rep, err.status, err.field, "%s", err.message);
        goto done;
    }
    if (idem_begin_req(self->pg, S_METHOD_REST, req, rep) != 1)
        goto done;
    buf_t *b = intake_arr_new();
    for (size_t i = 0; i < in->n_days; i++)
        intake_arr_text(b, in->days[i]);
    days = intake_arr_done(&b);
    char bid[24], today[16], ahead[16];
    snprintf(bid, sizeof bid, "%" PRId64, in->business_id);
    s_today(self, today);
    snprintf(ahead, sizeof ahead, "%d", REST_DAYS_AHEAD);
    const char *p[] = {bid, days, today, ahead};
    res = pg_query_prepared(self->pg, "rest_add",
                            "WITH ins AS (INSERT INTO business_rest_days (business_id, day) "
                            "SELECT $1, d::date FROM unnest($2::text[]) AS d "
                            "ON CONFLICT DO NOTHING RETURNING day) "
                            "SELECT (SELECT count(*) FROM ins), "
                            "(SELECT count(*) FROM business_rest_days WHERE business_id = $1 "
                            "AND day >= $3::date) + (SELECT count(*) FROM ins) > $4::int",
                            4, p);
    if (!res || PQntuples(res) != 1)
        goto failed;
    int added = (int)pg_int(res, 0, 0);
    if (pg_bool(res, 0, 1)) {
        pg_rollback(self->pg);
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "days",
                        "at most %d rest days may be declared ahead", REST_DAYS_AHEAD);
        goto done;
    }
    pg_free(&res);
    char object[48];
    snprintf(object, sizeof object, "businesses/%" PRId64 "/rest_days", in->business_id);
    json_t *d = json_pack("{s:I,s:i}", "business_id", (json_int_t)in->business_id, "added", added);
    char *dj = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
    int wrc = audit_write(self->pg, req->caller, "business.rest_days", object, req->request_id, dj);
    free(dj);
    if (wrc != 0)
        goto failed;
    res = s_rest_list(self, in->business_id, today, &out);
    if (!res)
        goto failed;
    out.has_added = 1;
    out.added = added;
    rpc_reply_created(rep, &out.base);
    if (idem_finish(self->pg, S_METHOD_REST, req->request_id, rep) != 0 || pg_commit(self->pg) != 0)
        goto failed;
    goto done;
failed:
    if (pg_in_transaction(self->pg))
        pg_rollback(self->pg);
    rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
done:
    free(out.days);
    free(days);
    pg_free(&res);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}

void intake_list_rest_days(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep)
{
    intake_t *self = ctx;
    Lz__RestDaysRequest *in =
        (Lz__RestDaysRequest *)rpc_unpack(req, &lz__rest_days_request__descriptor);
    if (!in) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, NULL, "request does not parse");
        return;
    }
    Lz__RestDays out = LZ__REST_DAYS__INIT;
    PGresult *res = NULL;
    if (s_rest_business(self, req, in, rep) != 0)
        goto done;
    char from[16];
    period_t p;
    if (in->from &&
        (strlen(in->from) != 10 || period_parse_kind(PERIOD_DAILY, in->from, &p) != 0)) {
        rpc_reply_error(rep, LZ__STATUS__INVALID_FIELD, "from", "from must be YYYY-MM-DD");
        goto done;
    }
    if (in->from)
        snprintf(from, sizeof from, "%s", in->from);
    else
        s_today(self, from);
    res = s_rest_list(self, in->business_id, from, &out);
    if (!res)
        rpc_reply_error(rep, LZ__STATUS__UNAVAILABLE, NULL, "database unavailable");
    else
        rpc_reply_ok(rep, &out.base);
done:
    free(out.days);
    pg_free(&res);
    protobuf_c_message_free_unpacked(&in->base, NULL);
}
