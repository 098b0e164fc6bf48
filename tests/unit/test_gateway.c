/*
 * test_gateway.c - unit tests for the gateway's modules without a network:
 * route matching, the error shape, lz.Status -> HTTP, request ids, building
 * RPC requests from JSON/path/query and answers from reply envelopes, the
 * token cache and role checks, metrics text and static files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.pb-c.h"
#include "gateway/gateway_auth.h"
#include "gateway/gateway_metrics.h"
#include "gateway/gateway_routes.h"
#include "pbjson.h"
#include "registry.pb-c.h"
#include "rpc.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static json_t *s_json(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!j)
        fail_msg("bad test JSON %s: %s", text, err.text);
    return j;
}

static void s_call(gw_call_t *call, const gw_route_t *route, const char *method, const char *path)
{
    gw_call_init(call);
    call->route = route;
    call->method = method;
    call->path = path;
}

static void s_add_query(gw_call_t *call, const char *k, const char *v)
{
    call->query[call->nquery].key = strdup(k);
    call->query[call->nquery].value = strdup(v);
    call->nquery++;
}

/* Assert call's answer is the error shape with status, code and field (NULL: none). */
static void s_is_error(const gw_call_t *call, int status, const char *code, const char *field)
{
    char *text = call->reply ? json_dumps(call->reply, JSON_COMPACT) : NULL;
    if (call->status != status)
        fail_msg("status %d, want %d: %s", call->status, status, text ? text : "(no body)");
    json_t *err = json_object_get(call->reply, "error");
    assert_true(json_is_object(err));
    assert_int_equal(json_object_size(call->reply), 1);
    assert_string_equal(json_string_value(json_object_get(err, "code")), code);
    assert_true(json_is_string(json_object_get(err, "message")));
    json_t *f = json_object_get(err, "field");
    if (field) {
        if (!f || strcmp(json_string_value(f), field) != 0)
            fail_msg("field %s, want %s: %s", f ? json_string_value(f) : "(none)", field, text);
    } else {
        assert_null(f);
    }
    free(text);
}

/* ---- matching ------------------------------------------------------------------ */

static const gw_route_t s_table[] = {
    {.method = "GET", .pattern = "/healthz"},
    {.method = "GET", .pattern = "/api/v1/regions/{code}"},
    {.method = "POST", .pattern = "/api/v1/tokens"},
    {.method = "DELETE", .pattern = "/api/v1/tokens/{id}"},
    {.method = "GET", .pattern = "/api/v1/tokens/{id}"},
    {.method = "GET", .pattern = "/api/v1/plans/{id}/strata/{region}"},
    {.method = "GET", .pattern = "/api/v1/plans/{id}/verify"},
};

static void test_route_match(void **state)
{
    (void)state;
    const gw_route_t *r = NULL;
    gw_params_t p;
    char allow[64];
    size_t n = ARRAY_LEN(s_table);

    assert_int_equal(gw_route_match(s_table, n, "GET", "/healthz", &r, &p, allow, sizeof allow),
                     GW_MATCH_OK);
    assert_ptr_equal(r, &s_table[0]);
    assert_int_equal(p.n, 0);

    assert_int_equal(gw_route_match(s_table, n, "GET", "/api/v1/regions/340700000000", &r, &p,
                                    allow, sizeof allow),
                     GW_MATCH_OK);
    assert_ptr_equal(r, &s_table[1]);
    assert_string_equal(gw_param(&p, "code"), "340700000000");
    assert_null(gw_param(&p, "id"));

    assert_int_equal(gw_route_match(s_table, n, "GET", "/api/v1/plans/7/strata/3407", &r, &p, allow,
                                    sizeof allow),
                     GW_MATCH_OK);
    assert_ptr_equal(r, &s_table[5]);
    assert_string_equal(gw_param(&p, "id"), "7");
    assert_string_equal(gw_param(&p, "region"), "3407");

    assert_int_equal(
        gw_route_match(s_table, n, "GET", "/api/v1/plans/7/verify", &r, &p, allow, sizeof allow),
        GW_MATCH_OK);
    assert_ptr_equal(r, &s_table[6]);

    /* same path, other methods: 405 with Allow */
    assert_int_equal(
        gw_route_match(s_table, n, "PUT", "/api/v1/tokens/5", &r, &p, allow, sizeof allow),
        GW_MATCH_METHOD);
    assert_string_equal(allow, "DELETE, GET");
    assert_ptr_equal(r, &s_table[3]);
    assert_int_equal(
        gw_route_match(s_table, n, "DELETE", "/api/v1/tokens", &r, &p, allow, sizeof allow),
        GW_MATCH_METHOD);
    assert_string_equal(allow, "POST");

    /* near misses */
    static const char *none[] = {"/",
                                 "/healthz/",
                                 "/healthzz",
                                 "/api/v1/regions",
                                 "/api/v1/regions/1/2",
                                 "/api/v1/region/1",
                                 "api/v1/tokens",
                                 "/api/v1/plans/7/strata",
                                 ""};
    for (size_t i = 0; i < ARRAY_LEN(none); i++) {
        gw_match_t m = gw_route_match(s_table, n, "GET", none[i], &r, &p, allow, sizeof allow);
        if (m != GW_MATCH_NONE)
            fail_msg("%s: matched (%d)", none[i], (int)m);
    }

    /* a parameter empty, too long, or with control characters */
    assert_int_equal(
        gw_route_match(s_table, n, "GET", "/api/v1/regions/", &r, &p, allow, sizeof allow),
        GW_MATCH_BAD_PARAM);
    char longp[300] = "/api/v1/regions/";
    memset(longp + strlen(longp), '1', GW_PARAM_MAX + 1);
    assert_int_equal(gw_route_match(s_table, n, "GET", longp, &r, &p, allow, sizeof allow),
                     GW_MATCH_BAD_PARAM);
    assert_int_equal(
        gw_route_match(s_table, n, "GET", "/api/v1/regions/a\tb", &r, &p, allow, sizeof allow),
        GW_MATCH_BAD_PARAM);
}

