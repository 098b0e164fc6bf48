/*
 * period.h - reporting periods, deadlines and local calendar arithmetic.
 *
 * A period is a local day, an ISO week, a month or a quarter in Asia/Shanghai
 * time. Asia/Shanghai has kept a fixed UTC+08:00 offset with no daylight saving
 * since 1991, so this module uses that fixed offset directly: it never reads TZ,
 * never calls localtime/mktime/timegm, and never reads the clock. Every instant
 * is an int64_t count of unix seconds and is passed in by the caller.
 *
 * Canonical texts: "2026-11-29" (daily), "2026-W48" (weekly, ISO week-year),
 * "2026-11" (monthly), "2026-Q4" (quarterly). Periods are valid for years
 * 1970..9999 (for weekly periods, the ISO week-year).
 */
#ifndef LZ_PERIOD_H
#define LZ_PERIOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Offset of local time (Asia/Shanghai) from UTC, in seconds. */
#define PERIOD_LOCAL_OFFSET_S (8 * 3600)

/* Shortest buffer period_format accepts (longest text plus NUL). */
#define PERIOD_TEXT_MAX 11

/* Shortest buffer rfc3339_format accepts (text plus NUL). */
#define RFC3339_TEXT_MAX 26

typedef enum { PERIOD_DAILY, PERIOD_WEEKLY, PERIOD_MONTHLY, PERIOD_QUARTERLY } period_kind_t;

/*
 * num: daily = day of year (1..366), weekly = ISO week (1..53, year is the ISO
 * week-year), monthly = 1..12, quarterly = 1..4.
 */
typedef struct {
    period_kind_t kind;
    int year;
    int num;
} period_t;

/* Returns the static name of k ("daily", "weekly", "monthly", "quarterly"), or NULL
 * if k is not a kind. */
const char *period_kind_name(period_kind_t k);

/* Parses a kind name (exact, lower case). Returns 0 and sets *out, or -1. */
int period_kind_parse(const char *s, period_kind_t *out);

/* Returns true if p is a real period: known kind, year 1970..9999, num in range
 * for that kind and year (W53 only in years that have it, day 366 only in leap
 * years). */
bool period_valid(const period_t *p);

/*
 * Parses the canonical text of any kind: "2026-11-29", "2026-W48", "2026-11",
 * "2026-Q4". Strict: exact widths, ASCII digits, upper case 'W' and 'Q', real
 * dates only, W53 only in ISO years that have 53 weeks, years 1970..9999.
 * Returns 0 and sets *out, or -1 (leaving *out untouched).
 */
int period_parse(const char *s, period_t *out);

/* Like period_parse, but returns -1 unless s is a period of the given kind. */
int period_parse_kind(period_kind_t kind, const char *s, period_t *out);

/*
 * Writes the canonical text of p into buf (NUL-terminated). Returns its length;
 * returns 0 (and writes "" when len > 0) if p is not valid or len is smaller than
 * PERIOD_TEXT_MAX.
 */
size_t period_format(const period_t *p, char *buf, size_t len);

/* Orders two periods of the same kind. Returns <0, 0 or >0 as a is before, equal
 * to or after b. Periods of different kinds are ordered by kind first. */
int period_compare(const period_t *a, const period_t *b);

/* Returns the first instant of p (00:00 +08:00 of its first day), or INT64_MIN if
 * p is not valid. */
int64_t period_start(const period_t *p);

/* Returns the first instant after p (its end, exclusive), or INT64_MIN if p is not
 * valid. */
int64_t period_end(const period_t *p);

/*
 * Returns period_end(p) + grace_s: a record made at an instant t < deadline is on
 * time. Saturates at INT64_MAX instead of overflowing; returns INT64_MIN
 * if p is not valid.
 */
int64_t period_deadline(const period_t *p, int64_t grace_s);

/* Finds the period of the given kind that holds instant t. Returns 0 and sets
 * *out, or -1 if kind is unknown or that period lies outside years 1970..9999. */
int period_containing(period_kind_t kind, int64_t t, period_t *out);

/* Computes the period n periods after p (n may be negative), across year ends.
 * Returns 0 and sets *out, or -1 if p is not valid or the result lies outside
 * years 1970..9999. out may be p. */
int period_add(const period_t *p, int n, period_t *out);

/* Returns the number of days in p (1, 7, 28..31 or 90..92), or -1 if p is not
 * valid. */
int period_days(const period_t *p);

/* Finds the quarter holding p's first day (for a week, its Monday, which may lie
 * in the previous calendar year). Returns 0 and sets *out, or -1. out may be p. */
int period_quarter_of(const period_t *p, period_t *out);

/* Finds p's first day as a daily period. Returns 0 and sets *out_daily, or -1.
 * out_daily may be p. */
int period_first_day(const period_t *p, period_t *out_daily);

/* Returns the instant of 00:00 +08:00 on the date y-m-d. The date must be real
 * (m 1..12, d 1..days in that month); other values give an unspecified instant. */
int64_t local_midnight(int y, int m, int d);

/* Sets *y, *m, *d to the +08:00 calendar date of instant t (proleptic Gregorian,
 * meaningful for years 1..9999). */
void local_date(int64_t t, int *y, int *m, int *d);

/* Returns the +08:00 weekday of instant t: 1 = Monday .. 7 = Sunday. */
int local_weekday(int64_t t);

/*
 * Parses an RFC 3339 timestamp "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)",
 * e.g. "2026-11-30T10:00:00+08:00" or "2026-11-30T02:00:00.123Z". Fractional
 * seconds are dropped; any offset up to +-23:59 is accepted. Strict otherwise:
 * upper case 'T' and 'Z' only, no leap second (:60), real dates, years
 * 0000..9999, at most 63 characters. Returns 0 and sets *out, or -1.
 */
int rfc3339_parse(const char *s, int64_t *out);

/*
 * Writes t as RFC 3339 in local time, always "+08:00", e.g.
 * "2026-11-30T10:00:00+08:00". Returns the length written (25); returns 0 (and
 * writes "" when len > 0) if len < RFC3339_TEXT_MAX or the local year of t is
 * outside 0000..9999.
 */
size_t rfc3339_format(int64_t t, char *buf, size_t len);

#endif /* LZ_PERIOD_H */
