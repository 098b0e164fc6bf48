/*
 * gateway_routes.h - the gateway's route table, its handlers, and the JSON they answer.
 *
 * A route is one row: method, path pattern with {params}, the roles allowed
 * (0: public, no token), and either a local handler or an RPC to a service
 * method with the request and reply message types.  RPC routes need no code:
 * the request message is built from the JSON body, the path parameters and
 * the query string by field name (common/pbjson.h), the reply message is
 * turned back into JSON, and lz.Status maps onto HTTP (gw_status_http).
 *
 * A request is a gw_call_t: the server fills the request half (route,
 * params, query, body, identity, request id), the handler fills the
 * response half (status and a JSON body, or text, or a file).  Everything
 * here but the handlers' use of the server's connections is pure, so unit
 * tests drive it with a gw_call_t of their own and server NULL.
 */
#ifndef LZ_GATEWAY_ROUTES_H
#define LZ_GATEWAY_ROUTES_H

#include "envelope.pb-c.h"
#include "token.h"

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gw_server_s gw_server_t;
typedef struct gw_call_s gw_call_t;

/* A handler reads the request half of call and fills the response half. */
typedef void(gw_handler_fn)(gw_call_t *call);

typedef enum {
    GW_LOCAL, /* handled here by handler */
    GW_RPC    /* sent to service / rpc_method through the broker */
} gw_kind_t;

typedef struct {
    const char *method;  /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *pattern; /* "/api/v1/regions/{code}" */
    unsigned roles;      /* GW_ROLE_* bits (gateway_auth.h); 0: public, no token */
    gw_kind_t kind;
    gw_handler_fn *handler; /* GW_LOCAL; GW_RPC rows may leave it NULL (gw_rpc_handler) */
    const char *service;    /* GW_RPC; NULL: the {service} path parameter names it */
    const char *rpc_method; /* GW_RPC: "intake.get_region" */
    const ProtobufCMessageDescriptor *request; /* GW_RPC */
    const ProtobufCMessageDescriptor *reply;   /* GW_RPC; NULL: answer {} */
    int status;                                /* success status; 0: 200 (201 on CREATED) */
    int invalid_status;                        /* invalid_field status; 0: 400 (or 422) */
    bool csv; /* the body is text/csv up to LZ_IMPORT_MAX, given raw in request field "csv" */
} gw_route_t;

/* Returns the route table and its length in *n; static, never freed.  It is
 * the gateway's and intake's rows followed by each service's own table. */
const gw_route_t *gw_routes(size_t *n);

/* Each service's rows, one file each (gateway_routes_<service>.c), so that
 * services grow their routes without touching each other's. */
extern const gw_route_t gw_routes_scheduler[];
extern const size_t gw_routes_scheduler_n;
extern const gw_route_t gw_routes_notifier[];
extern const size_t gw_routes_notifier_n;
extern const gw_route_t gw_routes_sampler[];
extern const size_t gw_routes_sampler_n;
extern const gw_route_t gw_routes_scorer[];
extern const size_t gw_routes_scorer_n;

/* ---- matching ----------------------------------------------------------- */

#define GW_PARAMS_MAX 4
#define GW_PARAM_MAX  128 /* longest path parameter value, bytes */

typedef struct {
    size_t n;
    struct {
        char name[32];
        char value[GW_PARAM_MAX + 1];
    } p[GW_PARAMS_MAX];
} gw_params_t;

typedef enum {
    GW_MATCH_OK,       /* *route and params are set */
    GW_MATCH_NONE,     /* no pattern matches the path: 404 */
    GW_MATCH_METHOD,   /* a pattern matches, not with this method: 405, *route is the first */
    GW_MATCH_BAD_PARAM /* a parameter is empty, too long or has control characters: 404 */
} gw_match_t;

/*
 * Find the route for method and path (no query string) in table (n rows).
 * On GW_MATCH_METHOD allow gets the methods the path takes ("GET, DELETE").
 */
gw_match_t gw_route_match(const gw_route_t *table, size_t n, const char *method, const char *path,
                          const gw_route_t **route, gw_params_t *params, char *allow,
                          size_t allowlen);