static void test_route_table(void **state)
{
    (void)state;
    size_t n;
    const gw_route_t *t = gw_routes(&n);
    assert_true(n >= 6);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(t[i].handler);
        assert_true(t[i].pattern[0] == '/');
        /* no two rows for one method and pattern */
        for (size_t j = 0; j < i; j++)
            if (!strcmp(t[i].method, t[j].method) && !strcmp(t[i].pattern, t[j].pattern))
                fail_msg("%s %s twice", t[i].method, t[i].pattern);
        if (t[i].kind != GW_RPC)
            continue;
        assert_non_null(t[i].rpc_method);
        assert_non_null(t[i].request);
        /* every {param} names a request field, or the service */
        for (const char *p = strchr(t[i].pattern, '{'); p; p = strchr(p + 1, '{')) {
            char name[32];
            size_t len = strcspn(p + 1, "}");
            assert_true(len < sizeof name);
            memcpy(name, p + 1, len);
            name[len] = '\0';
            bool ok = protobuf_c_message_descriptor_get_field_by_name(t[i].request, name) ||
                      (!strcmp(name, "service") && !t[i].service);
            if (!ok)
                fail_msg("%s %s: {%s} is not a field of %s", t[i].method, t[i].pattern, name,
                         t[i].request->name);
        }
        if (!t[i].service)
            assert_non_null(strstr(t[i].pattern, "{service}"));
    }

    /* the routes the brief fixes */
    const gw_route_t *r;
    gw_params_t p;
    char allow[64];
    assert_int_equal(
        gw_route_match(t, n, "GET", "/api/v1/regions/340700000000", &r, &p, allow, sizeof allow),
        GW_MATCH_OK);
    assert_string_equal(r->service, "intake");
    assert_string_equal(r->rpc_method, "intake.get_region");
    assert_int_equal(r->roles, GW_ROLES_ALL);
    assert_int_equal(gw_route_match(t, n, "POST", "/api/v1/tokens", &r, &p, allow, sizeof allow),
                     GW_MATCH_OK);
    assert_int_equal(r->roles, GW_ROLE_ADMIN);
    assert_int_equal(gw_route_match(t, n, "GET", "/healthz", &r, &p, allow, sizeof allow),
                     GW_MATCH_OK);
    assert_int_equal(r->roles, 0);
    assert_int_equal(gw_route_match(t, n, "GET", "/metrics", &r, &p, allow, sizeof allow),
                     GW_MATCH_OK);
    assert_int_equal(r->roles, 0);
}

/* ---- answers -------------------------------------------------------------------- */

