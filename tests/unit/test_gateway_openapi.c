/*
 * test_gateway_openapi.c - api/openapi.json against the gateway's real route table.
 *
 * The file is found at $LZ_ROOT/api/openapi.json, else api/openapi.json (the runner runs
 * from the repository root), else ../../api/openapi.json next to this binary.  Checks:
 * every route (method, pattern) is documented and every documented operation is a route;
 * an operation is public (security []) exactly when its route has roles 0, and its
 * x-roles are the route's roles; path parameters are the pattern's; for a route with a
 * request message, the documented query parameters / JSON body members (plus path
 * parameters and x-ignored-fields) are exactly the message's fields, typed as the
 * fields are; the success schema is the reply message, whose component schema (and
 * every message it nests) has exactly the descriptor's fields and types, with the
 * top-level repeated fields required; a route's fixed success status is documented.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "gateway/gateway_auth.h"
#include "gateway/gateway_routes.h"

#define SCHEMA_PREFIX "#/components/schemas/"

static json_t *s_doc;
static char s_doc_path[PATH_MAX];
static int s_problems; /* mismatches found by the current test */

/* Returns v's string, or "" when v is not a string. */
static const char *s_str(const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? s : "";
}

/* Returns true if the JSON array a has the string s. */
static bool s_array_has(const json_t *a, const char *s)
{
    for (size_t i = 0; i < json_array_size(a); i++)
        if (!strcmp(s_str(json_array_get(a, i)), s))
            return true;
    return false;
}

/* Report one mismatch (printed; the test fails at its end if there were any). */
static void s_problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void s_problem(const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    print_message("# openapi: %s\n", text);
    s_problems++;
}

static void s_done(const char *what)
{
    if (s_problems)
        fail_msg("%d problem(s) with %s (api/openapi.json: regenerate with node api/gen-openapi.js "
                 "after changing api/gen-openapi.js's ROUTES)",
                 s_problems, what);
}

/* Returns the document at the first candidate path that parses, or NULL. */
static json_t *s_load(void)
{
    char cands[3][PATH_MAX];
    size_t nc = 0;
    const char *root = getenv("LZ_ROOT");
    if (root && root[0])
        snprintf(cands[nc++], PATH_MAX, "%s/api/openapi.json", root);
    snprintf(cands[nc++], PATH_MAX, "api/openapi.json");
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        snprintf(cands[nc++], PATH_MAX, "%s/../../api/openapi.json", dirname(exe));
    }
    for (size_t i = 0; i < nc; i++) {
        if (access(cands[i], R_OK) != 0)
            continue;
        json_error_t err;
        json_t *doc = json_load_file(cands[i], JSON_REJECT_DUPLICATES, &err);
        if (!doc) {
            print_message("# %s: line %d: %s\n", cands[i], err.line, err.text);
            return NULL;
        }
        size_t len = strnlen(cands[i], sizeof s_doc_path - 1);
        memcpy(s_doc_path, cands[i], len);
        s_doc_path[len] = '\0';
        return doc;
    }
    print_message("# api/openapi.json not found (set LZ_ROOT to the repository)\n");
    return NULL;
}

static int s_setup(void **state)
{
    (void)state;
    s_doc = s_load();
    return s_doc ? 0 : -1;
}

static int s_teardown(void **state)
{
    (void)state;
    json_decref(s_doc);
    s_doc = NULL;
    return 0;
}

static int s_reset(void **state)
{
    (void)state;
    s_problems = 0;
    return 0;
}

/* Returns the operation of method (any case) on pattern in doc, or NULL. */
static json_t *s_operation(const json_t *doc, const char *method, const char *pattern)
{
    char lower[16];
    size_t i = 0;
    for (; i < sizeof lower - 1 && method[i]; i++)
        lower[i] = (char)(method[i] >= 'A' && method[i] <= 'Z' ? method[i] + 32 : method[i]);
    lower[i] = '\0';
    return json_object_get(json_object_get(json_object_get(doc, "paths"), pattern), lower);
}

/* Returns how many rows of table have no operation in doc (each reported). */
static int s_undocumented(const json_t *doc, const gw_route_t *table, size_t n)
{
    int missing = 0;
    for (size_t i = 0; i < n; i++) {
        if (!s_operation(doc, table[i].method, table[i].pattern)) {
            s_problem("route %s %s is not in api/openapi.json", table[i].method, table[i].pattern);
            missing++;
        }
    }
    return missing;
}

