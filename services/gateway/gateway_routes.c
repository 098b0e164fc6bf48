/*
 * gateway_routes.c - the gateway's route table, its handlers, and the JSON they answer.
 *
 * To add a route: add a row to s_routes at the bottom (gateway and intake
 * routes), or to the service's own table in gateway_routes_<service>.c.  An RPC route needs
 * only the row (the service method, its request and reply messages); a local
 * route also needs a handler here.  services/gateway/README.md has the
 * details and the table as it stands.
 */
#include "gateway_routes.h"
#include "audit.h"
#include "business.pb-c.h"
#include "common.pb-c.h"
#include "gateway_auth.h"
#include "gateway_metrics.h"
#include "gateway_server.h"
#include "import.pb-c.h"
#include "ledger.pb-c.h"
#include "log.h"
#include "mem.h"
#include "pbjson.h"
#include "pg.h"
#include "rds.h"
#include "region.h"
#include "registry.pb-c.h"
#include "rpc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Most rows listed in an invalid_rows answer (API.md). */
#define ROWS_MAX 100
/* How long /healthz waits for the broker. */
#define HEALTH_BROKER_MS 1000

/* ---- calls --------------------------------------------------------------- */

void gw_call_init(gw_call_t *call)
{
    memset(call, 0, sizeof *call);
    lz__caller__init(&call->caller);
    call->fd = -1;
}

void gw_call_clear(gw_call_t *call)
{
    for (size_t i = 0; i < call->nquery; i++) {
        free(call->query[i].key);
        free(call->query[i].value);
    }
    call->nquery = 0;
    if (call->json)
        json_decref(call->json);
    call->json = NULL;
    if (call->reply)
        json_decref(call->reply);
    call->reply = NULL;
    xfree(&call->text);
    if (call->fd >= 0)
        close(call->fd);
    call->fd = -1;
}

bool gw_method_is_write(const char *method)
{
    return !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH") ||
           !strcmp(method, "DELETE");
}

bool gw_request_id_valid(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e)
            return false;
    return n >= 1 && n <= GW_RID_MAX;
}

static const char *s_query(const gw_call_t *call, const char *key)
{
    for (size_t i = 0; i < call->nquery; i++)
        if (!strcmp(call->query[i].key, key))
            return call->query[i].value;
    return NULL;
}

int gw_call_request_id(gw_call_t *call)
{
    if (!gw_method_is_write(call->method)) {
        uint8_t raw[12];
        if (sodium_init() < 0)
            return -1;
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(call->request_id, sizeof call->request_id, raw, sizeof raw);
        return 0;
    }
    json_t *v = call->json ? json_object_get(call->json, "request_id") : NULL;
    const char *rid = NULL;
    if (v && !json_is_null(v)) {
        if (!json_is_string(v)) {
            gw_reply_error(call, 400, "invalid_field", "request_id",
                           "request_id must be a string of 1 to 64 visible ASCII characters");
            return -1;
        }
        rid = json_string_value(v);
    } else {
        rid = s_query(call, "request_id");
    }
    if (!rid) {
        gw_reply_error(call, 400, "missing_field", "request_id", "a write needs a request_id");
        return -1;
    }
    if (!gw_request_id_valid(rid)) {
        gw_reply_error(call, 400, "invalid_field", "request_id",
                       "request_id must be a string of 1 to 64 visible ASCII characters");
        return -1;
    }
    snprintf(call->request_id, sizeof call->request_id, "%s", rid);
    return 0;
}

/* ---- answers -------------------------------------------------------------- */

void gw_reply_json(gw_call_t *call, int status, json_t *body)
{
    if (call->reply)
        json_decref(call->reply);
    xfree(&call->text);
    call->status = status;
    call->reply = body;
}

json_t *gw_error_json(const char *code, const char *message, const char *field)
{
    json_t *err = json_object();
    json_object_set_new(err, "code", json_string(code));
    json_t *m = json_string(message ? message : "");
    json_object_set_new(err, "message", m ? m : json_string("(message is not UTF-8)"));
    if (field && field[0]) {
        json_t *f = json_string(field);
        if (f)
            json_object_set_new(err, "field", f);
    }
    json_t *obj = json_object();
    json_object_set_new(obj, "error", err);
    return obj;
}

void gw_reply_error(gw_call_t *call, int status, const char *code, const char *field,
                    const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    gw_reply_json(call, status, gw_error_json(code, msg, field));
}