static void test_status_mapping(void **state)
{
    (void)state;
    static const struct {
        Lz__Status s;
        int http;
        const char *code;
    } cases[] = {
        {LZ__STATUS__OK, 200, "ok"},
        {LZ__STATUS__CREATED, 201, "ok"},
        {LZ__STATUS__INVALID_FIELD, 400, "invalid_field"},
        {LZ__STATUS__MISSING_FIELD, 400, "missing_field"},
        {LZ__STATUS__NOT_FOUND, 404, "not_found"},
        {LZ__STATUS__CONFLICT, 409, "conflict"},
        {LZ__STATUS__FORBIDDEN, 403, "forbidden"},
        {LZ__STATUS__UNAVAILABLE, 503, "unavailable"},
        {LZ__STATUS__INTERNAL, 500, "internal"},
        {LZ__STATUS__TOO_LARGE, 413, "too_large"},
        {LZ__STATUS__UNAUTHORIZED, 401, "unauthorized"},
        {LZ__STATUS__INVALID_ROWS, 422, "invalid_rows"},
        {(Lz__Status)99, 500, "internal"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        assert_int_equal(gw_status_http(cases[i].s), cases[i].http);
        assert_string_equal(gw_status_code(cases[i].s), cases[i].code);
    }
}

static void test_error_shape(void **state)
{
    (void)state;
    json_t *e = gw_error_json("invalid_field", "name must be a string", "name");
    json_t *want = s_json("{\"error\":{\"code\":\"invalid_field\","
                          "\"message\":\"name must be a string\",\"field\":\"name\"}}");
    assert_true(json_equal(e, want));
    json_decref(e);
    json_decref(want);

    e = gw_error_json("not_found", "no such route", NULL);
    want = s_json("{\"error\":{\"code\":\"not_found\",\"message\":\"no such route\"}}");
    assert_true(json_equal(e, want));
    json_decref(e);
    json_decref(want);

    e = gw_error_json("forbidden", "x", "");
    assert_null(json_object_get(json_object_get(e, "error"), "field"));
    json_decref(e);

    gw_call_t call;
    s_call(&call, NULL, "GET", "/x");
    gw_reply_error(&call, 409, "conflict", "request_id", "request_id %s was used", "r1");
    s_is_error(&call, 409, "conflict", "request_id");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(call.reply, "error"), "message")),
        "request_id r1 was used");
    gw_call_clear(&call);
}

/* ---- request ids ------------------------------------------------------------------ */

static void test_request_id(void **state)
{
    (void)state;
    assert_true(gw_request_id_valid("a"));
    assert_true(gw_request_id_valid("7f0c-11e9_ab.cd:~!"));
    char s64[65], s65[66];
    memset(s64, 'x', 64);
    s64[64] = '\0';
    memset(s65, 'x', 65);
    s65[65] = '\0';
    assert_true(gw_request_id_valid(s64));
    assert_false(gw_request_id_valid(s65));
    assert_false(gw_request_id_valid(""));
    assert_false(gw_request_id_valid("a b"));
    assert_false(gw_request_id_valid("a\nb"));
    assert_false(gw_request_id_valid("两责"));

    gw_call_t call;
    /* reads get a random one */
    s_call(&call, NULL, "GET", "/x");
    assert_int_equal(gw_call_request_id(&call), 0);
    assert_int_equal(strlen(call.request_id), 24);
    char first[GW_RID_MAX + 1];
    memcpy(first, call.request_id, sizeof first);
    assert_int_equal(gw_call_request_id(&call), 0);
    assert_string_not_equal(first, call.request_id);
    gw_call_clear(&call);

    /* writes need one in the body */
    s_call(&call, NULL, "POST", "/x");
    call.json = s_json("{\"request_id\": \"abc-1\"}");
    assert_int_equal(gw_call_request_id(&call), 0);
    assert_string_equal(call.request_id, "abc-1");
    gw_call_clear(&call);

    s_call(&call, NULL, "POST", "/x");
    call.json = s_json("{}");
    assert_int_equal(gw_call_request_id(&call), -1);
    s_is_error(&call, 400, "missing_field", "request_id");
    gw_call_clear(&call);

    s_call(&call, NULL, "PUT", "/x");
    call.json = s_json("{\"request_id\": 5}");
    assert_int_equal(gw_call_request_id(&call), -1);
    s_is_error(&call, 400, "invalid_field", "request_id");
    gw_call_clear(&call);

    s_call(&call, NULL, "PATCH", "/x");
    call.json = json_pack("{s:s}", "request_id", s65);
    assert_int_equal(gw_call_request_id(&call), -1);
    s_is_error(&call, 400, "invalid_field", "request_id");
    gw_call_clear(&call);

    /* a body-less DELETE may give it in the query */
    s_call(&call, NULL, "DELETE", "/x");
    call.json = s_json("{}");
    s_add_query(&call, "request_id", "del-1");
    assert_int_equal(gw_call_request_id(&call), 0);
    assert_string_equal(call.request_id, "del-1");
    gw_call_clear(&call);
}

/* ---- RPC requests ------------------------------------------------------------------ */