/* Returns the route of method (any case) and pattern, or NULL. */
static const gw_route_t *s_route(const char *method, const char *pattern)
{
    size_t n;
    const gw_route_t *r = gw_routes(&n);
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(r[i].method, method) && !strcmp(r[i].pattern, pattern))
            return &r[i];
    return NULL;
}

static bool s_is_http_method(const char *m)
{
    static const char *methods[] = {"get",     "put",  "post",  "delete",
                                    "options", "head", "patch", "trace"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (!strcmp(m, methods[i]))
            return true;
    return false;
}

/* ---- (a) and (b): the same set of operations ------------------------------------------- */

static void test_every_route_documented(void **state)
{
    (void)state;
    size_t n;
    const gw_route_t *routes = gw_routes(&n);
    assert_true(n > 0);
    s_undocumented(s_doc, routes, n);
    s_done("undocumented routes");
}

static void test_every_operation_is_a_route(void **state)
{
    (void)state;
    const char *pattern;
    json_t *item;
    size_t ops = 0;
    json_object_foreach(json_object_get(s_doc, "paths"), pattern, item)
    {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op)
        {
            if (!s_is_http_method(method))
                continue; /* parameters, summary, ... of the path item */
            ops++;
            if (!s_route(method, pattern))
                s_problem("%s %s is documented but the gateway has no such route", method, pattern);
        }
    }
    size_t n;
    gw_routes(&n);
    if (ops != n)
        s_problem("%zu operations documented, %zu routes", ops, n);
    s_done("documented operations");
}

/* The checker itself: a table with one row more than the document must be caught. */
static void test_an_added_route_is_caught(void **state)
{
    (void)state;
    size_t n;
    const gw_route_t *routes = gw_routes(&n);
    gw_route_t *more = calloc(n + 1, sizeof *more);
    assert_non_null(more);
    memcpy(more, routes, n * sizeof *more);
    more[n] = (gw_route_t){.method = "GET",
                           .pattern = "/api/v1/not/documented/{id}",
                           .roles = GW_ROLE_ADMIN,
                           .kind = GW_LOCAL};
    print_message("# (the added row is expected below)\n");
    int before = s_undocumented(s_doc, routes, n);
    assert_int_equal(s_undocumented(s_doc, more, n + 1), before + 1);
    free(more);
}

/* ---- (c): security and roles ---------------------------------------------------------- */

/* Returns true when op is public: its own security is [] (the document's default is bearer). */
static bool s_op_public(const json_t *doc, const json_t *op)
{
    const json_t *sec = json_object_get(op, "security");
    if (!sec)
        sec = json_object_get(doc, "security");
    return !sec || (json_is_array(sec) && json_array_size(sec) == 0);
}

static void test_security_matches_roles(void **state)
{
    (void)state;
    const json_t *global = json_object_get(s_doc, "security");
    assert_true(json_is_array(global) && json_array_size(global) == 1);
    assert_non_null(json_object_get(json_array_get(global, 0), "bearer"));

    size_t n;
    const gw_route_t *routes = gw_routes(&n);
    size_t publics = 0;
    for (size_t i = 0; i < n; i++) {
        const gw_route_t *r = &routes[i];
        const json_t *op = s_operation(s_doc, r->method, r->pattern);
        if (!op)
            continue; /* reported by test_every_route_documented */
        bool pub = s_op_public(s_doc, op);
        publics += pub;
        if (pub && r->roles)
            s_problem("%s %s: documented without security but the route needs roles 0x%x",
                      r->method, r->pattern, r->roles);
        if (!pub && !r->roles)
            s_problem("%s %s: documented with bearer security but the route is public", r->method,
                      r->pattern);
        const json_t *xr = json_object_get(op, "x-roles");
        if (!json_is_array(xr)) {
            s_problem("%s %s: no x-roles", r->method, r->pattern);
            continue;
        }
        unsigned bits = 0;
        size_t k;
        json_t *v;
        json_array_foreach(xr, k, v)
        {
            unsigned b = json_is_string(v) ? gw_role_bit(json_string_value(v)) : 0;
            if (!b)
                s_problem("%s %s: x-roles has an unknown role", r->method, r->pattern);
            bits |= b;
        }
        if (bits != r->roles)
            s_problem("%s %s: x-roles are 0x%x, the route's roles 0x%x", r->method, r->pattern,
                      bits, r->roles);
    }
    assert_true(publics >= 2); /* at least /healthz and /metrics */
    s_done("security and roles");
}

