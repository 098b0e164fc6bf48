/*
 * pg.c - PostgreSQL access for every service.
 */
#include "pg.h"
#include "clock.h"
#include "log.h"
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_PREPARED_MAX 256

struct pg_s {
    PGconn *conn;
    char *conninfo;
    char sqlstate[6];
    char errmsg[512];
    char *prepared[PG_PREPARED_MAX]; /* names prepared on this connection */
    int nprepared;
};

static void s_clear_prepared(pg_t *self)
{
    for (int i = 0; i < self->nprepared; i++)
        free(self->prepared[i]);
    self->nprepared = 0;
}

static void s_notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("postgresql: %.*s", (int)strcspn(message, "\n"), message);
}

static PGconn *s_open(const char *conninfo)
{
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        log_warn("could not connect to postgresql: %.*s", (int)strcspn(PQerrorMessage(conn), "\n"),
                 PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, s_notice, NULL);
    PGresult *r = PQexec(conn, "SET TIME ZONE 'Asia/Shanghai'");
    PQclear(r);
    return conn;
}

pg_t *pg_connect(const char *conninfo, int attempts, int delay_ms)
{
    for (int i = 0; i < attempts; i++) {
        PGconn *conn = s_open(conninfo);
        if (conn) {
            pg_t *self = xcalloc(1, sizeof *self);
            self->conn = conn;
            self->conninfo = xstrdup(conninfo);
            return self;
        }
        if (i + 1 < attempts)
            clock_sleep_ms(delay_ms);
    }
    log_error("could not connect to postgresql after %d attempts", attempts);
    return NULL;
}

void pg_destroy(pg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pg_t *self = *self_p;
    if (self->conn)
        PQfinish(self->conn);
    s_clear_prepared(self);
    free(self->conninfo);
    free(self);
    *self_p = NULL;
}

PGconn *pg_conn(pg_t *self)
{
    return self->conn;
}

static void s_set_error(pg_t *self, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(self->sqlstate, sizeof self->sqlstate, "%s", state ? state : "08000");
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    if (!msg || !*msg)
        msg = PQerrorMessage(self->conn);
    snprintf(self->errmsg, sizeof self->errmsg, "%.*s", (int)strcspn(msg, "\n"), msg);
}

/* Reconnect when the connection is gone; true when it is usable again. */
static bool s_revive(pg_t *self)
{
    if (PQstatus(self->conn) == CONNECTION_OK)
        return false;
    log_warn("postgresql connection lost, reconnecting");
    PQreset(self->conn);
    s_clear_prepared(self);
    if (PQstatus(self->conn) != CONNECTION_OK)
        return false;
    PGresult *r = PQexec(self->conn, "SET TIME ZONE 'Asia/Shanghai'");
    PQclear(r);
    return true;
}

static bool s_ok(const PGresult *res)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN;
}

static PGresult *s_finish(pg_t *self, PGresult *res, const char *what)
{
    if (s_ok(res)) {
        self->sqlstate[0] = '\0';
        self->errmsg[0] = '\0';
        return res;
    }
    s_set_error(self, res);
    /* constraint violations are the caller's business to report; keep them quiet */
    if (strncmp(self->sqlstate, "23", 2) == 0 || strcmp(self->sqlstate, "40001") == 0)
        log_debug("statement failed (%s): %s [%.60s]", self->sqlstate, self->errmsg, what);
    else
        log_error("statement failed (%s): %s [%.60s]", self->sqlstate, self->errmsg, what);
    PQclear(res);
    return NULL;
}

