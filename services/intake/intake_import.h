/*
 * intake_import.h - bulk CSV imports of the registry: regions, businesses,
 * cadres, assignments, inspectors (API.md "Registry").
 *
 * An import goes in three steps, the first and last pure:
 *
 *   1. import_parse: read the CSV, check the header and every row on its
 *      own (formats, lists, lengths, check characters, duplicates in the
 *      file, the caller's jurisdiction), and collect the keys that only the
 *      database can judge (region codes, cadre phones, licence numbers);
 *   2. the caller looks those keys up (import_lookup_* ; import_run does it
 *      with one query per kind of key);
 *   3. import_check: the checks that need what was looked up (a region
 *      exists with the right level, a parent exists in the database or
 *      earlier in the file, an assignment's cadre and business exist and the
 *      cadre's region contains the business's).
 *
 * A file with any bad row is refused whole: one error per bad row (its first
 * bad field), sorted by line, at most IMPORT_ERRORS_MAX listed.  A good file
 * is applied by import_run in one transaction: COPY into a temporary staging
 * table, one set-based UPDATE of the existing rows that differ, one INSERT of
 * the new ones (never INSERT ... ON CONFLICT on businesses: business ids are
 * dense bit offsets, and a conflicting insert would burn one), an audit entry
 * and an outbox event ("registry.imported", key = the kind), and the answer
 * stored under the request id (write_requests) so a retry gets it again.
 *
 * Assignments are only added: a pair (cadre, business) without a current
 * assignment gets one since now; assignments not in the file are not ended.
 */
#ifndef LZ_INTAKE_IMPORT_H
#define LZ_INTAKE_IMPORT_H

#include "envelope.pb-c.h"
#include "pg.h"
#include "rpc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMPORT_ERRORS_MAX 100 /* rows listed in a refusal */

typedef enum {
    IMPORT_REGIONS,
    IMPORT_BUSINESSES,
    IMPORT_CADRES,
    IMPORT_ASSIGNMENTS,
    IMPORT_INSPECTORS,
    IMPORT_KIND_COUNT
} import_kind_t;

/* Returns the kind's static name ("businesses"), or NULL. */
const char *import_kind_name(import_kind_t kind);
/* Parses a kind name; 0 and *out set, or -1. */
int import_kind_parse(const char *s, import_kind_t *out);
/* Returns the exact header row the kind's files must start with (static). */
const char *import_header(import_kind_t kind);

/* One refused row. */
typedef struct {
    int line;          /* 1-based line of the CSV where the row starts */
    char field[32];    /* the column at fault, "" when the row as a whole is */
    char message[200]; /* lower case, no final period */
} import_error_t;

typedef struct import_s import_t;

/*
 * Parse and check data[0..len) as a file of kind.  scope is the caller's
 * jurisdiction (a 12-digit region code; every row must lie inside it) or
 * NULL for no limit (admin, the system).  Returns the parsed import (caller
 * destroys it); its errors so far are in import_errors.  Never NULL.
 */
import_t *import_parse(import_kind_t kind, const char *data, size_t len, const char *scope);
void import_destroy(import_t **self_p);

/* Rows read (header excluded). */
size_t import_rows(const import_t *self);

/* What the database must be asked about. */
typedef enum {
    IMPORT_LOOKUP_REGIONS,    /* region codes -> their level name */
    IMPORT_LOOKUP_CADRES,     /* cadre phones (assignments) -> the cadre's region code */
    IMPORT_LOOKUP_BUSINESSES, /* licence numbers (assignments) -> the business's region code */
    IMPORT_LOOKUP_EXISTING,   /* the rows' own keys (licence, phone), when scope is set ->
                                 the existing row's region code, which must be in scope too */
    IMPORT_LOOKUP_COUNT
} import_lookup_t;

/* Number of distinct keys of class what, and the i-th (valid while self is). */
size_t import_lookup_count(const import_t *self, import_lookup_t what);
const char *import_lookup_key(const import_t *self, import_lookup_t what, size_t i);
/* Record what the database knows of key i of class what: a level name for
 * regions, a region code for the others.  Keys never set are unknown. */
void import_lookup_set(import_t *self, import_lookup_t what, size_t i, const char *value);

/* Run the checks that need the looked-up values.  Call once, after the lookups. */
void import_check(import_t *self);

/* Number of bad rows found (may be more than listed). */
size_t import_error_total(const import_t *self);
/* The listed errors, sorted by line, at most IMPORT_ERRORS_MAX; *n receives
 * how many.  Valid while self is. */
const import_error_t *import_errors(import_t *self, size_t *n);

/*
 * The rows as COPY text for the kind's staging table (first column the line
 * number); valid while self is.  Only meaningful when there are no errors.
 */
const char *import_copy_data(const import_t *self, size_t *len);

/* ---- running an import against the database ---------------------------- */

typedef struct {
    Lz__Status status; /* OK, INVALID_ROWS, FORBIDDEN, CONFLICT, UNAVAILABLE, INTERNAL */
    char reason[200];
    int64_t imported, updated;
    bool replayed;          /* the request id was answered before: see stored */
    rpc_reply_t stored;     /* replayed: that answer, or CONFLICT (another caller's id) */
    import_error_t *errors; /* INVALID_ROWS: owned, import_result_clear frees */
    size_t nerrors;
} import_result_t;

/*
 * Import data of kind as caller (NULL: the system itself, no limit) under
 * request_id (NULL: no idempotency record, for the CLI).  pg must not be in a
 * transaction.  The request id is claimed with common/idem.h and the answer
 * stored in the import's transaction.  Returns 0 when the file was imported
 * (or the request id's stored success replayed), -1 otherwise; either way
 * *out says what happened.
 * Release *out with import_result_clear.
 */
int import_run(pg_t *pg, import_kind_t kind, const char *data, size_t len, const Lz__Caller *caller,
               const char *request_id, import_result_t *out);
void import_result_clear(import_result_t *out);

/* Fill rep from a result: OK with an lz.ImportReply, the error, or the stored answer. */
void import_reply(const import_result_t *res, rpc_reply_t *rep);

#endif
