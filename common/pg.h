/*
 * pg.h - PostgreSQL access for every service (libpq underneath).
 *
 * A pg_t is one connection used by one thread.  Statements are always
 * parameterised (text parameters, text results); a failure is logged once
 * here with the statement's SQLSTATE, kept on the handle (pg_sqlstate) and
 * reported to the caller as NULL / -1.  A connection lost outside a
 * transaction is re-established and the statement retried once; inside a
 * transaction the caller must roll back and retry the whole unit.
 *
 * Results are plain PGresult pointers: the caller owns them and frees them
 * with pg_free(&res).
 */
#ifndef LZ_PG_H
#define LZ_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pg_s pg_t;

/* Connect, trying attempts times delay_ms apart; NULL when every try failed. */
pg_t *pg_connect(const char *conninfo, int attempts, int delay_ms);
void pg_destroy(pg_t **self_p);

/* The raw connection, for what this module does not wrap; valid until the next call here. */
PGconn *pg_conn(pg_t *self);

/* Run a statement returning rows or a command status; the result (caller frees) or NULL. */
PGresult *pg_query(pg_t *self, const char *sql, int nparams, const char *const *params);
/* Same, with the statement prepared once per connection under name. */
PGresult *pg_query_prepared(pg_t *self, const char *name, const char *sql, int nparams,
                            const char *const *params);
/* Run a statement and drop its result; 0 or -1. */
int pg_exec(pg_t *self, const char *sql, int nparams, const char *const *params);
/* Run a script of several statements without parameters (migrations); 0 or -1. */
int pg_exec_script(pg_t *self, const char *sql);

int pg_begin(pg_t *self);
int pg_commit(pg_t *self);
/* Roll back; harmless outside a transaction. */
int pg_rollback(pg_t *self);
bool pg_in_transaction(pg_t *self);

/* COPY ... FROM STDIN with data in COPY text format; 0 or -1. */
int pg_copy_in(pg_t *self, const char *copy_sql, const char *data, size_t len);

/* SQLSTATE of the last failure ("" when none), and its message. */
const char *pg_sqlstate(const pg_t *self);
const char *pg_errmsg(const pg_t *self);
/* True when the last failure was a unique violation (23505). */
bool pg_unique_violation(const pg_t *self);

/* True when the server answers a trivial query. */
bool pg_ping(pg_t *self);

void pg_free(PGresult **res_p);
/* Cell helpers: NULL for SQL NULL; integers parse the text form (0 for NULL). */
const char *pg_str(const PGresult *res, int row, int col);
int64_t pg_int(const PGresult *res, int row, int col);
bool pg_bool(const PGresult *res, int row, int col);

#endif
