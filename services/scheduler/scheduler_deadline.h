/*
 * scheduler_deadline.h - deadlines, who owes what, and per-region counts: pure logic.
 *
 * The sweep asks which deadlines fell in a window, decides for every
 * business whether it owed that ledger (its registry state at the deadline)
 * and whether its bit is set in the done bitmap, and counts per community;
 * the counts are then rolled up to every ancestor region.  Visit periods
 * follow a frequency per cadre level (monthly, quarterly, half-yearly,
 * yearly).  Nothing here reads the clock, the database or Redis.
 */
#ifndef LZ_SCHEDULER_DEADLINE_H
#define LZ_SCHEDULER_DEADLINE_H

#include "period.h"
#include "region.h"
#include "visit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- ledger deadlines ----------------------------------------------------- */

/* A deadline to process: a ledger period (daily/weekly/monthly) or a visit period. */
typedef struct {
    char kind[16];    /* daily, weekly, monthly, visit */
    char period[16];  /* 2026-11-29, 2026-W48, 2026-11; visits: 2026-11, 2026-Q4, 2026-H2, 2026 */
    int64_t start;    /* first instant of the period */
    int64_t deadline; /* end + grace */
} deadline_t;

/*
 * Append to out (room for max) the periods of kind whose deadline (end +
 * grace_s) lies in (from, to], oldest first.  Returns how many were written,
 * or -1 when more than max fall in the window.
 */
int deadline_ledger_list(period_kind_t kind, int64_t grace_s, int64_t from, int64_t to,
                         deadline_t *out, int max);

/* ---- visit periods ------------------------------------------------------- */

/*
 * Parse the cadre level that owes a business its visits, per risk grade: "A:village,
 * B:village,C:township,D:county" (each grade once, levels city|county|township|village).
 * out[0..3] (grades A..D) get the levels; a grade not named gets "" (every assigned cadre owes);
 * an empty text leaves all four "".  0, or -1 on a malformed text.
 */
int visit_level_by_grade_parse(const char *text, char out[4][16]);

/*
 * Append the visit periods of frequency f that end in (from, to], oldest
 * first (deadline = end + grace_s).  Returns how many, or -1 when more than max.
 */
int deadline_visit_list(visit_freq_t f, int64_t grace_s, int64_t from, int64_t to, deadline_t *out,
                        int max);

/* ---- who owes ------------------------------------------------------------ */

/* A business as the registry has it now. */
typedef struct {
    bool active;        /* status = active now */
    int64_t created_at; /* unix seconds */
    int64_t changed_at; /* when the row last changed (updated_at) */
    bool rest_day;      /* daily ledgers: the period's day is a declared rest day */
} owe_facts_t;

/*
 * True if the business owed the ledger whose deadline is deadline: it
 * existed before the deadline, was active at it (active now, or its status
 * changed only after the deadline - the registry keeps no history, so a
 * change after the deadline is taken as the end of an active spell), and the
 * day was not a declared rest day.
 */
bool deadline_owes(const owe_facts_t *f, int64_t deadline);

/* True if bit id is set in a Redis bitmap (bit 0 = the high bit of byte 0). */
bool bitmap_test(const unsigned char *bm, size_t len, int64_t id);
/* Set bit id in a bitmap of len bytes (ignored past the end). */
void bitmap_set(unsigned char *bm, size_t len, int64_t id);

/* ---- counts per region ---------------------------------------------------- */

typedef struct {
    char code[REGION_CODE_LEN + 1];
    int64_t owed, submitted, on_time, late, missing, problems;
} region_count_t;

typedef struct region_counts_s region_counts_t;

/* Return an empty table (caller destroys). */
region_counts_t *region_counts_new(void);
void region_counts_destroy(region_counts_t **self_p);

/* The row of code, made (zeroed) when missing; valid until the next add. NULL for a bad code. */
region_count_t *region_counts_get(region_counts_t *self, const char *code);

/*
 * Add every community's counts to each of its ancestors (call once, after
 * every community row is in).  Rows of non-communities present before are
 * kept and added to as well.
 */
void region_counts_rollup(region_counts_t *self);

/* Number of rows. */
size_t region_counts_size(const region_counts_t *self);
/* Walk the rows in no particular order: start with *cursor = 0; NULL after the last. */
const region_count_t *region_counts_next(const region_counts_t *self, size_t *cursor);

#endif