/* ---- path parameters ------------------------------------------------------------------ */

/* Returns the documented parameter name in "in" (path, query) of op, or NULL. */
static const json_t *s_param(const json_t *op, const char *in, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(op, "parameters"), i, p)
    {
        if (!strcmp(s_str(json_object_get(p, "in")), in) &&
            !strcmp(s_str(json_object_get(p, "name")), name))
            return p;
    }
    return NULL;
}

/* Returns true if name is a {param} of pattern. */
static bool s_pattern_has(const char *pattern, const char *name)
{
    char want[64];
    snprintf(want, sizeof want, "{%s}", name);
    return strstr(pattern, want) != NULL;
}

static void test_path_parameters(void **state)
{
    (void)state;
    size_t n;
    const gw_route_t *routes = gw_routes(&n);
    for (size_t i = 0; i < n; i++) {
        const gw_route_t *r = &routes[i];
        const json_t *op = s_operation(s_doc, r->method, r->pattern);
        if (!op)
            continue;
        for (const char *s = strchr(r->pattern, '{'); s; s = strchr(s + 1, '{')) {
            char name[64];
            size_t len = strcspn(s + 1, "}");
            snprintf(name, sizeof name, "%.*s", (int)len, s + 1);
            const json_t *p = s_param(op, "path", name);
            if (!p || !json_is_true(json_object_get(p, "required")))
                s_problem("%s %s: path parameter %s not documented as required", r->method,
                          r->pattern, name);
        }
        size_t k;
        json_t *p;
        json_array_foreach(json_object_get(op, "parameters"), k, p)
        {
            const char *in = s_str(json_object_get(p, "in"));
            const char *name = s_str(json_object_get(p, "name"));
            if (!strcmp(in, "path") && !s_pattern_has(r->pattern, name))
                s_problem("%s %s: documents path parameter %s that the pattern lacks", r->method,
                          r->pattern, name);
        }
    }
    s_done("path parameters");
}

/* ---- schemas against the message descriptors ------------------------------------------- */

/* Returns the component schema a "$ref" names, or NULL. */
static const json_t *s_component(const char *ref)
{
    if (!ref || strncmp(ref, SCHEMA_PREFIX, strlen(SCHEMA_PREFIX)))
        return NULL;
    return json_object_get(json_object_get(json_object_get(s_doc, "components"), "schemas"),
                           ref + strlen(SCHEMA_PREFIX));
}

/* Returns the message component behind schema: {$ref} or {allOf: [{$ref}, ...]}, or NULL. */
static const json_t *s_message_schema(const json_t *schema)
{
    const char *ref = json_string_value(json_object_get(schema, "$ref"));
    if (ref)
        return s_component(ref);
    size_t i;
    json_t *part;
    json_array_foreach(json_object_get(schema, "allOf"), i, part)
    {
        ref = json_string_value(json_object_get(part, "$ref"));
        if (ref)
            return s_component(ref);
    }
    return NULL;
}

static bool s_is(const json_t *schema, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(schema, key));
    return want ? v && !strcmp(v, want) : v == NULL;
}

static void s_check_message(const json_t *comp, const ProtobufCMessageDescriptor *d,
                            const char *where, int depth);