static const gw_route_t s_region_route = {.method = "GET",
                                          .pattern = "/api/v1/regions/{code}",
                                          .kind = GW_RPC,
                                          .service = "intake",
                                          .rpc_method = "intake.get_region",
                                          .request = &lz__get_region_request__descriptor,
                                          .reply = &lz__region__descriptor};

/* a write route whose request is lz.Caller: strings and int64s to map onto */
static const gw_route_t s_write_route = {.method = "POST",
                                         .pattern = "/api/v1/things/{business_id}",
                                         .kind = GW_RPC,
                                         .service = "intake",
                                         .rpc_method = "intake.thing",
                                         .request = &lz__caller__descriptor,
                                         .reply = &lz__caller__descriptor};

static void test_rpc_request_read(void **state)
{
    (void)state;
    gw_call_t call;
    s_call(&call, &s_region_route, "GET", "/api/v1/regions/340700000000");
    call.params.n = 1;
    snprintf(call.params.p[0].name, sizeof call.params.p[0].name, "code");
    snprintf(call.params.p[0].value, sizeof call.params.p[0].value, "340700000000");
    ProtobufCMessage *m = gw_rpc_request(&call);
    assert_non_null(m);
    assert_string_equal(((Lz__GetRegionRequest *)m)->code, "340700000000");
    pbjson_free(&m);
    assert_int_equal(call.status, 0);

    /* unknown query parameter */
    s_add_query(&call, "expand", "1");
    assert_null(gw_rpc_request(&call));
    s_is_error(&call, 400, "invalid_field", "expand");

    /* the path wins over a query parameter of the same name: given twice */
    gw_call_clear(&call);
    call.status = 0;
    s_add_query(&call, "code", "340700000001");
    assert_null(gw_rpc_request(&call));
    s_is_error(&call, 400, "invalid_field", "code");
    gw_call_clear(&call);
}

static void test_rpc_request_write(void **state)
{
    (void)state;
    gw_call_t call;
    s_call(&call, &s_write_route, "POST", "/api/v1/things/42");
    call.params.n = 1;
    snprintf(call.params.p[0].name, sizeof call.params.p[0].name, "business_id");
    snprintf(call.params.p[0].value, sizeof call.params.p[0].value, "42");
    call.json = s_json("{\"request_id\": \"r1\", \"role\": \"admin\", \"token_id\": 7,"
                       " \"business_id\": 1}");
    s_add_query(&call, "cadre_id", "9");
    ProtobufCMessage *m = gw_rpc_request(&call);
    assert_non_null(m);
    Lz__Caller *c = (Lz__Caller *)m;
    assert_string_equal(c->role, "admin");
    assert_true(c->has_token_id && c->token_id == 7);
    assert_true(c->has_business_id && c->business_id == 42); /* the path decides */
    assert_true(c->has_cadre_id && c->cadre_id == 9);
    assert_null(c->name);
    pbjson_free(&m);
    /* the body itself is untouched */
    assert_non_null(json_object_get(call.json, "request_id"));
    gw_call_clear(&call);

    struct {
        const char *body, *path_value, *qk, *qv;
        int status;
        const char *code, *field;
    } bad[] = {
        {"{\"role\": 5}", "1", NULL, NULL, 400, "invalid_field", "role"},
        {"{\"token_id\": \"7\"}", "1", NULL, NULL, 400, "invalid_field", "token_id"},
        {"{\"nope\": true}", "1", NULL, NULL, 400, "invalid_field", "nope"},
        {"{}", "x1", NULL, NULL, 400, "invalid_field", "business_id"},
        {"{}", "1", "cadre_id", "nine", 400, "invalid_field", "cadre_id"},
        {"{\"cadre_id\": 1}", "1", "cadre_id", "2", 400, "invalid_field", "cadre_id"},
        {"{}", "1", "limit", "10", 400, "invalid_field", "limit"},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        s_call(&call, &s_write_route, "POST", "/api/v1/things/x");
        call.params.n = 1;
        snprintf(call.params.p[0].name, sizeof call.params.p[0].name, "business_id");
        snprintf(call.params.p[0].value, sizeof call.params.p[0].value, "%s", bad[i].path_value);
        call.json = s_json(bad[i].body);
        if (bad[i].qk)
            s_add_query(&call, bad[i].qk, bad[i].qv);
        m = gw_rpc_request(&call);
        if (m)
            fail_msg("case %zu accepted", i);
        s_is_error(&call, bad[i].status, bad[i].code, bad[i].field);
        gw_call_clear(&call);
    }

    /* a route may answer invalid_field with 422 */
    gw_route_t r422 = s_write_route;
    r422.invalid_status = 422;
    s_call(&call, &r422, "POST", "/api/v1/things/1");
    call.json = s_json("{\"role\": 5}");
    assert_null(gw_rpc_request(&call));
    s_is_error(&call, 422, "invalid_field", "role");
    gw_call_clear(&call);
}

