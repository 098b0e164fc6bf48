/*
 * gateway_server.c - the HTTP server: libmicrohttpd, request lifecycle, dispatch.
 *
 * libmicrohttpd calls s_access several times per request: once when the
 * headers are in (*req_p is NULL), once per piece of body, and once more
 * with no data when the body is complete.  Everything that can be decided
 * from the headers (route, method, token, role, Content-Length) is decided
 * on the first call and answered at once, so refused uploads are never read.
 * libmicrohttpd 0.9.75 cannot queue an answer while a body is arriving, so a
 * chunked body that passes its limit is dropped on the floor until it ends
 * (then 413), or the connection is cut once it passes twice the limit.
 */
#include "gateway_server.h"
#include "buf.h"
#include "clock.h"
#include "gateway_routes.h"
#include "log.h"
#include "mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How long a failed PostgreSQL or Redis connect keeps a thread from retrying. */
#define RECONNECT_MS 1000
/* Idle keep-alive connections are closed after this many seconds. */
#define CONNECTION_TIMEOUT_S 60

/* One pool thread's connections. */
typedef struct s_thread_s {
    pg_t *pg;
    rds_t *rds;
    int64_t pg_retry_ms, rds_retry_ms;
    struct s_thread_s *next;
} s_thread_t;

struct gw_server_s {
    gw_settings_t set; /* strings below are owned copies */
    struct MHD_Daemon *mhd;
    int port;
    unsigned generation;
    gw_auth_t *auth;
    gw_metrics_t *metrics;
    const gw_route_t *routes;
    size_t nroutes;
    sigset_t signals;
    pthread_mutex_t lock; /* guards threads */
    s_thread_t *threads;
    rpc_mux_t *mux; /* every thread's broker calls, over one socket */
};

/* One request, from its headers to its end. */
typedef struct {
    gw_call_t call;
    char *method, *path;
    buf_t *body;
    size_t limit;
    size_t seen;
    bool too_large;
    bool answered;
    bool is_static;
    size_t label; /* metrics label */
    int64_t t0_us;
    token_identity_t ident;
} s_req_t;

static atomic_uint s_generations;
static _Thread_local s_thread_t *s_mine;
static _Thread_local unsigned s_mine_generation;

/* ---- settings and connections -------------------------------------------- */

const gw_settings_t *gw_server_settings(const gw_server_t *self)
{
    return &self->set;
}

int gw_server_port(const gw_server_t *self)
{
    return self->port;
}

gw_auth_t *gw_server_auth(gw_server_t *self)
{
    return self->auth;
}

gw_metrics_t *gw_server_metrics(gw_server_t *self)
{
    return self->metrics;
}

static s_thread_t *s_thread(gw_server_t *self)
{
    if (s_mine && s_mine_generation == self->generation)
        return s_mine;
    s_thread_t *t = xcalloc(1, sizeof *t);
    pthread_mutex_lock(&self->lock);
    t->next = self->threads;
    self->threads = t;
    pthread_mutex_unlock(&self->lock);
    s_mine = t;
    s_mine_generation = self->generation;
    return t;
}

rpc_mux_t *gw_server_rpc(gw_server_t *self)
{
    return self->mux;
}

pg_t *gw_server_pg(gw_server_t *self)
{
    s_thread_t *t = s_thread(self);
    int64_t now = clock_mono_ms();
    if (!t->pg && now >= t->pg_retry_ms) {
        t->pg = pg_connect(self->set.pg_url, 1, 0);
        if (!t->pg)
            t->pg_retry_ms = now + RECONNECT_MS;
    }
    return t->pg;
}

rds_t *gw_server_rds(gw_server_t *self)
{
    s_thread_t *t = s_thread(self);
    int64_t now = clock_mono_ms();
    if (!t->rds && now >= t->rds_retry_ms) {
        t->rds = rds_connect(self->set.redis_host, self->set.redis_port, 1000);
        if (!t->rds)
            t->rds_retry_ms = now + RECONNECT_MS;
    }
    return t->rds;
}

/* ---- one request ------------------------------------------------------------ */

static void s_random_rid(char out[GW_RID_MAX + 1])
{
    uint8_t raw[12];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, GW_RID_MAX + 1, raw, sizeof raw);
}

static enum MHD_Result s_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    s_req_t *req = cls;
    if (req->call.nquery >= GW_QUERY_MAX) {
        req->call.nquery = GW_QUERY_MAX + 1; /* marks "too many" */
        return MHD_NO;
    }
    req->call.query[req->call.nquery].key = xstrdup(key ? key : "");
    req->call.query[req->call.nquery].value = xstrdup(value ? value : "");
    req->call.nquery++;
    return MHD_YES;
}

