/*
 * gateway_server.h - the HTTP server: libmicrohttpd, request lifecycle, dispatch.
 *
 * libmicrohttpd runs a pool of threads; each request is handled whole on
 * one of them.  For every request the server matches the route, checks the
 * bearer token and the role before reading the body (so a stranger's
 * upload is refused unread), accumulates the body up to its limit (413
 * too_large as soon as Content-Length or the bytes so far pass it), parses
 * JSON bodies of writes, takes the request id, calls the route's handler and
 * queues its answer.  Every request ends in one log line and one
 * observation in the metrics.
 *
 * Each pool thread lazily makes its own broker client, PostgreSQL and Redis
 * connections (none of them may be shared between threads); the server
 * keeps a list of them and closes them in gw_server_destroy.
 */
#ifndef LZ_GATEWAY_SERVER_H
#define LZ_GATEWAY_SERVER_H

#include "gateway_auth.h"
#include "gateway_metrics.h"
#include "pg.h"
#include "rds.h"
#include "rpc.h"

#include <stddef.h>

typedef struct {
    const char *bind;       /* LZ_HTTP_BIND: IPv4 or IPv6 address */
    int port;               /* LZ_HTTP_PORT (0: any free port, see gw_server_port) */
    int threads;            /* LZ_HTTP_THREADS */
    size_t body_max;        /* LZ_BODY_MAX: JSON bodies */
    size_t import_max;      /* LZ_IMPORT_MAX: text/csv bodies */
    int rpc_timeout_ms;     /* LZ_RPC_TIMEOUT_MS */
    int token_cache_s;      /* LZ_TOKEN_CACHE_S (0: no cache) */
    const char *web_dir;    /* LZ_WEB_DIR */
    const char *broker;     /* LZ_BROKER */
    const char *pg_url;     /* LZ_PG_URL */
    const char *redis_host; /* LZ_REDIS_HOST */
    int redis_port;         /* LZ_REDIS_PORT */
} gw_settings_t;

typedef struct gw_server_s gw_server_t;

/*
 * Return a server listening on settings->bind:port (settings are copied),
 * or NULL (logged) when it cannot listen.  Blocks SIGINT and SIGTERM in the
 * calling thread first, so the pool threads inherit the mask and
 * gw_server_run can wait for them.  Caller destroys it.
 */
gw_server_t *gw_server_new(const gw_settings_t *settings);
/* Serve until SIGINT or SIGTERM; 0. */
int gw_server_run(gw_server_t *self);
/* Stop listening, close every thread's connections, free; accepts NULL. */
void gw_server_destroy(gw_server_t **self_p);

/* The port actually bound. */
int gw_server_port(const gw_server_t *self);
const gw_settings_t *gw_server_settings(const gw_server_t *self);
gw_auth_t *gw_server_auth(gw_server_t *self);
gw_metrics_t *gw_server_metrics(gw_server_t *self);

/*
 * The broker client every thread calls through (rpc_mux_call_msg): one
 * socket with every request of the pool threads in flight on it.  Owned by
 * the server.
 */
rpc_mux_t *gw_server_rpc(gw_server_t *self);
/*
 * This thread's connections, made on first use and owned by the server:
 * never free them.  pg and rds are NULL while the server cannot be reached
 * (a failed connect is retried at most once a second).
 */
pg_t *gw_server_pg(gw_server_t *self);
rds_t *gw_server_rds(gw_server_t *self);

#endif