/* Pack msg as the payload of a reply envelope with status st. */
static Lz__Envelope *s_reply(Lz__Status st, const ProtobufCMessage *msg, const char *reason,
                             const char *field)
{
    Lz__Envelope *e = calloc(1, sizeof *e);
    lz__envelope__init(e);
    e->has_status = 1;
    e->status = st;
    e->reason = reason ? strdup(reason) : NULL;
    e->field = field ? strdup(field) : NULL;
    if (msg) {
        e->has_payload = 1;
        e->payload.len = protobuf_c_message_get_packed_size(msg);
        e->payload.data = malloc(e->payload.len + 1);
        protobuf_c_message_pack(msg, e->payload.data);
    }
    return e;
}

static void s_free_reply(Lz__Envelope *e)
{
    protobuf_c_message_free_unpacked(&e->base, NULL);
}

static void test_rpc_answer(void **state)
{
    (void)state;
    gw_call_t call;
    Lz__Region region = LZ__REGION__INIT;
    region.code = "340700000000";
    region.name = "铜陵市";
    region.level = "city";

    s_call(&call, &s_region_route, "GET", "/api/v1/regions/340700000000");
    Lz__Envelope *e = s_reply(LZ__STATUS__OK, &region.base, NULL, NULL);
    gw_rpc_answer(&call, e);
    s_free_reply(e);
    assert_int_equal(call.status, 200);
    json_t *want = s_json("{\"code\":\"340700000000\",\"name\":\"铜陵市\",\"level\":\"city\"}");
    assert_true(json_equal(call.reply, want));
    json_decref(want);
    gw_call_clear(&call);

    /* CREATED is 201; no payload is the empty message */
    s_call(&call, &s_region_route, "POST", "/x");
    e = s_reply(LZ__STATUS__CREATED, NULL, NULL, NULL);
    gw_rpc_answer(&call, e);
    s_free_reply(e);
    assert_int_equal(call.status, 201);
    assert_int_equal(json_object_size(call.reply), 0);
    gw_call_clear(&call);

    /* a route's own success status */
    gw_route_t r202 = s_region_route;
    r202.status = 202;
    s_call(&call, &r202, "GET", "/x");
    e = s_reply(LZ__STATUS__OK, &region.base, NULL, NULL);
    gw_rpc_answer(&call, e);
    s_free_reply(e);
    assert_int_equal(call.status, 202);
    gw_call_clear(&call);

    /* errors carry the reason and field */
    s_call(&call, &s_region_route, "GET", "/x");
    e = s_reply(LZ__STATUS__NOT_FOUND, NULL, "no region 340700000000", "code");
    gw_rpc_answer(&call, e);
    s_free_reply(e);
    s_is_error(&call, 404, "not_found", "code");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(call.reply, "error"), "message")),
        "no region 340700000000");
    gw_call_clear(&call);

    static const struct {
        Lz__Status s;
        int http;
        const char *code;
    } errs[] = {
        {LZ__STATUS__INVALID_FIELD, 400, "invalid_field"},
        {LZ__STATUS__MISSING_FIELD, 400, "missing_field"},
        {LZ__STATUS__CONFLICT, 409, "conflict"},
        {LZ__STATUS__FORBIDDEN, 403, "forbidden"},
        {LZ__STATUS__UNAVAILABLE, 503, "unavailable"},
        {LZ__STATUS__INTERNAL, 500, "internal"},
        {LZ__STATUS__TOO_LARGE, 413, "too_large"},
        {LZ__STATUS__UNAUTHORIZED, 401, "unauthorized"},
        {(Lz__Status)77, 500, "internal"},
    };
    for (size_t i = 0; i < ARRAY_LEN(errs); i++) {
        s_call(&call, &s_region_route, "GET", "/x");
        e = s_reply(errs[i].s, NULL, NULL, NULL); /* no reason: a default message */
        gw_rpc_answer(&call, e);
        s_free_reply(e);
        s_is_error(&call, errs[i].http, errs[i].code, NULL);
        gw_call_clear(&call);
    }

    /* invalid rows: 422 with the rows */
    Lz__RowError r1 = LZ__ROW_ERROR__INIT, r2 = LZ__ROW_ERROR__INIT;
    r1.has_line = 1;
    r1.line = 7;
    r1.field = "head_phone";
    r1.message = "not a mobile number";
    r2.has_line = 1;
    r2.line = 9;
    r2.field = "credit_code";
    r2.message = "bad check character";
    Lz__RowError *rows[] = {&r1, &r2};
    Lz__RowErrors re = LZ__ROW_ERRORS__INIT;
    re.n_rows = 2;
    re.rows = rows;
    s_call(&call, &s_region_route, "POST", "/x");
    e = s_reply(LZ__STATUS__INVALID_ROWS, &re.base, "2 rows are invalid", NULL);
    gw_rpc_answer(&call, e);
    s_free_reply(e);
    assert_int_equal(call.status, 422);
    json_t *err = json_object_get(call.reply, "error");
    assert_string_equal(json_string_value(json_object_get(err, "code")), "invalid_rows");
    want = s_json("[{\"line\":7,\"field\":\"head_phone\",\"message\":\"not a mobile number\"},"
                  "{\"line\":9,\"field\":\"credit_code\",\"message\":\"bad check character\"}]");
    assert_true(json_equal(json_object_get(err, "rows"), want));
    json_decref(want);
    gw_call_clear(&call);

    /* a payload that is not the reply type: 500 */
    s_call(&call, &s_region_route, "GET", "/x");
    e = s_reply(LZ__STATUS__OK, NULL, NULL, NULL);
    e->has_payload = 1;
    e->payload.data = (uint8_t *)strdup("\xff\xff\xff");
    e->payload.len = 3;
    gw_rpc_answer(&call, e);
    s_free_reply(e);
    s_is_error(&call, 500, "internal", NULL);
    gw_call_clear(&call);
}