static bool s_is_api(const char *path)
{
    return !strcmp(path, "/api") || !strncmp(path, "/api/", 5);
}

/* Parse a Content-Length value; -1 when malformed. */
static long long s_content_length(const char *v)
{
    if (!v || !*v)
        return -1;
    long long n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || n > (LLONG_MAX - 9) / 10)
            return -1;
        n = n * 10 + (*p - '0');
    }
    return n;
}

/*
 * Decide what the headers alone decide.  Returns true when req has its
 * answer already (an error, or a static file), false when the body is
 * needed.
 */
static bool s_begin(gw_server_t *self, s_req_t *req, struct MHD_Connection *conn)
{
    gw_call_t *call = &req->call;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, s_query_arg, req);
    req->limit = self->set.body_max;
    req->label = gw_metrics_unmatched(self->metrics);

    const gw_route_t *route = NULL;
    gw_match_t m = gw_route_match(self->routes, self->nroutes, call->method, call->path, &route,
                                  &call->params, call->allow, sizeof call->allow);
    if (m == GW_MATCH_NONE || m == GW_MATCH_BAD_PARAM) {
        if (s_is_api(call->path)) {
            gw_reply_error(call, 404, "not_found", NULL, "no such route");
            return true;
        }
        req->label = gw_metrics_static(self->metrics);
        if (strcmp(call->method, "GET") != 0 && strcmp(call->method, "HEAD") != 0) {
            snprintf(call->allow, sizeof call->allow, "GET, HEAD");
            gw_reply_error(call, 405, "method_not_allowed", NULL, "files only take GET and HEAD");
            return true;
        }
        req->is_static = true; /* answered on the last call, so keep-alive survives */
        return false;
    }
    req->label = (size_t)(route - self->routes);
    call->route = route;
    if (m == GW_MATCH_METHOD) {
        gw_reply_error(call, 405, "method_not_allowed", NULL, "%s takes %s", route->pattern,
                       call->allow);
        return true;
    }
    if (call->nquery > GW_QUERY_MAX) {
        gw_reply_error(call, 400, "invalid_field", NULL, "more than %d query parameters",
                       GW_QUERY_MAX);
        return true;
    }
    call->accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
    if (!route->roles) {
        /* a public route still learns who asks when a valid token comes along */
        char token[TOKEN_TEXT_MAX + 1];
        const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        if (h && gw_auth_bearer(h, token, sizeof token) == 0 &&
            gw_auth_identify(self->auth, gw_server_pg(self), token, call->now_ms, &req->ident) ==
                1) {
            call->ident = &req->ident;
            gw_caller_from_identity(&req->ident, &call->caller);
        }
        sodium_memzero(token, sizeof token);
    }
    if (route->roles) {
        char token[TOKEN_TEXT_MAX + 1];
        const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        if (gw_auth_bearer(h, token, sizeof token) != 0) {
            gw_reply_error(call, 401, "unauthorized", NULL, "a bearer token is required");
            return true;
        }
        int found =
            gw_auth_identify(self->auth, gw_server_pg(self), token, call->now_ms, &req->ident);
        sodium_memzero(token, sizeof token);
        if (found < 0) {
            gw_reply_error(call, 503, "unavailable", NULL, "the database is unavailable");
            return true;
        }
        if (found == 0) {
            gw_reply_error(call, 401, "unauthorized", NULL, "unknown or revoked token");
            return true;
        }
        call->ident = &req->ident;
        gw_caller_from_identity(&req->ident, &call->caller);
        if (!gw_role_allowed(route->roles, req->ident.role)) {
            gw_reply_error(call, 403, "forbidden", NULL, "a %s token may not use this route",
                           req->ident.role);
            return true;
        }
    }
    if (route->csv)
        req->limit = self->set.import_max;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    long long len = s_content_length(cl);
    if (cl && (len < 0 || (unsigned long long)len > req->limit)) {
        gw_reply_error(call, 413, "too_large", NULL, "the body may be at most %zu bytes",
                       req->limit);
        return true;
    }
    return false;
}