static const struct {
    Lz__Status status;
    int http;
    const char *code;
    const char *message; /* when the service gives no reason */
} s_statuses[] = {
    {LZ__STATUS__OK, 200, "ok", "ok"},
    {LZ__STATUS__CREATED, 201, "ok", "created"},
    {LZ__STATUS__INVALID_FIELD, 400, "invalid_field", "a field is invalid"},
    {LZ__STATUS__MISSING_FIELD, 400, "missing_field", "a field is missing"},
    {LZ__STATUS__NOT_FOUND, 404, "not_found", "not found"},
    {LZ__STATUS__CONFLICT, 409, "conflict", "conflicts with what exists"},
    {LZ__STATUS__FORBIDDEN, 403, "forbidden", "not allowed"},
    {LZ__STATUS__UNAVAILABLE, 503, "unavailable", "the service is unavailable"},
    {LZ__STATUS__INTERNAL, 500, "internal", "internal error"},
    {LZ__STATUS__TOO_LARGE, 413, "too_large", "too large"},
    {LZ__STATUS__UNAUTHORIZED, 401, "unauthorized", "not authenticated"},
    {LZ__STATUS__INVALID_ROWS, 422, "invalid_rows", "some rows are invalid"},
};
#define NSTATUSES (sizeof s_statuses / sizeof s_statuses[0])

int gw_status_http(Lz__Status s)
{
    for (size_t i = 0; i < NSTATUSES; i++)
        if (s_statuses[i].status == s)
            return s_statuses[i].http;
    return 500;
}

const char *gw_status_code(Lz__Status s)
{
    for (size_t i = 0; i < NSTATUSES; i++)
        if (s_statuses[i].status == s)
            return s_statuses[i].code;
    return "internal";
}

static const char *s_status_message(Lz__Status s)
{
    for (size_t i = 0; i < NSTATUSES; i++)
        if (s_statuses[i].status == s)
            return s_statuses[i].message;
    return "the service answered with an unknown status";
}

/* ---- matching ------------------------------------------------------------- */

const char *gw_param(const gw_params_t *params, const char *name)
{
    for (size_t i = 0; i < params->n; i++)
        if (!strcmp(params->p[i].name, name))
            return params->p[i].value;
    return NULL;
}

/* 1 when path fits pattern (params filled), 0 when not, -1 when it fits but a value is bad. */
static int s_match_pattern(const char *pattern, const char *path, gw_params_t *params)
{
    params->n = 0;
    int bad = 0;
    const char *p = pattern, *u = path;
    for (;;) {
        if (*p != '/' || *u != '/')
            return 0; /* one has more segments, or does not start with '/' */
        p++;
        u++;
        size_t pl = strcspn(p, "/"), ul = strcspn(u, "/");
        if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
            if (params->n < GW_PARAMS_MAX) {
                size_t nl =
                    pl - 2 < sizeof params->p[0].name - 1 ? pl - 2 : sizeof params->p[0].name - 1;
                memcpy(params->p[params->n].name, p + 1, nl);
                params->p[params->n].name[nl] = '\0';
                if (ul == 0 || ul > GW_PARAM_MAX) {
                    bad = 1;
                    params->p[params->n].value[0] = '\0';
                } else {
                    memcpy(params->p[params->n].value, u, ul);
                    params->p[params->n].value[ul] = '\0';
                    for (size_t i = 0; i < ul; i++)
                        if ((unsigned char)u[i] < 0x20 || u[i] == 0x7f)
                            bad = 1;
                }
                params->n++;
            }
        } else if (pl != ul || memcmp(p, u, pl) != 0) {
            return 0;
        }
        p += pl;
        u += ul;
        if (!*p && !*u)
            return bad ? -1 : 1;
    }
}

gw_match_t gw_route_match(const gw_route_t *table, size_t n, const char *method, const char *path,
                          const gw_route_t **route, gw_params_t *params, char *allow,
                          size_t allowlen)
{
    const gw_route_t *first = NULL;
    bool bad = false;
    size_t used = 0;
    if (allow && allowlen)
        allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        gw_params_t tmp;
        int m = s_match_pattern(table[i].pattern, path, &tmp);
        if (m == 0)
            continue;
        if (m < 0) {
            bad = true;
            continue;
        }
        if (!strcmp(table[i].method, method)) {
            *route = &table[i];
            *params = tmp;
            return GW_MATCH_OK;
        }
        if (!first)
            first = &table[i];
        if (allow && used < allowlen && !strstr(allow, table[i].method)) {
            int w =
                snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "", table[i].method);
            if (w > 0)
                used += (size_t)w;
        }
    }
    if (first) {
        *route = first;
        return GW_MATCH_METHOD;
    }
    return bad ? GW_MATCH_BAD_PARAM : GW_MATCH_NONE;
}

/* ---- RPC routes -------------------------------------------------------------- */

static int s_invalid_status(const gw_call_t *call)
{
    return call->route && call->route->invalid_status ? call->route->invalid_status : 400;
}