/* Check one value's schema (not repeated) against field f's type. */
static void s_check_scalar(const json_t *s, const ProtobufCFieldDescriptor *f, const char *where,
                           int depth)
{
    const char *type = NULL, *format = NULL;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        type = "string";
        break;
    case PROTOBUF_C_TYPE_BOOL:
        type = "boolean";
        break;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        type = "integer";
        format = "int32";
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        type = "integer";
        format = "int64";
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        type = "number";
        format = "double";
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        type = "number";
        format = "float";
        break;
    case PROTOBUF_C_TYPE_BYTES:
        type = "string";
        format = "byte";
        break;
    case PROTOBUF_C_TYPE_ENUM:
        type = "string";
        if (!json_is_array(json_object_get(s, "enum")))
            s_problem("%s.%s: an enum field without enum values", where, f->name);
        break;
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *md = f->descriptor;
        const json_t *comp = s_message_schema(s);
        char sub[256];
        snprintf(sub, sizeof sub, "%s.%s", where, f->name);
        if (!comp)
            s_problem("%s: not a $ref to the %s component", sub, md->name);
        else
            s_check_message(comp, md, sub, depth + 1);
        return;
    }
    default:
        s_problem("%s.%s: a field type this test does not know", where, f->name);
        return;
    }
    if (!s_is(s, "type", type))
        s_problem("%s.%s: type is not %s", where, f->name, type);
    if (format && !s_is(s, "format", format))
        s_problem("%s.%s: format is not %s", where, f->name, format);
    if (!format && s_is(s, "format", "byte"))
        s_problem("%s.%s: a string documented as bytes", where, f->name);
}

/* Check schema (a property, parameter or body member) against field f, repeated or not. */
static void s_check_field(const json_t *s, const ProtobufCFieldDescriptor *f, const char *where,
                          int depth)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        if (!s_is(s, "type", "array")) {
            s_problem("%s.%s: a repeated field not documented as an array", where, f->name);
            return;
        }
        s = json_object_get(s, "items");
    }
    s_check_scalar(s, f, where, depth);
}

/* Check a message component: x-proto, exactly d's fields, each typed as d says. */
static void s_check_message(const json_t *comp, const ProtobufCMessageDescriptor *d,
                            const char *where, int depth)
{
    if (depth > 8)
        return; /* deep enough: no message here nests itself */
    if (!s_is(comp, "x-proto", d->name))
        s_problem("%s: the component is not %s", where, d->name);
    const json_t *props = json_object_get(comp, "properties");
    for (unsigned i = 0; i < d->n_fields; i++) {
        const json_t *s = json_object_get(props, d->fields[i].name);
        if (!s)
            s_problem("%s: field %s (%s) is not documented", where, d->fields[i].name, d->name);
        else
            s_check_field(s, &d->fields[i], where, depth);
    }
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)props, name, v)
    {
        (void)v;
        if (!protobuf_c_message_descriptor_get_field_by_name(d, name))
            s_problem("%s: documents %s, which %s does not have", where, name, d->name);
    }
}

/* Returns true if name is listed in op's x-ignored-fields. */
static bool s_ignored(const json_t *op, const char *name)
{
    return s_array_has(json_object_get(op, "x-ignored-fields"), name);
}

/* Returns the JSON body schema of op's request, or NULL. */
static const json_t *s_body_schema(const json_t *op)
{
    return json_object_get(
        json_object_get(json_object_get(json_object_get(op, "requestBody"), "content"),
                        "application/json"),
        "schema");
}