/* Returns the value of path parameter name, or NULL. Valid while params is. */
const char *gw_param(const gw_params_t *params, const char *name);

/* ---- one request -------------------------------------------------------- */

#define GW_QUERY_MAX 32
#define GW_RID_MAX   64

struct gw_call_s {
    /* request, filled by the server (or a test) */
    gw_server_t *server; /* NULL in unit tests */
    const gw_route_t *route;
    const char *method;
    const char *path;
    const char *accept; /* the Accept header, or NULL; valid during the call */
    gw_params_t params;
    size_t nquery;
    struct {
        char *key; /* owned */
        char *value;
    } query[GW_QUERY_MAX];
    const char *body; /* raw body, NUL-terminated; valid during the call */
    size_t body_len;
    json_t *json;                  /* the parsed body object of a JSON write; owned */
    const token_identity_t *ident; /* NULL when no token (public routes may have one) */
    Lz__Caller caller;             /* from ident; strings point into it */
    char request_id[GW_RID_MAX + 1];
    int64_t now_ms; /* monotonic, when the request arrived */

    /* response, filled by the handler */
    int status;
    json_t *reply; /* owned; serialised as the body */
    char *text;    /* owned; a non-JSON body instead of reply */
    size_t text_len;
    const char *content_type; /* static; for text or file */
    int fd;                   /* a file to send (owned), or -1 */
    uint64_t fd_size;
    char allow[64]; /* Allow header of a 405 */
};

/* Initialise a call (fd -1, everything else empty). */
void gw_call_init(gw_call_t *call);
/* Release what a call owns (query, json, reply, text, fd). */
void gw_call_clear(gw_call_t *call);

/* Returns true for POST, PUT, PATCH and DELETE. */
bool gw_method_is_write(const char *method);

/* Returns true if s is a valid client request id: 1 to 64 bytes of visible ASCII (! to ~). */
bool gw_request_id_valid(const char *s);

/*
 * Set call->request_id: for a write, from the body's "request_id", else the
 * query string's (a DELETE without body, a text/csv upload), which must be
 * there and valid; for a read, a random one.  Returns 0, or -1 with an
 * error answer set on call.
 */
int gw_call_request_id(gw_call_t *call);

/* ---- answers ------------------------------------------------------------ */

/* Answer status with body (stolen). */
void gw_reply_json(gw_call_t *call, int status, json_t *body);
/* Answer the error shape {"error":{"code","message","field"?}}; field may be NULL. */
void gw_reply_error(gw_call_t *call, int status, const char *code, const char *field,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Return {"error":{"code","message","field"?}} (a new reference); field may be NULL or "". */
json_t *gw_error_json(const char *code, const char *message, const char *field);

/* Returns the HTTP status for a reply status (OK 200, CREATED 201, INVALID_FIELD 400, ...). */
int gw_status_http(Lz__Status s);
/* Returns the error code for a reply status ("invalid_field", ...; "ok" for OK and CREATED). */
const char *gw_status_code(Lz__Status s);

/* ---- RPC routes ----------------------------------------------------------- */

/* The handler of GW_RPC routes: request message from the call, RPC to the
 * route's service and method, reply message back to JSON.  Rows may name it
 * or leave handler NULL. */
void gw_rpc_handler(gw_call_t *call);

/* Returns true when the client asked for CSV (Accept: text/csv, or ?format=csv). */
bool gw_wants_csv(const gw_call_t *call);

/*
 * Build call->route's request message from call->json (writes), the path
 * parameters and the query string.  Returns the message (caller frees with
 * pbjson_free), or NULL with an error answer set on call.
 */
ProtobufCMessage *gw_rpc_request(gw_call_t *call);

/* Set call's answer from a service's reply envelope (not freed here). */
void gw_rpc_answer(gw_call_t *call, const Lz__Envelope *reply);

/* ---- static files -------------------------------------------------------- */

/* Answer GET path from the files under web_dir (index.html for "/" and for
 * directories); 404 when missing or when the path tries to leave web_dir. */
void gw_static_file(gw_call_t *call, const char *web_dir);

/* Returns the content type for a file name by its extension (static string). */
const char *gw_content_type(const char *name);

#endif