ProtobufCMessage *gw_rpc_request(gw_call_t *call)
{
    const gw_route_t *r = call->route;
    const ProtobufCMessageDescriptor *d = r->request;
    char msg[256];
    bool write = gw_method_is_write(call->method);
    json_t *obj = write && call->json ? json_deep_copy(call->json) : json_object();
    if (!protobuf_c_message_descriptor_get_field_by_name(d, "request_id"))
        json_object_del(obj, "request_id"); /* it travels in the envelope */

    if (r->csv) {
        json_t *text = json_stringn(call->body ? call->body : "", call->body_len);
        if (!text) {
            gw_reply_error(call, 400, "invalid_field", "csv", "the file must be UTF-8 text");
            goto fail;
        }
        json_object_set_new(obj, "csv", text);
    }
    for (size_t i = 0; i < call->params.n; i++) {
        const char *name = call->params.p[i].name;
        if (!protobuf_c_message_descriptor_get_field_by_name(d, name))
            continue;               /* used for routing only, like {service} */
        json_object_del(obj, name); /* the path decides */
        if (pbjson_put_text(obj, d, name, call->params.p[i].value, msg, sizeof msg)) {
            gw_reply_error(call, s_invalid_status(call), "invalid_field", name, "%s %s", name, msg);
            goto fail;
        }
    }
    for (size_t i = 0; i < call->nquery; i++) {
        const char *key = call->query[i].key;
        if (write && !strcmp(key, "request_id") &&
            !protobuf_c_message_descriptor_get_field_by_name(d, key))
            continue;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
        if (f && f->label != PROTOBUF_C_LABEL_REPEATED && json_object_get(obj, key)) {
            gw_reply_error(call, s_invalid_status(call), "invalid_field", key,
                           "%s is given more than once", key);
            goto fail;
        }
        if (pbjson_put_text(obj, d, key, call->query[i].value, msg, sizeof msg)) {
            gw_reply_error(call, s_invalid_status(call), "invalid_field", key, "%s %s", key, msg);
            goto fail;
        }
    }
    char field[PBJSON_FIELD_MAX];
    ProtobufCMessage *m = pbjson_to_message(d, obj, field, sizeof field, msg, sizeof msg);
    if (!m) {
        if (!strcmp(msg, PBJSON_REQUIRED))
            gw_reply_error(call, 400, "missing_field", field, "%s is required", field);
        else
            gw_reply_error(call, s_invalid_status(call), "invalid_field", field, "%s%s%s", field,
                           field[0] ? " " : "", msg);
    }
    json_decref(obj);
    return m;
fail:
    json_decref(obj);
    return NULL;
}

static ProtobufCMessage *s_unpack(const Lz__Envelope *rep, const ProtobufCMessageDescriptor *d)
{
    static const uint8_t none[1];
    if (rep->has_payload && rep->payload.len > 0)
        return protobuf_c_message_unpack(d, NULL, rep->payload.len, rep->payload.data);
    return protobuf_c_message_unpack(d, NULL, 0, none);
}

void gw_rpc_answer(gw_call_t *call, const Lz__Envelope *rep)
{
    Lz__Status st = rep->has_status ? rep->status : LZ__STATUS__OK;
    const char *reason = rep->reason && rep->reason[0] ? rep->reason : s_status_message(st);
    if (st == LZ__STATUS__OK || st == LZ__STATUS__CREATED) {
        int http = st == LZ__STATUS__CREATED            ? 201
                   : call->route && call->route->status ? call->route->status
                                                        : 200;
        const ProtobufCMessageDescriptor *d = call->route ? call->route->reply : NULL;
        if (!d) {
            gw_reply_json(call, http, json_object());
            return;
        }
        ProtobufCMessage *m = s_unpack(rep, d);
        if (!m) {
            log_error("%s answered %s with a payload that is not a %s",
                      rep->service ? rep->service : "a service",
                      call->route->rpc_method ? call->route->rpc_method : "?", d->name);
            gw_reply_error(call, 500, "internal", NULL, "the service's answer could not be read");
            return;
        }
        gw_reply_json(call, http, pbjson_from_message(m));
        protobuf_c_message_free_unpacked(m, NULL);
        return;
    }
    if (st == LZ__STATUS__INVALID_ROWS) {
        json_t *rows = json_array();
        Lz__RowErrors *re = (Lz__RowErrors *)s_unpack(rep, &lz__row_errors__descriptor);
        for (size_t i = 0; re && i < re->n_rows && i < ROWS_MAX; i++)
            json_array_append_new(rows, pbjson_from_message(&re->rows[i]->base));
        if (re)
            protobuf_c_message_free_unpacked(&re->base, NULL);
        json_t *body = gw_error_json("invalid_rows", reason, NULL);
        json_object_set_new(json_object_get(body, "error"), "rows", rows);
        gw_reply_json(call, 422, body);
        return;
    }
    int http = gw_status_http(st);
    if (st == LZ__STATUS__INVALID_FIELD)
        http = s_invalid_status(call);
    gw_reply_error(call, http, gw_status_code(st), rep->field, "%s", reason);
}