/* Check the request side of a route with a request message. */
static void s_check_request(const gw_route_t *r, const json_t *op)
{
    const ProtobufCMessageDescriptor *d = r->request;
    char where[256];
    snprintf(where, sizeof where, "%s %s request", r->method, r->pattern);
    bool write = gw_method_is_write(r->method);
    const json_t *body = write && !r->csv ? s_body_schema(op) : NULL;
    const json_t *props = json_object_get(body, "properties");
    if (write && !r->csv) {
        if (!json_is_object(props)) {
            s_problem("%s: no JSON body schema", where);
            return;
        }
        const json_t *req = json_object_get(body, "required");
        if (!s_array_has(req, "request_id") || !json_object_get(props, "request_id"))
            s_problem("%s: request_id is not a required body member", where);
    }
    if (r->csv) {
        const json_t *rb = json_object_get(json_object_get(op, "requestBody"), "content");
        if (!rb || !json_object_size(rb))
            s_problem("%s: a raw-body (csv) route without a request body", where);
        const json_t *q = s_param(op, "query", "request_id");
        if (!q || !json_is_true(json_object_get(q, "required")))
            s_problem("%s: a csv route needs ?request_id= documented as required", where);
    }
    /* every field is documented exactly once where the gateway takes it */
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (s_ignored(op, f->name)) {
            continue;
        } else if (s_pattern_has(r->pattern, f->name)) {
            const json_t *p = s_param(op, "path", f->name);
            if (p && f->label != PROTOBUF_C_LABEL_REPEATED)
                s_check_scalar(json_object_get(p, "schema"), f, where, 0);
        } else if (r->csv && !strcmp(f->name, "csv")) {
            continue; /* the body */
        } else if (write && !r->csv) {
            const json_t *s = json_object_get(props, f->name);
            if (!s)
                s_problem("%s: field %s is not a body member", where, f->name);
            else
                s_check_field(s, f, where, 0);
        } else {
            const json_t *p = s_param(op, "query", f->name);
            if (!p)
                s_problem("%s: field %s is not a query parameter", where, f->name);
            else
                s_check_field(json_object_get(p, "schema"), f, where, 0);
        }
    }
    /* and nothing is documented that the message lacks */
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)props, name, v)
    {
        (void)v;
        if (strcmp(name, "request_id") && !protobuf_c_message_descriptor_get_field_by_name(d, name))
            s_problem("%s: body member %s is not a field of %s", where, name, d->name);
        if (s_pattern_has(r->pattern, name))
            s_problem("%s: %s is a path parameter and a body member", where, name);
    }
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(op, "parameters"), i, p)
    {
        const char *pname = s_str(json_object_get(p, "name"));
        if (strcmp(s_str(json_object_get(p, "in")), "query"))
            continue;
        if (!strcmp(pname, "request_id") && write)
            continue;
        if (!protobuf_c_message_descriptor_get_field_by_name(d, pname))
            s_problem("%s: query parameter %s is not a field of %s", where, pname, d->name);
    }
    json_array_foreach(json_object_get(op, "x-ignored-fields"), i, p)
    {
        if (!protobuf_c_message_descriptor_get_field_by_name(d, s_str(p)))
            s_problem("%s: x-ignored-fields names a field %s lacks", where, d->name);
    }
}

/* Returns the one 2xx response of op (its status in *status), or NULL. */
static const json_t *s_success(const json_t *op, int *status, const char *where)
{
    const json_t *found = NULL;
    const char *code;
    json_t *resp;
    json_object_foreach(json_object_get(op, "responses"), code, resp)
    {
        if (code[0] != '2')
            continue;
        if (found)
            s_problem("%s: more than one success status", where);
        found = resp;
        *status = (int)strtol(code, NULL, 10);
    }
    if (!found)
        s_problem("%s: no success response", where);
    return found;
}

/* Check the success answer of a route. */
static void s_check_reply(const gw_route_t *r, const json_t *op)
{
    char where[256];
    snprintf(where, sizeof where, "%s %s reply", r->method, r->pattern);
    int status = 0;
    const json_t *ok = s_success(op, &status, where);
    if (!ok)
        return;
    if (r->status && status != r->status)
        s_problem("%s: documented %d, the route answers %d", where, status, r->status);
    if (!r->status && gw_method_is_write(r->method) == false && status != 200)
        s_problem("%s: a read documented with %d", where, status);
    const json_t *schema = json_object_get(
        json_object_get(json_object_get(ok, "content"), "application/json"), "schema");
    const ProtobufCMessageDescriptor *d = r->reply;
    if (!d) {
        if (r->kind == GW_RPC && (!s_is(schema, "type", "object") ||
                                  json_object_size(json_object_get(schema, "properties"))))
            s_problem("%s: no reply message: the answer is {}", where);
        return;
    }
    const json_t *comp = s_message_schema(schema);
    if (!comp) {
        s_problem("%s: the JSON answer is not the %s component", where, d->name);
        return;
    }
    s_check_message(comp, d, where, 0);
    /* a reply's own repeated fields (and next_cursor) always appear */
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->label != PROTOBUF_C_LABEL_REPEATED && strcmp(f->name, "next_cursor"))
            continue;
        bool req = false;
        const json_t *all = json_object_get(schema, "allOf");
        for (size_t k = 0; k < json_array_size(all); k++)
            req = req || s_array_has(json_object_get(json_array_get(all, k), "required"), f->name);
        if (!req)
            s_problem("%s: %s always appears but is not required", where, f->name);
    }
}

