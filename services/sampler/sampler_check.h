/*
 * sampler_check.h - what an inspection checks, as pure functions: the business's ledger
 * record over the plan's quarter (owed, submitted, on time, late, missing per kind), its
 * cadres' supervision visits against the owed frequency, the checklist answers and the
 * outcome they give.  The I/O around them is sampler_brief.c.
 */
#ifndef LZ_SAMPLER_CHECK_H
#define LZ_SAMPLER_CHECK_H

#include "envelope.pb-c.h"
#include "period.h"
#include "sampler.pb-c.h"
#include "visit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHECK_MISSING_LIST_MAX 100 /* missing periods listed per kind */
#define CHECK_ANSWER_NOTE_MAX  500 /* bytes of an answer's note */

/* ---- ledgers ---- */

/* kinds: 0 daily, 1 weekly, 2 monthly */
typedef struct {
    int kind;
    char period[PERIOD_TEXT_MAX];
    bool late;
} check_record_t;

typedef struct {
    int owed, submitted, on_time, late, missing, extra;
    size_t nmissing_list;
    char missing_list[CHECK_MISSING_LIST_MAX][PERIOD_TEXT_MAX];
} ledger_tally_t;

/* Returns "daily", "weekly", "monthly" for kind 0..2, else NULL; the kind of a name or -1. */
const char *check_kind_name(int kind);
int check_kind_of(const char *name);

/*
 * The ledger record of a business over quarter q up to as_of (exclusive upper bound of
 * what is due): a period of q (a week belongs to the quarter of its Monday) is owed when
 * the business is active and its deadline (end + grace_s) is at or before as_of, and,
 * for a day, it is not one of the declared rest days (rest: sorted "YYYY-MM-DD" texts).
 * Each record (one per kind and period) of an owed period counts as submitted, on time
 * or late; of any other period as extra.  missing = owed - submitted; the first
 * CHECK_MISSING_LIST_MAX missing periods are listed oldest first.  out[0..2] daily,
 * weekly, monthly.  Returns 0, or -1 if q is not a quarter.
 */
int check_ledgers(const period_t *q, int64_t as_of, int64_t grace_s, bool active, char *const *rest,
                  size_t nrest, const check_record_t *recs, size_t nrecs, ledger_tally_t out[3]);

/* ---- visits ---- */

typedef struct {
    visit_freq_t freq;
    int64_t since; /* assignment start */
    int64_t until; /* its end, or 0 when current */
} check_assignment_t;

typedef struct {
    int owed, met, visits, current_visits;
    char current_period[16];
} visit_tally_t;

/*
 * One cadre's visits to one business over quarter q up to as_of: every visit period of
 * a's frequency that ends inside (start of q, as_of] while the assignment held is owed
 * one visit, met when a visit (at, unix seconds, this cadre's) lies in it; visits counts
 * those in [start of q, as_of); the period holding as_of is the current one.
 */
void check_visits(const period_t *q, int64_t as_of, const check_assignment_t *a, const int64_t *at,
                  size_t nat, visit_tally_t *out);

/* ---- checklist answers and the outcome ---- */

typedef struct {
    const char *code;
    bool required; /* a key point (重点项) */
} check_item_t;

typedef struct {
    int answered, failed, key_failed;
} check_answers_t;

/*
 * Check answers against a checklist of nitems: every answer has a code of the list,
 * given once, and ok; a failed one has a note (at most CHECK_ANSWER_NOTE_MAX bytes);
 * every key item is answered.  Returns 0 with sum filled, or -1 with the field at fault
 * ("answers[2].note", or "answers" naming a key item not answered) and a reason; every
 * failure is INVALID_FIELD (HTTP 422 on the route).
 */
int check_answers(const check_item_t *items, size_t nitems, Lz__InspectionAnswer *const *a,
                  size_t n, check_answers_t *sum, char *field, size_t flen, char *msg, size_t mlen);

/*
 * The outcome: fail when a key item failed or at least fail_general general items
 * failed; pass_with_remarks when a general item failed or there are findings; else pass.
 * Returns a static string.
 */
const char *check_outcome(int key_failed, int general_failed, size_t findings, int fail_general);

#endif