/* Run the route's handler on the complete request. */
static void s_dispatch(gw_server_t *self, s_req_t *req)
{
    gw_call_t *call = &req->call;
    if (req->too_large) {
        gw_reply_error(call, 413, "too_large", NULL, "the body may be at most %zu bytes",
                       req->limit);
        return;
    }
    if (req->is_static) {
        gw_static_file(call, self->set.web_dir);
        return;
    }
    call->body = req->body ? buf_data(req->body) : "";
    call->body_len = req->body ? buf_len(req->body) : 0;
    if (gw_method_is_write(call->method) && !call->route->csv) {
        if (call->body_len == 0 && !strcmp(call->method, "DELETE")) {
            call->json = json_object();
        } else {
            json_error_t err;
            call->json = json_loadb(call->body, call->body_len, JSON_REJECT_DUPLICATES, &err);
            if (!call->json) {
                gw_reply_error(call, 400, "bad_json", NULL, "the body is not JSON: %s", err.text);
                return;
            }
            if (!json_is_object(call->json)) {
                gw_reply_error(call, 400, "bad_json", NULL, "the body must be a JSON object");
                return;
            }
        }
    }
    if (gw_call_request_id(call) != 0)
        return;
    log_set_request_id(call->request_id);
    gw_handler_fn *handler = call->route->handler;
    if (!handler && call->route->kind == GW_RPC)
        handler = gw_rpc_handler;
    handler(call);
    if (call->status == 0) {
        log_error("route %s %s gave no answer", call->route->method, call->route->pattern);
        gw_reply_error(call, 500, "internal", NULL, "internal error");
    }
}

/* Log the request's line and count it. */
static void s_finish(gw_server_t *self, s_req_t *req)
{
    int64_t us = clock_mono_us() - req->t0_us;
    gw_metrics_observe(self->metrics, req->label, req->method, req->call.status, us);
    const char *label = req->call.route                                  ? req->call.route->pattern
                        : req->label == gw_metrics_static(self->metrics) ? "static"
                                                                         : "unmatched";
    log_info("%s %s %d %.1f ms path=%.200s", req->method, label, req->call.status, us / 1000.0,
             req->path);
}

static enum MHD_Result s_queue(gw_server_t *self, s_req_t *req, struct MHD_Connection *conn)
{
    gw_call_t *call = &req->call;
    struct MHD_Response *resp;
    const char *type = call->content_type;
    if (call->fd >= 0) {
        resp = MHD_create_response_from_fd64(call->fd_size, call->fd);
        if (resp)
            call->fd = -1; /* libmicrohttpd closes it */
    } else if (call->text) {
        resp = MHD_create_response_from_buffer(call->text_len, call->text, MHD_RESPMEM_MUST_FREE);
        if (resp)
            call->text = NULL;
    } else {
        char *s = call->reply ? json_dumps(call->reply, JSON_COMPACT) : xstrdup("{}");
        if (!s)
            s = xstrdup("{}");
        resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
        if (!resp)
            free(s);
        type = "application/json; charset=utf-8";
    }
    req->answered = true;
    s_finish(self, req);
    log_set_request_id(NULL);
    if (!resp)
        return MHD_NO;
    if (type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, "X-Request-Id", call->request_id);
    if (call->allow[0] && call->status == 405)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, call->allow);
    if (s_is_api(call->path))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)call->status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **req_p)
{
    (void)version;
    gw_server_t *self = cls;
    s_req_t *req = *req_p;
    if (!req) {
        req = xcalloc(1, sizeof *req);
        *req_p = req;
        gw_call_init(&req->call);
        req->t0_us = clock_mono_us();
        req->method = xstrdup(method);
        req->path = xstrdup(url);
        req->call.server = self;
        req->call.method = req->method;
        req->call.path = req->path;
        req->call.now_ms = clock_mono_ms();
        s_random_rid(req->call.request_id);
        log_set_request_id(req->call.request_id);
        if (s_begin(self, req, conn))
            return s_queue(self, req, conn);
        log_set_request_id(NULL);
        return MHD_YES;
    }
    if (req->answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        req->seen += n;
        if (!req->body)
            req->body = buf_new(req->limit);
        if (!req->too_large && buf_append(req->body, upload_data, n) != 0) {
            req->too_large = true;
            buf_reset(req->body);
        }
        if (req->too_large && req->seen / 2 > req->limit) {
            log_set_request_id(req->call.request_id);
            log_warn("%s %s: cut the connection after %zu bytes of a body over its limit",
                     req->method, req->path, req->seen);
            log_set_request_id(NULL);
            return MHD_NO;
        }
        return MHD_YES;
    }
    log_set_request_id(req->call.request_id);
    s_dispatch(self, req);
    return s_queue(self, req, conn);
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **req_p,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    s_req_t *req = *req_p;
    if (!req)
        return;
    if (!req->answered)
        log_debug("%s %s ended before an answer (%d)", req->method, req->path, (int)toe);
    gw_call_clear(&req->call);
    buf_destroy(&req->body);
    free(req->method);
    free(req->path);
    sodium_memzero(&req->ident, sizeof req->ident);
    free(req);
    *req_p = NULL;
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_warn("http: %s", msg);
}

