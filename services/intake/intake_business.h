/*
 * intake_business.h - reading the registry: one business with its cadres,
 * filtered lists of businesses with keyset paging, and coverage (应包尽包).
 *
 * Who sees what (every miss is NOT_FOUND, never FORBIDDEN, so nothing leaks):
 *   admin      every business
 *   regulator  businesses whose region lies in its region; a list or coverage
 *              without ?region= means its own region, a region outside it 404
 *   cadre      the businesses currently assigned to it
 *   business   its own business
 * Whoever may see a business sees all of it, its cadres' names, levels and
 * phones included: those are the people the business deals with.  Coverage
 * is for admins and regulators only.
 *
 * The pure helpers (cursor, region range, LIKE pattern, limit) are exposed
 * for unit tests and for the other list methods of intake.
 */
#ifndef LZ_INTAKE_BUSINESS_H
#define LZ_INTAKE_BUSINESS_H

#include "region.h"
#include "rpc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Lists answer at most this many items; this many when no limit is given. */
#define INTAKE_LIMIT_MAX     1000
#define INTAKE_LIMIT_DEFAULT 100
/* Longest cursor text accepted or made. */
#define INTAKE_CURSOR_MAX 64
/* Most keys one cursor holds. */
#define INTAKE_CURSOR_KEYS 4
/* Longest ?q= accepted, in bytes. */
#define INTAKE_Q_MAX 100
/* Most uncovered business ids a coverage answer lists. */
#define INTAKE_UNCOVERED_MAX 1000

/*
 * Write an opaque cursor for the n (1..INTAKE_CURSOR_KEYS) keys of the last
 * row of a page into buf (NUL-terminated): base64url of "v1.k1.k2...".
 * Returns 0, or -1 when n is out of range or buf is too small.
 */
int intake_cursor_encode(const int64_t *keys, size_t n, char *buf, size_t len);

/*
 * Read a cursor made by intake_cursor_encode with exactly n keys into keys.
 * Returns 0, or -1 (keys untouched) for anything else: bad base64, wrong
 * version or count, a key that is not a decimal integer in int64 range.
 */
int intake_cursor_decode(const char *cursor, int64_t *keys, size_t n);

/*
 * The code range of a jurisdiction: every code under code starts with its
 * level's significant digits (region_prefix_len), so the jurisdiction is
 * lo <= region_code <= hi with lo = prefix then '0's, hi = prefix then '9's.
 * A range on the column keeps the businesses_region (region_code, id) index
 * usable.  Returns 0, or -1 for an invalid code.
 */
int intake_region_range(const char *code, char lo[REGION_CODE_LEN + 1],
                        char hi[REGION_CODE_LEN + 1]);

/*
 * Write the ILIKE pattern "%q%" into buf with q's '%', '_' and '\' escaped
 * by '\'.  Returns 0, or -1 when q is longer than INTAKE_Q_MAX bytes or buf
 * too small (it needs 2 * INTAKE_Q_MAX + 3 bytes at most).
 */
int intake_like_pattern(const char *q, char *buf, size_t len);

/* The page size: default when !has, else v if it is 1..INTAKE_LIMIT_MAX.
 * Returns 0 and sets *out, or -1. */
int intake_limit(bool has, int32_t v, int *out);

/* Returns true if s is a business type, a risk grade, a business status. */
bool intake_business_type_valid(const char *s);
bool intake_risk_grade_valid(const char *s);
bool intake_business_status_valid(const char *s);

/* Handlers (intake_business.c); ctx is the intake_t. */
void intake_get_business(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void intake_list_businesses(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);
void intake_coverage(void *ctx, const Lz__Envelope *req, rpc_reply_t *rep);

#endif