static bool s_service_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 32 || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

bool gw_wants_csv(const gw_call_t *call)
{
    for (size_t i = 0; i < call->nquery; i++)
        if (!strcmp(call->query[i].key, "format") && call->query[i].value &&
            !strcmp(call->query[i].value, "csv"))
            return true;
    return call->accept && strstr(call->accept, "text/csv") != NULL;
}

void gw_rpc_handler(gw_call_t *call)
{
    const gw_route_t *r = call->route;
    const char *service = r->service ? r->service : gw_param(&call->params, "service");
    if (!service || !s_service_name_valid(service)) {
        gw_reply_error(call, 404, "not_found", "service", "no such service");
        return;
    }
    ProtobufCMessage *m = gw_rpc_request(call);
    if (!m)
        return;
    if (protobuf_c_message_get_packed_size(m) > RPC_FRAME_MAX_DEFAULT - 64 * 1024) {
        pbjson_free(&m);
        gw_reply_error(call, 413, "too_large", NULL, "the request is too large for one message");
        return;
    }
    const gw_settings_t *set = gw_server_settings(call->server);
    Lz__Envelope *rep =
        rpc_mux_call_msg(gw_server_rpc(call->server), service, r->rpc_method, call->request_id,
                         call->ident ? &call->caller : NULL, m, set->rpc_timeout_ms);
    pbjson_free(&m);
    if (!rep) {
        gw_reply_error(call, 503, "unavailable", NULL, "%s did not answer in time", service);
        return;
    }
    gw_rpc_answer(call, rep);
    rpc_envelope_free(&rep);
}

/* ---- local routes: idempotent writes ------------------------------------- */

static void s_db_error(gw_call_t *call, pg_t *pg)
{
    char st[8];
    snprintf(st, sizeof st, "%s", pg ? pg_sqlstate(pg) : "");
    if (pg)
        pg_rollback(pg);
    if (!st[0] || !strncmp(st, "08", 2) || !strncmp(st, "57", 2))
        gw_reply_error(call, 503, "unavailable", NULL, "the database is unavailable");
    else
        gw_reply_error(call, 500, "internal", NULL, "the database refused the change");
}

/*
 * Start a write under call->request_id, keyed "METHOD PATH".  Returns 1 when
 * it is new (a transaction is open and holds the request id), 0 when it was
 * answered before (call has that answer again), -1 on failure (answer set).
 * A concurrent duplicate waits on the first's row and then sees its answer.
 */
static int s_idem_begin(gw_call_t *call, pg_t *pg, const char *key)
{
    const char *params[] = {call->request_id, key};
    if (pg_begin(pg) != 0) {
        s_db_error(call, pg);
        return -1;
    }
    PGresult *res = pg_query(pg,
                             "INSERT INTO gateway_requests (request_id, route, status) "
                             "VALUES ($1, $2, 0) ON CONFLICT (request_id) DO NOTHING "
                             "RETURNING 1",
                             2, params);
    if (!res) {
        s_db_error(call, pg);
        return -1;
    }
    int fresh = PQntuples(res) == 1;
    pg_free(&res);
    if (fresh)
        return 1;
    pg_rollback(pg);
    res = pg_query(pg,
                   "SELECT route, status, response::text FROM gateway_requests "
                   "WHERE request_id = $1",
                   1, params);
    if (!res || PQntuples(res) != 1) {
        pg_free(&res);
        s_db_error(call, pg);
        return -1;
    }
    int status = (int)pg_int(res, 0, 1);
    const char *text = pg_str(res, 0, 2);
    json_t *body = text ? json_loads(text, 0, NULL) : NULL;
    if (strcmp(pg_str(res, 0, 0), key) != 0 || status < 200 || !body) {
        gw_reply_error(call, 409, "conflict", "request_id",
                       "request_id %s was already used for another request", call->request_id);
        if (body)
            json_decref(body);
    } else {
        gw_reply_json(call, status, body);
    }
    pg_free(&res);
    return 0;
}

/* Store the answer under the request id and commit; 0, or -1 (rolled back, answer set). */
static int s_idem_commit(gw_call_t *call, pg_t *pg, int status, const json_t *stored)
{
    char st[16];
    snprintf(st, sizeof st, "%d", status);
    char *text = json_dumps(stored, JSON_COMPACT);
    const char *params[] = {call->request_id, st, text};
    int rc = pg_exec(pg,
                     "UPDATE gateway_requests SET status = $2::int, response = $3::jsonb "
                     "WHERE request_id = $1",
                     3, params);
    free(text);
    if (rc != 0 || pg_commit(pg) != 0) {
        s_db_error(call, pg);
        return -1;
    }
    return 0;
}