/* ---- the server ----------------------------------------------------------- */

static void s_copy_settings(gw_settings_t *dst, const gw_settings_t *src)
{
    *dst = *src;
    dst->bind = xstrdup(src->bind);
    dst->web_dir = xstrdup(src->web_dir);
    dst->broker = xstrdup(src->broker);
    dst->pg_url = xstrdup(src->pg_url);
    dst->redis_host = xstrdup(src->redis_host);
}

static void s_free_settings(gw_settings_t *s)
{
    free((char *)s->bind);
    free((char *)s->web_dir);
    free((char *)s->broker);
    free((char *)s->pg_url);
    free((char *)s->redis_host);
}

gw_server_t *gw_server_new(const gw_settings_t *settings)
{
    if (sodium_init() < 0) {
        log_error("could not initialise libsodium");
        return NULL;
    }
    gw_server_t *self = xcalloc(1, sizeof *self);
    s_copy_settings(&self->set, settings);
    self->generation = atomic_fetch_add(&s_generations, 1) + 1;
    pthread_mutex_init(&self->lock, NULL);
    self->routes = gw_routes(&self->nroutes);
    const char **labels = xcalloc(self->nroutes, sizeof *labels);
    for (size_t i = 0; i < self->nroutes; i++)
        labels[i] = self->routes[i].pattern;
    self->metrics = gw_metrics_new(labels, self->nroutes);
    free(labels);
    self->auth = gw_auth_new(settings->token_cache_s, 4096);

    sigemptyset(&self->signals);
    sigaddset(&self->signals, SIGINT);
    sigaddset(&self->signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &self->signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* after the mask: its thread leaves SIGINT/SIGTERM to gw_server_run */
    self->mux = rpc_mux_new(self->set.broker);
    if (!self->mux) {
        log_error("could not start the broker client for %s", self->set.broker);
        gw_server_destroy(&self);
        return NULL;
    }

    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
    if (inet_pton(AF_INET, self->set.bind, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)self->set.port);
    } else if (inet_pton(AF_INET6, self->set.bind, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)self->set.port);
        flags |= MHD_USE_IPv6;
    } else {
        log_error("LZ_HTTP_BIND \"%s\" is not an IPv4 or IPv6 address", self->set.bind);
        gw_server_destroy(&self);
        return NULL;
    }
    self->mhd = MHD_start_daemon(
        flags, (uint16_t)self->set.port, NULL, NULL, s_access, self, MHD_OPTION_EXTERNAL_LOGGER,
        s_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(self->set.threads > 1 ? self->set.threads : 0),
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, self, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_END);
    if (!self->mhd) {
        log_error("could not listen on %s port %d: %s", self->set.bind, self->set.port,
                  strerror(errno));
        gw_server_destroy(&self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->mhd, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info && info->port ? info->port : self->set.port;
    log_info("listening on http://%s:%d with %d threads", self->set.bind, self->port,
             self->set.threads);
    return self;
}

int gw_server_run(gw_server_t *self)
{
    int sig = 0;
    while (sigwait(&self->signals, &sig) != 0)
        ;
    log_info("signal %d: stopping", sig);
    return 0;
}

void gw_server_destroy(gw_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gw_server_t *self = *self_p;
    if (self->mhd)
        MHD_stop_daemon(self->mhd); /* joins the pool threads */
    while (self->threads) {
        s_thread_t *t = self->threads;
        self->threads = t->next;
        pg_destroy(&t->pg);
        rds_destroy(&t->rds);
        free(t);
    }
    rpc_mux_destroy(&self->mux); /* the pool threads are gone: no call in progress */
    if (s_mine_generation == self->generation) {
        s_mine = NULL;
        s_mine_generation = 0;
    }
    gw_auth_destroy(&self->auth);
    gw_metrics_destroy(&self->metrics);
    pthread_mutex_destroy(&self->lock);
    s_free_settings(&self->set);
    free(self);
    *self_p = NULL;
}