PGresult *pg_query(pg_t *self, const char *sql, int nparams, const char *const *params)
{
    bool outside = !pg_in_transaction(self);
    PGresult *res = PQexecParams(self->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (!s_ok(res) && outside && s_revive(self)) {
        PQclear(res);
        res = PQexecParams(self->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    }
    return s_finish(self, res, sql);
}

static bool s_is_prepared(pg_t *self, const char *name)
{
    for (int i = 0; i < self->nprepared; i++)
        if (strcmp(self->prepared[i], name) == 0)
            return true;
    return false;
}

static PGresult *s_prepared_once(pg_t *self, const char *name, const char *sql, int nparams,
                                 const char *const *params)
{
    if (!s_is_prepared(self, name)) {
        PGresult *p = PQprepare(self->conn, name, sql, nparams, NULL);
        if (!s_ok(p))
            return p;
        PQclear(p);
        if (self->nprepared < PG_PREPARED_MAX)
            self->prepared[self->nprepared++] = xstrdup(name);
    }
    return PQexecPrepared(self->conn, name, nparams, params, NULL, NULL, 0);
}

PGresult *pg_query_prepared(pg_t *self, const char *name, const char *sql, int nparams,
                            const char *const *params)
{
    bool outside = !pg_in_transaction(self);
    PGresult *res = s_prepared_once(self, name, sql, nparams, params);
    if (!s_ok(res) && outside && s_revive(self)) {
        PQclear(res);
        res = s_prepared_once(self, name, sql, nparams, params);
    }
    return s_finish(self, res, sql);
}

int pg_exec(pg_t *self, const char *sql, int nparams, const char *const *params)
{
    PGresult *res = pg_query(self, sql, nparams, params);
    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

int pg_exec_script(pg_t *self, const char *sql)
{
    PGresult *res = PQexec(self->conn, sql);
    res = s_finish(self, res, "script");
    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

int pg_begin(pg_t *self)
{
    return pg_exec(self, "BEGIN", 0, NULL);
}

int pg_commit(pg_t *self)
{
    PGresult *res = PQexec(self->conn, "COMMIT");
    res = s_finish(self, res, "COMMIT");
    if (!res)
        return -1;
    /* COMMIT of an aborted transaction answers ROLLBACK: that is a failure */
    bool rolled_back = strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
    PQclear(res);
    if (rolled_back) {
        snprintf(self->sqlstate, sizeof self->sqlstate, "40000");
        snprintf(self->errmsg, sizeof self->errmsg, "transaction was rolled back");
        return -1;
    }
    return 0;
}

int pg_rollback(pg_t *self)
{
    if (!pg_in_transaction(self))
        return 0;
    PGresult *res = PQexec(self->conn, "ROLLBACK");
    PQclear(res);
    return 0;
}

bool pg_in_transaction(pg_t *self)
{
    PGTransactionStatusType st = PQtransactionStatus(self->conn);
    return st == PQTRANS_INTRANS || st == PQTRANS_INERROR || st == PQTRANS_ACTIVE;
}

int pg_copy_in(pg_t *self, const char *copy_sql, const char *data, size_t len)
{
    PGresult *res = PQexec(self->conn, copy_sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        s_finish(self, res, copy_sql);
        return -1;
    }
    PQclear(res);
    size_t off = 0;
    while (off < len) {
        size_t chunk = len - off > (1 << 20) ? (1 << 20) : len - off;
        if (PQputCopyData(self->conn, data + off, (int)chunk) != 1) {
            PQputCopyEnd(self->conn, "client failed to send");
            break;
        }
        off += chunk;
    }
    if (off == len && PQputCopyEnd(self->conn, NULL) != 1)
        return -1;
    int rc = 0;
    while ((res = PQgetResult(self->conn)) != NULL) {
        if (!s_finish(self, res, copy_sql))
            rc = -1;
        else
            PQclear(res);
    }
    return off == len ? rc : -1;
}

const char *pg_sqlstate(const pg_t *self)
{
    return self->sqlstate;
}

const char *pg_errmsg(const pg_t *self)
{
    return self->errmsg;
}

bool pg_unique_violation(const pg_t *self)
{
    return strcmp(self->sqlstate, "23505") == 0;
}

bool pg_ping(pg_t *self)
{
    PGresult *res = pg_query(self, "SELECT 1", 0, NULL);
    if (!res)
        return false;
    PQclear(res);
    return true;
}

void pg_free(PGresult **res_p)
{
    if (res_p && *res_p) {
        PQclear(*res_p);
        *res_p = NULL;
    }
}

const char *pg_str(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return PQgetvalue(res, row, col);
}

int64_t pg_int(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return 0;
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

bool pg_bool(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}