static pg_t *s_pg_or_503(gw_call_t *call)
{
    pg_t *pg = gw_server_pg(call->server);
    if (!pg)
        gw_reply_error(call, 503, "unavailable", NULL, "the database is unavailable");
    return pg;
}

/* Read an optional positive integer member; 0 ok (0 when absent), -1 answered. */
static int s_body_id(gw_call_t *call, const char *name, int64_t *out)
{
    json_t *v = json_object_get(call->json, name);
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        gw_reply_error(call, 400, "invalid_field", name, "%s must be a positive integer", name);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

/* Read an optional string member into out (len bytes with NUL); -1 answered. */
static int s_body_str(gw_call_t *call, const char *name, bool required, char *out, size_t len)
{
    json_t *v = json_object_get(call->json, name);
    out[0] = '\0';
    if (!v || json_is_null(v)) {
        if (required) {
            gw_reply_error(call, 400, "missing_field", name, "%s is required", name);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) >= len ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        gw_reply_error(call, 400, "invalid_field", name, "%s must be a string of at most %zu bytes",
                       name, len - 1);
        return -1;
    }
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

/* Check a token request's body; 0 with id filled, or -1 answered. */
static int s_token_fields(gw_call_t *call, token_identity_t *id)
{
    static const char *known[] = {"request_id",  "role",     "name",        "region",
                                  "business_id", "cadre_id", "inspector_id"};
    const char *name;
    json_t *v;
    json_object_foreach(call->json, name, v)
    {
        bool ok = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok = ok || !strcmp(name, known[i]);
        if (!ok) {
            gw_reply_error(call, 400, "invalid_field", name, "%s is not a known field", name);
            return -1;
        }
    }
    memset(id, 0, sizeof *id);
    char region[64];
    if (s_body_str(call, "role", true, id->role, sizeof id->role) ||
        s_body_str(call, "name", true, id->name, sizeof id->name) ||
        s_body_str(call, "region", false, region, sizeof region) ||
        s_body_id(call, "business_id", &id->business_id) ||
        s_body_id(call, "cadre_id", &id->cadre_id) ||
        s_body_id(call, "inspector_id", &id->inspector_id))
        return -1;
    if (!token_role_valid(id->role)) {
        gw_reply_error(call, 400, "invalid_field", "role",
                       "role must be admin, regulator, cadre, inspector or business");
        return -1;
    }
    if (!id->name[0]) {
        gw_reply_error(call, 400, "invalid_field", "name", "name must be 1 to 200 bytes");
        return -1;
    }
    if (region[0] && !region_code_valid(region)) {
        gw_reply_error(call, 400, "invalid_field", "region",
                       "region must be a 12-digit region code");
        return -1;
    }
    memcpy(id->region, region, region[0] ? REGION_CODE_LEN + 1 : 1); /* valid: 12 digits */
    const char *missing = !strcmp(id->role, "regulator") && !id->region[0]      ? "region"
                          : !strcmp(id->role, "business") && !id->business_id   ? "business_id"
                          : !strcmp(id->role, "cadre") && !id->cadre_id         ? "cadre_id"
                          : !strcmp(id->role, "inspector") && !id->inspector_id ? "inspector_id"
                                                                                : NULL;
    if (missing) {
        gw_reply_error(call, 400, "missing_field", missing, "a %s token needs %s", id->role,
                       missing);
        return -1;
    }
    return 0;
}

/* POST /api/v1/tokens */
static void s_token_create(gw_call_t *call)
{
    token_identity_t id;
    if (s_token_fields(call, &id) != 0)
        return;
    pg_t *pg = s_pg_or_503(call);
    if (!pg)
        return;
    char key[GW_PARAM_MAX + 64];
    snprintf(key, sizeof key, "%s %s", call->method, call->path);
    int fresh = s_idem_begin(call, pg, key);
    if (fresh <= 0)
        return;

    char token[TOKEN_TEXT_MAX], err[256];
    if (token_create(pg, &id, token, err, sizeof err) != 0) {
        log_warn("could not create a token: %s", err);
        s_db_error(call, pg);
        return;
    }
    char object[48];
    snprintf(object, sizeof object, "api_tokens/%lld", (long long)id.id);
    json_t *detail = json_object();
    json_object_set_new(detail, "role", json_string(id.role));
    json_object_set_new(detail, "name", json_string(id.name));
    if (id.region[0])
        json_object_set_new(detail, "region", json_string(id.region));
    if (id.business_id)
        json_object_set_new(detail, "business_id", json_integer(id.business_id));
    if (id.cadre_id)
        json_object_set_new(detail, "cadre_id", json_integer(id.cadre_id));
    if (id.inspector_id)
        json_object_set_new(detail, "inspector_id", json_integer(id.inspector_id));
    char *detail_text = json_dumps(detail, JSON_COMPACT);
    json_decref(detail);
    int rc = audit_write(pg, &call->caller, "token.create", object, call->request_id, detail_text);
    free(detail_text);
    if (rc != 0) {
        sodium_memzero(token, sizeof token);
        s_db_error(call, pg);
        return;
    }
    json_t *stored = json_pack("{s:I, s:n}", "id", (json_int_t)id.id, "token");
    rc = s_idem_commit(call, pg, 201, stored);
    json_decref(stored);
    if (rc == 0)
        gw_reply_json(call, 201, json_pack("{s:I, s:s}", "id", (json_int_t)id.id, "token", token));
    sodium_memzero(token, sizeof token);
}

/* DELETE /api/v1/tokens/{id} */
static void s_token_revoke(gw_call_t *call)
{
    const char *text = gw_param(&call->params, "id");
    char *end = NULL;
    errno = 0;
    long long id = text ? strtoll(text, &end, 10) : 0;
    if (!text || errno || *end || id <= 0 || text[0] == '+' || text[0] == ' ') {
        gw_reply_error(call, 400, "invalid_field", "id", "id must be a positive integer");
        return;
    }
    pg_t *pg = s_pg_or_503(call);
    if (!pg)
        return;
    char key[GW_PARAM_MAX + 64];
    snprintf(key, sizeof key, "%s %s", call->method, call->path);
    int fresh = s_idem_begin(call, pg, key);
    if (fresh <= 0)
        return;
    int found = token_revoke(pg, id);
    if (found < 0) {
        s_db_error(call, pg);
        return;
    }
    if (found == 0) {
        pg_rollback(pg);
        gw_reply_error(call, 404, "not_found", "id", "no live token %lld", id);
        return;
    }
    char object[48];
    snprintf(object, sizeof object, "api_tokens/%lld", id);
    if (audit_write(pg, &call->caller, "token.revoke", object, call->request_id, NULL) != 0) {
        s_db_error(call, pg);
        return;
    }
    json_t *body = json_pack("{s:I, s:b}", "id", (json_int_t)id, "revoked", 1);
    if (s_idem_commit(call, pg, 200, body) == 0) {
        gw_auth_forget(gw_server_auth(call->server), id);
        gw_reply_json(call, 200, body);
    } else {
        json_decref(body);
    }
}

/* ---- local routes: operations -------------------------------------------- */

/* GET /healthz */
static void s_healthz(gw_call_t *call)
{
    json_t *down = json_array();
    Lz__Empty empty = LZ__EMPTY__INIT;
    Lz__Envelope *rep = rpc_mux_call_msg(gw_server_rpc(call->server), "broker", "ping",
                                         call->request_id, NULL, &empty.base, HEALTH_BROKER_MS);
    /* the broker answers service "broker" itself, with a PingReply */
    if (!rep || rep->status != LZ__STATUS__OK || !rep->service || strcmp(rep->service, "broker"))
        json_array_append_new(down, json_string("broker"));
    rpc_envelope_free(&rep);
    pg_t *pg = gw_server_pg(call->server);
    if (!pg || !pg_ping(pg))
        json_array_append_new(down, json_string("postgres"));
    rds_t *rds = gw_server_rds(call->server);
    if (!rds || !rds_ping(rds))
        json_array_append_new(down, json_string("redis"));
    if (json_array_size(down) == 0) {
        json_decref(down);
        gw_reply_json(call, 200, json_pack("{s:s}", "status", "ok"));
    } else {
        gw_reply_json(call, 503, json_pack("{s:s, s:o}", "status", "down", "down", down));
    }
}

/* GET /metrics */
static void s_metrics(gw_call_t *call)
{
    gw_reply_json(call, 200, NULL);
    call->text = gw_metrics_render(gw_server_metrics(call->server), &call->text_len);
    call->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* ---- static files ---------------------------------------------------------- */

const char *gw_content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".ico", "image/x-icon"},
        {".webp", "image/webp"},
        {".woff", "font/woff"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
        {".csv", "text/csv; charset=utf-8"},
        {".webmanifest", "application/manifest+json"},
    };
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash : name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcasecmp(dot, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

/* True when every segment of rel is a plain name: no "", ".", "..", dot-files, "\\" or controls. */
static bool s_safe_relative(const char *rel)
{
    const char *s = rel;
    for (;;) {
        size_t n = strcspn(s, "/");
        if (n == 0 || s[0] == '.')
            return false;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '\\')
                return false;
        if (!s[n])
            return true;
        s += n + 1;
    }
}

/* Open root/rel if it is a regular file inside root (index.html for a directory); fd or -1. */
static int s_open_inside(const char *root, const char *rel, uint64_t *size, char **real_out)
{
    char *full = xasprintf("%s/%s", root, rel);
    char *real = realpath(full, NULL);
    free(full);
    size_t rl = strlen(root);
    if (!real || strncmp(real, root, rl) != 0 || (real[rl] != '/' && real[rl] != '\0')) {
        free(real);
        return -1;
    }
    struct stat st;
    if (stat(real, &st) != 0) {
        free(real);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        char *index = xasprintf("%s/index.html", real);
        free(real);
        real = realpath(index, NULL);
        free(index);
        if (!real || strncmp(real, root, rl) != 0 || real[rl] != '/' || stat(real, &st) != 0) {
            free(real);
            return -1;
        }
    }
    if (!S_ISREG(st.st_mode)) {
        free(real);
        return -1;
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        free(real);
        return -1;
    }
    *size = (uint64_t)st.st_size;
    *real_out = real;
    return fd;
}

void gw_static_file(gw_call_t *call, const char *web_dir)
{
    const char *path = call->path;
    size_t len = strlen(path);
    char rel[1024];
    if (len == 0 || path[0] != '/' || len >= sizeof rel) {
        gw_reply_error(call, 404, "not_found", NULL, "no such file");
        return;
    }
    if (len == 1)
        snprintf(rel, sizeof rel, "index.html");
    else
        snprintf(rel, sizeof rel, "%s", path + 1);
    size_t rl = strlen(rel);
    if (rl > 1 && rel[rl - 1] == '/')
        rel[rl - 1] = '\0'; /* "/docs/" is the directory docs */
    char *root = realpath(web_dir, NULL);
    uint64_t size = 0;
    char *real = NULL;
    int fd = root && s_safe_relative(rel) ? s_open_inside(root, rel, &size, &real) : -1;
    free(root);
    if (fd < 0) {
        gw_reply_error(call, 404, "not_found", NULL, "no such file");
        return;
    }
    gw_reply_json(call, 200, NULL);
    call->fd = fd;
    call->fd_size = size;
    call->content_type = gw_content_type(real);
    free(real);
}

/* ---- the table ------------------------------------------------------------- */

static const gw_route_t s_routes[] = {
    /* operations: no token */
    {.method = "GET", .pattern = "/healthz", .kind = GW_LOCAL, .handler = s_healthz},
    {.method = "GET", .pattern = "/metrics", .kind = GW_LOCAL, .handler = s_metrics},

    /* tokens: handled here, in PostgreSQL */
    {.method = "POST",
     .pattern = "/api/v1/tokens",
     .roles = GW_ROLE_ADMIN,
     .kind = GW_LOCAL,
     .handler = s_token_create,
     .status = 201},
    {.method = "DELETE",
     .pattern = "/api/v1/tokens/{id}",
     .roles = GW_ROLE_ADMIN,
     .kind = GW_LOCAL,
     .handler = s_token_revoke},

    /* ledgers (intake) */
    {.method = "POST",
     .pattern = "/api/v1/records",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_BUSINESS,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.submit_record",
     .request = &lz__submit_record_request__descriptor,
     .reply = &lz__submit_record_reply__descriptor},
    {.method = "POST",
     .pattern = "/api/v1/problems/{id}/fix",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_BUSINESS,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.fix_problem",
     .request = &lz__fix_problem_request__descriptor,
     .reply = &lz__problem__descriptor},
    {.method = "GET",
     .pattern = "/api/v1/businesses/{business_id}/problems",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_CADRE | GW_ROLE_BUSINESS,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.list_problems",
     .request = &lz__list_problems_request__descriptor,
     .reply = &lz__problem_list__descriptor},
    {.method = "GET",
     .pattern = "/api/v1/businesses/{business_id}/records",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_CADRE | GW_ROLE_BUSINESS,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.list_records",
     .request = &lz__list_records_request__descriptor,
     .reply = &lz__record_list__descriptor},
    {.method = "GET",
     .pattern = "/api/v1/checklists/{type}",
     .roles = GW_ROLES_ALL,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.get_checklist",
     .request = &lz__get_checklist_request__descriptor,
     .reply = &lz__checklist__descriptor},
    {.method = "POST",
     .pattern = "/api/v1/checklists/{type}",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.publish_checklist",
     .request = &lz__publish_checklist_request__descriptor,
     .reply = &lz__checklist__descriptor},
    {.method = "POST",
     .pattern = "/api/v1/businesses/{business_id}/rest_days",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_BUSINESS,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.add_rest_days",
     .request = &lz__rest_days_request__descriptor,
     .reply = &lz__rest_days__descriptor},
    {.method = "GET",
     .pattern = "/api/v1/businesses/{business_id}/rest_days",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_BUSINESS,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.list_rest_days",
     .request = &lz__rest_days_request__descriptor,
     .reply = &lz__rest_days__descriptor},

    /* registry (intake) */
    {.method = "GET",
     .pattern = "/api/v1/regions/{code}",
     .roles = GW_ROLES_ALL,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.get_region",
     .request = &lz__get_region_request__descriptor,
     .reply = &lz__region__descriptor},
    {.method = "GET",
     .pattern = "/api/v1/businesses/{id}",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_CADRE | GW_ROLE_BUSINESS,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.get_business",
     .request = &lz__get_business_request__descriptor,
     .reply = &lz__business__descriptor},
    {.method = "GET",
     .pattern = "/api/v1/businesses",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_CADRE | GW_ROLE_BUSINESS,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.list_businesses",
     .request = &lz__list_businesses_request__descriptor,
     .reply = &lz__business_list__descriptor},
    {.method = "GET",
     .pattern = "/api/v1/coverage",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.coverage",
     .request = &lz__coverage_request__descriptor,
     .reply = &lz__coverage__descriptor},

    /* visits (intake) */
    {.method = "POST",
     .pattern = "/api/v1/visits",
     .roles = GW_ROLE_ADMIN | GW_ROLE_CADRE,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.record_visit",
     .request = &lz__record_visit_request__descriptor,
     .reply = &lz__record_visit_reply__descriptor},
    {.method = "GET",
     .pattern = "/api/v1/cadres/{id}/visits",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR | GW_ROLE_CADRE,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.list_cadre_visits",
     .request = &lz__list_cadre_visits_request__descriptor,
     .reply = &lz__visit_list__descriptor},
    {.method = "POST",
     .pattern = "/api/v1/import/regions",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.import_regions",
     .request = &lz__import_request__descriptor,
     .reply = &lz__import_reply__descriptor,
     .csv = true},
    {.method = "POST",
     .pattern = "/api/v1/import/businesses",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.import_businesses",
     .request = &lz__import_request__descriptor,
     .reply = &lz__import_reply__descriptor,
     .csv = true},
    {.method = "POST",
     .pattern = "/api/v1/import/cadres",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.import_cadres",
     .request = &lz__import_request__descriptor,
     .reply = &lz__import_reply__descriptor,
     .csv = true},
    {.method = "POST",
     .pattern = "/api/v1/import/assignments",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.import_assignments",
     .request = &lz__import_request__descriptor,
     .reply = &lz__import_reply__descriptor,
     .csv = true},
    {.method = "POST",
     .pattern = "/api/v1/import/inspectors",
     .roles = GW_ROLE_ADMIN | GW_ROLE_REGULATOR,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .service = "intake",
     .rpc_method = "intake.import_inspectors",
     .request = &lz__import_request__descriptor,
     .reply = &lz__import_reply__descriptor,
     .csv = true},

    /* any service's worker, through the broker */
    {.method = "GET",
     .pattern = "/api/v1/ping/{service}",
     .roles = GW_ROLE_ADMIN,
     .kind = GW_RPC,
     .handler = gw_rpc_handler,
     .rpc_method = "ping",
     .request = &lz__empty__descriptor,
     .reply = &lz__ping_reply__descriptor},
};

/* The whole table: s_routes, then each service's own rows (gateway_routes_*.c). */
static gw_route_t *s_all;
static size_t s_nall;
static pthread_once_t s_all_once = PTHREAD_ONCE_INIT;

static void s_join_tables(void)
{
    const struct {
        const gw_route_t *rows;
        size_t n;
    } parts[] = {
        {s_routes, sizeof s_routes / sizeof s_routes[0]},
        {gw_routes_scheduler, gw_routes_scheduler_n},
        {gw_routes_notifier, gw_routes_notifier_n},
        {gw_routes_sampler, gw_routes_sampler_n},
        {gw_routes_scorer, gw_routes_scorer_n},
    };
    size_t total = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        total += parts[i].n;
    s_all = xcalloc(total, sizeof *s_all);
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (parts[i].n)
            memcpy(s_all + s_nall, parts[i].rows, parts[i].n * sizeof *s_all);
        s_nall += parts[i].n;
    }
}

const gw_route_t *gw_routes(size_t *n)
{
    pthread_once(&s_all_once, s_join_tables);
    *n = s_nall;
    return s_all;
}