static void test_rpc_rpc_method(void **state)
{
    (void)state;
    size_t n;
    const gw_route_t *routes = gw_routes(&n);
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        const gw_route_t *r = &routes[i];
        const json_t *op = s_operation(s_doc, r->method, r->pattern);
        if (!op || !r->request)
            continue;
        const json_t *x = json_object_get(op, "x-rpc");
        if (!s_is(x, "method", r->rpc_method))
            s_problem("%s %s: x-rpc.method is not %s", r->method, r->pattern, r->rpc_method);
        if (!s_is(x, "request", r->request->name))
            s_problem("%s %s: x-rpc.request is not %s", r->method, r->pattern, r->request->name);
        if (r->reply && !s_is(x, "reply", r->reply->name))
            s_problem("%s %s: x-rpc.reply is not %s", r->method, r->pattern, r->reply->name);
        checked++;
    }
    assert_true(checked > 30);
    s_done("x-rpc");
}

static void test_request_schemas(void **state)
{
    (void)state;
    size_t n;
    const gw_route_t *routes = gw_routes(&n);
    for (size_t i = 0; i < n; i++) {
        const json_t *op = s_operation(s_doc, routes[i].method, routes[i].pattern);
        if (op && routes[i].request)
            s_check_request(&routes[i], op);
    }
    s_done("request schemas");
}

static void test_reply_schemas(void **state)
{
    (void)state;
    size_t n;
    const gw_route_t *routes = gw_routes(&n);
    for (size_t i = 0; i < n; i++) {
        const json_t *op = s_operation(s_doc, routes[i].method, routes[i].pattern);
        if (op)
            s_check_reply(&routes[i], op);
    }
    s_done("reply schemas");
}

/* Every $ref in the document names a component that exists. */
static void s_check_refs(const json_t *v, const char *where)
{
    if (json_is_object(v)) {
        const char *ref = json_string_value(json_object_get(v, "$ref"));
        if (ref) {
            const char *slash = strrchr(ref, '/');
            char kind[64] = "";
            if (!strncmp(ref, "#/components/", 13) && slash && slash - ref - 13 < 63)
                snprintf(kind, sizeof kind, "%.*s", (int)(slash - ref - 13), ref + 13);
            const json_t *target =
                json_object_get(json_object_get(json_object_get(s_doc, "components"), kind),
                                slash ? slash + 1 : "");
            if (!target)
                s_problem("%s: dangling $ref %s", where, ref);
        }
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c)
        {
            s_check_refs(c, where);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c)
        {
            s_check_refs(c, where);
        }
    }
}

static void test_document_shape(void **state)
{
    (void)state;
    print_message("# %s\n", s_doc_path);
    assert_true(s_is(s_doc, "openapi", "3.0.3"));
    assert_non_null(
        json_object_get(json_object_get(json_object_get(s_doc, "components"), "schemas"), "Error"));
    s_check_refs(json_object_get(s_doc, "paths"), "paths");
    s_check_refs(json_object_get(s_doc, "components"), "components");
    /* operationIds are unique */
    json_t *seen = json_object();
    const char *pattern;
    json_t *item;
    json_object_foreach(json_object_get(s_doc, "paths"), pattern, item)
    {
        const char *method;
        json_t *op;
        json_object_foreach(item, method, op)
        {
            const char *id = json_string_value(json_object_get(op, "operationId"));
            if (!id || json_object_get(seen, id))
                s_problem("%s %s: operationId missing or repeated", method, pattern);
            else
                json_object_set_new(seen, id, json_true());
            if (!json_string_value(json_object_get(op, "summary")))
                s_problem("%s %s: no summary", method, pattern);
        }
    }
    json_decref(seen);
    s_done("the document");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_document_shape, s_reset),
        cmocka_unit_test_setup(test_every_route_documented, s_reset),
        cmocka_unit_test_setup(test_every_operation_is_a_route, s_reset),
        cmocka_unit_test_setup(test_an_added_route_is_caught, s_reset),
        cmocka_unit_test_setup(test_security_matches_roles, s_reset),
        cmocka_unit_test_setup(test_path_parameters, s_reset),
        cmocka_unit_test_setup(test_rpc_rpc_method, s_reset),
        cmocka_unit_test_setup(test_request_schemas, s_reset),
        cmocka_unit_test_setup(test_reply_schemas, s_reset),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
