/*
 * intake_history.h - demo ledger history: a few weeks of daily, weekly and
 * monthly records with realistic gaps, lateness and problems, loaded
 * set-based for the businesses of one region (liangze seed demo).
 *
 * What is made, for the active businesses under root (a 4-digit province +
 * city prefix, "3407" for Tongling), deterministically from the business
 * id and the date (hashtext), so a re-run makes the same rows:
 *   - daily records for each of the last `days` days before today (today
 *     itself stays open), skipping declared rest days: about 92 % on time,
 *     3 % late, 5 % missing overall, but by business — ~12 % are chronic
 *     (a quarter of days missing, a tenth late), the rest nearly always on
 *     time; about 1 in 10 with one failed item and a note;
 *   - a problem per failed item: ~70 % fixed at once, ~20 % fixed 1-4 days
 *     later (if that is past), the rest open;
 * *   - weekly records for the ISO weeks wholly inside the window, their
 *     summary counting the week's daily records and problems;
 *   - a monthly record for the previous calendar month.
 * Rows go in with INSERT ... SELECT in one transaction (request ids
 * "seed:<business>:<kind>:<period>", ON CONFLICT DO NOTHING: a second run
 * adds nothing), partitions are made back far enough first, one audit entry
 * is written (no outbox events: history is not news), and after COMMIT the
 * Redis done-bitmaps and counters of every period touched are rebuilt from
 * PostgreSQL (ledger_cache_rebuild).
 */
#ifndef LZ_INTAKE_HISTORY_H
#define LZ_INTAKE_HISTORY_H

#include "pg.h"
#include "rds.h"

#include <stdint.h>

#define HISTORY_DAYS 21 /* days of daily history the demo gets */

typedef struct {
    long daily, weekly, monthly; /* records added */
    long problems, problems_open;
    int periods; /* kind/period pairs recounted in Redis */
    double seconds;
} history_result_t;

/*
 * Load `days` (1..60) days of history before now's local date for the
 * businesses whose region code starts with root (4 digits).  rds may be
 * NULL (no recount).  Returns 0 and fills *out, or -1 (logged; nothing
 * written when the transaction failed).
 */
int history_seed(pg_t *pg, rds_t *rds, const char *root, int days, int64_t now,
                 history_result_t *out);

#endif