/* ---- auth ---------------------------------------------------------------------------- */

static void test_bearer(void **state)
{
    (void)state;
    char tok[TOKEN_TEXT_MAX + 1];
    assert_int_equal(gw_auth_bearer("Bearer lz_abc", tok, sizeof tok), 0);
    assert_string_equal(tok, "lz_abc");
    assert_int_equal(gw_auth_bearer("bearer   lz_abc  ", tok, sizeof tok), 0);
    assert_string_equal(tok, "lz_abc");
    assert_int_equal(gw_auth_bearer(NULL, tok, sizeof tok), -1);
    assert_int_equal(gw_auth_bearer("", tok, sizeof tok), -1);
    assert_int_equal(gw_auth_bearer("Bearer", tok, sizeof tok), -1);
    assert_int_equal(gw_auth_bearer("Bearer ", tok, sizeof tok), -1);
    assert_int_equal(gw_auth_bearer("Basic dXNlcjpwYXNz", tok, sizeof tok), -1);
    assert_int_equal(gw_auth_bearer("Bearerlz_abc", tok, sizeof tok), -1);
    assert_int_equal(gw_auth_bearer("Bearer a b", tok, sizeof tok), -1);
    char longh[200] = "Bearer ";
    memset(longh + 7, 'a', 150);
    assert_int_equal(gw_auth_bearer(longh, tok, sizeof tok), -1);
}

static void test_roles(void **state)
{
    (void)state;
    assert_int_equal(gw_role_bit("admin"), GW_ROLE_ADMIN);
    assert_int_equal(gw_role_bit("business"), GW_ROLE_BUSINESS);
    assert_int_equal(gw_role_bit("root"), 0);
    assert_int_equal(gw_role_bit(NULL), 0);
    assert_true(gw_role_allowed(GW_ROLE_ADMIN | GW_ROLE_REGULATOR, "regulator"));
    assert_false(gw_role_allowed(GW_ROLE_ADMIN, "regulator"));
    assert_true(gw_role_allowed(GW_ROLES_ALL, "inspector"));
    assert_false(gw_role_allowed(GW_ROLES_ALL, "service"));
    assert_false(gw_role_allowed(0, "admin"));
}

