/*
 * scorer_rank.h - rankings of townships and districts (比学赶超).
 *
 * For a day: ledger on-time rate = daily ledgers on time for that day ÷
 * daily ledgers owed that day (active businesses created before the day
 * ended, not resting), visit completion = quarter-to-date visits per
 * current assignment (capped at what is owed) ÷ visits owed.  For a
 * quarter: the same over every day of the quarter up to the as-of day.
 * Ranked by (w_ledger * rate + w_visit * completion) / (w_ledger + w_visit).
 *
 * Kept in Redis for fast reads (sorted set lz:rank:<level>:<period>, member
 * = region code, score = the combined score; hash lz:rank:<level>:<period>:d
 * region -> "name\towed\ton_time\tvisits_owed\tvisits_done") and in the
 * score_rankings table for history.
 */
#ifndef LZ_SCORER_RANK_H
#define LZ_SCORER_RANK_H

#include "pg.h"
#include "rds.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char region[13];
    char name[104];
    int rank;
    double score, ledger_rate, visit_rate;
    int64_t ledgers_owed, ledgers_on_time, visits_owed, visits_done;
} scorer_rank_row_t;

/* The rates and the combined score of a row from its counts (pure). */
void scorer_rank_rates(scorer_rank_row_t *r, int w_ledger, int w_visit);

/* Sort rows best first and number them (ties share a rank); pure. */
void scorer_rank_order(scorer_rank_row_t *rows, size_t n);

/*
 * Compute the ranking of level ("township" or "district") for period (a
 * day or a quarter) as of as_of, store it in Redis and PostgreSQL.
 * Returns the number of regions ranked, or -1.
 */
int scorer_rank_compute(pg_t *pg, rds_t *rds, const char *level, const char *period, int64_t as_of,
                        int visits_per_quarter, int w_ledger, int w_visit);

/*
 * Read a ranking: from Redis, or the PostgreSQL snapshot when Redis has
 * none (*source says which).  Only regions under prefix; ranks renumbered
 * within them.  New array (caller frees), length in *n; NULL on failure.
 */
scorer_rank_row_t *scorer_rank_read(pg_t *pg, rds_t *rds, const char *level, const char *period,
                                    const char *prefix, size_t *n, const char **source);

#endif