static void test_token_cache(void **state)
{
    (void)state;
    gw_auth_t *a = gw_auth_new(10, 64);
    uint8_t h1[TOKEN_HASH_LEN], h2[TOKEN_HASH_LEN];
    token_hash("lz_one", h1);
    token_hash("lz_two", h2);
    // cppcheck-suppress legacyUninitvar ; designated initialisers set every field
    token_identity_t id = {.id = 7, .role = "regulator", .name = "r", .region = "340700000000"};
    token_identity_t out;
    assert_false(gw_auth_cache_get(a, h1, 1000, &out));
    gw_auth_cache_put(a, h1, &id, 1000);
    assert_true(gw_auth_cache_get(a, h1, 1000, &out));
    assert_int_equal(out.id, 7);
    assert_string_equal(out.region, "340700000000");
    assert_false(gw_auth_cache_get(a, h2, 1000, &out));
    assert_true(gw_auth_cache_get(a, h1, 10999, &out));
    assert_false(gw_auth_cache_get(a, h1, 11000, &out)); /* expired after ttl */

    gw_auth_cache_put(a, h1, &id, 20000);
    token_identity_t id2 = {.id = 8, .role = "admin", .name = "a"};
    gw_auth_cache_put(a, h2, &id2, 20000);
    gw_auth_forget(a, 7); /* revoked */
    assert_false(gw_auth_cache_get(a, h1, 20001, &out));
    assert_true(gw_auth_cache_get(a, h2, 20001, &out));

    /* identify never asks a missing database about what the cache knows */
    assert_int_equal(gw_auth_identify(a, NULL, "lz_two", 20002, &out), 1);
    assert_int_equal(out.id, 8);
    assert_int_equal(gw_auth_identify(a, NULL, "lz_one", 20002, &out), -1);
    assert_int_equal(gw_auth_identify(a, NULL, "not-ours", 20002, &out), 0);
    gw_auth_destroy(&a);
    assert_null(a);

    a = gw_auth_new(0, 64); /* ttl 0: no cache */
    gw_auth_cache_put(a, h1, &id, 0);
    assert_false(gw_auth_cache_get(a, h1, 0, &out));
    gw_auth_destroy(&a);
}

static void test_caller(void **state)
{
    (void)state;
    // cppcheck-suppress legacyUninitvar ; designated initialisers set every field
    token_identity_t id = {.id = 3, .role = "regulator", .name = "区局", .region = "340705000000"};
    Lz__Caller c;
    gw_caller_from_identity(&id, &c);
    assert_string_equal(c.role, "regulator");
    assert_true(c.has_token_id && c.token_id == 3);
    assert_string_equal(c.region, "340705000000");
    assert_false(c.has_business_id);
    assert_true(gw_auth_region_visible(&id, "340705001001"));
    assert_true(gw_auth_region_visible(&id, "340705000000"));
    assert_false(gw_auth_region_visible(&id, "340700000000"));
    assert_false(gw_auth_region_visible(&id, "340711000000"));

    token_identity_t biz = {.id = 4, .role = "business", .name = "b", .business_id = 42};
    gw_caller_from_identity(&biz, &c);
    assert_null(c.region);
    assert_true(c.has_business_id && c.business_id == 42);
    assert_false(gw_auth_region_visible(&biz, "340705001001"));

    token_identity_t adm = {.id = 1, .role = "admin", .name = "a"};
    assert_true(gw_auth_region_visible(&adm, "340705001001"));
    assert_false(gw_auth_region_visible(&adm, "not-a-code"));
}

/* ---- metrics and static files ------------------------------------------------------ */

static void test_metrics(void **state)
{
    (void)state;
    const char *labels[] = {"/api/v1/regions/{code}", "/healthz"};
    gw_metrics_t *m = gw_metrics_new(labels, 2);
    gw_metrics_observe(m, 0, "GET", 200, 3000);
    gw_metrics_observe(m, 0, "GET", 200, 70000);
    gw_metrics_observe(m, 0, "GET", 404, 500);
    gw_metrics_observe(m, gw_metrics_unmatched(m), "BREW", 404, 100);
    gw_metrics_observe(m, 99, "GET", 418, 20000000);
    size_t len;
    char *text = gw_metrics_render(m, &len);
    assert_int_equal(strlen(text), len);
    static const char *want[] = {
        "# TYPE lz_http_requests_total counter\n",
        "lz_http_requests_total{route=\"/api/v1/regions/{code}\",method=\"GET\",status=\"200\"} "
        "2\n",
        "lz_http_requests_total{route=\"/api/v1/regions/{code}\",method=\"GET\",status=\"404\"} "
        "1\n",
        "lz_http_requests_total{route=\"unmatched\",method=\"OTHER\",status=\"404\"} 1\n",
        "lz_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"other\"} 1\n",
        "# TYPE lz_http_request_duration_seconds histogram\n",
        "lz_http_request_duration_seconds_bucket{route=\"/api/v1/regions/{code}\",method=\"GET\","
        "le=\"0.001\"} 1\n",
        "lz_http_request_duration_seconds_bucket{route=\"/api/v1/regions/{code}\",method=\"GET\","
        "le=\"0.005\"} 2\n",
        "lz_http_request_duration_seconds_bucket{route=\"/api/v1/regions/{code}\",method=\"GET\","
        "le=\"0.1\"} 3\n",
        "lz_http_request_duration_seconds_bucket{route=\"/api/v1/regions/{code}\",method=\"GET\","
        "le=\"+Inf\"} 3\n",
        "lz_http_request_duration_seconds_count{route=\"/api/v1/regions/{code}\",method=\"GET\"} "
        "3\n",
        "lz_http_request_duration_seconds_sum{route=\"/api/v1/regions/{code}\",method=\"GET\"} "
        "0.073500\n",
        "lz_http_request_duration_seconds_bucket{route=\"unmatched\",method=\"GET\",le=\"10\"} 0\n",
    };
    for (size_t i = 0; i < ARRAY_LEN(want); i++)
        if (!strstr(text, want[i]))
            fail_msg("missing %s in:\n%s", want[i], text);
    assert_null(strstr(text, "/healthz")); /* nothing observed, nothing written */
    free(text);
    gw_metrics_destroy(&m);
    assert_null(m);
}

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void s_get(const char *web, const char *path, int want_status, const char *want_type,
                  size_t want_size)
{
    gw_call_t call;
    s_call(&call, NULL, "GET", path);
    gw_static_file(&call, web);
    if (call.status != want_status)
        fail_msg("%s: status %d, want %d", path, call.status, want_status);
    if (want_status == 200) {
        assert_true(call.fd >= 0);
        assert_string_equal(call.content_type, want_type);
        assert_int_equal(call.fd_size, want_size);
    } else {
        assert_int_equal(call.fd, -1);
        s_is_error(&call, want_status, "not_found", NULL);
    }
    gw_call_clear(&call);
}

static void test_static(void **state)
{
    (void)state;
    char base[] = "/tmp/lz_gw_static_XXXXXX";
    assert_non_null(mkdtemp(base));
    char web[128], p[256];
    snprintf(web, sizeof web, "%s/web", base);
    assert_int_equal(mkdir(web, 0755), 0);
    snprintf(p, sizeof p, "%s/index.html", web);
    s_write(p, "<html>hi</html>");
    snprintf(p, sizeof p, "%s/docs", web);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/docs/index.html", web);
    s_write(p, "<p>docs</p>");
    snprintf(p, sizeof p, "%s/app.js", web);
    s_write(p, "1;");
    snprintf(p, sizeof p, "%s/.secret", web);
    s_write(p, "x");
    snprintf(p, sizeof p, "%s/secret.txt", base);
    s_write(p, "outside");
    char link[256];
    snprintf(link, sizeof link, "%s/link.txt", web);
    assert_int_equal(symlink(p, link), 0);

    s_get(web, "/", 200, "text/html; charset=utf-8", 15);
    s_get(web, "/index.html", 200, "text/html; charset=utf-8", 15);
    s_get(web, "/app.js", 200, "text/javascript; charset=utf-8", 2);
    s_get(web, "/docs", 200, "text/html; charset=utf-8", 11);
    s_get(web, "/docs/", 200, "text/html; charset=utf-8", 11);
    s_get(web, "/missing.html", 404, NULL, 0);
    s_get(web, "/../secret.txt", 404, NULL, 0);
    s_get(web, "/docs/../../secret.txt", 404, NULL, 0);
    s_get(web, "/./index.html", 404, NULL, 0);
    s_get(web, "//index.html", 404, NULL, 0);
    s_get(web, "/.secret", 404, NULL, 0);
    s_get(web, "/link.txt", 404, NULL, 0); /* a link that leaves the directory */
    s_get(web, "/docs\\..\\index.html", 404, NULL, 0);
    s_get("/nonexistent-web-dir", "/", 404, NULL, 0);

    assert_string_equal(gw_content_type("a/b.CSS"), "text/css; charset=utf-8");
    assert_string_equal(gw_content_type("x.svg"), "image/svg+xml");
    assert_string_equal(gw_content_type("x.tar.gz"), "application/octet-stream");
    assert_string_equal(gw_content_type("dir.d/noext"), "application/octet-stream");

    unlink(link);
    unlink(p);
    snprintf(p, sizeof p, "%s/.secret", web);
    unlink(p);
    snprintf(p, sizeof p, "%s/app.js", web);
    unlink(p);
    snprintf(p, sizeof p, "%s/docs/index.html", web);
    unlink(p);
    snprintf(p, sizeof p, "%s/docs", web);
    rmdir(p);
    snprintf(p, sizeof p, "%s/index.html", web);
    unlink(p);
    rmdir(web);
    rmdir(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route_match),
        cmocka_unit_test(test_route_table),
        cmocka_unit_test(test_status_mapping),
        cmocka_unit_test(test_error_shape),
        cmocka_unit_test(test_request_id),
        cmocka_unit_test(test_rpc_request_read),
        cmocka_unit_test(test_rpc_request_write),
        cmocka_unit_test(test_rpc_answer),
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_token_cache),
        cmocka_unit_test(test_caller),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_static),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
